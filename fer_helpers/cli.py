"""Command line: ``python -m fer_helpers <command> ...`` (also installed as ``fer-helpers``).

Each command's work lives in the module that owns it; this file only parses arguments and dispatches.
"""

from __future__ import annotations

import argparse
import os
import sys


#: fer_helpers.augment.WARPS, repeated here so that parsing arguments does not import Keras (a test keeps them equal)
WARPS = ("bicubic", "bilinear", "chained")


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, e.g. 40,80,160,320; "
                                         f"got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fer_helpers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("info", help="rows per split and class, and pixel statistics of a data set")
    s.add_argument("data", help="FER2013 CSV (.csv, .csv.gz, .zip) or image-folder root")
    s.add_argument("--skip-bad-rows", action="store_true", help="skip malformed rows (they are counted and listed)")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("make-sample", help="write the embedded synthetic data set as a FER2013-format CSV")
    s.add_argument("--out", required=True, help="output path (.csv or .csv.gz)")
    s.add_argument("--per-class", type=int, required=True, help="faces per emotion")
    s.add_argument("--seed", type=int, default=0)

    s = sub.add_parser("train", help="train a model with the full set of callbacks")
    s.add_argument("--data", default=None, help="data set (default: locate_fer2013(), else the embedded data)")
    s.add_argument("--model", choices=["tutorial", "default"], default="default")
    s.add_argument("--epochs", type=int, default=30)
    s.add_argument("--out", required=True, help="run directory (best model, CSV log, TensorBoard logs, metrics)")
    s.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in --out (BackupAndRestore), repeating the options it started "
                        "with")
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--learning-rate", type=float, default=1e-3)
    s.add_argument("--schedule", choices=["plateau", "cosine", "constant"], default="plateau")
    s.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam")
    s.add_argument("--warmup-epochs", type=int, default=0, help="linear warm-up before the cosine decay")
    s.add_argument("--label-smoothing", type=float, default=0.0)
    s.add_argument("--class-weights", action="store_true", help="weight classes by inverse frequency")
    s.add_argument("--augment", default="default", help="augmentation preset: none, light, default or strong")
    s.add_argument("--warp", choices=WARPS, default="bicubic",
                   help="how augmentation resamples: one bicubic (default) or bilinear warp per face, or chained "
                        "Keras layers (RandomRotation, RandomTranslation, RandomZoom: three resamplings, blurrier)")
    s.add_argument("--patience", type=int, default=10, help="EarlyStopping patience in epochs")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--deterministic", action="store_true", help="op determinism (slower; same seed -> same weights)")
    s.add_argument("--val-fraction", type=float, default=0.1, help="validation share when the data has no Usage")
    s.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"], default="float32",
                   help="mixed_bfloat16 trains ~1.6x faster on CPUs with AVX512-BF16; the saved model is float32")
    s.add_argument("--init-from", default=None,
                   help="start from the weights of this saved model (same architecture, or a narrower one, which is "
                        "widened without changing its predictions), e.g. to fine-tune a run")
    s.add_argument("--average-epochs", type=int, default=0,
                   help="also save averaged_model.keras, the mean of the weights at the end of the last N epochs "
                        "(stochastic weight averaging)")
    s.add_argument("--teacher", action="append", default=None, metavar="MODEL",
                   help="knowledge distillation: also learn from this saved model's probabilities on each augmented "
                        "face (repeat for an ensemble of teachers)")
    s.add_argument("--distill-weight", type=float, default=None,
                   help="with --teacher: share of the teachers' probabilities in each training target, in (0, 1] "
                        "(default 0.5)")
    s.add_argument("--teacher-tta", action="store_true",
                   help="with --teacher: average each teacher over the face and its mirror image (twice the cost)")
    s.add_argument("--filters", type=_int_list, default=None,
                   help="filters of each convolutional stage, e.g. 40,80,160,320 (default: the model's own)")

    s = sub.add_parser("average", help="average the weights of models fine-tuned from one start (a model soup)")
    s.add_argument("models", nargs="+", help="two or more saved models of the same architecture")
    s.add_argument("--out", required=True, help="the averaged model to write (.keras)")

    s = sub.add_parser("evaluate", help="accuracy, per-class report and confusion matrix of a model")
    s.add_argument("--model", required=True, help="model file (.keras, .h5, or architecture .json with weights)")
    s.add_argument("--data", required=True)
    s.add_argument("--split", default=None, help="a Usage value (Training, PublicTest, PrivateTest); default all rows")
    s.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default="auto",
                   help="compute precision (auto: bfloat16 on CPUs with AVX512-BF16 or AMX, else float32)")

    s = sub.add_parser("predict", help="detect faces in images and label their emotions")
    s.add_argument("images", nargs="+")
    s.add_argument("--model", default=None, help="model file (default: the shipped pretrained model)")
    s.add_argument("--out", default=None, help="annotated image to write (a folder when several images are given)")
    s.add_argument("--json", action="store_true", help="print one JSON object per image")
    s.add_argument("--tta", action="store_true")

    sub.add_parser("demo", help="the main job: run the notebook series on the embedded data (or summarise the data)")
    return p


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        if args.command == "info":
            from .data import info_cli as run
        elif args.command == "make-sample":
            from .synthetic import make_sample_cli as run
        elif args.command == "train":
            from .training import train_cli as run
        elif args.command == "average":
            from .training import average_cli as run
        elif args.command == "evaluate":
            from .evaluation import evaluate_cli as run
        elif args.command == "predict":
            from .recognizer import predict_cli as run
        elif args.command == "demo":
            from .demo import demo_cli as run
        else:  # pragma: no cover - argparse rejects unknown commands
            raise AssertionError(args.command)
        return int(run(args) or 0)
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
