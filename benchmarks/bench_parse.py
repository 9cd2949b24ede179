"""Parsing benchmark: fer_helpers' vectorised loader against the usual per-row parse.

    python benchmarks/bench_parse.py [PATH]      (default: locate_fer2013(), else the embedded synthetic set)

Prints wall time and peak memory (tracemalloc: NumPy and pandas allocations) of
  naive:  pd.read_csv(path); np.stack(df.pixels.apply(lambda s: np.array(s.split(), dtype="float32")))
  ours:   fer_helpers.load_fer2013(path, cache=False)
the ratio ours/naive, and the time of a second, cached load.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fer_helpers.data import load_fer2013, locate_fer2013  # noqa: E402


def naive(path):
    df = pd.read_csv(path)
    pixels = df.pixels.apply(lambda s: np.array(s.split(), dtype="float32"))
    return np.stack(pixels.to_numpy()).reshape(-1, 48, 48), df.emotion.to_numpy()


def measure(fn):
    """Wall time of a plain run, then peak traced memory of a second run (tracemalloc slows Python code down,
    so timing under it would flatter the vectorised loader)."""
    t = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t
    del out
    tracemalloc.start()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, elapsed, peak


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else locate_fer2013()  # says so when it falls back
    (x_naive, _), t_naive, m_naive = measure(lambda: naive(path))
    data, t_ours, m_ours = measure(lambda: load_fer2013(path, cache=False))
    assert np.array_equal(x_naive.astype(np.uint8), data.images), "the two parses disagree"
    result_mb = data.images.nbytes / 2**20
    print(f"data: {path} ({len(data):,} rows; uint8 result {result_mb:.1f} MiB)")
    print(f"naive per-row parse : {t_naive:7.2f} s   peak {m_naive / 2**20:8.1f} MiB")
    print(f"fer_helpers         : {t_ours:7.2f} s   peak {m_ours / 2**20:8.1f} MiB")
    ratio = t_ours / t_naive
    print(f"time ratio ours/naive: {ratio:.3f}  (target <= 0.4: {'met' if ratio <= 0.4 else 'NOT met'})")
    print(f"peak memory ours / uint8 result: {m_ours / data.images.nbytes:.2f}x  (target: near the result)")
    import os

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FER_HELPERS_CACHE"] = tmp
        load_fer2013(path)  # fills the cache
        t = time.perf_counter()
        load_fer2013(path)
        cached = time.perf_counter() - t
        print(f"cached load         : {cached:7.3f} s  (target < 0.1 s: {'met' if cached < 0.1 else 'NOT met'})")


if __name__ == "__main__":
    main()
