"""The one definition of FER2013's seven classes.

Every other module (loading, training, evaluation, the recogniser, the notebooks) takes its class names, emojis and
label order from here, so the order can never drift between training and inference.

FER2013 numbers its classes 0..6 in this order: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral. The widely
shared image-folder copy of the data set stores the same faces in folders named ``angry``, ``disgust``, ``fear``,
``happy``, ``neutral``, ``sad``, ``surprise``; sorted alphabetically (as ``keras.utils.image_dataset_from_directory``
does by default) ``neutral`` would become class 4, not 6. :func:`label_from_folder` maps folder names onto the
FER2013 numbering instead.
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

#: Folder names of the image-folder layout (``train/<folder>/*.jpg``) mapped to FER2013 labels.
FOLDER_TO_LABEL: Mapping[str, int] = {name.lower(): i for i, name in enumerate(EMOTIONS)}

#: The official ``Usage`` values of the Kaggle CSV: train on Training, select on PublicTest, report PrivateTest.
USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")


def label_from_folder(folder: str) -> int:
    """Return the FER2013 label of an image-folder class name (case-insensitive), e.g. ``"neutral"`` -> 6."""
    key = folder.strip().lower()
    if key not in FOLDER_TO_LABEL:
        raise ValueError(
            f"unknown emotion folder {folder!r}: expected one of {sorted(FOLDER_TO_LABEL)}"
        )
    return FOLDER_TO_LABEL[key]


def emotion_name(label: int) -> str:
    """Name of an integer label, with a clear error for anything outside 0..6."""
    label = int(label)
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"label {label} is outside 0..{NUM_CLASSES - 1}")
    return EMOTIONS[label]


def emoji(label: int) -> str:
    """Emoji of an integer label."""
    return EMOJIS[EMOTIONS.index(emotion_name(label))]


def describe(label: int, probability: float | None = None) -> str:
    """``"😄 Happy"`` or, with a probability, ``"😄 Happy 93%"``."""
    text = f"{emoji(label)} {emotion_name(label)}"
    if probability is not None:
        text += f" {probability:.0%}"
    return text


def one_hot(labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """One-hot encode integer labels as float32, checking that every label lies in 0..num_classes-1."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"label {bad} is outside 0..{num_classes - 1}")
    out = np.zeros((labels.shape[0], num_classes), dtype="float32")
    out[np.arange(labels.shape[0]), labels.astype(int)] = 1.0
    return out
