"""Colab as a learner meets it: the setup cell's exact-version install, Drive, the GPU line, widgets, and notebook 7's
opt-in upload and webcam, run against the stand-in ``google.colab`` of .ci/colab_stub."""

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

import fer_helpers
from fer_helpers import notebook

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / ".ci" / "colab_stub"
PATHS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def setup_cell(path) -> str:
    book = nbformat.read(path, as_version=4)
    return next(c for c in book.cells if c.cell_type == "code").source


@pytest.fixture
def colab(monkeypatch, tmp_path):
    """The stand-in google.colab imported, as Colab imports it at kernel start; /content moved into tmp_path."""
    for name in [n for n in sys.modules if n.startswith("google.colab")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(STUB))
    module = importlib.import_module("google.colab")
    assert Path(module.__file__).is_relative_to(STUB)  # the stand-in, never a real Colab
    monkeypatch.setenv("FER_COLAB_CONTENT", str(tmp_path / "content"))
    monkeypatch.delenv("FER_RUNS_DIR", raising=False)
    module.files.upload_calls.clear()
    module.output.scripts.clear()
    module.output.custom_widget_manager = False
    yield module
    for name in [n for n in sys.modules if n.startswith("google.colab")]:
        del sys.modules[name]  # not in Colab any more (monkeypatch then restores whatever was there before)


# ---------------------------------------------------------------------------------------------------- version, badges
def test_the_version_is_written_once_in_the_package():
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M) and re.search(r'^dynamic = \["version"\]', project, re.M)
    assert 'version = {attr = "fer_helpers.__version__"}' in text
    assert re.fullmatch(r"\d+\.\d+\.\d+", fer_helpers.__version__)


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_every_setup_cell_installs_exactly_this_version(path):
    source = setup_cell(path)
    version = fer_helpers.__version__
    installs = re.findall(r"^\s*%pip install (.*)$", source, re.M)
    assert installs == [f"-q fer-helpers=={version}"], installs
    assert f'if installed != "{version}":' in source and "raise RuntimeError(" in source
    assert 'FER_FAST = False  # @param {type:"boolean"}' in source
    assert 'MOUNT_DRIVE = True  # @param {type:"boolean"}' in source
    assert "mount_drive=MOUNT_DRIVE" in source and "fast=FER_FAST or None" in source
    assert ("training=True" in source) == path.name.startswith("05_")  # the notebook that trains for real


def _run_install_part(source: str, tmp_path) -> subprocess.CompletedProcess:
    """The setup cell up to its import of fer_helpers, run by IPython as in a Colab kernel, without the network."""
    part = source.split("from fer_helpers.notebook import setup", 1)[0]
    script = textwrap.dedent(f"""
        import sys
        import google.colab  # Colab imports it at start-up
        from IPython.core.interactiveshell import InteractiveShell
        result = InteractiveShell.instance().run_cell({part!r})
        error = result.error_before_exec or result.error_in_exec
        print("ERROR:", type(error).__name__, error) if error else print("INSTALLED")
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(STUB), *sys.path]), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(tmp_path), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


def test_the_setup_cell_installs_and_stops_with_a_message_when_it_cannot(tmp_path):
    from importlib.metadata import version

    source = setup_cell(PATHS[0])
    if version("fer-helpers") == fer_helpers.__version__:  # this environment has the cell's version installed
        ok = _run_install_part(source, tmp_path)
        assert "INSTALLED" in ok.stdout, ok.stdout + ok.stderr
    broken = source.replace(fer_helpers.__version__, "99.0.0")  # a version that does not exist
    failed = _run_install_part(broken, tmp_path)
    assert "ERROR: RuntimeError fer-helpers 99.0.0 could not be installed" in failed.stdout, failed.stdout
    assert "Runtime > Restart session and run this cell again" in failed.stdout
    assert "INSTALLED" not in failed.stdout


def test_set_colab_repo_rewrites_the_constant_and_every_badge(tmp_path):
    import shutil

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "fer_helpers").mkdir()
    shutil.copy(ROOT / "fer_helpers" / "notebook.py", tmp_path / "fer_helpers")
    shutil.copy(ROOT / "scripts" / "set_colab_repo.py", tmp_path)
    run = subprocess.run([sys.executable, "set_colab_repo.py", "my-name/my-fork"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert 'GITHUB_REPO = "my-name/my-fork"' in (tmp_path / "fer_helpers" / "notebook.py").read_text()
    for path in sorted((tmp_path / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        assert f"https://colab.research.google.com/github/my-name/my-fork/blob/main/notebooks/{path.name}" in first
        assert notebook.GITHUB_REPO not in first
    bad = subprocess.run([sys.executable, "set_colab_repo.py", "no-slash"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "OWNER/NAME" in bad.stderr


# ---------------------------------------------------------------------------------------------- Drive, GPU, widgets
def test_setup_colab_mounts_drive_and_keeps_runs_and_downloads_there(colab, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KAGGLEHUB_CACHE")
    assert notebook.drive_dir() is None
    notebook.setup_colab(mount_drive=True, training=True)
    drive = tmp_path / "content" / "drive" / "MyDrive" / "fer-tutorial"
    assert colab.drive.mounted == [str(tmp_path / "content" / "drive")]
    assert notebook.drive_dir() == drive and drive.is_dir()
    assert notebook.runs_dir() == drive / "runs"
    assert os.environ["KAGGLEHUB_CACHE"] == str(drive / "kagglehub")  # download_fer2013 lands on Drive
    out = capsys.readouterr().out
    assert "MyDrive/fer-tutorial" in out
    if "GPU runtime" not in out:  # this machine: no GPU, so the training notebook says how to get one
        assert "Runtime > Change runtime type > T4 GPU" in out
    # a second notebook (a new runtime) finds Drive mounted and does not mount again
    colab.drive.mounted.clear()
    notebook.setup_colab(mount_drive=True)
    assert notebook.drive_dir() == drive and colab.drive.mounted == []


def test_setup_colab_without_drive_says_what_is_lost(colab, tmp_path, capsys, monkeypatch):
    notebook.setup_colab(mount_drive=False, training=False)
    assert notebook.drive_dir() is None and colab.drive.mounted == []
    assert "MOUNT_DRIVE is off" in capsys.readouterr().out
    assert notebook.runs_dir() == tmp_path / "content" / "runs"
    monkeypatch.setenv("COLAB_STUB_DRIVE", "refuse")
    notebook.setup_colab(mount_drive=True)
    assert notebook.drive_dir() is None
    assert "Google Drive was not mounted (ValueError: mount failed)" in capsys.readouterr().out


def test_setup_colab_enables_the_widget_manager_only_for_ipywidgets_8(colab, monkeypatch):
    import ipywidgets

    monkeypatch.setattr(ipywidgets, "__version__", "8.1.5")
    notebook.setup_colab(mount_drive=False, verbose=False)
    assert colab.output.custom_widget_manager
    colab.output.custom_widget_manager = False
    monkeypatch.setattr(ipywidgets, "__version__", "7.7.1")  # Colab's own: renders without it
    notebook.setup_colab(mount_drive=False, verbose=False)
    assert not colab.output.custom_widget_manager


def test_setup_on_colab_reports_and_mounts(colab, tmp_path, capsys):
    env = notebook.setup(seed=1, fast=True, mount_drive=True, training=True)
    assert env.is_colab and env.fast
    out = capsys.readouterr().out
    assert "Colab: True" in out and "Google Drive: runs and the FER2013 download are kept in" in out
    assert (tmp_path / "content" / "drive" / "MyDrive" / "fer-tutorial").is_dir()


def test_locate_fer2013_finds_the_data_on_drive(colab, tmp_path, monkeypatch):
    from fer_helpers.data import locate_fer2013

    monkeypatch.chdir(tmp_path)
    notebook.setup_colab(mount_drive=True, verbose=False)
    drive = notebook.drive_dir()
    download = drive / "kagglehub" / "datasets" / "deadskull7" / "fer2013" / "versions" / "1" / "fer2013.csv"
    download.parent.mkdir(parents=True)
    download.write_text("emotion,pixels,Usage\n")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "elsewhere"))  # found on Drive even without the variable
    assert locate_fer2013(verbose=False) == download
    mine = drive / "data" / "fer2013.csv"
    mine.parent.mkdir()
    mine.write_text("emotion,pixels,Usage\n")
    assert locate_fer2013(verbose=False) == mine  # a copy the learner put in MyDrive/fer-tutorial/data comes first


# --------------------------------------------------------------------------------------- notebook 7: upload, webcam
def test_photo_upload_is_opt_in_and_a_cancel_is_explained(colab, capsys):
    from fer_helpers.video import photo_from_user

    assert photo_from_user(None, upload=False) is None
    assert colab.files.upload_calls == []  # Run all never waits for a click
    assert "tick UPLOAD_PHOTO" in capsys.readouterr().out
    assert photo_from_user(None, upload=True) is None
    assert len(colab.files.upload_calls) == 1
    out = capsys.readouterr().out
    assert "the upload was cancelled" in out and "run this notebook in Colab" not in out
    assert photo_from_user("me.jpg", upload=True) == "me.jpg" and len(colab.files.upload_calls) == 1


def test_photo_outside_colab_points_at_my_photo(monkeypatch, capsys):
    from fer_helpers.video import photo_from_user

    monkeypatch.setitem(sys.modules, "google.colab", None)
    assert photo_from_user(None, upload=True) is None
    out = capsys.readouterr().out
    assert "set MY_PHOTO" in out and "UPLOAD_PHOTO" not in out


def test_webcam_is_opt_in_and_a_denied_camera_falls_back(colab, capsys):
    from fer_helpers.faces import sample_photo
    from fer_helpers.video import snapshot_or_fallback

    image = snapshot_or_fallback(webcam=False)
    assert colab.output.scripts == []  # the camera was not asked for
    assert "tick USE_WEBCAM" in capsys.readouterr().out
    assert (image == sample_photo()).all()
    image = snapshot_or_fallback(webcam=True)
    assert colab.output.scripts == ["takePhoto(0.8)"]
    assert "the webcam photo failed (MessageError: NotAllowedError: Permission denied)" in capsys.readouterr().out
    assert (image == sample_photo()).all()


def test_notebook_7_asks_for_nothing_by_default():
    book = nbformat.read(ROOT / "notebooks" / "07_photos_and_webcam.ipynb", as_version=4)
    code = "\n".join(c.source for c in book.cells if c.cell_type == "code")
    assert 'UPLOAD_PHOTO = False  # @param {type:"boolean"}' in code
    assert 'USE_WEBCAM = False  # @param {type:"boolean"}' in code
    assert "files.upload(" not in code and "webcam=USE_WEBCAM" in code and "upload=UPLOAD_PHOTO" in code
    outputs = json.dumps([o for c in book.cells if c.cell_type == "code" for o in c.outputs])
    assert "run this notebook in Colab" not in outputs


# ------------------------------------------------------------------------------------------------ pins and Colab
def test_colabs_stack_satisfies_the_pins_and_ci_installs_the_lower_bounds():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from min_constraints import minimum_pins
    finally:
        sys.path.remove(str(ROOT / ".ci"))
    from packaging.requirements import Requirement

    text = (ROOT / "pyproject.toml").read_text()
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    project = tomllib.loads(text)["project"]
    deps = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    colab = dict(line.split("==") for line in (ROOT / ".ci" / "colab_stack.txt").read_text().split()
                 if "==" in line)
    for name, version in colab.items():
        if name in deps:
            assert deps[name].specifier.contains(version), f"{name} {version} (Colab's) is outside {deps[name]}"
    assert {"tensorflow", "keras", "ipywidgets"} <= set(colab) & set(deps)
    assert 'requires-python = ">=3.10,<3.14"' in text  # Python 3.10 to 3.13
    pins = dict(p.split("==") for p in minimum_pins())
    for name, req in deps.items():
        assert req.specifier.contains(pins[req.name]), (name, pins[req.name])  # the floor is a real, allowed release


def test_bump_version_rewrites_the_package_and_every_setup_cell(tmp_path):
    import shutil

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "fer_helpers").mkdir()
    shutil.copy(ROOT / "fer_helpers" / "__init__.py", tmp_path / "fer_helpers")
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bump_version.py", tmp_path / "scripts")
    run = subprocess.run([sys.executable, "scripts/bump_version.py", "7.8.9"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert '__version__ = "7.8.9"' in (tmp_path / "fer_helpers" / "__init__.py").read_text()
    for path in sorted((tmp_path / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        source = setup_cell(path)
        assert "%pip install -q fer-helpers==7.8.9" in source and 'if installed != "7.8.9":' in source
        assert fer_helpers.__version__ not in source


# --------------------------------------------------------------------------------------------- demo from a pip install
def test_demo_from_a_pip_installation_runs_the_notebooks_shipped_with_it(monkeypatch, tmp_path, capsys):
    from fer_helpers import demo

    shipped = tmp_path / "site-packages" / "fer_helpers" / "series"
    shipped.mkdir(parents=True)
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint('ran in', os.getcwd())")])
    nbformat.write(book, shipped / "00_only.ipynb")
    monkeypatch.setattr(demo, "repo_root", lambda: tmp_path / "no-checkout")
    monkeypatch.setattr(demo, "packaged_notebooks", lambda: demo.notebook_paths(shipped))
    monkeypatch.chdir(tmp_path)
    assert demo.demo_cli(None) == 0
    out = capsys.readouterr().out
    executed = nbformat.read(tmp_path / "fer-tutorial-demo" / "00_only.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == f"ran in {tmp_path / 'fer-tutorial-demo'}\n"
    assert f"the notebooks of fer-helpers {fer_helpers.__version__}, copied to" in out

