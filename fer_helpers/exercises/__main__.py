"""python -m fer_helpers.exercises [--progress]: list the exercises, or show which ones you have passed."""

import argparse
import sys

from . import all_exercises, progress


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.exercises", description=__doc__)
    parser.add_argument("--progress", action="store_true", help="show which exercises you have passed")
    if parser.parse_args(argv).progress:
        progress()
    else:
        for exercise in all_exercises():
            kind = "coding" if exercise.validate else "words"
            print(f"lesson {exercise.lesson} {exercise.name:4} {kind:7} {exercise.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
