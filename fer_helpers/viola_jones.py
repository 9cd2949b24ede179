"""The Viola-Jones face detector taken apart, in NumPy, and figures of what ``detectMultiScale``'s settings do.

:func:`load_haar_cascade` reads OpenCV's frontal-face Haar cascade into arrays, :func:`rect_sum` adds up a rectangle in
four look-ups of an :func:`integral_image`, :func:`pyramid_levels` lists the image pyramid ``detectMultiScale``
searches, and :func:`scan_image` runs the whole cascade over every window, finding exactly the windows of OpenCV's
``detectMultiScale(..., minNeighbors=0)``. :func:`detection_comparison_figure` and :func:`detection_explorer` show the
detections of :class:`~fer_helpers.faces.FaceDetector` for several settings.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import cv2
import numpy as np

from .faces import FaceDetector, default_cascade_path, gray_uint8, images_figure, to_bgr
from .plotting import subplots

#: Colour of the raw detector windows (BGR and RGB alike): magenta stands out on skin, sky and an orange spacesuit.
RAW_BOX_COLOR = (230, 0, 230)


# ----------------------------------------------------------------------------------------------------------- cascade
@dataclasses.dataclass(frozen=True)
class HaarStage:
    """One stage of a cascade: stump ``i`` votes ``left[i]`` when Haar feature ``feature[i]`` (normalised) is below
    ``split[i]``, else ``right[i]``; a window passes when the votes add up to at least ``threshold``."""

    threshold: float
    feature: np.ndarray
    split: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.feature)


@dataclasses.dataclass(frozen=True)
class HaarCascade:
    """A boosted cascade of Haar-feature stumps: the base ``window`` (width, height), one ``(k, 5)`` array of
    rectangles ``(x, y, w, h, weight)`` per feature, and the :class:`HaarStage` list, cheapest first."""

    window: tuple[int, int]
    features: tuple[np.ndarray, ...]
    stages: tuple[HaarStage, ...]
    name: str = ""

    @property
    def n_stumps(self) -> int:
        return sum(len(s) for s in self.stages)

    def __repr__(self) -> str:
        return (f"HaarCascade({self.name!r}: {self.window[0]}x{self.window[1]} window, {len(self.stages)} stages, "
                f"{self.n_stumps:,} stumps on {len(self.features):,} features)")


def load_haar_cascade() -> HaarCascade:
    """Read OpenCV's frontal-face Haar cascade (:func:`~fer_helpers.faces.default_cascade_path`) into arrays."""
    path = default_cascade_path()
    cascade = ET.parse(path).getroot().find("cascade")
    features = [np.array([r.text.split() for r in f.find("rects")], dtype=float) for f in cascade.find("features")]
    return HaarCascade((int(cascade.findtext("width")), int(cascade.findtext("height"))), tuple(features),
                       tuple(read_stage(stage) for stage in cascade.find("stages")), path.name)


def read_stage(stage: ET.Element) -> HaarStage:
    """One ``<stages>`` entry of a cascade file (single-split stumps) as a :class:`HaarStage`."""
    nodes = np.array([w.findtext("internalNodes").split() for w in stage.find("weakClassifiers")], dtype=float)
    leaves = np.array([w.findtext("leafValues").split() for w in stage.find("weakClassifiers")], dtype=float)
    return HaarStage(float(stage.findtext("stageThreshold")), nodes[:, 2].astype(int), nodes[:, 3], leaves[:, 0],
                     leaves[:, 1])


def integral_image(gray) -> np.ndarray:
    """The integral image (summed-area table) with a zero row and column in front, as float64 (``cv2.integral``)."""
    return np.pad(np.asarray(gray, dtype=np.float64).cumsum(axis=0).cumsum(axis=1), ((1, 0), (1, 0)))


def rect_sum(ii, x, y, w, h):
    """Sum of the ``w`` x ``h`` pixels whose top-left pixel is ``(x, y)``, from an integral image in 4 look-ups
    (``x`` and ``y`` may be arrays)."""
    return ii[y + h, x + w] - ii[y, x + w] - ii[y + h, x] + ii[y, x]


# ----------------------------------------------------------------------------------------------------------- the scan
@dataclasses.dataclass(frozen=True)
class PyramidLevel:
    """One level of ``detectMultiScale``'s pyramid: the image shrunk by ``factor`` to ``size``, the base window moved
    ``step`` pixels at a time over ``positions`` places; in the original image a window covers ``window`` x
    ``window_height`` pixels."""

    factor: float
    window: int
    size: tuple[int, int]
    step: int
    positions: int
    window_height: int


def pyramid_levels(image_size, scale_factor: float = 1.1, min_size=(0, 0), window=(24, 24)) -> list[PyramidLevel]:
    """The pyramid OpenCV 4's ``detectMultiScale`` searches for an image of ``image_size`` (width, height)."""
    width, height = (int(v) for v in image_size)
    levels, factor = [], 1.0
    while round(window[0] * factor) <= width and round(window[1] * factor) <= height:
        if round(window[0] * factor) >= min_size[0] and round(window[1] * factor) >= min_size[1]:
            f32 = float(np.float32(factor))  # OpenCV keeps the scales as float
            size, step = (round(width / f32), round(height / f32)), 1 if f32 >= 2 else 2
            positions = len(range(0, size[0] - window[0] + 1, step)) * len(range(0, size[1] - window[1] + 1, step))
            levels.append(PyramidLevel(f32, round(window[0] * f32), size, step, positions, round(window[1] * f32)))
        factor *= scale_factor
    return levels


@dataclasses.dataclass
class CascadeScan:
    """What :func:`scan_image` found: ``hits``, the boxes of the windows that passed every stage; the pyramid
    ``levels``; ``windows`` evaluated; ``reached[k]``, the windows that passed at least ``k`` stages; and the weak
    classifiers evaluated in all."""

    hits: np.ndarray
    levels: list
    windows: int
    reached: np.ndarray
    stumps_evaluated: int


def stage_passed(stage: HaarStage, features, ii: np.ndarray, xs, ys, inv_norm) -> np.ndarray:
    """Which windows (top-left corners ``xs``, ``ys`` in the integral image ``ii``) pass ``stage``."""
    votes = np.zeros(np.shape(xs))
    for f, split, left, right in zip(stage.feature, stage.split, stage.left, stage.right):
        value = sum(weight * rect_sum(ii, xs + int(x), ys + int(y), int(w), int(h))
                    for x, y, w, h, weight in features[f].tolist())
        votes += np.where(value * inv_norm < split, left, right)
    return votes >= stage.threshold


def window_contrast(ii, sq, xs, ys, window) -> tuple[np.ndarray, np.ndarray]:
    """Per window: the factor that normalises its feature values (1 / (standard deviation x area) of its inner part)
    and whether it has the contrast (a standard deviation above 10 gray levels) OpenCV asks for."""
    w, h = window[0] - 2, window[1] - 2
    s = rect_sum(ii, xs + 1, ys + 1, w, h)
    nf = w * h * rect_sum(sq, xs + 1, ys + 1, w, h) - s * s
    inv_norm = np.where(nf > 0, 1.0 / np.sqrt(np.maximum(nf, 1e-12)), 1.0)
    return inv_norm, (nf > 0) & (w * h * inv_norm < 0.1)


def opencv_skips(first: np.ndarray, textured: np.ndarray) -> np.ndarray:
    """The positions OpenCV tries: textured ones, except the position after each stage-1 rejection in its row."""
    tried = textured.copy()
    for i in range(1, tried.shape[1]):
        tried[:, i] &= ~(tried[:, i - 1] & ~first[:, i - 1])
    return tried


def scan_level(small: np.ndarray, level: PyramidLevel, cascade: HaarCascade, scan: CascadeScan) -> list:
    """The boxes of the windows of one pyramid level that pass every stage; adds its counts to ``scan``."""
    ii, sq = cv2.integral2(small, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
    ys, xs = np.mgrid[0:small.shape[0] - cascade.window[1] + 1:level.step,
                      0:small.shape[1] - cascade.window[0] + 1:level.step]
    inv_norm, textured = window_contrast(ii, sq, xs, ys, cascade.window)
    passed = stage_passed(cascade.stages[0], cascade.features, ii, xs, ys, inv_norm)
    tried = opencv_skips(passed, textured)
    xs, ys, inv_norm, passed = xs[tried], ys[tried], inv_norm[tried], passed[tried]
    scan.windows += len(xs)
    for k, stage in enumerate(cascade.stages):
        if len(xs) == 0:
            break
        passed = passed if k == 0 else stage_passed(stage, cascade.features, ii, xs, ys, inv_norm)
        scan.reached[k] += len(xs)
        scan.stumps_evaluated += len(xs) * len(stage)
        xs, ys, inv_norm = xs[passed], ys[passed], inv_norm[passed]
    scan.reached[-1] += len(xs)
    return [(round(x * level.factor), round(y * level.factor), level.window, level.window_height)
            for x, y in zip(xs.tolist(), ys.tolist())]


def scan_image(image, cascade: HaarCascade, scale_factor: float = 1.1, min_size=(0, 0)) -> CascadeScan:
    """Run a Haar cascade over every window of every pyramid level, as OpenCV 4's ``detectMultiScale`` does; its
    ``hits`` are the windows of ``detectMultiScale(gray, scale_factor, minNeighbors=0, minSize=min_size)``."""
    gray = gray_uint8(image)
    levels = pyramid_levels(gray.shape[::-1], scale_factor, min_size, cascade.window)
    scan = CascadeScan(None, levels, 0, np.zeros(len(cascade.stages) + 1, np.int64), 0)
    hits = [hit for level in levels for hit in scan_level(
        cv2.resize(gray, level.size, interpolation=cv2.INTER_LINEAR_EXACT), level, cascade, scan)]
    scan.hits = np.array(sorted(hits), dtype=int).reshape(-1, 4)
    return scan


# ----------------------------------------------------------------------------------------------------------- figures
def feature_pattern(cascade: HaarCascade, stage: int, index: int) -> np.ndarray:
    """Where stump ``index`` of ``stage`` expects a face to be brighter (+1) or darker (-1) than the rest (0: not
    looked at), as a ``(height, width)`` array over the window."""
    st = cascade.stages[stage]
    weights = np.zeros(cascade.window[::-1])
    for x, y, w, h, weight in cascade.features[st.feature[index]].tolist():
        weights[int(y):int(y + h), int(x):int(x + w)] += weight
    return np.sign(weights) * (1.0 if st.right[index] > st.left[index] else -1.0)  # right: values >= split


def haar_features_figure(window, cascade: HaarCascade, stage: int = 0, n: int = 6):
    """The first ``n`` features of ``stage`` drawn on a face ``window`` shrunk to the cascade's window: white where a
    face should be brighter, black where darker; titled with the stump's votes."""
    face = cv2.resize(gray_uint8(window), cascade.window, interpolation=cv2.INTER_AREA).astype(float)
    st = cascade.stages[stage]
    patterns = [feature_pattern(cascade, stage, i) for i in range(min(n, len(st)))]
    shown = [np.where(p > 0, 0.45 * face + 140, np.where(p < 0, 0.45 * face, face)).astype(np.uint8) for p in patterns]
    fig = images_figure(shown, [f"feature {st.feature[i]}\nvotes {max(st.left[i], st.right[i]):+.1f} / "
                               f"{min(st.left[i], st.right[i]):+.1f}" for i in range(len(shown))], ncols=n, width=1.75)
    fig.suptitle(f"stage {stage + 1}, first {len(patterns)} of {len(st)} features: a face is brighter in white, "
                 "darker in black", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def cascade_funnel_figure(scan: CascadeScan, title: str | None = None):
    """Windows still in the race after each stage (log scale): the cascade's attentional funnel."""
    fig, ax = subplots(figsize=(8, 3))
    stages = np.arange(len(scan.reached))
    ax.bar(stages, np.maximum(scan.reached, 0.8), color="#4c72b0")
    ax.set(yscale="log", xlabel="stages passed", ylabel="windows", xticks=stages[::2])
    ax.set_title(title or f"{scan.windows:,} windows in, {len(scan.hits)} out")
    fig.tight_layout()
    return fig


def draw_boxes(image, boxes, color=(0, 200, 0), thickness: int = 2) -> np.ndarray:
    """A BGR copy of ``image`` with ``(x, y, w, h)`` boxes drawn in ``color`` (BGR)."""
    canvas = to_bgr(image)
    for x, y, w, h in np.asarray(boxes, dtype=int).reshape(-1, 4).tolist():
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, thickness, cv2.LINE_AA)
    return canvas


def detection_comparison_figure(image, settings, ncols: int = 3):
    """One panel per ``FaceDetector`` setting (a dict of its arguments): its raw windows (``min_neighbors=0``) thin
    in magenta, the faces it returns in green."""
    pictures, titles = [], []
    for detector in (FaceDetector(**setting) for setting in settings):
        faces = detector.detect(image)
        raw = FaceDetector(detector.scale_factor, 0, detector.min_size, detector.max_side).detect(image)
        pictures.append(draw_boxes(draw_boxes(image, raw, RAW_BOX_COLOR, 1), faces))
        titles.append(f"scaleFactor={detector.scale_factor:g}, minNeighbors={detector.min_neighbors}\nminSize="
                      f"{detector.min_size[0]}: {len(faces)} face{'' if len(faces) == 1 else 's'} ({len(raw)} raw)")
    fig = images_figure(pictures, titles, ncols=ncols, width=4)
    for ax in fig.axes:
        ax.title.set_fontsize(12)
    return fig


def detection_explorer(image, width: int = 420):
    """ipywidgets sliders for ``scaleFactor``, ``minNeighbors`` and ``minSize`` over a picture of the detections
    (raw windows magenta, faces green) and a line saying what was found and how long it took; a ``VBox``."""
    import time

    import ipywidgets as widgets

    bgr = to_bgr(image)
    slider = dict(style={"description_width": "110px"}, layout=widgets.Layout(width="440px"), continuous_update=False)
    controls = {"scale_factor": widgets.FloatSlider(1.1, min=1.01, max=1.6, step=0.01, description="scaleFactor",
                                                    **slider),
                "min_neighbors": widgets.IntSlider(5, min=0, max=20, description="minNeighbors", **slider),
                "min_size": widgets.IntSlider(48, min=10, max=min(bgr.shape[:2]), step=2, description="minSize (px)",
                                              **slider)}
    picture, status = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{width}px")), widgets.HTML()

    def update(change=None):
        size = controls["min_size"].value
        setting = dict(scale_factor=controls["scale_factor"].value, min_neighbors=controls["min_neighbors"].value,
                       min_size=(size, size))
        start = time.perf_counter()
        boxes = FaceDetector(**setting).detect(bgr)
        ms = (time.perf_counter() - start) * 1000
        raw = FaceDetector(**{**setting, "min_neighbors": 0}).detect(bgr)
        canvas = draw_boxes(draw_boxes(bgr, raw, RAW_BOX_COLOR, 1), boxes, thickness=3)
        if canvas.shape[1] > width:  # send no more pixels than are shown
            canvas = cv2.resize(canvas, (width, round(canvas.shape[0] * width / canvas.shape[1])),
                                interpolation=cv2.INTER_AREA)
        picture.value = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
        status.value = (f"<b>{len(boxes)}</b> face{'s' if len(boxes) != 1 else ''} from <b>{len(raw)}</b> raw "
                        f"windows; detection took {ms:.0f} ms")

    for control in controls.values():
        control.observe(update, names="value")
    box = widgets.VBox([*controls.values(), picture, status])
    box.controls = controls
    update()
    return box
