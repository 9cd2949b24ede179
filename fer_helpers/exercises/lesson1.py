"""Exercises of lesson 1: loading the data with pandas.

Their hints and worked solutions are in lesson1.md.
"""

import numpy as np

from .core import Exercise, exercise, fail, need, need_function

SPLITS = {"Training": 0.8, "PublicTest": 0.1, "PrivateTest": 0.1}


@exercise(1, 1)
def q1(shares):
    shares = shares.to_dict() if hasattr(shares, "to_dict") else shares
    need(shares, dict, "a pandas Series (what value_counts returns)")
    shares = {str(k): float(v) for k, v in shares.items()}
    if set(shares) <= set("0123456"):
        fail("your index holds the emotion labels 0..6: you counted df['emotion']; count df['Usage'] instead")
    if set(shares) != set(SPLITS):
        fail(f"expected the splits {sorted(SPLITS)}, got {sorted(shares)}: count the column df['Usage']")
    total = sum(shares.values())
    if abs(total - 1) > 1e-6:
        fail(f"the values add up to {total:,.4g}, not 1: for shares, pass normalize=True to value_counts "
             "(or divide the counts by len(df))")
    for split, share in SPLITS.items():
        if abs(shares[split] - share) > 0.02:
            fail(f"{split} has a share of {shares[split]:.3f}, expected about {share}: did you filter df first?")
    return "the splits are " + ", ".join(f"{k} {shares[k]:.1%}" for k in SPLITS)


@exercise(1, 2)
def q2(pixels_to_face):
    need_function(pixels_to_face, "(def pixels_to_face(text): ...)")
    image = np.random.default_rng(1).integers(0, 256, (48, 48), dtype=np.uint8)
    face = np.asarray(pixels_to_face(" ".join(str(v) for v in image.ravel())))
    if face.dtype.kind in "USO":
        fail("the values are still strings: convert them to numbers with np.array(..., dtype=np.uint8)")
    if face.shape != (48, 48):
        fail(f"expected a (48, 48) array, got {face.shape}: split the string, then .reshape(48, 48)")
    if np.array_equal(face, image.T):
        fail("rows and columns are swapped: the string runs row by row, so reshape in the default order "
             "(order='C'), not order='F', and do not transpose")
    if not np.array_equal(face, image):
        fail("the values differ from the string's: split at the spaces (text.split()) and keep their order")
    if face.dtype != np.uint8:
        fail(f"the values are right but of type {face.dtype}: use dtype=np.uint8 (0..255, one byte per pixel)")
    return "your function parses a face exactly"


q3 = Exercise(1, 3)  # answered in words
