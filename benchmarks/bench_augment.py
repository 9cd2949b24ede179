"""Benchmark of fer_helpers.augment.

Prints
  * milliseconds per augment_grid redraw (4 faces x 8 columns, what lesson 4's sliders redraw), and per full
    explorer redraw (grid + PNG encoding of the rows),
  * images per second of build_augmentation(...) inside a tf.data pipeline
    (``ds.batch(B).map(lambda x, y: (aug(x, training=True), y), AUTOTUNE).prefetch``), without augmentation and,
    for comparison, of the legacy ImageDataGenerator.flow,
  * how sharp the augmented faces stay: the mean absolute Laplacian of the originals and after augmentation (each
    Keras geometric layer resamples, and resampling blurs).

Uses synthetic 48x48 faces (smoothed noise), so it needs no data set; ``--data FER2013.csv`` measures sharpness on the
first 1,024 Training faces of a real file instead. Run:

    python benchmarks/bench_augment.py [--images 4096] [--batch 64] [--preset default] [--data PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def synthetic_faces(n: int, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 60, size=(n, 48, 48)).astype(np.float32)
    faces = np.stack([cv2.GaussianBlur(face, (0, 0), 2.0) for face in noise])
    return np.clip(faces, 0, 255).astype(np.uint8)[..., None]


def sharpness(faces) -> float:
    """Mean absolute Laplacian of ``(N, 48, 48, 1)`` faces without a 4-pixel border: blurring lowers it."""
    import cv2

    return float(np.mean([np.abs(cv2.Laplacian(f[..., 0], cv2.CV_32F)[4:-4, 4:-4]).mean() for f in faces]))


def time_ms(fn, repeats: int) -> tuple[float, float]:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(timings), min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4096, help="images per tf.data epoch")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--repeats", type=int, default=100, help="redraws to time")
    parser.add_argument("--data", default=None, help="FER2013 CSV for the sharpness figures (default: synthetic)")
    args = parser.parse_args()

    from fer_helpers import augment as A

    config = A.get_preset(args.preset)
    print(f"preset {args.preset!r}: {config}")
    grid_faces = synthetic_faces(4)

    A.augment_grid(grid_faces, config, n_per_face=8)  # the first call builds Keras' functions
    seeds = iter(range(10**9))
    median, best = time_ms(lambda: A.augment_grid(grid_faces, config, n_per_face=8, seed=next(seeds)), args.repeats)
    print(f"augment_grid 4x8 redraw:        {median:7.2f} ms median ({best:.2f} ms best, {args.repeats} runs)")

    from fer_helpers.widgets import AugmentationExplorer

    explorer = AugmentationExplorer(grid_faces, labels=[0, 3, 4, 6], config=config)
    median, best = time_ms(explorer.new_samples, args.repeats)
    print(f"explorer redraw (grid + PNGs):  {median:7.2f} ms median ({best:.2f} ms best)")

    import tensorflow as tf

    faces = synthetic_faces(args.images, seed=1)
    labels = np.arange(args.images) % 7

    def pipeline(aug):
        ds = tf.data.Dataset.from_tensor_slices((faces, labels)).batch(args.batch)
        if aug is not None:
            ds = ds.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    if args.data:
        from fer_helpers.data import load_fer2013

        sample, where = load_fer2013(args.data).split("Training").images[:1024], "the first 1,024 Training faces"
    else:
        sample, where = synthetic_faces(1024, seed=2)[..., 0], "1,024 smoothed-noise faces (--data for real ones)"
    sample = sample.astype(np.float32)[..., None]
    print(f"sharpness (mean |Laplacian|) of {where}: {sharpness(sample):.1f} before augmentation")
    for aug in (None, A.build_augmentation(config, seed=0)):
        ds = pipeline(aug)
        for _ in ds.take(2):  # trace the map function
            pass
        start = time.perf_counter()
        count = sum(int(x.shape[0]) for x, _ in ds)
        seconds = time.perf_counter() - start
        name = "tf.data + augmentation" if aug is not None else "tf.data, no augmentation"
        after = "" if aug is None else f", sharpness after: {sharpness(np.asarray(aug(sample, training=True))):.1f}"
        print(f"{name + ':':31s} {count / seconds:9.0f} images/s (batch {args.batch}, {count} images){after}")
        if aug is not None:
            print(f"{'':33s}layers: {[layer.name for layer in aug.layers]}")

    generator = A.legacy_generator(config)
    n_legacy = min(args.images, 1024)
    flow = generator.flow(faces[:n_legacy].astype(np.float32), labels[:n_legacy], batch_size=args.batch, seed=0)
    start = time.perf_counter()
    count = 0
    for _ in range(len(flow)):
        x, _ = next(flow)
        count += x.shape[0]
    seconds = time.perf_counter() - start
    print(f"{'legacy ImageDataGenerator.flow:':31s} {count / seconds:9.0f} images/s ({count} images)")
    print(f"CPU cores available: {os.cpu_count()}")


if __name__ == "__main__":
    main()
