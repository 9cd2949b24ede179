"""Tests of fer_helpers.evaluation: metrics with known values, figures, Grad-CAM and the ``evaluate`` command.

Kept fast: one tiny network trained for two epochs on random faces (shared by the module), and a hand-made model
whose outputs are known exactly.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fer_helpers import evaluation as ev  # noqa: E402
from fer_helpers import plotting  # noqa: E402
from fer_helpers.labels import EMOTIONS, NUM_CLASSES  # noqa: E402

# --------------------------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(96, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, NUM_CLASSES, size=96).astype(np.int64)
    return images, labels


@pytest.fixture(scope="module")
def trained(faces, tmp_path_factory):
    """A tiny tutorial CNN trained two epochs, with its History and CSVLogger file."""
    from fer_helpers.models import build_tutorial_cnn

    keras.utils.set_random_seed(0)
    images, labels = faces
    model = build_tutorial_cnn(filters=(4, 8, 8), dense_units=16)
    # Eager: for two tiny epochs, tracing the train/validation graphs would cost more than the training itself.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
    log = tmp_path_factory.mktemp("run") / "log.csv"
    history = model.fit(
        images[:32, ..., None], labels[:32],
        validation_data=(images[32:48, ..., None], labels[32:48]),
        epochs=2, batch_size=32, verbose=0,
        # ReduceLROnPlateau adds learning_rate to the logs, so it must come before CSVLogger.
        callbacks=[keras.callbacks.ReduceLROnPlateau(patience=1), keras.callbacks.CSVLogger(str(log))],
    )
    return model, history, log


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _half_model():
    """Logit 0 = 4 * mean brightness of the left half, logit 3 = 4 * mean of the right half, others 0.

    A face lit on the left is "Angry", lit on the right "Happy", and its mirror image the other way round, so flip
    TTA has a known, visible effect.
    """
    kernel = np.zeros((48, 48, NUM_CLASSES), dtype=np.float32)
    kernel[:, :24, 0] = 4.0 / (255 * 48 * 24)
    kernel[:, 24:, 3] = 4.0 / (255 * 48 * 24)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", use_bias=False, name="fixed")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("fixed").set_weights([kernel.reshape(-1, NUM_CLASSES)])
    return model, kernel.reshape(-1, NUM_CLASSES)


def _lit_faces():
    left = np.zeros((48, 48), np.uint8)
    left[:, :24] = 255
    right = left[:, ::-1].copy()
    partly = np.zeros((48, 48), np.uint8)
    partly[:, :24] = 255
    partly[:, 24:] = 100
    return np.stack([left, right, partly, left])


def _write_csv(path, images, labels=None, usage=None):
    """A Kaggle-layout CSV written independently of fer_helpers.data."""
    header = (["emotion"] if labels is not None else []) + ["pixels"] + (["Usage"] if usage is not None else [])
    lines = [",".join(header)]
    for i, img in enumerate(images):
        row = [] if labels is None else [str(int(labels[i]))]
        row.append(" ".join(map(str, img.reshape(-1).tolist())))
        if usage is not None:
            row.append(usage[i])
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------------

Y_TRUE = [0, 0, 1, 1, 2, 3]
Y_PRED = [0, 1, 1, 1, 2, 0]


def test_metrics_on_hand_made_predictions():
    r = ev.EvaluationResult.from_predictions(Y_TRUE, Y_PRED)
    assert r.n == 6
    assert r.accuracy == pytest.approx(4 / 6)
    assert r.confusion.shape == (7, 7) and r.confusion.dtype.kind == "i"
    assert r.confusion.sum() == r.n
    assert r.confusion[0, 0] == 1 and r.confusion[0, 1] == 1 and r.confusion[3, 0] == 1  # rows = true class
    assert r.confusion.sum(axis=1).tolist() == [2, 2, 1, 1, 0, 0, 0]
    assert list(r.per_class) == list(EMOTIONS)
    angry, disgust, fear, happy, sad = (r.per_class[k] for k in ("Angry", "Disgust", "Fear", "Happy", "Sad"))
    assert (angry["precision"], angry["recall"], angry["f1"], angry["support"]) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert disgust["precision"] == pytest.approx(2 / 3) and disgust["recall"] == 1.0
    assert disgust["f1"] == pytest.approx(0.8)
    assert fear == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert happy == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert sad["support"] == 0 and sad["f1"] == 0.0  # zero_division=0, no NaN
    # classes 0..3 occur (as labels or predictions); the three absent ones do not count, as in scikit-learn
    assert r.macro_avg["f1"] == pytest.approx((0.5 + 0.8 + 1.0 + 0.0) / 4)
    assert repr(r) == "EvaluationResult(accuracy=66.67%, n=6, macro_f1=0.575, tta=False)"


def test_averages_match_scikit_learns_classification_report():
    from sklearn.metrics import classification_report

    y_true = [3, 3, 3, 3, 0, 0, 0, 1, 6, 6]  # notebook 6's worked example: four of the seven classes occur
    y_pred = [3, 3, 3, 0, 0, 0, 3, 0, 6, 3]
    r = ev.EvaluationResult.from_predictions(y_true, y_pred)
    sk = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for ours, theirs in ((r.macro_avg, sk["macro avg"]), (r.weighted_avg, sk["weighted avg"])):
        assert ours["precision"] == pytest.approx(theirs["precision"])
        assert ours["recall"] == pytest.approx(theirs["recall"])
        assert ours["f1"] == pytest.approx(theirs["f1-score"])
        assert ours["support"] == theirs["support"] == 10
    assert r.macro_avg["f1"] == pytest.approx(0.476, abs=5e-4)  # not 0.272, the mean over all seven classes
    assert r.per_class["Sad"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # still listed
    every_class = ev.EvaluationResult.from_predictions(list(range(7)) * 2, list(range(7)) + [0] * 7)
    sk_all = classification_report(list(range(7)) * 2, list(range(7)) + [0] * 7, output_dict=True, zero_division=0)
    assert every_class.macro_avg["f1"] == pytest.approx(sk_all["macro avg"]["f1-score"])


def test_to_dict_is_json_able():
    probs = np.eye(NUM_CLASSES, dtype=np.float32)[Y_PRED]
    r = ev.EvaluationResult.from_predictions(Y_TRUE, probabilities=probs, tta=True)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["accuracy"] == pytest.approx(4 / 6) and d["n"] == 6 and d["tta"] is True
    assert d["confusion"] == r.confusion.tolist()
    assert set(d["per_class"]) == set(EMOTIONS)
    assert set(d["per_class"]["Angry"]) == {"precision", "recall", "f1", "support"}
    assert r.y_pred.tolist() == Y_PRED


def test_most_confused_and_report():
    r = ev.EvaluationResult.from_predictions([0, 0, 0, 2, 2, 4], [1, 1, 0, 1, 2, 5])
    assert ev.most_confused(r, k=5) == [("Angry", "Disgust", 2), ("Fear", "Disgust", 1), ("Sad", "Surprise", 1)]
    assert ev.most_confused(r.confusion, k=1) == [("Angry", "Disgust", 2)]
    df = ev.per_class_report(r)
    assert isinstance(df, pd.DataFrame)
    assert list(df.index) == list(EMOTIONS) and list(df.columns) == ["precision", "recall", "f1", "support"]
    assert df.loc["Angry", "recall"] == pytest.approx(1 / 3) and df["support"].sum() == 6
    text = ev.format_report(r)
    assert "Accuracy: 33.33%" in text and "Surprise" in text and "Angry -> Disgust (2)" in text


def test_evaluate_model_and_tta_average():
    model, kernel = _half_model()
    faces = _lit_faces()
    labels = np.array([0, 3, 0, 3])
    x = faces.reshape(len(faces), -1).astype(np.float32)
    plain = _softmax(x @ kernel)
    flipped = _softmax(faces[:, :, ::-1].reshape(len(faces), -1).astype(np.float32) @ kernel)

    r = ev.evaluate_model(model, faces, labels)
    np.testing.assert_allclose(r.probabilities, plain, atol=1e-5)
    assert r.y_pred.tolist() == [0, 3, 0, 0]
    assert r.accuracy == pytest.approx(3 / 4) and r.n == 4 and r.tta is False
    assert r.confusion[3, 0] == 1 and r.confusion.sum() == 4

    t = ev.evaluate_model(model, faces[..., None], labels, tta=True, batch_size=2)  # batch_size < N: predict path
    np.testing.assert_allclose(t.probabilities, (plain + flipped) / 2, atol=1e-5)
    assert t.tta is True and t.to_dict()["tta"] is True
    # A face and its mirror image average to the same probabilities for "Angry" and "Happy".
    assert t.probabilities[0, 0] == pytest.approx(t.probabilities[0, 3], abs=1e-5)


def _sharpness_model(threshold: float = 100.0):
    """"Happy" when a face's mean absolute Laplacian exceeds ``threshold``, else "Angry": a detector of sharpness."""
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(2, 3, use_bias=False, name="laplacian")(inputs)  # +L and -L; ReLU of both sums to |L|
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="decide")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("laplacian").set_weights([np.stack([laplacian, -laplacian], axis=-1)[:, :, None, :]])
    kernel, bias = np.zeros((2, NUM_CLASSES), np.float32), np.zeros(NUM_CLASSES, np.float32)
    kernel[:, 3], bias[3] = 0.1, -0.1 * threshold
    model.get_layer("decide").set_weights([kernel, bias])
    return model


def test_blur_sensitivity_shows_which_sharpness_a_model_expects():
    noise = np.random.default_rng(0).integers(0, 256, (8, 48, 48), dtype=np.uint8)  # very sharp "faces"
    model = _sharpness_model()
    wants_sharp = ev.blur_sensitivity(model, noise, np.full(8, 3), sigmas=(0, 0.5, 2.0))
    assert list(wants_sharp) == [0.0, 0.5, 2.0]
    assert wants_sharp[0.0] == 1.0 and wants_sharp[2.0] == 0.0  # sharp faces pass, blurred ones fail
    assert wants_sharp[0.0] == ev.evaluate_model(model, noise, np.full(8, 3)).accuracy
    wants_blur = ev.blur_sensitivity(model, noise, np.zeros(8, int), sigmas=(0, 2.0), tta=True)
    assert wants_blur == {0.0: 0.0, 2.0: 1.0}  # a model "trained on blur" gains from blurring the test faces
    with pytest.raises(ValueError, match="sigmas"):
        ev.blur_sensitivity(model, noise, np.full(8, 3), sigmas=(-1,))


def test_unlabeled_and_bad_labels_raise():
    model, _ = _half_model()
    faces = _lit_faces()
    with pytest.raises(ValueError, match="unlabeled"):
        ev.evaluate_model(model, faces, [0, -1, -1, 3])
    with pytest.raises(ValueError, match="unlabeled"):
        ev.EvaluationResult.from_predictions([-1, 0], [0, 0])
    with pytest.raises(ValueError, match="4 faces but 3 labels"):
        ev.evaluate_model(model, faces, [0, 1, 2])
    with pytest.raises(ValueError, match="outside 0..6"):
        ev.evaluate_model(model, faces, [0, 1, 2, 7])
    with pytest.raises(ValueError, match="zero faces"):
        ev.evaluate_model(model, faces[:0], [])


# --------------------------------------------------------------------------------------------------------------------
# Learning curves
# --------------------------------------------------------------------------------------------------------------------


def test_learning_curves_from_history_dataframe_and_csv(trained):
    _, history, log = trained
    logged = pd.read_csv(log)
    assert {"epoch", "accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"} <= set(logged.columns)

    fig = ev.learning_curves(history)  # keras History (no learning_rate key unless logged)
    assert len(fig.axes) == 2 + ("learning_rate" in history.history)
    loss_ax = fig.axes[0]
    train_line, val_line = loss_ax.get_lines()[:2]
    np.testing.assert_allclose(train_line.get_ydata(), history.history["loss"])
    np.testing.assert_allclose(val_line.get_ydata(), history.history["val_loss"])
    assert list(train_line.get_xdata()) == [1, 2]

    fig = ev.learning_curves(log)  # CSVLogger path: learning-rate panel added
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy", "Learning rate"]
    np.testing.assert_allclose(fig.axes[1].get_lines()[1].get_ydata(), logged["val_accuracy"])
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [1, 2]  # CSVLogger epochs count from 0

    assert len(ev.learning_curves(logged.drop(columns="learning_rate")).axes) == 2  # no learning rate logged
    fig = ev.learning_curves({"loss": [1.0, 0.5, 0.4], "accuracy": [0.3, 0.5, 0.6]})  # no validation
    assert len(fig.axes) == 2 and len(fig.axes[1].get_lines()) == 1


def test_learning_curves_missing_columns(tmp_path):
    with pytest.raises(ValueError, match="missing: accuracy") as info:
        ev.learning_curves(pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.9]}))
    assert "found: epoch, loss" in str(info.value)
    with pytest.raises(ValueError, match="missing: loss, accuracy"):
        ev.learning_curves({"val_loss": [1.0]})
    with pytest.raises(FileNotFoundError):
        ev.learning_curves(tmp_path / "nope.csv")
    with pytest.raises(ValueError):
        ev.learning_curves(42)


# --------------------------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------------------------


def _tick_texts(labels):
    return [t.get_text() for t in labels]


def test_confusion_matrix_figure_counts_and_normalised():
    r = ev.EvaluationResult.from_predictions(Y_TRUE, Y_PRED)
    fig = ev.confusion_matrix_figure(r.confusion)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2  # heatmap + colour bar
    ax = fig.axes[0]
    xt, yt = _tick_texts(ax.get_xticklabels()), _tick_texts(ax.get_yticklabels())
    assert len(xt) == len(yt) == 7
    assert all(t.endswith(name) for t, name in zip(xt, EMOTIONS)) and all(
        t.endswith(name) for t, name in zip(yt, EMOTIONS))
    assert ax.get_ylabel() == "true emotion" and ax.get_xlabel() == "predicted emotion"
    annotations = [int(t.get_text()) for t in ax.texts]
    assert annotations == r.confusion.ravel().tolist()

    fig = ev.confusion_matrix_figure(r, normalize=True)  # an EvaluationResult works too
    values = np.array([float(t.get_text()) for t in fig.axes[0].texts]).reshape(7, 7)
    np.testing.assert_allclose(values.sum(axis=1)[:4], 1.0, atol=0.02)
    assert np.all(values[4:] == 0)  # classes without faces: zeros, not NaN
    assert "normalised" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="7x7"):
        ev.confusion_matrix_figure(np.zeros((3, 3)))


def test_figures_draw_without_glyph_warnings():
    r = ev.EvaluationResult.from_predictions(Y_TRUE, Y_PRED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in (ev.confusion_matrix_figure(r), ev.per_class_figure(r)):
            fig.canvas.draw()
    assert not [w for w in caught if "missing from" in str(w.message)]


@pytest.mark.filterwarnings("ignore:Glyph.*missing from font")  # the forced-emoji case below
def test_class_labels_use_emojis_only_when_drawable(monkeypatch):
    assert plotting.class_label(3, with_emoji=True) == "😄 Happy"
    assert plotting.class_label(3, with_emoji=False) == "Happy"
    with pytest.raises(ValueError):
        plotting.class_label(7)
    monkeypatch.setattr(plotting, "emoji_fonts", lambda: ())
    fig = ev.confusion_matrix_figure(np.eye(7, dtype=int))
    assert _tick_texts(fig.axes[0].get_xticklabels()) == list(EMOTIONS)
    monkeypatch.setattr(plotting, "emoji_fonts", lambda: ("DejaVu Sans",))
    fig = ev.per_class_figure(ev.EvaluationResult.from_predictions(Y_TRUE, Y_PRED))
    assert _tick_texts(fig.axes[0].get_xticklabels())[3].startswith("😄 Happy")


def test_per_class_figure():
    r = ev.EvaluationResult.from_predictions(Y_TRUE, Y_PRED)
    fig = ev.per_class_figure(r)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.get_xticklabels()) == 7 and "(n=2)" in ax.get_xticklabels()[0].get_text()
    assert len(ax.containers) == 3
    heights = [[bar.get_height() for bar in c] for c in ax.containers]
    df = ev.per_class_report(r)
    for h, metric in zip(heights, ("precision", "recall", "f1")):
        np.testing.assert_allclose(h, df[metric])


def test_misclassified_gallery(faces):
    images, _ = faces
    y_true = np.array([0, 1, 2, 3, 4, 5, 6, 0, 1, 2])
    y_pred = np.array([0, 2, 2, 4, 4, 6, 6, 1, 1, 3])  # wrong at 1, 3, 5, 7, 9
    probs = np.full((10, 7), 0.1, dtype=np.float32)
    probs[np.arange(10), y_pred] = np.linspace(0.2, 0.9, 10)
    fig = ev.misclassified_gallery(images[:10], y_true, y_pred, probs, max_faces=4, ncols=3)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    # Most confident mistake first: face 9, true Fear, predicted Happy with 90%.
    true_line, pred_line = titles[0].split("\n")
    assert true_line.startswith("true: ") and true_line.endswith("Fear")
    assert pred_line.startswith("pred: ") and pred_line.endswith("Happy 90%")
    assert titles[1].split("\n")[0].endswith("Angry") and "Disgust" in titles[1]  # face 7 next
    fig = ev.misclassified_gallery(images[:10], y_true, y_pred)  # no probabilities: order of the data
    assert len(fig.axes) == 5 and fig.axes[0].get_title().split("\n")[0].endswith("Disgust")
    fig = ev.misclassified_gallery(images[:3], [1, 2, 3], [1, 2, 3])
    assert len(fig.axes) == 1 and fig.axes[0].texts[0].get_text() == "No misclassified faces"
    with pytest.raises(ValueError):
        ev.misclassified_gallery(images[:3], [1, 2], [1, 2, 3])


def test_prediction_grid_with_probabilities_and_model():
    model, _ = _half_model()
    faces = _lit_faces()
    probs = np.tile(np.linspace(0.01, 0.2, 7, dtype=np.float32), (4, 1))
    fig = ev.prediction_grid(probs, faces, labels=[0, 6, 0, 3], n=3)
    assert len(fig.axes) == 6  # face + bars per face
    bars_ax = fig.axes[1]
    np.testing.assert_allclose([b.get_width() for b in bars_ax.patches], probs[0], atol=1e-6)
    assert len(bars_ax.get_yticklabels()) == 7 and bars_ax.get_yticklabels()[6].get_text().endswith("Neutral")
    assert "Neutral" in bars_ax.get_title() and "Angry" in fig.axes[0].get_title()

    fig = ev.prediction_grid(model, faces, n=8)  # n > len(images): all four faces
    assert len(fig.axes) == 8
    expected = ev.evaluate_model(model, faces, [0, 3, 0, 0]).probabilities
    np.testing.assert_allclose([b.get_width() for b in fig.axes[3].patches], expected[1], atol=1e-5)
    assert "Happy" in fig.axes[3].get_title()
    with pytest.raises(ValueError):
        ev.prediction_grid(np.ones((2, 7)), faces, n=3)


# --------------------------------------------------------------------------------------------------------------------
# Grad-CAM
# --------------------------------------------------------------------------------------------------------------------


def test_grad_cams_shape_range_and_targets(trained, faces):
    model, _, _ = trained
    images, _ = faces
    face = images[:1]
    cam = ev.grad_cams(model, face)[0]
    assert cam.shape == (48, 48) and cam.dtype == np.float32
    assert cam.min() >= 0.0 and cam.max() <= 1.0
    np.testing.assert_allclose(ev.grad_cams(model, face[..., None])[0], cam, atol=1e-6)  # (N, 48, 48, 1) uint8 too

    maps = [ev.grad_cams(model, face, class_indices=c)[0] for c in range(NUM_CLASSES)]
    # a class whose evidence is all negative has an empty (all-zero) map after Grad-CAM's ReLU; others must not
    assert any(m.max() > 0.5 for m in maps)  # normalised to peak 1 before upsampling
    assert max(np.abs(maps[0] - m).max() for m in maps[1:]) > 1e-3  # explanations differ between classes
    other = ev.grad_cams(model, face, layer_name="block2a_conv")[0]
    assert other.shape == (48, 48) and np.abs(other - cam).max() > 1e-3  # ...and between layers

    batch = ev.grad_cams(model, images[:3], class_indices=[1, 2, 3])
    np.testing.assert_allclose(batch[1], ev.grad_cams(model, images[1:2], class_indices=2)[0], atol=1e-5)

    with pytest.raises(ValueError, match="4-D"):
        ev.grad_cams(model, face, layer_name="flatten")
    with pytest.raises(ValueError, match="nope"):
        ev.grad_cams(model, face, layer_name="nope")
    with pytest.raises(ValueError, match="outside"):
        ev.grad_cams(model, face, class_indices=9)


def test_grad_cam_figure(trained, faces):
    model, _, _ = trained
    images, labels = faces
    fig = ev.grad_cam_figure(model, images[:3], labels=labels[:3])
    assert len(fig.axes) == 6
    assert fig.axes[0].get_title().startswith("true: ") and "pred: " in fig.axes[0].get_title()
    assert len(fig.axes[3].get_images()) == 2  # face plus heatmap overlay
    assert "block3b_relu" in fig.get_suptitle()  # the activated output of the last convolution


# --------------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(trained, tmp_path_factory):
    model, _, _ = trained
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def _run_cli(capsys, *argv):
    from fer_helpers.cli import main

    rc = main(["evaluate", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_evaluate_cli_json_and_split(tmp_path, capsys, saved_model, trained, faces):
    model, _, _ = trained
    images, labels = faces
    usage = ["Training"] * 60 + ["PublicTest"] * 20 + ["PrivateTest"] * 16
    data = _write_csv(tmp_path / "fer.csv", images, labels, usage)

    rc, out, err = _run_cli(capsys, "--model", saved_model, "--data", data, "--json")
    assert rc == 0 and "scoring all 96 rows" in err and "the Training rows included" in err
    result = json.loads(out)  # exactly one JSON object on stdout
    assert result["n"] == 96 and result["split"] is None and result["tta"] is False
    assert result["model"] == str(saved_model) and result["data"] == str(data)
    assert np.array(result["confusion"]).shape == (7, 7) and np.sum(result["confusion"]) == 96
    assert set(result["per_class"]) == set(EMOTIONS)
    assert sum(m["support"] for m in result["per_class"].values()) == 96
    assert result["accuracy"] == pytest.approx(ev.evaluate_model(model, images, labels).accuracy)

    rc, out, err = _run_cli(capsys, "--model", saved_model, "--data", data, "--split", "PublicTest", "--tta", "--json")
    assert rc == 0 and "scoring all" not in err
    result = json.loads(out)
    assert result["n"] == 20 and result["split"] == "PublicTest" and result["tta"] is True
    expected = ev.evaluate_model(model, images[60:80], labels[60:80], tta=True)
    assert result["accuracy"] == pytest.approx(expected.accuracy)
    assert result["confusion"] == expected.confusion.tolist()

    rc, out, err = _run_cli(capsys, "--model", saved_model, "--data", data, "--split", "Validation", "--json")
    assert rc == 2 and out == ""
    assert "Validation" in err and "PublicTest" in err  # names the available splits

    rc, out, _ = _run_cli(capsys, "--model", saved_model, "--data", data, "--split", "PrivateTest")
    assert rc == 0
    assert "Accuracy:" in out and "16 faces" in out and "Confusion matrix" in out
    assert all(name in out for name in EMOTIONS)


def test_evaluate_cli_tencrop_reports_single_flip_and_ten_crops(tmp_path, capsys, faces, randomise_batchnorm):
    from fer_helpers.models import build_vgg_cnn

    images, labels = faces
    crop_model = build_vgg_cnn(input_shape=(None, None, 1), filters=(4, 4, 8, 8), head_units=8)
    randomise_batchnorm(crop_model)
    crop_model.save(tmp_path / "crops.keras")
    data = _write_csv(tmp_path / "fer.csv", images[:30], labels[:30], ["PublicTest"] * 30)
    rc, out, _ = _run_cli(capsys, "--model", tmp_path / "crops.keras", "--data", data, "--split", "PublicTest",
                          "--tta", "tencrop", "--json")
    assert rc == 0
    result = json.loads(out)
    assert result["tta"] == "tencrop" and list(result["accuracy_by_tta"]) == ["single", "flip", "tencrop"]
    for mode, key in ((False, "single"), (True, "flip"), ("tencrop", "tencrop")):
        want = ev.evaluate_model(crop_model, images[:30], labels[:30], tta=mode).accuracy
        assert result["accuracy_by_tta"][key] == pytest.approx(want)
    assert result["accuracy"] == result["accuracy_by_tta"]["tencrop"]
    rc, out, _ = _run_cli(capsys, "--model", tmp_path / "crops.keras", "--data", data, "--tta", "tencrop")
    assert rc == 0 and "[ten-crop TTA]" in out and "Accuracy by test-time augmentation: single " in out


def test_evaluate_cli_errors(tmp_path, capsys, saved_model, faces):
    images, _ = faces
    unlabeled = _write_csv(tmp_path / "test.csv", images[:5])
    rc, out, err = _run_cli(capsys, "--model", saved_model, "--data", unlabeled, "--json")
    assert rc == 2 and out == "" and "unlabeled" in err

    rc, out, err = _run_cli(capsys, "--model", tmp_path / "missing.keras", "--data", unlabeled)
    assert rc == 2 and "missing.keras" in err


def test_blur_sensitivity_script_prints_a_row_per_model(tmp_path, capsys):
    import importlib.util

    from fer_helpers.data import write_fer_csv

    noise = np.random.default_rng(1).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    csv = write_fer_csv(tmp_path / "noise.csv", noise, np.full(6, 3), np.array(["PublicTest"] * 6))
    path = tmp_path / "sharpness.keras"
    _sharpness_model().save(path)
    script = Path(__file__).resolve().parents[1] / "scripts" / "blur_sensitivity.py"
    spec = importlib.util.spec_from_file_location("blur_sensitivity", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(path), "--data", str(csv), "--sigmas", "0", "2"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("6 PublicTest faces") and "sigma 0" in out[1] and "sigma 2" in out[1]
    assert out[2].split()[-2:] == ["100.00%", "0.00%"]
