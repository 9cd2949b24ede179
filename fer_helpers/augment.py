"""Data augmentation for FER2013, with the parameter names of ``ImageDataGenerator``.

One configuration, three ways to apply it
-----------------------------------------
:class:`AugmentConfig` holds the augmentation settings under the names (and meanings) that most FER2013 tutorials use,
those of the old ``ImageDataGenerator``: ``width_shift_range``, ``height_shift_range``, ``rotation_range`` (degrees),
``zoom_range``, ``horizontal_flip``, ``vertical_flip``, ``brightness_range``, ``fill_mode`` and ``cval``.

* :func:`build_augmentation` turns a config into a ``keras.Sequential`` of Keras 3 preprocessing layers, either one
  layer per transform (the direct port of ``ImageDataGenerator``) or, as training uses it, with the geometric
  transforms in one :class:`RandomAffine` warp (see *Order* below). It runs inside the model or in a ``tf.data``
  pipeline (``ds.map(lambda x, y: (aug(x, training=True), y))``). The layers act only when ``training=True`` and are
  the identity at inference (``training=False``, which ``model.predict``/``evaluate`` pass).
* :func:`augment_grid` / :func:`plot_augment_grid` / :func:`augmentation_explorer` draw augmented faces for the
  notebooks. They use OpenCV (one bicubic ``cv2.warpAffine`` per face, like training's :class:`RandomAffine`) with
  the same transforms as the Keras layers, because that redraws a 4x8 grid in about a millisecond, fast enough for
  live sliders (see :func:`augment_grid`).
* :func:`legacy_generator` builds the deprecated ``ImageDataGenerator`` with the same settings, **for comparison
  only** (legacy).

Keras layers versus ImageDataGenerator: the conversions
--------------------------------------------------------
The layers take different arguments from ``ImageDataGenerator``; :func:`build_augmentation` converts them as follows
(``tests/test_augment.py`` checks each one on images with a known marker):

* **Rotation**: ``RandomRotation(factor)`` takes a *fraction of a full turn*, ``rotation_range`` takes degrees, so
  ``factor = rotation_range / 360``. ``rotation_range=15`` becomes ``factor=15/360`` (angles in [-15, 15] degrees).
  Passing ``15`` unchanged is rejected (factors must lie in [-1, 1]); a small number meant as degrees, say ``0.5``,
  would silently allow +-180 degrees.
* **Zoom**: both conventions describe the same number, the scale ``s`` by which the *sampling grid* is multiplied:
  ``s < 1`` zooms in (the face gets bigger), ``s > 1`` zooms out. ``ImageDataGenerator`` states ``s`` itself
  (``zoom_range=0.2`` means ``s`` in [0.8, 1.2]; ``zoom_range=(0.8, 0.9)`` zooms in only), ``RandomZoom`` states
  ``s - 1`` and calls it a factor: a *positive* factor zooms *out*. The conversion is therefore
  ``factor = (low - 1, high - 1)``, *not* a sign flip: ``(0.8, 0.9)`` becomes ``(-0.2, -0.1)``; negating the offsets
  (``(0.1, 0.2)``) would zoom out instead. For symmetric ranges such as ``zoom_range=0.2`` the numbers happen to be the
  same. ``ImageDataGenerator`` draws the horizontal and vertical scale independently, so ``width_factor`` is passed
  too (by default ``RandomZoom`` keeps the aspect ratio).
* **Brightness**: ``RandomBrightness(factor)`` *adds* ``factor * 255`` to every pixel; ``brightness_range=(0.8, 1.2)``
  *multiplies* the image by a factor in [0.8, 1.2]. Multiplication keeps black black and scales the contrast with the
  brightness, so the config is applied with :class:`RandomBrightnessMultiply`, a small registered (saveable) layer
  that multiplies each image by one random factor and clips to 0..255.
* **Flips**: ``RandomFlip()`` flips in *both* directions by default (``"horizontal_and_vertical"``), so the mode is
  always passed explicitly (``"horizontal"`` for FER2013: upside-down faces do not occur). Moreover
  ``"horizontal_and_vertical"`` tosses *one* coin for both axes (the image is left alone or turned by 180 degrees),
  while ``ImageDataGenerator`` flips each axis independently (four outcomes); with both flags set,
  :func:`build_augmentation` therefore stacks ``RandomFlip("horizontal")`` and ``RandomFlip("vertical")``.
* **Fill mode**: the layers fill the uncovered border with ``"reflect"`` by default (``RandomTranslation``'s docstring
  says ``"constant"``, its code uses ``"reflect"``), ``ImageDataGenerator`` with ``"nearest"``; the config's
  ``fill_mode`` (default ``"nearest"``) and ``cval`` are passed to every geometric layer.
* **Shifts**: ``RandomTranslation(height_factor, width_factor)`` takes the *height first*; both are fractions like the
  config's. The layers shift along the axis their names say. ``ImageDataGenerator`` in Keras 3 (checked on 3.15.1)
  does not: its ``width_shift_range`` moves images *vertically* and ``height_shift_range`` *horizontally*
  (keras-team/keras#17398); :func:`legacy_generator` can compensate.
* **Pixel range**: the layers receive faces as 0..255 values (the models rescale internally), so brightness clips to
  0..255 (``value_range=(0, 255)``). Geometric layers do not care about the range.
* **Order**: ``ImageDataGenerator`` applies one combined warp (rotation, then shift, then zoom), then flips, then
  brightness. :func:`build_augmentation` uses the same order, but each geometric layer resamples separately, and
  every bilinear resampling at a fractional position averages neighbouring pixels: three in a row remove over half
  of a face's fine detail (:func:`sharpness` of FER2013 faces drops from 30 to 13), so a network trained that way
  sees blurrier faces than it is tested on. ``build_augmentation(config, warp="bicubic")`` replaces the three
  layers by :class:`RandomAffine`, one bicubic warp (sharpness 27); that is what training uses, and what
  :func:`augment_grid` draws.

Calling the Sequential *without* a ``training`` argument augments (Keras 3 preprocessing layers default to
``training=True`` when called directly; :class:`RandomBrightnessMultiply` follows the same convention). Inside a model,
Keras passes the right flag: ``fit`` augments, ``predict``/``evaluate`` do not.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import keras
import numpy as np
from keras import layers, ops

#: ``fill_mode`` values understood by the Keras layers, OpenCV and ``ImageDataGenerator`` alike.
FILL_MODES: tuple[str, ...] = ("nearest", "reflect", "wrap", "constant")

#: Pixel range the augmentation works in (faces are 0..255; the models rescale internally).
VALUE_RANGE: tuple[float, float] = (0.0, 255.0)


# ----------------------------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------------------------


def _number(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _pair(name: str, value) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    low, high = (_number(name, v) for v in value)
    if low > high:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {value!r}")
    return low, high


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings with ``ImageDataGenerator``'s parameter names and meanings.

    The default config does nothing. Configs are immutable (and hashable); derive new ones with :meth:`replace`.

    Args:
        width_shift_range: maximal horizontal shift as a fraction of the width, in [0, 1): the face moves by up to
            ``width_shift_range * 48`` pixels left or right. (``ImageDataGenerator`` also reads values >= 1 as pixels;
            here only fractions are accepted.)
        height_shift_range: maximal vertical shift as a fraction of the height, in [0, 1).
        horizontal_flip: mirror left-right with probability 1/2.
        vertical_flip: flip upside down with probability 1/2 (not useful for faces).
        rotation_range: maximal rotation in **degrees**, in [0, 180]; angles are drawn from
            [-rotation_range, rotation_range].
        brightness_range: ``None`` (off) or ``(low, high)``: the image is **multiplied** by a factor drawn from
            [low, high] and clipped to 0..255; ``(0.8, 1.2)`` means up to 20 % darker or brighter. 0 <= low <= high.
        zoom_range: a float ``z`` in [0, 1), meaning scales in [1 - z, 1 + z], or a pair ``(low, high)`` of scales with
            0 < low <= high <= 2; stored as the pair (``0.2`` becomes ``(0.8, 1.2)``, as ``ImageDataGenerator``
            does). Scales below 1 zoom **in** (the face gets bigger), above 1 zoom out. Horizontal and
            vertical scales are drawn independently, as ``ImageDataGenerator`` does.
        fill_mode: how pixels uncovered by a shift, rotation or zoom-out are filled: ``"nearest"`` (repeat the edge
            pixel, the ``ImageDataGenerator`` default), ``"reflect"`` (mirror; the Keras layers' default),
            ``"wrap"`` or ``"constant"`` (``cval``).
        cval: fill value for ``fill_mode="constant"``, in 0..255.
    """

    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    rotation_range: float = 0.0
    brightness_range: tuple[float, float] | None = None
    zoom_range: float | tuple[float, float] = (1.0, 1.0)
    fill_mode: str = "nearest"
    cval: float = 0.0

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  (frozen dataclass)
        for name in ("width_shift_range", "height_shift_range"):
            value = _number(name, getattr(self, name))
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a fraction of the image size in [0, 1), got {value:g}")
            set_(name, value)
        for name in ("horizontal_flip", "vertical_flip"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {value!r}")
            set_(name, bool(value))
        rotation = _number("rotation_range", self.rotation_range)
        if not 0.0 <= rotation <= 180.0:
            raise ValueError(f"rotation_range must be in degrees between 0 and 180, got {rotation:g}")
        set_("rotation_range", rotation)
        if self.brightness_range is not None:
            low, high = _pair("brightness_range", self.brightness_range)
            if low < 0:
                raise ValueError(f"brightness_range factors must be >= 0, got {self.brightness_range!r}")
            set_("brightness_range", (low, high))
        if isinstance(self.zoom_range, (tuple, list, np.ndarray)):
            low, high = _pair("zoom_range", self.zoom_range)
            if not (0.0 < low and high <= 2.0):
                raise ValueError(
                    f"zoom_range scales must satisfy 0 < low <= high <= 2 (below 1 zooms in), got {self.zoom_range!r}"
                )
        else:
            zoom = _number("zoom_range", self.zoom_range)
            if not 0.0 <= zoom < 1.0:
                raise ValueError(
                    f"zoom_range must be a float in [0, 1) (scales 1 - z .. 1 + z) or a (low, high) pair, got {zoom:g}"
                )
            low, high = 1.0 - zoom, 1.0 + zoom
        set_("zoom_range", (low, high))
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {list(FILL_MODES)}, got {self.fill_mode!r}")
        cval = _number("cval", self.cval)
        if not 0.0 <= cval <= 255.0:
            raise ValueError(f"cval must be a pixel value in 0..255, got {cval:g}")
        set_("cval", cval)

    @property
    def zoom_bounds(self) -> tuple[float, float]:
        """``(low, high)`` scales of ``zoom_range`` (stored that way: ``zoom_range=0.2`` becomes ``(0.8, 1.2)``)."""
        return self.zoom_range

    @property
    def has_zoom(self) -> bool:
        return self.zoom_bounds != (1.0, 1.0)

    @property
    def is_identity(self) -> bool:
        """True when the config leaves every face unchanged."""
        return (
            self.width_shift_range == 0 and self.height_shift_range == 0 and self.rotation_range == 0
            and not self.horizontal_flip and not self.vertical_flip and not self.has_zoom
            and (self.brightness_range is None or self.brightness_range == (1.0, 1.0))
        )

    def replace(self, **changes) -> "AugmentConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def image_data_generator_kwargs(self) -> dict:
        """Keyword arguments for ``ImageDataGenerator`` with the same meaning (see :func:`legacy_generator`)."""
        return {
            "width_shift_range": self.width_shift_range,
            "height_shift_range": self.height_shift_range,
            "rotation_range": self.rotation_range,
            "zoom_range": list(self.zoom_bounds),
            "horizontal_flip": self.horizontal_flip,
            "vertical_flip": self.vertical_flip,
            "brightness_range": None if self.brightness_range is None else list(self.brightness_range),
            "fill_mode": self.fill_mode,
            "cval": self.cval,
        }


#: Named configurations. "default" is what the series trains with: FER2013 faces are roughly aligned and upright,
#: so small shifts, rotations and zooms, left-right mirroring and mild brightness changes produce plausible faces,
#: while vertical flips (upside-down faces) never occur in real use.
PRESETS: Mapping[str, AugmentConfig] = {
    "none": AugmentConfig(),
    "light": AugmentConfig(
        width_shift_range=0.05, height_shift_range=0.05, horizontal_flip=True, rotation_range=5.0, zoom_range=0.05,
    ),
    "default": AugmentConfig(
        width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True, rotation_range=12.0, zoom_range=0.1,
        brightness_range=(0.8, 1.2),
    ),
    "strong": AugmentConfig(
        width_shift_range=0.15, height_shift_range=0.15, horizontal_flip=True, rotation_range=20.0, zoom_range=0.2,
        brightness_range=(0.6, 1.4),
    ),
}


def get_preset(name: str) -> AugmentConfig:
    """The preset called ``name`` (case-insensitive), e.g. ``get_preset("default")``."""
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}: expected one of {sorted(PRESETS)}")
    return PRESETS[key]


def _as_config(config) -> AugmentConfig:
    if isinstance(config, AugmentConfig):
        return config
    if isinstance(config, str):
        return get_preset(config)
    if isinstance(config, Mapping):
        return AugmentConfig(**config)
    raise ValueError(f"config must be an AugmentConfig, a preset name or a dict, got {type(config).__name__}")


# ----------------------------------------------------------------------------------------------------------------------
# Keras layers (training)
# ----------------------------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="fer_helpers")
class RandomBrightnessMultiply(layers.Layer):
    """Multiply each image by a random factor in ``[low, high]`` and clip to ``value_range``.

    This is ``ImageDataGenerator``'s ``brightness_range``. ``keras.layers.RandomBrightness`` instead *adds* a random
    offset of up to ``factor * (value_range[1] - value_range[0])``, which lifts black pixels and leaves the contrast
    unchanged.

    One factor is drawn per image (all pixels and channels of an image share it). Acts only when ``training`` is true;
    like the Keras preprocessing layers, a direct call without ``training`` counts as training. The output is float
    (the layer's compute dtype). Works inside ``tf.data`` with the TensorFlow backend.
    """

    def __init__(self, factor_range=(0.8, 1.2), value_range=VALUE_RANGE, seed=None, **kwargs):
        super().__init__(**kwargs)
        low, high = _pair("factor_range", factor_range)
        if low < 0:
            raise ValueError(f"factor_range factors must be >= 0, got {factor_range!r}")
        vlow, vhigh = _pair("value_range", value_range)
        if vlow >= vhigh:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
        self.factor_range = (low, high)
        self.value_range = (vlow, vhigh)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=True):
        images = ops.cast(inputs, self.compute_dtype)
        if not training:
            return images
        shape = ops.shape(images)
        factor_shape = (shape[0], 1, 1, 1) if len(shape) == 4 else (1, 1, 1)
        factor = keras.random.uniform(
            factor_shape, minval=self.factor_range[0], maxval=self.factor_range[1], dtype=self.compute_dtype,
            seed=self.generator,
        )
        return ops.clip(images * factor, self.value_range[0], self.value_range[1])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor_range=list(self.factor_range), value_range=list(self.value_range), seed=self.seed)
        return config


def _cubic_weights(t):
    """OpenCV's bicubic weights (a = -0.75) for the four samples at offsets -1, 0, 1, 2 from ``floor(x)``."""
    a = -0.75
    w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    return ops.stack([w0, w1, w2, 1.0 - w0 - w1 - w2], axis=1)


def _fold_index(index, size: int, fill_mode: str):
    """Map integer sample positions outside ``[0, size)`` back inside, the way ``fill_mode`` extends the image."""
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        index = ops.mod(index, 2 * size)
        return ops.where(index >= size, 2 * size - 1 - index, index)
    if fill_mode == "wrap":
        return ops.mod(index, size)
    return ops.clip(index, 0, size - 1)  # "nearest", and "constant" (whose outside samples are replaced afterwards)


def warp_bicubic(images, transforms, fill_mode: str = "nearest", fill_value: float = 0.0):
    """Resample a batch of images ``(B, H, W, C)`` through per-image affine ``transforms`` ``(B, 6)``, bicubically.

    ``transforms`` rows are ``[a0, a1, a2, b0, b1, b2]``: output pixel ``(x, y)`` samples the input at
    ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``, pixel centres on integers, the convention of
    ``keras.ops.image.affine_transform`` (which offers only nearest and bilinear sampling) and of
    ``cv2.warpAffine(..., flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)``, which this matches up to OpenCV's rounding
    of sample positions to 1/32 pixel. Each output pixel is a weighted sum of 4x4 input pixels, gathered with
    ``keras.ops`` (so any backend; inside ``tf.data``, TensorFlow). Height and width must be known.
    Samples outside the image follow ``fill_mode`` (as :data:`FILL_MODES`; ``"constant"`` reads ``fill_value``).
    The result can overshoot the input range slightly near sharp edges (bicubic ringing); callers clip.
    """
    images = ops.convert_to_tensor(images, "float32")
    transforms = ops.convert_to_tensor(transforms, "float32")
    if len(images.shape) != 4 or any(d is None for d in images.shape[1:]):
        raise ValueError(f"images must be a (batch, height, width, channels) batch with known height, width and "
                         f"channels, got shape {tuple(images.shape)}")
    height, width, channels = (int(d) for d in images.shape[1:])
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
    xs, ys = ops.convert_to_tensor(xs.reshape(1, -1)), ops.convert_to_tensor(ys.reshape(1, -1))
    src_x = transforms[:, 0:1] * xs + transforms[:, 1:2] * ys + transforms[:, 2:3]  # (B, H*W)
    src_y = transforms[:, 3:4] * xs + transforms[:, 4:5] * ys + transforms[:, 5:6]
    x0, y0 = ops.floor(src_x), ops.floor(src_y)
    wx, wy = _cubic_weights(src_x - x0), _cubic_weights(src_y - y0)  # (B, 4, H*W)
    offsets = ops.reshape(ops.arange(-1, 3, dtype="int32"), (1, 4, 1))
    ix = ops.cast(x0, "int32")[:, None, :] + offsets  # (B, 4, H*W)
    iy = ops.cast(y0, "int32")[:, None, :] + offsets
    index = _fold_index(iy, height, fill_mode)[:, :, None, :] * width + _fold_index(ix, width, fill_mode)[:, None]
    batch = ops.shape(images)[0]
    index = index + ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1, 1))
    samples = ops.take(ops.reshape(images, (-1, channels)), ops.reshape(index, (-1,)), axis=0)  # one flat gather
    samples = ops.reshape(samples, (batch, 4, 4, height * width, channels))
    if fill_mode == "constant":
        inside = ((iy >= 0) & (iy < height))[:, :, None, :] & ((ix >= 0) & (ix < width))[:, None]
        samples = ops.where(inside[..., None], samples, fill_value)
    weights = wy[:, :, None, :] * wx[:, None, :, :]  # (B, 4, 4, H*W)
    out = ops.sum(samples * weights[..., None], axis=(1, 2))
    return ops.reshape(out, (batch, height, width, channels))


def affine_transforms(height: int, width: int, angle, shift_x, shift_y, zoom_x, zoom_y):
    """Rows ``[a0, a1, a2, b0, b1, b2]`` for :func:`warp_bicubic`: the batched, ``keras.ops`` form of
    :func:`_affine_matrix` (rotate by ``angle`` degrees counter-clockwise, shift by pixels, scale the sampling grid,
    all about the image centre). Each argument is a ``(B,)`` tensor."""
    theta = angle * (math.pi / 180.0)
    cos, sin = ops.cos(theta), ops.sin(theta)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a0, a1, b0, b1 = cos * zoom_x, -sin * zoom_y, sin * zoom_x, cos * zoom_y
    a2 = cx - (a0 * cx + a1 * cy) - (cos * shift_x - sin * shift_y)
    b2 = cy - (b0 * cx + b1 * cy) - (sin * shift_x + cos * shift_y)
    return ops.stack([a0, a1, a2, b0, b1, b2], axis=1)


@keras.saving.register_keras_serializable(package="fer_helpers")
class RandomAffine(layers.Layer):
    """Random rotation, shift and zoom in *one* resampling step: ``ImageDataGenerator``'s single warp, as a layer.

    Chaining ``RandomRotation``, ``RandomTranslation`` and ``RandomZoom`` resamples every image three times, and each
    bilinear resampling at a fractional position averages neighbouring pixels: on FER2013 faces the chain removes
    over half of the fine detail (:func:`sharpness`, the mean absolute Laplacian, falls from 30 to 13;
    ``benchmarks/bench_augment.py --data``), so the network trains on blurrier faces than it is tested on. About
    half of that loss comes from resampling three times, the other half from bilinear sampling itself (one bilinear
    warp: 21). This layer composes the three transforms into one matrix and samples once, bicubically (OpenCV's
    kernel) by default, which keeps faces nearly as sharp as the originals (27); ``interpolation="bilinear"`` uses
    ``keras.ops.image.affine_transform`` instead.

    Parameters are drawn per image from the distributions that the chained layers and :func:`augment_grid` use:
    an angle uniform in ``+-rotation_range`` degrees, shifts uniform in ``+-range * size`` pixels, independent x and
    y scales of the sampling grid uniform in ``zoom_bounds`` (below 1 zooms in). Acts only when ``training`` is true
    (a direct call counts as training, as for the Keras preprocessing layers). Input ``(B, H, W, C)`` or ``(H, W, C)``
    (channels last, known height and width) with values in ``value_range``; the output is clipped to it (bicubic
    sampling overshoots a little at sharp edges). Works in ``tf.data`` with the TensorFlow backend, like the Keras
    preprocessing layers it replaces.
    """

    def __init__(self, rotation_range=0.0, width_shift_range=0.0, height_shift_range=0.0, zoom_bounds=(1.0, 1.0),
                 fill_mode="nearest", cval=0.0, interpolation="bicubic", value_range=VALUE_RANGE, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        # AugmentConfig validates the geometric settings and their ranges, with messages naming the argument
        checked = AugmentConfig(rotation_range=rotation_range, width_shift_range=width_shift_range,
                                height_shift_range=height_shift_range, zoom_range=tuple(_pair("zoom_bounds",
                                                                                              zoom_bounds)),
                                fill_mode=fill_mode, cval=cval)
        if interpolation not in _CV2_INTERPOLATION:  # the same two as transform_face's
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got {interpolation!r}")
        vlow, vhigh = _pair("value_range", value_range)
        if vlow >= vhigh:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
        self.rotation_range = checked.rotation_range
        self.width_shift_range = checked.width_shift_range
        self.height_shift_range = checked.height_shift_range
        self.zoom_bounds = checked.zoom_bounds
        self.fill_mode, self.cval, self.interpolation = checked.fill_mode, checked.cval, interpolation
        self.value_range = (vlow, vhigh)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=True):
        images = ops.cast(inputs, "float32")
        if not training:
            return ops.cast(images, self.compute_dtype)
        single = len(images.shape) == 3
        if single:
            images = images[None]
        height, width = int(images.shape[1]), int(images.shape[2])
        u = keras.random.uniform((ops.shape(images)[0], 5), seed=self.generator)
        signed = 2.0 * u - 1.0
        zlow, zhigh = self.zoom_bounds
        transforms = affine_transforms(
            height, width, self.rotation_range * signed[:, 0], self.width_shift_range * width * signed[:, 1],
            self.height_shift_range * height * signed[:, 2], zlow + (zhigh - zlow) * u[:, 3],
            zlow + (zhigh - zlow) * u[:, 4])
        if self.interpolation == "bicubic":
            out = warp_bicubic(images, transforms, self.fill_mode, self.cval)
        else:
            full = ops.concatenate([transforms, ops.zeros_like(transforms[:, :2])], axis=1)
            out = ops.image.affine_transform(images, full, interpolation="bilinear", fill_mode=self.fill_mode,
                                             fill_value=self.cval)
        out = ops.clip(out, self.value_range[0], self.value_range[1])
        return ops.cast(out[0] if single else out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rotation_range=self.rotation_range, width_shift_range=self.width_shift_range,
                      height_shift_range=self.height_shift_range, zoom_bounds=list(self.zoom_bounds),
                      fill_mode=self.fill_mode, cval=self.cval, interpolation=self.interpolation,
                      value_range=list(self.value_range), seed=self.seed)
        return config


#: How :func:`build_augmentation` resamples: one :class:`RandomAffine` warp, ``"bicubic"`` (the default, what
#: training uses) or ``"bilinear"``, or ``"chained"`` (one Keras layer per transform, the direct port of
#: ``ImageDataGenerator``).
WARPS: tuple[str, ...] = ("bicubic", "bilinear", "chained")


def build_augmentation(config: AugmentConfig | str = "default", seed: int | None = None,
                       name: str = "augmentation", warp: str = "bicubic") -> keras.Sequential:
    """A ``keras.Sequential`` of preprocessing layers equivalent to ``config``.

    Layers, in ``ImageDataGenerator``'s order (each only when its setting is non-zero): the geometric transforms,
    then ``RandomFlip("horizontal")`` and/or ``RandomFlip("vertical")`` (separate layers, so the two flips are
    independent), then :class:`RandomBrightnessMultiply` for ``brightness_range``. ``warp`` decides the geometric
    part:

    * ``"bicubic"`` (default, what training uses) or ``"bilinear"``: one :class:`RandomAffine` that composes rotation,
      shift and zoom and resamples each face once, as ``ImageDataGenerator`` does.
    * ``"chained"``: the layer-by-layer port, ``RandomRotation(rotation_range / 360)``,
      ``RandomTranslation(height_shift_range, width_shift_range)`` and
      ``RandomZoom((low - 1, high - 1), width_factor=(low - 1, high - 1))``, each resampling bilinearly. The module
      docstring explains each conversion; three resamplings blur the faces (see :class:`RandomAffine`).

    Both draw their parameters from the same distributions. The geometric layers get the config's ``fill_mode`` and
    ``cval``. A config that does nothing gives a Sequential holding one ``Rescaling(1.0)`` layer (the identity).

    Input: faces ``(B, H, W, 1)`` (or one face ``(H, W, 1)``) with values 0..255, any dtype; output: same shape and
    range, in the layers' compute dtype (float32 unless a mixed-precision policy was set before they were built).
    Augments with ``training=True`` (and when called without ``training``), returns the input unchanged with
    ``training=False``. In ``tf.data`` (TensorFlow backend): ``ds.map(lambda x, y: (aug(x, training=True), y))``.

    Args:
        config: an :class:`AugmentConfig`, or a preset name.
        seed: makes the random draws reproducible; each role has its own seed (geometry ``seed``, horizontal flip
            ``seed + 3``, vertical flip ``seed + 4``, brightness ``seed + 5``; in the chain rotation, translation
            and zoom take ``seed``, ``seed + 1``, ``seed + 2``), so the warps draw the same flips and brightness.
            ``None`` draws fresh ones.
        warp: one of :data:`WARPS`.
    """
    config = _as_config(config)
    if warp not in WARPS:
        raise ValueError(f"warp must be one of {list(WARPS)}, got {warp!r}")

    def role_seed(offset: int):
        return None if seed is None else seed + offset

    geometry = dict(fill_mode=config.fill_mode, fill_value=config.cval, interpolation="bilinear")
    stack: list[layers.Layer] = []
    shifts = config.width_shift_range > 0 or config.height_shift_range > 0
    if warp != "chained" and (config.rotation_range > 0 or shifts or config.has_zoom):
        stack.append(RandomAffine(config.rotation_range, config.width_shift_range, config.height_shift_range,
                                  config.zoom_bounds, fill_mode=config.fill_mode, cval=config.cval,
                                  interpolation=warp, seed=role_seed(0), name="affine"))
    if warp == "chained" and config.rotation_range > 0:
        stack.append(layers.RandomRotation(config.rotation_range / 360.0, seed=role_seed(0), name="rotation",
                                           **geometry))
    if warp == "chained" and shifts:
        stack.append(layers.RandomTranslation(height_factor=config.height_shift_range,
                                              width_factor=config.width_shift_range,
                                              seed=role_seed(1), name="translation", **geometry))
    if warp == "chained" and config.has_zoom:
        low, high = config.zoom_bounds
        factor = (low - 1.0, high - 1.0)
        stack.append(layers.RandomZoom(height_factor=factor, width_factor=factor, seed=role_seed(2), name="zoom",
                                       **geometry))
    # One layer per direction: RandomFlip("horizontal_and_vertical") tosses ONE coin for both axes (no flip or a
    # 180-degree turn), whereas ImageDataGenerator flips each axis independently.
    if config.horizontal_flip:
        stack.append(layers.RandomFlip(mode="horizontal", seed=role_seed(3), name="flip_horizontal"))
    if config.vertical_flip:
        stack.append(layers.RandomFlip(mode="vertical", seed=role_seed(4), name="flip_vertical"))
    if config.brightness_range is not None and config.brightness_range != (1.0, 1.0):
        stack.append(RandomBrightnessMultiply(config.brightness_range, value_range=VALUE_RANGE, seed=role_seed(5),
                                              name="brightness"))
    if not stack:
        stack.append(layers.Rescaling(1.0, name="identity"))  # identity that still outputs float32
    return keras.Sequential(stack, name=name)


# ----------------------------------------------------------------------------------------------------------------------
# Legacy: ImageDataGenerator
# ----------------------------------------------------------------------------------------------------------------------


def _image_data_generator_class():
    import tensorflow as tf

    return tf.keras.preprocessing.image.ImageDataGenerator


_SWAP_PROBE: dict[str, bool] = {}


def legacy_shift_axes_swapped() -> bool:
    """Whether this Keras version's ``ImageDataGenerator`` swaps width and height shifts (keras-team/keras#17398).

    Legacy. Checked empirically once per process: a generator with ``width_shift_range=[4]`` (exactly 4 pixels) is
    applied to an image with one bright pixel, and the function reports whether the pixel moved vertically. True on
    Keras 3.15.1. The global NumPy random state is restored afterwards.
    """
    if "swapped" not in _SWAP_PROBE:
        image = np.zeros((16, 16, 1), dtype="float32")
        image[8, 8, 0] = 255.0
        generator = _image_data_generator_class()(width_shift_range=[4], fill_mode="constant", cval=0.0)
        state = np.random.get_state()
        try:
            moved = generator.random_transform(image)
        finally:
            np.random.set_state(state)
        row, col = np.unravel_index(int(np.argmax(moved[:, :, 0])), (16, 16))
        if (row, col) != (8, 8) and col == 8:
            _SWAP_PROBE["swapped"] = True
        elif row == 8 and col != 8:
            _SWAP_PROBE["swapped"] = False
        else:  # pragma: no cover - would mean a third behaviour
            raise RuntimeError(f"unexpected ImageDataGenerator shift: the marker moved from (8, 8) to ({row}, {col})")
    return _SWAP_PROBE["swapped"]


def legacy_generator(config: AugmentConfig | str = "default", compensate_swap: bool = False, **kwargs):
    """**Legacy.** A ``tf.keras.preprocessing.image.ImageDataGenerator`` with the settings of ``config``.

    ``ImageDataGenerator`` is deprecated; in Keras 3 it survives only as
    ``tf.keras.preprocessing.image.ImageDataGenerator``. The series trains with :func:`build_augmentation`; this
    function exists so the notebooks can compare the two and show the old API's pitfalls:

    * In Keras 3 (checked on 3.15.1) its ``width_shift_range`` shifts images **vertically** and
      ``height_shift_range`` horizontally (keras-team/keras#17398). With ``compensate_swap=True`` the two ranges are
      passed swapped whenever :func:`legacy_shift_axes_swapped` finds the bug, so that the shifts go where the
      config says.
    * Its brightness goes through PIL: the image is truncated to uint8 first and the result is integer-valued.

    Extra ``kwargs`` (e.g. ``rescale``) go to ``ImageDataGenerator`` unchanged.
    """
    config = _as_config(config)
    arguments = config.image_data_generator_kwargs()
    if compensate_swap and legacy_shift_axes_swapped():
        arguments["width_shift_range"], arguments["height_shift_range"] = (
            arguments["height_shift_range"], arguments["width_shift_range"])
    arguments.update(kwargs)
    return _image_data_generator_class()(**arguments)


# ----------------------------------------------------------------------------------------------------------------------
# Fast NumPy/OpenCV path for the notebooks' grids and sliders
# ----------------------------------------------------------------------------------------------------------------------

_CV2_INTERPOLATION = {"bicubic": "INTER_CUBIC", "bilinear": "INTER_LINEAR"}
_CV2_BORDER = {"nearest": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT", "wrap": "BORDER_WRAP",
               "constant": "BORDER_CONSTANT"}


def _affine_matrix(height: int, width: int, angle: float, shift_x: float, shift_y: float, zoom_x: float,
                   zoom_y: float) -> np.ndarray:
    """2x3 matrix mapping *output* pixel (x, y) to the *input* position it samples (pixel centres on integers).

    Composition as in ``ImageDataGenerator`` and the layer order of :func:`build_augmentation`: rotate, then shift,
    then zoom, all about the image centre ((W-1)/2, (H-1)/2), with the Keras layers' conventions.
    """
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    rotation = np.array([[cos, -sin], [sin, cos]])  # RandomRotation's matrix: positive angle = counter-clockwise
    linear = rotation @ np.diag([zoom_x, zoom_y])
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    offset = centre - linear @ centre - rotation @ np.array([shift_x, shift_y])
    return np.hstack([linear, offset[:, None]])


def _border(fill_mode: str) -> int:
    import cv2

    if fill_mode not in _CV2_BORDER:
        raise ValueError(f"fill_mode must be one of {list(FILL_MODES)}, got {fill_mode!r}")
    return getattr(cv2, _CV2_BORDER[fill_mode])


def transform_face(face, angle: float = 0.0, shift: tuple[float, float] = (0.0, 0.0),
                   zoom: tuple[float, float] = (1.0, 1.0), flip_horizontal: bool = False, flip_vertical: bool = False,
                   brightness: float = 1.0, fill_mode: str = "nearest", cval: float = 0.0,
                   interpolation: str = "bicubic") -> np.ndarray:
    """Apply one *given* transform to one face, with the Keras layers' conventions; returns float32 ``(H, W)``.

    This is the deterministic step behind :func:`augment_grid`: one ``cv2.warpAffine``, then flips, then
    brightness. ``interpolation`` is ``"bicubic"`` (default: what :class:`RandomAffine` and therefore training
    does) or ``"bilinear"`` (what each Keras geometric layer does); bicubic values are clipped to 0..255.

    Args:
        face: ``(H, W)`` or ``(H, W, 1)`` array with values 0..255.
        angle: rotation in degrees, positive = counter-clockwise (as ``RandomRotation``).
        shift: ``(dx, dy)`` in pixels, positive = right / down (as ``RandomTranslation``).
        zoom: ``(zoom_x, zoom_y)`` scales; below 1 zooms in (as ``zoom_range``; ``RandomZoom``'s factor is scale - 1).
        flip_horizontal, flip_vertical: mirror left-right / upside down.
        brightness: multiply by this factor and clip to 0..255 (as ``brightness_range``).
        fill_mode, cval: as in :class:`AugmentConfig`.
    """
    import cv2

    face = np.asarray(face, dtype=np.float32)
    if face.ndim == 3 and face.shape[-1] == 1:
        face = face[:, :, 0]
    if face.ndim != 2:
        raise ValueError(f"face must have shape (H, W) or (H, W, 1), got {face.shape}")
    height, width = face.shape
    out = face
    shift, zoom = tuple(shift), tuple(zoom)
    if len(shift) != 2 or len(zoom) != 2:
        raise ValueError(f"shift and zoom must be (x, y) pairs, got shift={shift!r}, zoom={zoom!r}")
    if angle != 0 or shift != (0, 0) or zoom != (1, 1):
        matrix = _affine_matrix(height, width, angle, shift[0], shift[1], zoom[0], zoom[1])
        if interpolation not in _CV2_INTERPOLATION:
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got {interpolation!r}")
        out = cv2.warpAffine(face, matrix, (width, height),
                             flags=getattr(cv2, _CV2_INTERPOLATION[interpolation]) | cv2.WARP_INVERSE_MAP,
                             borderMode=_border(fill_mode), borderValue=float(cval))
        out = np.clip(out, *VALUE_RANGE)
    if flip_horizontal:
        out = out[:, ::-1]
    if flip_vertical:
        out = out[::-1, :]
    if brightness != 1.0:
        out = np.clip(out * brightness, *VALUE_RANGE)
    return np.ascontiguousarray(out, dtype=np.float32)


def _as_face_stack(faces) -> np.ndarray:
    """``(N, H, W)`` uint8 from one face or a batch: ``(H, W)``, ``(H, W, 1)``, ``(N, H, W)`` or ``(N, H, W, 1)``."""
    faces = np.asarray(faces)
    if faces.ndim == 4:
        if faces.shape[-1] != 1:
            raise ValueError(f"faces must be single-channel, got shape {faces.shape}")
        faces = faces[..., 0]
    elif faces.ndim == 3 and faces.shape[-1] == 1:
        faces = faces[None, :, :, 0]
    elif faces.ndim == 2:
        faces = faces[None]
    elif faces.ndim != 3:
        raise ValueError(f"faces must have shape (H, W), (H, W, 1), (N, H, W) or (N, H, W, 1), got {faces.shape}")
    if faces.shape[0] == 0:
        raise ValueError("faces is empty")
    if faces.dtype != np.uint8:
        if faces.dtype == np.bool_ or not np.issubdtype(faces.dtype, np.number):
            raise ValueError(f"faces must hold numbers 0..255, got dtype {faces.dtype}")
        if not np.all(np.isfinite(faces)) or faces.min() < 0 or faces.max() > 255:
            raise ValueError("face pixel values must lie in 0..255")
        faces = np.rint(faces).astype(np.uint8)
    return faces


def sharpness(faces) -> float:
    """Mean absolute Laplacian of ``faces`` (one face or a batch, values 0..255), ignoring a 4-pixel border.

    A simple measure of fine detail: blurring lowers it, so it shows how much an augmentation pipeline softens
    the faces compared with the originals (the border is left out because fill modes invent it).
    """
    import cv2

    stack = np.asarray(faces, dtype=np.float32)
    if stack.ndim >= 3 and stack.shape[-1] == 1:
        stack = stack[..., 0]
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3 or min(stack.shape[1:]) <= 8:
        raise ValueError(f"faces must be (H, W) or (N, H, W[, 1]) images larger than 8x8, got {np.shape(faces)}")
    return float(np.mean([np.abs(cv2.Laplacian(face, cv2.CV_32F)[4:-4, 4:-4]).mean() for face in stack]))


#: Uniform draws per augmented face: angle, shift x, shift y, zoom x, zoom y, flip h, flip v, brightness.
_N_DRAWS = 8


def augment_grid(faces, config: AugmentConfig | str = "default", n_per_face: int = 8, seed: int | None = 0,
                 include_original: bool = True) -> np.ndarray:
    """Augmented versions of each face: a ``(n_faces, n_per_face, H, W)`` uint8 array.

    With ``include_original`` (default) column 0 holds the unchanged faces and the other ``n_per_face - 1`` columns
    augmented ones. Parameters are drawn exactly as the layers of :func:`build_augmentation` draw them (uniform angle
    in +-``rotation_range``, shifts in +-range * size, independent x/y scales in ``zoom_bounds``, flips with
    probability 1/2, brightness factor in ``brightness_range``) and applied with :func:`transform_face`.

    Implementation: NumPy + one ``cv2.warpAffine`` per face, not the Keras layers, so nothing is built or traced per
    call: a 4x8 grid of 48x48 faces takes about a millisecond, fast enough to redraw on every slider move. The
    random draws depend only on ``seed`` and the grid shape, not on the config, so moving a slider morphs the same
    faces smoothly instead of reshuffling them. ``seed=None`` draws fresh ones.
    """
    config = _as_config(config)
    stack = _as_face_stack(faces)
    n_per_face = int(n_per_face)
    if n_per_face < 1:
        raise ValueError(f"n_per_face must be at least 1, got {n_per_face}")
    n_faces, height, width = stack.shape
    grid = np.empty((n_faces, n_per_face, height, width), dtype=np.uint8)
    start = 1 if include_original else 0
    grid[:, :start] = stack[:, None]
    n_aug = n_per_face - start
    if n_aug == 0:
        return grid
    u = np.random.default_rng(seed).random((n_faces, n_aug, _N_DRAWS))
    signed = 2.0 * u - 1.0
    angle = config.rotation_range * signed[..., 0]
    shift_x = config.width_shift_range * width * signed[..., 1]
    shift_y = config.height_shift_range * height * signed[..., 2]
    zlow, zhigh = config.zoom_bounds
    zoom_x = zlow + (zhigh - zlow) * u[..., 3]
    zoom_y = zlow + (zhigh - zlow) * u[..., 4]
    flip_h = config.horizontal_flip & (u[..., 5] < 0.5)
    flip_v = config.vertical_flip & (u[..., 6] < 0.5)
    if config.brightness_range is None:
        brightness = np.ones_like(angle)
    else:
        blow, bhigh = config.brightness_range
        brightness = blow + (bhigh - blow) * u[..., 7]
    for i in range(n_faces):
        face = stack[i].astype(np.float32)
        for j in range(n_aug):
            out = transform_face(
                face, float(angle[i, j]), (float(shift_x[i, j]), float(shift_y[i, j])),
                (float(zoom_x[i, j]), float(zoom_y[i, j])), bool(flip_h[i, j]), bool(flip_v[i, j]),
                float(brightness[i, j]), config.fill_mode, config.cval,
            )
            grid[i, start + j] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return grid


def _label_text(label) -> str:
    if isinstance(label, str):
        return label
    from .labels import emotion_name

    # emotion_name rather than describe(): matplotlib's default font has no emoji glyphs.
    return emotion_name(int(label))


def plot_augment_grid(faces, config: AugmentConfig | str = "default", n_per_face: int = 8, seed: int | None = 0,
                      labels: Sequence | None = None, include_original: bool = True, cell_size: float = 1.1,
                      title: str | None = None):
    """Draw :func:`augment_grid` as a ``matplotlib.figure.Figure`` (one row per face).

    Like every figure function of the package it is a pyplot figure (the inline backend shows it once; close it with
    ``plt.close(fig)`` when drawing many) and no ``plt.show()`` is called. ``labels`` (integer labels or strings)
    become the row titles.
    """
    import matplotlib.pyplot as plt

    config = _as_config(config)
    grid = augment_grid(faces, config, n_per_face=n_per_face, seed=seed, include_original=include_original)
    n_faces, n_cols = grid.shape[:2]
    if labels is not None and len(labels) != n_faces:
        raise ValueError(f"got {len(labels)} labels for {n_faces} faces")
    # a pyplot figure like every figure function of the package: `fig = ...` shows it once in a notebook
    fig = plt.figure(figsize=(cell_size * n_cols, cell_size * n_faces + (0.4 if title else 0.1)), layout="constrained")
    axes = fig.subplots(n_faces, n_cols, squeeze=False)
    for i in range(n_faces):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.imshow(grid[i, j], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("original" if include_original and j == 0 else "augmented", fontsize=8)
        if labels is not None:
            axes[i, 0].set_ylabel(_label_text(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------------------------------------------------
# Interactive explorer (lesson 4)
# ----------------------------------------------------------------------------------------------------------------------


def _png(image: np.ndarray, scale: int) -> bytes:
    import cv2

    if scale > 1:
        image = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    ok, data = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def _tile_row(row: np.ndarray, gap: int = 2) -> np.ndarray:
    """``(k, H, W)`` -> one ``(H, k*W + (k-1)*gap)`` image with white gaps."""
    k, height, width = row.shape
    out = np.full((height, k * width + (k - 1) * gap), 255, dtype=np.uint8)
    for j in range(k):
        out[:, j * (width + gap): j * (width + gap) + width] = row[j]
    return out


def augmentation_explorer(faces, labels: Sequence | None = None, config: AugmentConfig | str = "default",
                          n_per_face: int = 8, seed: int = 0, scale: int = 2):
    """An ``ipywidgets`` explorer: one control per :class:`AugmentConfig` field, redrawing a grid of faces live.

    Returns an :class:`AugmentationExplorer` (an ``ipywidgets.VBox``); display it as the last value of a cell. See
    that class for the controls.
    """
    return _explorer_class()(faces, labels=labels, config=config, n_per_face=n_per_face, seed=seed, scale=scale)


@functools.lru_cache(maxsize=None)
def _explorer_class():
    import ipywidgets as widgets

    class AugmentationExplorer(widgets.VBox):
        """Sliders and checkboxes for every :class:`AugmentConfig` field, a preset menu, a "new samples" button,
        one row of faces per input face (column 0 the original) and the current config as code.

        ``controls`` maps each field name to its widget; :attr:`config` is the config they describe;
        :meth:`update` redraws (every control calls it on change). Rows are PNG ``Image`` widgets drawn with
        :func:`augment_grid`, so a redraw costs a few milliseconds.
        """

        def __init__(self, faces, labels=None, config="default", n_per_face=8, seed=0, scale=2):
            self.faces = _as_face_stack(faces)
            n_faces = self.faces.shape[0]
            if labels is not None and len(labels) != n_faces:
                raise ValueError(f"got {len(labels)} labels for {n_faces} faces")
            self.n_per_face = int(n_per_face)
            self.seed = int(seed)
            self.scale = int(scale)
            start = _as_config(config)
            self._updating = False
            self.last_redraw_ms = float("nan")

            slider = dict(continuous_update=True, style={"description_width": "140px"},
                          layout=widgets.Layout(width="420px"))
            # Checkboxes as wide as their label (ipywidgets' default is 300 px plus an indent, which squeezed the
            # sliders and cut their values off in a notebook narrower than about 1,100 px).
            checkbox = dict(indent=False, style={"description_width": "initial"},
                            layout=widgets.Layout(width="auto", margin="2px 16px 2px 0"))
            zlow, zhigh = start.zoom_bounds
            blow, bhigh = start.brightness_range or (0.8, 1.2)
            self.controls: dict[str, widgets.Widget] = {
                "width_shift_range": widgets.FloatSlider(
                    value=start.width_shift_range, min=0.0, max=0.5, step=0.01, description="width_shift_range",
                    **slider),
                "height_shift_range": widgets.FloatSlider(
                    value=start.height_shift_range, min=0.0, max=0.5, step=0.01, description="height_shift_range",
                    **slider),
                "rotation_range": widgets.FloatSlider(
                    value=start.rotation_range, min=0.0, max=max(90.0, start.rotation_range), step=1.0,
                    description="rotation_range (°)", **slider),
                "zoom_range": widgets.FloatRangeSlider(
                    value=(zlow, zhigh), min=min(0.5, zlow), max=max(1.5, zhigh), step=0.01,
                    description="zoom_range", **slider),
                "brightness_range": widgets.FloatRangeSlider(
                    value=(blow, bhigh), min=min(0.2, blow), max=max(2.0, bhigh), step=0.01,
                    description="brightness_range", disabled=start.brightness_range is None, **slider),
                "horizontal_flip": widgets.Checkbox(value=start.horizontal_flip, description="horizontal_flip",
                                                    **checkbox),
                "vertical_flip": widgets.Checkbox(value=start.vertical_flip, description="vertical_flip", **checkbox),
                "fill_mode": widgets.Dropdown(options=list(FILL_MODES), value=start.fill_mode,
                                              description="fill_mode", style=slider["style"]),
                "cval": widgets.IntSlider(value=int(round(start.cval)), min=0, max=255, step=1, description="cval",
                                          disabled=start.fill_mode != "constant", **slider),
            }
            self.brightness_on = widgets.Checkbox(value=start.brightness_range is not None,
                                                  description="use brightness_range", **checkbox)
            self.preset = widgets.Dropdown(options=list(PRESETS) + ["custom"], value=self._preset_name(start),
                                           description="preset", style=slider["style"])
            self.resample = widgets.Button(description="new samples", icon="refresh")
            self.code = widgets.HTML()
            self.status = widgets.HTML()
            self.rows = [widgets.Image(format="png") for _ in range(n_faces)]
            row_boxes = []
            for i, image in enumerate(self.rows):
                name = "" if labels is None else _label_text_html(labels[i])
                row_boxes.append(widgets.HBox([widgets.HTML(f"<b>{name}</b>", layout=widgets.Layout(width="90px")),
                                               image]))
            header = widgets.HTML("<i>column 1: original; the others: augmented</i>")

            for widget in [*self.controls.values(), self.brightness_on]:
                widget.observe(self._on_control, names="value")
            self.preset.observe(self._on_preset, names="value")
            self.resample.on_click(self._on_resample)

            left = widgets.VBox([self.preset, *[self.controls[k] for k in (
                "width_shift_range", "height_shift_range", "rotation_range", "zoom_range")]])
            indented = widgets.Layout(padding="0 0 0 144px")  # checkboxes under the sliders' tracks
            right = widgets.VBox([widgets.HBox([self.brightness_on], layout=indented),
                                  self.controls["brightness_range"],
                                  widgets.HBox([self.controls["horizontal_flip"], self.controls["vertical_flip"]],
                                               layout=indented),
                                  self.controls["fill_mode"], self.controls["cval"], self.resample])
            # The two columns wrap (the right one goes below) rather than squeeze the sliders in a narrow notebook.
            columns = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap"))
            super().__init__([columns, header, *row_boxes, self.code, self.status])
            self.update()

        @staticmethod
        def _preset_name(config):
            for name, preset in PRESETS.items():
                if _same_config(preset, config):
                    return name
            return "custom"

        @property
        def config(self) -> AugmentConfig:
            """The :class:`AugmentConfig` the controls currently describe (raises ValueError if invalid)."""
            c = self.controls
            return AugmentConfig(
                width_shift_range=float(c["width_shift_range"].value),
                height_shift_range=float(c["height_shift_range"].value),
                horizontal_flip=bool(c["horizontal_flip"].value),
                vertical_flip=bool(c["vertical_flip"].value),
                rotation_range=float(c["rotation_range"].value),
                brightness_range=tuple(c["brightness_range"].value) if self.brightness_on.value else None,
                zoom_range=tuple(c["zoom_range"].value),
                fill_mode=c["fill_mode"].value,
                cval=float(c["cval"].value),
            )

        def set_config(self, config) -> None:
            """Move every control to ``config`` (a config or preset name) and redraw once."""
            config = _as_config(config)
            self._updating = True
            try:
                c = self.controls
                c["width_shift_range"].value = config.width_shift_range
                c["height_shift_range"].value = config.height_shift_range
                c["rotation_range"].max = max(c["rotation_range"].max, config.rotation_range)
                c["rotation_range"].value = config.rotation_range
                zlow, zhigh = config.zoom_bounds
                c["zoom_range"].min = min(c["zoom_range"].min, zlow)
                c["zoom_range"].max = max(c["zoom_range"].max, zhigh)
                c["zoom_range"].value = (zlow, zhigh)
                self.brightness_on.value = config.brightness_range is not None
                if config.brightness_range is not None:
                    blow, bhigh = config.brightness_range
                    c["brightness_range"].min = min(c["brightness_range"].min, blow)
                    c["brightness_range"].max = max(c["brightness_range"].max, bhigh)
                    c["brightness_range"].value = (blow, bhigh)
                c["horizontal_flip"].value = config.horizontal_flip
                c["vertical_flip"].value = config.vertical_flip
                c["fill_mode"].value = config.fill_mode
                c["cval"].value = int(round(config.cval))
            finally:
                self._updating = False
            self.update()

        def _on_control(self, change=None):
            if not self._updating:
                self.update()

        def _on_preset(self, change):
            if change["new"] != "custom" and not self._updating:
                self.set_config(change["new"])

        def _on_resample(self, button=None):
            self.seed += 1
            self.update()

        def update(self) -> None:
            """Redraw the grid from the current control values."""
            self.controls["brightness_range"].disabled = not self.brightness_on.value
            self.controls["cval"].disabled = self.controls["fill_mode"].value != "constant"
            try:
                config = self.config
            except ValueError as error:
                self.status.value = f"<span style='color:#b00'>invalid setting: {_escape(str(error))}</span>"
                return
            t0 = time.perf_counter()
            grid = augment_grid(self.faces, config, n_per_face=self.n_per_face, seed=self.seed)
            for image, row in zip(self.rows, grid):
                image.value = _png(_tile_row(row), self.scale)
            self.last_redraw_ms = (time.perf_counter() - t0) * 1000.0
            self._updating = True
            try:
                self.preset.value = self._preset_name(config)
            finally:
                self._updating = False
            self.code.value = f"<code>{_escape(_config_code(config))}</code>"
            self.status.value = f"<small>redrawn in {self.last_redraw_ms:.1f} ms (seed {self.seed})</small>"

    AugmentationExplorer.__qualname__ = "AugmentationExplorer"
    AugmentationExplorer.__module__ = __name__
    return AugmentationExplorer


def _same_config(a: AugmentConfig, b: AugmentConfig, tol: float = 1e-6) -> bool:
    """Equal up to float noise (slider values such as 0.8999999999)."""
    for field in dataclasses.fields(AugmentConfig):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > tol:
                return False
        elif isinstance(x, tuple) and isinstance(y, tuple):
            if any(abs(p - q) > tol for p, q in zip(x, y)):
                return False
        elif x != y:
            return False
    return True


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _label_text_html(label) -> str:
    if isinstance(label, str):
        return _escape(label)
    from .labels import describe

    return _escape(describe(int(label)))  # HTML shows emoji fine


def _config_code(config: AugmentConfig) -> str:
    """``AugmentConfig(...)`` listing only the fields that differ from the defaults, rounded for reading."""
    default = AugmentConfig()
    parts = []
    for field in dataclasses.fields(AugmentConfig):
        value = getattr(config, field.name)
        if value == getattr(default, field.name):
            continue
        if isinstance(value, float):
            value = round(value, 3)
        elif isinstance(value, tuple):
            value = tuple(round(v, 3) for v in value)
        parts.append(f"{field.name}={value!r}")
    return f"AugmentConfig({', '.join(parts)})"


def __getattr__(name):
    # ipywidgets is imported only when the explorer is used.
    if name == "AugmentationExplorer":
        return _explorer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FILL_MODES", "VALUE_RANGE", "AugmentConfig", "PRESETS", "get_preset", "RandomBrightnessMultiply",
    "build_augmentation", "legacy_generator", "legacy_shift_axes_swapped", "transform_face", "augment_grid",
    "plot_augment_grid", "augmentation_explorer", "AugmentationExplorer",
]
