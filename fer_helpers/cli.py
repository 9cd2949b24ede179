"""Command line: ``python -m fer_helpers <command> ...`` (also installed as ``fer-helpers``).

Each command's work lives in the module that owns it; this file only parses arguments and dispatches.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import shlex
import sys
from pathlib import Path

#: command -> (module, function) that runs it
COMMANDS = {"info": ("data", "info_cli"), "make-sample": ("data", "make_sample_cli"),
            "train": ("training", "train_cli"), "evaluate": ("evaluation", "evaluate_cli"),
            "predict": ("faces", "predict_cli"), "demo": ("demo", "demo_cli")}
#: what predict can write (checked before OpenCV is imported)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


@contextlib.contextmanager
def stderr_silenced():
    """File descriptor 2 sent to /dev/null, where TensorFlow's C++ start-up lines go whatever the log level."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its start-up lines."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        import tensorflow  # noqa: F401  (here, not at the top: --help and make-sample need no TensorFlow)


def number(kind, minimum: float):
    """An argparse type: a finite ``kind`` (``int`` or ``float``) of at least ``minimum``."""

    def parse(text: str):
        value = kind(text)  # a ValueError: argparse reports an invalid int (or float) value
        if not (math.isfinite(value) and value >= minimum):
            raise argparse.ArgumentTypeError(f"expected a finite {kind.__name__} of at least {minimum}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def int_list(text: str) -> tuple[int, ...]:
    """An argparse type: positive integers separated by commas, e.g. ``40,80,160,320``."""
    return tuple(number(int, 1)(v) for v in text.split(","))


def add_train(sub) -> None:
    """The train command; a setting left out takes :class:`fer_helpers.training.TrainConfig`'s default."""
    s = sub.add_parser("train", help="train a model with the full set of callbacks")
    s.add_argument("--data", help="data set (default: locate_fer2013(), else the embedded data)")
    s.add_argument("--out", required=True, help="run directory (best model, CSV log, TensorBoard logs, metrics)")
    s.add_argument("--resume", action="store_true", help="continue the interrupted run in --out, with its settings")
    s.add_argument("--model", choices=["tutorial", "vgg"],
                   help="tutorial: lesson 3's CNN (the default); vgg: the pretrained model's network")
    s.add_argument("--epochs", type=number(int, 1))
    s.add_argument("--batch-size", type=number(int, 1))
    s.add_argument("--learning-rate", type=number(float, 0))
    s.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], help="sgd: with Nesterov momentum 0.9")
    s.add_argument("--schedule", choices=["plateau", "cosine"])
    s.add_argument("--warmup-epochs", type=number(int, 0), help="linear warm-up before the cosine decay")
    s.add_argument("--label-smoothing", type=number(float, 0))
    s.add_argument("--augment", help="augmentation preset: none, light, default or strong")
    s.add_argument("--crop", type=number(int, 8), help="train on random N-pixel crops; the model takes the centre")
    s.add_argument("--erase", type=number(float, 0), help="probability of random erasing")
    s.add_argument("--patience", type=number(int, 0), help="EarlyStopping patience in epochs")
    s.add_argument("--seed", type=number(int, 0))
    s.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"], help="saved as float32")
    s.add_argument("--init-from", help="start from the weights of this saved model (the same architecture)")
    s.add_argument("--filters", type=int_list, help="filters of each convolutional stage, e.g. 40,80,160,320")


def add_evaluate(sub) -> None:
    """The evaluate command."""
    s = sub.add_parser("evaluate", help="accuracy, per-class report and confusion matrix of a model")
    s.add_argument("--model", required=True, help="model file (.keras, .h5, or architecture .json with weights)")
    s.add_argument("--data", required=True)
    s.add_argument("--split", help="a Usage value (Training, PublicTest, PrivateTest); default all rows")
    s.add_argument("--tta", nargs="?", const="flip", choices=["flip", "tencrop"],
                   help="test-time augmentation: flip (the default) or tencrop (also reports single and flip)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--batch-size", type=number(int, 1), default=256)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    p = argparse.ArgumentParser(prog="python -m fer_helpers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("info", help="rows per split and class, and pixel statistics of a data set")
    s.add_argument("data", help="FER2013 CSV (.csv, .csv.gz, .zip) or image-folder root")
    s.add_argument("--skip-bad-rows", action="store_true", help="skip malformed rows (they are counted and listed)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s = sub.add_parser("make-sample", help="write the embedded synthetic data set as a FER2013-format CSV")
    s.add_argument("--out", required=True, help="output path (.csv or .csv.gz)")
    s.add_argument("--per-class", type=number(int, 1), required=True, help="faces per emotion")
    s.add_argument("--seed", type=int, default=0)
    add_train(sub)
    add_evaluate(sub)
    s = sub.add_parser("predict", help="detect faces in images and label their emotions")
    s.add_argument("images", nargs="+")
    s.add_argument("--model", help="model file (default: the shipped pretrained model)")
    s.add_argument("--out", help="annotated image to write (a folder when several images are given)")
    s.add_argument("--json", action="store_true", help="print one JSON object per image")
    s.add_argument("--tta", action="store_true")
    sub.add_parser("demo", help="the main job: run the notebook series on the embedded data (or summarise the data)")
    return p


def check_outputs(parser: argparse.ArgumentParser, args) -> None:
    """Refuse an output name a command cannot write before any work is done."""
    out = Path(getattr(args, "out", None) or "")
    if args.command == "make-sample" and not out.name.lower().endswith((".csv", ".csv.gz")):
        parser.error(f"argument --out: {out}: make-sample writes a .csv or .csv.gz file")
    if args.command == "predict" and len(args.images) == 1 and out.suffix and not out.is_dir() \
            and out.suffix.lower() not in IMAGE_SUFFIXES:
        parser.error(f"argument --out: {out}: cannot write an image as {out.suffix!r}; use one of "
                     f"{', '.join(IMAGE_SUFFIXES)}")


def resume_hint(args, argv: list[str]) -> str:
    """For an interrupted train command: where its epochs are, and the command line that resumes it."""
    if args.command != "train":
        return ""
    resume = shlex.join(argv + ([] if "--resume" in argv else ["--resume"]))
    return f"; the finished epochs are kept in {args.out}. Resume with: python -m fer_helpers {resume}"


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); returns the exit status (130 after Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check_outputs(parser, args)
    except SystemExit as exc:  # argparse printed the usage and the error (or the help): a return code, not an exit
        return 2 if isinstance(exc.code, str) else int(exc.code or 0)
    if args.command != "make-sample":
        import_tensorflow_quietly()
    module, function = COMMANDS[args.command]
    try:
        return int(getattr(importlib.import_module(f".{module}", __package__), function)(args) or 0)
    except KeyboardInterrupt:
        print(f"\n{args.command} interrupted{resume_hint(args, argv)}", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
