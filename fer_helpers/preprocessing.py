"""One preprocessing path shared by training and inference.

What the model sees
-------------------
Every model in this package takes **raw 48x48 single-channel faces with pixel values in 0..255** (shape
``(N, 48, 48, 1)``, uint8 or float) and scales them itself with a ``keras.layers.Rescaling(1/255)`` layer, so a saved
model cannot be fed differently scaled input by mistake.

* :func:`prepare_face` turns any image or face crop (BGR, BGRA, RGB or gray; uint8, uint16 or float; any size) into
  exactly that: a ``(48, 48, 1)`` uint8 array.
* :func:`prepare_faces` does the same for a batch; the data loaders call it on every data set, and the recogniser
  calls :func:`prepare_face` on every detected face, so training and inference share one code path.
* :func:`normalize` maps pixels to floats in ``[0, 1]``, the range the models work in after their ``Rescaling``
  layer. The notebooks use it to show what normalisation does; you never need to call it before a model.
"""

from __future__ import annotations

import numpy as np

#: Side of the square faces of FER2013, in pixels.
FACE_SIZE: int = 48
#: Shape of one model input.
INPUT_SHAPE: tuple[int, int, int] = (FACE_SIZE, FACE_SIZE, 1)
#: Range of the pixel values that models receive (before their own Rescaling layer).
PIXEL_RANGE: tuple[int, int] = (0, 255)


def to_gray(image: np.ndarray, color: str) -> np.ndarray:
    """A 2-D gray copy of a gray, BGR(A) or RGB(A) image (``color``: ``"bgr"`` or ``"rgb"``)."""
    import cv2

    if image.ndim == 2:
        return image
    if image.ndim != 3:
        raise ValueError(f"image must have 2 or 3 dimensions (H, W[, C]), got shape {image.shape}")
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if channels == 3:
        code = cv2.COLOR_BGR2GRAY if color == "bgr" else cv2.COLOR_RGB2GRAY
    elif channels == 4:
        code = cv2.COLOR_BGRA2GRAY if color == "bgr" else cv2.COLOR_RGBA2GRAY
    else:
        raise ValueError(f"image must have 1, 3 or 4 channels, got {channels} (shape {image.shape})")
    return cv2.cvtColor(np.ascontiguousarray(image), code)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 0..255 (floats in [0, 1] and uint16 are scaled); a ValueError for values out of range."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.integer):
        if image.dtype == np.uint16:
            return (image.astype(np.float32) / 257.0).round().astype(np.uint8)
        lo, hi = int(image.min()), int(image.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"integer image values must lie in 0..255, got {lo}..{hi} ({image.dtype})")
        return image.astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ValueError("image contains NaN or infinite values")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"float image values must lie in [0, 1] or [0, 255], got {lo:g}..{hi:g}; "
                "undo any other normalisation first"
            )
        scale = 255.0 if hi <= 1.0 else 1.0
        return np.clip(np.rint(image * scale), 0, 255).astype(np.uint8)
    raise TypeError(f"unsupported image dtype {image.dtype}")


def prepare_face(image, color: str = "bgr") -> np.ndarray:
    """Turn one image or face crop into exactly what the models see: a ``(48, 48, 1)`` uint8 array.

    ``image`` may be gray ``(H, W)`` or ``(H, W, 1)``, colour ``(H, W, 3)`` or with alpha ``(H, W, 4)``; colour
    channels are in OpenCV's BGR order unless ``color="rgb"`` (PIL, matplotlib, scikit-image). Float images are read
    as ``[0, 1]`` when their maximum is at most 1, else as ``[0, 255]``; uint16 is scaled down. Any size is resized to
    48x48 (area interpolation when shrinking, bilinear when enlarging); a non-square crop is stretched, so pass square
    boxes (face detectors return them). A 48x48 gray uint8 face comes back unchanged.
    """
    import cv2

    if hasattr(image, "mode") and hasattr(image, "size"):  # a PIL image
        image = np.asarray(image.convert("L"))
    image = np.asarray(image)
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    gray = to_uint8(to_gray(image, color))
    h, w = gray.shape
    if (h, w) != (FACE_SIZE, FACE_SIZE):
        shrinking = h > FACE_SIZE or w > FACE_SIZE
        gray = cv2.resize(
            gray, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        )
    return np.ascontiguousarray(gray, dtype=np.uint8).reshape(INPUT_SHAPE)


def prepare_faces(images, color: str = "bgr") -> np.ndarray:
    """Batch version of :func:`prepare_face`: returns ``(N, 48, 48, 1)`` uint8.

    Accepts an array ``(N, H, W)``, ``(N, H, W, C)`` or a sequence of images of any sizes. A batch that is already
    48x48 gray uint8 (what the loaders produce) is only reshaped, which gives the same values as calling
    :func:`prepare_face` on each face, without the loop.
    """
    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        if images.ndim == 3 and images.shape[1:] == (FACE_SIZE, FACE_SIZE):
            return images.reshape((-1, *INPUT_SHAPE))
        if images.ndim == 4 and images.shape[1:] == INPUT_SHAPE:
            return images
    images = list(images) if not isinstance(images, np.ndarray) else images
    out = np.empty((len(images), *INPUT_SHAPE), dtype=np.uint8)
    for i, image in enumerate(images):
        try:
            out[i] = prepare_face(image, color=color)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"image {i}: {exc}") from None
    return out


def normalize(images) -> np.ndarray:
    """Pixels 0..255 -> float32 in ``[0, 1]``, the range the models compute in (their Rescaling layer does this)."""
    return np.asarray(images, dtype=np.float32) / 255.0
