import numpy as np
import pytest

from fer_helpers import labels


def test_fer2013_order_and_emojis():
    assert labels.EMOTIONS == ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
    assert len(labels.EMOJIS) == 7 and len(set(labels.EMOJIS)) == 7
    assert labels.LABEL_MAP[3] == "Happy" and labels.LABEL_MAP[6] == "Neutral"
    assert labels.describe(3, 0.93) == "😄 Happy 93%"


def test_folder_names_map_to_fer_order_not_alphabetical():
    folders = sorted(["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"])  # as on disk
    alphabetical_index = {name: i for i, name in enumerate(folders)}
    mapped = {name: labels.label_from_folder(name) for name in folders}
    assert mapped == {"angry": 0, "disgust": 1, "fear": 2, "happy": 3, "sad": 4, "surprise": 5, "neutral": 6}
    # alphabetical order would put neutral at 4 and sad at 5: the mapping must not follow it
    assert alphabetical_index["neutral"] == 4 and mapped["neutral"] == 6
    assert labels.label_from_folder("Surprise") == 5
    with pytest.raises(ValueError, match="unknown emotion folder 'contempt'"):
        labels.label_from_folder("contempt")


def test_one_hot_and_range_errors():
    y = labels.one_hot([0, 6, 3])
    assert y.shape == (3, 7) and y.dtype == np.float32
    assert y.argmax(1).tolist() == [0, 6, 3] and y.sum() == 3
    with pytest.raises(ValueError, match="label 7 is outside 0..6"):
        labels.one_hot([1, 7])
    with pytest.raises(ValueError, match="outside 0..6"):
        labels.emotion_name(-1)
