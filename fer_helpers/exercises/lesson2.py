"""Exercises of lesson 2: preprocessing and splitting."""

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail
from ..labels import EMOTIONS


def _images(n=6):
    from ..synthetic import generate_faces

    return generate_faces(1, seed=2)[0][:n]


def _check_inputs(x):
    x = np.asarray(x) if not hasattr(x, "shape") else x
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[1:] == (48, 48):
        fail("the images are (N, 48, 48); Conv2D needs a channel axis: (N, 48, 48, 1). "
             "Use x.reshape(-1, 48, 48, 1) or x[..., np.newaxis]")
    if x.ndim == 2 and x.shape[1] == 48 * 48:
        fail("the faces are still flat, (N, 2304): reshape them to (N, 48, 48, 1)")
    if x.ndim != 4 or x.shape[1:] != (48, 48, 1):
        fail(f"expected shape (N, 48, 48, 1), got {x.shape}")
    if x.dtype.kind != "f":
        fail(f"the values are {x.dtype}: a network takes floats; divide by 255.0 (which gives float64) "
             "and convert with .astype('float32')")
    if x.max() > 1.0 + 1e-6:
        fail(f"the pixels are 0..{x.max():.0f}: divide by 255 to bring them into [0, 1]")
    if x.min() < 0:
        fail("some values are negative: for this exercise scale to [0, 1] (divide by 255), do not standardise")
    if 0 < x.max() <= 1.0 / 255 + 1e-6:
        fail(f"the largest value is {x.max():.5f}: you divided by 255 twice (the faces are nearly black)")
    if x.dtype != np.float32:
        fail(f"right shape and range, but {x.dtype}: convert with .astype('float32') (half the memory of float64)")
    return f"{x.shape[0]} faces, shape (N, 48, 48, 1), float32 in [0, 1]"


q1 = CodingExercise(
    lesson=2, number=1, title="the faces as a network takes them: (N, 48, 48, 1), float32 in [0, 1]",
    hint_text="faces.images is (N, 48, 48) uint8 in 0..255. Add the channel axis with reshape(-1, 48, 48, 1), "
              "then divide by 255 and make it float32.",
    solution_text=('answer = (faces.images.reshape(-1, 48, 48, 1) / 255.0).astype("float32")\n'
                   "ex.q1.check(answer)"),
    validate=_check_inputs,
    make_reference=lambda: (_images().reshape(-1, 48, 48, 1) / 255.0).astype("float32"),
    mistakes=[
        Mistake("no channel axis", lambda: (_images() / 255.0).astype("float32"), "Conv2D needs a channel axis"),
        Mistake("not divided", lambda: _images().reshape(-1, 48, 48, 1).astype("float32"), "divide by 255"),
        Mistake("divided twice", lambda: (_images().reshape(-1, 48, 48, 1) / 255.0 / 255.0).astype("float32"),
                "divided by 255 twice"),
        Mistake("uint8", lambda: _images().reshape(-1, 48, 48, 1), "a network takes floats"),
        Mistake("float64", lambda: _images().reshape(-1, 48, 48, 1) / 255.0, "astype('float32')"),
        Mistake("flat", lambda: _images().reshape(-1, 2304) / 255.0, "still flat"),
    ],
)

LABELS = np.array([3, 0, 5, 1])  # Happy, Angry, Surprise, Disgust: no Neutral (6) among them


def _check_one_hot(y):
    y = np.asarray(y)
    if y.shape == LABELS.shape:
        fail("these are still integer labels: one-hot encode them, keras.utils.to_categorical(labels, num_classes=7)")
    if y.ndim == 2 and y.shape[0] == len(LABELS) and y.shape[1] < 7:
        fail(f"only {y.shape[1]} columns: without num_classes, to_categorical makes max(label) + 1 columns, and these "
             "labels have no Neutral (6). Pass num_classes=7")
    if y.shape != (len(LABELS), 7):
        fail(f"expected shape (4, 7), one row per label and one column per emotion, got {y.shape}")
    if not np.isin(y, (0, 1)).all() or not np.allclose(y.sum(axis=1), 1):
        fail("every row must hold a single 1 and six 0s")
    if not np.array_equal(y.argmax(axis=1), LABELS):
        fail(f"the 1s stand in columns {y.argmax(axis=1).tolist()}, expected {LABELS.tolist()}: keep the labels' order")
    return "one row per face, a 1 in the column of its emotion"


def _one_hot_reference():
    import keras

    return keras.utils.to_categorical(LABELS, num_classes=7)


q2 = CodingExercise(
    lesson=2, number=2, title="one-hot labels with keras.utils.to_categorical",
    hint_text="labels = np.array([3, 0, 5, 1]). to_categorical guesses the number of classes from the largest "
              "label unless you pass num_classes.",
    solution_text=('labels = np.array([3, 0, 5, 1])\nanswer = keras.utils.to_categorical(labels, num_classes=7)\n'
                   "ex.q2.check(answer)"),
    validate=_check_one_hot,
    make_reference=_one_hot_reference,
    mistakes=[
        Mistake("no num_classes", lambda: __import__("keras").utils.to_categorical(LABELS), "num_classes=7"),
        Mistake("integer labels", lambda: LABELS.copy(), "still integer labels"),
        Mistake("transposed", lambda: _one_hot_reference().T, "expected shape (4, 7)"),
    ],
)


def _labels_of(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 7:
        return y.argmax(axis=1)
    if y.ndim != 1:
        fail(f"labels of shape {y.shape}: expected integers 0..6, shape (N,), or one-hot rows, shape (N, 7)")
    return y.astype(int)


def _check_split(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 4:
        fail("expected the four parts that train_test_split returns: x_train, x_val, y_train, y_val")
    x_train, x_val, y_train, y_val = answer
    if len(x_train) != len(y_train) or len(x_val) != len(y_val):
        fail(f"x_train/y_train have {len(x_train)}/{len(y_train)} rows and x_val/y_val {len(x_val)}/{len(y_val)}: "
             "pass the images and the labels in the same train_test_split call, and keep its order "
             "(x_train, x_val, y_train, y_val)")
    train, val = _labels_of(y_train), _labels_of(y_val)
    total = len(train) + len(val)
    fraction = len(val) / total
    if fraction > 0.5:
        fail(f"your validation set holds {fraction:.0%} of the faces: test_size=0.1 gives the validation part 10%; "
             "is the order x_train, x_val, y_train, y_val?")
    if not 0.08 <= fraction <= 0.12:
        fail(f"your validation set holds {fraction:.1%} of the faces, expected 10%: test_size=0.1")
    for label in np.unique(np.concatenate([train, val])):
        if not (val == label).any():
            fail(f"your validation set has no {EMOTIONS[label]} faces: stratify the split "
                 "(train_test_split(..., stratify=labels))")
    for label in np.unique(np.concatenate([train, val])):
        n_val, n_all = int((val == label).sum()), int((train == label).sum() + (val == label).sum())
        if abs(n_val - fraction * n_all) > 1.5:
            fail(f"{EMOTIONS[label]} has {n_val} of its {n_all} faces in validation, not {fraction:.0%} of them: "
                 "stratify the split (stratify=labels) so that every class keeps its share")
    return f"{len(train):,} training and {len(val):,} validation faces, every class in the same proportion"


def _split_data():
    """FER2013-like imbalance: Happy many, Disgust few."""
    counts = [40, 6, 40, 70, 45, 30, 45]
    labels = np.repeat(np.arange(7), counts)
    return np.zeros((len(labels), 48, 48, 1), dtype="float32"), labels


def _split_reference():
    from sklearn.model_selection import train_test_split

    x, y = _split_data()
    return tuple(train_test_split(x, y, test_size=0.1, stratify=y, random_state=0))


def _unstratified():
    x, y = _split_data()
    val = np.flatnonzero(y != 1)[::10][:28]  # a random-looking 10% without a single Disgust face
    train = np.setdiff1d(np.arange(len(y)), val)
    return x[train], x[val], y[train], y[val]


def _lopsided():
    x, y = _split_data()
    val = np.r_[[np.flatnonzero(y == label)[0] for label in range(7)], np.flatnonzero(y == 3)[1:22]]
    train = np.setdiff1d(np.arange(len(y)), val)
    return x[train], x[val], y[train], y[val]


q3 = CodingExercise(
    lesson=2, number=3, title="a stratified 10% validation split with train_test_split",
    hint_text="from sklearn.model_selection import train_test_split; it returns x_train, x_val, y_train, y_val. "
              "stratify=labels keeps every class's share the same in both parts.",
    solution_text=("from sklearn.model_selection import train_test_split\n\n"
                   'training = faces.split("Training")\n'
                   "answer = train_test_split(training.x, training.labels, test_size=0.1,\n"
                   "                          stratify=training.labels, random_state=0)\nex.q3.check(answer)"),
    validate=_check_split,
    make_reference=_split_reference,
    mistakes=[
        Mistake("not stratified, Disgust missing", _unstratified, "no Disgust faces: stratify the split"),
        Mistake("not stratified, shares off", _lopsided, "stratify the split (stratify=labels)"),
        Mistake("test_size 0.9", lambda: tuple(_split_reference()[i] for i in (1, 0, 3, 2)), "holds 90%"),
        Mistake("wrong order", lambda: tuple(_split_reference()[i] for i in (0, 2, 1, 3)), "same train_test_split"),
    ],
)

q4 = ThoughtExercise(
    lesson=2, number=4, title="why models are chosen on the validation split, never on the test split",
    hint_text="Rerun the selection experiment of the notebook: what happens to the 'wrong' score on new faces?",
    solution_text=("A test score is a noisy measurement: with a few hundred or a few thousand faces, some models score "
                   "above their true accuracy by luck. Picking the best of many models on the test split picks the "
                   "luckiest one, so the reported score is too high (the notebook's random models reach well above "
                   "chance on the test faces and fall back to chance on new ones). Choose on the validation split, "
                   "then measure the chosen model once on the test split: that score is an honest estimate. The "
                   "more models you try and the smaller the test set, the larger the bias."),
)
