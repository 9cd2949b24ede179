"""Training throughput on this machine: images per second for both models.

    python benchmarks/bench_train.py [--steps 30] [--batch-size 64] [--precision float32|mixed_bfloat16]

Times ``model.fit`` over a fixed number of steps of the real pipeline (``make_dataset``
with the default augmentation) on synthetic faces, after a warm-up epoch that builds the graph.
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
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--models", default="tutorial,default")
    args = p.parse_args()

    import keras
    import tensorflow as tf

    from fer_helpers.models import build_model
    from fer_helpers.synthetic import generate_faces
    from fer_helpers.training import compile_model, make_dataset

    keras.mixed_precision.set_global_policy(args.precision)
    n = args.steps * args.batch_size
    x, y = generate_faces(per_class=n // 7 + 1, seed=0)
    x, y = x[:n], y[:n]
    print(f"{os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"batch {args.batch_size}, {args.steps} steps, precision {args.precision}")
    for name in args.models.split(","):
        model = compile_model(build_model(name))
        ds = make_dataset(x, y, batch_size=args.batch_size, augment="default")
        model.fit(ds.take(3), epochs=1, verbose=0)  # warm-up: trace and build
        t = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0)
        dt = time.perf_counter() - t
        print(f"{name:>9} ({model.count_params():,} params): {n / dt:7.0f} training images/s "
              f"({dt / args.steps * 1000:.0f} ms/step)")


if __name__ == "__main__":
    main()
