"""Writing files so that a crash leaves either the complete new file or the old one, never a partial file.

:func:`atomic_path` gives a temporary name in the same folder; once the content is written there, the file is renamed
over the final name (``os.replace``, atomic on one file system). On any error the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from pathlib import Path

#: Test-only fault injection: ``FER_HELPERS_KILL_WRITING=<file name>`` SIGKILLs the process when that file's content
#: is written but not yet renamed into place, as ``kill -9`` at that moment would.
FAULT_ENV = "FER_HELPERS_KILL_WRITING"


@contextlib.contextmanager
def atomic_path(final, what: str = "write"):
    """Yield a temporary path to write ``final``'s content to; it becomes ``final`` when the block ends without error.

    On an error the temporary file is removed and ``final`` stays as it was; an OSError is raised again naming it.
    """
    final = Path(final)
    stem, dot, suffixes = final.name.partition(".")
    tmp = final.with_name(f".{stem}.tmp-{os.getpid()}{dot}{suffixes}")  # hidden, with the suffixes Keras checks
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if os.environ.get(FAULT_ENV) == final.name:
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and str(final) not in str(exc):
            raise OSError(exc.errno, f"cannot {what} {final}: {exc.strerror or exc}") from None
        raise


def sweep_temporaries(folder) -> None:
    """Delete the temporary files that a killed process left in ``folder``."""
    for path in Path(folder).glob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            path.unlink()


def check_finite(obj, where: str = "") -> None:
    """Raise ValueError naming the first NaN or infinity in ``obj`` (searching dicts, lists and tuples)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where or 'value'} is {obj}: JSON has no NaN or infinity")
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        check_finite(value, f"{where}[{key!r}]" if where else repr(key))


def dumps_json(obj, **kwargs) -> str:
    """Strict JSON (no bare ``NaN`` or ``Infinity``): a non-finite number is a ValueError naming its key."""
    check_finite(obj)
    return json.dumps(obj, allow_nan=False, **kwargs)


def write_json(path, obj, indent: int = 2) -> Path:
    """Write ``obj`` as strict JSON to ``path`` atomically; a non-finite number is an error naming path and key."""
    try:
        text = dumps_json(obj, indent=indent)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(path)


def save_model(model, path) -> Path:
    """``model.save(path)`` atomically: a kill during the save leaves the previous file, not a partial one."""
    with atomic_path(path, "save the model to") as tmp:
        model.save(tmp)
    return Path(path)
