"""The lessons' code stands in the notebooks, and agrees with the package's tested reference copies.

Notebook 3 writes the tutorial's CNN as a ``keras.Sequential`` model in a code cell marked ``# The tutorial's CNN``;
the package builds the same network with :func:`fer_helpers.models.build_tutorial_cnn`. The test runs the notebook's
cell and compares the two layer by layer, so neither can change without the other.
"""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: the notebooks whose lessons issue 20's first part rewrote (05-08: their own checks)
LESSONS = ["00_overview_and_setup", "01_loading_the_data", "02_preprocessing_and_splitting", "03_cnn_layers",
           "04_data_augmentation", "05_training_with_callbacks", "06_evaluation", "07_photos_and_webcam",
           "08_saving_and_loading"]
MODEL_MARKER = "# The tutorial's CNN"
MAX_MAIN_PATH_WORDS = 2000
STOP_HEADINGS = re.compile(r"## (Going further|Recap|Exercises)\b")


def _book(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _code(book) -> str:
    return "\n".join(c.source for c in book.cells if c.cell_type == "code")


def main_path_words(book) -> int:
    """Words of markdown prose before the first Going further, Recap or Exercises heading (code blocks excluded)."""
    words = 0
    for cell in book.cells:
        if cell.cell_type != "markdown":
            continue
        if STOP_HEADINGS.match(cell.source.lstrip()):
            break
        text = re.sub(r"```.*?```", " ", cell.source, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)  # the Colab badge's HTML
        words += len(re.findall(r"[A-Za-z0-9][\w'.,/-]*", text))
    return words


def _notebook_model():
    """Run notebook 3's model cell (found by its marker comment) and return the model it builds."""
    import keras
    from keras import layers

    cells = [c.source for c in _book("03_cnn_layers").cells if c.cell_type == "code" and MODEL_MARKER in c.source]
    assert len(cells) == 1, f"notebook 3 needs exactly one code cell marked {MODEL_MARKER!r}, found {len(cells)}"
    namespace = {"keras": keras, "layers": layers}
    exec(compile(cells[0], "03_cnn_layers.ipynb:model cell", "exec"), namespace)
    return namespace["model"]


#: the settings that make two layers the same layer (when the layer has them)
_SETTINGS = ("filters", "kernel_size", "strides", "padding", "use_bias", "momentum", "epsilon", "pool_size", "rate",
             "units", "activation", "scale", "offset")


def _signature(layer) -> tuple:
    config = layer.get_config()
    return (type(layer).__name__, layer.count_params(),
            tuple((key, config[key]) for key in _SETTINGS if key in config))


def test_lesson3_notebook_model_is_the_package_reference():
    import keras

    from fer_helpers.models import build_tutorial_cnn

    ours = _notebook_model()
    reference = build_tutorial_cnn()
    theirs = [layer for layer in reference.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert len(ours.layers) == len(theirs), f"{len(ours.layers)} layers in the notebook, {len(theirs)} in the package"
    for i, (a, b) in enumerate(zip(ours.layers, theirs)):
        assert _signature(a) == _signature(b), f"layer {i} ({b.name}) differs:\n{_signature(a)}\n{_signature(b)}"
    assert tuple(ours.input_shape) == tuple(reference.input_shape) == (None, 48, 48, 1)
    assert tuple(ours.output_shape) == tuple(reference.output_shape) == (None, 7)
    assert ours.count_params() == reference.count_params() == 1_470_247


def test_lesson3_same_weights_give_the_same_predictions():
    """Beyond the layer list: with the package model's weights, the notebook's model computes the same function."""
    import numpy as np

    from fer_helpers.models import build_tutorial_cnn

    ours, reference = _notebook_model(), build_tutorial_cnn()
    ours.set_weights(reference.get_weights())
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(ours.predict(faces, verbose=0), reference.predict(faces, verbose=0), atol=1e-5)


def test_lesson3_builds_the_cnn_in_code_cells():
    book = _book("03_cnn_layers")
    code = _code(book)
    assert "keras.Sequential(" in code or "keras.Model(" in code
    for layer in ("Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "Flatten", "Dense"):
        assert f"layers.{layer}(" in code, f"notebook 3: no code cell creates layers.{layer}"
    assert "model.summary()" in code and "model.count_params()" in code
    markdown = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    assert MODEL_MARKER not in markdown


def test_lesson1_loading_code_in_code_cells():
    code = _code(_book("01_loading_the_data"))
    assert "pd.read_csv(" in code and ".value_counts()" in code
    assert re.search(r"np\.array\(\w+\.split\(\), dtype=\"?(np\.)?uint8\"?\)\.reshape\(48, 48\)", code)


def test_lesson2_preprocessing_code_in_code_cells():
    code = _code(_book("02_preprocessing_and_splitting"))
    assert ".reshape(-1, 48, 48, 1)" in code and "/ 255" in code
    assert "keras.utils.to_categorical(" in code
    assert "train_test_split(" in code and "stratify=" in code
    assert '"Usage"' in code or "official_splits(" in code


def test_lesson4_augmentation_layers_in_code_cells():
    book = _book("04_data_augmentation")
    code = _code(book)
    assert "keras.Sequential(" in code
    for layer in ("RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomBrightness"):
        assert f"layers.{layer}(" in code, f"notebook 4: no code cell creates layers.{layer}"
    assert "image_dataset_from_directory(" in code
    markdown = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    for legacy in ("ImageDataGenerator", "flow(", "flow_from_directory(", "fit_generator("):
        assert legacy in markdown + code
    assert "legacy" in markdown.lower()


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_opens_with_what_prerequisites_and_time(name):
    book = _book(name)
    header = book.cells[0].source
    assert book.cells[0].cell_type == "markdown"
    assert re.search(r"\*\*What you will build:\*\* \S", header), f"{name}: no 'What you will build'"
    assert re.search(r"\*\*Prerequisites:\*\* \S", header), f"{name}: no 'Prerequisites'"
    assert re.search(r"\*\*Time:\*\* about \d+ minutes", header), f"{name}: no 'Time: about N minutes'"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_a_recap_of_three_to_five_points_after_going_further(name):
    book = _book(name)
    headings = [c.source.splitlines()[0] for c in book.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert "## Recap" in headings, f"{name}: no Recap"
    recap = next(c.source for c in book.cells if c.cell_type == "markdown" and c.source.startswith("## Recap"))
    assert 3 <= len(re.findall(r"^\* ", recap, re.M)) <= 5, f"{name}: the Recap should have 3-5 points"
    if "## Going further" in headings:
        assert headings.index("## Going further") == headings.index("## Recap") - 1, "Going further comes last"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_main_path_reads_in_about_twenty_minutes(name):
    words = main_path_words(_book(name))
    assert words <= MAX_MAIN_PATH_WORDS, f"{name}: {words} words of prose before Going further/Recap"


def test_main_path_words_stop_at_going_further():
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_markdown_cell("# Title\n\nfour words of prose"),
                  nbformat.v4.new_markdown_cell("```python\nnot = counted\n```\none more"),
                  nbformat.v4.new_markdown_cell("## Going further\n\nnot counted either")]
    assert main_path_words(book) == 7  # Title, four words of prose, one more
