"""Random crops with random erasing for training (``train --crop N --erase P``), and ten-crop test-time augmentation.

Everything here uses ``keras.ops`` or NumPy only, so it runs on any Keras backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="fer_helpers")
class RandomCropErase(keras.layers.Layer):
    """In training a random ``size``x``size`` crop, mirrored half the time, then random erasing; at inference the
    centre crop.

    Random erasing (Zhong et al. 2020) replaces, with probability ``erase``, one rectangle covering ``area`` (a
    fraction range) of the crop by uniform noise in 0..255.
    """

    def __init__(self, size: int = 40, flip: bool = True, erase: float = 0.5, area=(0.02, 0.25), seed=None,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")  # exact pixel values under mixed precision
        super().__init__(**kwargs)
        if not 0.0 <= erase <= 1.0:
            raise ValueError(f"erase must be a probability in [0, 1], got {erase!r}")
        if not 0.0 < area[0] <= area[1] < 1.0:
            raise ValueError(f"area must be (low, high) with 0 < low <= high < 1, got {area!r}")
        self.size, self.flip, self.erase, self.area, self.seed = int(size), bool(flip), float(erase), tuple(area), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        n, height, width, s = ops.shape(x)[0], x.shape[1], x.shape[2], self.size
        if s > min(height, width):
            raise ValueError(f"crop size {s} is larger than the {height}x{width} faces")
        if not training:
            top, left = (height - s) // 2, (width - s) // 2
            return x[:, top:top + s, left:left + s]
        rnd = lambda shape, lo=0.0, hi=1.0: keras.random.uniform(shape, lo, hi, seed=self.seed_generator)
        top = ops.cast(ops.floor(rnd((n, 1), 0.0, height - s + 1.0)), "int32")
        left = ops.cast(ops.floor(rnd((n, 1), 0.0, width - s + 1.0)), "int32")
        steps = ops.arange(s, dtype="int32")[None, :]
        mirrored = rnd((n, 1)) < (0.5 if self.flip else 0.0)
        cols = left + ops.where(mirrored, s - 1 - steps, steps)
        rows = ops.one_hot(top + steps, height, dtype=x.dtype)  # (n, s, height): one 1 per row
        cols = ops.one_hot(cols, width, dtype=x.dtype)
        x = ops.einsum("nih,nhwc,njw->nijc", rows, x, cols)  # crop (and mirror) by selection: exact pixel values
        if self.erase > 0:
            area = rnd((n, 1), *self.area) * s * s
            aspect = ops.exp(rnd((n, 1), np.log(0.3), np.log(1 / 0.3)))
            h = ops.minimum(ops.sqrt(area * aspect), s)
            w = ops.minimum(ops.sqrt(area / aspect), s)
            y0, x0 = rnd((n, 1)) * (s - h), rnd((n, 1)) * (s - w)
            pos = ops.cast(steps, x.dtype)
            inside_y = (pos >= y0) & (pos < y0 + h)
            inside_x = (pos >= x0) & (pos < x0 + w)
            mask = inside_y[:, :, None] & inside_x[:, None, :] & (rnd((n, 1)) < self.erase)[:, :, None]
            x = ops.where(mask[..., None], rnd(ops.shape(x), 0.0, 255.0), x)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, *input_shape[3:])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "flip": self.flip, "erase": self.erase,
                "area": list(self.area), "seed": self.seed}


def ten_crops(faces, size: int = 40) -> np.ndarray:
    """The four corner crops and the centre crop of each face, then their mirror images: ``(10, N, size, size, C)``."""
    faces = np.asarray(faces)
    height, width = faces.shape[1:3]
    if not 0 < size <= min(height, width):
        raise ValueError(f"crop size must be between 1 and {min(height, width)}, got {size}")
    dy, dx = height - size, width - size
    corners = [(0, 0), (0, dx), (dy, 0), (dy, dx), (dy // 2, dx // 2)]
    crops = [faces[:, y:y + size, x:x + size] for y, x in corners]
    return np.stack(crops + [c[:, :, ::-1] for c in crops])
