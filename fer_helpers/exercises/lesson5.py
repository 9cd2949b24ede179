"""Exercises of lesson 5: compile, callbacks, fit and history."""

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail

LOGGED = ("val_accuracy", "val_loss", "accuracy", "loss")


def _mode(callback) -> str:
    """The callback's mode; Keras before 3.11 keeps only its comparison (``monitor_op``) in some callbacks."""
    mode = getattr(callback, "mode", None)
    if mode is None:
        mode = {np.less: "min", np.greater: "max"}.get(getattr(callback, "monitor_op", None), "auto")
    return mode


def _check_callbacks(callbacks):
    import keras

    if isinstance(callbacks, keras.callbacks.Callback):
        fail("fit takes a LIST of callbacks: answer = [EarlyStopping(...), ReduceLROnPlateau(...), ...]")
    if not isinstance(callbacks, (list, tuple)):
        fail(f"expected a list of callbacks, got a {type(callbacks).__name__}")
    by_kind = {type(c).__name__: c for c in callbacks}
    for needed in ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "CSVLogger"):
        if not any(isinstance(c, getattr(keras.callbacks, needed)) for c in callbacks):
            fail(f"no {needed} in your list (found {list(by_kind)})")
    get = {name: next(c for c in callbacks if isinstance(c, getattr(keras.callbacks, name)))
           for name in ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint")}
    for name, callback in get.items():
        if callback.monitor == "val_acc":
            fail(f"{name} monitors 'val_acc' but Keras 3 logs 'val_accuracy': it would never act")
        if callback.monitor not in LOGGED:
            fail(f"{name} monitors {callback.monitor!r}, which fit does not log: use 'val_accuracy' (or 'val_loss')")
        if not callback.monitor.startswith("val_"):
            fail(f"{name} monitors the training score {callback.monitor!r}: judge progress on the validation "
                 "faces, 'val_accuracy'")
        rising = "accuracy" in callback.monitor
        mode = _mode(callback)
        if mode == ("min" if rising else "max"):
            fail(f"{name} monitors {callback.monitor!r} with mode={mode!r}: "
                 f"{'accuracy rises' if rising else 'a loss falls'} when the model improves, so "
                 f"mode={'max' if rising else 'min'!r}")
    stop, reduce, checkpoint = get["EarlyStopping"], get["ReduceLROnPlateau"], get["ModelCheckpoint"]
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


def _callbacks(monitor="val_accuracy", mode="max", restore=True, lr_patience=3, best_only=True, path="best.keras"):
    from keras import callbacks

    return [callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=8, min_delta=0.001,
                                    restore_best_weights=restore),
            callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.5, patience=lr_patience, min_lr=1e-5),
            callbacks.ModelCheckpoint(path, monitor=monitor, mode=mode, save_best_only=best_only),
            callbacks.CSVLogger("training_log.csv")]


q1 = CodingExercise(
    lesson=5, number=1, title="the callbacks list: EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, CSVLogger",
    hint_text="All three that decide watch 'val_accuracy' with mode='max'; EarlyStopping restores the best weights; "
              "ReduceLROnPlateau gets the shorter patience; ModelCheckpoint saves only the best, as .keras.",
    solution_text=("from keras import callbacks\n\nanswer = [\n"
                   "    callbacks.EarlyStopping(monitor=\"val_accuracy\", mode=\"max\", patience=8, min_delta=0.001,\n"
                   "                            restore_best_weights=True),\n"
                   "    callbacks.ReduceLROnPlateau(monitor=\"val_accuracy\", mode=\"max\", factor=0.5, patience=3,\n"
                   "                                min_lr=1e-5),\n"
                   "    callbacks.ModelCheckpoint(runs_dir() / \"my_best.keras\", monitor=\"val_accuracy\", mode=\"max\",\n"
                   "                              save_best_only=True),\n"
                   "    callbacks.CSVLogger(runs_dir() / \"my_log.csv\"),\n]\nex.q1.check(answer)"),
    validate=_check_callbacks,
    make_reference=_callbacks,
    mistakes=[
        Mistake("val_acc", lambda: _callbacks(monitor="val_acc"), "Keras 3 logs 'val_accuracy'"),
        Mistake("mode min", lambda: _callbacks(mode="min"), "accuracy rises"),
        Mistake("no restore", lambda: _callbacks(restore=False), "restore_best_weights=True"),
        Mistake("patience order", lambda: _callbacks(lr_patience=10), "shorter"),
        Mistake("every epoch", lambda: _callbacks(best_only=False), "save_best_only=True"),
        Mistake("h5", lambda: _callbacks(path="best.h5"), "'.keras'"),
        Mistake("one callback", lambda: _callbacks()[0], "LIST"),
    ],
)


def _check_compiled(model):
    import keras

    if not isinstance(model, keras.Model):
        fail(f"expected the compiled Keras model, got a {type(model).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        fail("the model is not compiled yet: model.compile(optimizer=..., loss=..., metrics=['accuracy'])")
    config = model.get_compile_config() or {}
    loss = config.get("loss")
    name = loss if isinstance(loss, str) else (loss or {}).get("class_name", str(loss)) if isinstance(loss, dict) \
        else type(loss).__name__
    key = str(name).lower().replace("_", "")
    if "sparse" in key:
        fail("sparse_categorical_crossentropy takes integer labels; our labels are one-hot (to_categorical): "
             "use loss='categorical_crossentropy'")
    if "binary" in key:
        fail("binary_crossentropy is for yes/no outputs; seven exclusive emotions need "
             "loss='categorical_crossentropy'")
    if "categoricalcrossentropy" not in key:
        fail(f"the loss is {name!r}: for one-hot labels and a softmax output use 'categorical_crossentropy'")
    metrics = [m if isinstance(m, str) else getattr(m, "name", str(m)) for m in (config.get("metrics") or [])]
    if not any(str(m) in ("accuracy", "acc", "categorical_accuracy") for m in metrics):
        fail("no accuracy metric: without metrics=['accuracy'] fit logs no 'val_accuracy' for the callbacks to watch")
    return f"{type(model.optimizer).__name__}, {name}, metrics {metrics}"


def _compiled(loss="categorical_crossentropy", metrics=("accuracy",), compile=True):
    import keras

    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=list(metrics))
    return model


q2 = CodingExercise(
    lesson=5, number=2, title="compile a model for one-hot labels, with accuracy logged",
    hint_text="model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=..., metrics=[...]); the "
              "labels are one-hot rows of seven numbers.",
    solution_text=("model = build_tutorial_cnn()\n"
                   "model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),\n"
                   "              loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),\n"
                   "              metrics=[\"accuracy\"])\nanswer = model\nex.q2.check(answer)"),
    validate=_check_compiled,
    make_reference=_compiled,
    mistakes=[
        Mistake("sparse loss", lambda: _compiled(loss="sparse_categorical_crossentropy"), "integer labels"),
        Mistake("binary loss", lambda: _compiled(loss="binary_crossentropy"), "exclusive emotions"),
        Mistake("no metric", lambda: _compiled(metrics=()), "metrics=['accuracy']"),
        Mistake("not compiled", lambda: _compiled(compile=False), "not compiled yet"),
    ],
)

# A made-up history where the best epoch differs by every wrong rule: training accuracy, loss, 0-based index.
HISTORIES = [
    {"accuracy": [0.30, 0.45, 0.52, 0.60, 0.66], "val_accuracy": [0.35, 0.44, 0.51, 0.49, 0.50],
     "loss": [1.8, 1.5, 1.3, 1.1, 1.0], "val_loss": [1.7, 1.5, 1.40, 1.38, 1.41]},
    {"accuracy": [0.2, 0.3, 0.4], "val_accuracy": [0.25, 0.24, 0.22],
     "loss": [1.9, 1.7, 1.6], "val_loss": [1.8, 1.85, 1.9]},
]


def _check_best_epoch(func):
    if not callable(func):
        fail(f"expected a function best_epoch(history) (history: a dict like history.history), "
             f"got a {type(func).__name__}")
    for history in HISTORIES:
        expected = int(np.argmax(history["val_accuracy"])) + 1
        got = func({key: list(values) for key, values in history.items()})
        if got is None:
            fail("your function returns None: add a return statement")
        got = int(got)
        if got == expected:
            continue
        if got == expected - 1:
            fail("off by one: np.argmax gives a 0-based index, and the epochs are counted from 1: add 1")
        if got in (int(np.argmax(history["accuracy"])) + 1, int(np.argmax(history["accuracy"]))):
            fail("that is the best TRAINING accuracy: pick the epoch with the highest history['val_accuracy']")
        if got in (int(np.argmin(history["val_accuracy"])) + 1, int(np.argmin(history["val_accuracy"]))):
            fail("that is the epoch with the LOWEST val_accuracy: use np.argmax, accuracy is better when higher")
        if got in (int(np.argmin(history["val_loss"])) + 1, int(np.argmin(history["val_loss"]))):
            fail("that is the epoch of the lowest val_loss, a different criterion: the callbacks pick the highest "
                 "val_accuracy")
        fail(f"for val_accuracy {history['val_accuracy']} your function gives epoch {got}, expected {expected}")
    return "the epoch the callbacks keep"


q3 = CodingExercise(
    lesson=5, number=3, title="a function that reads the best epoch out of history.history",
    hint_text="history.history['val_accuracy'] is a list with one value per epoch; np.argmax finds the largest, "
              "counting from 0.",
    solution_text=("def best_epoch(history):\n    return int(np.argmax(history[\"val_accuracy\"])) + 1\n\n"
                   "print(best_epoch(history.history))\nanswer = best_epoch\nex.q3.check(answer)"),
    validate=_check_best_epoch,
    make_reference=lambda: (lambda history: int(np.argmax(history["val_accuracy"])) + 1),
    mistakes=[
        Mistake("0-based", lambda: (lambda history: int(np.argmax(history["val_accuracy"]))), "off by one"),
        Mistake("training accuracy", lambda: (lambda history: int(np.argmax(history["accuracy"])) + 1), "TRAINING"),
        Mistake("argmin", lambda: (lambda history: int(np.argmin(history["val_accuracy"])) + 1), "LOWEST"),
        Mistake("no return", lambda: (lambda history: None), "return statement"),
    ],
)

q4 = ThoughtExercise(
    lesson=5, number=4, title="what patience trades off",
    hint_text="Replay the log with patience 1, 2 and 3 (the cell after the made-up sequence): where does each stop?",
    solution_text=("Patience is how many epochs without a new best EarlyStopping waits before stopping. Too small, "
                   "and a run stops in a dip of the noisy validation score that it would have climbed out of, "
                   "before ReduceLROnPlateau's lower learning rate can help. Too large, and it wastes epochs after "
                   "the real best (restore_best_weights=True at least keeps the best weights). On FER2013, whose "
                   "validation accuracy is noisy and rises slowly, about 10 epochs is usual, with a shorter patience "
                   "for ReduceLROnPlateau; min_delta sets how large a gain counts as progress."),
)
