"""Exercises of lesson 1: loading the data with pandas."""

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail

SPLITS = {"Training": 0.8, "PublicTest": 0.1, "PrivateTest": 0.1}


def _shares(answer) -> dict:
    if hasattr(answer, "to_dict"):
        answer = answer.to_dict()
    if not isinstance(answer, dict):
        fail(f"expected a pandas Series (what value_counts returns), got a {type(answer).__name__}")
    return {str(k): v for k, v in answer.items()}


def _check_shares(answer):
    shares = _shares(answer)
    if set(shares) <= {str(i) for i in range(7)}:
        fail("your index holds the emotion labels 0..6: you counted df['emotion']; count df['Usage'] instead")
    if set(shares) != set(SPLITS):
        fail(f"expected the splits {sorted(SPLITS)}, got {sorted(shares)}: count the column df['Usage']")
    values = np.array([float(v) for v in shares.values()])
    if values.sum() > 1.5:
        fail(f"these are counts (they add up to {values.sum():,.0f}), not shares: pass normalize=True "
             "to value_counts (or divide by len(df))")
    if abs(values.sum() - 1) > 1e-6:
        fail(f"the shares add up to {values.sum():.3f}, not 1: divide each count by the number of rows, len(df)")
    for split, share in SPLITS.items():
        if abs(float(shares[split]) - share) > 0.02:
            fail(f"{split} has a share of {float(shares[split]):.3f}, expected about {share}: "
                 "did you filter the data frame before counting?")
    return "the splits are " + ", ".join(f"{k} {float(shares[k]):.1%}" for k in SPLITS)


def _usage_column():
    import pandas as pd

    return pd.Series(["Training"] * 80 + ["PublicTest"] * 10 + ["PrivateTest"] * 10, name="Usage")


q1 = CodingExercise(
    lesson=1, number=1, title="the share of each split with value_counts(normalize=True)",
    hint_text="df['Usage'].value_counts() counts the rows of each split; normalize=True turns counts into shares.",
    solution_text='answer = df["Usage"].value_counts(normalize=True)\nex.q1.check(answer)',
    validate=_check_shares,
    make_reference=lambda: _usage_column().value_counts(normalize=True),
    mistakes=[
        Mistake("counts instead of shares", lambda: _usage_column().value_counts(), "normalize=True"),
        Mistake("the emotion column", lambda: __import__("pandas").Series(np.repeat(np.arange(7), 3))
                .value_counts(normalize=True), "you counted df['emotion']"),
        Mistake("a list", lambda: [0.8, 0.1, 0.1], "expected a pandas Series"),
    ],
)


def _faces_and_strings():
    from ..synthetic import generate_faces

    images, _ = generate_faces(1, seed=1)
    return images, [" ".join(str(v) for v in image.ravel()) for image in images]


def _check_parser(func):
    if not callable(func):
        fail(f"expected a function (def pixels_to_face(text): ...), got a {type(func).__name__}")
    images, texts = _faces_and_strings()
    for image, text in zip(images, texts):
        face = np.asarray(func(text))
        if face.dtype.kind in "USO":
            fail("the values are still strings: convert them to numbers with np.array(..., dtype=np.uint8)")
        if face.shape == (48 * 48,):
            fail("your array is flat, shape (2304,): fold it into rows with .reshape(48, 48)")
        if face.shape != (48, 48):
            fail(f"expected a (48, 48) array, got {face.shape}: split the string, then .reshape(48, 48)")
        if np.array_equal(face, image.T):
            fail("rows and columns are swapped: the string runs row by row, so reshape in the default order "
                 "(order='C'), not order='F', and do not transpose")
        if not np.array_equal(face.astype(np.int64), image.astype(np.int64)):
            fail("the values differ from the string's: split at the spaces (text.split()) and keep their order")
        if face.dtype != np.uint8:
            fail(f"the values are right but of type {face.dtype}: use dtype=np.uint8 (0..255, one byte per pixel)")
    return f"your function parses {len(texts)} faces exactly"


def _reference_parser(text):
    return np.array(text.split(), dtype=np.uint8).reshape(48, 48)


q2 = CodingExercise(
    lesson=1, number=2, title="a function that turns a pixel string into a 48x48 uint8 face",
    hint_text="Three steps: text.split() cuts at the spaces, np.array(..., dtype=np.uint8) converts, "
              ".reshape(48, 48) folds the 2,304 values into rows.",
    solution_text=("def pixels_to_face(text):\n    return np.array(text.split(), dtype=np.uint8).reshape(48, 48)\n\n"
                   "answer = pixels_to_face\nex.q2.check(answer)"),
    validate=_check_parser,
    make_reference=lambda: _reference_parser,
    mistakes=[
        Mistake("flat", lambda: (lambda text: np.array(text.split(), dtype=np.uint8)), "(2304,)"),
        Mistake("strings", lambda: (lambda text: np.array(text.split()).reshape(48, 48)), "still strings"),
        Mistake("order F", lambda: (lambda text: np.array(text.split(), dtype=np.uint8).reshape(48, 48, order="F")),
                "order='F'"),
        Mistake("int64", lambda: (lambda text: np.array(text.split(), dtype=np.int64).reshape(48, 48)),
                "dtype=np.uint8"),
        Mistake("not a function", lambda: np.zeros((48, 48)), "expected a function"),
    ],
)

q3 = ThoughtExercise(
    lesson=1, number=3, title="why accuracy alone says little on FER2013",
    hint_text="Look at the table of FER2013's published counts: what does a model that always answers 'Happy' score?",
    solution_text=("Happy is about a quarter of FER2013 (8,989 of 35,887 faces), Disgust one face in sixty-six. A "
                   "model that answers 'Happy' for every face is right about 25% of the time without looking at a "
                   "pixel, and one that never says 'Disgust' loses only 1.5% accuracy. So accuracy must be read "
                   "next to that baseline, and per class (precision, recall, confusion matrix: notebook 6); and "
                   "the rare classes need care in training (class weights, notebook 5)."),
)
