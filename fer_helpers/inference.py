"""Batched prediction shared by evaluation, the recogniser and the notebooks."""

from __future__ import annotations

import numpy as np

from .preprocessing import prepare_faces


def predict_proba(model, faces, tta: bool = False, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(N, 7)`` for faces of any size and colour (each goes through ``prepare_face``).

    ``tta=True`` adds flip test-time augmentation: the mirrored face is classified too and the two probability
    vectors are averaged (faces are left-right symmetric enough that this usually gains a point of accuracy).
    Small batches call the model directly, which avoids ``model.predict``'s per-call set-up cost (this matters
    for real-time video); large ones go through ``model.predict`` in batches.
    """
    x = prepare_faces(faces)
    if len(x) == 0:
        return np.zeros((0, int(model.output_shape[-1])), dtype=np.float32)
    views = [x, x[:, :, ::-1, :]] if tta else [x]
    probs = []
    for v in views:
        v = np.ascontiguousarray(v)
        if len(v) <= batch_size:
            probs.append(np.asarray(model(v, training=False)))
        else:
            probs.append(model.predict(v, batch_size=batch_size, verbose=0))
    return np.mean(probs, axis=0).astype(np.float32)


def predict_labels(model, faces, tta: bool = False, batch_size: int = 256) -> np.ndarray:
    """Most probable label of each face."""
    return predict_proba(model, faces, tta=tta, batch_size=batch_size).argmax(axis=1)
