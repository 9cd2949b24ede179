"""Notebooks 5 to 8 teach plain Keras, OpenCV and scikit-learn; the package keeps tested reference copies.

The code cells of notebook 5 that compile the model and build the callbacks are run here and compared with their
reference copies in ``fer_helpers.training``, so that the lesson and the package cannot drift apart. The static checks
read the notebooks: the header every lesson opens with, the code each lesson must show in code cells (not only in
prose), the length of the main path, and the Going further / Recap / Exercises order at the end.
"""

import re
from pathlib import Path

import keras
import nbformat
import pytest

from fer_helpers import training
from fer_helpers.models import build_tutorial_cnn
from fer_helpers.notebook import QUICK_TRAINING

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = {
    5: "05_training_with_callbacks.ipynb",
    6: "06_evaluation.ipynb",
    7: "07_photos_and_webcam.ipynb",
    8: "08_saving_and_loading.ipynb",
}
COMPILE_MARKER = "# reference copy: fer_helpers.training.compile_model"
CALLBACKS_MARKER = "# reference copy: fer_helpers.training.make_callbacks"
MAX_WORDS = 2000


def read(number):
    return nbformat.read(NOTEBOOKS / LESSONS[number], as_version=4)


def code_cell(number, needle):
    """The one code cell of lesson ``number`` whose source contains ``needle``."""
    found = [c.source for c in read(number).cells if c.cell_type == "code" and needle in c.source]
    assert len(found) == 1, f"{LESSONS[number]}: expected one code cell with {needle!r}, found {len(found)}"
    return found[0]


class Env:
    """Stands in for the setup cell's ``env``: ``pick(fast, full)``."""

    def __init__(self, fast):
        self.fast = fast

    def pick(self, fast, full):
        return fast if self.fast else full


def hyper_parameters(fast):
    namespace = {"env": Env(fast)}
    exec(code_cell(5, "MIN_DELTA = "), namespace)
    return namespace


# --------------------------------------------------------------------------------------------------------------------
# Notebook 5 against its reference copies
# --------------------------------------------------------------------------------------------------------------------

SETTINGS = {
    keras.callbacks.EarlyStopping: ("monitor", "mode", "min_delta", "patience", "restore_best_weights"),
    keras.callbacks.ReduceLROnPlateau: ("monitor", "mode", "factor", "patience", "min_lr", "min_delta"),
    keras.callbacks.CSVLogger: ("filename",),
    keras.callbacks.ModelCheckpoint: ("monitor", "mode", "save_best_only", "filepath"),
    keras.callbacks.TensorBoard: ("log_dir", "histogram_freq"),
}


def settings(callback, folder):
    kind = next(base for base in SETTINGS if isinstance(callback, base))
    values = {}
    for name in SETTINGS[kind]:
        if name == "mode" and not hasattr(callback, "mode"):  # Keras < 3.11 keeps only ModelCheckpoint's comparison
            name, value = "monitor_op", repr(callback.monitor_op)
        else:
            value = getattr(callback, name)
        if name in ("filename", "filepath", "log_dir"):
            value = Path(value).relative_to(folder).as_posix()  # the same file inside each run directory
        values[name] = value
    return kind.__name__, values


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_notebook5_callbacks_are_make_callbacks(tmp_path, fast):
    namespace = hyper_parameters(fast)
    namespace["RUN_DIR"] = tmp_path / "notebook"
    exec(code_cell(5, CALLBACKS_MARKER), namespace)
    ours = namespace["callbacks"]
    assert namespace["MIN_DELTA"] == training.MIN_DELTA > 0
    options = {} if not fast else {"patience": namespace["PATIENCE"], "lr_patience": namespace["LR_PATIENCE"]}
    reference = training.make_callbacks(tmp_path / "package", backup=False, **options)  # defaults: the full run
    assert [settings(c, tmp_path / "notebook") for c in ours] == [settings(c, tmp_path / "package") for c in reference]
    assert [settings(c, tmp_path / "notebook")[0] for c in ours] == [
        "EarlyStopping", "ReduceLROnPlateau", "CSVLogger", "ModelCheckpoint", "TensorBoard"]
    # the files notebooks 6 to 8 look for (fer_helpers.notebook.lesson5_model)
    assert Path(ours[3].filepath).name == training.BEST_MODEL and Path(ours[2].filename).name == training.CSV_LOG
    assert ours[1].patience < ours[0].patience


def test_notebook5_compile_is_compile_model():
    namespace = hyper_parameters(fast=True)
    namespace["model"] = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    exec(code_cell(5, COMPILE_MARKER), namespace)
    ours = namespace["model"].get_compile_config()
    reference = training.compile_model(build_tutorial_cnn(filters=(4, 4, 4), dense_units=8),
                                       namespace["LEARNING_RATE"], namespace["LABEL_SMOOTHING"], "adam")
    reference = reference.get_compile_config()
    for config in (ours, reference):
        config["optimizer"]["config"].pop("name")  # "adam", "adam_1", ...: Keras numbers the instances
    assert ours == reference
    assert ours["loss"]["config"]["label_smoothing"] == 0.1
    assert ours["optimizer"]["config"]["learning_rate"] == pytest.approx(3e-3)


def test_notebook5_fast_run_is_the_quick_model_of_notebooks_6_to_8():
    """A notebook opened on its own trains ``QUICK_TRAINING``: it must be notebook 5's fast-mode run."""
    fast = hyper_parameters(fast=True)
    size = {"env": Env(True), "keras": keras}
    exec(code_cell(5, "SIZE = env.pick"), size)
    assert size["SIZE"] == QUICK_TRAINING["model_kwargs"]
    assert size["model"].count_params() == build_tutorial_cnn(**QUICK_TRAINING["model_kwargs"]).count_params()
    assert (fast["EPOCHS"], fast["BATCH_SIZE"], fast["LEARNING_RATE"], fast["LABEL_SMOOTHING"], fast["PATIENCE"]) == (
        QUICK_TRAINING["epochs"], QUICK_TRAINING["batch_size"], QUICK_TRAINING["learning_rate"],
        QUICK_TRAINING["label_smoothing"], QUICK_TRAINING["patience"])
    assert 'augment=env.pick("light", "default")' in code_cell(5, "make_dataset(train_set")
    assert QUICK_TRAINING["augment"] == "light"


# --------------------------------------------------------------------------------------------------------------------
# Static checks
# --------------------------------------------------------------------------------------------------------------------

IN_CODE = {
    5: ["model.compile(", "keras.callbacks.EarlyStopping(", "keras.callbacks.ReduceLROnPlateau(",
        "keras.callbacks.ModelCheckpoint(", "keras.callbacks.CSVLogger(", "keras.callbacks.TensorBoard(",
        "min_delta=", "save_best_only=True", "min_lr=", "factor=", "history = model.fit(", "history.history["],
    6: ["model.evaluate(", "np.argmax(", "classification_report(", "confusion_matrix("],
    7: ["cv2.imread(", "cv2.cvtColor(", "cv2.CascadeClassifier(cv2.data.haarcascades", ".detectMultiScale(",
        ".predict(", "np.argmax(", "cv2.rectangle(", "cv2.putText(", "load_pretrained("],
    8: [".to_json()", ".save_weights(", ".weights.h5", "model_from_json(", ".load_weights(", '.keras"',
        "keras.models.load_model(", "np.allclose("],
}


def code_without_comments(nb):
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for c in nb.cells if c.cell_type == "code"
                     for line in c.source.splitlines())


def headings(nb):
    return [line[3:].strip() for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
            if line.startswith("## ")]


def main_path_words(nb):
    """Words of prose before "## Going further" (or "## Recap"), HTML tags left out."""
    words = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("## ") and line[3:].strip().lower().startswith(("going further", "recap")):
                return words
            words += len(re.sub(r"<[^>]+>", " ", line).split())
    return words


@pytest.mark.parametrize("number", LESSONS)
def test_lesson_opens_with_what_prerequisites_and_time(number):
    first = read(number).cells[0]
    assert first.cell_type == "markdown"
    assert "**What you will build:**" in first.source
    assert "**Prerequisites:**" in first.source
    assert re.search(r"\*\*Time:\*\* about \d+ minutes", first.source)


@pytest.mark.parametrize("number", LESSONS)
def test_lesson_code_is_written_out_in_code_cells(number):
    code = code_without_comments(read(number))
    missing = [needle for needle in IN_CODE[number] if needle not in code]
    assert not missing, f"{LESSONS[number]}: not in any code cell: {missing}"


@pytest.mark.parametrize("number", LESSONS)
def test_lesson_ends_with_going_further_recap_exercises(number):
    titles = headings(read(number))
    assert "Recap" in titles and "Exercises" in titles
    recap = titles.index("Recap")
    assert titles.index("Exercises") == recap + 1 and titles[recap + 2:] == []
    further = [i for i, t in enumerate(titles) if t.lower().startswith("going further")]
    assert further == [] or further == [recap - 1], f"{LESSONS[number]}: Going further must come just before Recap"


@pytest.mark.parametrize("number", LESSONS)
def test_lesson_main_path_is_short(number):
    words = main_path_words(read(number))
    assert 300 < words <= MAX_WORDS, f"{LESSONS[number]}: {words} words of prose before Going further / Recap"


@pytest.mark.parametrize("number", LESSONS)
def test_removed_techniques_are_not_taught(number):
    text = "\n".join(c.source for c in read(number).cells).lower()
    for word in ("distill", "model soup", "weight averaging", "net2wider", "average_epochs", "teachers"):
        assert word not in text, f"{LESSONS[number]} still mentions {word!r}"


def test_detection_figure_is_readable_and_raw_boxes_stand_out_on_the_spacesuit():
    import numpy as np

    from fer_helpers.faces import sample_photo
    from fer_helpers.viola_jones import RAW_BOX_COLOR, detection_comparison_figure

    photo = sample_photo()
    fig = detection_comparison_figure(photo, [dict(min_neighbors=0), dict()], ncols=2)
    try:
        assert all(ax.title.get_fontsize() >= 12 for ax in fig.axes if ax.get_title())
        canvas = fig.axes[1].images[0].get_array()  # minNeighbors=5: raw windows around the green face
        magenta = np.all(np.abs(canvas.astype(int) - RAW_BOX_COLOR) < 40, axis=-1)
        in_photo = np.all(np.abs(photo[:, :, ::-1].astype(int) - RAW_BOX_COLOR) < 40, axis=-1)
        assert magenta.sum() > 100 and in_photo.sum() < magenta.sum() / 10  # a colour the photo itself lacks
        red, green, blue = RAW_BOX_COLOR
        assert not (red > 200 and 100 < green < 200 and blue < 60)  # not orange, the colour of the suit
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_notebook7_loop_labels_the_faces_the_recognizer_finds():
    """The loop written out in notebook 7 and the package's EmotionRecognizer agree on the astronaut photo."""
    import cv2

    from fer_helpers.faces import EmotionRecognizer, FaceDetector, sample_photo
    from fer_helpers.training import compile_model

    model = compile_model(build_tutorial_cnn(filters=(4, 4, 4), dense_units=8))
    namespace = {"cv2": cv2}
    exec(code_cell(7, "def label_image(").split("\n\n\nimage = cv2.imread")[0], namespace)
    photo = sample_photo()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    labelled = namespace["label_image"](photo, model, cascade)
    assert labelled.shape == photo.shape and not (labelled == photo).all() and (photo == sample_photo()).all()
    results = EmotionRecognizer(model=model, detector=FaceDetector()).predict(photo)
    boxes = cascade.detectMultiScale(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), scaleFactor=1.1, minNeighbors=5,
                                     minSize=(48, 48))
    assert len(results) == len(boxes) == 1
    assert tuple(results[0].box) == tuple(int(v) for v in boxes[0])
    x, y, w, h = boxes[0]
    face = cv2.resize(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)[y:y + h, x:x + w], (48, 48), interpolation=cv2.INTER_AREA)
    ours = model.predict(face.reshape(1, 48, 48, 1).astype("float32"), verbose=0)[0]
    assert list(results[0].probabilities.values()) == pytest.approx(ours.tolist(), abs=1e-5)
