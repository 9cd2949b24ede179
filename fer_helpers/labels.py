"""The one definition of FER2013's seven classes, which every other module and the notebooks take.

FER2013 numbers its classes 0..6 in this order: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral. The image-folder
copy of the data set names its folders ``angry``, ..., ``surprise``; sorted alphabetically (as
``keras.utils.image_dataset_from_directory`` does by default) ``neutral`` would become class 4, not 6, so
:func:`label_from_folder` maps folder names onto the FER2013 numbering instead.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

#: Class names in FER2013 label order: ``EMOTIONS[label]`` is the name of integer label ``label``.
EMOTIONS: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
#: One emoji per class, in the same order.
EMOJIS: tuple[str, ...] = ("😠", "🤢", "😨", "😄", "😢", "😲", "😐")
NUM_CLASSES: int = len(EMOTIONS)
#: ``{0: "Angry", 1: "Disgust", ...}``: the label map printed by the notebooks.
LABEL_MAP: Mapping[int, str] = dict(enumerate(EMOTIONS))
#: The official ``Usage`` values of the Kaggle CSV: train on Training, select on PublicTest, report PrivateTest.
USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")


def label_from_folder(folder: str) -> int:
    """The FER2013 label of an image-folder class name (case-insensitive), e.g. ``"neutral"`` -> 6."""
    names = [name.lower() for name in EMOTIONS]
    if folder.strip().lower() not in names:
        raise ValueError(f"unknown emotion folder {folder!r}: expected one of {sorted(names)}")
    return names.index(folder.strip().lower())


def emotion_name(label: int) -> str:
    """Name of an integer label, with a clear error for anything outside 0..6."""
    if not 0 <= int(label) < NUM_CLASSES:
        raise ValueError(f"label {label} is outside 0..{NUM_CLASSES - 1}")
    return EMOTIONS[int(label)]


def emoji(label: int) -> str:
    """Emoji of an integer label."""
    return EMOJIS[EMOTIONS.index(emotion_name(label))]


def describe(label: int, probability: float | None = None) -> str:
    """``"😄 Happy"`` or, with a probability, ``"😄 Happy 93%"``."""
    return f"{emoji(label)} {emotion_name(label)}" + ("" if probability is None else f" {probability:.0%}")


def one_hot(labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """One-hot encode integer labels as float32, checking that every label lies in 0..num_classes-1."""
    labels = np.asarray(labels).astype(int)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(f"label {bad[0]} is outside 0..{num_classes - 1}")
    return np.eye(num_classes, dtype="float32")[labels]
