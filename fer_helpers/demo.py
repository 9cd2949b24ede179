"""The main job (``python -m fer_helpers demo``, ``make demo``): summarise the data set in use, then execute the
notebook series headlessly.

From a checkout it runs ``notebooks/`` into ``output/notebooks/``; from a pip installation it copies the notebooks
shipped in the package to ``fer-tutorial-demo/`` in the current folder and runs them there. ``FER_FAST=1`` (the
default here) keeps every training run short.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from . import __version__
from .data import format_summary, load_fer2013, locate_fer2013, repo_root, summarize


def notebook_paths(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks of ``folder`` in reading order (default: the checkout's ``notebooks/``)."""
    return sorted((folder or repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def packaged_notebooks() -> list[Path]:
    """The notebooks shipped inside the installed package (``fer_helpers/series/``): the series of this version."""
    return notebook_paths(Path(__file__).resolve().parent / "series")


def run_notebooks(paths, out_dir, timeout: int = 600) -> float:
    """Execute notebooks in order, each in its own folder, save the executed copies; returns the seconds taken."""
    import nbformat  # the notebook runners are optional dependencies (pip install fer-helpers[dev])
    from nbclient import NotebookClient

    for name, value in (("FER_FAST", "1"), ("TF_CPP_MIN_LOG_LEVEL", "3"),
                        ("MPLBACKEND", "module://matplotlib_inline.backend_inline")):
        os.environ.setdefault(name, value)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    start = time.time()
    for path in paths:
        nb, began = nbformat.read(path, as_version=4), time.time()
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
        finally:
            nbformat.write(nb, Path(out_dir) / path.name)
        print(f"  {path.name:<45} {time.time() - began:6.1f} s", flush=True)
    return time.time() - start


def demo_cli(args) -> int:
    print(format_summary(summarize(load_fer2013(locate_fer2013()))))
    paths, out_dir = notebook_paths(), repo_root() / "output" / "notebooks"
    if not paths and packaged_notebooks():  # a pip installation: run the series shipped with it, from a new folder
        out_dir = Path.cwd() / "fer-tutorial-demo"
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [Path(shutil.copy2(p, out_dir / p.name)) for p in packaged_notebooks()]
        print(f"\nthe notebooks of fer-helpers {__version__}, copied to {out_dir} (runs/ goes there too)")
    if not paths:
        print(f"no notebooks found in {repo_root() / 'notebooks'}: the demo runs the notebook series of a checkout "
              "of the fer-tutorial repository (git clone it, then make demo)", file=sys.stderr)
        return 2
    print(f"\nexecuting {len(paths)} notebooks (FER_FAST={os.environ.get('FER_FAST', '1')}):")
    print(f"done in {run_notebooks(paths, out_dir):.0f} s; executed notebooks are in {out_dir}")
    print(f"open them with:  jupyter lab {out_dir}")
    return 0
