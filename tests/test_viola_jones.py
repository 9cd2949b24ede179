"""The NumPy Viola-Jones scan (checked against OpenCV window for window), its figures, and the detection figure and
explorer of notebook 7."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fer_helpers import viola_jones as vj  # noqa: E402
from fer_helpers.faces import FaceDetector, default_cascade_path, sample_photo  # noqa: E402

#: Where the face is in skimage.data.astronaut() (512x512): x 170-260, y 60-170 (as in test_faces.py).
FACE = (170, 60, 90, 110)


@pytest.fixture(scope="module")
def cascade():
    return vj.load_haar_cascade()


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


def test_integral_image_and_rectangle_sums():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(30, 41), dtype=np.uint8)
    ii = vj.integral_image(image)
    assert ii.shape == (31, 42)
    np.testing.assert_array_equal(ii, cv2.integral(image))
    for _ in range(50):
        x, y = rng.integers(0, 35), rng.integers(0, 25)
        w, h = rng.integers(1, 42 - x), rng.integers(1, 31 - y)
        assert vj.rect_sum(ii, x, y, w, h) == image[y:y + h, x:x + w].sum()
    xs, ys = np.array([0, 5, 10]), np.array([0, 2, 4])
    np.testing.assert_array_equal(vj.rect_sum(ii, xs, ys, 4, 3),
                                  [image[y:y + 3, x:x + 4].sum() for x, y in zip(xs, ys)])


def test_pyramid_levels_follow_opencvs_rules():
    levels = vj.pyramid_levels((512, 512), 1.1)
    assert levels[0].factor == 1.0 and levels[0].window == 24 and levels[0].size == (512, 512)
    assert levels[0].step == 2 and levels[0].positions == 245 * 245  # x = 0, 2, ..., 488 (488 + 24 = 512)
    assert all(b.factor > a.factor for a, b in zip(levels, levels[1:]))
    assert levels[-1].window <= 512 < round(levels[-1].window * 1.1) + 1
    assert all(lv.step == (1 if lv.factor >= 2 else 2) for lv in levels)
    big = vj.pyramid_levels((512, 512), 1.1, min_size=(48, 48))
    assert big[0].window >= 48 and len(big) < len(levels)
    assert len(vj.pyramid_levels((512, 512), 1.3)) < len(levels)


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
    scan = vj.scan_image(image, cascade, scale_factor, min_size)
    assert sorted(map(tuple, scan.hits.tolist())) == opencv_raw(image, scale_factor, min_size)
    assert scan.reached[0] == scan.windows and scan.reached[-1] == len(scan.hits)
    assert np.all(np.diff(scan.reached) <= 0)
    assert len(cascade.stages[0]) <= scan.stumps_evaluated / scan.windows < cascade.n_stumps / 10


def test_scan_finds_the_astronauts_face_and_reports(photo, cascade):
    scan = vj.scan_image(photo, cascade, 1.1, (48, 48))
    x, y, w, h = FACE
    centres = scan.hits[:, :2] + scan.hits[:, 2:] / 2
    on_face = (centres[:, 0] > x) & (centres[:, 0] < x + w) & (centres[:, 1] > y) & (centres[:, 1] < y + h)
    assert on_face.sum() >= 20
    assert len(scan.hits) == scan.reached[-1] and scan.windows == scan.reached[0] > scan.reached[1]
    assert len(scan.levels) == len(vj.pyramid_levels((512, 512), 1.1, (48, 48)))


def test_feature_pattern_of_the_first_feature_is_the_dark_eye_band(cascade):
    pattern = vj.feature_pattern(cascade, 0, 0)
    assert pattern.shape == (24, 24) and set(np.unique(pattern)) <= {-1.0, 0.0, 1.0}
    # feature 0: rectangle (6, 4, 12, 9) weight -1 and its middle band (6, 7, 12, 3) weight 3; a face has the band
    # (the eyes) darker than the strips above and below it
    assert (pattern[7:10, 6:18] == -1).all() and (pattern[4:7, 6:18] == 1).all() and (pattern[10:13, 6:18] == 1).all()
    assert (pattern[:4] == 0).all()


# ------------------------------------------------------------------------------------------------------------ figures
def test_figures(photo, cascade):
    x, y, w, h = FaceDetector().detect(photo)[0]
    scan = vj.scan_image(photo, cascade, 1.3, (60, 60))
    figures = [
        vj.haar_features_figure(photo[y:y + h, x:x + w], cascade, n=4),
        vj.cascade_funnel_figure(scan),
        vj.detection_comparison_figure(photo, [dict(), dict(min_neighbors=0, scale_factor=1.3)], ncols=2),
    ]
    assert len(figures[0].axes) == 4
    assert "2 faces" not in figures[2].axes[0].get_title() and "1 face" in figures[2].axes[0].get_title()
    for fig in figures:
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        vj.detection_comparison_figure(photo, [])  # no setting: no figure


def test_draw_boxes_draws_on_a_copy(photo):
    canvas = vj.draw_boxes(photo, [(10, 10, 20, 20)], color=(255, 0, 0), thickness=1)
    assert canvas.shape == photo.shape and not np.shares_memory(canvas, photo)
    blue, green, red = (int(v) for v in canvas[10, 15])  # BGR, drawn anti-aliased
    assert blue > 200 and green < 60 and red < 60 and (photo == sample_photo()).all()
    np.testing.assert_array_equal(canvas[200:300, 200:300], photo[200:300, 200:300])


def test_detection_explorer_redraws_on_slider_changes(photo):
    import ipywidgets

    explorer = vj.detection_explorer(photo)
    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.children[3].value[:2] == b"\xff\xd8"  # JPEG
    assert "<b>1</b> face from" in explorer.children[4].value
    explorer.controls["min_neighbors"].value = 0
    assert "<b>44</b> faces from <b>44</b>" in explorer.children[4].value
    explorer.controls["min_size"].value = 200
    assert "<b>0</b> faces" in explorer.children[4].value
