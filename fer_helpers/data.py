"""Loading, writing, finding and summarising FER2013 and the embedded synthetic data set.

:func:`load_fer2013` reads the Kaggle CSV ``emotion,pixels,Usage`` (``.csv`` or ``.csv.gz``; ``Usage`` optional).
Errors name the file and the row: ``row 12`` is the 12th data row, ``line 14`` the file's line counting the header.
A parsed file is cached as ``.npz``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from . import synthetic
from .atomic import atomic_path, dumps_json
from .labels import EMOTIONS, NUM_CLASSES, USAGES
from .preprocessing import FACE_SIZE

CACHE_VERSION = 2
KAGGLE_DATASET = "deadskull7/fer2013"
MAX_LINE = 1 << 20  # characters; a FER2013 row has about 9,300, so a longer line is not FER2013
#: The synthetic sample committed with the project: ``make_sample(SAMPLE_CSV, SAMPLE_PER_CLASS, SAMPLE_SEED)``.
SAMPLE_CSV = Path(__file__).resolve().parent.parent / "data" / "fer2013_synthetic_sample.csv"
SAMPLE_PER_CLASS, SAMPLE_SEED = 200, 0
#: Faces per class of the embedded synthetic data set that :func:`locate_fer2013` falls back to.
EMBEDDED_PER_CLASS = 400


class DataError(ValueError):
    """Malformed data set input; the message names the file and, where it applies, the row."""


@dataclasses.dataclass
class FERData:
    """A loaded data set: ``images`` (N, 48, 48) uint8, ``labels`` (N,) int64 in 0..6, ``usage`` (N,) str (``""``:
    no Usage), the ``source`` path and the ``skipped`` rows as ``(row, reason)``."""

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str = ""
    skipped: list = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"FERData({len(self)} faces from {self.source!r}; {self.split_counts()})"

    @property
    def x(self) -> np.ndarray:
        """The faces as models take them: (N, 48, 48, 1) uint8."""
        return self.images[..., None]

    def subset(self, index) -> FERData:
        """The rows selected by a boolean mask or an integer index."""
        return FERData(self.images[index], self.labels[index], self.usage[index], self.source)

    def split(self, usage: str) -> FERData:
        """The rows whose ``Usage`` is ``usage`` (e.g. ``"PublicTest"``); a DataError if there are none."""
        if not (self.usage == usage).any():
            available = sorted(set(self.usage.tolist()) - {""})
            raise DataError(f"{self.source}: no rows with Usage {usage!r}; available: {available}")
        return self.subset(self.usage == usage)

    def split_counts(self) -> dict[str, int]:
        """Rows per Usage, the official splits first; ``"(none)"`` counts rows without one."""
        values, counts = np.unique(self.usage, return_counts=True)
        rank = {u: i for i, u in enumerate(USAGES)}
        pairs = sorted(zip(values.tolist(), counts.tolist()), key=lambda p: rank.get(p[0], len(rank)))
        return {(u or "(none)"): c for u, c in pairs}

    def class_counts(self) -> dict[str, int]:
        """Faces per class name, in label order."""
        return dict(zip(EMOTIONS, np.bincount(self.labels, minlength=NUM_CLASSES).tolist()))


# ----------------------------------------------------------------------------------------------------------------
# The CSV


def parse_pixels(text: str) -> np.ndarray:
    """One row's 2,304 space-separated pixel values as uint8; a ValueError saying what is wrong with them."""
    try:
        with warnings.catch_warnings():  # NumPy < 2 warns (DeprecationWarning) where NumPy 2 raises ValueError
            warnings.simplefilter("error", DeprecationWarning)
            values = np.fromstring(text, dtype=np.int64, sep=" ")
    except (ValueError, DeprecationWarning):
        values = None
    if values is None or "+" in text or "-" in text:  # NumPy reads signs, which no pixel value has
        bad = [t for t in text.split() if not (t.isascii() and t.isdigit())] or [text[:20]]
        raise ValueError(f"non-numeric token {bad[0]!r}")
    if values.size != FACE_SIZE * FACE_SIZE:
        raise ValueError(f"expected {FACE_SIZE * FACE_SIZE} pixel values (48x48), found {values.size}")
    if values.max() > 255:
        raise ValueError(f"pixel value {values.max()} outside 0..255")
    return values.astype(np.uint8)


def _parse_row(fields: list[str], columns: list[str]) -> tuple[np.ndarray, int, str]:
    """Pixels, label and usage of one CSV row; a ValueError saying what is wrong with it."""
    if len(fields) != len(columns):
        raise ValueError(f"{len(fields)} fields, the header has {len(columns)}")
    row = dict(zip(columns, fields))
    label, usage = row["emotion"], row.get("Usage", "")
    if not (label.isascii() and label.isdigit() and len(label) < 10):
        raise ValueError(f"emotion {label!r} is not an integer label")
    if int(label) >= NUM_CLASSES:
        raise ValueError(f"emotion {int(label)} outside 0..{NUM_CLASSES - 1}")
    if usage not in USAGES + ("",):
        raise ValueError(f"Usage {usage!r} is not one of {list(USAGES)}")
    return parse_pixels(row["pixels"]), int(label), usage


def _readline(fh, path: Path, where: str) -> str:
    line = fh.readline(MAX_LINE)
    if len(line) == MAX_LINE and not line.endswith("\n"):
        raise DataError(f"{path}: {where} is longer than {MAX_LINE:,} characters: not a FER2013 CSV")
    return line


def _read_header(fh, path: Path) -> list[str]:
    columns = [c.strip().strip('"') for c in _readline(fh, path, "line 1").split(",")]
    if columns == [""]:
        raise DataError(f"{path}: the file is empty")
    for name in ("pixels", "emotion"):
        if name not in columns:
            unlabeled = "; unlabeled data is not supported" if name == "emotion" else ""
            raise DataError(f"{path}: missing column {name!r} (found columns {columns}){unlabeled}")
    return columns


def _load_csv(path: Path, on_error: str) -> FERData:
    rows, problems, row = [], [], None
    try:
        with (gzip.open if path.suffix.lower() == ".gz" else open)(path, "rt", encoding="utf-8-sig") as fh:
            columns, row = _read_header(fh, path), 0
            while line := _readline(fh, path, f"row {row} (line {row + 2})"):
                if line.isspace():
                    continue
                try:
                    rows.append(_parse_row([f.strip().strip('"') for f in line.split(",")], columns))
                except ValueError as exc:
                    problems.append((row, str(exc)))
                row += 1
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        where = "" if row is None else f" at row {row} (line {row + 2})"
        kind = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "a truncated or corrupt file"
        raise DataError(f"{path}: cannot be read{where}: {kind} ({type(exc).__name__}: {exc})") from None
    if row == 0:
        raise DataError(f"{path}: the file has a header but no rows")
    _report(path, problems, on_error, row)
    faces, labels, usage = zip(*rows) if rows else ((), (), ())
    images = np.array(faces, np.uint8).reshape(-1, FACE_SIZE, FACE_SIZE)
    return FERData(images, np.array(labels, np.int64), np.array(usage, "<U11"), str(path), problems)


def _report(path: Path, problems: list[tuple[int, str]], on_error: str, total: int) -> None:
    """Raise a DataError for the first bad row (``on_error="raise"``) or warn, listing the bad rows."""
    if problems and on_error == "raise":
        (row, reason), more = problems[0], len(problems) - 1
        more = f" (and {more} more bad row{'s' if more > 1 else ''})" if more else ""
        raise DataError(f"{path}: row {row} (line {row + 2}): {reason}{more}; "
                        "pass on_error='skip' to leave bad rows out")
    if problems:
        listed = "; ".join(f"row {r}: {why}" for r, why in problems[:10])
        more = f"; ... {len(problems) - 10} more" if len(problems) > 10 else ""
        warnings.warn(f"{path}: skipped {len(problems)} of {total} rows: {listed}{more}", stacklevel=3)


# ----------------------------------------------------------------------------------------------------------------
# The cache, loading and writing


def cache_dir() -> Path:
    """Where parsed data sets are cached: ``$FER_HELPERS_CACHE`` or ``~/.cache/fer_helpers``."""
    return Path(os.environ.get("FER_HELPERS_CACHE") or Path.home() / ".cache" / "fer_helpers")


def _cache_file(path: Path) -> Path:
    """A cache file name keyed on ``path``'s location, size and modification time."""
    st = path.stat()
    key = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, CACHE_VERSION])
    return cache_dir() / f"{path.name}.{hashlib.blake2b(key.encode(), digest_size=10).hexdigest()}.npz"


def _cache_load(file: Path, source: Path) -> FERData | None:
    try:
        with np.load(file, allow_pickle=False) as z:
            return FERData(z["images"], z["labels"], z["usage"], str(source))
    except Exception:  # missing, truncated or corrupt: a cache miss
        return None


def _cache_save(file: Path, data: FERData) -> None:
    try:
        with atomic_path(file, "write the cache") as tmp:
            np.savez(tmp, images=data.images, labels=data.labels, usage=data.usage)
    except OSError as exc:  # a read-only home must not stop the loading
        warnings.warn(f"could not write the cache {file}: {exc}", stacklevel=3)


def load_fer2013(path, on_error: str = "raise", cache: bool = True) -> FERData:
    """Load FER2013 from a CSV file (``.csv`` or ``.csv.gz``).

    ``on_error="raise"`` stops at a bad row with a DataError naming file and row; ``"skip"`` leaves bad rows out,
    listed in a warning and in ``.skipped``. With ``cache``, a file without bad rows is kept parsed in
    :func:`cache_dir` for the next load.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a folder, a pipe or a device): not supported; pass a .csv file")
    file = _cache_file(path) if cache else None
    data = _cache_load(file, path) if cache else None
    if data is None:
        data = _load_csv(path, on_error)
        if cache and not data.skipped:
            _cache_save(file, data)
    return data


def write_fer_csv(path, images, labels, usage=None) -> Path:
    """Write faces as a Kaggle-layout CSV (``emotion,pixels[,Usage]``), gzip-compressed for ``.csv.gz``."""
    path, images = Path(path), np.asarray(images)
    if not path.name.lower().endswith((".csv", ".csv.gz")):
        raise ValueError(f"{path}: a FER2013 CSV is written as .csv or .csv.gz, not {''.join(path.suffixes)!r}")
    if images.dtype != np.uint8 or images.shape[1:] != (FACE_SIZE, FACE_SIZE) or len(labels) != len(images):
        raise ValueError(f"{path}: expected N uint8 images (N, 48, 48) and N labels, got {images.dtype} "
                         f"{images.shape} and {len(labels)} labels")
    ends = [""] * len(images) if usage is None else [f",{u}" for u in usage]
    rows = [f"{int(y)},{' '.join(map(str, x.ravel().tolist()))}{end}" for x, y, end in zip(images, labels, ends)]
    text = ("\n".join(["emotion,pixels" + ("" if usage is None else ",Usage"), *rows]) + "\n").encode()
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(text, compresslevel=6) if path.suffix.lower() == ".gz" else text)
    return path


# ----------------------------------------------------------------------------------------------------------------
# Splits


def train_val_split(data: FERData, val_fraction: float = 0.1, seed: int = 0) -> tuple[FERData, FERData]:
    """A seeded stratified split (each class keeps its share) into training and validation rows."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    val = np.zeros(len(data), dtype=bool)
    for c in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(data.labels == c))
        val[idx[: int(round(len(idx) * val_fraction))]] = True
    return data.subset(~val), data.subset(val)


def official_splits(data: FERData, val_fraction: float = 0.1, seed: int = 0) -> tuple[FERData, FERData]:
    """Training and validation rows: ``Training`` and ``PublicTest``, never a test split.

    Without PublicTest rows, a stratified split of the Training rows; without any Usage, of all rows. Rows
    without a Usage in data that has one are left out, with a warning.
    """
    usages = set(data.usage.tolist())
    if usages <= {""}:
        return train_val_split(data, val_fraction, seed)
    if "Training" not in usages:
        raise DataError(f"{data.source}: no Training rows to train on (Usage values: {sorted(usages - {''})})")
    if "" in usages:
        warnings.warn(f"{data.source}: {np.sum(data.usage == '')} of {len(data)} rows have no Usage and are left out "
                      "of training and validation", stacklevel=2)
    if "PublicTest" in usages:
        return data.split("Training"), data.split("PublicTest")
    return train_val_split(data.split("Training"), val_fraction, seed)


def validation_name(val: FERData, val_fraction: float) -> str:
    """What :func:`official_splits` validated on, in words."""
    usages = set(val.usage.tolist())
    if usages == {"PublicTest"}:
        return "PublicTest"
    return f"stratified {val_fraction:.0%} of {'the Training rows' if usages == {'Training'} else 'the data'}"


# ----------------------------------------------------------------------------------------------------------------
# The synthetic data sets, finding and downloading FER2013


def make_sample(path, per_class: int, seed: int = 0) -> Path:
    """Write ``generate_faces(per_class, seed)`` with ``assign_usage(labels, seed)`` as a FER2013-format CSV."""
    if int(per_class) < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    images, labels = synthetic.generate_faces(per_class, seed=seed)
    return write_fer_csv(path, images, labels, synthetic.assign_usage(labels, seed=seed))


def make_sample_cli(args) -> int:
    """``python -m fer_helpers make-sample --out PATH --per-class N [--seed S]``."""
    path = make_sample(args.out, args.per_class, args.seed)
    usage = load_fer2013(path, cache=False).usage
    print(f"wrote {path}: {len(usage)} synthetic faces, {args.per_class} per emotion ({', '.join(EMOTIONS)})")
    print("rows per Usage: " + ", ".join(f"{u} {np.sum(usage == u)}" for u in USAGES))
    print(f"size: {path.stat().st_size} bytes")
    return 0


def embedded_dataset_path(per_class: int = EMBEDDED_PER_CLASS, seed: int = 0) -> Path:
    """The embedded synthetic data set as a CSV, written into :func:`cache_dir` on first use."""
    version = hashlib.blake2b(Path(synthetic.__file__).read_bytes(), digest_size=4).hexdigest()  # of the generator
    path = cache_dir() / f"fer2013_synthetic_{per_class}_seed{seed}_{version}.csv"
    return path if path.exists() else make_sample(path, per_class, seed)


def sample_csv_path() -> Path:
    """The committed sample :data:`SAMPLE_CSV`, or where only the package is installed, the same rows regenerated."""
    return SAMPLE_CSV if SAMPLE_CSV.exists() else embedded_dataset_path(SAMPLE_PER_CLASS, SAMPLE_SEED)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def kagglehub_cache_dir() -> Path:
    return Path(os.environ.get("KAGGLEHUB_CACHE", Path.home() / ".cache" / "kagglehub"))


def _find_in(folder: Path) -> Path | None:
    """The first ``fer2013.csv`` (or ``.csv.gz``) inside ``folder``."""
    return min([*folder.rglob("fer2013.csv"), *folder.rglob("fer2013.csv.gz")], default=None)


#: The folder of this series on Google Drive, inside ``MyDrive``.
DRIVE_FOLDER = "fer-tutorial"


def colab_content() -> Path:
    """Colab's working folder, ``/content`` (``$FER_COLAB_CONTENT`` moves it, for tests)."""
    return Path(os.environ.get("FER_COLAB_CONTENT", "/content"))


def locate_fer2013(verbose: bool = True) -> Path:
    """FER2013's path: ``$FER2013_PATH``, else a copy in ``data/`` (here, one folder up, in the repository, in
    ``MyDrive/fer-tutorial`` on Colab) or :func:`download_fer2013`'s download; else the embedded synthetic set."""
    if os.environ.get("FER2013_PATH"):
        path = Path(os.environ["FER2013_PATH"]).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"FER2013_PATH is set to {path}, which does not exist")
        return path
    drive = colab_content() / "drive" / "MyDrive" / DRIVE_FOLDER
    downloads = [cache / "datasets" / KAGGLE_DATASET for cache in (kagglehub_cache_dir(), drive / "kagglehub")]
    for folder in [Path.cwd() / "data", Path.cwd().parent / "data", repo_root() / "data", drive / "data", *downloads]:
        if folder.is_dir() and (found := _find_in(folder)):
            return found
    path = embedded_dataset_path()
    global _FALLBACK_ANNOUNCED
    if verbose and not _FALLBACK_ANNOUNCED:
        _FALLBACK_ANNOUNCED = True
        print("Note: FER2013 is not on this computer, so the notebooks use the embedded data set of drawn faces "
              f"({path.name}).\nTo use FER2013, see notebook 0: download_fer2013(), a copy in data/, "
              "or FER2013_PATH.")
    return path


_FALLBACK_ANNOUNCED = False  # whether locate_fer2013 has said that it falls back to the synthetic set


def download_fer2013(handle: str = KAGGLE_DATASET, dest=None) -> Path:
    """Download FER2013 with kagglehub (no credentials needed) into its cache, where :func:`locate_fer2013` finds it;
    with ``dest``, copy the CSV into that folder too. Returns the CSV's path."""
    import kagglehub

    folder = Path(kagglehub.dataset_download(handle))
    found = _find_in(folder)
    if found is None:
        raise DataError(f"the Kaggle data set {handle!r} downloaded to {folder} holds no fer2013.csv")
    if dest is None:
        return found
    Path(dest).mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(found, Path(dest) / found.name))


# ----------------------------------------------------------------------------------------------------------------
# The `info` command


def summarize(data: FERData) -> dict:
    """Rows per split, faces per class (overall and per split) and exact pixel statistics from a histogram."""
    per_split = {u: data.subset(data.usage == u.replace("(none)", "")).class_counts() for u in data.split_counts()}
    pixels = {"shape": list(data.images.shape[1:]), "dtype": str(data.images.dtype)}
    pixels.update(min=None, max=None, mean=None, std=None)
    counts = np.bincount(data.images.ravel(), minlength=256)  # how many pixels have each value 0..255
    if counts.sum():
        values, present, n = np.arange(256), np.flatnonzero(counts), counts.sum()
        mean = counts @ values / n
        std = np.sqrt(counts @ (values - mean) ** 2 / n)
        pixels.update(min=int(present[0]), max=int(present[-1]), mean=round(float(mean), 2), std=round(float(std), 2))
    return {"source": data.source, "rows": len(data), "skipped": len(data.skipped), "splits": data.split_counts(),
            "classes": data.class_counts(), "classes_per_split": per_split, "pixels": pixels}


def format_summary(s: dict) -> str:
    """The summary as a table of faces per class and split, and a line of pixel statistics."""
    import pandas as pd

    table = pd.DataFrame(s["classes_per_split"], index=list(EMOTIONS)).assign(all=pd.Series(s["classes"]))
    table.loc["total"] = table.sum()
    p = s["pixels"]
    return (f"{s['source']}: {s['rows']:,} faces" + (f" ({s['skipped']} bad rows skipped)" if s["skipped"] else "")
            + f"\n{table.to_string()}\npixels: {p['shape'][0]}x{p['shape'][1]} {p['dtype']}, min {p['min']}, "
            f"max {p['max']}, mean {p['mean']}, std {p['std']}")


def info_cli(args) -> int:
    """``python -m fer_helpers info PATH [--json] [--skip-bad-rows]``."""
    data = load_fer2013(args.data, on_error="skip" if args.skip_bad_rows else "raise")
    s = summarize(data)
    if args.json:  # with --skip-bad-rows the bad rows are listed here, and in a warning on stderr
        s["skipped_rows"] = [{"row": r, "reason": why} for r, why in data.skipped]
    print(dumps_json(s) if args.json else format_summary(s))
    return 0
