"""The self-checking exercises: every reference passes, every recorded mistake fails with its own message,
an unattempted exercise is harmless, and progress is kept per learner folder."""

import json

import pytest

from fer_helpers import exercises
from fer_helpers.exercises import CodingExercise, Mistake, ThoughtExercise, all_exercises, lesson_exercises
from fer_helpers.exercises.__main__ import main as exercises_main

ALL = all_exercises()
IDS = [e.id for e in ALL]
MISTAKES = [(e, m) for e in ALL for m in e.mistakes]


@pytest.fixture(autouse=True)
def _runs(tmp_path, monkeypatch):
    """Progress goes to a folder of the test's own."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_every_lesson_has_three_exercises_two_checked_on_what_the_learner_made():
    assert len(ALL) >= 24
    for lesson in range(1, 9):
        mine = lesson_exercises(lesson)
        assert len(mine) >= 3, lesson
        assert sum(isinstance(e, CodingExercise) for e in mine) >= 2, lesson
        assert [e.number for e in mine] == list(range(1, len(mine) + 1)), lesson
        assert all(e.lesson == lesson for e in mine)
    for exercise in ALL:
        assert exercise.title and "\n" not in exercise.title
        assert callable(exercise.check) and exercise.hint_text and exercise.solution_text
        assert exercise.mistakes, f"{exercise.id} records no typical mistake"


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_the_reference_solution_passes(exercise):
    ok, message = exercise.evaluate(exercise.reference())
    assert ok is True, message


@pytest.mark.parametrize("exercise,mistake", MISTAKES, ids=[f"{e.id}-{m.name}" for e, m in MISTAKES])
def test_a_typical_mistake_fails_with_its_own_message(exercise, mistake):
    ok, message = exercise.evaluate(mistake.make())
    assert ok is False
    assert mistake.expect in message, message


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_unattempted_says_so_and_moves_on(exercise, capsys, _runs):
    assert exercise.check(...) is None
    assert exercise.check(None) is None
    out = capsys.readouterr().out
    assert out.count("not attempted yet") == 2
    assert f"{exercise.name}.hint()" in out and f"{exercise.name}.solution()" in out
    assert not (_runs / "exercise_progress.json").exists()


def test_hint_and_solution_print(capsys):
    from fer_helpers.exercises import lesson3

    lesson3.q1.hint()
    lesson3.q1.solution()
    out = capsys.readouterr().out
    assert "Hint (lesson3.q1)" in out and "keras.Sequential" in out and "Solution (lesson3.q1)" in out


def test_a_wrong_answer_prints_what_is_wrong_and_does_not_raise(capsys, _runs):
    from fer_helpers.exercises import lesson2

    assert lesson2.q2.check(lesson2.LABELS) is False
    assert "to_categorical" in capsys.readouterr().out
    assert not (_runs / "exercise_progress.json").exists()


def test_a_function_that_crashes_is_reported_not_raised(capsys):
    from fer_helpers.exercises import lesson1

    def broken(text):
        raise KeyError("pixels")

    assert lesson1.q2.check(broken) is False
    assert "raised KeyError" in capsys.readouterr().out


def test_progress_is_kept_per_learner(tmp_path, monkeypatch, capsys):
    from fer_helpers.exercises import lesson3

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "ada"))
    assert lesson3.q2.check(3 * 3 * 32 * 64 + 64) is True
    assert lesson3.q2.check(3 * 3 * 32 * 64 + 64) is True  # twice: recorded once
    table = exercises.progress()
    assert table["lesson3.q2"] is True and sum(table.values()) == 1
    saved = json.loads((tmp_path / "ada" / "exercise_progress.json").read_text())
    assert list(saved["passed"]) == ["lesson3.q2"]
    assert [p.name for p in (tmp_path / "ada").iterdir()] == ["exercise_progress.json"]  # no temporary file left
    assert f"1 of {len(ALL)} exercises passed" in capsys.readouterr().out

    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "grace"))
    assert not any(exercises.progress(verbose=False).values())


def test_a_damaged_progress_file_is_named_and_does_not_stop_the_check(_runs, capsys):
    from fer_helpers.exercises import lesson3

    _runs.mkdir(parents=True)
    (_runs / "exercise_progress.json").write_text("{not json")
    assert lesson3.q2.check(18496) is True
    assert "progress not saved" in capsys.readouterr().out
    with pytest.raises(ValueError, match="exercise_progress.json"):
        exercises.load_progress()


def test_thought_exercises_show_the_worked_answer(capsys):
    from fer_helpers.exercises import lesson5

    assert isinstance(lesson5.q4, ThoughtExercise)
    assert lesson5.q4.check("It waits a few epochs so that noise does not stop the run.") is True
    assert "restore_best_weights" in capsys.readouterr().out


def test_self_test_prints_the_count_last(monkeypatch, capsys):
    import fer_helpers.exercises.__main__ as cli

    monkeypatch.setattr(cli, "all_exercises", lambda: lesson_exercises(3))
    assert exercises_main(["--self-test"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "4 exercises: 4 passed"

    lax = CodingExercise(lesson=9, number=1, title="a check that accepts anything", hint_text="-", solution_text="-",
                         validate=lambda answer: None, make_reference=lambda: 1,
                         mistakes=[Mistake("anything", lambda: 2, "never said")])
    monkeypatch.setattr(cli, "all_exercises", lambda: [lax])
    assert exercises_main(["--self-test"]) == 1
    out = capsys.readouterr().out
    assert "mistake 'anything'" in out and out.strip().splitlines()[-1] == "1 exercises: 0 passed"
