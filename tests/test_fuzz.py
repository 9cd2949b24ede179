"""A seeded fuzz of the inputs a user hands the package: mutated CSV and gzip files, and command-line arguments.

Every mutated file either loads to exactly the rows an independent reader finds in it, or fails with a DataError that
names the file; every argument list either parses to settings that validate, or is refused naming the argument.
Never a raw traceback, never a silent wrong result.
"""

import gzip

import numpy as np
import pytest

from fer_helpers.data import DataError, load_fer2013
from fer_helpers.synthetic import generate_faces

USAGES = ("Training", "PublicTest", "PrivateTest")
ALPHABET = b"0123456789 ,\n-.xe+\t\xc2\xb2\xef\xbb\xbfTrainingPublic"


def _reference(text: str):
    """An independent reading of a Kaggle-layout CSV: (labels, faces, usages) when every row is valid, else None."""
    lines = [ln for ln in text.removeprefix("\ufeff").split("\n") if ln.strip()]
    if not lines or [c.strip() for c in lines[0].split(",")] != ["emotion", "pixels", "Usage"]:
        return None
    labels, faces, usages = [], [], []
    for line in lines[1:]:
        fields = line.split(",")
        if len(fields) != 3:
            return None
        label, pixels, usage = (f.strip() for f in fields)
        if not (label.isascii() and label.isdigit() and int(label) < 7) or usage not in USAGES:
            return None
        tokens = pixels.split()
        if len(tokens) != 48 * 48 or not all(t.isascii() and t.isdigit() and int(t) < 256 for t in tokens):
            return None
        labels.append(int(label))
        faces.append(np.array(tokens, dtype=np.int64).reshape(48, 48))
        usages.append(usage)
    return (labels, faces, usages) if labels else None


def _mutate(raw: bytes, rng) -> bytes:
    data = bytearray(raw)
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.integers(0, 7)
        i = int(rng.integers(0, len(data) + 1)) if data else 0
        if kind == 0:  # truncate
            del data[i:]
        elif kind == 1 and data:  # overwrite a few bytes
            for j in range(int(rng.integers(1, 6))):
                if i + j < len(data):
                    data[i + j] = ALPHABET[int(rng.integers(0, len(ALPHABET)))]
        elif kind == 2:  # insert bytes
            data[i:i] = bytes(ALPHABET[int(k)] for k in rng.integers(0, len(ALPHABET), int(rng.integers(1, 8))))
        elif kind == 3:  # delete a span
            del data[i:i + int(rng.integers(1, 3000))]
        elif kind == 4:  # duplicate a line
            lines = bytes(data).split(b"\n")
            k = int(rng.integers(0, len(lines)))
            lines.insert(k, lines[k])
            data = bytearray(b"\n".join(lines))
        elif kind == 5:  # a label replaced by a random token
            lines = bytes(data).split(b"\n")
            k = int(rng.integers(1, max(2, len(lines))))
            if k < len(lines) and b"," in lines[k]:
                token = rng.choice([b"7", b"12", b"-1", b"1" * 23, "\u00b2".encode(), b"", b"3.0", b" 4 "])
                lines[k] = token + lines[k][lines[k].index(b","):]
            data = bytearray(b"\n".join(lines))
        else:  # a field added or removed
            lines = bytes(data).split(b"\n")
            k = int(rng.integers(0, len(lines)))
            lines[k] = lines[k] + b",x" if rng.integers(0, 2) else lines[k].replace(b",", b"", 1)
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _wrap(text_bytes: bytes, kind: str, rng) -> bytes:
    if kind == "csv":
        return text_bytes
    packed = gzip.compress(text_bytes)
    if rng.integers(0, 3) == 0:  # damage the container itself
        cut = int(rng.integers(0, len(packed)))
        packed = packed[:cut] if rng.integers(0, 2) else packed + bytes(rng.integers(0, 256, 20, dtype=np.uint8))
    return packed


@pytest.fixture(scope="module")
def clean_csv():
    images, labels = generate_faces(per_class=1, seed=9)
    rows = [f"{labels[i]},{' '.join(map(str, images[i].ravel()))},{USAGES[i % 3]}" for i in range(len(labels))]
    return ("emotion,pixels,Usage\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("kind", ["csv", "gz"])
def test_mutated_data_files_load_right_or_fail_naming_the_file(tmp_path, clean_csv, kind):
    rng = np.random.default_rng({"csv": 1, "gz": 2}[kind])
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(60):
        text_bytes = _mutate(clean_csv, rng) if case else clean_csv
        path = tmp_path / f"case{case}.{'csv' if kind == 'csv' else 'csv.gz'}"
        path.write_bytes(_wrap(text_bytes, kind, rng))
        try:
            expected_text = text_bytes.decode("utf-8")
        except UnicodeDecodeError:
            expected_text = None
        try:
            got = load_fer2013(path, cache=bool(case % 2))
        except (DataError, FileNotFoundError) as exc:
            assert path.name in str(exc), (case, str(exc))
            outcomes["refused"] += 1
            continue
        # loaded: the container must have been intact and every row valid, and the result must be those rows
        reference = _reference(expected_text) if expected_text is not None else None
        assert reference is not None, (case, f"{path.name} loaded although an independent reader finds it invalid")
        labels, faces, usages = reference
        assert got.labels.tolist() == labels, case
        assert np.array_equal(got.images, np.stack(faces)), case
        assert got.usage.tolist() == usages, case
        outcomes["loaded"] += 1
    assert outcomes["loaded"] >= 1 and outcomes["refused"] >= 20, outcomes  # both outcomes exercised


OPTIONS = ["--epochs", "--batch-size", "--learning-rate", "--patience", "--warmup-epochs", "--label-smoothing",
           "--crop", "--erase", "--seed", "--schedule", "--optimizer", "--model", "--filters", "--precision"]
VALUES = ["0", "1", "-1", "3", "1e-3", "nan", "inf", "-inf", "1e400", "0.5", "2", "x", "", "cosine", "sgd",
          "tutorial", "8,16", "0,1", "a,b", "float32", "bfloat16", "0.0", "1.5", "40", "60"]


class Accepted(Exception):
    """Raised in place of training by the fuzz test: the command accepted its settings."""


def test_fuzzed_train_arguments_parse_and_validate_or_name_the_argument(capsys, monkeypatch):
    from fer_helpers import cli, training

    def no_training(data, out_dir, resume=False, **settings):
        raise Accepted(training.TrainConfig(**settings))

    monkeypatch.setattr(training, "train", no_training)
    monkeypatch.setattr(training, "locate_fer2013", lambda: "fer2013.csv")
    rng = np.random.default_rng(0)
    accepted = refused = 0
    for _ in range(300):
        argv = ["train", "--out", "run"]
        for _ in range(int(rng.integers(1, 4))):  # mostly option-value pairs, sometimes a stray token
            argv += [str(rng.choice(OPTIONS)), str(rng.choice(VALUES))] if rng.integers(0, 6) else [str(rng.choice(VALUES))]
        parser = cli.build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2
            err = capsys.readouterr().err
            assert "error: argument " in err or "unrecognized arguments" in err or "expected" in err, (argv, err)
            refused += 1
            continue
        try:
            training.train_cli(args)  # checks the settings first, then would train
        except ValueError as exc:  # a setting the parser lets through but the run cannot use: named
            assert any(name in str(exc) for name in ("learning_rate", "label_smoothing", "crop", "erase")), exc
            refused += 1
            continue
        except Accepted as accepted_config:
            config = accepted_config.args[0]
        assert np.isfinite(config.learning_rate) and config.learning_rate > 0
        assert config.epochs >= 1 and config.batch_size >= 1 and config.patience >= 0 and config.warmup_epochs >= 0
        accepted += 1
    assert accepted >= 8 and refused >= 100, (accepted, refused)
