"""Real-time benchmark: detect, classify and annotate a 640x480 webcam-sized frame with one face.

    python benchmarks/bench_realtime.py [--frames 100] [--model PATH]

Uses the shipped pretrained model when it loads, else an untrained network of the same architecture
(``build_vgg_cnn``: the same speed). The frame is scikit-image's astronaut portrait on a 640x480 canvas (one face
of about 95 px). Prints the frames per second of the whole pipeline (``EmotionRecognizer.predict``, ``annotate`` and
the FPS counter) for the photo settings of ``FaceDetector`` and for the webcam settings of notebook 7; target: >= 30
frames/s on 2 CPU cores. "per CPU-second" divides the frames by the CPU time of this process: the rate one otherwise
idle core would reach, whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from fer_helpers.faces import EmotionRecognizer, FaceDetector, annotate, sample_photo  # noqa: E402
from fer_helpers.video import draw_fps  # noqa: E402

SETTINGS = {
    "photo settings: FaceDetector()": {},
    "scale_factor=1.2, max_side=320": dict(scale_factor=1.2, max_side=320),
    "webcam settings: + min_size=(80, 80)": dict(scale_factor=1.2, max_side=320, min_size=(80, 80)),
}


def make_frame() -> np.ndarray:
    canvas = np.full((480, 640, 3), 96, np.uint8)
    canvas[:, 64:576] = sample_photo()[16:496]  # the 512x512 portrait, centred; its face is about 95 px wide
    return canvas


def load_model(path: str | None):
    if path:
        from fer_helpers.saving import load_face_model

        return load_face_model(path), path
    try:
        from fer_helpers.pretrained import load_pretrained

        return load_pretrained(), "the pretrained model"
    except Exception as exc:  # not loadable here: same architecture, untrained
        from fer_helpers.models import build_vgg_cnn

        return build_vgg_cnn(), f"untrained build_vgg_cnn() (pretrained: {type(exc).__name__})"


def frames_per_second(recognizer: EmotionRecognizer, frame: np.ndarray, frames: int) -> tuple[float, float, float]:
    """Frames per second (wall clock and per CPU-second) of the whole pipeline, and faces found per frame."""
    for _ in range(5):  # warm-up: Keras traces the model on its first calls
        annotate(frame, recognizer.predict(frame))
    faces, start, cpu = 0, time.perf_counter(), time.process_time()
    for _ in range(frames):
        results = recognizer.predict(frame)
        draw_fps(annotate(frame, results), 30.0)
        faces += len(results)
    return frames / (time.perf_counter() - start), frames / (time.process_time() - cpu), faces / frames


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--model", default=None, help="model file (default: pretrained, else untrained default CNN)")
    args = p.parse_args(argv)
    import cv2

    model, model_name = load_model(args.model)
    frame = make_frame()
    print(f"model: {model_name}, {model.count_params():,} parameters; frame {frame.shape[1]}x{frame.shape[0]}, one "
          f"face; {args.frames} frames per setting; CPU cores: {os.cpu_count()}, OpenCV threads: {cv2.getNumThreads()}")
    for name, setting in SETTINGS.items():
        fps, cpu_fps, faces = frames_per_second(EmotionRecognizer(model, FaceDetector(**setting)), frame, args.frames)
        print(f"{name:38} {fps:6.1f} frames/s  {cpu_fps:6.1f} per CPU-second  faces/frame {faces:.2f}", flush=True)
    print(f"webcam settings: {'meet' if fps >= 30 else 'miss'} the 30 frames/s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
