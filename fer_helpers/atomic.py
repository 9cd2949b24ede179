"""Writing files so that a crash leaves either the complete new file or the old one, never a partial file.

Every file the package writes goes through :func:`atomic_path`: the content is written to a temporary name in the
same folder and renamed over the final name (``os.replace``, atomic on one file system) only once it is complete;
on any error, Ctrl-C included, the temporary file is removed. Errors name the path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from pathlib import Path

#: test-only fault injection: ``FER_HELPERS_KILL_WRITING=<name>[:<n>]`` SIGKILLs the process in the middle of the
#: n-th (default first) write of a file of that name (half of its temporary file on disk), as ``kill -9`` would
FAULT_ENV = "FER_HELPERS_KILL_WRITING"


def temporary_name(final: Path) -> Path:
    """A hidden name next to ``final`` that keeps its suffixes (Keras checks them): ``.x.tmp-PID.keras``."""
    name = final.name
    stem, dot, ext = name.partition(".")
    return final.with_name(f".{stem}.tmp-{os.getpid()}{dot}{ext}")


_writes: dict[str, int] = {}


def _fault_point(final: Path, tmp: Path) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != final.name:
        return
    _writes[name] = _writes.get(name, 0) + 1
    if _writes[name] == int(nth or 1) and tmp.exists():
        size = tmp.stat().st_size
        with open(tmp, "r+b") as fh:
            fh.truncate(size // 2)  # half-written, as a kill in the middle of the write leaves it
        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def atomic_path(final, what: str = "write"):
    """Context manager yielding a temporary path to write ``final``'s content to; renamed to ``final`` on success.

    On any error the temporary file is removed and ``final`` is left as it was; an ``OSError`` (a full disk, a
    missing permission) is raised again with ``final``'s path in its message.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot {what} {final}: {exc.strerror or exc}") from None
    tmp = temporary_name(final)
    try:
        yield tmp
        _fault_point(final, tmp)
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            if tmp.is_dir():
                import shutil

                shutil.rmtree(tmp)
            else:
                tmp.unlink()
        if isinstance(exc, OSError) and str(final) not in str(exc):
            raise OSError(exc.errno, f"cannot {what} {final}: {exc.strerror or exc}") from None
        raise


def sweep_temporaries(folder) -> int:
    """Delete the temporary files a killed process left in ``folder`` (not recursive); returns how many."""
    n = 0
    for path in Path(folder).glob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            path.unlink()
            n += 1
    return n


def write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def _finite(obj, where: str = "value"):
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where} is {obj}: JSON has no NaN or infinity")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _finite(v, f"{where}[{k!r}]" if where != "value" else repr(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _finite(v, f"{where}[{i}]")
    return obj


def dumps_json(obj, **kwargs) -> str:
    """Strict JSON (no bare ``NaN``/``Infinity``): a non-finite number is a ValueError naming its key."""
    _finite(obj)
    return json.dumps(obj, allow_nan=False, **kwargs)


def write_json(path, obj, indent: int = 2) -> Path:
    """Write ``obj`` as strict JSON to ``path`` atomically; a non-finite number is an error naming path and key."""
    try:
        text = dumps_json(obj, indent=indent)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return write_text(path, text + "\n")


def save_model(model, path) -> Path:
    """``model.save(path)`` atomically (a kill during the save leaves the previous file, not a 0-byte one)."""
    with atomic_path(path, "save the model to") as tmp:
        model.save(tmp)
    return Path(path)
