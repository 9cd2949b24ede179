"""Parsing benchmark: fer_helpers.load_fer2013 against the usual per-row parse, and the cached reload.

    python benchmarks/bench_parse.py [PATH]      (default: locate_fer2013(), else the embedded synthetic set)

Prints the best of three wall times of
  per-row:  pd.read_csv(path); np.stack([np.array(s.split(), dtype=np.uint8) for s in df.pixels])
  ours:     fer_helpers.data.load_fer2013(path, cache=False)
their ratio (target <= 0.4), and the time of a second, cached load (target < 0.1 s).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fer_helpers.data import load_fer2013, locate_fer2013  # noqa: E402


def per_row(path):
    df = pd.read_csv(path)
    return np.stack([np.array(s.split(), dtype=np.uint8) for s in df.pixels]).reshape(-1, 48, 48)


def best_time(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, min(times)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else locate_fer2013()  # says so when it falls back
    expected, t_row = best_time(lambda: per_row(path))
    data, t_ours = best_time(lambda: load_fer2013(path, cache=False))
    assert np.array_equal(expected, data.images), "the two parses disagree"
    print(f"data: {path} ({len(data):,} rows)")
    print(f"per-row parse   : {t_row:7.2f} s")
    print(f"load_fer2013    : {t_ours:7.2f} s")
    ratio = t_ours / t_row
    print(f"ratio           : {ratio:7.3f}   (target <= 0.4: {'met' if ratio <= 0.4 else 'NOT met'})")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FER_HELPERS_CACHE"] = tmp
        load_fer2013(path)  # fills the cache
        _, cached = best_time(lambda: load_fer2013(path), repeats=3)
    print(f"cached reload   : {cached:7.3f} s (target < 0.1 s: {'met' if cached < 0.1 else 'NOT met'})")


if __name__ == "__main__":
    main()
