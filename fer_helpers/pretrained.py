"""The pretrained FER2013 model shipped inside the package (how it was trained and how well it does:
``docs/MODEL_CARD.md`` and :func:`pretrained_info`).

``load_pretrained()`` returns a Keras model that takes raw 48x48 gray faces (0..255, shape ``(N, 48, 48, 1)``).
"""

from __future__ import annotations

import functools
import inspect
import json
import tempfile
import zipfile
from pathlib import Path

MODEL_FILE = Path(__file__).resolve().parent / "pretrained" / "fer_vgg.keras"
INFO_FILE = MODEL_FILE.with_suffix(".json")


def pretrained_path() -> Path:
    """Path of the shipped ``.keras`` file, with a clear error if this installation lacks it."""
    if not MODEL_FILE.exists():
        raise FileNotFoundError(f"the pretrained model {MODEL_FILE.name} is missing from this installation "
                                f"({MODEL_FILE.parent}): reinstall fer-helpers, or pass its path instead")
    return MODEL_FILE


@functools.lru_cache(maxsize=1)
def load_pretrained():
    """Load (once per process) and return the shipped model; ``safe_mode`` stays on."""
    return load_shipped_model(pretrained_path())


def load_shipped_model(path):
    """``keras.models.load_model(path, compile=False)``, also on an older Keras (Colab's 3.10) than the one that saved
    the file: a layer or initializer argument it does not know is left out."""
    import keras

    try:
        return static_input(keras.models.load_model(path, compile=False))
    except (TypeError, ValueError) as exc:
        if "argument" not in str(exc):
            raise
    with zipfile.ZipFile(path) as src, tempfile.TemporaryDirectory() as tmp:
        config = known_arguments_only(json.loads(src.read("config.json")))
        copy = Path(tmp) / Path(path).name
        with zipfile.ZipFile(copy, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, json.dumps(config) if item.filename == "config.json" else src.read(item.filename))
        return static_input(keras.models.load_model(copy, compile=False))


def static_input(model):
    """``model``, or where this Keras's CenterCrop takes no faces of unknown size (Keras 3.10) its layers on 48x48
    faces (ten-crop then needs a newer Keras)."""
    import keras
    import numpy as np

    if tuple(model.input_shape[1:3]) != (None, None):
        return model
    try:
        model.predict_on_batch(np.zeros((1, 48, 48, 1), "float32"))
        return model
    except ValueError as exc:
        if "static spatial shape" not in str(exc):
            raise
    faces = keras.Input((48, 48, 1), name="face")
    return keras.Model(faces, model(faces), name=model.name)


def known_arguments_only(node):
    """A saved Keras config with every layer and initializer argument the installed Keras does not accept removed."""
    import keras

    if isinstance(node, list):
        return [known_arguments_only(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: known_arguments_only(value) for key, value in node.items()}
    namespace = {"keras.layers": keras.layers, "keras.initializers": keras.initializers}.get(node.get("module"))
    cls = getattr(namespace, str(node.get("class_name")), None)
    if isinstance(cls, type) and isinstance(node.get("config"), dict):
        known = set(inspect.signature(cls.__init__).parameters)
        if issubclass(cls, keras.layers.Layer):
            known |= set(inspect.signature(keras.layers.Layer.__init__).parameters) | {
                "input_shape", "batch_input_shape", "batch_size", "input_dim", "dtype", "name", "trainable"}
        node["config"] = {k: v for k, v in node["config"].items() if k in known}
    return node


def pretrained_info() -> dict:
    """Training recipe and measured accuracy of the shipped model (the numbers of the model card)."""
    if not INFO_FILE.exists():
        raise FileNotFoundError(f"{INFO_FILE} is missing from this installation")
    return json.loads(INFO_FILE.read_text())
