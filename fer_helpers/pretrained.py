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
    import keras

    return keras.models.load_model(pretrained_path(), compile=False)


def pretrained_info() -> dict:
    """Training recipe and measured accuracy of the shipped model (the numbers of the model card)."""
    if not INFO_FILE.exists():
        raise FileNotFoundError(f"{INFO_FILE} is missing from this installation")
    return json.loads(INFO_FILE.read_text())
