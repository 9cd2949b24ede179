"""Benchmark of fer_helpers.synthetic: faces per second of generate_faces on one core.

Prints the best and median rate of ``generate_faces(per_class, seed)`` over a few repeats. Run:

    python benchmarks/bench_synthetic.py [--per-class 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from fer_helpers import synthetic
from fer_helpers.labels import NUM_CLASSES


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()

    import cv2

    cv2.setNumThreads(1)  # one core: drawing is single-threaded anyway
    n = NUM_CLASSES * args.per_class
    synthetic.generate_faces(2, seed=0)  # warm-up: imports, first OpenCV calls

    rates = []
    for r in range(args.repeats):
        start = time.perf_counter()
        images, _ = synthetic.generate_faces(args.per_class, seed=r)
        rates.append(n / (time.perf_counter() - start))
    print(f"generate_faces({args.per_class}) = {n} faces: best {max(rates):,.0f} faces/s, "
          f"median {statistics.median(rates):,.0f} faces/s ({args.repeats} repeats)")
    print(f"  target: thousands per second, so the 2,800 embedded faces take about a second: "
          f"{'met' if statistics.median(rates) >= 1000 else 'NOT met'}")

    digits = 1 + ((images >= 10).sum() + (images >= 100).sum()) / images.size  # mean characters per pixel
    print(f"  CSV size : {(digits + 1) * images[0].size / 1e3:.1f} kB per face in the FER2013 text layout")


if __name__ == "__main__":
    main()
