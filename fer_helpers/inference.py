"""Class probabilities for a batch of faces, with optional test-time augmentation."""

from __future__ import annotations

import numpy as np

from .crops import ten_crops
from .preprocessing import prepare_faces


def predict_proba(model, faces, tta: bool | str = False, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(N, 7)`` for faces of any size and colour, ``batch_size`` faces at a time.

    ``tta=True`` averages each face's prediction with its mirror image's; ``tta="tencrop"`` averages over ten 40x40
    crops (corners and centre, each also mirrored), for models that take crops: input shape ``(None, None, 1)``.
    """
    if tta not in (False, True, "tencrop"):
        raise ValueError(f"tta must be one of [False, True, 'tencrop'], got {tta!r}")
    if tta == "tencrop" and tuple(model.input_shape[1:]) != (None, None, 1):
        raise ValueError(f"tta='tencrop' needs a model that takes 40x40 crops (input shape (None, None, 1)); "
                         f"{model.name!r} takes {tuple(model.input_shape[1:])}")
    x = prepare_faces(faces).astype(np.float32)
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    views = ten_crops(x, 40) if tta == "tencrop" else [x, x[:, :, ::-1].copy()] if tta else [x]
    probs = [np.concatenate([model.predict_on_batch(v[i:i + batch_size]) for i in range(0, len(x), batch_size)])
             for v in views]
    return np.mean(probs, axis=0).astype(np.float32)
