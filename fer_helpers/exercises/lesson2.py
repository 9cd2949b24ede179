"""Exercises of lesson 2: preprocessing and splitting.

Their hints and worked solutions are in lesson2.md.
"""

import numpy as np

from ..labels import EMOTIONS
from .core import Exercise, exercise, fail, need, need_shape

LABELS = np.array([3, 0, 5, 1])  # Happy, Angry, Surprise, Disgust: no Neutral (6) among them


@exercise(2, 1)
def q1(x):
    x = np.asarray(x)
    if x.shape[1:] == (48, 48):
        fail("the images are (N, 48, 48); Conv2D needs a channel axis: (N, 48, 48, 1). "
             "Use x.reshape(-1, 48, 48, 1) or x[..., np.newaxis]")
    if x.shape[1:] == (48 * 48,):
        fail("the faces are still flat, (N, 2304): reshape them to (N, 48, 48, 1)")
    need_shape(x, x.shape[:1] + (48, 48, 1), "one 48x48 face with its channel axis per row")
    if x.dtype.kind != "f":
        fail(f"the values are {x.dtype}: a network takes floats; divide by 255.0 (which gives float64) "
             "and convert with .astype('float32')")
    if x.max() > 1 + 1e-6 or x.min() < 0:
        fail(f"the pixels are {x.min():.0f}..{x.max():.0f}: divide by 255 to bring them into [0, 1] "
             "(for this exercise scale, do not standardise)")
    if 0 < x.max() <= 1 / 255 + 1e-6:
        fail(f"the largest value is {x.max():.5f}: you divided by 255 twice (the faces are nearly black)")
    if x.dtype != np.float32:
        fail(f"right shape and range, but {x.dtype}: convert with .astype('float32') (half the memory of float64)")
    return f"{x.shape[0]} faces, shape (N, 48, 48, 1), float32 in [0, 1]"


@exercise(2, 2)
def q2(y):
    y = np.asarray(y)
    if y.shape == LABELS.shape:
        fail("these are still integer labels: one-hot encode them, keras.utils.to_categorical(labels, num_classes=7)")
    if y.ndim == 2 and y.shape[0] == len(LABELS) and y.shape[1] < 7:
        fail(f"only {y.shape[1]} columns: without num_classes, to_categorical makes max(label) + 1 columns, and these "
             "labels have no Neutral (6). Pass num_classes=7")
    need_shape(y, (len(LABELS), 7), "one row per label and one column per emotion")
    if not np.isin(y, (0, 1)).all() or not np.allclose(y.sum(axis=1), 1):
        fail("every row must hold a single 1 and six 0s")
    if not np.array_equal(y.argmax(axis=1), LABELS):
        fail(f"the 1s stand in columns {y.argmax(axis=1).tolist()}, expected {LABELS.tolist()}: keep the labels' order")
    return "one row per face, a 1 in the column of its emotion"


def integer_labels(y) -> np.ndarray:
    """Labels 0..6 from integer labels (N,) or one-hot rows (N, 7)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 7:
        return y.argmax(axis=1)
    if y.ndim != 1:
        fail(f"labels of shape {y.shape}: expected integers 0..6, shape (N,), or one-hot rows, shape (N, 7)")
    return y.astype(int)


@exercise(2, 3)
def q3(parts):
    need(parts, (tuple, list), "the four parts that train_test_split returns: x_train, x_val, y_train, y_val")
    if len(parts) != 4:
        fail(f"{len(parts)} parts: train_test_split(x, y) returns four, x_train, x_val, y_train, y_val")
    x_train, x_val, y_train, y_val = parts
    if len(x_train) != len(y_train) or len(x_val) != len(y_val):
        fail(f"x_train/y_train have {len(x_train)}/{len(y_train)} rows and x_val/y_val {len(x_val)}/{len(y_val)}: "
             "pass the images and the labels in the same train_test_split call, and keep its order "
             "(x_train, x_val, y_train, y_val)")
    train, val = integer_labels(y_train), integer_labels(y_val)
    fraction = len(val) / (len(train) + len(val))
    if not 0.08 <= fraction <= 0.12:
        fail(f"your validation set holds {fraction:.0%} of the faces, expected 10%: test_size=0.1; "
             "is the order x_train, x_val, y_train, y_val?")
    for label in np.unique(train):
        n_val, n_all = int((val == label).sum()), int((train == label).sum() + (val == label).sum())
        if n_val == 0 or abs(n_val - fraction * n_all) > 1.5:
            fail(f"{EMOTIONS[label]} has {n_val} of its {n_all} faces in validation, not {fraction:.0%} of them: "
                 "stratify the split (train_test_split(..., stratify=labels)) so that every class keeps its share")
    return f"{len(train):,} training and {len(val):,} validation faces, every class in the same proportion"


q4 = Exercise(2, 4)  # answered in words
