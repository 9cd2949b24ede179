"""Bad inputs and faults: each gets a clear error naming the file, row or argument, and nothing written is lost.

One case per kind of fault of issue 18: data files, arguments, model files, writes that fail or are killed, Ctrl-C.
"""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fer_helpers import atomic
from fer_helpers import data as fd
from fer_helpers.cli import main
from fer_helpers.data import DataError, load_fer2013, write_fer_csv
from fer_helpers.synthetic import assign_usage, generate_faces

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}


def _strict_json(text):
    def refuse(name):
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def faces():
    images, labels = generate_faces(per_class=3, seed=2)
    return images, labels


def _csv_text(images, labels, n=None):
    n = len(images) if n is None else n
    rows = ["emotion,pixels,Usage"] + [f"{labels[i]},{' '.join(map(str, images[i].ravel()))},Training"
                                      for i in range(n)]
    return "\n".join(rows) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# data files: errors name the file and, where there is one, the row
# ----------------------------------------------------------------------------------------------------------------

def test_truncated_gzip_names_the_file_and_the_row(tmp_path, faces):
    path = tmp_path / "cut.csv.gz"
    whole = gzip.compress(_csv_text(*faces).encode())
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut\.csv\.gz: cannot be read at row \d+ .*truncated or corrupt"):
        load_fer2013(path, cache=False)


def test_gzip_with_trailing_garbage_names_the_file(tmp_path, faces):
    path = tmp_path / "garbage.csv.gz"
    path.write_bytes(gzip.compress(_csv_text(*faces).encode()) + b"this is not gzip")
    with pytest.raises(DataError, match=r"garbage\.csv\.gz: cannot be read"):
        load_fer2013(path, cache=False)


@pytest.mark.parametrize("label", ["1" * 23, "\u00b2", "12", "-1", "3.0"])
def test_absurd_labels_name_file_and_row_and_are_skippable(tmp_path, faces, label):
    images, labels = faces
    lines = _csv_text(images, labels).splitlines()
    lines[3] = label + lines[3][1:]  # row 2
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"labels\.csv: row 2 \(line 4\): emotion"):
        load_fer2013(path, cache=False)
    with pytest.warns(UserWarning, match="skipped 1 of"):
        kept = load_fer2013(path, on_error="skip", cache=False)
    assert len(kept) == len(images) - 1 and kept.labels.tolist() == np.delete(labels, 2).tolist()


def test_first_row_with_an_extra_field_is_that_rows_error(tmp_path, faces):
    images, labels = faces
    lines = _csv_text(images, labels).splitlines()
    lines[1] += ",extra"
    path = tmp_path / "extra.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"extra\.csv: row 0 \(line 2\): 4 fields, the header has 3"):
        load_fer2013(path, cache=False)


def test_utf8_byte_order_mark_reads_as_pandas_reads_it(tmp_path, faces):
    import pandas as pd

    images, labels = faces
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv_text(images, labels).encode())
    data = load_fer2013(path, cache=False)
    assert list(pd.read_csv(path).columns) == ["emotion", "pixels", "Usage"]
    assert data.labels.tolist() == labels.tolist() and np.array_equal(data.images, images)
    lines = _csv_text(images, labels).splitlines()
    lines[2] = lines[2].replace(" ", "  ", 1)  # not the fast layout: the careful path must read the BOM too
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    assert load_fer2013(path, cache=False).labels.tolist() == labels.tolist()


def test_named_pipe_is_not_supported_clearly(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"pipe\.csv: not a regular file .*not supported"):
        load_fer2013(fifo)
    assert main(["info", "/dev/stdin"]) == 2


def test_huge_file_without_line_breaks_fails_fast(tmp_path):
    path = tmp_path / "sparse.csv"
    with open(path, "wb") as fh:
        fh.truncate(256 << 20)  # 256 MB of zero bytes, no line break
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"sparse\.csv: line 1 is longer than"):
        load_fer2013(path, cache=False)
    assert time.perf_counter() - start < 10  # reads about one megabyte, not the whole file


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_huge_row_in_the_middle_fails_fast_naming_the_row(tmp_path, faces, on_error):
    images, labels = faces
    lines = _csv_text(images, labels).splitlines()
    lines.insert(4, "3," + "1 " * 600_000 + ",Training")  # row 3: a 1.2 MB line, then a 256 MB one without breaks
    path = tmp_path / "huge_row.csv"
    path.write_text("\n".join(lines) + "\n")
    with open(path, "ab") as fh:
        fh.truncate(path.stat().st_size + (256 << 20))
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"huge_row\.csv: row 3 \(line 5\) is longer than 1,048,576 characters"):
        load_fer2013(path, on_error=on_error, cache=False)
    assert time.perf_counter() - start < 10
    lines[4] = "3," + "1 " * 499_999 + "1,Training"  # a long row under the limit is an ordinary bad row
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"row 3 \(line 5\): expected 2304 pixel values .*found 500000"):
        load_fer2013(path, cache=False)


# ----------------------------------------------------------------------------------------------------------------
# the parse cache: a bad cache file is a miss; a failed write leaves nothing
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_cache_file_is_a_miss_and_is_rebuilt(tmp_path, faces, damage):
    path = write_fer_csv(tmp_path / "d.csv", *faces)
    first = load_fer2013(path)
    (cache_file,) = fd.cache_dir().glob("d.csv.*.npz")
    raw = cache_file.read_bytes()
    cache_file.write_bytes({"empty": b"", "truncated": raw[: len(raw) // 3], "garbage": os.urandom(len(raw))}[damage])
    again = load_fer2013(path)
    assert np.array_equal(again.images, first.images) and again.labels.tolist() == first.labels.tolist()
    assert cache_file.read_bytes() == raw  # rebuilt


def test_failed_cache_write_leaves_no_temporary_file(tmp_path, faces, monkeypatch):
    path = write_fer_csv(tmp_path / "f.csv", *faces)

    def full_disk(file, **arrays):
        Path(file).write_bytes(b"x" * 1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.warns(UserWarning, match=r"could not write the cache .*f\.csv\..*\.npz.*No space left"):
        load_fer2013(path)
    assert list(fd.cache_dir().iterdir()) == []


def test_empty_cache_variable_means_the_default_folder(monkeypatch):
    monkeypatch.setenv("FER_HELPERS_CACHE", "")
    assert fd.cache_dir() == Path.home() / ".cache" / "fer_helpers"


# ----------------------------------------------------------------------------------------------------------------
# every file written: complete or absent, errors name the path
# ----------------------------------------------------------------------------------------------------------------

def test_a_failed_write_keeps_the_old_file_and_names_the_path(tmp_path, monkeypatch, faces):
    out = tmp_path / "sample.csv"
    out.write_text("old content")

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match=r"cannot write .*sample\.csv: No space left on device"):
        write_fer_csv(out, *faces)
    monkeypatch.undo()
    assert out.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.csv"]  # no temporary file left


def test_atomic_path_removes_the_temporary_file_on_any_error(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"x\.json: 'val_loss' is nan"):
        atomic.write_json(target, {"val_loss": float("nan")})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------------------------
# arguments: checked before any work, the message names the argument or file
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, named", [
    (["train", "--out", "{tmp}/r", "--learning-rate", "nan"], "--learning-rate"),
    (["train", "--out", "{tmp}/r", "--learning-rate", "inf"], "--learning-rate"),
    (["train", "--out", "{tmp}/r", "--patience", "-1"], "--patience"),
    (["train", "--out", "{tmp}/r", "--warmup-epochs", "-2"], "--warmup-epochs"),
    (["train", "--out", "{tmp}/r", "--epochs", "0"], "--epochs"),
    (["evaluate", "--model", "m.keras", "--data", "d.csv", "--batch-size", "0"], "--batch-size"),
    (["make-sample", "--out", "{tmp}/x.zip", "--per-class", "2"], "--out"),
    (["predict", "img.png", "--out", "{tmp}/a.xyz"], "--out"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, capsys, argv, named):
    argv = [a.format(tmp=tmp_path) for a in argv]
    start = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {named}" in err and "Traceback" not in err
    assert time.perf_counter() - start < 5
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_resume_without_a_run_and_corrupt_configs_name_the_folder_or_file(tmp_path, capsys, faces):
    from fer_helpers import training

    csv = write_fer_csv(tmp_path / "d.csv", *faces)
    (tmp_path / "empty").mkdir()
    assert main(["train", "--data", str(csv), "--out", str(tmp_path / "empty"), "--resume"]) == 2
    assert f"{tmp_path / 'empty'}: no training run to resume" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"epochs": 3, "learnin_rate": 0.1}')
    with pytest.raises(ValueError, match=r"run/config\.json: not the settings of a run .*'learnin_rate'"):
        training.train(csv, run, resume=True)
    (run / "config.json").write_text('{"epochs": 3,')
    with pytest.raises(ValueError, match=r"run/config\.json: not the settings of a run .*Expecting"):
        training.train(csv, run, resume=True)
    (run / "config.json").write_text('{"learning_rate": NaN}')
    with pytest.raises(ValueError, match=r"run/config\.json: .*learning_rate must be a finite number"):
        training.train(csv, run, resume=True)


@pytest.mark.parametrize("value, fast", [("no", False), ("0", False), ("off", False), ("", False), ("yes", True),
                                         ("1", True), ("TRUE", True)])
def test_fer_fast_means_what_it_says(monkeypatch, value, fast):
    from fer_helpers.notebook import env_flag

    monkeypatch.setenv("FER_FAST", value)
    assert env_flag("FER_FAST") is fast


def test_fer_fast_with_a_meaningless_value_names_the_variable(monkeypatch):
    from fer_helpers.notebook import env_flag

    monkeypatch.setenv("FER_FAST", "maybe")
    with pytest.raises(ValueError, match="FER_FAST='maybe'"):
        env_flag("FER_FAST")


# ----------------------------------------------------------------------------------------------------------------
# model files: checked where they are loaded
# ----------------------------------------------------------------------------------------------------------------

def _model(tmp_path, name, shape=(48, 48, 1), classes=7, activation="softmax"):
    import keras

    inputs = keras.Input(shape)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(keras.layers.Rescaling(1 / 255)(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(classes, activation=activation)(x))
    path = tmp_path / name
    model.save(path)
    return path


@pytest.mark.parametrize("name, kwargs, message", [
    ("ten.keras", {"classes": 10}, r"returns shape \(10,\).*7 class probabilities"),
    ("logits.keras", {"activation": None}, r"outputs are not probabilities.*softmax"),
    ("big.keras", {"shape": (64, 64, 1)}, r"inputs of shape \(64, 64, 1\).*\(48, 48, 1\)"),
    ("rgb.keras", {"shape": (48, 48, 3)}, r"inputs of shape \(48, 48, 3\)"),
])
def test_unfit_models_are_refused_where_they_are_loaded(tmp_path, capsys, faces, name, kwargs, message):
    from fer_helpers.faces import EmotionRecognizer

    path = _model(tmp_path, name, **kwargs)
    with pytest.raises(ValueError, match=rf"{name}: .*{message}"):
        EmotionRecognizer(model=str(path))
    csv = write_fer_csv(tmp_path / "d.csv", *faces)
    assert main(["evaluate", "--model", str(path), "--data", str(csv)]) == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err and len(err.splitlines()) <= 3


def test_a_fit_model_with_free_spatial_size_is_accepted(tmp_path):
    from fer_helpers.saving import load_face_model

    load_face_model(_model(tmp_path, "free.keras", shape=(None, None, 1)))


# ----------------------------------------------------------------------------------------------------------------
# training: a kill during a checkpoint write, and Ctrl-C
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    images, labels = generate_faces(per_class=16, seed=4)
    usage = assign_usage(labels, seed=4, fractions=(0.75, 0.25, 0.0))
    return write_fer_csv(tmp_path_factory.mktemp("tiny") / "tiny.csv", images, labels, usage)


def _train(csv, out, *extra, kill=None, **popen):
    cmd = [sys.executable, "-m", "fer_helpers", "train", "--data", str(csv), "--model", "tutorial", "--epochs", "3",
           "--out", str(out), "--batch-size", "32", "--augment", "none", "--patience", "50",
           "--filters", "4,8,8", *extra]
    env = {**ENV, atomic.FAULT_ENV: kill} if kill else {k: v for k, v in ENV.items() if k != atomic.FAULT_ENV}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, **popen)


def test_kill_during_checkpoint_writes_then_resume_loses_nothing(tiny_csv, tmp_path):
    out = tmp_path / "run"
    # killed in the middle of the first write of best_model.keras: the file is absent, never a 0-byte stub
    first = _train(tiny_csv, out, kill="best_model.keras")
    assert first.returncode == -signal.SIGKILL
    assert not (out / "best_model.keras").exists()
    assert [p.name for p in out.iterdir() if ".tmp-" in p.name]  # the half-written temporary file, renamed never
    # resumed, then killed in the middle of writing the backup of epoch 2: epoch 1 is kept
    second = _train(tiny_csv, out, "--resume", kill="epoch-00002.weights.h5")
    assert second.returncode == -signal.SIGKILL, second.stderr[-2000:]
    meta = json.loads((out / "backup" / "training_metadata.json").read_text())
    assert meta["epoch"] == 1 and (out / "backup" / meta["weights"]).stat().st_size > 0
    assert (out / "best_model.keras").stat().st_size > 0
    # resumed again: it starts after epoch 1 and finishes, every epoch logged exactly once
    third = _train(tiny_csv, out, "--resume")
    assert third.returncode == 0, third.stderr[-3000:]
    import pandas as pd

    assert pd.read_csv(out / "training_log.csv")["epoch"].tolist() == [0, 1, 2]
    metrics = _strict_json((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]  # the killed sessions' temporary files swept


def test_ctrl_c_during_training_says_how_to_resume(tiny_csv, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "fer_helpers", "train", "--data", str(tiny_csv), "--model", "tutorial",
           "--epochs", "200", "--out", str(out), "--batch-size", "32", "--augment", "none", "--filters", "4,8,8"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 200
    while time.time() < deadline and not (out / "backup" / "training_metadata.json").exists():
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if "interrupted" in x]
    assert f"--out {out}" in line and line.rstrip().endswith("--resume")


def test_lesson_scratch_folders_are_gone_when_the_process_exits(tmp_path):
    code = ("from fer_helpers.notebook import scratch_folder; p = scratch_folder('fer_video_'); "
            "(p / 'clip.mp4').write_bytes(b'x'); print(p)")
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    folder = Path(out.stdout.strip().splitlines()[-1])
    assert folder.name.startswith("fer_video_") and not folder.exists()
    # a killed process (as nbval stops a kernel) runs no clean-up: the watcher deletes the folder
    code = code + "; import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == -signal.SIGKILL
    folder = Path(out.stdout.strip().splitlines()[-1])
    deadline = time.time() + 10
    while folder.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert not folder.exists()
