"""Small demonstrations of what each layer of the tutorial CNN does, for lesson 3.

Every function runs real Keras layers, so what the lesson shows is what the network computes. Faces go in raw
(0..255), ``(48, 48)`` or ``(48, 48, 1)``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .preprocessing import normalize, prepare_faces

#: Hand-made 3x3 filters. Conv2D does not flip its kernel, so ``vertical_edges`` is positive where brightness rises
#: from left to right.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "vertical_edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),  # Sobel
    "horizontal_edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "outline": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=np.float32),  # Laplacian
    "blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
}


def kernel(name_or_array) -> np.ndarray:
    """A 2-D float32 kernel: a copy of one of :data:`KERNELS`, or an array (square, of odd size)."""
    if isinstance(name_or_array, str):
        if name_or_array not in KERNELS:
            raise ValueError(f"unknown kernel {name_or_array!r}: choose one of {sorted(KERNELS)}")
        return KERNELS[name_or_array].copy()
    k = np.asarray(name_or_array, dtype=np.float32)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
        raise ValueError(f"a kernel must be a square 2-D array of odd size, got shape {k.shape}")
    return k


def conv_layer(kernels, padding: str = "same", name: str | None = None) -> keras.layers.Conv2D:
    """A ``Conv2D`` without bias for one-channel images whose filters are ``kernels`` (a name, an array, or a list)."""
    if isinstance(kernels, str) or (not isinstance(kernels, (list, tuple)) and np.ndim(kernels) == 2):
        kernels = [kernels]
    ks = np.stack([kernel(k) for k in kernels], axis=-1)  # a ValueError unless there are kernels, all of one size
    layer = keras.layers.Conv2D(ks.shape[-1], ks.shape[0], padding=padding, use_bias=False, name=name)
    layer.build((None, None, None, 1))
    layer.set_weights([ks[:, :, None, :]])  # (height, width, in_channels=1, filters)
    return layer


def apply_layer(layer, batch, training: bool = False) -> np.ndarray:
    """Run a Keras layer on a batch, ``(N, H, W, C)`` images or ``(N, features)``, in training or inference mode."""
    return np.asarray(layer(np.asarray(batch, dtype=np.float32), training=training))


def apply_to_image(layer, image, training: bool = False) -> np.ndarray:
    """Run a Keras image layer on one image ``(H, W)`` or ``(H, W, C)``; a 2-D image gives a 2-D one-channel result."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected one image (H, W) or (H, W, C), got shape {image.shape}")
    out = apply_layer(layer, image.reshape(1, *image.shape[:2], -1), training=training)[0]
    return out[..., 0] if image.ndim == 2 and out.shape[-1] == 1 else out


def apply_kernel(face, kernel_name_or_array, padding: str = "same") -> np.ndarray:
    """Filter one raw face with a hand-set kernel after scaling it to [0, 1], as our models' Rescaling layer does."""
    face = np.asarray(face)
    if not (face.ndim == 2 or face.shape[2:] == (1,)):
        raise ValueError(f"expected one gray face (H, W) or (H, W, 1), got shape {face.shape}")
    return apply_to_image(conv_layer(kernel_name_or_array, padding=padding), normalize(face.reshape(face.shape[:2])))


def channel_stats(arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Mean and variance of every channel (last axis) of each array, one row per array."""
    flat = {name: np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1]) for name, a in arrays.items()}
    channels = next(iter(flat.values())).shape[1]
    columns = pd.MultiIndex.from_product([[f"channel {c}" for c in range(channels)], ["mean", "variance"]])
    rows = [np.stack([f.mean(axis=0), f.var(axis=0)], axis=1).ravel() for f in flat.values()]
    return pd.DataFrame(rows, index=list(flat), columns=columns)


def feature_maps(model, face, layer_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Outputs of the named layers of ``model`` for one raw face, each without the batch axis, in inference mode."""
    names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    outputs = probe(prepare_faces([np.asarray(face)]).astype(np.float32), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {n: np.asarray(o)[0] for n, o in zip(names, outputs)}


def strongest_channels(fmap: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` channels with the largest mean activation, strongest first."""
    fmap = np.asarray(fmap)
    return np.argsort(-fmap.reshape(-1, fmap.shape[-1]).mean(axis=0), kind="stable")[:n]


def show(ax, image: np.ndarray, title: str = "", scale: float = 0.0):
    """Draw a 2-D image without ticks or frame; returns the image artist.

    uint8 images in gray on 0..255; others in gray from 0 to their largest value (or ``scale``), or, with negative
    values, in a blue-white-red map centred on 0.
    """
    if image.dtype == np.uint8:
        shown = ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    else:
        scale, signed = scale or float(np.abs(image).max()) or 1.0, image.min() < 0
        shown = ax.imshow(image, cmap="RdBu_r" if signed else "gray", vmin=-scale if signed else 0, vmax=scale)
    ax.set_title(title, fontsize=9)
    ax.set(xticks=[], yticks=[])
    ax.spines[:].set_visible(False)
    return shown


def feature_map_figure(face, maps: Mapping[str, np.ndarray], n_maps: int = 8, size: float = 1.1):
    """One row per layer: the face, then the ``n_maps`` strongest channels of the layer's feature map."""
    if not maps:
        raise ValueError("no feature maps to show")
    n_maps = min(n_maps, min(np.shape(m)[-1] for m in maps.values()))
    fig, axes = plt.subplots(len(maps), n_maps + 1, figsize=(size * (n_maps + 1), (size + 0.3) * len(maps)),
                             squeeze=False)
    for row, (name, fmap) in zip(axes, maps.items()):
        show(row[0], prepare_faces([np.asarray(face)])[0, :, :, 0], "input")
        for ax, channel in zip(row[1:], strongest_channels(fmap, n_maps)):
            show(ax, np.asarray(fmap)[:, :, channel])
            ax.set_xlabel(f"#{channel}", fontsize=7, labelpad=1)
        row[1].set_title(f"{name} ({'x'.join(map(str, np.shape(fmap)))})", fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def image_row(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, size: float = 2.2,
              shared_scale: bool = False):
    """A row of 2-D images with titles (see :func:`show`); ``shared_scale``: one scale for all float images."""
    images = [np.asarray(i)[..., 0] if np.ndim(i) == 3 and np.shape(i)[-1] == 1 else np.asarray(i) for i in images]
    titles = [""] * len(images) if titles is None else list(titles)
    if not images or any(i.ndim != 2 for i in images):
        raise ValueError(f"expected one or more 2-D images, got shapes {[i.shape for i in images]}")
    if len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    fig, axes = plt.subplots(1, len(images), figsize=((size + 0.4) * len(images), size + 0.4),
                             squeeze=False)
    scale = max((float(np.abs(i).max()) for i in images if i.dtype != np.uint8), default=0.0) if shared_scale else 0.0
    for ax, image, title in zip(axes[0], images, titles):
        shown = show(ax, image, title, scale)
        if image.dtype != np.uint8:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig
