"""The tools of notebooks 7 and 8: the lesson model's fallbacks, the NumPy Viola-Jones scan (checked against
OpenCV window for window), the detection figures and explorer, the demo video and the .keras archive listing."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fer_helpers import lesson_tools as lt  # noqa: E402
from fer_helpers.data import FERData  # noqa: E402
from fer_helpers.recognizer import FaceDetector, default_cascade_path, sample_photo  # noqa: E402

#: Where the face is in skimage.data.astronaut() (512x512): x 170-260, y 60-170 (as in test_recognizer.py).
FACE = (170, 60, 90, 110)


@pytest.fixture(scope="module")
def cascade():
    return lt.load_haar_cascade()


@pytest.fixture(scope="module")
def photo():
    return sample_photo()


def opencv_raw(image, scale_factor, min_size):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    found = cv2.CascadeClassifier(str(default_cascade_path())).detectMultiScale(
        gray, scaleFactor=scale_factor, minNeighbors=0, minSize=min_size)
    return sorted(map(tuple, np.asarray(found, dtype=int).reshape(-1, 4).tolist()))


# ------------------------------------------------------------------------------------------------------------ cascade
def test_cascade_file_is_read_completely(cascade):
    assert cascade.window == (24, 24)
    assert len(cascade.stages) == 25
    assert cascade.n_stumps == 2913 == len(cascade.features)
    assert [len(s) for s in cascade.stages[:3]] == [9, 16, 27]
    assert all(f.shape[1] == 5 and 2 <= f.shape[0] <= 3 for f in cascade.features)
    # every feature is a difference: its weighted rectangle areas add up to zero
    assert all(abs(float((f[:, 2] * f[:, 3] * f[:, 4]).sum())) < 1e-6 for f in cascade.features)
    assert "25 stages" in repr(cascade)


def test_cascade_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        lt.load_haar_cascade(tmp_path / "missing.xml")
    (tmp_path / "broken.xml").write_text("<opencv_storage><cascade>")
    with pytest.raises(ValueError, match="not an XML file"):
        lt.load_haar_cascade(tmp_path / "broken.xml")
    (tmp_path / "lbp.xml").write_text("<opencv_storage><cascade><featureType>LBP</featureType></cascade>"
                                      "</opencv_storage>")
    with pytest.raises(ValueError, match="Haar cascade"):
        lt.load_haar_cascade(tmp_path / "lbp.xml")


def test_integral_image_and_rectangle_sums():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(30, 41), dtype=np.uint8)
    ii = lt.integral_image(image)
    assert ii.shape == (31, 42)
    np.testing.assert_array_equal(ii, cv2.integral(image))
    for _ in range(50):
        x, y = rng.integers(0, 35), rng.integers(0, 25)
        w, h = rng.integers(1, 42 - x), rng.integers(1, 31 - y)
        assert lt.rect_sum(ii, x, y, w, h) == image[y:y + h, x:x + w].sum()
    xs, ys = np.array([0, 5, 10]), np.array([0, 2, 4])
    np.testing.assert_array_equal(lt.rect_sum(ii, xs, ys, 4, 3),
                                  [image[y:y + 3, x:x + 4].sum() for x, y in zip(xs, ys)])
    with pytest.raises(ValueError, match="2-D"):
        lt.integral_image(np.zeros((4, 4, 3)))


def test_pyramid_levels_follow_opencvs_rules():
    levels = lt.pyramid_levels((512, 512), 1.1)
    assert levels[0].factor == 1.0 and levels[0].window == 24 and levels[0].size == (512, 512)
    assert levels[0].step == 2 and levels[0].positions == 245 * 245  # x = 0, 2, ..., 488 (488 + 24 = 512)
    assert all(b.factor > a.factor for a, b in zip(levels, levels[1:]))
    assert levels[-1].window <= 512 < round(levels[-1].window * 1.1) + 1
    assert all(lv.step == (1 if lv.factor >= 2 else 2) for lv in levels)
    big = lt.pyramid_levels((512, 512), 1.1, min_size=(48, 48))
    assert big[0].window >= 48 and len(big) < len(levels)
    assert len(lt.pyramid_levels((512, 512), 1.3)) < len(levels)
    assert lt.pyramid_levels((512, 512), 1.1, max_size=(60, 60))[-1].window <= 60
    with pytest.raises(ValueError, match="scale_factor"):
        lt.pyramid_levels((100, 100), 1.0)


@pytest.mark.parametrize("name,scale_factor,min_size", [
    ("astronaut", 1.1, (48, 48)),
    ("astronaut", 1.3, (0, 0)),
    ("camera", 1.2, (30, 30)),
    ("coffee", 1.1, (24, 24)),
])
def test_numpy_scan_finds_exactly_opencvs_raw_windows(name, scale_factor, min_size, cascade):
    from skimage import data

    image = getattr(data, name)()
    image = image[:, :, ::-1].copy() if image.ndim == 3 else image
    scan = lt.scan_image(image, cascade, scale_factor, min_size)
    assert sorted(map(tuple, scan.hits.tolist())) == opencv_raw(image, scale_factor, min_size)
    assert scan.reached[0] == scan.windows and scan.reached[-1] == len(scan.hits)
    assert np.all(np.diff(scan.reached) <= 0)
    assert len(cascade.stages[0]) <= scan.stumps_per_window < cascade.n_stumps / 10


def test_scan_finds_the_astronauts_face_and_reports(photo, cascade):
    scan = lt.scan_image(photo, cascade, 1.1, (48, 48))
    x, y, w, h = FACE
    centres = scan.hits[:, :2] + scan.hits[:, 2:] / 2
    on_face = (centres[:, 0] > x) & (centres[:, 0] < x + w) & (centres[:, 1] > y) & (centres[:, 1] < y + h)
    assert on_face.sum() >= 20
    text = scan.summary()
    assert "windows evaluated" in text and f"passed all 25 stages: {len(scan.hits)}" in text
    assert len(scan.levels) == len(lt.pyramid_levels((512, 512), 1.1, (48, 48)))


def test_feature_pattern_of_the_first_feature_is_the_dark_eye_band(cascade):
    pattern = lt.feature_pattern(cascade, 0, 0)
    assert pattern.shape == (24, 24) and set(np.unique(pattern)) <= {-1.0, 0.0, 1.0}
    # feature 0: rectangle (6, 4, 12, 9) weight -1 and its middle band (6, 7, 12, 3) weight 3; a face has the band
    # (the eyes) darker than the strips above and below it
    assert (pattern[7:10, 6:18] == -1).all() and (pattern[4:7, 6:18] == 1).all() and (pattern[10:13, 6:18] == 1).all()
    assert (pattern[:4] == 0).all()


# ------------------------------------------------------------------------------------------------------------ figures
def test_figures(photo, cascade):
    x, y, w, h = FaceDetector().detect(photo)[0]
    scan = lt.scan_image(photo, cascade, 1.3, (60, 60))
    figures = [
        lt.haar_features_figure(photo[y:y + h, x:x + w], cascade, n=4),
        lt.cascade_funnel_figure(scan),
        lt.detection_comparison_figure(photo, [dict(), dict(min_neighbors=0, scale_factor=1.3)], ncols=2),
        lt.images_figure([photo, photo[:100]], titles=["a", "b"]),
    ]
    assert len(figures[0].axes) == 4
    assert "2 faces" not in figures[2].axes[0].get_title() and "1 face" in figures[2].axes[0].get_title()
    for fig in figures:
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        lt.detection_comparison_figure(photo, [])
    with pytest.raises(ValueError, match="no images"):
        lt.images_figure([])
    with pytest.raises(ValueError, match="titles"):
        lt.images_figure([photo], titles=["a", "b"])


def test_draw_boxes_draws_in_rgb(photo):
    canvas = lt.draw_boxes(photo, [(10, 10, 20, 20)], color=(255, 0, 0), thickness=1)
    assert canvas.shape == photo.shape
    r, g, b = (int(v) for v in canvas[10, 15])
    assert r > 200 and g < 60 and b < 60
    np.testing.assert_array_equal(canvas[200:300, 200:300], photo[200:300, 200:300, ::-1])


def test_detection_explorer_redraws_on_slider_changes(photo):
    import ipywidgets

    explorer = lt.detection_explorer(photo)
    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.children[3].value[:2] == b"\xff\xd8"  # JPEG
    assert "<b>1</b> face from" in explorer.children[4].value
    explorer.controls["min_neighbors"].value = 0
    assert "<b>44</b> faces from <b>44</b>" in explorer.children[4].value
    explorer.controls["min_size"].value = 200
    assert "<b>0</b> faces" in explorer.children[4].value


# ------------------------------------------------------------------------------------------------------------- video
def test_demo_video_pans_to_the_face(tmp_path):
    path = lt.make_demo_video(tmp_path / "clip.avi", frames=12, size=(160, 120), fps=8)
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 12 and frames[0].shape == (120, 160, 3)
    first, last = (FaceDetector(min_size=(20, 20)).detect(f) for f in (frames[0], frames[-1]))
    assert len(first) == 1 and len(last) == 1 and last[0][2] > 1.5 * first[0][2]  # zoomed in on the face
    with pytest.raises(ValueError, match="frames"):
        lt.make_demo_video(tmp_path / "x.mp4", frames=0)
    with pytest.raises(ValueError, match=r"\.mp4"):
        lt.make_demo_video(tmp_path / "x.gif")


# -------------------------------------------------------------------------------------------------- model and saving
@pytest.fixture(scope="module")
def tiny_model():
    from fer_helpers.models import build_tutorial_cnn
    from fer_helpers.training import compile_model

    return compile_model(build_tutorial_cnn(filters=(4, 4, 4), dense_units=8))


@pytest.fixture
def tiny_data(random_faces):
    images, labels, usage = random_faces
    return FERData(images, labels, usage, "random-faces")


def test_archive_listing(tmp_path, tiny_model):
    path = tmp_path / "m.keras"
    tiny_model.save(path)
    names = [name for name, _ in lt.archive_listing(path)]
    assert names == ["config.json", "metadata.json", "model.weights.h5"]
    assert all(size > 0 for _, size in lt.archive_listing(path))
    with pytest.raises(FileNotFoundError):
        lt.archive_listing(tmp_path / "missing.keras")
    (tmp_path / "fake.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        lt.archive_listing(tmp_path / "fake.keras")


def no_pretrained(monkeypatch):
    from fer_helpers import pretrained

    def missing():
        raise FileNotFoundError("no pretrained model in this test")

    monkeypatch.setattr(pretrained, "pretrained_path", missing)


def fake_run(folder, model):
    """A finished training run as notebook 5 leaves it: best model and log, no backup folder."""
    folder.mkdir(parents=True)
    model.save(folder / "best_model.keras")
    (folder / "training_log.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.2,1.9,0.2,1.9\n")
    return folder


def test_best_available_model_prefers_the_pretrained_model(tmp_path, monkeypatch, tiny_model, capsys):
    from fer_helpers import pretrained

    path = tmp_path / "fer_vgg.keras"
    tiny_model.save(path)
    monkeypatch.setattr(pretrained, "pretrained_path", lambda: path)
    found = lt.best_available_model(run_dir=fake_run(tmp_path / "run", tiny_model))
    assert found.source == "pretrained" and "fer_vgg.keras" in capsys.readouterr().out
    assert found.model.optimizer is not None  # compiled: it can be saved with an optimizer or trained further
    model, source = found
    assert source == "pretrained" and model is found.model


def test_best_available_model_falls_back_to_notebook_5(tmp_path, monkeypatch, tiny_model, capsys):
    no_pretrained(monkeypatch)
    found = lt.best_available_model(run_dir=fake_run(tmp_path / "run", tiny_model))
    out = capsys.readouterr().out
    assert found.source == "notebook 5" and "not part of this installation" in out and "notebook 5" in out
    assert found.model.count_params() == tiny_model.count_params()
    uncompiled = lt.best_available_model(run_dir=tmp_path / "run", compile=False, verbose=False)
    assert getattr(uncompiled.model, "optimizer", None) is None
    assert capsys.readouterr().out == ""


def test_best_available_model_says_when_it_trained_a_quick_model(tmp_path, monkeypatch, tiny_model):
    from fer_helpers import notebook

    no_pretrained(monkeypatch)
    calls = []

    def quick(run_dir, data=None, verbose=True):  # stands in for a quick training run
        calls.append(run_dir)
        return notebook.LessonModel(tiny_model, None, tmp_path / "quick", True)

    monkeypatch.setattr(notebook, "lesson5_model", quick)
    found = lt.best_available_model(run_dir=tmp_path / "missing", verbose=False)
    assert found.source == "quick" and "quick" in found.note and calls == [tmp_path / "missing"]


def test_float32_model_switches_mixed_precision_layers(tiny_model):
    import keras

    from fer_helpers.models import build_tutorial_cnn

    assert lt.float32_model(tiny_model) is tiny_model  # already float32: returned unchanged
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in mixed.layers}
    copy = lt.float32_model(mixed)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    faces = np.random.default_rng(0).integers(0, 256, size=(4, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(copy(faces, training=False), mixed(faces, training=False), atol=0.02)
