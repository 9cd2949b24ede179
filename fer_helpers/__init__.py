"""fer_helpers: the tested helper package behind the fer-tutorial notebook series."""

from .labels import EMOJIS, EMOTIONS, LABEL_MAP, NUM_CLASSES, USAGES, describe, emoji, label_from_folder, one_hot
from .preprocessing import FACE_SIZE, INPUT_SHAPE, normalize, prepare_face, prepare_faces

__version__ = "0.1.0"

__all__ = [
    "EMOJIS", "EMOTIONS", "LABEL_MAP", "NUM_CLASSES", "USAGES", "describe", "emoji", "label_from_folder", "one_hot",
    "FACE_SIZE", "INPUT_SHAPE", "normalize", "prepare_face", "prepare_faces",
]
