"""Find faces in photos and video, label their emotions, and draw the result.

The pipeline
------------
1. :class:`FaceDetector` finds faces with OpenCV's Haar cascade (``haarcascade_frontalface_default.xml``) on a gray
   copy of the image. Images larger than ``max_side`` (1280 px by default) are shrunk for
   detection and the boxes are mapped back to the original pixels, so an 8000x8000 photo takes about as long as a
   1280x1280 one. The price: faces smaller than about ``24 * longest_side / max_side`` pixels (the cascade's 24x24
   window, scaled back) are not found.
2. :class:`EmotionRecognizer` cuts each face out of the *original* image and classifies all of them in one batch
   with :func:`fer_helpers.inference.predict_proba`, which sends every crop through the shared
   :func:`fer_helpers.preprocessing.prepare_face` (gray, 48x48, 0..255): exactly what the model saw in training.
3. :func:`annotate` draws a box, the label with its probability and, where a font with emoji glyphs is installed,
   the emoji of the emotion.

:meth:`EmotionRecognizer.process_video` runs the same on a video file or a camera, :func:`snapshot_or_fallback` takes
a webcam photo in Google Colab (or uses a stand-in photo elsewhere) and :func:`predict_cli` is ``python -m fer_helpers
predict``.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .atomic import dumps_json
from .inference import predict_proba
from .labels import EMOJIS, EMOTIONS
from .preprocessing import to_gray, to_uint8

#: The cascade shipped with opencv-python 4.x under ``cv2.data.haarcascades``.
CASCADE_NAME = "haarcascade_frontalface_default.xml"
#: Longest side of the image the detector works on; larger images are shrunk for detection only.
DEFAULT_MAX_SIDE = 1280

#: One BGR colour per class name (keyed by name, so the label order stays defined only in ``labels.py``).
COLORS: dict[str, tuple[int, int, int]] = {
    "Angry": (40, 40, 220), "Disgust": (40, 160, 40), "Fear": (160, 60, 160), "Happy": (0, 210, 255),
    "Sad": (200, 110, 30), "Surprise": (0, 140, 255), "Neutral": (170, 170, 170),
}


# ------------------------------------------------------------------------------------------------------------ images
def _is_pil(image) -> bool:
    return hasattr(image, "mode") and hasattr(image, "size") and hasattr(image, "convert")


def load_image(image) -> np.ndarray:
    """An image as a NumPy array in OpenCV's layout: BGR ``(H, W, 3)``, BGRA ``(H, W, 4)`` or gray ``(H, W)``.

    ``image`` may be a file path (read as BGR with its EXIF orientation applied), a NumPy array (BGR, BGRA or gray,
    any dtype ``prepare_face`` accepts; returned unchanged) or a PIL image (RGB/RGBA converted to BGR/BGRA, "L"
    kept gray). A missing file raises ``FileNotFoundError``; an empty or unreadable file ``ValueError``, naming it.
    """
    import cv2

    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.exists():
            raise FileNotFoundError(f"image not found: {path}")
        if path.is_dir():
            raise ValueError(f"{path} is a directory, not an image")
        if path.stat().st_size == 0:
            raise ValueError(f"image file {path} is empty (0 bytes)")
        data = np.fromfile(path, dtype=np.uint8)  # imdecode, unlike imread, copes with non-ASCII paths everywhere
        array = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if array is None:
            raise ValueError(f"{path} is not an image OpenCV can read (cv2.imread returned None): corrupt, or not "
                             "an image format such as JPEG or PNG")
        return array
    if _is_pil(image):
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)
        if image.mode == "L":
            return np.asarray(image).copy()
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            return cv2.cvtColor(np.asarray(image.convert("RGBA")), cv2.COLOR_RGBA2BGRA)
        return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
    array = np.asarray(image)
    if array.dtype == object or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ValueError(f"expected an image path, a PIL image or an array (H, W), (H, W, 3) or (H, W, 4); "
                         f"got {type(image).__name__} with shape {getattr(array, 'shape', None)}")
    if array.size == 0:
        raise ValueError(f"image is empty (shape {array.shape})")
    return array


def to_bgr(image) -> np.ndarray:
    """A BGR uint8 copy of any image :func:`load_image` accepts (what :func:`annotate` draws on)."""
    import cv2

    array = to_uint8(load_image(image))
    if array.ndim == 2 or array.shape[2] == 1:
        return cv2.cvtColor(np.ascontiguousarray(array.reshape(array.shape[:2])), cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 4:
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGRA2BGR)
    return np.array(array, copy=True)


def gray_uint8(image: np.ndarray) -> np.ndarray:
    """A BGR(A) or gray image as 2-D gray uint8, what the face detector reads."""
    return to_uint8(to_gray(image, "bgr"))


# ---------------------------------------------------------------------------------------------------------- detection
def default_cascade_path() -> Path:
    """Path of OpenCV's frontal-face Haar cascade (``cv2.data.haarcascades``)."""
    import cv2

    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not folder:
        raise FileNotFoundError(
            f"OpenCV {cv2.__version__} has no cv2.data.haarcascades: OpenCV 5 no longer bundles the Haar cascades. "
            f"Install opencv-python<5 (this project pins 4.x), or download {CASCADE_NAME} from "
            "https://github.com/opencv/opencv/tree/4.x/data/haarcascades and pass cascade_path=..."
        )
    return Path(folder) / CASCADE_NAME


class FaceDetector:
    """OpenCV's Haar-cascade face detector with its three tuning knobs.

    ``scale_factor`` (``detectMultiScale(scaleFactor=)``): how much the search window grows per step; closer to 1
    finds more faces and is slower (1.1 is usual, 1.2-1.3 for video). ``min_neighbors`` (``minNeighbors=``): how many
    overlapping hits a face needs; higher means fewer false faces and more missed ones. ``min_size``
    (``minSize=``, in pixels of the original image): smaller candidates are ignored, which also saves time.
    ``max_side``: larger images are shrunk to this longest side for detection (``None``: never), boxes are returned in
    original pixels. ``equalize``: equalise the histogram first (can help in dim or flat light; off by default, it
    also loses some well-lit faces).
    """

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: tuple[int, int] = (48, 48),
                 max_side: int | None = DEFAULT_MAX_SIDE, cascade_path=None, equalize: bool = False):
        import cv2

        if not scale_factor > 1.0:
            raise ValueError(f"scale_factor must be > 1 (e.g. 1.1), got {scale_factor!r}")
        if int(min_neighbors) != min_neighbors or min_neighbors < 0:
            raise ValueError(f"min_neighbors must be a non-negative integer, got {min_neighbors!r}")
        min_size = tuple(int(v) for v in min_size)
        if len(min_size) != 2 or min(min_size) < 1:
            raise ValueError(f"min_size must be (width, height) in pixels, got {min_size!r}")
        if max_side is not None and max_side < 32:
            raise ValueError(f"max_side must be at least 32 pixels (or None), got {max_side!r}")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = min_size
        self.max_side = None if max_side is None else int(max_side)
        self.equalize = bool(equalize)
        path = default_cascade_path() if cascade_path is None else Path(cascade_path)
        if not path.exists():
            raise FileNotFoundError(f"Haar cascade file not found: {path}")
        if path.stat().st_size == 0:
            raise ValueError(f"Haar cascade file {path} is empty (0 bytes)")
        self.cascade_path = path
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError) as exc:  # OpenCV raises from inside the constructor on malformed XML
            raise ValueError(f"could not load the Haar cascade {path}: not an OpenCV cascade XML file ({exc})") \
                from None
        if self._cascade.empty():
            raise ValueError(f"could not load the Haar cascade {path}: not an OpenCV cascade XML file")

    def __repr__(self) -> str:
        return (f"FaceDetector(scale_factor={self.scale_factor}, min_neighbors={self.min_neighbors}, "
                f"min_size={self.min_size}, max_side={self.max_side})")

    def detect(self, image) -> np.ndarray:
        """Face boxes ``(K, 4)`` as int ``(x, y, w, h)`` in the image's pixels, left to right; ``(0, 4)`` if none."""
        import cv2

        gray = gray_uint8(load_image(image))
        h, w = gray.shape
        scale = 1.0
        if self.max_side is not None and max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
            gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if self.equalize:
            gray = cv2.equalizeHist(gray)
        min_size = (max(1, round(self.min_size[0] * scale)), max(1, round(self.min_size[1] * scale)))
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=min_size
        )
        if len(found) == 0:
            return np.zeros((0, 4), dtype=int)
        boxes = np.rint(np.asarray(found, dtype=np.float64) / scale).astype(int)
        boxes[:, 0] = boxes[:, 0].clip(0, w - 1)
        boxes[:, 1] = boxes[:, 1].clip(0, h - 1)
        boxes[:, 2] = np.minimum(boxes[:, 2], w - boxes[:, 0]).clip(1)
        boxes[:, 3] = np.minimum(boxes[:, 3], h - boxes[:, 1]).clip(1)
        return boxes[np.lexsort((boxes[:, 1], boxes[:, 0]))]

    __call__ = detect

    def detect_near(self, image, boxes, margin: float = 0.5, face_px: int = 60) -> np.ndarray:
        """Look for each face again only near its previous box (for video: a face moves little between frames).

        Searches a window ``margin`` box-widths larger on every side, shrunk so the face is about ``face_px``
        pixels, for faces between 0.6 and 1.6 times the old size: a small fraction of a full-frame search. Returns
        the boxes found (at most one per old box), like :meth:`detect`.
        """
        import cv2

        gray_full = gray_uint8(load_image(image))
        H, W = gray_full.shape
        found = []
        for x, y, w, h in np.asarray(boxes, dtype=int).reshape(-1, 4):
            m = int(round(margin * max(w, h)))
            x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(W, x + w + m), min(H, y + h + m)
            roi = gray_full[y0:y1, x0:x1]
            if roi.size == 0:
                continue
            scale = min(1.0, face_px / max(w, 1))
            if scale < 1.0:
                roi = cv2.resize(roi, (max(1, round(roi.shape[1] * scale)), max(1, round(roi.shape[0] * scale))),
                                 interpolation=cv2.INTER_AREA)
            if self.equalize:
                roi = cv2.equalizeHist(roi)
            lo = max(self.min_size[0] * scale, 0.6 * w * scale)
            hi = max(lo + 1, 1.6 * w * scale)
            hits = self._cascade.detectMultiScale(roi, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                                  minSize=(int(lo), int(lo)), maxSize=(int(hi), int(hi)))
            if len(hits) == 0:
                continue
            hits = np.asarray(hits, dtype=np.float64) / scale + [x0, y0, 0, 0]
            centre = np.array([x + w / 2, y + h / 2])
            best = hits[np.argmin(np.linalg.norm(hits[:, :2] + hits[:, 2:] / 2 - centre, axis=1))]
            found.append(np.rint(best).astype(int))
        if not found:
            return np.zeros((0, 4), dtype=int)
        out = np.array(found)
        out[:, 2] = np.minimum(out[:, 2], W - out[:, 0])
        out[:, 3] = np.minimum(out[:, 3], H - out[:, 1])
        return out[np.lexsort((out[:, 1], out[:, 0]))]


class FaceTracker:
    """A stateful detector for video: a full :class:`FaceDetector` search every ``redetect_every`` frames (and
    whenever a face is lost), and in between only a search near the faces of the previous frame
    (:meth:`FaceDetector.detect_near`). Much faster; a new face entering the picture is picked up at the next full
    search. Use it as ``EmotionRecognizer(detector=FaceTracker())`` or ``process_video(..., track=True)``.
    """

    def __init__(self, detector: FaceDetector | None = None, redetect_every: int = 10, margin: float = 0.5):
        if int(redetect_every) != redetect_every or redetect_every < 1:
            raise ValueError(f"redetect_every must be a positive integer, got {redetect_every!r}")
        self.detector = detector if detector is not None else FaceDetector()
        self.redetect_every = int(redetect_every)
        self.margin = float(margin)
        self.full_searches = 0
        self.reset()

    def reset(self) -> None:
        """Forget the previous faces: the next frame gets a full search."""
        self._boxes = np.zeros((0, 4), dtype=int)
        self._since_full = None

    def detect(self, image) -> np.ndarray:
        due = self._since_full is None or self._since_full + 1 >= self.redetect_every or len(self._boxes) == 0
        if not due:
            boxes = self.detector.detect_near(image, self._boxes, self.margin)
            if len(boxes) == len(self._boxes):
                self._boxes, self._since_full = boxes, self._since_full + 1
                return boxes
        self._boxes = self.detector.detect(image)  # first frame, due, or a face was lost: search everything
        self._since_full = 0
        self.full_searches += 1
        return self._boxes

    __call__ = detect


# ------------------------------------------------------------------------------------------------------ classification
@dataclass(frozen=True)
class FaceResult:
    """One detected face: its box ``(x, y, w, h)`` in image pixels and what the model thinks of it."""

    box: tuple[int, int, int, int]
    label: str
    label_index: int
    probability: float
    probabilities: dict[str, float] = field(repr=False, hash=False)

    @property
    def emoji(self) -> str:
        return EMOJIS[self.label_index]

    def to_dict(self) -> dict:
        """JSON-ready: ``{"box": [x, y, w, h], "label", "label_index", "probability", "probabilities"}``."""
        return {
            "box": [int(v) for v in self.box],
            "label": self.label,
            "label_index": int(self.label_index),
            "probability": float(self.probability),
            "probabilities": {k: float(v) for k, v in self.probabilities.items()},
        }


def _default_model():
    """The shipped model (``fer_helpers.pretrained.load_pretrained``), with a clear error where there is none."""
    hint = "pass a model file instead (EmotionRecognizer(model='model.keras'), or --model PATH on the command line)"
    try:
        from . import pretrained
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.pretrained":
            raise
        raise FileNotFoundError(f"no pretrained model: this installation has no fer_helpers.pretrained; {hint}") \
            from exc
    try:
        return pretrained.load_pretrained()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"the pretrained model could not be found ({exc}); {hint}") from exc
    except Exception as exc:
        raise ValueError(f"the pretrained model could not be loaded ({type(exc).__name__}: {exc}); {hint}") from exc


class EmotionRecognizer:
    """Detect faces and classify their emotions: ``EmotionRecognizer(model)(image) -> [FaceResult, ...]``.

    ``model``: a Keras model, a model file (``.keras``, ``.h5`` or ``.json``; see :func:`fer_helpers.saving.load_model`)
    or ``None`` for the shipped pretrained model. ``detector``: a :class:`FaceDetector`; when not given one is built
    from ``scale_factor``, ``min_neighbors``, ``min_size`` and ``max_side``. ``tta``: flip test-time augmentation.
    """

    def __init__(self, model=None, detector: FaceDetector | None = None, scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_size: tuple[int, int] = (48, 48), tta: bool = False,
                 max_side: int | None = DEFAULT_MAX_SIDE):
        if model is None:
            model = _default_model()
        elif isinstance(model, (str, os.PathLike)):
            from .saving import load_face_model

            model = load_face_model(model)  # errors name the file
        else:
            from .saving import check_face_model

            check_face_model(model, f"EmotionRecognizer(model={getattr(model, 'name', model)!r})")
        self.model = model
        self.detector = detector if detector is not None else FaceDetector(
            scale_factor=scale_factor, min_neighbors=min_neighbors, min_size=min_size, max_side=max_side
        )
        self.tta = bool(tta)

    @property
    def model(self):
        """The Keras model."""
        return self._model

    @model.setter
    def model(self, model) -> None:
        if not hasattr(model, "output_shape") or not callable(model):
            raise TypeError(f"model must be a Keras model or a model file path, got {type(model).__name__}")
        self._model = model

    def classify(self, image, boxes) -> list[FaceResult]:
        """Classify the faces at ``boxes`` (``(x, y, w, h)`` rows) of ``image``, all in one batch."""
        image = load_image(image)
        boxes = np.asarray(boxes, dtype=int).reshape(-1, 4)
        if len(boxes) == 0:
            return []
        crops = [image[y:y + h, x:x + w] for x, y, w, h in boxes]
        probs = predict_proba(self.model, crops, tta=self.tta)
        results = []
        for box, p in zip(boxes, probs):
            k = int(np.argmax(p))
            results.append(FaceResult(
                box=tuple(int(v) for v in box), label=EMOTIONS[k], label_index=k, probability=float(p[k]),
                probabilities={name: float(v) for name, v in zip(EMOTIONS, p)},
            ))
        return results

    def predict(self, image) -> list[FaceResult]:
        """Faces in ``image`` (path, BGR/BGRA/gray array or PIL image) with their emotions; ``[]`` if none."""
        image = load_image(image)
        return self.classify(image, self.detector.detect(image))

    __call__ = predict

    def annotate(self, image, results: Sequence[FaceResult] | None = None) -> np.ndarray:
        """Annotated BGR copy of ``image`` (detecting and classifying first when ``results`` is not given)."""
        image = load_image(image)
        return annotate(image, self.predict(image) if results is None else results)

    def process_video(self, source, output=None, every_n: int = 1, show: bool | None = None,
                      max_frames: int | None = None, on_frame: Callable | None = None, track: bool = False) -> dict:
        """See :func:`process_video`."""
        return process_video(source, output=output, every_n=every_n, show=show, max_frames=max_frames,
                             recognizer=self, on_frame=on_frame, track=track)


# ------------------------------------------------------------------------------------------------------------ drawing
_EMOJI_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf",
    "C:/Windows/Fonts/seguiemj.ttf",
    "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
    "/usr/share/fonts/truetype/ancient-scripts/Symbola.ttf",
    "/usr/share/fonts/TTF/Symbola.ttf",
    "/usr/share/fonts/gdouros-symbola/Symbola.ttf",
    "/Library/Fonts/Symbola.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "C:/Windows/Fonts/seguisym.ttf",
)


def _font_candidates() -> list[Path]:
    paths = [Path(p) for p in _EMOJI_FONT_CANDIDATES]
    try:  # matplotlib (a dependency) ships DejaVu Sans, which has most of the face emojis in black and white
        import matplotlib

        paths.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    except ImportError:  # pragma: no cover
        pass
    return paths


@functools.lru_cache(maxsize=None)
def emoji_fonts() -> tuple[tuple[str, frozenset], ...]:
    """Installed fonts that have emoji glyphs, with the class emojis each one covers (best fonts first)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:  # pragma: no cover - fontTools comes with matplotlib
        return ()
    found = []
    for path in _font_candidates():
        if not path.is_file():
            continue
        try:
            font = TTFont(str(path), lazy=True, fontNumber=0)
            cmap = font.getBestCmap() or {}
        except Exception:
            continue
        covered = frozenset(e for e in EMOJIS if all(ord(c) in cmap for c in e))
        if covered:
            found.append((str(path), covered))
    return tuple(found)


@functools.lru_cache(maxsize=256)
def _emoji_sprite(emoji: str, height: int, color: tuple[int, int, int]) -> np.ndarray | None:
    """The emoji rendered as a BGRA image ``height`` pixels tall, or None when no installed font has it."""
    import cv2
    from PIL import Image, ImageDraw, ImageFont

    for path, covered in emoji_fonts():
        if emoji not in covered:
            continue
        font = None
        for size in (max(height * 2, 32), 109):  # 109 px: the only size of bitmap fonts such as Noto Color Emoji
            try:
                font = ImageFont.truetype(path, size)
                break
            except OSError:
                continue
        if font is None:
            continue
        try:
            left, top, right, bottom = font.getbbox(emoji)
            if right <= left or bottom <= top:
                continue
            canvas = Image.new("RGBA", (right - left + 2, bottom - top + 2), (0, 0, 0, 0))
            ImageDraw.Draw(canvas).text((-left + 1, -top + 1), emoji, font=font, embedded_color=True,
                                        fill=(color[2], color[1], color[0], 255))
        except Exception:  # a font FreeType cannot render (e.g. missing PNG support for colour bitmaps)
            continue
        rgba = np.asarray(canvas)
        if rgba[:, :, 3].max() == 0:
            continue
        w = max(1, round(rgba.shape[1] * height / rgba.shape[0]))
        rgba = cv2.resize(rgba, (w, height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
    return None


def _blend(canvas: np.ndarray, sprite: np.ndarray, x: int, y: int) -> int:
    """Alpha-blend a BGRA sprite onto a BGR canvas at (x, y), clipped; returns the width drawn."""
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return 0
    part = sprite[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
    alpha = part[:, :, 3:4] / 255.0
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = np.rint(part[:, :, :3] * alpha + region * (1 - alpha)).astype(np.uint8)
    return x1 - x0


def annotate(image, results: Sequence[FaceResult], emoji: bool = True, thickness: int | None = None) -> np.ndarray:
    """A BGR uint8 copy of ``image`` with each face's box and ``"Happy 93%"`` label drawn on it.

    The label is written with ``cv2.putText`` (always); with ``emoji=True`` the emotion's emoji is drawn next to it
    with PIL when an installed font has that glyph (see :func:`emoji_fonts`; skipped silently otherwise).
    """
    import cv2

    canvas = to_bgr(image)
    H, W = canvas.shape[:2]
    for r in results:
        x, y, w, h = (int(v) for v in r.box)
        color = COLORS[r.label]
        t = thickness or max(1, round(min(W, H) / 320))
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, t, cv2.LINE_AA)
        text = f"{r.label} {r.probability:.0%}"
        font_scale = float(np.clip(w / 160, 0.45, 3.0))
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, t)
        band = th + baseline + 6
        top = y - band if y - band >= 0 else min(y + h, H - band)  # above the box, else below it
        top = max(top, 0)
        text_color = (0, 0, 0) if sum(color) > 380 else (255, 255, 255)
        sprite = _emoji_sprite(r.emoji, max(8, band - 4), text_color) if emoji else None
        extra = 0 if sprite is None else sprite.shape[1] + 4
        cv2.rectangle(canvas, (x, top), (x + tw + 6 + extra, top + band), color, cv2.FILLED)
        cv2.putText(canvas, text, (x + 3, top + th + 3), cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_color, t,
                    cv2.LINE_AA)
        if sprite is not None:
            _blend(canvas, sprite, x + tw + 6, top + 2)
    return canvas


def draw_fps(frame: np.ndarray, fps: float) -> np.ndarray:
    """Write ``"FPS 29.7"`` in the top-left corner of ``frame`` (in place) and return it."""
    import cv2

    text = f"FPS {fps:.1f}"
    scale = max(0.5, frame.shape[0] / 720)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(frame, (0, 0), (tw + 10, th + base + 10), (0, 0, 0), cv2.FILLED)
    cv2.putText(frame, text, (5, th + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 255, 0), 1, cv2.LINE_AA)
    return frame


# -------------------------------------------------------------------------------------------------------------- video
def _opencv_has_gui() -> bool:
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("", "NONE")
    return True


def display_available() -> bool:
    """Whether ``cv2.imshow`` can open a window: a desktop session (``DISPLAY``/``WAYLAND_DISPLAY`` on Linux) and
    an OpenCV built with a GUI backend (``opencv-python-headless`` has none). False in Colab and on servers."""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
    if "google.colab" in sys.modules:
        return False
    return _opencv_has_gui()


def _open_capture(source):
    import cv2

    if isinstance(source, str) and source.strip().isdigit():
        source = int(source)
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        cap = cv2.VideoCapture(int(source))
        if not cap.isOpened():
            raise OSError(f"camera {int(source)} could not be opened (no such camera, or it is in use)")
        return cap, f"camera {int(source)}"
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"video not found: {path}")
    if path.is_dir() or path.stat().st_size == 0:
        raise ValueError(f"{path} is not a video file ({'a directory' if path.is_dir() else 'empty, 0 bytes'})")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path} is not a video OpenCV can read")
    return cap, str(path)


def open_video_writer(path: Path, fps: float, size: tuple[int, int]):
    """An OpenCV ``VideoWriter`` for ``path`` (.mp4, .m4v, .mov or .avi); errors name the file."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    codec = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v"}.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"output video must end in .mp4, .m4v, .mov or .avi, got {path}")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    if not writer.isOpened():
        raise OSError(f"could not open {path} for writing ({codec} codec)")
    return writer


def process_video(source, output=None, every_n: int = 1, show: bool | None = None, max_frames: int | None = None,
                  recognizer: EmotionRecognizer | None = None, model=None,
                  on_frame: Callable | None = None, track: bool = False) -> dict:
    """Run the recogniser on a video file or camera and optionally write the annotated video.

    ``source``: a video path, or a camera index (``0`` is the default webcam). ``output``: annotated video to write
    (``.mp4`` with the ``mp4v`` codec, or ``.avi``), at the source's frame rate. ``every_n``: classify every n-th
    frame only and draw the last results on the frames in between (faces move little between frames; this multiplies
    the frame rate). ``show``: display frames with ``cv2.imshow`` (press q or Esc to stop); ``None`` means only when a
    display is available (:func:`display_available`), so it never needs a window. ``max_frames``: stop after this
    many frames (a camera runs until then, or until q). ``on_frame(index, annotated_frame, results)`` is called for
    every frame (e.g. to show frames in a notebook). ``track=True`` searches the whole frame only every 10th
    classified frame and otherwise just near the last faces (:class:`FaceTracker`): several times faster.

    Every frame gets an ``FPS`` counter (a running average of the processing rate). Returns statistics: ``frames``,
    ``classified_frames``, ``faces`` (detections on classified frames), ``elapsed_s``, ``fps`` (frames per second
    of processing), ``source_fps``, ``size`` (width, height), ``output``.
    """
    import cv2

    if int(every_n) != every_n or every_n < 1:
        raise ValueError(f"every_n must be a positive integer, got {every_n!r}")
    if max_frames is not None and max_frames < 0:
        raise ValueError(f"max_frames must be >= 0, got {max_frames!r}")
    if recognizer is None:
        recognizer = EmotionRecognizer(model=model)
    cap, name = _open_capture(source)
    detector = recognizer.detector
    if track and not isinstance(detector, FaceTracker):
        recognizer.detector = FaceTracker(detector)
    elif isinstance(detector, FaceTracker):
        detector.reset()
    source_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not math.isfinite(source_fps) or not 0 < source_fps <= 240:
        source_fps = 30.0
    show = display_available() if show is None else bool(show)
    output = None if output is None else Path(output)
    writer = None
    window = "fer_helpers: emotions (q to quit)"
    frames = classified = faces = 0
    results: list[FaceResult] = []
    smoothed = None
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    start = last = time.perf_counter()
    try:
        while max_frames is None or frames < max_frames:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if frames % every_n == 0:
                results = recognizer.predict(frame)
                classified += 1
                faces += len(results)
            annotated = annotate(frame, results)
            now = time.perf_counter()
            instant = 1.0 / max(now - last, 1e-6)
            last = now
            smoothed = instant if smoothed is None else 0.9 * smoothed + 0.1 * instant
            draw_fps(annotated, smoothed)
            size = (annotated.shape[1], annotated.shape[0])
            if output is not None:
                if writer is None:
                    writer = open_video_writer(output, source_fps, size)
                writer.write(annotated)
            if on_frame is not None:
                on_frame(frames, annotated, results)
            frames += 1
            if show:
                try:
                    cv2.imshow(window, annotated)
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
                except cv2.error as exc:
                    warnings.warn(f"cannot show video frames ({exc}); continuing without a window")
                    show = False
    finally:
        elapsed = time.perf_counter() - start
        recognizer.detector = detector
        cap.release()
        if writer is not None:
            writer.release()
        if show:
            try:
                cv2.destroyWindow(window)
            except cv2.error:
                pass
    if frames == 0 and not name.startswith("camera"):
        raise ValueError(f"could not read any frame from {name}")
    return {
        "frames": frames,
        "classified_frames": classified,
        "faces": faces,
        "elapsed_s": elapsed,
        "fps": frames / elapsed if elapsed > 0 else 0.0,
        "source_fps": source_fps,
        "size": size,
        "output": None if writer is None else str(output),
    }


# -------------------------------------------------------------------------------------------------------------- Colab
_TAKE_PHOTO_JS = """
async function takePhoto(quality) {
  const div = document.createElement('div');
  const capture = document.createElement('button');
  capture.textContent = 'Capture';
  div.appendChild(capture);

  const video = document.createElement('video');
  video.style.display = 'block';
  const stream = await navigator.mediaDevices.getUserMedia({video: true});

  document.body.appendChild(div);
  div.appendChild(video);
  video.srcObject = stream;
  await video.play();

  // Resize the output to fit the video element.
  google.colab.output.setIframeHeight(document.documentElement.scrollHeight, true);

  // Wait for Capture to be clicked.
  await new Promise((resolve) => capture.onclick = resolve);

  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop();
  div.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


def webcam_snapshot(path="webcam.jpg", quality: float = 0.8) -> Path:
    """Take a photo with the webcam of the browser running Google Colab and save it as JPEG at ``path``.

    Shows the camera and a Capture button in the cell's output (the browser asks for permission first). Works only
    in Colab: ``ImportError`` elsewhere (see :func:`snapshot_or_fallback`).
    """
    from google.colab.output import eval_js  # ImportError outside Colab

    if not 0 < quality <= 1:
        raise ValueError(f"quality must be in (0, 1], got {quality!r}")
    try:
        from IPython.display import Javascript, display

        display(Javascript(_TAKE_PHOTO_JS))
        data_url = eval_js(f"takePhoto({quality})")
    except ImportError:  # pragma: no cover - Colab always has IPython; define the function in the same call
        data_url = eval_js(_TAKE_PHOTO_JS + f"\ntakePhoto({quality})")
    if not isinstance(data_url, str) or "," not in data_url:
        raise ValueError("the browser returned no photo (was the camera blocked?)")
    binary = base64.b64decode(data_url.split(",", 1)[1])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(binary)
    return path


def sample_photo() -> np.ndarray:
    """The bundled stand-in photo: scikit-image's public-domain astronaut portrait (Eileen Collins), as BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def snapshot_or_fallback(path="webcam.jpg", quality: float = 0.8, fallback=None, webcam: bool = True) -> np.ndarray:
    """A webcam photo in Colab; elsewhere (or if the camera fails) ``fallback`` or the astronaut photo. BGR array.

    Outside Colab there is no browser camera to reach from Python, so it prints a message and uses the uploaded
    image ``fallback`` (a path) if given, else the bundled astronaut portrait (:func:`sample_photo`). With
    ``webcam=False`` (notebook 7's ``USE_WEBCAM`` left unticked) the camera is not asked for at all, so a Run all
    never waits for a click.
    """
    in_colab = sys.modules.get("google.colab") is not None
    if not webcam:
        reason = ("the webcam is off (tick USE_WEBCAM and run this cell again to take a snapshot)" if in_colab
                  else "not running in Google Colab, so there is no browser webcam")
    else:
        try:
            return load_image(webcam_snapshot(path, quality))
        except ImportError:
            reason = "not running in Google Colab, so there is no browser webcam"
        except Exception as exc:  # camera blocked, no camera, user closed the tab...
            reason = f"the webcam photo failed ({type(exc).__name__}: {exc})"
    if fallback is not None:
        image = load_image(fallback)
        print(f"{reason}: using the uploaded image {fallback} instead")
        return image if image.ndim == 3 and image.shape[2] == 3 else to_bgr(image)
    print(f"{reason}: using the bundled astronaut photo (skimage.data.astronaut) instead")
    return sample_photo()


def photo_from_user(path=None, upload: bool = False) -> str | None:
    """The learner's own photo for notebook 7: ``path`` if given, else on Colab with ``upload`` a file chooser.

    Returns the path of the photo, or None (with a message that fits where the notebook runs) when there is none:
    no path set, the upload not asked for (``UPLOAD_PHOTO`` unticked, so a Run all never waits for a click), or the
    upload cancelled. The uploaded file lands in the current folder, as Colab's ``files.upload`` saves it.
    """
    if path:
        return str(path)
    if sys.modules.get("google.colab") is None:
        print("no photo given: set MY_PHOTO to the path of a photo")
        return None
    if not upload:
        print("no photo given: tick UPLOAD_PHOTO and run this cell again to choose one (or set MY_PHOTO to a path)")
        return None
    from google.colab import files

    uploaded = files.upload()  # a file chooser appears below the cell
    if not uploaded:
        print("the upload was cancelled: run this cell again to choose a photo")
        return None
    return next(iter(uploaded))


# ---------------------------------------------------------------------------------------------------------------- CLI
def _annotated_paths(images: Sequence[str], out: str | None) -> list[Path | None]:
    if out is None:
        return [None] * len(images)
    out_path = Path(out)
    if len(images) == 1 and not out_path.is_dir() and out_path.suffix:
        return [out_path]
    out_path.mkdir(parents=True, exist_ok=True)
    paths, used = [], set()
    for image in images:
        src = Path(image)
        suffix = src.suffix.lower() if src.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp") else ".png"
        candidate = out_path / f"{src.stem}_annotated{suffix}"
        i = 1
        while candidate in used:
            candidate = out_path / f"{src.stem}_annotated_{i}{suffix}"
            i += 1
        used.add(candidate)
        paths.append(candidate)
    return paths


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def check_image_suffix(path, what: str = "image") -> None:
    """ValueError naming ``what`` and ``path`` unless OpenCV can write an image under that suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"{what} {path}: cannot write an image as {suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)}")


def write_image(path, image: np.ndarray) -> Path:
    """Write an image with OpenCV (format from the extension), with a clear error when that fails."""
    import cv2

    from .atomic import atomic_path

    path = Path(path)
    ext = path.suffix or ".png"
    try:
        ok, data = cv2.imencode(ext, image)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"cannot write {path}: OpenCV has no encoder for {ext!r}")
    with atomic_path(path) as tmp:
        data.tofile(tmp)
    return path


def predict_cli(args) -> int:
    """``python -m fer_helpers predict IMAGE... [--model PATH] [--out FILE] [--json] [--tta]``.

    Prints, per image, its faces (with ``--json`` one JSON object per line:
    ``{"image": path, "faces": [{"box": [x, y, w, h], "label": name, "probabilities": {name: p}}]}``) and, with
    ``--out``, writes the annotated image (into a folder, as ``<name>_annotated.<ext>``, when there are several
    images or ``--out`` is a folder or has no extension).
    """
    images = list(args.images)
    out = getattr(args, "out", None)
    if out is not None and len(images) == 1 and Path(out).suffix and not Path(out).is_dir():
        check_image_suffix(out, "--out")  # before any work, not after the prediction
    recognizer = EmotionRecognizer(model=getattr(args, "model", None), tta=bool(getattr(args, "tta", False)))
    outs = _annotated_paths(images, getattr(args, "out", None))
    as_json = bool(getattr(args, "json", False))
    for image_path, out in zip(images, outs):
        image = load_image(image_path)
        results = recognizer.predict(image)
        if as_json:
            faces = [{"box": d["box"], "label": d["label"], "probabilities": d["probabilities"]}
                     for d in (r.to_dict() for r in results)]
            print(dumps_json({"image": str(image_path), "faces": faces}), flush=True)
        else:
            print(f"{image_path}: {len(results)} face{'s' if len(results) != 1 else ''}")
            for r in results:
                print(f"  {r.label:<8} {r.probability:6.1%}  box (x={r.box[0]}, y={r.box[1]}, w={r.box[2]}, "
                      f"h={r.box[3]})")
        if out is not None:
            write_image(out, annotate(image, results))
            print(f"wrote {out}", file=sys.stderr if as_json else sys.stdout)
    return 0
