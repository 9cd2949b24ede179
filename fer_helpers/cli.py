"""Command line: ``python -m fer_helpers <command> ...`` (also installed as ``fer-helpers``).

Each command's work lives in the module that owns it; this file only parses arguments and dispatches.
"""

from __future__ import annotations

import argparse
import os
import sys


def _quiet_tensorflow() -> None:
    """Keep TensorFlow's, oneDNN's and absl's start-up lines off stderr (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("GLOG_minloglevel", "3")
    if "tensorflow" not in sys.modules:
        # TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probing) go to file descriptor 2 during the import,
        # before any setting can stop them: import it with descriptor 2 pointed at /dev/null
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real stderr: nothing to silence
            saved = None
        if saved is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
        try:
            import tensorflow  # noqa: F401
        except ImportError:  # reported where a command needs it
            pass
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(devnull)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
        absl.logging.set_stderrthreshold("error")
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, got {text!r}")
        return value

    parse.__name__ = "int"
    return parse


_positive_int = _int_at_least(1)
_count = _int_at_least(0)


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
    s.add_argument("--per-class", type=_positive_int, required=True, help="faces per emotion")
    s.add_argument("--seed", type=int, default=0)

    s = sub.add_parser("train", help="train a model with the full set of callbacks")
    s.add_argument("--data", default=None, help="data set (default: locate_fer2013(), else the embedded data)")
    s.add_argument("--model", choices=["tutorial", "default"], default="default")
    s.add_argument("--epochs", type=_positive_int, default=30)
    s.add_argument("--out", required=True, help="run directory (best model, CSV log, TensorBoard logs, metrics)")
    s.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in --out (BackupAndRestore), repeating the options it started "
                        "with")
    s.add_argument("--batch-size", type=_positive_int, default=64)
    s.add_argument("--learning-rate", type=_positive_float, default=1e-3)
    s.add_argument("--schedule", choices=["plateau", "cosine", "constant"], default="plateau")
    s.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam")
    s.add_argument("--warmup-epochs", type=_count, default=0, help="linear warm-up before the cosine decay")
    s.add_argument("--label-smoothing", type=_finite_float, default=0.0)
    s.add_argument("--class-weights", action="store_true", help="weight classes by inverse frequency")
    s.add_argument("--augment", default="default", help="augmentation preset: none, light, default or strong")
    s.add_argument("--patience", type=_count, default=10, help="EarlyStopping patience in epochs")
    s.add_argument("--seed", type=_count, default=0)
    s.add_argument("--deterministic", action="store_true", help="op determinism (slower; same seed -> same weights)")
    s.add_argument("--val-fraction", type=_finite_float, default=0.1, help="validation share when the data has no Usage")
    s.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"], default="float32",
                   help="mixed_bfloat16 trains ~1.6x faster on CPUs with AVX512-BF16; the saved model is float32")
    s.add_argument("--init-from", default=None,
                   help="start from the weights of this saved model (same architecture), e.g. to fine-tune a run")
    s.add_argument("--filters", type=_int_list, default=None,
                   help="filters of each convolutional stage, e.g. 40,80,160,320 (default: the model's own)")

    s = sub.add_parser("evaluate", help="accuracy, per-class report and confusion matrix of a model")
    s.add_argument("--model", required=True, help="model file (.keras, .h5, or architecture .json with weights)")
    s.add_argument("--data", required=True)
    s.add_argument("--split", default=None, help="a Usage value (Training, PublicTest, PrivateTest); default all rows")
    s.add_argument("--tta", nargs="?", const="flip", choices=["flip", "tencrop"], default=None,
                   help="test-time augmentation: flip (the default), or tencrop (a model taking 40x40 crops; "
                        "also reports single and flip)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--batch-size", type=_positive_int, default=256)

    s = sub.add_parser("predict", help="detect faces in images and label their emotions")
    s.add_argument("images", nargs="+")
    s.add_argument("--model", default=None, help="model file (default: the shipped pretrained model)")
    s.add_argument("--out", default=None, help="annotated image to write (a folder when several images are given)")
    s.add_argument("--json", action="store_true", help="print one JSON object per image")
    s.add_argument("--tta", action="store_true")

    sub.add_parser("demo", help="the main job: run the notebook series on the embedded data (or summarise the data)")
    return p


def _check_outputs(parser: argparse.ArgumentParser, args) -> None:
    """Output names checked before any work is done (a wrong suffix would otherwise fail after the work)."""
    from pathlib import Path

    out = getattr(args, "out", None)
    if args.command == "make-sample":
        name = Path(out).name.lower()
        if not (name.endswith(".csv") or name.endswith(".csv.gz")):
            parser.error(f"argument --out: {out}: make-sample writes a .csv or .csv.gz file")
    elif args.command == "predict" and out is not None and len(args.images) == 1 and Path(out).suffix \
            and not Path(out).is_dir():
        suffixes = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")  # recognizer.IMAGE_SUFFIXES
        if Path(out).suffix.lower() not in suffixes:
            parser.error(f"argument --out: {out}: cannot write an image as {Path(out).suffix!r}; use one of "
                         f"{', '.join(suffixes)}")


def _resume_command(argv: list[str]) -> str:
    import shlex

    argv = list(argv)
    if "--resume" not in argv:
        argv.append("--resume")
    return "python -m fer_helpers " + shlex.join(argv)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_outputs(parser, args)
    except SystemExit as exc:  # argparse printed the usage and the error (or the help): a return code, not an exit
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.command != "make-sample":
        _quiet_tensorflow()
    try:
        if args.command == "info":
            from .data import info_cli as run
        elif args.command == "make-sample":
            from .synthetic import make_sample_cli as run
        elif args.command == "train":
            from .training import train_cli as run
        elif args.command == "evaluate":
            from .evaluation import evaluate_cli as run
        elif args.command == "predict":
            from .recognizer import predict_cli as run
        elif args.command == "demo":
            from .demo import demo_cli as run
        else:  # pragma: no cover - argparse rejects unknown commands
            raise AssertionError(args.command)
        return int(run(args) or 0)
    except KeyboardInterrupt:
        if args.command == "train":
            print(f"\ntraining interrupted; the finished epochs are kept in {args.out}. Resume with: "
                  f"{_resume_command(argv)}", file=sys.stderr)
        else:
            print(f"\n{args.command} interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
