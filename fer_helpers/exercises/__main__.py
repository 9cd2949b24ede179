"""python -m fer_helpers.exercises [--self-test | --list | --progress]"""

import argparse
import contextlib
import io
import sys

from . import all_exercises, progress


def self_test(verbose: bool = False) -> int:
    """Every reference answer must pass, every recorded mistake fail with its own message, `...` be harmless."""
    exercises = all_exercises()
    passed = 0
    for exercise in exercises:
        problems = []
        if exercise.evaluate(...)[0] is not None or exercise.evaluate(None)[0] is not None:
            problems.append("an unattempted answer is not reported as such")
        ok, message = exercise.evaluate(exercise.reference())
        if ok is not True:
            problems.append(f"the reference answer fails: {message}")
        if not exercise.mistakes:
            problems.append("no typical mistake recorded")
        for mistake in exercise.mistakes:
            ok, message = exercise.evaluate(mistake.make())
            if ok is not False or mistake.expect not in message:
                problems.append(f"mistake {mistake.name!r}: expected a message with {mistake.expect!r}, got "
                                f"{'a pass' if ok else message!r}")
        status = "ok" if not problems else "FAILED"
        passed += not problems
        if verbose or problems:
            print(f"{exercise.id:12} {status:6} {exercise.kind:7} {len(exercise.mistakes)} mistakes  {exercise.title}")
        for problem in problems:
            print(f"    {problem}")
    print(f"{len(exercises)} exercises: {passed} passed")
    return 0 if passed == len(exercises) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.exercises", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--self-test", action="store_true", help="check every reference solution and typical mistake")
    group.add_argument("--progress", action="store_true", help="show which exercises you have passed")
    parser.add_argument("-v", "--verbose", action="store_true", help="with --self-test: a line per exercise")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test(args.verbose)
    if args.progress:
        progress()
        return 0
    for exercise in all_exercises():
        print(f"lesson {exercise.lesson} {exercise.name:4} {exercise.kind:7} {exercise.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
