"""Data augmentation for FER2013 with Keras 3 layers, configured with ``ImageDataGenerator``'s parameter names.

:class:`AugmentConfig` holds the settings under the names most FER2013 tutorials use; :func:`build_augmentation`
turns one into a ``keras.Sequential`` of random layers (lesson 4 explains each conversion); :func:`augment_grid` and
:func:`plot_augment_grid` draw augmented faces; :func:`legacy_generator` builds the deprecated ``ImageDataGenerator``
for comparison. The interactive explorer is :class:`fer_helpers.widgets.AugmentationExplorer`.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .labels import emotion_name
from .plotting import subplots

#: ``fill_mode`` values understood by the Keras layers and ``ImageDataGenerator`` alike.
FILL_MODES: tuple[str, ...] = ("nearest", "reflect", "wrap", "constant")


def _number(name: str, value, low: float, high: float) -> float:
    """``value`` as a float in [low, high], else a ValueError naming ``name``."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))
            or not low <= value <= high):
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _pair(name: str, value, low: float, high: float) -> tuple[float, float]:
    """``value`` as a ``(lo, hi)`` pair in [low, high] with lo <= hi, else a ValueError naming ``name``."""
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    pair = (_number(name, value[0], low, high), _number(name, value[1], low, high))
    if pair[0] > pair[1]:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {value!r}")
    return pair


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings with ``ImageDataGenerator``'s names and meanings; the default changes nothing.

    Shifts are fractions of the image size (at most 0.5), ``rotation_range`` is in degrees, ``zoom_range`` a float
    ``z`` (scales ``1 - z`` to ``1 + z``) or a ``(low, high)`` pair of scales (below 1 zooms in), ``brightness_range``
    ``None`` or a pair of factors that multiply the image. Values are checked; ``zoom_range`` is stored as a pair.
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
        zoom = self.zoom_range
        if not isinstance(zoom, (tuple, list, np.ndarray)):
            zoom = (1.0 - _number("zoom_range", zoom, 0.0, 0.9), 1.0 + zoom)
        checked = {"width_shift_range": _number("width_shift_range", self.width_shift_range, 0.0, 0.5),
                   "height_shift_range": _number("height_shift_range", self.height_shift_range, 0.0, 0.5),
                   "rotation_range": _number("rotation_range", self.rotation_range, 0.0, 180.0),
                   "zoom_range": _pair("zoom_range", zoom, 0.1, 2.0),
                   "cval": _number("cval", self.cval, 0.0, 255.0)}
        if self.brightness_range is not None:
            checked["brightness_range"] = _pair("brightness_range", self.brightness_range, 0.0, 3.0)
        for name in ("horizontal_flip", "vertical_flip"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
            checked[name] = bool(getattr(self, name))
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {list(FILL_MODES)}, got {self.fill_mode!r}")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: Named configurations; "default" is what the series trains with: small shifts, turns and zooms, left-right
#: mirroring and mild brightness changes, never upside-down faces.
PRESETS: dict[str, AugmentConfig] = {
    "none": AugmentConfig(),
    "light": AugmentConfig(width_shift_range=0.05, height_shift_range=0.05, horizontal_flip=True, rotation_range=5.0,
                           zoom_range=0.05),
    "default": AugmentConfig(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True, rotation_range=12.0,
                             zoom_range=0.1, brightness_range=(0.8, 1.2)),
    "strong": AugmentConfig(width_shift_range=0.15, height_shift_range=0.15, horizontal_flip=True, rotation_range=20.0,
                            zoom_range=0.2, brightness_range=(0.6, 1.4)),
}


def get_preset(name) -> AugmentConfig:
    """The preset called ``name`` (case-insensitive); an :class:`AugmentConfig` is returned unchanged."""
    if isinstance(name, AugmentConfig):
        return name
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}: expected one of {sorted(PRESETS)}")
    return PRESETS[key]


@keras.saving.register_keras_serializable(package="fer_helpers")
class RandomBrightnessMultiply(layers.Layer):
    """Multiply each image by one random factor from ``factor_range`` and clip to 0..255 (``brightness_range``).

    ``keras.layers.RandomBrightness`` adds an offset instead. Like Keras' random layers it acts only when
    ``training`` is true, which a direct call counts as.
    """

    def __init__(self, factor_range=(0.8, 1.2), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor_range = _pair("factor_range", factor_range, 0.0, 3.0)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=True):
        images = ops.cast(inputs, self.compute_dtype)
        if not training:
            return images
        shape = (ops.shape(images)[0], 1, 1, 1) if len(images.shape) == 4 else (1, 1, 1)
        factor = keras.random.uniform(shape, *self.factor_range, dtype=self.compute_dtype, seed=self.generator)
        return ops.clip(images * factor, 0.0, 255.0)

    def get_config(self):
        return {**super().get_config(), "factor_range": list(self.factor_range), "seed": self.seed}


def build_augmentation(config="default", seed: int | None = None, name: str = "augmentation") -> keras.Sequential:
    """A ``keras.Sequential`` of random layers that augments faces (0..255) like ``config``.

    ``config`` is an :class:`AugmentConfig` or a preset name. Only the settings in use get a layer, in
    ``ImageDataGenerator``'s order: RandomRotation, RandomTranslation, RandomZoom, a RandomFlip per direction,
    :class:`RandomBrightnessMultiply`. ``seed`` makes the draws reproducible. No setting gives the identity.
    """
    c = get_preset(config)

    def seed_of(role: int):
        return None if seed is None else seed + role

    fill = dict(fill_mode=c.fill_mode, fill_value=c.cval)
    zoom = (c.zoom_range[0] - 1.0, c.zoom_range[1] - 1.0)  # RandomZoom's factor is the scale minus 1
    stack = []
    if c.rotation_range > 0:
        stack.append(layers.RandomRotation(c.rotation_range / 360.0, seed=seed_of(0), name="rotation", **fill))
    if c.width_shift_range > 0 or c.height_shift_range > 0:
        stack.append(layers.RandomTranslation(c.height_shift_range, c.width_shift_range, seed=seed_of(1),
                                              name="translation", **fill))
    if zoom != (0.0, 0.0):
        stack.append(layers.RandomZoom(zoom, zoom, seed=seed_of(2), name="zoom", **fill))
    if c.horizontal_flip:
        stack.append(layers.RandomFlip("horizontal", seed=seed_of(3), name="flip_horizontal"))
    if c.vertical_flip:
        stack.append(layers.RandomFlip("vertical", seed=seed_of(4), name="flip_vertical"))
    if c.brightness_range not in (None, (1.0, 1.0)):
        stack.append(RandomBrightnessMultiply(c.brightness_range, seed=seed_of(5), name="brightness"))
    return keras.Sequential(stack or [layers.Rescaling(1.0, name="identity")], name=name)


# Legacy: ImageDataGenerator, only to compare with the original tutorial.


def legacy_generator(config="default", **kwargs):
    """**Legacy.** The deprecated ``ImageDataGenerator`` with the settings of ``config``; ``kwargs`` go to it too.

    In Keras 3 it swaps the meaning of ``width_shift_range`` and ``height_shift_range`` (keras-team/keras#17398).
    """
    args = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(get_preset(config)).items()}
    return tf.keras.preprocessing.image.ImageDataGenerator(**{**args, **kwargs})


# Pictures of augmented faces


def face_stack(faces) -> np.ndarray:
    """``(N, H, W)`` float32 from one face or a batch: ``(H, W)``, ``(H, W, 1)``, ``(N, H, W)`` or ``(N, H, W, 1)``."""
    stack = np.asarray(faces)
    stack = stack[..., 0] if stack.ndim in (3, 4) and stack.shape[-1] == 1 else stack
    stack = stack[None] if stack.ndim == 2 else stack
    if stack.ndim != 3 or len(stack) == 0:
        raise ValueError(f"faces must have shape (H, W), (H, W, 1), (N, H, W) or (N, H, W, 1), got {np.shape(faces)}")
    if stack.dtype == bool or not np.issubdtype(stack.dtype, np.number) or not np.all((stack >= 0) & (stack <= 255)):
        raise ValueError("faces must hold pixel values 0..255")
    return stack.astype(np.float32)


def augment_grid(faces, config="default", n_per_face: int = 8, seed: int | None = 0,
                 include_original: bool = True) -> np.ndarray:
    """``(n_faces, n_per_face, H, W)`` uint8: copies of each face augmented by :func:`build_augmentation`.

    Column 0 holds the originals if ``include_original``. The same ``seed`` draws the same random numbers.
    """
    stack, start = face_stack(faces), int(include_original)
    if n_per_face < 1:
        raise ValueError(f"n_per_face must be at least 1, got {n_per_face}")
    grid = np.repeat(stack[:, None], n_per_face, axis=1)
    if n_per_face > start:
        copies = grid[:, start:].reshape(-1, *stack.shape[1:], 1)
        augmented = np.asarray(build_augmentation(config, seed=seed)(copies, training=True))
        grid[:, start:] = augmented.reshape(grid[:, start:].shape)
    return np.clip(np.rint(grid), 0, 255).astype(np.uint8)


def plot_augment_grid(faces, config="default", n_per_face: int = 8, seed: int | None = 0, labels=None,
                      include_original: bool = True, cell_size: float = 1.1, title: str | None = None):
    """Draw :func:`augment_grid` as a pyplot figure, one row per face; ``labels`` become the row titles."""
    grid = augment_grid(faces, config, n_per_face, seed, include_original)
    if labels is not None and len(labels) != len(grid):
        raise ValueError(f"got {len(labels)} labels for {len(grid)} faces")
    fig, axes = subplots(len(grid), n_per_face, squeeze=False, layout="constrained",
                         figsize=(cell_size * n_per_face, cell_size * len(grid) + (0.4 if title else 0.1)))
    for (i, j), ax in np.ndenumerate(axes):
        ax.imshow(grid[i, j], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set(xticks=[], yticks=[], title="" if i else ("original" if include_original and j == 0 else "augmented"))
        ax.title.set_fontsize(8)
    for ax, label in zip(axes[:, 0], [] if labels is None else labels):
        ax.set_ylabel(label if isinstance(label, str) else emotion_name(int(label)), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
