"""The project set-up: pip and conda list the same pinned dependencies; README and CI agree on the commands."""

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> tuple[str, str]:
    req = req.split("#")[0].strip()
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = dict(_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_reqs = dict(_norm(r) for r in pip_section if not r.startswith("-e"))
    assert conda_reqs == pip_reqs
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]


def test_every_environment_entry_says_why():
    text = (ROOT / "environment.yml").read_text()
    for line in text.splitlines():
        if line.strip().startswith("- ") and "pip" != line.strip()[2:].strip():
            assert "#" in line, f"environment.yml: no comment on why: {line.strip()}"


def test_opencv_and_tensorboard_pins_keep_what_the_series_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = dict(_norm(r) for r in project["dependencies"])
    assert "<5" in deps["opencv-python"]  # OpenCV 5 dropped CascadeClassifier and cv2.data's Haar files
    assert "tensorboard" in deps  # TensorFlow 2.21 no longer installs it


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: \$\(VENV\)/\.installed", makefile, re.M)  # sets itself up on a fresh machine


def test_cli_lists_the_commands_and_the_readme_shows_each_one():
    import argparse

    from fer_helpers.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = set(sub.choices)
    assert {"info", "make-sample", "train", "evaluate", "predict", "demo"} == commands
    text = parser.format_help()
    readme = (ROOT / "README.md").read_text()
    for cmd in commands:
        assert cmd in text
        assert f"python -m fer_helpers {cmd} " in readme, f"README's command-line section lacks {cmd}"
