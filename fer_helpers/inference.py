"""Batched prediction shared by evaluation, the recogniser and the notebooks."""

from __future__ import annotations

import weakref

import numpy as np

from .preprocessing import prepare_faces


_TRACED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _weights_digest(model) -> bytes:
    """A fingerprint of the model's current weights (a few milliseconds for the series' models)."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for w in model.weights:
        h.update(np.asarray(w).tobytes())
    return h.digest()


def _traced(model):
    """The model's forward pass as a graph traced once per model (any batch size), for large inputs.

    Unlike ``model.predict`` it sets up no data pipeline or callbacks per call, and it runs
    :func:`~fer_helpers.models.fold_for_inference`'s copy where the model allows (BatchNormalization folded into the
    convolutions: about 1.1x faster on the shipped model, same predictions). The folded copy is a snapshot of the
    weights, so it is keyed on a digest of them: after more training, ``set_weights`` or ``load_weights`` the next
    call folds and traces again instead of predicting with stale weights.
    """
    digest = _weights_digest(model)
    cached = _TRACED.get(model)
    if cached is not None and cached[0] == digest:
        return cached[1]
    import tensorflow as tf

    from .models import fold_for_inference

    try:
        runner = fold_for_inference(model)
    except ValueError:  # not a plain chain: run the model as it is
        runner = model
    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    fn = tf.function(lambda x: runner(x, training=False), input_signature=[spec])
    _TRACED[model] = (digest, fn)
    return fn


def predict_proba(model, faces, tta: bool = False, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(N, 7)`` for faces of any size and colour (each goes through ``prepare_face``).

    ``tta=True`` adds flip test-time augmentation: the mirrored face is classified too and the two probability
    vectors are averaged (faces are left-right symmetric enough that this usually gains a point of accuracy).
    Small inputs (up to ``batch_size`` faces) call the model directly, which costs no tracing (this matters for a
    single photo); larger ones go batch by batch through a graph traced once per model.
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
            fn = _traced(model)
            probs.append(np.concatenate([np.asarray(fn(v[i:i + batch_size].astype(np.float32)))
                                         for i in range(0, len(v), batch_size)]))
    return np.mean(probs, axis=0).astype(np.float32)


def predict_labels(model, faces, tta: bool = False, batch_size: int = 256) -> np.ndarray:
    """Most probable label of each face."""
    return predict_proba(model, faces, tta=tta, batch_size=batch_size).argmax(axis=1)
