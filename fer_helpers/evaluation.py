"""Step 6 of the tutorial: how good is the model, and where does it go wrong?

Numbers
-------
* :func:`evaluate_model` runs a model over labelled faces and returns an :class:`EvaluationResult`: accuracy, the 7x7
  confusion matrix (rows = true class, columns = predicted class) and precision, recall, F1 and support per class.
  :meth:`EvaluationResult.from_predictions` builds the same result from labels and predictions you already have.
* :func:`per_class_report` turns the per-class numbers into a ``pandas.DataFrame``; :func:`format_report` into text
  (what ``python -m fer_helpers evaluate`` prints).

Figures
-------
Every figure function *returns* a ``matplotlib.figure.Figure`` made with ``plt.subplots`` and never calls
``plt.show()``, so the caller decides: in a notebook ``fig = learning_curves(history)`` is shown once at the end of the
cell by the inline backend (ending the cell with a bare ``learning_curves(history)`` would show it twice: once as the
cell's value, once by the backend); a script calls ``fig.savefig(...)`` or ``plt.show()``. Close figures you no
longer need with ``plt.close(fig)``.

* :func:`learning_curves`: loss and accuracy per epoch (train and validation), and the learning rate when logged.
* :func:`confusion_matrix_figure`, :func:`per_class_figure`: the numbers above as pictures.
* :func:`misclassified_gallery`, :func:`prediction_grid`: faces with their true and predicted emotions.
* :func:`grad_cam`, :func:`grad_cam_figure`: which parts of the face drove a prediction (Grad-CAM, Selvaraju et al.
  2017).

Class names carry their emoji (``"😄 Happy"``) wherever matplotlib has a font that can draw that emoji; otherwise the
plain name is used, so figures never show empty boxes or raise missing-glyph warnings.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .atomic import dumps_json
from .labels import EMOTIONS, NUM_CLASSES
from .preprocessing import prepare_face, prepare_faces

__all__ = [
    "EvaluationResult",
    "evaluate_model",
    "normalize_confusion",
    "most_confused",
    "per_class_report",
    "format_report",
    "class_label",
    "learning_curves",
    "confusion_matrix_figure",
    "per_class_figure",
    "misclassified_gallery",
    "prediction_grid",
    "grad_cam",
    "grad_cams",
    "grad_cam_figure",
    "evaluate_cli",
]

#: Metric names of :attr:`EvaluationResult.per_class` entries, in display order.
METRICS: tuple[str, ...] = ("precision", "recall", "f1", "support")


# --------------------------------------------------------------------------------------------------------------------
# Class names with emojis, only where a font can draw them
# --------------------------------------------------------------------------------------------------------------------

from .plotting import class_label, class_labels, figure_context, subplots  # noqa: E402,F401  (class_label: re-exported)


# --------------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------------


def _check_labels(labels, n: int | None = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(f"labels must be integers 0..{NUM_CLASSES - 1}, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if n is not None and len(labels) != n:
        raise ValueError(f"got {n} faces but {len(labels)} labels")
    unknown = int(np.sum(labels == -1))
    if unknown:
        raise ValueError(
            f"cannot evaluate unlabeled data: {unknown} of {len(labels)} faces have label -1 (unknown emotion); "
            "evaluate a labelled split (e.g. PublicTest or PrivateTest) or drop the unlabeled rows"
        )
    bad = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if bad.size:
        raise ValueError(f"label {int(bad[0])} is outside 0..{NUM_CLASSES - 1}")
    return labels


def normalize_confusion(confusion) -> np.ndarray:
    """Row-normalise a confusion matrix: entry ``[t, p]`` becomes the share of class ``t`` predicted as ``p``.

    Each row with at least one face sums to 1 (its diagonal entry is that class's recall); rows of classes without
    faces stay all zero instead of becoming NaN.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


@dataclass(eq=False, repr=False)
class EvaluationResult:
    """What :func:`evaluate_model` found.

    ``confusion[t, p]`` counts faces of true class ``t`` predicted as ``p``; ``per_class`` maps each class name to
    ``{"precision", "recall", "f1", "support"}``; ``macro_avg``/``weighted_avg`` hold the same metrics averaged over
    classes (unweighted, or weighted by support) exactly as scikit-learn's ``classification_report`` computes them:
    the macro average counts only the classes that occur among the labels or the predictions.
    """

    accuracy: float
    n: int
    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray | None
    confusion: np.ndarray
    per_class: dict[str, dict[str, float]]
    macro_avg: dict[str, float] = field(default_factory=dict)
    weighted_avg: dict[str, float] = field(default_factory=dict)
    tta: bool | str = False  # False, True (flip) or "tencrop"

    @classmethod
    def from_predictions(cls, y_true, y_pred=None, probabilities=None, tta: bool | str = False) -> "EvaluationResult":
        """Build a result from true labels and either predicted labels or ``(N, 7)`` probabilities (or both)."""
        from sklearn.metrics import classification_report, confusion_matrix

        if probabilities is not None:
            probabilities = np.asarray(probabilities, dtype=np.float32)
            if probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES:
                raise ValueError(f"probabilities must have shape (N, {NUM_CLASSES}), got {probabilities.shape}")
            if y_pred is None:
                y_pred = probabilities.argmax(axis=1)
        if y_pred is None:
            raise ValueError("give y_pred or probabilities")
        y_true = _check_labels(y_true)
        y_pred = _check_labels(y_pred, len(y_true))
        if probabilities is not None and len(probabilities) != len(y_true):
            raise ValueError(f"got {len(y_true)} labels but {len(probabilities)} probability rows")
        if len(y_true) == 0:
            raise ValueError("cannot evaluate on zero faces")

        labels = list(range(NUM_CLASSES))
        report = classification_report(
            y_true, y_pred, labels=labels, target_names=list(EMOTIONS), output_dict=True, zero_division=0
        )
        # The averages as classification_report(y_true, y_pred) prints them: without labels=, a class that is neither
        # true nor predicted anywhere is left out, instead of pulling the macro average down with zeros.
        averages = classification_report(y_true, y_pred, output_dict=True, zero_division=0)

        def metrics(entry: Mapping[str, Any]) -> dict[str, float]:
            return {
                "precision": float(entry["precision"]),
                "recall": float(entry["recall"]),
                "f1": float(entry["f1-score"]),
                "support": int(entry["support"]),
            }

        return cls(
            accuracy=float(np.mean(y_true == y_pred)),
            n=int(len(y_true)),
            y_true=y_true,
            y_pred=y_pred,
            probabilities=probabilities,
            confusion=confusion_matrix(y_true, y_pred, labels=labels).astype(np.int64),
            per_class={name: metrics(report[name]) for name in EMOTIONS},
            macro_avg=metrics(averages["macro avg"]),
            weighted_avg=metrics(averages["weighted avg"]),
            tta=tta if tta == "tencrop" else bool(tta),
        )

    def __repr__(self) -> str:
        return (
            f"EvaluationResult(accuracy={self.accuracy:.2%}, n={self.n}, "
            f"macro_f1={self.macro_avg.get('f1', float('nan')):.3f}, tta={self.tta})"
        )

    @property
    def confusion_normalized(self) -> np.ndarray:
        """Row-normalised confusion matrix (see :func:`normalize_confusion`)."""
        return normalize_confusion(self.confusion)

    @property
    def misclassified(self) -> np.ndarray:
        """Indices of the faces the model got wrong."""
        return np.flatnonzero(self.y_true != self.y_pred)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: accuracy, n, per_class, macro/weighted averages, confusion (nested lists), tta."""
        return {
            "accuracy": float(self.accuracy),
            "n": int(self.n),
            "tta": self.tta,
            "per_class": {name: dict(m) for name, m in self.per_class.items()},
            "macro_avg": dict(self.macro_avg),
            "weighted_avg": dict(self.weighted_avg),
            "confusion": self.confusion.astype(int).tolist(),
        }


def evaluate_model(model, images, labels, tta: bool | str = False, batch_size: int = 256) -> EvaluationResult:
    """Classify ``images`` with ``model`` and compare with ``labels`` (integers 0..6).

    ``images`` are faces as the loaders give them (``(N, 48, 48)`` or ``(N, 48, 48, 1)`` uint8 0..255; anything
    :func:`~fer_helpers.preprocessing.prepare_faces` accepts works). ``tta=True`` averages the predictions for each
    face and its mirror image, ``tta="tencrop"`` over ten crops (see :func:`~fer_helpers.inference.predict_proba`).
    Labels of -1 (unknown emotion, e.g. an unlabeled test file) raise ``ValueError``.
    """
    from .inference import predict_proba

    n = len(images)
    y_true = _check_labels(labels, n)
    if n == 0:
        raise ValueError("cannot evaluate on zero faces")
    probabilities = predict_proba(model, images, tta=tta, batch_size=batch_size)
    return EvaluationResult.from_predictions(y_true, probabilities=probabilities, tta=tta)


def blur_sensitivity(model, images, labels, sigmas=(0.0, 0.5, 0.7, 1.0), tta: bool = False) -> dict[float, float]:
    """Accuracy of ``model`` on ``images`` blurred with a Gaussian of each standard deviation in ``sigmas`` (pixels).

    A diagnostic for a train/test mismatch in sharpness: a model trained on faces as sharp as its test faces scores
    best at ``sigma=0`` and loses accuracy as the blur grows; one that scores *higher* on blurred faces was trained
    on blurrier faces than it is tested on (lesson 4 shows how chained augmentation layers cause that). ``0`` means
    the faces unchanged. Returns ``{sigma: accuracy}`` in the order given.
    """
    import cv2

    sigmas = [float(sigma) for sigma in sigmas]
    for sigma in sigmas:  # checked before any evaluation runs
        if not (math.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sigmas must be standard deviations >= 0 in pixels, got {sigma}")
    faces = prepare_faces(images)[..., 0].astype(np.float32)
    scores = {}
    for sigma in sigmas:
        blurred = faces if sigma == 0 else np.stack([cv2.GaussianBlur(face, (0, 0), sigma) for face in faces])
        blurred = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)[..., None]  # as a blurred photo would arrive
        scores[sigma] = evaluate_model(model, blurred, labels, tta=tta).accuracy
    return scores


def _as_result(result_or_confusion) -> np.ndarray:
    if isinstance(result_or_confusion, EvaluationResult):
        return result_or_confusion.confusion
    return np.asarray(result_or_confusion)


def most_confused(result_or_confusion, k: int = 5) -> list[tuple[str, str, int]]:
    """The ``k`` most frequent mistakes as ``(true name, predicted name, count)``, largest first."""
    cm = np.array(_as_result(result_or_confusion), dtype=np.int64)
    np.fill_diagonal(cm, 0)
    order = np.argsort(-cm, axis=None, kind="stable")[:k]  # ties: in label order
    pairs = [(EMOTIONS[i // cm.shape[1]], EMOTIONS[i % cm.shape[1]], int(cm.flat[i])) for i in order]
    return [p for p in pairs if p[2] > 0]


def per_class_report(result: EvaluationResult):
    """``pandas.DataFrame`` indexed by class name with columns precision, recall, f1 and support."""
    import pandas as pd

    df = pd.DataFrame.from_dict(result.per_class, orient="index")[list(METRICS)]
    df["support"] = df["support"].astype(int)
    df.index.name = "emotion"
    return df


def format_report(result: EvaluationResult, title: str | None = None) -> str:
    """The readable text report: accuracy, per-class table and confusion matrix (plain class names)."""
    import pandas as pd

    lines = []
    if title:
        lines += [title, ""]
    correct = int(np.trace(result.confusion))
    lines.append(
        f"Accuracy: {result.accuracy:.2%} ({correct} of {result.n} faces)" + ({"tencrop": "  [ten-crop TTA]", True: "  [flip TTA]"}.get(result.tta, ""))
    )
    lines.append(
        f"Macro F1: {result.macro_avg.get('f1', float('nan')):.3f}   "
        f"weighted F1: {result.weighted_avg.get('f1', float('nan')):.3f}"
    )
    lines += ["", "Per class:"]
    table = per_class_report(result)
    lines.append(table.to_string(float_format=lambda v: f"{v:.3f}"))
    lines += ["", "Confusion matrix (rows: true class, columns: predicted class):"]
    short = [name[:7] for name in EMOTIONS]
    cm = pd.DataFrame(result.confusion, index=list(EMOTIONS), columns=short)
    lines.append(cm.to_string())
    mistakes = most_confused(result, k=3)
    if mistakes:
        lines += ["", "Most frequent mistakes: " + ", ".join(f"{t} -> {p} ({c})" for t, p, c in mistakes)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# Learning curves
# --------------------------------------------------------------------------------------------------------------------

_ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")
_LR_KEYS = ("learning_rate", "lr")


def _history_frame(history_or_log):
    import pandas as pd

    source = history_or_log
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"training log not found: {path}")
        df = pd.read_csv(path, sep=None, engine="python") if os.path.getsize(path) else pd.DataFrame()
    elif isinstance(source, pd.DataFrame):
        df = source.copy()
    elif hasattr(source, "history") and isinstance(getattr(source, "history"), Mapping):  # keras History
        df = pd.DataFrame({k: list(v) for k, v in source.history.items()})
    elif isinstance(source, Mapping):
        df = pd.DataFrame({k: list(np.ravel(v)) for k, v in source.items()})
    else:
        raise TypeError(
            "learning_curves takes a keras History, a dict of per-epoch lists, a pandas DataFrame or the path of a "
            f"CSVLogger file, got {type(source).__name__}"
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df


def learning_curves(history_or_log, show_learning_rate: bool | None = None, title: str | None = None):
    """Loss and accuracy per epoch for training and validation data.

    ``history_or_log`` is what ``model.fit`` returned (a ``History``), its ``.history`` dict, a DataFrame, or the
    path of a ``keras.callbacks.CSVLogger`` file (columns ``epoch, accuracy, loss, val_accuracy, val_loss,
    learning_rate``). Columns ``loss`` and ``accuracy`` (or ``acc``/``sparse_categorical_accuracy``) are required;
    the validation curves are drawn when present, and the best validation epoch (lowest ``val_loss``) is marked.
    A third panel shows the learning rate when it was logged (``show_learning_rate=None``) or asked for.

    Reading the curves: validation loss rising while training loss still falls means overfitting (more
    augmentation, dropout or an earlier stop help); both flat and high means underfitting.
    """
    from matplotlib.ticker import MaxNLocator, NullFormatter

    df = _history_frame(history_or_log)
    acc_key = next((k for k in _ACCURACY_KEYS if k in df.columns), None)
    missing = [name for name, ok in (("loss", "loss" in df.columns), ("accuracy", acc_key is not None)) if not ok]
    if missing:
        found = ", ".join(df.columns) if len(df.columns) else "none"
        raise ValueError(
            f"learning_curves needs the columns loss and accuracy (or {', '.join(_ACCURACY_KEYS[1:])}); "
            f"missing: {', '.join(missing)}; found: {found}. Compile the model with metrics=['accuracy']"
        )
    if len(df) == 0:
        raise ValueError("the training log has no epochs")
    if "epoch" in df.columns:
        epochs = np.asarray(df["epoch"], dtype=float) + 1  # CSVLogger counts from 0; people count from 1
    else:
        epochs = np.arange(1, len(df) + 1, dtype=float)
    lr_key = next((k for k in _LR_KEYS if k in df.columns and df[k].notna().any()), None)
    if show_learning_rate and lr_key is None:
        raise ValueError(f"no learning-rate column in the log (looked for {', '.join(_LR_KEYS)})")
    show_lr = lr_key is not None if show_learning_rate is None else bool(show_learning_rate)

    panels = [("loss", "Loss"), (acc_key, "Accuracy")]
    with figure_context():
        fig, axes = subplots(1, 3 if show_lr else 2, figsize=(15 if show_lr else 11, 4), squeeze=False)
        axes = axes[0]
        best = None
        if "val_loss" in df.columns and df["val_loss"].notna().any():
            best = int(np.nanargmin(np.asarray(df["val_loss"], dtype=float)))
        for ax, (key, label) in zip(axes, panels):
            ax.plot(epochs, df[key].astype(float), marker="o", ms=3, label="training")
            val = f"val_{key}"
            if val in df.columns and df[val].notna().any():
                ax.plot(epochs, df[val].astype(float), marker="o", ms=3, label="validation")
                if best is not None:
                    ax.axvline(epochs[best], color="gray", ls=":", lw=1, label=f"best epoch ({epochs[best]:.0f})")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_ylabel(label.lower())
            ax.set_title(label)
            ax.grid(alpha=0.3)
            ax.legend()
        if show_lr:
            ax = axes[2]
            lr = np.asarray(df[lr_key], dtype=float)
            ax.plot(epochs, lr, marker="o", ms=3, color="tab:green")
            if np.nanmin(lr) > 0 and np.nanmax(lr) >= 10 * np.nanmin(lr):  # log scale once it spans a decade
                ax.set_yscale("log")
                ax.yaxis.set_minor_formatter(NullFormatter())
            else:
                ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_ylabel("learning rate")
            ax.set_title("Learning rate")
            ax.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Confusion matrix and per-class figures
# --------------------------------------------------------------------------------------------------------------------


def confusion_matrix_figure(confusion, normalize: bool = False, title: str | None = None, cmap: str = "Blues"):
    """Heatmap of a 7x7 confusion matrix (or of an :class:`EvaluationResult`'s).

    Rows are the true classes, columns the predicted ones. ``normalize=False`` shows counts; ``normalize=True``
    divides each row by its total, so the diagonal shows each class's recall and a row reads "of all true Fear faces,
    this share was predicted as ...".
    """
    import seaborn as sns

    cm = _as_result(confusion)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion matrix must be {NUM_CLASSES}x{NUM_CLASSES}, got shape {cm.shape}")
    data = normalize_confusion(cm) if normalize else cm.astype(np.int64)
    names = class_labels()
    with figure_context():
        fig, ax = subplots(figsize=(8, 6.5))
        sns.heatmap(
            data,
            annot=True,
            fmt=".2f" if normalize else "d",
            cmap=cmap,
            vmin=0,
            vmax=1 if normalize else None,
            xticklabels=names,
            yticklabels=names,
            square=True,
            cbar_kws={"label": "share of true class" if normalize else "faces"},
            ax=ax,
        )
        ax.set_xlabel("predicted emotion")
        ax.set_ylabel("true emotion")
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
        default = "Confusion matrix (row-normalised)" if normalize else "Confusion matrix (counts)"
        ax.set_title(title or default)
        fig.tight_layout()
    return fig


def per_class_figure(result: EvaluationResult, title: str | None = None):
    """Grouped bars of precision, recall and F1 per class, with each class's support under its name."""
    df = per_class_report(result)
    names = class_labels()
    x = np.arange(NUM_CLASSES)
    width = 0.27
    with figure_context():
        fig, ax = subplots(figsize=(10, 4.5))
        for j, metric in enumerate(("precision", "recall", "f1")):
            ax.bar(x + (j - 1) * width, df[metric].to_numpy(), width, label=metric)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{name}\n(n={s})" for name, s in zip(names, df["support"])])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("score")
        ax.axhline(result.accuracy, color="gray", ls="--", lw=1, label=f"accuracy {result.accuracy:.1%}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        ax.set_title(title or "Per-class precision, recall and F1")
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Face galleries
# --------------------------------------------------------------------------------------------------------------------


def _faces2d(images) -> np.ndarray:
    """``(N, 48, 48)`` uint8 for display (what the models see)."""
    return prepare_faces(images)[..., 0]


def _hide_unused(axes, used: int) -> None:
    for ax in list(axes)[used:]:
        ax.remove()


def misclassified_gallery(
    images, y_true, y_pred, probabilities=None, max_faces: int = 16, ncols: int = 8, title: str | None = None
):
    """The faces the model got wrong, each titled with its true and predicted emotion.

    With ``probabilities`` the most confident mistakes come first and the predicted emotion shows its probability
    (those are the interesting ones: a confident mistake is often a debatable label). Returns a figure with one axis
    per shown face, or a single axis saying that there is nothing to show.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    y_pred = np.asarray(y_pred).astype(np.int64)
    if not (len(images) == len(y_true) == len(y_pred)):
        raise ValueError(f"got {len(images)} images, {len(y_true)} true and {len(y_pred)} predicted labels")
    if probabilities is not None:
        probabilities = np.asarray(probabilities, dtype=np.float32)
        if probabilities.shape != (len(y_true), NUM_CLASSES):
            raise ValueError(
                f"probabilities must have shape ({len(y_true)}, {NUM_CLASSES}), got {probabilities.shape}"
            )
    wrong = np.flatnonzero((y_true != y_pred) & (y_true >= 0))
    if probabilities is not None and wrong.size:
        confidence = probabilities[wrong, y_pred[wrong]]
        wrong = wrong[np.argsort(-confidence, kind="stable")]
    wrong = wrong[: max(0, int(max_faces))]

    with figure_context():
        if wrong.size == 0:
            fig, ax = subplots(figsize=(4, 1.5))
            ax.axis("off")
            ax.text(0.5, 0.5, "No misclassified faces", ha="center", va="center")
            return fig
        chosen = images[wrong] if isinstance(images, np.ndarray) else [images[i] for i in wrong]
        faces = _faces2d(chosen)
        cols = min(ncols, len(wrong))
        rows = math.ceil(len(wrong) / cols)
        fig, axes = subplots(rows, cols, figsize=(1.9 * cols, 2.6 * rows + 0.4), squeeze=False)
        flat = axes.ravel()
        for ax, face, i in zip(flat, faces, wrong):
            ax.imshow(face, cmap="gray", vmin=0, vmax=255)
            pred = class_label(y_pred[i])
            if probabilities is not None:
                pred += f" {probabilities[i, y_pred[i]]:.0%}"
            ax.set_title(f"true: {class_label(y_true[i])}\npred: {pred}", fontsize=8, color="tab:red")
            ax.set_xticks([])
            ax.set_yticks([])
        _hide_unused(flat, len(wrong))
        fig.suptitle(title or f"Misclassified faces ({len(wrong)} shown)")
        fig.tight_layout()
    return fig


def _is_model(obj) -> bool:
    return not isinstance(obj, (np.ndarray, list, tuple)) and (hasattr(obj, "predict") or callable(obj))


def prediction_grid(
    model_or_probabilities,
    images,
    labels=None,
    n: int = 8,
    tta: bool = False,
    pairs_per_row: int = 2,
    title: str | None = None,
):
    """The first ``n`` faces, each beside a horizontal bar chart of its seven class probabilities.

    ``model_or_probabilities`` is a model (it is run on the faces) or probabilities ``(N, 7)`` you already have. The
    predicted class's bar is green when it matches ``labels`` and red when not (blue without labels); the true
    class's bar is green. Returns a figure with two axes per face: the face, then its bars.
    """
    from .inference import predict_proba

    count = min(int(n), len(images))
    if count <= 0:
        raise ValueError("no faces to show")
    faces = _faces2d(images[:count] if isinstance(images, np.ndarray) else list(images)[:count])
    if _is_model(model_or_probabilities):
        probs = predict_proba(model_or_probabilities, faces, tta=tta)
    else:
        probs = np.asarray(model_or_probabilities, dtype=np.float32)
        if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or len(probs) < count:
            raise ValueError(f"probabilities must have shape (N >= {count}, {NUM_CLASSES}), got {probs.shape}")
        probs = probs[:count]
    truth = None
    if labels is not None:
        truth = np.asarray(labels).astype(np.int64)[:count]
        if len(truth) < count:
            raise ValueError(f"got {len(truth)} labels for {count} faces")
    names = class_labels()
    pairs_per_row = max(1, min(int(pairs_per_row), count))
    rows = math.ceil(count / pairs_per_row)
    with figure_context():
        fig, axes = subplots(
            rows,
            2 * pairs_per_row,
            figsize=(5.2 * pairs_per_row, 1.9 * rows),
            squeeze=False,
            gridspec_kw={"width_ratios": [1, 1.6] * pairs_per_row},
        )
        flat = axes.ravel()
        for k in range(count):
            ax_face, ax_bar = flat[2 * k], flat[2 * k + 1]
            pred = int(probs[k].argmax())
            ax_face.imshow(faces[k], cmap="gray", vmin=0, vmax=255)
            ax_face.set_xticks([])
            ax_face.set_yticks([])
            colors = ["lightgray"] * NUM_CLASSES
            if truth is not None and truth[k] >= 0:
                colors[pred] = "tab:green" if pred == truth[k] else "tab:red"
                colors[int(truth[k])] = "tab:green"
                ax_face.set_title(f"true: {names[int(truth[k])]}", fontsize=9)
            else:
                colors[pred] = "tab:blue"
            ax_bar.barh(np.arange(NUM_CLASSES), probs[k], color=colors)
            ax_bar.set_yticks(np.arange(NUM_CLASSES))
            ax_bar.set_yticklabels(names, fontsize=8)
            ax_bar.invert_yaxis()
            ax_bar.set_xlim(0, 1)
            ax_bar.tick_params(axis="x", labelsize=7)
            ax_bar.set_title(f"pred: {names[pred]} {probs[k, pred]:.0%}", fontsize=9)
        _hide_unused(flat, 2 * count)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Grad-CAM
# --------------------------------------------------------------------------------------------------------------------


def _grad_model(model, layer_name: str):
    """Sub-model returning (feature maps of ``layer_name``, class scores), plus a flag for "scores are logits"."""
    import keras

    try:
        layer = model.get_layer(layer_name)
    except ValueError as exc:
        raise ValueError(f"model {model.name!r} has no layer named {layer_name!r}") from exc
    if len(layer.output.shape) != 4:
        raise ValueError(
            f"layer {layer_name!r} outputs shape {tuple(layer.output.shape)}; Grad-CAM needs 4-D feature maps "
            "(N, H, W, C) such as a Conv2D layer's"
        )
    final = model.layers[-1]
    # Grad-CAM is defined on the class score before softmax (its gradient does not saturate); the models of this
    # package end in Dense(softmax), whose input gives us those logits.
    logits_ok = (
        isinstance(final, keras.layers.Dense)
        and getattr(final.activation, "__name__", "") == "softmax"
        and len(model.outputs) == 1
        and final.output is model.outputs[0]
    )
    outputs = [layer.output, final.input if logits_ok else model.outputs[0]]
    return keras.Model(model.inputs, outputs), (final if logits_ok else None)


def grad_cams(model, faces, class_indices=None, layer_name: str | None = None, use_logits: bool = True) -> np.ndarray:
    """Grad-CAM heatmaps ``(N, H, W)`` in ``[0, 1]`` for a batch of faces (see :func:`grad_cam`)."""
    import cv2
    import tensorflow as tf

    from .models import last_conv_layer_name

    x = prepare_faces(faces)
    if len(x) == 0:
        return np.zeros((0, *x.shape[1:3]), dtype=np.float32)
    layer_name = layer_name or last_conv_layer_name(model)
    grad_model, final = _grad_model(model, layer_name)
    if not use_logits:
        final = None
    inputs = tf.convert_to_tensor(x.astype(np.float32))  # the model's Rescaling layer scales 0..255 itself
    with tf.GradientTape() as tape:
        feature_maps, scores = grad_model(inputs, training=False)
        tape.watch(feature_maps)
        if final is not None:
            scores = tf.matmul(scores, final.kernel)
            if final.bias is not None:
                scores = scores + final.bias
        if class_indices is None:
            targets = tf.argmax(scores, axis=1)
        else:
            targets = np.broadcast_to(np.asarray(class_indices, dtype=np.int64), (len(x),))
            bad = targets[(targets < 0) | (targets >= scores.shape[-1])]
            if bad.size:
                raise ValueError(f"class index {int(bad[0])} is outside 0..{scores.shape[-1] - 1}")
            targets = tf.constant(targets)
        # Faces are independent in inference mode, so the gradient of the sum is each face's own gradient.
        chosen = tf.gather(scores, targets, axis=1, batch_dims=1)
        total = tf.reduce_sum(chosen)
    grads = tape.gradient(total, feature_maps)
    if grads is None:
        raise ValueError(f"the class scores do not depend on layer {layer_name!r}")
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # alpha_k: how much feature map k matters
    cams = tf.nn.relu(tf.reduce_sum(weights * feature_maps, axis=-1)).numpy()  # (N, h, w)
    h, w = x.shape[1:3]
    out = np.empty((len(x), h, w), dtype=np.float32)
    for i, cam in enumerate(cams):
        peak = float(cam.max())
        cam = cam / peak if peak > 0 else np.zeros_like(cam)
        out[i] = cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0)


def grad_cam(model, face, class_index: int | None = None, layer_name: str | None = None, use_logits: bool = True):
    """Grad-CAM heatmap ``(48, 48)`` in ``[0, 1]``: where in ``face`` the evidence for ``class_index`` lies.

    ``face`` is one face (``(48, 48)``, ``(48, 48, 1)`` uint8 0..255, or any image :func:`prepare_face` accepts);
    it is fed to the model as float32 0..255, which the model's own Rescaling layer scales. ``class_index`` defaults
    to the predicted class, ``layer_name`` to the last convolution's activated output (the ReLU after its
    BatchNormalization: :func:`~fer_helpers.models.last_conv_layer_name`). The gradients of the class score (the logit
    before softmax when the model ends in ``Dense(softmax)``; ``use_logits=False`` uses the probability) with respect
    to that layer's feature maps, averaged over the image, weight the maps; their positive sum, scaled to a maximum of
    1 and resized to the face, is the heatmap. An all-zero map means no region spoke for the class.
    """
    return grad_cams(model, prepare_face(face)[None], class_index, layer_name, use_logits)[0]


def grad_cam_figure(
    model,
    faces,
    labels=None,
    class_indices=None,
    layer_name: str | None = None,
    max_faces: int = 8,
    alpha: float = 0.45,
    cmap: str = "jet",
    title: str | None = None,
):
    """Each face (top row) and its Grad-CAM heatmap laid over it (bottom row).

    The heatmap explains ``class_indices`` (default: each face's predicted class). Titles give the prediction with its
    probability, and the true emotion when ``labels`` are given. Returns a figure with two axes per face.
    """
    from .inference import predict_proba

    count = min(int(max_faces), len(faces))
    if count <= 0:
        raise ValueError("no faces to show")
    x = prepare_faces(faces[:count] if isinstance(faces, np.ndarray) else list(faces)[:count])
    probs = predict_proba(model, x)
    targets = probs.argmax(axis=1) if class_indices is None else np.broadcast_to(
        np.asarray(class_indices, dtype=np.int64), (len(faces),)
    )[:count]
    cams = grad_cams(model, x, targets, layer_name)
    truth = None if labels is None else np.asarray(labels).astype(np.int64)[:count]
    from .models import last_conv_layer_name

    layer_name = layer_name or last_conv_layer_name(model)
    with figure_context():
        fig, axes = subplots(2, count, figsize=(2.0 * count + 0.4, 5.2), squeeze=False)
        for k in range(count):
            top, bottom = axes[0, k], axes[1, k]
            top.imshow(x[k, ..., 0], cmap="gray", vmin=0, vmax=255)
            pred = int(probs[k].argmax())
            text = f"pred: {class_label(pred)} {probs[k, pred]:.0%}"
            if truth is not None and truth[k] >= 0:
                text = f"true: {class_label(truth[k])}\n" + text
            top.set_title(text, fontsize=8)
            bottom.imshow(x[k, ..., 0], cmap="gray", vmin=0, vmax=255)
            bottom.imshow(cams[k], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
            bottom.set_title(f"why {class_label(int(targets[k]))}?", fontsize=8)
            for ax in (top, bottom):
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle(title or f"Grad-CAM on layer {layer_name}")
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------------


def evaluate_cli(args) -> int:
    """``python -m fer_helpers evaluate --model PATH --data PATH [--split NAME] [--tta [tencrop]] [--json]
    [--batch-size N]``.

    With ``--json`` prints exactly one JSON object (accuracy, n, per_class, macro/weighted averages, confusion, split,
    tta, model, data); otherwise a readable report. ``--tta tencrop`` also reports the single-pass and flip
    accuracies (``accuracy_by_tta``). Returns 0.
    """
    from .data import load_fer2013
    from .saving import load_face_model

    model_path = os.fspath(args.model)
    data_path = os.fspath(args.data)
    split = getattr(args, "split", None)
    tta = {None: False, False: False, True: True, "flip": True, "tencrop": "tencrop"}[getattr(args, "tta", None)]
    batch_size = int(getattr(args, "batch_size", 256) or 256)
    if batch_size <= 0:
        raise ValueError(f"--batch-size must be positive, got {batch_size}")
    if not os.path.exists(model_path):
        raise FileNotFoundError(f"model not found: {model_path}")

    data = load_fer2013(data_path)
    if split:
        data = data.split(split)
    elif "Training" in set(data.usage.tolist()):  # a score that includes the training faces flatters the model
        print(f"note: scoring all {len(data):,} rows of {data_path}, the Training rows included; pass --split "
              "PublicTest (model selection) or --split PrivateTest (the final report)", file=sys.stderr)
    if len(data.labels) == 0:
        raise ValueError(f"no faces to evaluate in {data_path}" + (f" (split {split})" if split else ""))
    model = load_face_model(model_path)  # inference only; checked: (48, 48, 1) faces in, 7 probabilities out
    result = evaluate_model(model, data.images, data.labels, tta=tta, batch_size=batch_size)
    by_tta = {}
    if tta == "tencrop":
        for name, mode in (("single", False), ("flip", True)):
            by_tta[name] = evaluate_model(model, data.images, data.labels, tta=mode, batch_size=batch_size).accuracy
        by_tta["tencrop"] = result.accuracy

    if getattr(args, "json", False):
        payload = {"model": model_path, "data": data_path, "split": split}
        payload.update(result.to_dict())
        if by_tta:
            payload["accuracy_by_tta"] = by_tta
        print(dumps_json(payload))
    else:
        print(format_report(result, title=f"Model: {model_path}\nData:  {data_path} "
                                          f"({f'split {split}' if split else 'all rows'}, {result.n} faces)"))
        if by_tta:
            print("Accuracy by test-time augmentation: " + ", ".join(f"{k} {v:.2%}" for k, v in by_tta.items()))
    return 0
