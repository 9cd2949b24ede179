"""Exercises of lesson 5: compile, callbacks, fit and history.

Their hints and worked solutions are in lesson5.md.
"""

import keras
import numpy as np

from .core import Exercise, exercise, fail, need, need_function


def mode(callback) -> str:
    """The callback's mode; Keras before 3.11 keeps only its comparison (`monitor_op`) in some callbacks."""
    return getattr(callback, "mode", None) or {np.less: "min", np.greater: "max"}.get(callback.monitor_op, "auto")


@exercise(5, 1)
def q1(answer):
    if isinstance(answer, keras.callbacks.Callback):
        fail("fit takes a LIST of callbacks: answer = [EarlyStopping(...), ReduceLROnPlateau(...), ...]")
    need(answer, (list, tuple), "a list of callbacks")
    found = {type(callback).__name__: callback for callback in answer}
    for name in ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "CSVLogger"):
        if name not in found:
            fail(f"no {name} in your list (found {list(found)})")
    stop, reduce, checkpoint = found["EarlyStopping"], found["ReduceLROnPlateau"], found["ModelCheckpoint"]
    for name, callback in [("EarlyStopping", stop), ("ReduceLROnPlateau", reduce), ("ModelCheckpoint", checkpoint)]:
        if callback.monitor == "val_acc":
            fail(f"{name} monitors 'val_acc' but Keras 3 logs 'val_accuracy': it would never act")
        if callback.monitor not in ("val_accuracy", "val_loss"):
            fail(f"{name} monitors {callback.monitor!r}: judge progress on the validation faces, 'val_accuracy' "
                 "(or 'val_loss')")
        rising = callback.monitor == "val_accuracy"
        if mode(callback) == ("min" if rising else "max"):
            fail(f"{name} monitors {callback.monitor!r} with mode={mode(callback)!r}: "
                 f"{'accuracy rises' if rising else 'a loss falls'} when the model improves, so "
                 f"mode={'max' if rising else 'min'!r}")
    if not stop.restore_best_weights:
        fail("EarlyStopping without restore_best_weights=True leaves the model with the weights of the last "
             "epoch, not the best one")
    if reduce.patience >= stop.patience:
        fail(f"ReduceLROnPlateau's patience ({reduce.patience}) is not shorter than EarlyStopping's "
             f"({stop.patience}): training stops before the lower learning rate can help")
    if not checkpoint.save_best_only:
        fail("ModelCheckpoint without save_best_only=True overwrites the file after every epoch: keep the best")
    if str(checkpoint.filepath).endswith(".h5"):
        fail("ModelCheckpoint writes the legacy HDF5 format for '.h5': save the whole model as '.keras'")
    return (f"stops after {stop.patience} epochs without progress, lowers the rate after {reduce.patience}, "
            f"keeps the best model in {checkpoint.filepath}")


@exercise(5, 2)
def q2(model):
    need(model, keras.Model, "the compiled Keras model")
    if not model.compiled:
        fail("the model is not compiled yet: model.compile(optimizer=..., loss=..., metrics=['accuracy'])")
    config = model.get_compile_config()
    loss = config.get("loss")
    name = str(loss.get("class_name") if isinstance(loss, dict) else loss)
    key = name.lower().replace("_", "")
    if "sparse" in key:
        fail("sparse_categorical_crossentropy takes integer labels; our labels are one-hot (to_categorical): "
             "use loss='categorical_crossentropy'")
    if "binary" in key:
        fail("binary_crossentropy is for yes/no outputs; seven exclusive emotions need loss='categorical_crossentropy'")
    if "categoricalcrossentropy" not in key:
        fail(f"the loss is {name!r}: for one-hot labels and a softmax output use 'categorical_crossentropy'")
    if "acc" not in str(config.get("metrics")):
        fail("no accuracy metric: without metrics=['accuracy'] fit logs no 'val_accuracy' for the callbacks to watch")
    return f"{type(model.optimizer).__name__}, {name}, accuracy logged"


# Made-up histories where every wrong rule (training accuracy, lowest value, val_loss, 0-based) picks another epoch.
HISTORIES = [
    {"accuracy": [0.30, 0.45, 0.52, 0.60, 0.66], "val_accuracy": [0.35, 0.44, 0.51, 0.49, 0.50],
     "loss": [1.8, 1.5, 1.3, 1.1, 1.0], "val_loss": [1.7, 1.5, 1.40, 1.38, 1.41]},
    {"accuracy": [0.2, 0.3, 0.4], "val_accuracy": [0.25, 0.24, 0.22], "loss": [1.9, 1.7, 1.6],
     "val_loss": [1.8, 1.85, 1.9]},
]
WRONG_RULES = [  # (a wrong way to pick the epoch, what to tell)
    (lambda h: np.argmax(h["val_accuracy"]), "off by one: np.argmax gives a 0-based index, and the epochs are "
                                             "counted from 1: add 1"),
    (lambda h: np.argmax(h["accuracy"]) + 1, "that is the best TRAINING accuracy: pick the epoch with the highest "
                                             "history['val_accuracy']"),
    (lambda h: np.argmin(h["val_accuracy"]) + 1, "that is the epoch with the LOWEST val_accuracy: use np.argmax, "
                                                 "accuracy is better when higher"),
    (lambda h: np.argmin(h["val_loss"]) + 1, "that is the epoch of the lowest val_loss, a different criterion: the "
                                             "callbacks pick the highest val_accuracy"),
]


@exercise(5, 3)
def q3(best_epoch):
    need_function(best_epoch, "best_epoch(history) (history: a dict like history.history)")
    for history in HISTORIES:
        got = best_epoch({key: list(values) for key, values in history.items()})
        if got is None:
            fail("your function returns None: add a return statement")
        if got != np.argmax(history["val_accuracy"]) + 1:
            for rule, message in WRONG_RULES:
                if got == rule(history):
                    fail(message)
            fail(f"for val_accuracy {history['val_accuracy']} your function gives epoch {got}")
    return "the epoch the callbacks keep"


q4 = Exercise(5, 4)  # answered in words
