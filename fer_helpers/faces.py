"""Find faces with OpenCV's Haar cascade, label their emotions with a Keras model, and draw the result.

:class:`FaceDetector` finds the faces, :class:`EmotionRecognizer` classifies them (one :class:`FaceResult` per face),
:func:`annotate` draws boxes and labels, :func:`images_figure` shows photos side by side, and :func:`predict_cli` is
``python -m fer_helpers predict``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .atomic import atomic_path, dumps_json
from .inference import predict_proba
from .labels import EMOTIONS
from .plotting import subplots
from .preprocessing import to_gray, to_uint8
from .pretrained import load_pretrained
from .saving import check_face_model, load_face_model

#: One BGR colour per emotion.
COLORS = {"Angry": (40, 40, 220), "Disgust": (40, 160, 40), "Fear": (160, 60, 160), "Happy": (0, 210, 255),
          "Sad": (200, 110, 30), "Surprise": (0, 140, 255), "Neutral": (170, 170, 170)}


# ------------------------------------------------------------------------------------------------------------ images
def load_image(image) -> np.ndarray:
    """An image in OpenCV's layout (BGR, BGRA or gray) from a file path or a NumPy array."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(Path(image))
    array = np.asarray(image)
    if array.dtype == object or array.size == 0 or array.ndim < 2 or array.shape[2:] not in ((), (1,), (3,), (4,)):
        raise ValueError(f"expected an image path or a non-empty array (H, W), (H, W, 3) or (H, W, 4); "
                         f"got {type(image).__name__} with shape {array.shape}")
    return array


def read_image(path: Path) -> np.ndarray:
    """A BGR image file, turned upright by its EXIF orientation; errors name the file."""
    data = np.fromfile(path, dtype=np.uint8)  # FileNotFoundError naming it; unlike imread, copes with any path
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError(f"{path} is not an image OpenCV can read (empty, or cv2.imread returned None)")
    return image


def to_bgr(image) -> np.ndarray:
    """A BGR uint8 copy of any image :func:`load_image` accepts."""
    array = np.ascontiguousarray(to_uint8(load_image(image)))
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels == 3:
        return array.copy()
    return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR if channels == 1 else cv2.COLOR_BGRA2BGR)


def gray_uint8(image) -> np.ndarray:
    """Any image :func:`load_image` accepts as 2-D gray uint8, what the face detector reads."""
    return to_uint8(to_gray(load_image(image), "bgr"))


def sample_photo() -> np.ndarray:
    """The bundled stand-in photo: scikit-image's public-domain astronaut portrait (Eileen Collins), as BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


# --------------------------------------------------------------------------------------------------------- detection
def default_cascade_path() -> Path:
    """Path of OpenCV's frontal-face Haar cascade, ``haarcascade_frontalface_default.xml``."""
    return Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"


class FaceDetector:
    """OpenCV's Haar-cascade face detector with ``detectMultiScale``'s three knobs.

    ``min_size`` is in pixels of the original image. Images larger than ``max_side`` are shrunk for detection
    (``None``: never); the boxes are always in the original image's pixels.
    """

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size=(48, 48),
                 max_side: int | None = 1280):
        if not (scale_factor > 1 and min_neighbors >= 0 and len(min_size) == 2 and min(min_size) >= 1
                and (max_side is None or max_side >= 32)):
            raise ValueError(f"FaceDetector needs scale_factor > 1, min_neighbors >= 0, min_size (w, h) >= 1, max_side "
                             f">= 32 or None; got {scale_factor!r}, {min_neighbors!r}, {min_size!r}, {max_side!r}")
        self.scale_factor, self.min_neighbors, self.max_side = float(scale_factor), int(min_neighbors), max_side
        self.min_size = (int(min_size[0]), int(min_size[1]))
        self.cascade = cv2.CascadeClassifier(str(default_cascade_path()))

    def __repr__(self) -> str:
        return (f"FaceDetector(scale_factor={self.scale_factor}, min_neighbors={self.min_neighbors}, "
                f"min_size={self.min_size}, max_side={self.max_side})")

    def detect(self, image) -> np.ndarray:
        """Face boxes ``(K, 4)`` as int ``(x, y, w, h)``, left to right; ``(0, 4)`` if none."""
        gray = gray_uint8(image)
        height, width = gray.shape
        scale = min(1.0, self.max_side / max(height, width)) if self.max_side else 1.0
        if scale < 1.0:
            gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        min_size = tuple(max(1, round(v * scale)) for v in self.min_size)
        found = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=min_size)
        boxes = np.rint(np.reshape(found, (-1, 4)) / scale).astype(int)
        boxes[:, 2:] = np.minimum(boxes[:, 2:], [width, height] - boxes[:, :2])  # rounding stays inside the image
        return boxes[np.lexsort((boxes[:, 1], boxes[:, 0]))]


# ---------------------------------------------------------------------------------------------------- classification
@dataclass(frozen=True)
class FaceResult:
    """One detected face: its box ``(x, y, w, h)`` and what the model thinks of it."""

    box: tuple[int, int, int, int]
    label: str
    probability: float
    probabilities: dict[str, float]


class EmotionRecognizer:
    """Detect faces and classify their emotions: ``EmotionRecognizer(model).predict(image) -> [FaceResult, ...]``.

    ``model``: a Keras model, a model file, or ``None`` for the shipped pretrained model. ``detector``: a
    :class:`FaceDetector` (default settings when not given). ``tta``: also classify the mirrored faces and average.
    """

    def __init__(self, model=None, detector: FaceDetector | None = None, tta: bool = False):
        if model is None:
            model = load_pretrained()
        elif isinstance(model, (str, os.PathLike)):
            model = load_face_model(model)
        self.model = check_face_model(model, f"EmotionRecognizer(model={getattr(model, 'name', model)!r})")
        self.detector = FaceDetector() if detector is None else detector
        self.tta = tta

    def predict(self, image) -> list[FaceResult]:
        """Faces in ``image`` (a path or a BGR, BGRA or gray array) with their emotions; ``[]`` if none."""
        image = load_image(image)
        boxes = self.detector.detect(image).tolist()
        probs = predict_proba(self.model, [image[y:y + h, x:x + w] for x, y, w, h in boxes], tta=self.tta)
        return [FaceResult(tuple(box), EMOTIONS[p.argmax()], float(p.max()), dict(zip(EMOTIONS, p.tolist())))
                for box, p in zip(boxes, probs)]


# ----------------------------------------------------------------------------------------------------------- drawing
def annotate(image, results) -> np.ndarray:
    """A BGR copy of ``image`` with each face's box and ``"Happy 93%"`` label, in the emotion's colour."""
    canvas = to_bgr(image)
    thickness = max(1, round(min(canvas.shape[:2]) / 320))
    for r in results:
        x, y, w, h = r.box
        text, scale = f"{r.label} {r.probability:.0%}", float(np.clip(w / 160, 0.45, 3.0))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        band, color = th + base + 6, COLORS[r.label]
        top = max(0, y - band if y >= band else min(y + h, canvas.shape[0] - band))  # above the box, else below
        ink = (0, 0, 0) if sum(color) > 380 else (255, 255, 255)
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, thickness, cv2.LINE_AA)
        cv2.rectangle(canvas, (x, top), (x + tw + 6, top + band), color, cv2.FILLED)
        cv2.putText(canvas, text, (x + 3, top + th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)
    return canvas


def images_figure(images, titles=None, ncols: int = 4, width: float = 2.6):
    """BGR (OpenCV) or gray images side by side, ``ncols`` per row, each ``width`` inches wide, with titles."""
    if len(images) == 0 or (titles is not None and len(titles) != len(images)):
        raise ValueError(f"need at least one image, and one title per image if any: got {len(images)} images, "
                         f"{'no' if titles is None else len(titles)} titles")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    aspect = max(im.shape[0] / im.shape[1] for im in images)
    fig, axes = subplots(nrows, ncols, figsize=(width * ncols, (width * aspect + 0.4) * nrows), squeeze=False, dpi=80)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(to_bgr(images[i])[:, :, ::-1])
            ax.set_title("" if titles is None else titles[i], fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------- predict command
def annotated_paths(images, out) -> list:
    """Where ``predict --out OUT`` writes each annotated image: OUT itself for one image and a file name, else
    ``OUT/<name>_annotated.png``; ``None`` each without ``--out``."""
    if out is None:
        return [None] * len(images)
    if len(images) == 1 and Path(out).suffix and not Path(out).is_dir():
        return [Path(out)]
    paths = [Path(out) / f"{Path(image).stem}_annotated.png" for image in images]
    if len(set(paths)) < len(paths):
        raise ValueError("two images have the same name: their annotated copies would overwrite each other in --out")
    return paths


def predict_cli(args) -> int:
    """``python -m fer_helpers predict IMAGE... [--model PATH] [--out PATH] [--json] [--tta]``."""
    recognizer = EmotionRecognizer(args.model, tta=args.tta)
    for image_path, out in zip(args.images, annotated_paths(args.images, args.out)):
        image = load_image(image_path)
        results = recognizer.predict(image)
        if args.json:
            faces = [{"box": list(r.box), "label": r.label, "probabilities": r.probabilities} for r in results]
            print(dumps_json({"image": str(image_path), "faces": faces}), flush=True)
        else:
            print(f"{image_path}: {len(results)} face{'' if len(results) == 1 else 's'}")
            for r in results:
                x, y, w, h = r.box
                print(f"  {r.label:<8} {r.probability:6.1%}  box (x={x}, y={y}, w={w}, h={h})")
        if out is not None:
            with atomic_path(out) as tmp:  # the complete file or none
                cv2.imencode(out.suffix, annotate(image, results))[1].tofile(tmp)
            print(f"wrote {out}", file=sys.stderr if args.json else sys.stdout)
    return 0
