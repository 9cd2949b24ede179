"""Exercises of lesson 8: saving and loading a model (.keras, and to_json plus weights).

Their hints and worked solutions are in lesson8.md.
"""

import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

from .core import Exercise, exercise, fail, need, need_function, tiny_model


@exercise(8, 1)
def q1(path):
    if isinstance(path, keras.Model):
        fail("that is the model itself: save it with model.save(path) and give the path of the file")
    need(path, (str, Path), "the path of your saved file")
    path = Path(path)
    if not path.exists():
        fail(f"there is no file at {path}: call model.save(path) first")
    if path.name.endswith(".weights.h5"):
        fail(f"{path.name} holds only weights, no architecture: save the whole model with model.save('....keras')")
    if path.suffix != ".keras":
        fail(f"{path.name} is not a .keras file (.h5 is the legacy HDF5 format): save as .keras, "
             "model.save('my_model.keras')")
    with zipfile.ZipFile(path) as archive:
        if not {"config.json", "model.weights.h5"} <= set(archive.namelist()):
            fail(f"{path.name} lacks config.json or model.weights.h5: was it written by model.save?")
    model = keras.models.load_model(path)
    shapes = tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:])
    if shapes != ((48, 48, 1), (7,)):
        fail(f"the saved model takes {shapes[0]} and gives {shapes[1]}: save the emotion model, (48, 48, 1) -> 7")
    if model.optimizer is None or int(model.optimizer.iterations) == 0:
        return f"{path.name} loads back (saved without training state: fine for predicting)"
    return f"{path.name} loads back with its optimizer at step {int(model.optimizer.iterations)}"


@exercise(8, 2)
def q2(round_trip):
    need_function(round_trip, "round_trip(model, folder)")
    model = tiny_model()
    faces = np.random.default_rng(8).integers(0, 256, size=(6, 48, 48, 1)).astype("float32")
    with tempfile.TemporaryDirectory(prefix="fer_exercise_") as folder:
        loaded = round_trip(model, Path(folder))
        written = sorted(p.name for p in Path(folder).iterdir())
    if loaded is None:
        fail("your function returns None: return the model rebuilt with model_from_json and load_weights")
    if loaded is model:
        fail("that is the original model object, not a copy loaded from the files")
    need(loaded, keras.Model, "a Keras model")
    if not any(name.endswith(".json") for name in written):
        fail(f"no .json file in the folder ({written}): write model.to_json() to a file")
    if not any(name.endswith(".weights.h5") for name in written):
        fail(f"no .weights.h5 file in the folder ({written}): model.save_weights(folder / 'model.weights.h5') "
             "(Keras 3 wants that ending)")
    if not np.allclose(loaded(faces), model(faces), atol=1e-6):
        fail("the rebuilt model predicts differently: model_from_json gives fresh random weights; "
             "call load_weights on it")
    return "architecture from JSON, weights from .weights.h5: the same predictions"


q3 = Exercise(8, 3)  # answered in words
