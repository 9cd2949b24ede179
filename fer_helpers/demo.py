"""The main job: summarise the data set in use, then execute the whole notebook series headlessly.

``python -m fer_helpers demo`` (``make demo``) runs every notebook of ``notebooks/`` in order with nbclient and
writes the executed copies to ``output/notebooks/``. From a pip installation (no checkout) it copies the notebooks
shipped in the package, the series of its own version, to ``fer-tutorial-demo/`` in the current folder and runs them
there. Without FER2013 on the machine the series runs on the embedded synthetic data set, and ``FER_FAST=1`` (the
default here) keeps every training run short.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from . import __version__
from .data import format_summary, load_fer2013, locate_fer2013, repo_root, summarize


def notebook_paths(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks of ``folder`` in reading order (default: the checkout's ``notebooks/``)."""
    folder = folder or repo_root() / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def packaged_notebooks() -> list[Path]:
    """The notebooks shipped inside the installed package (``fer_helpers/series/``): the series of this version."""
    return notebook_paths(Path(__file__).resolve().parent / "series")


def run_notebooks(paths, out_dir, timeout: int = 600, fast: bool = True) -> list[tuple[str, float]]:
    """Execute notebooks in order (each in its own folder as working directory) and save executed copies."""
    import nbformat
    from nbclient import NotebookClient

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fast:
        os.environ.setdefault("FER_FAST", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    timings = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.time()
        # the kernel logs errors only: ipykernel would warn before each notebook that it talks over local TCP
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}},
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        try:
            client.execute()
        finally:
            nbformat.write(nb, out_dir / path.name)
        timings.append((path.name, time.time() - start))
        print(f"  {path.name:<45} {timings[-1][1]:6.1f} s", flush=True)
    return timings


def demo_cli(args) -> int:
    data_path = locate_fer2013()
    print(format_summary(summarize(load_fer2013(data_path))))
    paths = notebook_paths()
    out_dir = repo_root() / "output" / "notebooks"
    if not paths and packaged_notebooks():  # a pip installation: run the series shipped with it, from a new folder
        import shutil

        out_dir = Path.cwd() / "fer-tutorial-demo"
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [Path(shutil.copy2(p, out_dir / p.name)) for p in packaged_notebooks()]
        print(f"\nthe notebooks of fer-helpers {__version__}, copied to {out_dir} (runs/ goes there too)")
    if not paths:
        print(f"no notebooks found in {repo_root() / 'notebooks'}: the demo runs the notebook series of a checkout "
              "of the fer-tutorial repository (git clone it, then make demo)", file=sys.stderr)
        return 2
    print(f"\nexecuting {len(paths)} notebooks (FER_FAST={os.environ.get('FER_FAST', '1')}):")
    timings = run_notebooks(paths, out_dir)
    print(f"done in {sum(t for _, t in timings):.0f} s; executed notebooks are in {out_dir}")
    if out_dir == repo_root() / "output" / "notebooks":
        print("open them with:  make lab   (or: .venv/bin/jupyter lab output/notebooks/)")
    else:
        print(f"open them with:  jupyter lab {out_dir}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(demo_cli(None))
