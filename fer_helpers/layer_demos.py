"""Small demonstrations of what each layer of the tutorial CNN does, for notebook 3.

Every function works on real Keras layers (never a re-implementation), so what the notebook shows is what the
network computes:

* :data:`KERNELS` and :func:`conv_layer`: a ``Conv2D`` whose 3x3 filters are set by hand (edge detectors, blur,
  sharpen), and :func:`apply_kernel` to run one on a face.
* :func:`apply_layer` and :func:`apply_to_image`: run any layer on a batch or on one image, in training or
  inference mode, and get NumPy back.
* :func:`channel_stats`: per-channel mean and variance of several arrays side by side (batch normalisation).
* :func:`conv2d_params`, :func:`dense_params`, :func:`batchnorm_params`, :func:`params_by_hand` and
  :func:`parameter_table`: parameter counts computed from the formulas, next to Keras' own.
* :func:`feature_maps` and :func:`feature_map_figure`: the activations of chosen layers of a model for one face.
* :func:`image_row`: a row of images with titles (faces in gray, signed maps in a diverging colour map).

Faces go in as elsewhere in the package: raw 0..255, ``(48, 48)`` or ``(48, 48, 1)``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .preprocessing import normalize, prepare_faces

#: Hand-made 3x3 filters. Keras' Conv2D computes a cross-correlation (the kernel is not flipped), so
#: ``vertical_edges`` responds positively where brightness increases from left to right.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    # Sobel filters: a difference across the edge, smoothed along it
    "vertical_edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "horizontal_edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    # Laplacian: the centre against its four neighbours; zero on flat areas and on even slopes
    "outline": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=np.float32),
    "blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
}


def kernel(name_or_array) -> np.ndarray:
    """A 2-D float32 kernel: a name from :data:`KERNELS` or an array (checked to be square and odd-sized)."""
    if isinstance(name_or_array, str):
        if name_or_array not in KERNELS:
            raise ValueError(f"unknown kernel {name_or_array!r}: choose one of {sorted(KERNELS)}")
        return KERNELS[name_or_array].copy()
    k = np.asarray(name_or_array, dtype=np.float32)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
        raise ValueError(f"a kernel must be a square 2-D array of odd size, got shape {k.shape}")
    return k


def conv_layer(kernels, padding: str = "same", name: str | None = None):
    """A built ``Conv2D`` for one-channel input whose filters are the given kernels (one output channel each).

    ``kernels`` is a name, an array, or a sequence of them (all the same size). There is no bias, so the output is
    exactly the weighted sum of each pixel's neighbourhood.
    """
    import keras

    if isinstance(kernels, str) or (not isinstance(kernels, (list, tuple)) and np.ndim(kernels) == 2):
        kernels = [kernels]
    ks = [kernel(k) for k in kernels]
    if not ks:
        raise ValueError("give at least one kernel")
    size = ks[0].shape[0]
    if any(k.shape != (size, size) for k in ks):
        raise ValueError(f"all kernels must have the same size, got {[k.shape for k in ks]}")
    layer = keras.layers.Conv2D(len(ks), size, padding=padding, use_bias=False, name=name)
    layer.build((None, None, None, 1))
    layer.set_weights([np.stack(ks, axis=-1)[:, :, None, :]])  # (height, width, in_channels=1, filters)
    return layer


def apply_layer(layer, batch, training: bool = False) -> np.ndarray:
    """Run a Keras layer on a batch (``(N, H, W, C)`` images or ``(N, features)`` vectors); return NumPy.

    ``training`` is passed to the layer: dropout and batch normalisation behave differently in training and
    inference.
    """
    batch = np.asarray(batch)
    if batch.ndim < 2:
        raise ValueError(f"a batch has at least 2 dimensions (N, ...), got shape {batch.shape}")
    return np.asarray(layer(batch.astype(np.float32), training=training))


def apply_to_image(layer, image, training: bool = False) -> np.ndarray:
    """Run a Keras image layer on one image ``(H, W)`` or ``(H, W, C)``.

    The image becomes a batch of one (a 2-D image also gets a channel axis); the result comes back without the
    batch axis, and without the channel axis when the input was 2-D and the output has one channel.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        batch = image[None, :, :, None]
    elif image.ndim == 3:
        batch = image[None]
    else:
        raise ValueError(f"expected one image (H, W) or (H, W, C), got shape {image.shape}")
    out = apply_layer(layer, batch, training=training)[0]
    if image.ndim == 2 and out.shape[-1] == 1:
        out = out[..., 0]
    return out


def apply_kernel(face, kernel_name_or_array, padding: str = "same") -> np.ndarray:
    """Filter one face (raw 0..255) with a hand-set kernel, as a Conv2D does after the model's Rescaling.

    The face is first scaled to [0, 1] (what our models' ``Rescaling(1/255)`` layer does); returns a 2-D float32
    array, ``(48, 48)`` with ``padding="same"``, ``(46, 46)`` with ``"valid"`` for a 3x3 kernel.
    """
    face = np.asarray(face)
    if face.ndim == 3 and face.shape[-1] == 1:
        face = face[..., 0]
    if face.ndim != 2:
        raise ValueError(f"expected one gray face (H, W) or (H, W, 1), got shape {face.shape}")
    return apply_to_image(conv_layer(kernel_name_or_array, padding=padding), normalize(face))


def channel_stats(arrays: Mapping[str, np.ndarray], channels: Sequence[int] | None = None):
    """Mean and variance of every channel (last axis) of each array, one row per array: a pandas DataFrame.

    Batch normalisation is about exactly these numbers: in training it makes each channel's batch mean 0 and
    variance 1 (before its learned scale and offset).
    """
    import pandas as pd

    rows = {}
    for name, arr in arrays.items():
        arr = np.asarray(arr, dtype=np.float64)
        flat = arr.reshape(-1, arr.shape[-1])
        picked = range(flat.shape[1]) if channels is None else channels
        row = {}
        for c in picked:
            row[(f"channel {c}", "mean")] = flat[:, c].mean()
            row[(f"channel {c}", "variance")] = flat[:, c].var()
        rows[name] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df


# ------------------------------------------------------------------------------------------------------------------
# Parameter counts by hand


def conv2d_params(kernel_size: int | tuple[int, int], in_channels: int, filters: int, use_bias: bool = True) -> int:
    """Weights of a Conv2D: one ``kh x kw x in_channels`` kernel per filter, plus one bias per filter."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return kh * kw * in_channels * filters + (filters if use_bias else 0)


def dense_params(inputs: int, units: int, use_bias: bool = True) -> int:
    """Weights of a Dense layer: one weight per input for each unit, plus one bias per unit."""
    return inputs * units + (units if use_bias else 0)


def batchnorm_params(channels: int) -> tuple[int, int]:
    """``(trainable, non_trainable)`` of a BatchNormalization: gamma and beta are learned, the moving mean and
    variance are updated by averaging, not by gradients."""
    return 2 * channels, 2 * channels


def params_by_hand(layer) -> int | None:
    """The parameter count of a built layer from the formulas above; ``None`` for layer types they do not cover.

    Layers without weights (Rescaling, ReLU, pooling, Dropout, Flatten) have 0.
    """
    import keras

    L = keras.layers
    if isinstance(layer, L.Conv2D):
        in_ch = int(layer.input.shape[-1])
        return conv2d_params(tuple(layer.kernel_size), in_ch, layer.filters, layer.use_bias)
    if isinstance(layer, L.Dense):
        return dense_params(int(layer.input.shape[-1]), layer.units, layer.use_bias)
    if isinstance(layer, L.BatchNormalization):
        return sum(batchnorm_params(int(layer.input.shape[-1])))
    if isinstance(layer, (L.InputLayer, L.Rescaling, L.ReLU, L.Activation, L.MaxPooling2D, L.AveragePooling2D,
                          L.Dropout, L.Flatten, L.GlobalAveragePooling2D)):
        return 0
    return None


def parameter_table(model):
    """One row per layer: type, output shape, parameters by hand and according to Keras (a pandas DataFrame)."""
    import pandas as pd

    rows = []
    for layer in model.layers:
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": tuple(layer.output.shape[1:]),
            "by hand": params_by_hand(layer),
            "Keras": layer.count_params(),
        })
    return pd.DataFrame(rows).set_index("layer")


# ------------------------------------------------------------------------------------------------------------------
# Feature maps


def feature_maps(model, face, layer_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Outputs of the named layers for one face (raw 0..255), each ``(height, width, channels)``, in inference mode."""
    import keras

    if isinstance(layer_names, str):
        layer_names = [layer_names]
    names = list(layer_names)
    known = [layer.name for layer in model.layers]
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"model {model.name!r} has no layer(s) {missing}; its layers are {known}")
    if len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs; feature_maps needs a one-input model")
    probe = keras.Model(model.inputs[0], [model.get_layer(n).output for n in names])
    outputs = probe(prepare_faces([np.asarray(face)]).astype(np.float32), training=False)
    if not isinstance(outputs, (list, tuple)):  # a model with one output returns a tensor, not a list
        outputs = [outputs]
    return {n: np.asarray(o)[0] for n, o in zip(names, outputs)}


def strongest_channels(fmap: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` channels with the largest mean activation, strongest first."""
    fmap = np.asarray(fmap)
    order = np.argsort(-fmap.reshape(-1, fmap.shape[-1]).mean(axis=0), kind="stable")
    return order[:n]


def feature_map_figure(face, maps: Mapping[str, np.ndarray], n_maps: int = 8, size: float = 1.1,
                       title: str | None = None):
    """One row per layer: the input face, then the ``n_maps`` strongest channels of that layer's feature map.

    Each map is drawn with its own gray scale (black = 0, white = its maximum), so weak and strong layers are both
    visible; the row label gives the layer's name and the map's shape.
    """
    import matplotlib.pyplot as plt

    if not maps:
        raise ValueError("no feature maps to show")
    face2d = prepare_faces([np.asarray(face)])[0, :, :, 0]
    n_maps = min(n_maps, min(np.asarray(m).shape[-1] for m in maps.values()))
    fig, axes = plt.subplots(len(maps), n_maps + 1, figsize=(size * (n_maps + 1), (size + 0.3) * len(maps)),
                             squeeze=False)
    for row, (name, fmap) in zip(axes, maps.items()):
        fmap = np.asarray(fmap)
        row[0].imshow(face2d, cmap="gray", vmin=0, vmax=255)
        row[0].set_title("input", fontsize=8)
        h, w, c = fmap.shape
        row[1].set_title(f"{name} ({h}x{w}x{c})", fontsize=8, loc="left")
        for ax, ch in zip(row[1:], strongest_channels(fmap, n_maps)):
            m = fmap[:, :, ch]
            lo, hi = min(float(m.min()), 0.0), float(m.max())
            ax.imshow(m, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
            ax.set_xlabel(f"#{ch}", fontsize=7, labelpad=1)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_row(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, size: float = 2.2,
              colorbar: bool = True, title: str | None = None, shared_scale: bool = False):
    """A row of 2-D images with titles.

    uint8 images are drawn in gray on the fixed scale 0..255; float images that are never negative in gray from 0
    to their maximum; images with negative values in a blue-white-red map centred on 0 (blue negative, red
    positive), so the sign of a filter's response is visible. With ``shared_scale=True`` all float images use the
    largest maximum (or absolute value) of them all, so their brightness can be compared.
    """
    import matplotlib.pyplot as plt

    images = [np.asarray(i) for i in images]
    images = [i[..., 0] if i.ndim == 3 and i.shape[-1] == 1 else i for i in images]
    if not images:
        raise ValueError("no images to show")
    if any(i.ndim != 2 for i in images):
        raise ValueError(f"every image must be 2-D, got shapes {[i.shape for i in images]}")
    titles = list(titles) if titles is not None else [""] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images) + (0.4 * len(images) if colorbar else 0),
                                                      size + 0.4), squeeze=False)
    floats = [i for i in images if i.dtype != np.uint8]
    common = max((float(np.abs(i).max()) for i in floats), default=0.0) if shared_scale else None
    for ax, img, t in zip(axes[0], images, titles):
        if img.dtype == np.uint8:
            kw = {"cmap": "gray", "vmin": 0, "vmax": 255}
        elif float(img.min()) < 0:
            m = common or float(np.abs(img).max()) or 1.0
            kw = {"cmap": "RdBu_r", "vmin": -m, "vmax": m}
        else:
            kw = {"cmap": "gray", "vmin": 0, "vmax": common or float(img.max()) or 1.0}
        shown = ax.imshow(img, **kw)
        ax.set_title(t, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if colorbar and img.dtype != np.uint8:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = [
    "KERNELS", "kernel", "conv_layer", "apply_layer", "apply_to_image", "apply_kernel", "channel_stats", "conv2d_params",
    "dense_params", "batchnorm_params", "params_by_hand", "parameter_table", "feature_maps", "strongest_channels",
    "feature_map_figure", "image_row",
]
