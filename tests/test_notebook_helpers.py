"""The lesson helpers of fer_helpers.notebook (per-class subsets, callback replay, TensorBoard read-back, lesson-5 model,
scratch folders)."""

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from fer_helpers import notebook, training
from fer_helpers.data import FERData
from fer_helpers.models import build_tutorial_cnn
from fer_helpers.training import BACKUP_DIR, BEST_MODEL, CSV_LOG, compile_model


def _data(random_faces):
    images, labels, usage = random_faces
    return FERData(images, labels, usage, source="random.csv")


def test_per_class_subset_caps_one_split_and_keeps_the_others(random_faces):
    data = _data(random_faces)
    small = notebook.per_class_subset(data, 3)
    train = small.usage == "Training"
    assert np.bincount(small.labels[train], minlength=7).tolist() == [3] * 7
    assert small.split_counts() == {"Training": 21, "PublicTest": 7, "PrivateTest": 7}
    kept = [tuple(face.ravel()[:8]) for face in small.images]
    original = [tuple(face.ravel()[:8]) for face in data.images]
    assert [original.index(k) for k in kept] == sorted(original.index(k) for k in kept)  # row order preserved
    again = notebook.per_class_subset(data, 3)
    assert np.array_equal(again.images, small.images)  # seeded
    assert notebook.per_class_subset(data, None) is data
    assert len(notebook.per_class_subset(data, 1, usage=None)) == 7
    assert len(notebook.per_class_subset(data, 100)) == len(data)
    with pytest.raises(ValueError, match="at least 1"):
        notebook.per_class_subset(data, 0)
    with pytest.raises(ValueError, match="no rows with Usage"):
        notebook.per_class_subset(data, 2, usage="Validation")


def test_replay_stops_where_early_stopping_would():
    log = pd.DataFrame({"epoch": range(7), "val_accuracy": [0.30, 0.40, 0.38, 0.41, 0.40, 0.39, 0.50]})
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=2, verbose=0)
    replay = notebook.replay_callbacks(log, [stop])
    # best 0.41 at epoch 4, two epochs without improvement: fit stops after epoch 6 and never sees 0.50
    assert replay["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert replay["stop"].tolist() == [False] * 5 + [True]
    assert stop.best_epoch == 3 and stop.stopped_epoch == 5
    patient = notebook.replay_callbacks(log, [keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=3)])
    assert len(patient) == 7 and not patient["stop"].any()


def test_replay_records_the_learning_rate_of_each_epoch():
    log = {"val_accuracy": [0.30, 0.40, 0.38, 0.41, 0.40, 0.39]}
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_accuracy", mode="max", factor=0.5, patience=1, verbose=0)
    replay = notebook.replay_callbacks(log, [reduce], learning_rate=1e-3)
    # halved after epochs 3, 5 and 6 (each without improvement); the new rate applies from the next epoch on
    assert np.allclose(replay["learning_rate"], [1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])
    assert list(replay.columns) == ["epoch", "val_accuracy", "learning_rate", "stop"]


def test_tensorboard_scalars_match_the_history(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    history = model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "logs"), write_graph=False)])
    scalars = notebook.tensorboard_scalars(tmp_path / "logs")
    assert scalars["epoch"].tolist() == [0, 1, 2]
    for key in ("loss", "mae", "val_loss", "val_mae"):
        assert np.allclose(scalars[key], history.history[key], rtol=1e-5), key
    with pytest.raises(FileNotFoundError, match="no TensorBoard"):
        notebook.tensorboard_scalars(tmp_path / "nothing")


def _fake_run(folder):
    folder.mkdir(parents=True)
    model = compile_model(build_tutorial_cnn(filters=(4, 4, 4), dense_units=8))
    model.save(folder / BEST_MODEL)
    pd.DataFrame({"epoch": [0, 1], "accuracy": [0.2, 0.3], "loss": [2.0, 1.8], "val_accuracy": [0.25, 0.3],
                  "val_loss": [1.9, 1.7]}).to_csv(folder / CSV_LOG, index=False)
    return model


def test_lesson5_model_uses_notebook_5s_run(tmp_path, capsys):
    saved = _fake_run(tmp_path / "05_training")
    lesson = notebook.lesson5_model(tmp_path / "05_training", fallback_dir=tmp_path / "quick")
    assert lesson.run_dir == tmp_path / "05_training"
    assert len(lesson.history) == 2 and lesson.model.count_params() == saved.count_params()
    assert "05_training (2 epochs logged)" in capsys.readouterr().out
    assert not (tmp_path / "quick").exists()


@pytest.mark.slow
def test_lesson5_model_skips_an_interrupted_run_and_trains_a_quick_one(tmp_path, random_faces, monkeypatch):
    _fake_run(tmp_path / "05_training")
    (tmp_path / "05_training" / BACKUP_DIR).mkdir()  # BackupAndRestore state left behind: the run did not finish
    monkeypatch.setattr(notebook, "QUICK_TRAINING", {**notebook.QUICK_TRAINING, "epochs": 1, "augment": "none"})
    images, labels, usage = random_faces
    data = FERData(images, labels, usage, source="random.csv")
    lesson = notebook.lesson5_model(tmp_path / "05_training", data=data, fallback_dir=tmp_path / "quick",
                                    verbose=False)
    assert lesson.run_dir == tmp_path / "quick"
    assert len(lesson.history) == 1 and lesson.model.output_shape == (None, 7)
    monkeypatch.setattr(training, "train", lambda *args, **kwargs: pytest.fail("trained a second time"))
    again = notebook.lesson5_model(tmp_path / "05_training", data=data, fallback_dir=tmp_path / "quick",
                                   verbose=False)
    assert again.run_dir == tmp_path / "quick"  # reused, not trained twice


def test_scratch_folder_lives_as_long_as_the_kernel(tmp_path):
    folder = notebook.scratch_folder("fer_test_")
    assert folder.is_dir() and folder.name.startswith("fer_test_")
    assert folder in [Path(f.name) for f in notebook.SCRATCH]  # kept alive, deleted at exit (tests/test_faults.py)


def test_runs_dir_env_colab_with_and_without_drive_and_checkout(tmp_path, monkeypatch):
    import os
    import sys
    import types
    from pathlib import Path

    from fer_helpers.data import repo_root

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "mine"))
    assert notebook.runs_dir() == tmp_path / "mine" and (tmp_path / "mine").is_dir()
    monkeypatch.delenv("FER_RUNS_DIR")
    monkeypatch.chdir(repo_root() / "notebooks")
    assert notebook.runs_dir() == Path("../runs")  # the same on every machine, as the committed outputs show
    monkeypatch.chdir(tmp_path)
    assert notebook.runs_dir() == repo_root() / "runs"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delenv("FER_COLAB_CONTENT", raising=False)
    created = []
    with monkeypatch.context() as patched:
        patched.setattr(Path, "mkdir", lambda self, **kw: created.append(self))
        assert notebook.runs_dir() == Path("/content/runs")  # Colab, Drive not mounted: the session's disk
    assert created == [Path("/content/runs")]
    monkeypatch.setenv("FER_COLAB_CONTENT", str(tmp_path / "content"))  # Colab's /content, moved here
    assert notebook.runs_dir() == tmp_path / "content" / "runs"
    os.makedirs(tmp_path / "content" / "drive" / "MyDrive")  # what drive.mount("/content/drive") makes appear
    drive = tmp_path / "content" / "drive" / "MyDrive" / "fer-tutorial" / "runs"
    assert notebook.runs_dir() == drive and drive.is_dir()  # mounted: the runs outlive the session
