"""The pretrained FER2013 model shipped inside the package.

``load_pretrained()`` returns a Keras model that takes raw 48x48 gray faces (0..255, shape ``(N, 48, 48, 1)``) like
every model of this package; it is the default of ``python -m fer_helpers predict``, of :class:`EmotionRecognizer`
and of the webcam lesson. How it was trained, on which data and how well it does: ``docs/MODEL_CARD.md`` and
:func:`pretrained_info`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MODEL_FILE = PRETRAINED_DIR / "fer_vgg.keras"
INFO_FILE = PRETRAINED_DIR / "fer_vgg.json"


def pretrained_path() -> Path:
    """Path of the shipped ``.keras`` file, with a clear error if this installation lacks it."""
    if not MODEL_FILE.exists():
        raise FileNotFoundError(
            f"the pretrained model {MODEL_FILE.name} is missing from this installation ({PRETRAINED_DIR}); "
            "reinstall fer-helpers, or train one with the fer-tutorial repository's scripts/train_pretrained.sh "
            "and pass its path instead")
    return MODEL_FILE


@functools.lru_cache(maxsize=1)
def load_pretrained():
    """Load (once per process) and return the shipped model; ``safe_mode`` stays on."""
    return load_shipped_model(pretrained_path())


def load_shipped_model(path):
    """``keras.models.load_model(path, compile=False)``, also on the older Keras the pins allow (Colab's 3.10).

    The shipped file was saved by a newer Keras, whose layer and initializer configs carry arguments an older one
    does not know (e.g. ``renorm`` of BatchNormalization, ``input_axes`` of GlorotUniform). When loading fails on
    such an argument, the file is loaded again with every argument the installed class does not accept left out.
    """
    import inspect
    import tempfile
    import zipfile

    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except (TypeError, ValueError) as exc:
        if "argument" not in str(exc):
            raise
    layer_args = set(inspect.signature(keras.layers.Layer.__init__).parameters) | {
        "input_shape", "batch_input_shape", "batch_size", "input_dim", "dtype", "name", "trainable"}

    def accepted(node):
        namespace = {"keras.layers": keras.layers, "keras.initializers": keras.initializers}.get(node.get("module"))
        cls = getattr(namespace, str(node.get("class_name")), None) if namespace else None
        if not isinstance(cls, type):
            return None
        known = set(inspect.signature(cls.__init__).parameters)
        return known | layer_args if issubclass(cls, keras.layers.Layer) else known

    def clean(node):
        if isinstance(node, dict):
            known = accepted(node) if isinstance(node.get("config"), dict) else None
            if known is not None:
                node["config"] = {k: v for k, v in node["config"].items() if k in known}
            for value in node.values():
                clean(value)
        elif isinstance(node, list):
            for value in node:
                clean(value)

    with zipfile.ZipFile(path) as src, tempfile.TemporaryDirectory() as tmp:
        config = json.loads(src.read("config.json"))
        clean(config)
        copy = Path(tmp) / Path(path).name
        with zipfile.ZipFile(copy, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, json.dumps(config) if item.filename == "config.json" else src.read(item.filename))
        return keras.models.load_model(copy, compile=False)


def pretrained_info() -> dict:
    """Training recipe and measured accuracy of the shipped model (the numbers of the model card)."""
    if not INFO_FILE.exists():
        raise FileNotFoundError(f"{INFO_FILE} is missing from this installation")
    return json.loads(INFO_FILE.read_text())
