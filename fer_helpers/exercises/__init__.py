"""Exercises that check themselves: one module per lesson (`lesson1` .. `lesson8`), each with `q1`, `q2`, ...

In a notebook::

    from fer_helpers.exercises import lesson3 as ex
    answer = ...          # your answer here
    ex.q1.check(answer)   # ex.q1.hint(), ex.q1.solution()

`progress()` shows which exercises you have passed.
"""

from __future__ import annotations

import importlib

from .core import Exercise, Wrong, load_progress, progress_path

LESSONS = tuple(range(1, 9))

__all__ = ["Exercise", "LESSONS", "Wrong", "all_exercises", "lesson_exercises", "load_progress", "progress",
           "progress_path"]


def lesson_exercises(lesson: int) -> list[Exercise]:
    """The exercises of one lesson, q1 first."""
    module = importlib.import_module(f"{__name__}.lesson{lesson}")
    return sorted((value for value in vars(module).values() if isinstance(value, Exercise)), key=lambda e: e.number)


def all_exercises() -> list[Exercise]:
    """Every exercise of the series, in lesson order."""
    return [exercise for lesson in LESSONS for exercise in lesson_exercises(lesson)]


def progress(verbose: bool = True) -> dict[str, bool]:
    """Which exercises you have passed ({id: passed}), kept in runs_dir()/exercise_progress.json; prints a summary."""
    passed = load_progress()
    table = {exercise.id: exercise.id in passed for exercise in all_exercises()}
    if verbose:
        print(f"{sum(table.values())} of {len(table)} exercises passed ({progress_path()})")
        for lesson in LESSONS:
            marks = [f"{e.name}{'+' if table[e.id] else '-'}" for e in lesson_exercises(lesson)]
            print(f"  lesson {lesson}: {sum(m.endswith('+') for m in marks)}/{len(marks)}  {' '.join(marks)}")
    return table
