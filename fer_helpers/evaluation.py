"""Step 6 of the tutorial: how good is the model, and where does it go wrong?

:func:`evaluate_model` returns an :class:`EvaluationResult`: accuracy, the 7x7 confusion matrix (rows: true class,
columns: predicted class) and precision, recall, F1 and support per class. The figure functions return a matplotlib
``Figure`` and never call ``plt.show()``. :func:`grad_cams` shows which parts of a face drove a prediction (Grad-CAM,
Selvaraju et al. 2017). :func:`evaluate_cli` is ``python -m fer_helpers evaluate``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import cv2
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import classification_report, confusion_matrix

from .atomic import dumps_json
from .data import load_fer2013
from .inference import predict_proba
from .labels import EMOTIONS, NUM_CLASSES
from .models import last_conv_layer_name
from .plotting import class_label, class_labels, face_axes, figure_context, show_face, subplots
from .preprocessing import prepare_faces
from .saving import load_face_model

# --------------------------------------------------------------------------------------------------------- metrics


def _check_labels(labels, n: int | None = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one class index per face, got shape {labels.shape}")
    if n is not None and len(labels) != n:
        raise ValueError(f"got {n} faces but {len(labels)} labels")
    if np.any(labels == -1):
        raise ValueError(f"cannot evaluate unlabeled data: {np.sum(labels == -1)} of {len(labels)} faces have label -1;"
                         " evaluate a labelled split (e.g. PublicTest or PrivateTest)")
    bad = labels[~np.isin(labels, np.arange(NUM_CLASSES))]
    if bad.size:
        raise ValueError(f"label {bad[0]} is outside 0..{NUM_CLASSES - 1}")
    return labels.astype(np.int64)


def _metrics(entry: dict) -> dict:
    return {"precision": float(entry["precision"]), "recall": float(entry["recall"]),
            "f1": float(entry["f1-score"]), "support": int(entry["support"])}


@dataclass(eq=False, repr=False)
class EvaluationResult:
    """What :func:`evaluate_model` found.

    ``confusion[t, p]`` counts faces of true class ``t`` predicted as ``p``; ``per_class`` maps each class name to
    its precision, recall, f1 and support; ``macro_avg`` and ``weighted_avg`` are scikit-learn's averages.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray | None
    confusion: np.ndarray
    per_class: dict
    macro_avg: dict
    weighted_avg: dict
    tta: bool | str = False

    @classmethod
    def from_predictions(cls, y_true, y_pred=None, probabilities=None, tta: bool | str = False):
        """Build a result from true labels and predicted labels or ``(N, 7)`` probabilities."""
        if probabilities is not None:
            probabilities = np.asarray(probabilities, dtype=np.float32)
            if probabilities.shape != (len(y_true), NUM_CLASSES):
                raise ValueError(f"probabilities must have shape ({len(y_true)}, 7), got {probabilities.shape}")
            y_pred = probabilities.argmax(axis=1) if y_pred is None else y_pred
        y_true = _check_labels(y_true)
        y_pred = _check_labels(y_pred, len(y_true))
        if len(y_true) == 0:
            raise ValueError("cannot evaluate on zero faces")
        report = classification_report(y_true, y_pred, labels=range(NUM_CLASSES), target_names=EMOTIONS,
                                       output_dict=True, zero_division=0)
        averages = classification_report(y_true, y_pred, output_dict=True, zero_division=0)  # classes that occur
        return cls(y_true, y_pred, probabilities, confusion_matrix(y_true, y_pred, labels=range(NUM_CLASSES)),
                   {name: _metrics(report[name]) for name in EMOTIONS}, _metrics(averages["macro avg"]),
                   _metrics(averages["weighted avg"]), tta)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred))

    @property
    def n(self) -> int:
        return len(self.y_true)

    def __repr__(self) -> str:
        return f"EvaluationResult(accuracy={self.accuracy:.2%}, n={self.n}, macro_f1={self.macro_avg['f1']:.3f}, " \
               f"tta={self.tta})"

    def to_dict(self) -> dict:
        """JSON-able summary: accuracy, n, tta, per_class, macro_avg, weighted_avg and confusion (nested lists)."""
        return {"accuracy": self.accuracy, "n": self.n, "tta": self.tta, "per_class": self.per_class,
                "macro_avg": self.macro_avg, "weighted_avg": self.weighted_avg, "confusion": self.confusion.tolist()}


def evaluate_model(model, images, labels, tta: bool | str = False, batch_size: int = 256) -> EvaluationResult:
    """Classify ``images`` (faces as the loaders give them) with ``model`` and compare with ``labels`` (0..6).

    ``tta`` is :func:`~fer_helpers.inference.predict_proba`'s: False, True (flip) or ``"tencrop"``.
    """
    labels = _check_labels(labels, len(images))
    probabilities = predict_proba(model, images, tta=tta, batch_size=batch_size)
    return EvaluationResult.from_predictions(labels, probabilities=probabilities, tta=tta)


def blur_sensitivity(model, images, labels, sigmas=(0.0, 0.5, 0.7, 1.0), tta: bool = False) -> dict[float, float]:
    """``{sigma: accuracy}`` of ``model`` on ``images`` blurred with a Gaussian of each ``sigma`` (pixels; 0: as is).

    A model that scores higher on blurred faces than on the faces as they are was trained on blurrier faces.
    """
    sigmas = [float(sigma) for sigma in sigmas]
    if not all(math.isfinite(sigma) and sigma >= 0 for sigma in sigmas):
        raise ValueError(f"sigmas must be standard deviations >= 0 in pixels, got {sigmas}")
    faces = prepare_faces(images)[..., 0].astype(np.float32)
    scores = {}
    for sigma in sigmas:
        blurred = np.stack([cv2.GaussianBlur(face, (0, 0), sigma) for face in faces]) if sigma else faces
        scores[sigma] = evaluate_model(model, np.rint(blurred).clip(0, 255).astype(np.uint8), labels, tta=tta).accuracy
    return scores


def most_confused(result, k: int = 5) -> list[tuple[str, str, int]]:
    """The ``k`` most frequent mistakes as ``(true name, predicted name, count)``, largest first."""
    cm = np.array(getattr(result, "confusion", result), dtype=np.int64)
    np.fill_diagonal(cm, 0)
    order = np.argsort(-cm, axis=None, kind="stable")[:k]
    return [(EMOTIONS[i // NUM_CLASSES], EMOTIONS[i % NUM_CLASSES], int(cm.flat[i])) for i in order if cm.flat[i]]


def per_class_report(result: EvaluationResult) -> pd.DataFrame:
    """A DataFrame indexed by class name with columns precision, recall, f1 and support."""
    return pd.DataFrame.from_dict(result.per_class, orient="index").rename_axis("emotion")


def format_report(result: EvaluationResult, title: str | None = None) -> str:
    """The text report: accuracy, per-class table, confusion matrix and most frequent mistakes."""
    tta = {True: "  [flip TTA]", "tencrop": "  [ten-crop TTA]"}.get(result.tta, "")
    confusion = pd.DataFrame(result.confusion, index=EMOTIONS, columns=[name[:7] for name in EMOTIONS])
    lines = ([title, ""] if title else []) + [
        f"Accuracy: {result.accuracy:.2%} ({np.trace(result.confusion)} of {result.n} faces){tta}",
        f"Macro F1: {result.macro_avg['f1']:.3f}   weighted F1: {result.weighted_avg['f1']:.3f}", "", "Per class:",
        per_class_report(result).to_string(float_format="{:.3f}".format), "",
        "Confusion matrix (rows: true class, columns: predicted class):", confusion.to_string()]
    mistakes = ", ".join(f"{t} -> {p} ({c})" for t, p, c in most_confused(result, k=3))
    return "\n".join(lines + (["", f"Most frequent mistakes: {mistakes}"] if mistakes else []))


# ------------------------------------------------------------------------------------------------- learning curves
def _epoch_axes(ax, title: str) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=title.lower(), title=title)
    ax.grid(alpha=0.3)


def learning_curves(history, title: str | None = None):
    """Loss and accuracy per epoch, training and validation, with the best epoch (lowest ``val_loss``) marked, and
    the learning rate when it was logged.

    ``history``: what ``model.fit`` returned, its ``.history`` dict, a DataFrame or a ``CSVLogger`` file.
    """
    is_path = isinstance(history, (str, os.PathLike))
    df = pd.read_csv(history) if is_path else pd.DataFrame(getattr(history, "history", history))
    missing = [name for name in ("loss", "accuracy") if name not in df]
    if missing:
        raise ValueError(f"learning_curves needs the columns loss and accuracy; missing: {', '.join(missing)}; found: "
                         f"{', '.join(df.columns) or 'none'}. Compile the model with metrics=['accuracy']")
    lr = "learning_rate" in df  # logged by ReduceLROnPlateau
    epochs = df["epoch"].to_numpy() + 1 if "epoch" in df else np.arange(1, len(df) + 1)  # CSVLogger counts from 0
    best = epochs[np.nanargmin(df["val_loss"])] if "val_loss" in df else None
    fig, axes = subplots(1, 2 + lr, figsize=(5.5 * (2 + lr), 4), squeeze=False)
    for ax, key in zip(axes[0], ("loss", "accuracy")):
        ax.plot(epochs, df[key], marker="o", ms=3, label="training")
        if f"val_{key}" in df:
            ax.plot(epochs, df[f"val_{key}"], marker="o", ms=3, label="validation")
        if best is not None:
            ax.axvline(best, color="gray", ls=":", lw=1, label=f"best epoch ({best})")
        ax.legend()
        _epoch_axes(ax, key.capitalize())
    if lr:
        rate = df["learning_rate"]
        axes[0, 2].plot(epochs, rate, marker="o", ms=3, color="tab:green")
        axes[0, 2].set_yscale("log" if rate.min() > 0 and rate.max() >= 10 * rate.min() else "linear")
        _epoch_axes(axes[0, 2], "Learning rate")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------- figures
def confusion_matrix_figure(confusion, normalize: bool = False, title: str | None = None):
    """Heatmap of a 7x7 confusion matrix (or an :class:`EvaluationResult`'s): rows true, columns predicted classes.

    ``normalize=True`` divides each row by its total, so the diagonal shows each class's recall.
    """
    import seaborn as sns

    cm = np.asarray(getattr(confusion, "confusion", confusion))
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion matrix must be {NUM_CLASSES}x{NUM_CLASSES}, got shape {cm.shape}")
    data = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm.astype(np.int64)  # rows: recall
    with figure_context():
        fig, ax = subplots(figsize=(8, 6.5))
        sns.heatmap(data, annot=True, square=True, ax=ax, fmt=".2f" if normalize else "d", cmap="Blues", vmin=0,
                    vmax=1 if normalize else None, xticklabels=class_labels(), yticklabels=class_labels(),
                    cbar_kws={"label": "share of true class" if normalize else "faces"})
        ax.set(xlabel="predicted emotion", ylabel="true emotion",
               title=title or f"Confusion matrix ({'row-normalised' if normalize else 'counts'})")
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
        fig.tight_layout()
    return fig


def per_class_figure(result: EvaluationResult):
    """Grouped bars of precision, recall and F1 per class, with each class's support under its name."""
    df = per_class_report(result)
    x = np.arange(NUM_CLASSES)
    with figure_context():
        fig, ax = subplots(figsize=(10, 4.5))
        for j, metric in enumerate(("precision", "recall", "f1")):
            ax.bar(x + (j - 1) * 0.27, df[metric], 0.27, label=metric)
        ax.set_xticks(x, [f"{name}\n(n={s})" for name, s in zip(class_labels(), df["support"])])
        ax.axhline(result.accuracy, color="gray", ls="--", lw=1, label=f"accuracy {result.accuracy:.1%}")
        ax.set(ylim=(0, 1.05), ylabel="score", title="Per-class precision, recall and F1")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
    return fig


def misclassified_gallery(images, y_true, y_pred, probabilities=None, max_faces: int = 16, ncols: int = 8):
    """The faces the model got wrong, titled with true and predicted emotion (most confident mistakes first when
    ``probabilities`` are given)."""
    y_true, y_pred = _check_labels(y_true, len(images)), _check_labels(y_pred, len(images))
    wrong = np.flatnonzero(y_true != y_pred)
    if probabilities is not None:
        probabilities = np.asarray(probabilities)
        if probabilities.shape != (len(images), NUM_CLASSES):
            raise ValueError(f"probabilities must have shape ({len(images)}, 7), got {probabilities.shape}")
        wrong = wrong[np.argsort(-probabilities[wrong, y_pred[wrong]], kind="stable")]
    wrong = wrong[:max_faces]
    if wrong.size == 0:
        fig, ax = subplots(figsize=(4, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "No misclassified faces", ha="center", va="center")
        return fig
    with figure_context():
        fig, axes = face_axes(len(wrong), ncols, (1.9, 2.6))
        for ax, face, i in zip(axes, prepare_faces(np.asarray(images)[wrong])[..., 0], wrong):
            pred = class_label(y_pred[i]) + ("" if probabilities is None else f" {probabilities[i, y_pred[i]]:.0%}")
            show_face(ax, face, f"true: {class_label(y_true[i])}\npred: {pred}", color="tab:red")
        fig.suptitle(f"Misclassified faces ({len(wrong)} shown)")
        fig.tight_layout()
    return fig


def _probability_bars(ax, probabilities, truth: int | None = None) -> None:
    pred = int(np.argmax(probabilities))
    colors = ["lightgray"] * NUM_CLASSES
    colors[pred] = "tab:blue" if truth is None else "tab:green" if pred == truth else "tab:red"
    if truth is not None:
        colors[truth] = "tab:green"
    ax.barh(range(NUM_CLASSES), probabilities, color=colors)
    ax.set_yticks(range(NUM_CLASSES), class_labels(), fontsize=8)
    ax.set(xlim=(0, 1), ylim=(NUM_CLASSES - 0.5, -0.5))  # the first class on top
    ax.set_title(f"pred: {class_label(pred)} {probabilities[pred]:.0%}", fontsize=9)


def prediction_grid(model_or_probabilities, images, labels=None, n: int = 8, pairs_per_row: int = 2):
    """The first ``n`` faces, each beside a bar chart of its class probabilities: the predicted class green when
    right, red when wrong (blue without ``labels``), the true class green.

    ``model_or_probabilities``: a model, which is run on the faces, or probabilities ``(N, 7)`` you already have.
    """
    faces = prepare_faces(images[:n])[..., 0]
    probs = model_or_probabilities
    probs = predict_proba(probs, faces) if hasattr(probs, "predict") else np.asarray(probs)[:len(faces)]
    if probs.shape != (len(faces), NUM_CLASSES):
        raise ValueError(f"probabilities must have {len(faces)} rows of 7, got {np.shape(model_or_probabilities)}")
    truth = None if labels is None else _check_labels(labels[:len(faces)], len(faces))
    pairs = min(pairs_per_row, len(faces))
    with figure_context():
        fig, axes = face_axes(2 * len(faces), 2 * pairs, (2.6, 1.9), gridspec_kw={"width_ratios": [1, 1.6] * pairs})
        for k in range(len(faces)):
            show_face(axes[2 * k], faces[k], "" if truth is None else f"true: {class_label(truth[k])}")
            _probability_bars(axes[2 * k + 1], probs[k], None if truth is None else truth[k])
        fig.tight_layout()
    return fig


# -------------------------------------------------------------------------------------------------------- Grad-CAM
def grad_cams(model, faces, class_indices=None, layer_name: str | None = None) -> np.ndarray:
    """Grad-CAM heatmaps ``(N, 48, 48)`` in [0, 1]: where in each face lies the evidence for its class.

    The gradients of the class score (the logit before a final ``Dense`` softmax) with respect to the feature maps of
    ``layer_name`` (default: the last convolution's activated output), averaged over the image, weight those maps;
    their positive sum, scaled to a peak of 1 and resized to the face, is the heatmap. ``class_indices`` default to
    the predicted classes.
    """
    x = prepare_faces(faces).astype(np.float32)
    layer_name = layer_name or last_conv_layer_name(model)
    maps = model.get_layer(layer_name).output
    if len(maps.shape) != 4:
        raise ValueError(f"layer {layer_name!r} outputs shape {tuple(maps.shape)}; Grad-CAM needs 4-D feature maps")
    final = model.layers[-1]
    logits = isinstance(final, keras.layers.Dense) and getattr(final.activation, "__name__", "") == "softmax"
    grad_model = keras.Model(model.inputs, [maps, final.input if logits else model.output])
    inputs = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        maps, scores = grad_model(inputs, training=False)
        if logits:
            scores = tf.matmul(scores, final.kernel) + (0 if final.bias is None else final.bias)
        targets = np.argmax(scores, axis=1) if class_indices is None else np.broadcast_to(class_indices, (len(x),))
        bad = targets[(targets < 0) | (targets >= NUM_CLASSES)]
        if bad.size:
            raise ValueError(f"class index {bad[0]} is outside 0..{NUM_CLASSES - 1}")
        total = tf.reduce_sum(tf.gather(scores, targets, axis=1, batch_dims=1))
    weights = tf.reduce_mean(tape.gradient(total, maps), axis=(1, 2), keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1)).numpy()
    peaks = cams.max(axis=(1, 2), keepdims=True)
    cams = np.divide(cams, peaks, out=np.zeros_like(cams), where=peaks > 0)
    return np.clip([cv2.resize(cam, (x.shape[2], x.shape[1])) for cam in cams], 0, 1).astype(np.float32)


def grad_cam_figure(model, faces, labels=None):
    """The first 8 faces (top row) and their Grad-CAM heatmaps for the predicted class laid over them (bottom row)."""
    x = prepare_faces(faces[:8])
    probs = predict_proba(model, x)
    preds = probs.argmax(axis=1)
    cams = grad_cams(model, x, preds)
    with figure_context():
        fig, axes = face_axes(2 * len(x), len(x), (2.0, 2.4))  # faces on top, heatmaps below
        for k, (top, bottom) in enumerate(zip(axes, axes[len(x):])):
            true = "" if labels is None else f"true: {class_label(labels[k])}\n"
            show_face(top, x[k, ..., 0], f"{true}pred: {class_label(preds[k])} {probs[k, preds[k]]:.0%}")
            show_face(bottom, x[k, ..., 0], f"why {class_label(preds[k])}?")
            bottom.imshow(cams[k], cmap="jet", alpha=0.45, vmin=0, vmax=1)
        fig.suptitle(f"Grad-CAM on layer {last_conv_layer_name(model)}")
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------- command line
def evaluate_cli(args) -> int:
    """``python -m fer_helpers evaluate --model PATH --data PATH [--split NAME] [--tta [flip|tencrop]] [--json]``.

    Prints a readable report, or with ``--json`` one strict JSON object; ``--tta tencrop`` also reports the
    single-pass and flip accuracies (``accuracy_by_tta``). Returns 0.
    """
    tta = {None: False, "none": False, "flip": True, "tencrop": "tencrop"}[args.tta]
    model = load_face_model(args.model)  # checked: (48, 48, 1) faces in, 7 probabilities out
    data = load_fer2013(args.data)
    if args.split:
        data = data.split(args.split)
    elif "Training" in set(data.usage.tolist()):
        print(f"note: scoring all {len(data):,} rows of {args.data}, the Training rows included; pass --split "
              "PublicTest (model selection) or --split PrivateTest (the final report)", file=sys.stderr)
    result = evaluate_model(model, data.images, data.labels, tta=tta, batch_size=args.batch_size)
    by_tta = {}
    if tta == "tencrop":
        by_tta = {name: evaluate_model(model, data.images, data.labels, mode, args.batch_size).accuracy
                  for name, mode in (("single", False), ("flip", True))} | {"tencrop": result.accuracy}
    if args.json:
        extra = {"accuracy_by_tta": by_tta} if by_tta else {}
        print(dumps_json({"model": args.model, "data": args.data, "split": args.split, **result.to_dict(), **extra}))
        return 0
    where = f"split {args.split}" if args.split else "all rows"
    print(format_report(result, f"Model: {args.model}\nData:  {args.data} ({where}, {result.n} faces)"))
    if by_tta:
        print("Accuracy by test-time augmentation: " + ", ".join(f"{k} {v:.2%}" for k, v in by_tta.items()))
    return 0
