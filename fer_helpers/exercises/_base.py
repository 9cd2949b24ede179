"""The exercise classes: a check that prints what is wrong, a hint, a worked solution, and the learner's progress."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..atomic import write_json

PROGRESS_FILE = "exercise_progress.json"


class Wrong(Exception):
    """Raised by a validator: the answer is wrong, and the message says what to change."""


def fail(message: str):
    """Stop a validator with a message for the learner."""
    raise Wrong(message)


def not_attempted(answer) -> bool:
    """True for the notebooks' placeholders: `...` (Ellipsis) or None."""
    return answer is Ellipsis or answer is None


@dataclass
class Mistake:
    """A typical wrong answer (made by `make`) and a fragment of the message the check must give for it."""

    name: str
    make: Callable[[], Any]
    expect: str


@dataclass
class Exercise:
    """One exercise of a lesson: `check(answer)`, `hint()`, `solution()`."""

    lesson: int
    number: int
    title: str
    hint_text: str
    solution_text: str
    mistakes: list[Mistake] = field(default_factory=list)
    kind = "exercise"
    success_word = "Correct"

    @property
    def id(self) -> str:
        return f"lesson{self.lesson}.q{self.number}"

    @property
    def name(self) -> str:
        return f"q{self.number}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}: {self.title}>"

    def hint(self) -> None:
        print(f"Hint ({self.id}): {self.hint_text}")

    def solution(self) -> None:
        print(f"Solution ({self.id}):\n{self.solution_text}")

    def reference(self):
        """A correct answer (what the self-test checks)."""
        raise NotImplementedError

    def evaluate(self, answer) -> tuple[bool | None, str]:
        """(True, success message), (False, what is wrong) or (None, 'not attempted'); prints nothing."""
        if not_attempted(answer):
            return None, (f"{self.name} not attempted yet: {self.title}. Replace the `...` by your answer, "
                          f"or ask for help: {self.name}.hint() / {self.name}.solution()")
        try:
            message = self._validate(answer)
        except Wrong as wrong:
            return False, f"Not yet ({self.id}): {wrong}"
        except Exception as error:  # the learner's function or object broke: say how, do not stop the notebook
            return False, (f"Not yet ({self.id}): checking your answer raised {type(error).__name__}: {error}. "
                           f"See {self.name}.hint()")
        return True, f"{self.success_word} ({self.id}): {message or self.title}"

    def check(self, answer=Ellipsis) -> bool | None:
        """Check an answer: prints the verdict, records a pass in progress(); never raises."""
        ok, message = self.evaluate(answer)
        print(message)
        if ok:
            try:
                record_pass(self.id)
            except (OSError, ValueError) as error:  # a read-only folder or a damaged file must not stop the notebook
                print(f"(progress not saved: {error})")
        return ok

    def _validate(self, answer) -> str | None:
        raise NotImplementedError


@dataclass(repr=False)
class CodingExercise(Exercise):
    """An exercise checked on what the learner made: `validate(answer)` calls `fail(...)` when it is wrong."""

    validate: Callable[[Any], str | None] = None
    make_reference: Callable[[], Any] = None
    kind = "coding"

    def reference(self):
        return self.make_reference()

    def _validate(self, answer):
        return self.validate(answer)


@dataclass(repr=False)
class ThoughtExercise(Exercise):
    """A question of understanding: the learner writes an answer in words; the check shows the worked answer."""

    min_words: int = 5
    kind = "thought"
    success_word = "Answered"

    def reference(self):
        return "My answer, written in a few sentences of my own, to compare with the worked one."

    def _validate(self, answer):
        if not isinstance(answer, str):
            fail(f"write your answer in words, as a string: answer = \"...\" (got a {type(answer).__name__})")
        if len(answer.split()) < self.min_words:
            fail(f"your answer has {len(answer.split())} words: write at least {self.min_words}, "
                 "a sentence or two in your own words")
        return f"compare your answer with this one:\n{self.solution_text}"

    def __post_init__(self):
        if not self.mistakes:
            self.mistakes = [Mistake("no words", lambda: "", "write at least"),
                             Mistake("not a string", lambda: 42, "as a string")]


# --- progress, kept per learner next to the runs ---------------------------------------------------------------

def progress_path() -> Path:
    """runs_dir()/exercise_progress.json (FER_RUNS_DIR respected)."""
    from ..notebook import runs_dir

    return runs_dir() / PROGRESS_FILE


def load_progress(path: Path | None = None) -> dict[str, str]:
    """{exercise id: when it was first passed}; empty when nothing was passed yet."""
    path = progress_path() if path is None else Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable progress file ({error}); delete it to start afresh") from error
    passed = data.get("passed", {}) if isinstance(data, dict) else None
    if not isinstance(passed, dict):
        raise ValueError(f"{path}: no 'passed' table; delete the file to start afresh")
    return {str(k): str(v) for k, v in passed.items()}


def record_pass(exercise_id: str, path: Path | None = None) -> Path:
    """Add one passed exercise to the progress file, written atomically."""
    path = progress_path() if path is None else Path(path)
    passed = load_progress(path)
    if exercise_id in passed:
        return path
    passed[exercise_id] = datetime.datetime.now().isoformat(timespec="seconds")
    write_json(path, {"passed": dict(sorted(passed.items()))}, indent=1)
    return path
