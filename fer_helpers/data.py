"""Loading FER2013 in every form it is distributed in, fast and with clear errors.

Supported inputs (all return a :class:`FERData`):

* The Kaggle CSV ``emotion,pixels,Usage`` (``fer2013.csv``), plain or compressed (``.gz``, ``.zip``).
* The competition's test file with only a ``pixels`` column (labels become ``-1``, usage ``""``).
* The image-folder layout ``<root>/train/<emotion>/*.jpg`` and ``<root>/test/<emotion>/*.jpg``, whose file names
  keep the split (``Training_*``, ``PublicTest_*``, ``PrivateTest_*``). Files under ``test/`` whose names do not say
  which test split they belong to get the Usage ``"Test"``: held out, never trained on.

pandas reads the CSV in chunks of rows; NumPy parses each chunk's pixel column in one call, and only a chunk with
a malformed row is parsed row by row to say which. A ``.npz`` cache (never pickle) makes a second load near-instant;
it is keyed on the source's path, size and modification time, so editing or replacing the file invalidates it.

Errors name the file and the row (``row 12`` is the 12th data row, ``line 13`` of the file counting the header).
With ``on_error="skip"`` such rows are left out, and how many and which are reported (a warning, and
``FERData.skipped``): nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .atomic import dumps_json
from .labels import EMOTIONS, FOLDER_TO_LABEL, NUM_CLASSES, USAGES, label_from_folder
from .preprocessing import FACE_SIZE, prepare_faces

PIXELS_PER_FACE = FACE_SIZE * FACE_SIZE
CHUNK_ROWS = 1024
CACHE_VERSION = 1
KAGGLE_DATASET = "deadskull7/fer2013"
#: Faces per class of the embedded synthetic data set that :func:`locate_fer2013` falls back to.
EMBEDDED_PER_CLASS = 400
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".webp")
#: other image suffixes: such files are tried as well and, when OpenCV cannot read them, reported, never dropped silently
OTHER_IMAGE_SUFFIXES = (".tif", ".tiff", ".gif", ".heic", ".heif", ".avif", ".jp2", ".ppm", ".pbm", ".pnm", ".ico",
                        ".svg", ".jfif", ".exr", ".hdr", ".ras", ".sr")
#: the longest line a FER2013 CSV can hold is about 9,300 characters; a longer one means the file is something else
MAX_LINE_BYTES = 1 << 20
#: Usage of image-folder files under ``test/`` whose names carry no split (not ``PublicTest_*``/``PrivateTest_*``).
FOLDER_TEST_USAGE = "Test"
#: Usage values a CSV may hold: the official three, and ``"Test"`` in a CSV written from an image-folder copy.
KNOWN_USAGES = USAGES + (FOLDER_TEST_USAGE,)


class DataError(ValueError):
    """Malformed data set input; the message names the file and, where it applies, the row."""


@dataclasses.dataclass
class FERData:
    """Faces, labels and splits of a loaded data set.

    ``images`` is ``(N, 48, 48)`` uint8 (0..255), ``labels`` ``(N,)`` int64 in 0..6 (``-1`` where the file has no
    labels), ``usage`` ``(N,)`` strings (``"Training"``, ``"PublicTest"``, ``"PrivateTest"``, ``"Test"`` for
    image-folder test files of unknown split, or ``""`` when unknown).
    ``skipped`` lists ``(row, reason)`` for rows left out with ``on_error="skip"``.
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str = ""
    skipped: list = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        splits = ", ".join(f"{k}={v}" for k, v in self.split_counts().items())
        return f"FERData({len(self)} faces from {self.source!r}; {splits or 'no Usage'})"

    @property
    def x(self) -> np.ndarray:
        """Model input: ``(N, 48, 48, 1)`` uint8, through the shared :func:`~fer_helpers.prepare_faces`."""
        return prepare_faces(self.images)

    @property
    def has_labels(self) -> bool:
        return bool(len(self)) and bool((self.labels >= 0).all())

    @property
    def has_usage(self) -> bool:
        return bool(len(self)) and bool((self.usage != "").all())

    def subset(self, mask_or_index) -> "FERData":
        """A new FERData with the selected rows (boolean mask or integer index)."""
        return FERData(self.images[mask_or_index], self.labels[mask_or_index], self.usage[mask_or_index],
                       self.source, [])

    def split(self, usage: str) -> "FERData":
        """Rows whose ``Usage`` is ``usage`` (e.g. ``"PublicTest"``); a clear error if there are none."""
        available = sorted(set(self.usage.tolist()) - {""})
        if usage not in available:
            raise DataError(
                f"{self.source}: no rows with Usage {usage!r}; available: {available or 'none (the file has no Usage)'}"
            )
        return self.subset(self.usage == usage)

    def split_counts(self) -> dict[str, int]:
        values, counts = np.unique(self.usage, return_counts=True)
        order = {u: i for i, u in enumerate(USAGES)}
        pairs = sorted(zip(values.tolist(), counts.tolist()), key=lambda p: order.get(p[0], len(order)))
        return {(v or "(none)"): int(c) for v, c in pairs}

    def class_counts(self) -> dict[str, int]:
        """Faces per class name, in label order (unlabeled rows are not counted)."""
        counts = np.bincount(self.labels[self.labels >= 0], minlength=NUM_CLASSES)
        return {name: int(c) for name, c in zip(EMOTIONS, counts)}


# --------------------------------------------------------------------------------------------------------------
# Parsing the pixels column


def parse_pixels(texts: Iterable[str], first_row: int = 0) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Parse space-separated pixel strings into ``(N, 2304)`` uint8.

    Returns ``(array, problems)``: ``problems`` lists ``(row, reason)`` for malformed rows (numbered from
    ``first_row``), whose array rows are left zero; the caller decides to raise or skip.
    """
    texts = [t if isinstance(t, str) else None for t in texts]
    out = np.zeros((len(texts), PIXELS_PER_FACE), dtype=np.uint8)
    joined = " ".join(t or "" for t in texts)
    # the common case in one call: every row exactly 2,304 numbers 0..255, separated by single spaces
    if (None not in texts and joined.isascii() and "+" not in joined and "-" not in joined
            and all(t.count(" ") == PIXELS_PER_FACE - 1 for t in texts)):
        with warnings.catch_warnings():  # a token that is not a number: an error, or a warning in older NumPy
            warnings.simplefilter("error", DeprecationWarning)
            try:
                values = np.fromstring(joined, dtype=np.int64, sep=" ")
            except (ValueError, DeprecationWarning):
                values = np.zeros(0, np.int64)
        if values.size == out.size and values.max(initial=0) <= 255:
            out[:] = values.reshape(out.shape)
            return out, []
    problems = []
    for i, text in enumerate(texts):  # something is off: find it row by row
        values, reason = _parse_row(text)
        if reason:
            problems.append((first_row + i, reason))
        else:
            out[i] = values
    return out, problems


def _parse_row(text: str | None) -> tuple[np.ndarray | None, str | None]:
    """One row's pixels, or None and what is wrong with them."""
    if text is None:
        return None, "pixels value is missing"
    tokens = text.split()
    bad = next((t for t in tokens if not (t.isascii() and t.isdigit())), None)
    if bad is not None:
        return None, f"non-numeric token {bad!r}"
    if len(tokens) != PIXELS_PER_FACE:
        return None, f"expected {PIXELS_PER_FACE} pixel values (48x48), found {len(tokens)}"
    values = [int(t) for t in tokens]
    if max(values) > 255:
        return None, f"pixel value {max(values)} outside 0..255"
    return np.array(values, dtype=np.uint8), None


# --------------------------------------------------------------------------------------------------------------
# CSV reading


def _open_text(path: Path):
    """Open a .csv, .csv.gz or single-CSV .zip as text."""
    name = path.name.lower()
    if name.endswith(".zip"):
        try:
            z = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{path}: not a valid zip archive ({exc})") from None
        members = [m for m in z.namelist() if m.lower().endswith(".csv") and not m.startswith("__MACOSX")]
        if not members:
            raise DataError(f"{path}: the zip archive holds no .csv file")
        if len(members) > 1:
            preferred = [m for m in members if Path(m).name.lower() == "fer2013.csv"]
            if not preferred:
                raise DataError(f"{path}: the zip archive holds several CSV files {members}; extract the one you want")
            members = preferred
        try:
            member = z.open(members[0])
        except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError) as exc:  # encrypted, unknown method
            raise DataError(f"{path}: cannot read {members[0]} from the zip archive ({exc})") from None
        return io.TextIOWrapper(member, encoding="utf-8-sig")
    if name.endswith(".gz"):
        import gzip

        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


_READ_ERRORS = (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile, RuntimeError)


def _read_error(path: Path, exc: BaseException, row: int | None = None) -> DataError:
    """A DataError for a file that stops being readable (truncated, corrupt, not UTF-8), naming where it stopped."""
    where = f" at row {row} (line {row + 2})" if row is not None else ""
    kind = "a truncated or corrupt file" if not isinstance(exc, UnicodeDecodeError) else "not UTF-8 text"
    return DataError(f"{path}: cannot be read{where}: {kind} ({type(exc).__name__}: {exc})")


def _read_csv_chunks(path: Path) -> Iterator:
    import pandas as pd

    try:
        fh = _open_text(path)
        header = fh.readline(MAX_LINE_BYTES)
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: cannot be read as a CSV file ({type(exc).__name__}: {exc})") from None
    if len(header) >= MAX_LINE_BYTES and not header.endswith("\n"):
        fh.close()
        raise DataError(f"{path}: line 1 is longer than {MAX_LINE_BYTES:,} characters: not a FER2013 CSV")
    if not header.strip():
        fh.close()
        raise DataError(f"{path}: the file is empty")
    columns = [c.strip().strip('"') for c in header.rstrip("\r\n").split(",")]
    if "pixels" not in columns:
        fh.close()
        raise DataError(f"{path}: missing column 'pixels' (found columns {columns})")
    labeled = "emotion" in columns
    unknown = [c for c in columns if c not in ("emotion", "pixels", "Usage", "id", "")]
    if not labeled and unknown:
        fh.close()
        raise DataError(f"{path}: missing column 'emotion' (found columns {columns})")
    rows = 0
    try:
        # spare columns: a row with a field too many (the first one included) is that row's error, found in
        # _load_csv, instead of pandas taking the first column for an index or dropping the extra field
        names = columns + [f"{_EXTRA}{i}" for i in range(_SPARE_COLUMNS)]
        reader = pd.read_csv(fh, names=names, header=None, chunksize=CHUNK_ROWS, dtype=str, keep_default_na=False,
                             skip_blank_lines=True, index_col=False, on_bad_lines="error")
        yield columns
        for chunk in reader:
            rows += len(chunk)
            yield chunk
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed CSV ({_csv_error_with_row(str(exc))})") from None
    except _READ_ERRORS as exc:
        raise _read_error(path, exc, rows) from None
    finally:
        fh.close()


_EXTRA, _SPARE_COLUMNS = "__extra_field_", 4


def _csv_error_with_row(message: str) -> str:
    """pandas says "line N" counting the header as line 1; add the row number the rest of the package uses."""
    import re

    m = re.search(r"line (\d+)", message)
    if m and int(m.group(1)) >= 2:
        return f"row {int(m.group(1)) - 2} (line {m.group(1)}): {message}"
    return message


def _parse_labels(values: np.ndarray, first_row: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    out = np.full(len(values), -1, dtype=np.int64)
    problems = []
    stripped = np.char.strip(values.astype(str))
    ok = np.array([v.isascii() and v.isdigit() and len(v) <= 9 for v in stripped.tolist()], dtype=bool)
    out[ok] = stripped[ok].astype(np.int64)
    for i in np.flatnonzero(~ok):
        problems.append((first_row + int(i), f"emotion {str(values[i])!r} is not an integer label"))
    for i in np.flatnonzero(ok & ((out < 0) | (out >= NUM_CLASSES))):
        problems.append((first_row + int(i), f"emotion {out[i]} outside 0..{NUM_CLASSES - 1}"))
    return out, problems


def _report(path: Path, problems: list[tuple[int, str]], on_error: str, total: int) -> None:
    if not problems:
        return
    problems.sort()
    if on_error == "raise":
        row, reason = problems[0]
        more = len(problems) - 1
        more = f" (and {more} more bad row{'s' if more > 1 else ''})" if more else ""
        raise DataError(f"{path}: row {row} (line {row + 2}): {reason}{more}; "
                        "pass on_error='skip' to leave bad rows out")
    listed = "; ".join(f"row {r}: {why}" for r, why in problems[:10])
    more = f"; ... {len(problems) - 10} more" if len(problems) > 10 else ""
    msg = f"{path}: skipped {len(problems)} of {total} rows: {listed}{more}"
    warnings.warn(msg, stacklevel=3)


def _load_csv(path: Path, on_error: str) -> FERData:
    chunks = _read_csv_chunks(path)
    columns = next(chunks)
    blocks: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    usages: list[np.ndarray] = []
    problems: list[tuple[int, str]] = []
    row = 0
    for chunk in chunks:
        n = len(chunk)
        pixels, p1 = parse_pixels(chunk["pixels"].tolist(), first_row=row)
        if "emotion" in columns:
            lab, p2 = _parse_labels(chunk["emotion"].to_numpy(dtype=str), row)
        else:
            lab, p2 = np.full(n, -1, dtype=np.int64), []
        use = chunk["Usage"].to_numpy(dtype=str) if "Usage" in columns else np.full(n, "", dtype="<U11")
        p3 = [(row + int(i), f"Usage {str(use[i])!r} is not one of {list(KNOWN_USAGES)}")
              for i in np.flatnonzero(~np.isin(np.char.strip(use.astype(str)), KNOWN_USAGES + ("",)))]
        use = np.char.strip(use.astype(str))
        extra = [c for c in chunk.columns if str(c).startswith(_EXTRA)]
        counts = (chunk[extra] != "").to_numpy().sum(axis=1) if extra else np.zeros(n, int)
        p4 = [(row + int(i), f"{len(columns) + int(counts[i])} fields, the header has {len(columns)}")
              for i in np.flatnonzero(counts)]
        chunk_problems = p4 + p1 + p2 + p3
        if chunk_problems:  # in "raise" mode too, so that the error can say how many rows are bad
            bad = np.zeros(n, dtype=bool)
            bad[[r - row for r, _ in chunk_problems]] = True
            pixels, lab, use = pixels[~bad], lab[~bad], use[~bad]
            problems.extend(chunk_problems)
        blocks.append(pixels)
        labels.append(lab)
        usages.append(use)
        row += n
    if row == 0 and not problems:
        raise DataError(f"{path}: the file has a header but no rows")
    # de-duplicate problems of the same row (e.g. bad label and bad pixels), keep the first reason
    seen: dict[int, str] = {}
    for r, why in sorted(problems):
        seen.setdefault(r, why)
    problems = sorted(seen.items())
    _report(path, problems, on_error, row)
    images = np.concatenate(blocks).reshape(-1, FACE_SIZE, FACE_SIZE) if blocks else np.zeros(
        (0, FACE_SIZE, FACE_SIZE), np.uint8)
    usage = np.concatenate(usages).astype("<U11") if usages else np.zeros(0, "<U11")
    return FERData(images, np.concatenate(labels) if labels else np.zeros(0, np.int64), usage, str(path), problems)


# --------------------------------------------------------------------------------------------------------------
# Image-folder layout


def _usage_from_name(file: Path, split_dir: str) -> str:
    for usage in USAGES:
        if file.name.startswith(usage + "_"):
            return usage
    return "Training" if split_dir == "train" else FOLDER_TEST_USAGE


def _load_folder(root: Path, on_error: str) -> FERData:
    import cv2

    files: list[tuple[Path, int, str]] = []
    for split_dir in ("train", "test"):
        base = root / split_dir
        if not base.is_dir():
            continue
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            try:
                label = label_from_folder(class_dir.name)
            except ValueError as exc:
                raise DataError(f"{class_dir}: {exc}") from None
            for f in sorted(class_dir.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES + OTHER_IMAGE_SUFFIXES:
                    files.append((f, label, _usage_from_name(f, split_dir)))
    if not files:
        raise DataError(f"{root}: no images found; expected {root}/train/<emotion>/*.jpg and "
                        f"{root}/test/<emotion>/*.jpg")
    images = np.zeros((len(files), FACE_SIZE, FACE_SIZE), dtype=np.uint8)
    keep = np.ones(len(files), dtype=bool)
    problems = []
    for i, (f, _, _) in enumerate(files):
        try:
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        except cv2.error:
            img = None
        if img is None:
            if on_error == "raise":
                raise DataError(f"{f}: unreadable image (empty, truncated or not an image); "
                                "pass on_error='skip' to leave it out")
            problems.append((i, f"{f}: unreadable image"))
            keep[i] = False
            continue
        images[i] = prepare_faces([img])[0, :, :, 0]
    if problems:
        warnings.warn(f"{root}: skipped {len(problems)} of {len(files)} images: "
                      + "; ".join(why for _, why in problems[:10]), stacklevel=3)
    labels = np.array([lab for _, lab, _ in files], dtype=np.int64)
    usage = np.array([u for _, _, u in files], dtype="<U11")
    return FERData(images[keep], labels[keep], usage[keep], str(root), problems)


# --------------------------------------------------------------------------------------------------------------
# Cache


def cache_dir() -> Path:
    """Where parsed data sets are cached: ``$FER_HELPERS_CACHE`` or ``~/.cache/fer_helpers``."""
    return Path(os.environ.get("FER_HELPERS_CACHE") or Path.home() / ".cache" / "fer_helpers")


def _cache_key(path: Path, on_error: str) -> tuple[Path, str]:
    st = path.stat()
    fingerprint = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, on_error, CACHE_VERSION])
    digest = hashlib.blake2b(fingerprint.encode(), digest_size=10).hexdigest()
    return cache_dir() / f"{path.name}.{digest}.npz", fingerprint


def _cache_load(cache_file: Path, fingerprint: str, source: str) -> FERData | None:
    try:
        with np.load(cache_file, allow_pickle=False) as z:
            if str(z["fingerprint"]) != fingerprint:
                return None
            skipped = [(int(r), str(w)) for r, w in zip(z["skipped_rows"], z["skipped_reasons"])]
            data = FERData(z["images"], z["labels"], z["usage"], source, skipped)
            if data.images.shape[1:] != (FACE_SIZE, FACE_SIZE) or not len(data.labels) == len(data.usage) == len(
                    data.images):
                return None
            return data
    except Exception:  # truncated, empty or corrupt (BadZipFile, EOFError, ...): a cache miss, rebuilt
        return None


def _cache_save(cache_file: Path, fingerprint: str, data: FERData) -> None:
    from .atomic import atomic_path

    try:
        with atomic_path(cache_file, "write the cache") as tmp:  # a failed write leaves no temporary file
            np.savez(tmp, images=data.images, labels=data.labels, usage=data.usage.astype("<U11"),
                     fingerprint=np.array(fingerprint),
                     skipped_rows=np.array([r for r, _ in data.skipped], dtype=np.int64),
                     skipped_reasons=np.array([w for _, w in data.skipped], dtype=str))
    except OSError as exc:  # a read-only home must not break loading
        warnings.warn(f"could not write the cache {cache_file}: {exc}", stacklevel=3)


# --------------------------------------------------------------------------------------------------------------
# Public loading API


def load_fer2013(path, usage: str | None = None, on_error: str = "raise", cache: bool = True) -> FERData:
    """Load FER2013 from a CSV (``.csv``, ``.csv.gz``, ``.zip``) or an image-folder root.

    ``usage`` keeps only one split (``"Training"``, ``"PublicTest"``, ``"PrivateTest"``). ``on_error`` is
    ``"raise"`` (default: the first bad row stops loading with a message naming file and row) or ``"skip"`` (bad
    rows are left out, counted and listed in a warning and in ``FERData.skipped``). ``cache`` keeps a parsed copy
    in :func:`cache_dir` so that the next load of an unchanged CSV takes a fraction of a second.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        data = _load_folder(path, on_error)
    else:
        if not path.is_file():
            raise DataError(f"{path}: not a regular file (standard input, a named pipe or a device): not supported; "
                            "save the data to a file and pass its path")
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")
        data = None
        if cache:
            cache_file, fingerprint = _cache_key(path, on_error)
            if cache_file.exists():
                data = _cache_load(cache_file, fingerprint, str(path))
                if data is not None and data.skipped:
                    _report(path, list(data.skipped), on_error, len(data) + len(data.skipped))
        if data is None:
            data = _load_csv(path, on_error)
            if cache:
                _cache_save(cache_file, fingerprint, data)
    return data.split(usage) if usage else data


load_dataset = load_fer2013


def write_fer_csv(path, images, labels, usage=None) -> Path:
    """Write faces in the Kaggle layout ``emotion,pixels,Usage`` (gzip-compressed when the path ends in ``.gz``)."""
    path = Path(path)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:3] != (FACE_SIZE, FACE_SIZE):
        raise ValueError(f"images must be uint8 of shape (N, 48, 48), got {images.dtype} {images.shape}")
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    flat = images.reshape(len(images), -1)
    lines = [",".join(["emotion", "pixels"] + (["Usage"] if usage is not None else []))]
    for i in range(len(images)):
        fields = [str(int(labels[i])), " ".join(map(str, flat[i].tolist()))]
        if usage is not None:
            fields.append(str(usage[i]))
        lines.append(",".join(fields))
    text = "\n".join(lines) + "\n"
    from .atomic import atomic_path

    name = path.name.lower()
    if not (name.endswith(".csv") or name.endswith(".csv.gz")):
        raise ValueError(f"{path}: a FER2013 CSV is written as .csv or .csv.gz, not {''.join(path.suffixes)!r}")
    with atomic_path(path) as tmp:  # complete or absent, whatever happens during the write
        if name.endswith(".gz"):
            import gzip

            with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as fh:
                fh.write(text)
        else:
            tmp.write_text(text, encoding="utf-8")
    return path


def kaggle_csv(path) -> Path:
    """A CSV in the Kaggle layout (header exactly ``emotion,pixels,Usage``) holding the faces of ``path``.

    ``path`` itself when it already is one (``.csv`` or ``.csv.gz``, which ``pandas.read_csv`` reads as they are);
    any other form :func:`load_fer2013` reads (an image-folder copy, ``icml_face_data.csv`` with its spaced column
    names, a zip archive, a CSV without ``Usage``, whose rows become ``Training``) is converted once into
    :func:`cache_dir`, so that the lessons' ``pd.read_csv`` reads every copy of FER2013 the same way.
    """
    path = Path(path).expanduser()
    if path.is_file() and path.name.lower().endswith((".csv", ".csv.gz")):
        with _open_text(path) as fh:
            header = fh.readline().rstrip("\r\n")
        if header == "emotion,pixels,Usage":
            return path
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    parsed_cache, _ = _cache_key(path, "kaggle_csv")  # keyed on the source's path, size and time, like the cache
    target = parsed_cache.with_name(parsed_cache.name.removesuffix(".npz") + ".kaggle.csv")
    if not target.exists():
        data = load_fer2013(path)
        if not data.has_labels:
            raise DataError(f"{path}: some rows have no emotion label, so they cannot be written as "
                            "emotion,pixels,Usage")
        usage = data.usage
        if not (usage != "").any():  # e.g. the challenge's train.csv: every row is training data
            usage = np.full(len(data), "Training")
            print(f"{display_path(path)} has no Usage column: its rows are marked Training in "
                  f"{display_path(target)}", file=sys.stderr)
        tmp = target.with_suffix(f".tmp{os.getpid()}.csv")
        write_fer_csv(tmp, data.images, data.labels, usage)
        os.replace(tmp, target)
    return target


def train_val_split(data: FERData, val_fraction: float = 0.1, seed: int = 0) -> tuple[FERData, FERData]:
    """Seeded stratified split (each class keeps its share) for data without ``Usage``."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    if not data.has_labels:
        raise ValueError(f"{data.source}: a stratified split needs labels for every row")
    rng = np.random.default_rng(seed)
    val = np.zeros(len(data), dtype=bool)
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(data.labels == c)
        rng.shuffle(idx)
        val[idx[: int(round(len(idx) * val_fraction))]] = True
    return data.subset(~val), data.subset(val)


def official_splits(data: FERData, val_fraction: float = 0.1, seed: int = 0) -> tuple[FERData, FERData]:
    """Training and validation sets following the official protocol.

    With ``Training`` and ``PublicTest`` rows: train on ``Training``, select models on ``PublicTest``. With
    ``Training`` rows but no ``PublicTest`` (an image-folder copy whose test files lost their split): a seeded
    stratified split of the ``Training`` rows. Test rows (``PrivateTest``, ``Test``) are never returned: they are
    for the final report only. Data without any ``Usage``: a seeded stratified split of all rows. Rows without a
    ``Usage`` in data that has one are left out, with a warning that counts them.
    """
    usages = set(data.usage.tolist())
    if usages <= {""}:
        return train_val_split(data, val_fraction=val_fraction, seed=seed)
    if "Training" not in usages:
        raise DataError(f"{data.source}: no Training rows to train on (Usage values: {sorted(usages - {''})})")
    unmarked = int(np.count_nonzero(data.usage == ""))
    if unmarked:
        warnings.warn(f"{data.source}: {unmarked} of {len(data)} rows have no Usage and are left out of training "
                      "and validation", stacklevel=2)
    if "PublicTest" in usages:
        return data.split("Training"), data.split("PublicTest")
    return train_val_split(data.split("Training"), val_fraction=val_fraction, seed=seed)


def validation_name(val: FERData, val_fraction: float) -> str:
    """What :func:`official_splits` validated on, in words, for run metadata and messages."""
    if len(val) and set(val.usage.tolist()) == {"PublicTest"}:
        return "PublicTest"
    source = "the Training rows" if len(val) and set(val.usage.tolist()) == {"Training"} else "the data"
    return f"stratified {val_fraction:.0%} of {source}"


# --------------------------------------------------------------------------------------------------------------
# Finding and downloading the data set


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _is_image_folder_root(folder: Path) -> bool:
    """True if ``folder/train`` holds emotion-named class folders (``happy/``, ``sad/``, ...) and ``folder/test``."""
    train = folder / "train"
    if not (train.is_dir() and (folder / "test").is_dir()):
        return False
    classes = [p.name.lower() for p in train.iterdir() if p.is_dir()]
    return bool(classes) and all(c in FOLDER_TO_LABEL for c in classes)


def _find_in(folder: Path) -> Path | None:
    """A FER2013 CSV or image-folder root inside ``folder`` (not the synthetic sample)."""
    if not folder.is_dir():
        return None
    for name in ("fer2013.csv", "fer2013.csv.gz", "fer2013.zip", "icml_face_data.csv", "train.csv"):
        hits = sorted(folder.rglob(name))
        if hits:
            return hits[0]
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        if _is_image_folder_root(candidate):
            return candidate
    return None


def _kagglehub_folders() -> list[Path]:
    """kagglehub's download folders of FER2013 data sets: :data:`KAGGLE_DATASET` first, then other ``*fer*2013*``.

    Only data sets named after FER2013 are searched, so another cached Kaggle data set (with its own ``train.csv``
    or ``train/`` and ``test/`` folders) is never mistaken for it.
    """
    root = kagglehub_cache_dir() / "datasets"
    if not root.is_dir():
        return []
    first = root / KAGGLE_DATASET
    others = sorted(p for p in root.glob("*/*") if p.is_dir() and "fer" in p.name.lower()
                    and "2013" in p.name and p != first)
    return [p for p in [first, *others] if p.is_dir()]


def kagglehub_cache_dir() -> Path:
    return Path(os.environ.get("KAGGLEHUB_CACHE", Path.home() / ".cache" / "kagglehub"))


def embedded_dataset_path(per_class: int | None = None, seed: int = 0) -> Path:
    """Path of the embedded synthetic data set as a FER2013-format CSV, generated into the cache on first use."""
    from . import synthetic

    per_class = per_class or EMBEDDED_PER_CLASS
    # the generator's own source is part of the name, so a changed generator never serves stale faces
    version = hashlib.blake2b(Path(synthetic.__file__).read_bytes(), digest_size=4).hexdigest()
    target = cache_dir() / f"fer2013_synthetic_{per_class}_seed{seed}_{version}.csv"
    if not target.exists():
        tmp = target.with_suffix(f".tmp{os.getpid()}.csv")
        synthetic.make_sample(tmp, per_class=per_class, seed=seed)
        os.replace(tmp, target)
    return target


def locate_fer2013(verbose: bool = True) -> Path:
    """Find FER2013: ``$FER2013_PATH``, then ``data/``, then on Colab ``MyDrive/fer-tutorial`` (``data/`` and the
    download, when Drive is mounted), then kagglehub's cache; else the embedded synthetic set.

    The fallback is announced once per Python session, on stdout, so nobody mistakes results on synthetic faces
    for FER2013.
    """
    env = os.environ.get("FER2013_PATH")
    if env:
        p = Path(env).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"FER2013_PATH is set to {p}, which does not exist")
        return p
    from .notebook import drive_dir

    drive = drive_dir()  # None unless on Colab with Google Drive mounted
    on_drive = [drive / "data", drive / "kagglehub"] if drive is not None else []
    for folder in dict.fromkeys([Path.cwd() / "data", Path.cwd().parent / "data", repo_root() / "data", *on_drive]):
        found = _find_in(folder)
        if found:
            return found
    for folder in _kagglehub_folders():
        found = _find_in(folder)
        if found:
            return found
    path = embedded_dataset_path()
    global _FALLBACK_ANNOUNCED
    if verbose and not _FALLBACK_ANNOUNCED:
        _FALLBACK_ANNOUNCED = True
        print("Note: FER2013 is not on this computer, so the notebooks use the embedded data set of drawn faces "
              f"({display_path(path)}).\nTo use FER2013, see notebook 0: download_fer2013(), a copy in data/, "
              "or FER2013_PATH.")
    return path


#: whether :func:`locate_fer2013` has said, in this Python session, that it falls back to the embedded data set
_FALLBACK_ANNOUNCED = False


def display_path(path) -> str:
    """A path for messages: relative to the current folder when inside it, else with ``~`` for the home folder."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        pass
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


def download_fer2013(handle: str = KAGGLE_DATASET, dest=None) -> Path:
    """Download FER2013 with kagglehub (public data sets need no credentials) and return the data file's path.

    kagglehub keeps the download in its cache (``$KAGGLEHUB_CACHE``, default ``~/.cache/kagglehub``; on Colab the
    setup cell points it at ``MyDrive/fer-tutorial/kagglehub`` when Drive is mounted), where :func:`locate_fer2013`
    finds it later. With ``dest`` the file is also copied there (e.g. ``data/``).
    """
    try:
        import kagglehub
    except ImportError as exc:  # pragma: no cover - kagglehub is a dependency
        raise ImportError("download_fer2013 needs kagglehub: pip install kagglehub") from exc
    folder = Path(kagglehub.dataset_download(handle))
    found = _find_in(folder)
    if found is None:
        raise DataError(f"the Kaggle data set {handle!r} downloaded to {folder} holds no fer2013.csv nor "
                        "train/test folders")
    if dest is not None:
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / found.name
        if found.is_dir():
            shutil.copytree(found, target, dirs_exist_ok=True)
        else:
            shutil.copy2(found, target)
        return target
    return found


# --------------------------------------------------------------------------------------------------------------
# Summary and the `info` command


def summarize(data: FERData) -> dict:
    """Rows per split, per class (overall and per split) and pixel statistics."""
    per_split = {}
    for u in data.split_counts():
        sub = data.subset(data.usage == ("" if u == "(none)" else u))
        per_split[u] = sub.class_counts()
    pixels = {"shape": list(data.images.shape[1:]), "dtype": str(data.images.dtype), "min": None, "max": None,
              "mean": None, "std": None}
    if len(data):  # exact statistics from the histogram of the 256 pixel values
        counts, values = np.bincount(data.images.ravel(), minlength=256), np.arange(256)
        present = np.flatnonzero(counts)
        mean = float(counts @ values / counts.sum())
        std = float(np.sqrt(counts @ (values - mean) ** 2 / counts.sum()))
        pixels.update(min=int(present[0]), max=int(present[-1]), mean=round(mean, 2), std=round(std, 2))
    return {"source": data.source, "rows": len(data), "skipped": len(data.skipped), "splits": data.split_counts(),
            "classes": data.class_counts(), "classes_per_split": per_split, "pixels": pixels}


def format_summary(s: dict) -> str:
    lines = [f"{s['source']}: {s['rows']:,} faces" + (f" ({s['skipped']} bad rows skipped)" if s["skipped"] else "")]
    splits = list(s["classes_per_split"])
    width = max([8] + [len(u) for u in splits])
    lines.append(f"{'class':<10}" + "".join(f"{u:>{width + 2}}" for u in splits) + f"{'all':>{width + 2}}")
    for name in EMOTIONS:
        row = "".join(f"{s['classes_per_split'][u][name]:>{width + 2},}" for u in splits)
        lines.append(f"{name:<10}{row}{s['classes'][name]:>{width + 2},}")
    total = "".join(f"{s['splits'][u]:>{width + 2},}" for u in splits)
    lines.append(f"{'total':<10}{total}{s['rows']:>{width + 2},}")
    p = s["pixels"]
    lines.append(f"pixels: {p['shape'][0]}x{p['shape'][1]} {p['dtype']}, min {p['min']}, max {p['max']}, "
                 f"mean {p['mean']}, std {p['std']}")
    return "\n".join(lines)


def info_cli(args) -> int:
    data = load_fer2013(args.data, on_error="skip" if args.skip_bad_rows else "raise")
    s = summarize(data)
    if args.json:
        s["skipped_rows"] = [{"row": r, "reason": why} for r, why in data.skipped]
        print(dumps_json(s))
    else:
        print(format_summary(s))
        if data.skipped:
            print("skipped rows: " + "; ".join(f"row {r}: {why}" for r, why in data.skipped[:20]))
    return 0


__all__ = [
    "FERData", "DataError", "load_fer2013", "load_dataset", "parse_pixels", "write_fer_csv", "train_val_split",
    "official_splits", "validation_name", "locate_fer2013", "download_fer2013", "embedded_dataset_path", "cache_dir",
    "summarize", "format_summary", "PIXELS_PER_FACE", "KAGGLE_DATASET", "FOLDER_TEST_USAGE", "KNOWN_USAGES",
    "kaggle_csv",
]
