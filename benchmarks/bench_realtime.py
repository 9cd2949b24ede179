"""Real-time benchmark: detect, classify and annotate a 640x480 webcam-sized frame with one face.

    python benchmarks/bench_realtime.py [--frames 100] [--model PATH]

Uses the shipped pretrained model when ``fer_helpers.pretrained`` loads, else an untrained network of the default
architecture (``build_default_cnn``: same size, so the same speed). The frame is scikit-image's astronaut portrait
on a 640x480 canvas (one face of about 95 px). Prints frames per second of the whole pipeline for a few settings and
the time of each stage, for the recommended real-time setting. Target: >= 30 FPS on 2 CPU cores.

What makes it fast (each row below adds one step):

* ``predict_on_batch``: ``predict_proba`` runs the model through Keras' traced predict function instead of
  layer-by-layer eager calls (the first row's ``model(x)``); the recogniser always does.
* ``max_side=320``: the Haar cascade runs on a half-size gray frame; with ``min_size=(48, 48)`` (in frame pixels)
  that is the cascade's native 24 px window, so faces of 48 px and more are still found.
* ``scale_factor=1.2``: fewer pyramid levels for the cascade (coarser face sizes, good enough for video).
* ``FaceTracker``: a full-frame search every 10th frame only; in between the cascade looks just around the last
  face (``FaceDetector.detect_near``), which is what ``process_video(..., track=True)`` does.

The machine this was written on shares 2 cores with other jobs, so figures vary from run to run by tens of percent;
each setting's per-stage times are medians. "per CPU-second" divides the frames by the CPU time our threads used
(``time.process_time``): the rate one otherwise idle core would reach, whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def make_frame() -> np.ndarray:
    from fer_helpers.recognizer import sample_photo

    canvas = np.full((480, 640, 3), 96, np.uint8)
    canvas[:, 64:576] = sample_photo()[16:496]  # the 512x512 portrait, centred; its face is about 95 px wide
    return canvas


def load_model(path: str | None):
    if path:
        from fer_helpers.saving import load_model as load

        return load(path, compile=False), path
    try:
        from fer_helpers.pretrained import load_pretrained

        return load_pretrained(), "pretrained (fer_helpers.pretrained)"
    except Exception as exc:  # not there yet, or not loadable: same architecture, untrained
        from fer_helpers.models import build_default_cnn

        return build_default_cnn(), f"untrained build_default_cnn() (pretrained unavailable: {type(exc).__name__})"


class _Eager:
    """The model called layer by layer (``model(x)``) where ``predict_proba`` asks for ``predict_on_batch``."""

    def __init__(self, model):
        self.model = model

    def predict_on_batch(self, x):
        return self.model(x, training=False)

    def __call__(self, x, training=False):
        return self.model(x, training=training)

    def __getattr__(self, name):
        return getattr(self.model, name)


def run(recognizer, frame: np.ndarray, frames: int, warmup: int = 5) -> dict:
    from fer_helpers.recognizer import annotate, draw_fps

    for _ in range(warmup):
        annotate(frame, recognizer.predict(frame))
    detect, classify, draw, total = [], [], [], []
    faces = 0
    fps = 0.0
    cpu0 = time.process_time()
    for _ in range(frames):
        t0 = time.perf_counter()
        boxes = recognizer.detector.detect(frame)
        t1 = time.perf_counter()
        results = recognizer.classify(frame, boxes)
        t2 = time.perf_counter()
        out = draw_fps(annotate(frame, results), fps)
        t3 = time.perf_counter()
        faces += len(results)
        detect.append(t1 - t0)
        classify.append(t2 - t1)
        draw.append(t3 - t2)
        total.append(t3 - t0)
        fps = 1.0 / total[-1]
    cpu = time.process_time() - cpu0  # CPU seconds of all our threads: robust to other jobs on the machine
    assert out.shape == frame.shape
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    return {"fps": frames / sum(total), "cpu_fps": frames / cpu, "detect_ms": ms(detect), "classify_ms": ms(classify),
            "annotate_ms": ms(draw), "faces_per_frame": faces / frames}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--model", default=None, help="model file (default: pretrained, else untrained default CNN)")
    args = p.parse_args(argv)

    import cv2
    import tensorflow as tf

    from fer_helpers.recognizer import EmotionRecognizer, FaceDetector, FaceTracker

    model, model_name = load_model(args.model)
    frame = make_frame()
    print(f"model: {model_name}, {model.count_params():,} parameters")
    print(f"frame: {frame.shape[1]}x{frame.shape[0]}, one face; {args.frames} frames per setting; "
          f"CPU cores: {os.cpu_count()}, OpenCV threads: {cv2.getNumThreads()}, "
          f"TF {tf.__version__}, Python {sys.version.split()[0]}")
    settings = [
        ("baseline: eager model(x), full-frame detection",
         dict(compiled=False, max_side=None, scale_factor=1.1)),
        ("+ predict_on_batch (predict_proba)", dict(compiled=True, max_side=None, scale_factor=1.1)),
        ("+ detect at max_side=320", dict(compiled=True, max_side=320, scale_factor=1.1)),
        ("+ scale_factor=1.2", dict(compiled=True, max_side=320, scale_factor=1.2)),
        ("+ FaceTracker (full search every 10th frame)",
         dict(compiled=True, max_side=320, scale_factor=1.2, track=True)),
    ]
    rows = []
    for name, kw in settings:
        detector = FaceDetector(scale_factor=kw["scale_factor"], min_neighbors=5, min_size=(48, 48),
                                max_side=kw["max_side"])
        if kw.get("track"):
            detector = FaceTracker(detector, redetect_every=10)
        recognizer = EmotionRecognizer(model if kw["compiled"] else _Eager(model), detector=detector)
        frames = args.frames if kw["compiled"] else max(10, args.frames // 4)  # the slow baseline needs fewer
        r = run(recognizer, frame, frames)
        rows.append((name, r))
        print(f"{name:<46} {r['fps']:5.1f} FPS, {r['cpu_fps']:5.1f} per CPU-second  (detect {r['detect_ms']:5.1f} ms, "
              f"classify {r['classify_ms']:5.1f} ms, annotate {r['annotate_ms']:3.1f} ms, "
              f"faces/frame {r['faces_per_frame']:.2f})", flush=True)
    best = rows[-1][1]
    verdict = "meets" if best["fps"] >= 30 else "misses"
    print(f"\nwith all steps: {best['fps']:.1f} FPS ({best['cpu_fps']:.1f} per CPU-second), {verdict} the 30 FPS "
          f"target; without tracking (full search every frame): {rows[-2][1]['fps']:.1f} FPS "
          f"({rows[-2][1]['cpu_fps']:.1f} per CPU-second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
