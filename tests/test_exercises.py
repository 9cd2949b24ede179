"""The self-checking exercises: every worked solution passes its own check, every typical mistake gets its own
message, an unattempted exercise is harmless, and progress is kept per learner folder."""

import functools
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import keras
import numpy as np
import pandas as pd
import pytest

from fer_helpers import exercises
from fer_helpers.exercises import Exercise, all_exercises, lesson_exercises
from fer_helpers.exercises.__main__ import main as exercises_main
from fer_helpers.exercises.core import lesson_texts, tiny_model
from fer_helpers.exercises.lesson5 import HISTORIES
from fer_helpers.exercises.lesson6 import Y_PRED, Y_TRUE
from fer_helpers.notebook import runs_dir
from fer_helpers.faces import sample_photo

ALL = all_exercises()
BY_ID = {exercise.id: exercise for exercise in ALL}
CODING = [e for e in ALL if e.validate]
WORDS = [e for e in ALL if not e.validate]
PHOTO = sample_photo()

# Typical mistakes, each the worked solution with some text replaced ({old: new}) and a fragment of the message its
# check must give.
EDITS = [
    ("lesson1.q1", {"(normalize=True)": "()"}, "normalize=True"),
    ("lesson1.q1", {'"Usage"': '"emotion"'}, "you counted df['emotion']"),
    ("lesson1.q2", {".reshape(48, 48)": ""}, "(2304,)"),
    ("lesson1.q2", {", dtype=np.uint8": ""}, "still strings"),
    ("lesson1.q2", {".reshape(48, 48)": '.reshape(48, 48, order="F")'}, "order='F'"),
    ("lesson1.q2", {"np.uint8": "np.int64"}, "dtype=np.uint8"),
    ("lesson2.q1", {".reshape(-1, 48, 48, 1)": ""}, "Conv2D needs a channel axis"),
    ("lesson2.q1", {".reshape(-1, 48, 48, 1)": ".reshape(-1, 2304)"}, "still flat"),
    ("lesson2.q1", {" / 255.0": ""}, "divide by 255"),
    ("lesson2.q1", {" / 255.0": " / 255.0 / 255.0"}, "divided by 255 twice"),
    ("lesson2.q1", {'(faces.images.reshape(-1, 48, 48, 1) / 255.0).astype("float32")':
                    "faces.images.reshape(-1, 48, 48, 1)"}, "a network takes floats"),
    ("lesson2.q1", {'.astype("float32")': ""}, "astype('float32')"),
    ("lesson2.q2", {", num_classes=7": ""}, "Pass num_classes=7"),
    ("lesson2.q2", {"keras.utils.to_categorical(labels, num_classes=7)": "labels"}, "still integer labels"),
    ("lesson2.q2", {"num_classes=7)": "num_classes=7).T"}, "expected shape (4, 7)"),
    ("lesson2.q3", {"stratify=training.labels, ": ""}, "stratify=labels"),
    ("lesson2.q3", {"test_size=0.1": "test_size=0.9"}, "holds 90%"),
    ("lesson3.q1", {"shape=(48, 48, 1)": "shape=(48, 48, 3)"}, "one gray channel"),
    ("lesson3.q1", {'layers.Dense(7, activation="softmax")': "layers.Dense(7)"}, "activation='softmax'"),
    ("lesson3.q1", {"Dense(7,": "Dense(6,"}, "one unit per emotion"),
    ("lesson3.q1", {"layers.BatchNormalization(), ": ""}, "no BatchNormalization"),
    ("lesson3.q1", {"keras.Input(shape=(48, 48, 1)),": ""}, "keras.Input(shape=(48, 48, 1))"),
    ("lesson3.q2", {"3 * 3 * 32 * 64 + 64": "3 * 3 * 32 * 64"}, "biases"),
    ("lesson3.q2", {"3 * 3 * 32 * 64 + 64": "3 * 3 * 64 + 64"}, "all 32 input channels"),
    ("lesson3.q3", {"6 * 6 * 128 * 256 + 256": "6 * 6 * 128 * 256"}, "256 biases"),
    ("lesson3.q3", {"6 * 6 * 128 * 256 + 256": "128 * 256 + 256"}, "GlobalAveragePooling2D"),
    ("lesson3.q3", {"6 * 6 * 128 * 256 + 256": "6 * 6 * 256 + 256"}, "all 128 channels"),
    ("lesson4.q1", {'"horizontal"': '"horizontal_and_vertical"'}, "upside down"),
    ("lesson4.q1", {"RandomRotation(0.05": "RandomRotation(0.5"}, "fraction of a full turn"),
    ("lesson4.q1", {"keras.Sequential(": "("}, "keras.Sequential"),
    ("lesson4.q1", {"RandomZoom(0.1,": "RandomCrop(40, 40), layers.RandomZoom(0.1,"}, "changes the shape"),
    ("lesson4.q2", {"30 / 360": "30 / 180"}, "FULL turn"),
    ("lesson4.q2", {"(0.7 - 1, 1.0 - 1)": "(0.7, 1.0)"}, "scale - 1"),
    ("lesson4.q2", {"(0.7 - 1, 1.0 - 1)": "(0.0, 0.3)"}, "zoom OUT"),
    ("lesson4.q2", {"(0.7 - 1, 1.0 - 1)": "0.3"}, "zooms in AND out"),
    ("lesson5.q1", {'"val_accuracy"': '"val_acc"'}, "Keras 3 logs 'val_accuracy'"),
    ("lesson5.q1", {'"val_accuracy"': '"accuracy"'}, "judge progress on the validation faces"),
    ("lesson5.q1", {'mode="max"': 'mode="min"'}, "accuracy rises"),
    ("lesson5.q1", {"restore_best_weights=True": "restore_best_weights=False"}, "restore_best_weights=True"),
    ("lesson5.q1", {"patience=3": "patience=10"}, "shorter"),
    ("lesson5.q1", {"save_best_only=True": "save_best_only=False"}, "save_best_only=True"),
    ("lesson5.q1", {"my_best.keras": "my_best.h5"}, "'.keras'"),
    ("lesson5.q1", {"    callbacks.CSVLogger(runs_dir() / \"my_log.csv\"),\n": ""}, "no CSVLogger"),
    ("lesson5.q2", {"keras.losses.CategoricalCrossentropy(label_smoothing=0.1)": '"sparse_categorical_crossentropy"'},
     "integer labels"),
    ("lesson5.q2", {"keras.losses.CategoricalCrossentropy": "keras.losses.BinaryCrossentropy"}, "exclusive emotions"),
    ("lesson5.q2", {'metrics=["accuracy"]': "metrics=[]"}, "metrics=['accuracy']"),
    ("lesson5.q3", {") + 1": ")"}, "off by one"),
    ("lesson5.q3", {'"val_accuracy"': '"accuracy"'}, "TRAINING"),
    ("lesson5.q3", {"np.argmax": "np.argmin"}, "LOWEST"),
    ("lesson5.q3", {"return int": "int"}, "return statement"),
    ("lesson6.q1", {"confusion_matrix(y_true, y_pred": "confusion_matrix(y_pred, y_true"}, "swapped"),
    ("lesson6.q1", {", labels=range(7)": ""}, "labels=range(7)"),
    ("lesson6.q1", {"labels=range(7)": 'labels=range(7), normalize="true"'}, "shares"),
    ("lesson6.q3", {"np.argmax(probabilities, axis=1)": "probabilities"}, "seven probabilities"),
    ("lesson6.q3", {"axis=1": "axis=0"}, "use axis=1"),
    ("lesson6.q3", {"images[..., np.newaxis]": "images[..., np.newaxis] / 255.0"}, "rescales itself"),
    ("lesson7.q1", {"minNeighbors=5, minSize=(48, 48)": "minNeighbors=0, minSize=(20, 20)"}, "raise minNeighbors"),
    ("lesson7.q1", {"photo, cv2.COLOR_BGR2GRAY": "np.zeros_like(photo), cv2.COLOR_BGR2GRAY"}, "empty tuple"),
    ("lesson7.q2", {"gray[y:y + h, x:x + w]": "gray[x:x + w, y:y + h]"}, "gray[y:y+h, x:x+w]"),
    ("lesson7.q2", {"face.reshape(1, 48, 48, 1)": "face.reshape(48, 48, 1)"}, "(1, 48, 48, 1)"),
    ("lesson7.q2", {'.astype("float32")': '.astype("float32") / 255'}, "Rescaling"),
    ("lesson7.q3", {"return image": "return None"}, "returns None"),
    ("lesson7.q3", {"(x + w, y + h), (0, 255, 0), 2)": "(w, h), (0, 255, 0), 2)"}, "(x + w, y + h)"),
    ("lesson7.q3", {"(x + w, y + h), (0, 255, 0), 2)": "(x + w, y + h), (0, 255, 0), -1)"}, "filled"),
    ("lesson7.q3", {"    cv2.putText": "    # cv2.putText"}, "nothing is written above the box"),
    ("lesson8.q1", {"my_model.keras": "my_model.h5"}, "legacy HDF5"),
    ("lesson8.q1", {"my_model.keras": "my_model.weights.h5", "model.save(": "model.save_weights("}, "only weights"),
    ("lesson8.q1", {"model.save(path)": "pass"}, "no file at"),
    ("lesson8.q2", {'    rebuilt.load_weights(folder / "model.weights.h5")\n': ""}, "load_weights"),
    ("lesson8.q2", {"return rebuilt": "return model"}, "original model object"),
    ("lesson8.q2", {"return rebuilt": "pass"}, "returns None"),
]
# Typical mistakes made out of the worked solution's answer.
CHANGES = [
    ("lesson2.q3", lambda parts: (parts[0], parts[2], parts[1], parts[3]), "same train_test_split"),
    ("lesson5.q1", lambda callbacks: callbacks[0], "LIST"),
    ("lesson5.q2", lambda model: keras.Sequential(model.layers), "not compiled yet"),
    ("lesson7.q1", lambda boxes: boxes[0], "a single box"),
    ("lesson7.q1", lambda boxes: np.c_[boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], "(x1, y1, x2, y2)"),
    ("lesson8.q1", lambda path: trained_model(), "the model itself"),
]
# Typical wrong answers, as they are.
ANSWERS = [
    ("lesson1.q1", [0.8, 0.1, 0.1], "expected a pandas Series"),
    ("lesson1.q2", np.zeros((48, 48)), "expected a function"),
    ("lesson3.q2", "18496", "expected a number"),
    ("lesson6.q2", {"precision": 2 / 3, "recall": 0.5}, "swapped"),
    ("lesson6.q2", {"precision": 0.6, "recall": 0.6}, "predicted Angry (label 0)"),
    ("lesson6.q2", 0.5, "expected a dict"),
    ("lesson8.q1", Path("no_such_folder/my_model.keras"), "no file at"),
]
# Other right answers, made out of the worked solution's.
ALSO_RIGHT = [
    ("lesson1.q1", lambda shares: shares.to_dict()),
    ("lesson2.q3", lambda parts: (*parts[:2], keras.utils.to_categorical(parts[2], 7),
                                  keras.utils.to_categorical(parts[3], 7))),
    ("lesson3.q2", float),
    ("lesson6.q2", lambda answer: {"Angry": answer, "Happy": {"precision": 0.0, "recall": 0.0}}),
]


@pytest.fixture(autouse=True)
def _runs(tmp_path, monkeypatch):
    """Progress and saved models go to a folder of the test's own."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


@functools.cache
def trained_model():
    """A model with an optimizer state, as notebook 8's."""
    model = tiny_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.train_on_batch(np.zeros((2, 48, 48, 1), "float32"), np.eye(7, dtype="float32")[:2])
    return model


def notebook_names() -> dict:
    """Stand-ins for what the notebooks define before their exercises, for running the worked solutions."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), [40, 6, 40, 70, 45, 30, 45])  # FER2013-like: Happy many, Disgust few
    training = SimpleNamespace(x=rng.random((len(labels), 48, 48, 1), dtype="float32"), labels=labels)
    return {"np": np, "keras": keras, "cv2": cv2, "runs_dir": runs_dir, "y_true": Y_TRUE, "y_pred": Y_PRED,
            "df": pd.DataFrame({"emotion": rng.integers(0, 7, 100), "Usage": ["Training"] * 80 + ["PublicTest"] * 10
                                + ["PrivateTest"] * 10}),
            "faces": SimpleNamespace(images=rng.integers(0, 256, (14, 48, 48), dtype=np.uint8),
                                     split=lambda usage: training),
            "build_tutorial_cnn": tiny_model, "history": SimpleNamespace(history=HISTORIES[0]),
            "photo": PHOTO, "model": trained_model()}


def run_solution(exercise: Exercise, edits: dict | None = None):
    """The `answer` that the exercise's worked solution, with `edits` made, computes."""
    code = exercise.solution_text
    for old, new in (edits or {}).items():
        assert old in code, f"{exercise.id}: the solution has no {old!r}"
        code = code.replace(old, new)
    names = notebook_names()
    exec(code, names)
    return names["answer"]


def test_every_lesson_has_three_exercises_two_checked_on_what_the_learner_made():
    assert len(ALL) == 29
    for lesson in range(1, 9):
        mine = lesson_exercises(lesson)
        assert len(mine) >= 3 and sum(bool(e.validate) for e in mine) >= 2, lesson
        assert [e.number for e in mine] == list(range(1, len(mine) + 1)) == sorted(lesson_texts(lesson)), lesson
    for exercise in ALL:
        assert exercise.title and "\n" not in exercise.title and exercise.hint_text and exercise.solution_text
        assert "```" not in exercise.solution_text and "Hint" not in exercise.solution_text


@pytest.mark.parametrize("exercise", CODING, ids=[e.id for e in CODING])
def test_the_worked_solution_passes(exercise, capsys):
    ok, message = exercise.evaluate(run_solution(exercise))
    assert ok is True, message


@pytest.mark.parametrize("exercise_id,edits,expect", EDITS, ids=[f"{e[0]}-{e[2]}" for e in EDITS])
def test_a_typical_mistake_gets_its_own_message(exercise_id, edits, expect, capsys):
    ok, message = BY_ID[exercise_id].evaluate(run_solution(BY_ID[exercise_id], edits))
    assert ok is False and expect in message, message


@pytest.mark.parametrize("exercise_id,change,expect", CHANGES, ids=[f"{c[0]}-{c[2]}" for c in CHANGES])
def test_a_changed_answer_gets_its_own_message(exercise_id, change, expect, capsys):
    ok, message = BY_ID[exercise_id].evaluate(change(run_solution(BY_ID[exercise_id])))
    assert ok is False and expect in message, message


@pytest.mark.parametrize("exercise_id,answer,expect", ANSWERS, ids=[f"{a[0]}-{a[2]}" for a in ANSWERS])
def test_a_wrong_answer_gets_its_own_message(exercise_id, answer, expect):
    ok, message = BY_ID[exercise_id].evaluate(answer)
    assert ok is False and expect in message, message


@pytest.mark.parametrize("exercise_id,change", ALSO_RIGHT, ids=[a[0] for a in ALSO_RIGHT])
def test_another_form_of_the_right_answer_passes(exercise_id, change, capsys):
    ok, message = BY_ID[exercise_id].evaluate(change(run_solution(BY_ID[exercise_id])))
    assert ok is True, message


@pytest.mark.parametrize("exercise", WORDS, ids=[e.id for e in WORDS])
def test_an_answer_in_words_shows_the_worked_answer(exercise, capsys):
    assert exercise.evaluate("")[0] is False and "write at least" in exercise.evaluate("")[1]
    assert "as a string" in exercise.evaluate(42)[1]
    assert exercise.check("My answer, in a few words of my own.") is True
    assert exercise.solution_text in capsys.readouterr().out


@pytest.mark.parametrize("exercise", ALL, ids=[e.id for e in ALL])
def test_unattempted_says_so_and_moves_on(exercise, capsys, _runs):
    assert exercise.check(...) is None
    assert exercise.check(None) is None
    out = capsys.readouterr().out
    assert out.count("not attempted yet") == 2
    assert f"{exercise.name}.hint()" in out and f"{exercise.name}.solution()" in out
    assert not (_runs / "exercise_progress.json").exists()


def test_hint_and_solution_print(capsys):
    BY_ID["lesson3.q1"].hint()
    BY_ID["lesson3.q1"].solution()
    BY_ID["lesson3.q4"].solution()
    out = capsys.readouterr().out
    assert "Hint (lesson3.q1): keras.Sequential([" in out and "Solution (lesson3.q1):\nfrom keras import layers" in out
    assert out.count("ex.q1.check(answer)") == 1 and "ex.q4.check" not in out  # words: no check line


def test_a_wrong_answer_prints_what_is_wrong_and_does_not_raise(capsys, _runs):
    assert BY_ID["lesson2.q2"].check(np.array([3, 0, 5, 1])) is False
    assert "Not yet (lesson2.q2)" in capsys.readouterr().out
    assert not (_runs / "exercise_progress.json").exists()


def test_a_function_that_crashes_is_reported_not_raised(capsys):
    def broken(text):
        raise KeyError("pixels")

    assert BY_ID["lesson1.q2"].check(broken) is False
    assert "raised KeyError" in capsys.readouterr().out


def test_progress_is_kept_per_learner(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "ada"))
    assert BY_ID["lesson3.q2"].check(18496) is True
    assert BY_ID["lesson3.q2"].check(18496) is True  # twice: recorded once
    table = exercises.progress()
    assert table["lesson3.q2"] is True and sum(table.values()) == 1
    saved = json.loads((tmp_path / "ada" / "exercise_progress.json").read_text())
    assert list(saved["passed"]) == ["lesson3.q2"]
    assert [p.name for p in (tmp_path / "ada").iterdir()] == ["exercise_progress.json"]  # no temporary file left
    out = capsys.readouterr().out
    assert f"1 of {len(ALL)} exercises passed" in out and "lesson 3: 1/4  q1- q2+ q3- q4-" in out

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "grace"))
    assert not any(exercises.progress(verbose=False).values())


@pytest.mark.parametrize("content", ["{not json", '{"passed": [1]}', "[]"])
def test_a_damaged_progress_file_is_named_and_does_not_stop_the_check(content, _runs, capsys):
    _runs.mkdir(parents=True)
    (_runs / "exercise_progress.json").write_text(content)
    assert BY_ID["lesson3.q2"].check(18496) is True
    assert "progress not saved" in capsys.readouterr().out
    with pytest.raises(ValueError, match="exercise_progress.json"):
        exercises.load_progress()


def test_the_command_line_lists_the_exercises_and_the_progress(capsys):
    assert exercises_main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ALL) and lines[0].startswith("lesson 1 q1   coding") and "words" in lines[2]
    assert exercises_main(["--progress"]) == 0
    assert f"0 of {len(ALL)} exercises passed" in capsys.readouterr().out
