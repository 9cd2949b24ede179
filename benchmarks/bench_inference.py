"""Batched inference throughput of the shipped pretrained model on this CPU.

    python benchmarks/bench_inference.py [--batch-size 256] [--faces 4096]

Prints faces per second of ``fer_helpers.inference.predict_proba`` on batches of 48x48 faces (float32), with and
without flip test-time augmentation; for comparison ``model.predict``; and the latency of one single-face call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--faces", type=int, default=4096)
    p.add_argument("--model", default=None, help="model file (default: the shipped pretrained model)")
    args = p.parse_args()

    import numpy as np

    from fer_helpers.inference import predict_proba
    from fer_helpers.pretrained import load_pretrained
    from fer_helpers.saving import load_model

    model = load_model(args.model) if args.model else load_pretrained()
    faces = np.random.default_rng(0).integers(0, 256, (args.faces, 48, 48, 1), dtype=np.uint8)
    predict_proba(model, faces[: args.batch_size * 2], batch_size=args.batch_size)  # warm-up
    print(f"{os.cpu_count()} CPUs, model {model.name} ({model.count_params():,} params), batch {args.batch_size}")
    for tta in (False, True):
        t = time.perf_counter()
        predict_proba(model, faces, tta=tta, batch_size=args.batch_size)
        dt = time.perf_counter() - t
        rate = args.faces / dt
        print(f"batched inference{' + flip TTA' if tta else '':>12}: {rate:8.0f} faces/s")
    x = faces.astype("float32")
    model.predict(x[:2 * args.batch_size], batch_size=args.batch_size, verbose=0)  # warm-up
    t = time.perf_counter()
    model.predict(x, batch_size=args.batch_size, verbose=0)
    print(f"  for comparison, model.predict: {args.faces / (time.perf_counter() - t):8.0f} faces/s")
    one = faces[:1]
    predict_proba(model, one)
    t = time.perf_counter()
    for _ in range(50):
        predict_proba(model, one)
    print(f"single face latency: {(time.perf_counter() - t) / 50 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
