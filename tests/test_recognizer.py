"""The face detector, the recogniser on a real photo, drawing, video, the Colab webcam fallback and the predict CLI."""

from __future__ import annotations

import base64
import json
import os
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import fer_helpers  # noqa: E402
from fer_helpers import recognizer as rec  # noqa: E402
from fer_helpers.inference import predict_proba  # noqa: E402
from fer_helpers.labels import EMOTIONS  # noqa: E402
from fer_helpers.models import build_tutorial_cnn  # noqa: E402
from fer_helpers.preprocessing import prepare_face  # noqa: E402
from fer_helpers.recognizer import (  # noqa: E402
    EmotionRecognizer,
    FaceDetector,
    FaceResult,
    FaceTracker,
    annotate,
    load_image,
    process_video,
    sample_photo,
    snapshot_or_fallback,
    webcam_snapshot,
    write_image,
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
    spy = det._cascade = SpyCascade(det._cascade)
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


def test_cascade_file_problems(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nothing.xml"):
        FaceDetector(cascade_path=tmp_path / "nothing.xml")
    (tmp_path / "empty.xml").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.xml.*empty"):
        FaceDetector(cascade_path=tmp_path / "empty.xml")
    (tmp_path / "junk.xml").write_text("<opencv_storage><x>1</x></opencv_storage>")
    with pytest.raises(ValueError, match="junk.xml"):
        FaceDetector(cascade_path=tmp_path / "junk.xml")
    monkeypatch.delattr(cv2, "data", raising=False)  # what OpenCV 5 looks like
    with pytest.raises(FileNotFoundError, match="OpenCV 5"):
        FaceDetector()


# ---------------------------------------------------------------------------------------------------- the real photo
def test_astronaut_face_is_found_and_classified(recognizer, model, astronaut):
    results = recognizer(astronaut)
    assert len(results) == 1
    r = results[0]
    assert isinstance(r, FaceResult)
    assert_on_face(r.box)
    assert all(isinstance(v, int) for v in r.box)
    assert list(r.probabilities) == list(EMOTIONS)
    assert r.label == EMOTIONS[r.label_index] and r.label == max(r.probabilities, key=r.probabilities.get)
    assert r.probability == pytest.approx(max(r.probabilities.values()))
    assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # the face went through the shared preprocessing: same numbers as prepare_face + the model
    x, y, w, h = r.box
    expected = np.asarray(model(prepare_face(astronaut[y:y + h, x:x + w])[None], training=False))[0]
    np.testing.assert_allclose([r.probabilities[n] for n in EMOTIONS], expected, atol=1e-6)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["box"] == list(r.box) and d["label"] == r.label and d["label_index"] == r.label_index
    assert d["probabilities"] == pytest.approx(r.probabilities)


def test_annotated_image_is_written_and_readable(recognizer, astronaut, tmp_path):
    results = recognizer.predict(astronaut)
    out = annotate(astronaut, results)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert not np.shares_memory(out, astronaut) and np.array_equal(astronaut, sample_photo())  # input untouched
    x, y, w, h = results[0].box
    color = np.array(rec.COLORS[results[0].label])
    assert (np.abs(out[y + h // 2, x].astype(int) - color) <= 2).all()  # the box's left edge
    assert (out[max(0, y - 20):y, x:x + w] != astronaut[max(0, y - 20):y, x:x + w]).any()  # the label above it
    path = write_image(tmp_path / "annotated.png", out)
    back = cv2.imread(str(path))
    assert back is not None and np.array_equal(back, out)


@pytest.mark.parametrize("kind", ["path", "pil_rgb", "gray", "gray3d", "bgra", "float01", "pil_rgba"])
def test_every_input_form_gives_the_same_face(recognizer, astronaut, tmp_path, kind):
    reference = recognizer(astronaut)[0]
    if kind == "path":
        p = tmp_path / "astronaut.png"
        cv2.imwrite(str(p), astronaut)
        image = str(p)
    elif kind == "pil_rgb":
        image = Image.fromarray(np.ascontiguousarray(astronaut[:, :, ::-1]))
    elif kind == "pil_rgba":
        image = Image.fromarray(np.ascontiguousarray(astronaut[:, :, ::-1])).convert("RGBA")
    elif kind == "gray":
        image = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    elif kind == "gray3d":
        image = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)[:, :, None]
    elif kind == "bgra":
        image = cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)
    else:
        image = astronaut.astype(np.float32) / 255.0
    (result,) = recognizer(image)
    assert result.box == reference.box
    np.testing.assert_allclose(list(result.probabilities.values()), list(reference.probabilities.values()),
                               atol=2e-3)  # the same up to gray-conversion rounding
    drawn = annotate(image, [result])
    assert drawn.shape == (*astronaut.shape[:2], 3) and drawn.dtype == np.uint8


def test_pil_rgb_is_not_read_as_bgr(recognizer, astronaut):
    """A PIL image is RGB: it must be converted, not fed as if it were BGR (which changes the gray values)."""
    pil = Image.fromarray(np.ascontiguousarray(astronaut[:, :, ::-1]))
    assert np.array_equal(load_image(pil), astronaut)
    wrong = np.ascontiguousarray(astronaut[:, :, ::-1])  # RGB data passed as BGR
    assert not np.array_equal(prepare_face(load_image(pil)), prepare_face(wrong))


def test_no_face_is_an_empty_list(recognizer):
    assert recognizer(np.full((240, 320, 3), 128, np.uint8)) == []
    assert recognizer.classify(np.zeros((10, 10), np.uint8), np.zeros((0, 4))) == []
    assert np.array_equal(annotate(np.full((20, 20), 7, np.uint8), []), np.full((20, 20, 3), 7, np.uint8))


def test_bad_image_inputs(recognizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        recognizer(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.jpg.*empty"):
        recognizer(str(tmp_path / "empty.jpg"))
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match="notes.jpg.*cv2.imread returned None"):
        recognizer(str(tmp_path / "notes.jpg"))
    with pytest.raises(ValueError, match="shape"):
        recognizer(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        recognizer(np.zeros((0, 5, 3), np.uint8))


def test_very_large_image_is_detected_downscaled_and_mapped_back(recognizer, astronaut):
    big = cv2.resize(astronaut, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    spy = SpyCascade(recognizer.detector._cascade)
    recognizer.detector._cascade = spy
    try:
        results = recognizer(big)
    finally:
        recognizer.detector._cascade = spy.cascade
    assert max(spy.calls[0][0]) == rec.DEFAULT_MAX_SIDE  # detection ran on a 1280 px copy
    k = 8000 / 512
    face = tuple(round(v * k) for v in FACE)
    best = max(results, key=lambda r: iou(r.box, face))
    assert_on_face(best.box, face)  # boxes are in the 8000 px image's coordinates
    assert all(0 <= r.box[0] and r.box[0] + r.box[2] <= 8000 and r.box[1] + r.box[3] <= 8000 for r in results)


def test_model_from_a_file_and_the_model_itself_agree(model, astronaut, tmp_path):
    from fer_helpers.saving import save_model

    path = save_model(model, tmp_path / "tiny.keras")
    loaded = EmotionRecognizer(str(path))(astronaut)
    direct = EmotionRecognizer(model)(astronaut)
    assert [r.box for r in loaded] == [r.box for r in direct] and loaded
    np.testing.assert_allclose(list(loaded[0].probabilities.values()), list(direct[0].probabilities.values()),
                               atol=1e-5)


def test_tta_averages_with_the_mirror_image(model, astronaut):
    plain = EmotionRecognizer(model)(astronaut)[0]
    tta = EmotionRecognizer(model, tta=True)(astronaut)[0]
    x, y, w, h = plain.box
    expected = predict_proba(model, [astronaut[y:y + h, x:x + w]], tta=True)[0]
    np.testing.assert_allclose([tta.probabilities[n] for n in EMOTIONS], expected, atol=1e-6)


def test_default_model_path(monkeypatch, model, astronaut):
    monkeypatch.delattr(fer_helpers, "pretrained", raising=False)
    monkeypatch.setitem(sys.modules, "fer_helpers.pretrained", None)  # as if the module did not exist
    with pytest.raises(FileNotFoundError, match="pretrained.*model file"):
        EmotionRecognizer()
    broken = types.ModuleType("fer_helpers.pretrained")
    broken.load_pretrained = lambda: (_ for _ in ()).throw(RuntimeError("weights checksum mismatch"))
    monkeypatch.setitem(sys.modules, "fer_helpers.pretrained", broken)
    monkeypatch.setattr(fer_helpers, "pretrained", broken, raising=False)
    with pytest.raises(ValueError, match="checksum mismatch"):
        EmotionRecognizer()
    working = types.ModuleType("fer_helpers.pretrained")
    working.load_pretrained = lambda: model
    monkeypatch.setitem(sys.modules, "fer_helpers.pretrained", working)
    monkeypatch.setattr(fer_helpers, "pretrained", working, raising=False)
    assert EmotionRecognizer().model is model


# ------------------------------------------------------------------------------------------------------------- drawing
def test_emoji_is_drawn_when_a_font_has_it_and_skipped_otherwise(monkeypatch, astronaut):
    face = sample_result(label_index=3)  # Happy
    with_emoji = annotate(astronaut, [face], emoji=True)
    without = annotate(astronaut, [face], emoji=False)
    fonts = [p for p, covered in rec.emoji_fonts() if face.emoji in covered]
    assert (not np.array_equal(with_emoji, without)) == bool(fonts)
    # no emoji font at all: no error, and the text label is still there
    monkeypatch.setattr(rec, "emoji_fonts", lambda: ())
    rec._emoji_sprite.cache_clear()
    try:
        no_font = annotate(astronaut, [face], emoji=True)
    finally:
        rec._emoji_sprite.cache_clear()
    assert np.array_equal(no_font, without)
    assert not np.array_equal(no_font, astronaut)


def sample_result(label_index=3, box=(177, 67, 93, 93)) -> FaceResult:
    probs = np.full(7, 0.05)
    probs[label_index] = 0.7
    return FaceResult(box=box, label=EMOTIONS[label_index], label_index=label_index,
                      probability=0.7, probabilities=dict(zip(EMOTIONS, probs)))


# --------------------------------------------------------------------------------------------------------------- video
def write_video(path, frames=12, size=(480, 360), fps=10.0):
    """A synthetic clip: the astronaut portrait drifting right across a gray background."""
    w, h = size
    face = cv2.resize(sample_photo(), (h, h), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        canvas = np.full((h, w, 3), 100, np.uint8)
        canvas[:, 20 + 6 * i: 20 + 6 * i + h] = face
        writer.write(canvas)
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4")


def test_process_video_writes_annotated_video(model, clip, tmp_path):
    recognizer = EmotionRecognizer(model)
    calls = []
    detect = recognizer.detector.detect
    recognizer.detector.detect = lambda image: calls.append(1) or detect(image)
    seen = []
    stats = process_video(clip, output=tmp_path / "out" / "annotated.mp4", every_n=3, show=None,
                          recognizer=recognizer, on_frame=lambda i, frame, results: seen.append((i, frame, results)))
    assert stats["frames"] == 12 and stats["classified_frames"] == 4 and len(calls) == 4
    assert stats["faces"] >= 3  # the face is found on (nearly) every classified frame
    assert stats["fps"] > 0 and stats["elapsed_s"] > 0 and stats["source_fps"] == pytest.approx(10.0)
    assert stats["size"] == (480, 360)
    # frames between classified ones reuse the last results
    for i, _, results in seen:
        assert results is seen[i - i % 3][2]
    # the boxes follow the face as it drifts right (6 px per frame, face 360/512 of the portrait's scale)
    k = 360 / 512
    for i, _, results in seen[::3]:
        face = (round(20 + 6 * i + FACE[0] * k), round(FACE[1] * k), round(FACE[2] * k), round(FACE[3] * k))
        if results:
            assert iou(results[0].box, face) >= 0.4
    # the FPS counter is drawn on every frame: a black box with green text in the top-left corner
    for _, frame, _ in seen:
        corner = frame[:20, :60]
        assert (corner[:, :, 1] > 150).any() and (corner.sum(axis=2) == 0).any()
    cap = cv2.VideoCapture(stats["output"])
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (360, 480, 3)
        n += 1
    cap.release()
    assert n == 12


def test_process_video_with_tracking_and_max_frames(model, clip):
    recognizer = EmotionRecognizer(model)
    stats = recognizer.process_video(clip, max_frames=8, track=True, show=False)
    assert stats["frames"] == 8 and stats["classified_frames"] == 8 and stats["output"] is None
    assert stats["faces"] >= 7
    assert isinstance(recognizer.detector, FaceDetector)  # the tracker was only for this call


def test_face_tracker_searches_fully_only_every_n_frames(astronaut):
    tracker = FaceTracker(FaceDetector(), redetect_every=4)
    boxes = [tracker.detect(np.roll(astronaut, i, axis=1)) for i in range(8)]
    assert tracker.full_searches == 2  # frames 0 and 4
    for i, b in enumerate(boxes):
        assert len(b) == 1
        assert_on_face(b[0], (FACE[0] + i, *FACE[1:]))
    assert len(tracker.detect(np.full((300, 300), 90, np.uint8))) == 0  # face gone: full search, nothing found


def test_video_errors(model, tmp_path):
    recognizer = EmotionRecognizer(model)
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        process_video(tmp_path / "nope.mp4", recognizer=recognizer)
    (tmp_path / "fake.mp4").write_text("not a video")
    with pytest.raises(ValueError, match="fake.mp4"):
        process_video(tmp_path / "fake.mp4", recognizer=recognizer)
    with pytest.raises(OSError, match="camera 99"):
        process_video(99, recognizer=recognizer)
    with pytest.raises(ValueError, match="every_n"):
        process_video(tmp_path / "fake.mp4", every_n=0, recognizer=recognizer)


def test_display_detection(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert rec.display_available() is False
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(rec, "_opencv_has_gui", lambda: False)  # opencv-python-headless
    assert rec.display_available() is False
    monkeypatch.setattr(rec, "_opencv_has_gui", lambda: True)
    assert rec.display_available() is True


# --------------------------------------------------------------------------------------------------------------- Colab
def test_snapshot_falls_back_to_the_astronaut_outside_colab(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", None)  # not in Colab, even if the package is installed
    image = snapshot_or_fallback()
    assert "not running in Google Colab" in capsys.readouterr().out
    from skimage import data

    assert np.array_equal(image[:, :, ::-1], data.astronaut())  # converted to BGR


def test_snapshot_falls_back_to_an_uploaded_image(capsys, monkeypatch, tmp_path, astronaut):
    monkeypatch.setitem(sys.modules, "google.colab", None)
    upload = tmp_path / "upload.png"
    cv2.imwrite(str(upload), astronaut[:100, :200])
    image = snapshot_or_fallback(fallback=upload)
    assert "upload.png" in capsys.readouterr().out
    assert np.array_equal(image, astronaut[:100, :200])


def fake_colab(monkeypatch, eval_js):
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    output = types.ModuleType("google.colab.output")
    output.eval_js = eval_js
    google.colab, colab.output = colab, output
    for name, module in (("google", google), ("google.colab", colab), ("google.colab.output", output)):
        monkeypatch.setitem(sys.modules, name, module)


def test_webcam_snapshot_in_colab(monkeypatch, tmp_path, capsys):
    photo = np.zeros((60, 80, 3), np.uint8)
    photo[:, :40] = (255, 0, 0)  # blue left half (BGR)
    ok, jpeg = cv2.imencode(".jpg", photo)
    asked = []

    def eval_js(code):
        asked.append(code)
        return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode()

    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    fake_colab(monkeypatch, eval_js)
    path = webcam_snapshot(tmp_path / "cam.jpg", quality=0.5)
    # the page first gets the JavaScript that defines takePhoto, then the call that runs it
    assert len(shown) == 1 and isinstance(shown[0], IPython.display.Javascript)
    script = shown[0].data
    assert "async function takePhoto(quality)" in script and "getUserMedia({video: true})" in script
    assert "return canvas.toDataURL('image/jpeg', quality);" in script and "getVideoTracks()[0].stop()" in script
    assert asked == ["takePhoto(0.5)"]
    assert path.read_bytes() == jpeg.tobytes()
    image = snapshot_or_fallback(tmp_path / "cam2.jpg")
    assert image.shape == (60, 80, 3) and image[30, 10, 0] > 200 and image[30, 70, 0] < 50
    assert "astronaut" not in capsys.readouterr().out


def test_webcam_failure_in_colab_falls_back(monkeypatch, tmp_path, capsys):
    def eval_js(code):
        raise RuntimeError("NotAllowedError: Permission denied")

    fake_colab(monkeypatch, eval_js)
    image = snapshot_or_fallback(tmp_path / "cam.jpg")
    out = capsys.readouterr().out
    assert "Permission denied" in out and "astronaut" in out
    assert image.shape == (512, 512, 3)


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
    for name in ("astronaut_annotated.jpg", "blank_annotated.png"):
        image = cv2.imread(str(out_dir / name))
        assert image is not None
    assert cv2.imread(str(out_dir / "astronaut_annotated.jpg")).shape == astronaut.shape


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
