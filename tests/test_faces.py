"""The face detector, the recogniser on a real photo, drawing and the predict command."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fer_helpers import faces, pretrained  # noqa: E402
from fer_helpers.inference import predict_proba  # noqa: E402
from fer_helpers.labels import EMOTIONS  # noqa: E402
from fer_helpers.models import build_tutorial_cnn  # noqa: E402
from fer_helpers.preprocessing import prepare_face  # noqa: E402
from fer_helpers.faces import (  # noqa: E402
    EmotionRecognizer,
    FaceDetector,
    FaceResult,
    annotate,
    images_figure,
    sample_photo,
)

#: Where the face is in skimage.data.astronaut() (512x512): x 170-260, y 60-170.
FACE = (170, 60, 90, 110)


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def assert_on_face(box, face=FACE):
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    assert face[0] <= cx <= face[0] + face[2] and face[1] <= cy <= face[1] + face[3], (box, face)
    assert iou(box, face) >= 0.5, (box, face, iou(box, face))


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(1)
    return build_tutorial_cnn(filters=(4, 8, 8), dense_units=16, name="tiny")


@pytest.fixture(scope="module")
def recognizer(model):
    return EmotionRecognizer(model)


@pytest.fixture(scope="module")
def astronaut():
    return sample_photo()


# ------------------------------------------------------------------------------------------------------------ detector
class SpyCascade:
    """Wraps the real cascade and records what detectMultiScale received."""

    def __init__(self, cascade):
        self.cascade, self.calls = cascade, []

    def detectMultiScale(self, image, **kwargs):
        self.calls.append((image.shape, kwargs))
        return self.cascade.detectMultiScale(image, **kwargs)


def test_detector_passes_its_settings_to_opencv(astronaut):
    det = FaceDetector(scale_factor=1.25, min_neighbors=3, min_size=(60, 60), max_side=None)
    spy = det.cascade = SpyCascade(det.cascade)
    boxes = det.detect(astronaut)
    (shape, kwargs), = spy.calls
    assert shape == astronaut.shape[:2]
    assert kwargs == {"scaleFactor": 1.25, "minNeighbors": 3, "minSize": (60, 60)}
    assert boxes.dtype.kind == "i" and boxes.shape[1] == 4
    # a minimum size above the face's size hides it
    assert len(FaceDetector(min_size=(200, 200)).detect(astronaut)) == 0


@pytest.mark.parametrize("kwargs", [dict(scale_factor=1.0), dict(min_neighbors=-1), dict(min_size=(0, 10)),
                                    dict(max_side=8)])
def test_detector_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        FaceDetector(**kwargs)


# ---------------------------------------------------------------------------------------------------- the real photo
def test_astronaut_face_is_found_and_classified(recognizer, model, astronaut):
    results = recognizer.predict(astronaut)
    assert len(results) == 1
    r = results[0]
    assert isinstance(r, FaceResult)
    assert_on_face(r.box)
    assert all(isinstance(v, int) for v in r.box)
    assert list(r.probabilities) == list(EMOTIONS)
    assert r.label == max(r.probabilities, key=r.probabilities.get)
    assert r.probability == pytest.approx(max(r.probabilities.values()))
    assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # the face went through the shared preprocessing: same numbers as prepare_face + the model
    x, y, w, h = r.box
    expected = np.asarray(model(prepare_face(astronaut[y:y + h, x:x + w])[None], training=False))[0]
    np.testing.assert_allclose([r.probabilities[n] for n in EMOTIONS], expected, atol=1e-6)
    assert all(type(p) is float for p in [r.probability, *r.probabilities.values()])  # plain Python: JSON-ready


def test_annotate_draws_the_box_and_label_on_a_copy(recognizer, astronaut):
    results = recognizer.predict(astronaut)
    out = annotate(astronaut, results)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert not np.shares_memory(out, astronaut) and np.array_equal(astronaut, sample_photo())  # input untouched
    x, y, w, h = results[0].box
    color = np.array(faces.COLORS[results[0].label])
    assert (np.abs(out[y + h // 2, x].astype(int) - color) <= 2).all()  # the box's left edge
    assert (out[max(0, y - 20):y, x:x + w] != astronaut[max(0, y - 20):y, x:x + w]).any()  # the label above it


@pytest.mark.parametrize("kind", ["path", "gray", "gray3d", "bgra", "float01"])
def test_every_input_form_gives_the_same_face(recognizer, astronaut, tmp_path, kind):
    reference = recognizer.predict(astronaut)[0]
    if kind == "path":
        p = tmp_path / "astronaut.png"
        cv2.imwrite(str(p), astronaut)
        image = str(p)
    elif kind == "gray":
        image = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    elif kind == "gray3d":
        image = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)[:, :, None]
    elif kind == "bgra":
        image = cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)
    else:
        image = astronaut.astype(np.float32) / 255.0
    (result,) = recognizer.predict(image)
    assert result.box == reference.box
    np.testing.assert_allclose(list(result.probabilities.values()), list(reference.probabilities.values()),
                               atol=2e-3)  # the same up to gray-conversion rounding
    drawn = annotate(image, [result])
    assert drawn.shape == (*astronaut.shape[:2], 3) and drawn.dtype == np.uint8


def test_no_face_is_an_empty_list(recognizer):
    assert recognizer.predict(np.full((240, 320, 3), 128, np.uint8)) == []
    assert recognizer.predict(np.zeros((10, 10), np.uint8)) == []
    assert np.array_equal(annotate(np.full((20, 20), 7, np.uint8), []), np.full((20, 20, 3), 7, np.uint8))


def test_bad_image_inputs(recognizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        recognizer.predict(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.jpg.*empty"):
        recognizer.predict(str(tmp_path / "empty.jpg"))
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match="notes.jpg.*cv2.imread returned None"):
        recognizer.predict(str(tmp_path / "notes.jpg"))
    with pytest.raises(ValueError, match="shape"):
        recognizer.predict(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        recognizer.predict(np.zeros((0, 5, 3), np.uint8))


def test_very_large_image_is_detected_downscaled_and_mapped_back(recognizer, astronaut):
    big = cv2.resize(astronaut, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    spy = SpyCascade(recognizer.detector.cascade)
    recognizer.detector.cascade = spy
    try:
        results = recognizer.predict(big)
    finally:
        recognizer.detector.cascade = spy.cascade
    assert max(spy.calls[0][0]) == recognizer.detector.max_side == 1280  # detection ran on a 1280 px copy
    k = 8000 / 512
    face = tuple(round(v * k) for v in FACE)
    best = max(results, key=lambda r: iou(r.box, face))
    assert_on_face(best.box, face)  # boxes are in the 8000 px image's coordinates
    assert all(0 <= r.box[0] and r.box[0] + r.box[2] <= 8000 and r.box[1] + r.box[3] <= 8000 for r in results)


def test_model_from_a_file_and_the_model_itself_agree(model, astronaut, tmp_path):
    from fer_helpers.saving import save_model

    path = save_model(model, tmp_path / "tiny.keras")
    loaded = EmotionRecognizer(str(path)).predict(astronaut)
    direct = EmotionRecognizer(model).predict(astronaut)
    assert [r.box for r in loaded] == [r.box for r in direct] and loaded
    np.testing.assert_allclose(list(loaded[0].probabilities.values()), list(direct[0].probabilities.values()),
                               atol=1e-5)


def test_tta_averages_with_the_mirror_image(model, astronaut):
    plain = EmotionRecognizer(model).predict(astronaut)[0]
    tta = EmotionRecognizer(model, tta=True).predict(astronaut)[0]
    x, y, w, h = plain.box
    expected = predict_proba(model, [astronaut[y:y + h, x:x + w]], tta=True)[0]
    np.testing.assert_allclose([tta.probabilities[n] for n in EMOTIONS], expected, atol=1e-6)


def test_the_default_model_is_the_pretrained_one_and_its_absence_is_explained(monkeypatch, model, tmp_path):
    monkeypatch.setattr(faces, "load_pretrained", lambda: model)
    assert EmotionRecognizer().model is model
    monkeypatch.setattr(faces, "load_pretrained", pretrained.load_pretrained.__wrapped__)  # not cached
    monkeypatch.setattr(pretrained, "MODEL_FILE", tmp_path / "fer_vgg.keras")
    with pytest.raises(FileNotFoundError, match="fer_vgg.keras is missing.*pass its path instead"):
        EmotionRecognizer()


def sample_result(label_index=3, box=(177, 67, 93, 93)) -> FaceResult:
    probs = np.full(7, 0.05)
    probs[label_index] = 0.7
    return FaceResult(box=box, label=EMOTIONS[label_index], probability=0.7,
                      probabilities=dict(zip(EMOTIONS, probs.tolist())))


def test_label_band_and_readable_ink(astronaut):
    for k, ink in ((3, 0), (4, 255)):  # Happy: a light band with black ink; Sad: a dark band with white ink
        band = annotate(astronaut, [sample_result(k)])[48:64, 180:230].reshape(-1, 3).astype(int)
        assert (np.abs(band - faces.COLORS[EMOTIONS[k]]).max(axis=1) == 0).mean() > 0.15
        assert (np.abs(band - ink).max(axis=1) < 40).mean() > 0.15
    below = annotate(astronaut, [sample_result(3, box=(200, 0, 90, 90))])  # no room above the box: below it
    assert (np.abs(below[92:108, 202:250].astype(int) - faces.COLORS["Happy"]).max(axis=2) == 0).mean() > 0.15


def test_images_figure(astronaut):
    import matplotlib.pyplot as plt

    fig = images_figure([astronaut, astronaut[:100, :, 0]], titles=["a", "b"], ncols=1)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "b"
    assert np.array_equal(fig.axes[0].images[0].get_array(), astronaut[:, :, ::-1])  # shown as RGB
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one image"):
        images_figure([])
    with pytest.raises(ValueError, match="2 titles"):
        images_figure([astronaut], titles=["a", "b"])


# ----------------------------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    from fer_helpers.saving import save_model

    return save_model(model, tmp_path_factory.mktemp("cli") / "tiny.keras")


def test_cli_predict_json(model_file, astronaut, tmp_path, capsys):
    from fer_helpers.cli import main

    photo, blank = tmp_path / "astronaut.jpg", tmp_path / "blank.png"
    cv2.imwrite(str(photo), astronaut)
    cv2.imwrite(str(blank), np.full((100, 100, 3), 200, np.uint8))
    out_dir = tmp_path / "annotated"
    code = main(["predict", str(photo), str(blank), "--model", str(model_file), "--json", "--out", str(out_dir)])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["image"] == str(photo) and second == {"image": str(blank), "faces": []}
    (face,) = first["faces"]
    assert set(face) == {"box", "label", "probabilities"}
    assert_on_face(face["box"])
    assert face["label"] in EMOTIONS and set(face["probabilities"]) == set(EMOTIONS)
    assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
    assert sorted(p.name for p in out_dir.iterdir()) == ["astronaut_annotated.png", "blank_annotated.png"]
    assert cv2.imread(str(out_dir / "astronaut_annotated.png")).shape == astronaut.shape


def test_cli_predict_text_single_out_and_errors(model_file, astronaut, tmp_path, capsys):
    from fer_helpers.cli import main

    photo = tmp_path / "a.png"
    cv2.imwrite(str(photo), astronaut)
    out = tmp_path / "result.png"
    assert main(["predict", str(photo), "--model", str(model_file), "--out", str(out), "--tta"]) == 0
    text = capsys.readouterr().out
    assert "a.png: 1 face" in text and "box (x=" in text
    assert cv2.imread(str(out)).shape == astronaut.shape
    assert main(["predict", str(tmp_path / "missing.png"), "--model", str(model_file)]) == 2
    assert "missing.png" in capsys.readouterr().err
    assert main(["predict", str(photo), "--model", str(tmp_path / "no_model.keras")]) == 2
    assert "no_model.keras" in capsys.readouterr().err
