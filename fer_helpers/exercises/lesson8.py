"""Exercises of lesson 8: saving and loading a model (.keras, and to_json plus weights)."""

import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail


def _tiny_model(compiled=True):
    import keras

    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(7, activation="softmax",
                                                 bias_initializer=keras.initializers.RandomNormal(stddev=0.5))])
    if compiled:  # and one training step, so that the optimizer has a state to save
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.train_on_batch(np.zeros((2, 48, 48, 1), "float32"), np.eye(7, dtype="float32")[:2])
    return model


def _check_saved(path):
    import keras

    if isinstance(path, keras.Model):
        fail("that is the model itself: save it with model.save(path) and give the path of the file")
    if not isinstance(path, (str, Path)):
        fail(f"expected the path of your saved file, got a {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        fail(f"there is no file at {path}: call model.save(path) first")
    if path.name.endswith(".weights.h5"):
        fail(f"{path.name} holds only weights, no architecture: save the whole model with model.save('....keras')")
    if path.suffix == ".h5":
        fail(f"{path.name} is the legacy HDF5 format: save as .keras, model.save('my_model.keras')")
    if path.suffix != ".keras":
        fail(f"{path.name}: the extension .keras tells Keras to write its zip format")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if "config.json" not in names or "model.weights.h5" not in names:
        fail(f"{path.name} lacks config.json or model.weights.h5: was it written by model.save?")
    model = keras.models.load_model(path)
    if tuple(model.inputs[0].shape[1:]) != (48, 48, 1) or tuple(model.outputs[0].shape[1:]) != (7,):
        fail(f"the saved model takes {tuple(model.inputs[0].shape[1:])} and gives {tuple(model.outputs[0].shape[1:])}"
             ": save the emotion model, (48, 48, 1) -> 7")
    if model.optimizer is None or int(model.optimizer.iterations) == 0:
        return f"{path.name} loads back (saved without training state: fine for predicting)"
    return f"{path.name} loads back with its optimizer at step {int(model.optimizer.iterations)}"


def _saved(name):
    folder = Path(tempfile.gettempdir()) / "fer_exercises"  # one fixed folder: the self-test leaves no litter
    folder.mkdir(exist_ok=True)
    model = _tiny_model()
    if name.endswith(".weights.h5"):
        model.save_weights(folder / name)
    elif name.endswith(".h5"):
        from ..saving import save_model

        save_model(model, folder / name)
    else:
        model.save(folder / name)
    return folder / name


q1 = CodingExercise(
    lesson=8, number=1, title="save your model as a .keras file in runs_dir()",
    hint_text="model.save(runs_dir() / 'my_model.keras'); the answer is that path.",
    solution_text=("path = runs_dir() / \"my_model.keras\"\nmodel.save(path)\nanswer = path\nex.q1.check(answer)"),
    validate=_check_saved,
    make_reference=lambda: _saved("my_model.keras"),
    mistakes=[
        Mistake("legacy h5", lambda: _saved("my_model.h5"), "legacy HDF5"),
        Mistake("weights only", lambda: _saved("my_model.weights.h5"), "only weights"),
        Mistake("missing", lambda: Path("no_such_folder/my_model.keras"), "no file at"),
        Mistake("the model", _tiny_model, "the model itself"),
    ],
)


def _check_round_trip(func):
    import keras

    if not callable(func):
        fail(f"expected a function round_trip(model, folder), got a {type(func).__name__}")
    model = _tiny_model(compiled=False)
    faces = np.random.default_rng(8).integers(0, 256, size=(6, 48, 48, 1)).astype("float32")
    reference = np.asarray(model(faces, training=False))
    with tempfile.TemporaryDirectory(prefix="fer_exercise_") as folder:
        loaded = func(model, Path(folder))
        written = sorted(p.name for p in Path(folder).iterdir())
        if loaded is None:
            fail("your function returns None: return the model rebuilt with model_from_json and load_weights")
        if loaded is model:
            fail("that is the original model object, not a copy loaded from the files")
        if not isinstance(loaded, keras.Model):
            fail(f"expected a Keras model, got a {type(loaded).__name__}")
        if not any(name.endswith(".json") for name in written):
            fail(f"no .json file in the folder ({written}): write model.to_json() to a file")
        if not any(name.endswith(".weights.h5") for name in written):
            fail(f"no .weights.h5 file in the folder ({written}): model.save_weights(folder / 'model.weights.h5') "
                 "(Keras 3 wants that ending)")
        again = np.asarray(loaded(faces, training=False))
    if not np.allclose(again, reference, atol=1e-6):
        fail("the rebuilt model predicts differently: model_from_json gives fresh random weights; "
             "call load_weights on it")
    return "architecture from JSON, weights from .weights.h5: the same predictions"


def _round_trip(model, folder, load=True):
    import keras

    (folder / "model.json").write_text(model.to_json())
    model.save_weights(folder / "model.weights.h5")
    rebuilt = keras.models.model_from_json((folder / "model.json").read_text())
    if load:
        rebuilt.load_weights(folder / "model.weights.h5")
    return rebuilt


q2 = CodingExercise(
    lesson=8, number=2, title="a function that saves with to_json + save_weights and loads the model back",
    hint_text="(folder / 'model.json').write_text(model.to_json()); model.save_weights(folder / 'model.weights.h5'); "
              "then keras.models.model_from_json(...) and .load_weights(...).",
    solution_text=("def round_trip(model, folder):\n"
                   "    (folder / \"model.json\").write_text(model.to_json())\n"
                   "    model.save_weights(folder / \"model.weights.h5\")\n"
                   "    rebuilt = keras.models.model_from_json((folder / \"model.json\").read_text())\n"
                   "    rebuilt.load_weights(folder / \"model.weights.h5\")\n    return rebuilt\n\n"
                   "answer = round_trip\nex.q2.check(answer)"),
    validate=_check_round_trip,
    make_reference=lambda: _round_trip,
    mistakes=[
        Mistake("weights not loaded", lambda: (lambda model, folder: _round_trip(model, folder, load=False)),
                "load_weights"),
        Mistake("the same object", lambda: (lambda model, folder: [_round_trip(model, folder), model][1]),
                "original model object"),
        Mistake("no return", lambda: (lambda model, folder: [_round_trip(model, folder), None][1]), "returns None"),
    ],
)

q3 = ThoughtExercise(
    lesson=8, number=3, title="what compile=False leaves behind, and when to use it",
    hint_text="Compare the sizes of emotions.keras and emotions_inference.keras, and what the optimizer's step "
              "counter says after loading each.",
    solution_text=("load_model(path, compile=False) builds the layers and their weights but not the optimizer, the "
                   "loss and the metrics. That is what an app needs to predict, and saving that copy gives a file "
                   "about a third of the size (Adam keeps two running averages per weight). To continue training, "
                   "load with compile=True (the default): the optimizer then resumes at its saved step with its "
                   "saved averages. Loading with compile=False and compiling again starts a fresh optimizer at "
                   "step 0, whose first steps can undo part of the training."),
)
