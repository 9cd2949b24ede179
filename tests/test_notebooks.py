"""Static checks of the notebook series (nbval runs them; these check their form)."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from fer_helpers.notebook import colab_url

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = [
    "00_overview_and_setup.ipynb",
    "01_loading_the_data.ipynb",
    "02_preprocessing_and_splitting.ipynb",
    "03_cnn_layers.ipynb",
    "04_data_augmentation.ipynb",
    "05_training_with_callbacks.ipynb",
    "06_evaluation.ipynb",
    "07_photos_and_webcam.ipynb",
    "08_saving_and_loading.ipynb",
]
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ABSOLUTE = re.compile(r"(/work/|/root/|/home/\w|/Users/\w|[A-Z]:\\\\|/tmp/|/content/(?!drive))")


def test_the_series_is_complete():
    from fer_helpers.demo import notebook_paths

    assert [p.name for p in PATHS] == EXPECTED
    assert [p.name for p in notebook_paths()] == EXPECTED  # what `make demo` executes, in reading order


@pytest.fixture(params=PATHS, ids=[p.name for p in PATHS])
def nb(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_title_badge_and_overview(nb):
    path, book = nb
    first = book.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert colab_url(f"notebooks/{path.name}") in first.source, "the Colab badge must point at this notebook"


def test_one_setup_cell_first(nb):
    _, book = nb
    code = [c for c in book.cells if c.cell_type == "code"]
    setup = code[0].source
    assert "IS_COLAB" in setup and "%pip install" in setup and "setup(" in setup
    assert sum("IS_COLAB = " in c.source for c in code) == 1
    assert not any("%pip" in c.source or "!pip" in c.source for c in code[1:]), "installs only in the setup cell"


def test_no_absolute_paths_in_sources_or_outputs(nb):
    path, book = nb
    for i, cell in enumerate(book.cells):
        text = cell.source
        for out in cell.get("outputs", []):
            text += json.dumps({k: v for k, v in out.items() if k != "data"}) + json.dumps(
                {k: v for k, v in out.get("data", {}).items() if not k.startswith("image/")})
        match = ABSOLUTE.search(text)
        assert match is None, f"{path.name} cell {i}: absolute path {match.group(0)!r}"


def test_no_tensorflow_start_up_lines_in_the_outputs(nb):
    """setup() imports TensorFlow with stderr silenced, so nothing may import it before setup() runs."""
    path, book = nb
    for i, cell in enumerate(book.cells):
        text = json.dumps([o for o in cell.get("outputs", []) if o.get("output_type") == "stream"])
        for line in ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub", "cuda drivers"):
            assert line not in text, f"{path.name} cell {i}: TensorFlow's start-up line {line!r} in the output"


def test_checked_deterministic_cell_with_committed_output(nb):
    path, book = nb
    checked = [c for c in book.cells if c.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in c.source]
    assert checked, f"{path.name} needs at least one NBVAL_CHECK_OUTPUT cell"
    for cell in checked:
        assert cell.outputs, f"{path.name}: a checked cell has no committed output to compare with"


def test_committed_outputs_come_from_the_embedded_data(nb):
    """Outputs must never show FER2013 faces: the committed run used the synthetic data set."""
    path, book = nb
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name} was not executed top to bottom"
    text = json.dumps([o for c in code for o in c.outputs if o.get("output_type") == "stream"])
    assert "FER2013: " not in text and "35,887 faces" not in text


def test_demo_outside_a_checkout_says_where_the_notebooks_come_from(monkeypatch, tmp_path, capsys):
    from fer_helpers import demo

    monkeypatch.setattr(demo, "repo_root", lambda: tmp_path)  # a pip installation: no notebooks/ next to it
    monkeypatch.setattr(demo, "notebook_paths", lambda folder=None: [])
    monkeypatch.setattr(demo, "packaged_notebooks", lambda: [])
    assert demo.demo_cli(None) == 2
    err = capsys.readouterr().err
    assert f"no notebooks found in {tmp_path / 'notebooks'}" in err and "git clone" in err


@pytest.mark.parametrize("path", PATHS[1:], ids=[p.name for p in PATHS[1:]])
def test_recap_then_self_checking_exercises_at_the_end(path):
    """Notebooks 1-8 end with a Recap and an Exercises section whose cells call check() on an unsolved answer."""
    from fer_helpers.exercises import lesson_exercises

    book = nbformat.read(path, as_version=4)
    lesson = int(path.name[:2])
    headings = [i for i, c in enumerate(book.cells) if c.cell_type == "markdown" and c.source.startswith("## ")]
    titles = [book.cells[i].source.splitlines()[0] for i in headings]
    assert titles[-2:] == ["## Recap", "## Exercises"], f"{path.name}: ends with {titles[-2:]}"
    assert not any("Try it yourself" in c.source for c in book.cells)
    after = book.cells[headings[-1]:]
    code = [c.source for c in after if c.cell_type == "code"]
    assert f"from fer_helpers.exercises import lesson{lesson} as ex" in code[0]
    expected = [e.name for e in lesson_exercises(lesson)]
    assert [re.search(r"ex\.(q\d+)\.check\(answer\)", s).group(1) for s in code] == expected
    assert all(re.search(r"^answer = \.\.\.", s, re.M) for s in code), "exercise cells are committed unsolved"
    assert all(f"# ex.{name}.hint()" in s and f"# ex.{name}.solution()" in s for name, s in zip(expected, code))
