"""Batched prediction shared by evaluation, the recogniser and the notebooks."""

from __future__ import annotations

import numpy as np

from .preprocessing import prepare_faces

#: ``tta`` values of :func:`predict_proba`
TTA_MODES = (False, True, "tencrop")


def predict_proba(model, faces, tta: bool | str = False, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(N, 7)`` for faces of any size and colour (each goes through ``prepare_face``).

    Batches go through ``model.predict_on_batch`` (a graph Keras traces once per model). ``tta=True`` also
    classifies each mirrored face and averages the two predictions.
    ``tta="tencrop"`` averages over ten 40x40 crops (four corners and the centre, each also mirrored;
    :func:`fer_helpers.crops.ten_crops`), for models that take crops: input shape ``(None, None, 1)``.
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {list(TTA_MODES)}, got {tta!r}")
    x = prepare_faces(faces).astype(np.float32)
    if tta == "tencrop":
        if tuple(model.input_shape[1:]) != (None, None, 1):
            raise ValueError(f"tta='tencrop' needs a model that takes 40x40 crops (input shape (None, None, 1)); "
                             f"{model.name!r} takes {tuple(model.input_shape[1:])}")
        from .crops import ten_crops

        views = list(ten_crops(x, 40))
    else:
        views = [x, x[:, :, ::-1]] if tta else [x]
    if len(x) == 0:
        return np.zeros((0, int(model.output_shape[-1])), dtype=np.float32)
    probs = []
    for v in views:
        batches = [model.predict_on_batch(np.ascontiguousarray(v[i:i + batch_size]))
                   for i in range(0, len(v), batch_size)]
        probs.append(np.concatenate(batches))
    return np.mean(probs, axis=0).astype(np.float32)


def predict_labels(model, faces, tta: bool | str = False, batch_size: int = 256) -> np.ndarray:
    """Most probable label of each face."""
    return predict_proba(model, faces, tta=tta, batch_size=batch_size).argmax(axis=1)
