"""Exercises that check themselves: one module per lesson (`lesson1` .. `lesson8`), each with `q1`, `q2`, ...

In a notebook::

    from fer_helpers.exercises import lesson3 as ex
    answer = ...          # your answer here
    ex.q1.check(answer)   # ex.q1.hint(), ex.q1.solution()

`progress()` shows which exercises you have passed; `python -m fer_helpers.exercises --self-test` runs every
reference solution and every recorded typical mistake through its check.
"""

from __future__ import annotations

import importlib

from ._base import (CodingExercise, Exercise, Mistake, ThoughtExercise, Wrong, load_progress, progress_path,
                    record_pass)

LESSONS = tuple(range(1, 9))

__all__ = ["CodingExercise", "Exercise", "LESSONS", "Mistake", "ThoughtExercise", "Wrong", "all_exercises",
           "lesson_exercises", "progress", "progress_path", "record_pass", "load_progress"]


def lesson_exercises(lesson: int) -> list[Exercise]:
    """The exercises of one lesson, q1 first."""
    module = importlib.import_module(f"{__name__}.lesson{lesson}")
    found = [value for key, value in vars(module).items() if key[:1] == "q" and key[1:].isdigit()
             and isinstance(value, Exercise)]
    return sorted(found, key=lambda exercise: exercise.number)


def all_exercises() -> list[Exercise]:
    """Every exercise of the series, in lesson order; each has .lesson, .title, check(), hint(), solution()."""
    return [exercise for lesson in LESSONS for exercise in lesson_exercises(lesson)]


def progress(verbose: bool = True) -> dict[str, bool]:
    """Which exercises you have passed ({id: passed}), kept in runs_dir()/exercise_progress.json; prints a summary."""
    passed = load_progress()
    table = {exercise.id: exercise.id in passed for exercise in all_exercises()}
    if verbose:
        print(f"{sum(table.values())} of {len(table)} exercises passed ({progress_path()})")
        for lesson in LESSONS:
            mine = [e for e in lesson_exercises(lesson)]
            marks = " ".join(f"{e.name}{'+' if table[e.id] else '-'}" for e in mine)
            print(f"  lesson {lesson}: {sum(table[e.id] for e in mine)}/{len(mine)}  {marks}")
    return table
