"""What every exercise shares: the Exercise class, its texts (lessonN.md), small checks that stop with a message,
and the progress file."""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..atomic import write_json
from ..notebook import runs_dir


class Wrong(Exception):
    """Raised by a check: the answer is wrong, and the message says what to change."""


def fail(message: str):
    """Stop a check with a message for the learner."""
    raise Wrong(message)


def need(answer, kind, what: str):
    """Fail unless `answer` is an instance of `kind` (a type or tuple of types); `what` names what was expected."""
    if not isinstance(answer, kind):
        fail(f"expected {what}, got a {type(answer).__name__}")


def need_function(answer, signature: str):
    """Fail unless `answer` is a function (the learner passes the function itself, not its result)."""
    need(answer, Callable, f"a function {signature}")


def need_shape(array, shape: tuple, advice: str) -> np.ndarray:
    """`array` as a NumPy array; fail with `advice` unless its shape is `shape`."""
    array = np.asarray(array)
    if array.shape != shape:
        fail(f"expected shape {shape}, got {array.shape}: {advice}")
    return array


def layers_of(model) -> list:
    """The layers of a model or layer, nested Sequential blocks unfolded."""
    return [deep for layer in getattr(model, "layers", [model])
            for deep in (layers_of(layer) if hasattr(layer, "layers") else [layer])]


def tiny_model(seed: int | None = None):
    """A small untrained emotion model: faces (N, 48, 48, 1) in 0..255 -> 7 probabilities, for running answers on."""
    import keras  # heavy: only the checks that need a model load it

    normal = keras.initializers.RandomNormal
    return keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                             keras.layers.Dense(7, activation="softmax", kernel_initializer=normal(0, 0.1, seed),
                                                bias_initializer=normal(0, 1, seed))])


def words(answer) -> str:
    """Check an answer in words: a string of a sentence or two."""
    need(answer, str, 'your answer in words, as a string: answer = "..."')
    if len(answer.split()) < 5:
        fail(f"your answer has {len(answer.split())} words: write at least 5, a sentence or two in your own words")
    return "compare your answer with this one:"


@functools.cache
def lesson_texts(lesson: int) -> dict[int, tuple[str, str, str]]:
    """{number: (title, hint, worked solution)} of one lesson's exercises, read from lessonN.md next to this file."""
    text = (Path(__file__).parent / f"lesson{lesson}.md").read_text(encoding="utf-8")
    texts = {}
    for section in text.split("\n## q")[1:]:  # "## qN: title", "Hint: ...", then the solution
        heading, hint, solution = section.strip().split("\n\n", 2)
        number, title = heading.split(": ", 1)
        code = solution.removeprefix("```python\n").removesuffix("```")
        texts[int(number)] = title, " ".join(hint.removeprefix("Hint: ").split()), code.strip()
    return texts


@dataclass
class Exercise:
    """One exercise: `check(answer)` says what is right or what to change, `hint()` and `solution()` help.

    `validate(answer)` calls `fail(...)` on a wrong answer and returns what is right about a good one; an exercise
    without it is answered in words, and its check shows the worked answer to compare with.
    """

    lesson: int
    number: int
    validate: Callable[[Any], str] | None = None

    def __post_init__(self):
        self.title, self.hint_text, self.solution_text = lesson_texts(self.lesson)[self.number]

    @property
    def id(self) -> str:
        return f"lesson{self.lesson}.q{self.number}"

    @property
    def name(self) -> str:
        return f"q{self.number}"

    def __repr__(self) -> str:
        return f"<Exercise {self.id}: {self.title}>"

    def hint(self) -> None:
        print(f"Hint ({self.id}): {self.hint_text}")

    def solution(self) -> None:
        check = f"\nex.{self.name}.check(answer)" if self.validate else ""
        print(f"Solution ({self.id}):\n{self.solution_text}{check}")

    def evaluate(self, answer) -> tuple[bool | None, str]:
        """(True, what is right), (False, what is wrong) or (None, 'not attempted'); prints nothing."""
        if answer is Ellipsis or answer is None:
            return None, (f"{self.name} not attempted yet: {self.title}. Replace the `...` by your answer, "
                          f"or ask for help: {self.name}.hint() / {self.name}.solution()")
        try:
            if self.validate:
                return True, f"Correct ({self.id}): {self.validate(answer)}"
            return True, f"Answered ({self.id}): {words(answer)}\n{self.solution_text}"
        except Wrong as wrong:
            return False, f"Not yet ({self.id}): {wrong}"
        except Exception as error:  # the learner's function or object broke: say how, do not stop the notebook
            return False, (f"Not yet ({self.id}): checking your answer raised {type(error).__name__}: {error}. "
                           f"See {self.name}.hint()")

    def check(self, answer=Ellipsis) -> bool | None:
        """Check an answer: prints the verdict and records a pass in the progress file; never raises."""
        ok, message = self.evaluate(answer)
        print(message)
        if ok:
            try:
                record_pass(self.id)
            except (OSError, ValueError) as error:  # a read-only folder or a damaged file must not stop the notebook
                print(f"(progress not saved: {error})")
        return ok


def exercise(lesson: int, number: int):
    """Decorator: the check below becomes exercise `number` of `lesson`."""
    return lambda validate: Exercise(lesson, number, validate)


def progress_path() -> Path:
    """runs_dir()/exercise_progress.json (FER_RUNS_DIR respected)."""
    return runs_dir() / "exercise_progress.json"


def load_progress() -> dict[str, str]:
    """{exercise id: when it was first passed}; empty when nothing was passed yet."""
    path = progress_path()
    if not path.exists():
        return {}
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8"))["passed"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: not a readable progress file ({error!r}); delete it to start afresh") from error


def record_pass(exercise_id: str) -> None:
    """Add one passed exercise to the progress file, written atomically."""
    passed = load_progress()
    if exercise_id not in passed:
        passed[exercise_id] = datetime.datetime.now().isoformat(timespec="seconds")
        write_json(progress_path(), {"passed": dict(sorted(passed.items()))})
