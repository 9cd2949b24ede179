"""One preprocessing path shared by training and inference.

Every model of the package takes raw 48x48 single-channel faces with pixel values 0..255, shape ``(N, 48, 48, 1)``,
and scales them itself with a ``Rescaling(1/255)`` layer. :func:`prepare_face` turns any image or face crop into
exactly that; the loaders and the recogniser both go through it. :func:`normalize` shows what the Rescaling layer
does; a model never needs it.
"""

from __future__ import annotations

import numpy as np

#: Side of the square faces of FER2013, in pixels.
FACE_SIZE: int = 48
#: Shape of one model input.
INPUT_SHAPE: tuple[int, int, int] = (FACE_SIZE, FACE_SIZE, 1)


def to_gray(image: np.ndarray, color: str = "bgr") -> np.ndarray:
    """A 2-D gray copy of a gray, BGR(A) or RGB(A) image (``color``: ``"bgr"`` or ``"rgb"``)."""
    import cv2

    channels = image.shape[2] if image.ndim == 3 else 0
    if image.ndim not in (2, 3) or channels not in (0, 1, 3, 4):
        raise ValueError(f"image must have 2 or 3 dimensions (H, W[, C]) and 1, 3 or 4 channels, got {image.shape}")
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if channels < 3:
        return image.reshape(image.shape[:2])
    code = getattr(cv2, f"COLOR_{color.upper()}{'A' if channels == 4 else ''}2GRAY")
    return cv2.cvtColor(np.ascontiguousarray(image), code)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 0..255: uint16 is scaled down, booleans and floats in [0, 1] are scaled up."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257.0).round().astype(np.uint8)
    if image.dtype.kind not in "biuf":
        raise TypeError(f"unsupported image dtype {image.dtype}")
    x = image if image.dtype.kind == "f" else image.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("image contains NaN or infinite values")
    if x.min() < 0 or x.max() > 255:
        raise ValueError(f"image values must lie in [0, 1] or [0, 255], got {x.min():g}..{x.max():g}; "
                         "undo any other normalisation first")
    return np.rint(x * (255.0 if x.max() <= 1 and image.dtype.kind in "bf" else 1.0)).astype(np.uint8)


def prepare_face(image, color: str = "bgr") -> np.ndarray:
    """One image or face crop (gray, BGR(A) or, with ``color="rgb"``, RGB(A); uint8, uint16 or float; any size, or a
    PIL image) as exactly what the models see: a (48, 48, 1) uint8 array. A non-square crop is stretched."""
    import cv2

    if hasattr(image, "convert"):  # a PIL image
        image = image.convert("L")
    image = np.asarray(image)
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    gray = to_uint8(to_gray(image, color))
    if gray.shape != (FACE_SIZE, FACE_SIZE):
        shrinking = max(gray.shape) > FACE_SIZE
        gray = cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.ascontiguousarray(gray).reshape(INPUT_SHAPE)


def prepare_faces(images, color: str = "bgr") -> np.ndarray:
    """:func:`prepare_face` for a batch (an array or a sequence of images of any sizes): (N, 48, 48, 1) uint8."""
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape[1:3] == (FACE_SIZE, FACE_SIZE):
        if images.ndim == 3 or images.shape[3:] == (1,):
            return images.reshape((-1, *INPUT_SHAPE))  # already what the loaders give: only reshaped
    out = np.empty((len(images), *INPUT_SHAPE), dtype=np.uint8)
    for i, image in enumerate(images):
        try:
            out[i] = prepare_face(image, color=color)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"image {i}: {exc}") from None
    return out


def normalize(images) -> np.ndarray:
    """Pixels 0..255 -> float32 in ``[0, 1]``, what a model's Rescaling layer does."""
    return np.asarray(images, dtype=np.float32) / 255.0
