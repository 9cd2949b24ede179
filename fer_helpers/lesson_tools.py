"""Tools for the lessons on photos, webcams and saving (notebooks 7 and 8).

A model for the lessons
    :func:`best_available_model` returns the model the late notebooks classify with: the shipped pretrained model
    when this installation has it, else (through :func:`fer_helpers.notebook.lesson5_model`) the best model of
    notebook 5's training run or a small tutorial CNN trained on the spot. It always says which one it used.

The Viola-Jones detector, taken apart
    :func:`load_haar_cascade` reads an OpenCV Haar-cascade XML file into NumPy arrays, :func:`rect_sum` adds up a
    rectangle of pixels with four look-ups in an integral image, :func:`pyramid_levels` lists the image pyramid
    ``detectMultiScale`` searches, and :func:`scan_image` runs the whole cascade over every window of every pyramid
    level in NumPy, recording how far each window got. On OpenCV 4 it finds exactly the windows that
    ``cv2.CascadeClassifier.detectMultiScale(..., minNeighbors=0)`` returns (``tests/test_lesson_tools.py`` checks
    this), so the lesson can show what OpenCV does inside. :func:`haar_features_figure` and
    :func:`cascade_funnel_figure` draw the features and the stage-by-stage rejection.

``detectMultiScale``'s knobs
    :func:`detection_comparison_figure` (a static grid of settings) and :func:`detection_explorer` (ipywidgets
    sliders) redraw the detections of :class:`fer_helpers.recognizer.FaceDetector` on a photo.

Video without a camera
    :func:`make_demo_video` writes a short pan-and-zoom video of a still photo, so the video pipeline of
    :func:`fer_helpers.recognizer.process_video` can be shown anywhere; :func:`images_figure` shows a few frames
    (or any images) side by side.

Saving
    :func:`archive_listing` lists what is inside a ``.keras`` zip archive.
"""

from __future__ import annotations

import dataclasses
import os
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .models import float32_model  # noqa: F401  (re-exported: the lessons call it from here)
from .plotting import subplots

# ------------------------------------------------------------------------------------------------ model for the lessons
@dataclasses.dataclass
class AvailableModel:
    """The model a lesson uses and where it came from.

    ``source``: ``"pretrained"`` (the model shipped with the package), ``"notebook 5"`` (the best model of notebook
    5's run) or ``"quick"`` (a small model trained on the spot by :func:`fer_helpers.notebook.lesson5_model`).
    ``note`` says the same in words. Unpacks as ``model, source``.
    """

    model: object
    source: str
    note: str

    def __iter__(self):
        return iter((self.model, self.source))


def best_available_model(use_pretrained: bool = True, run_dir=None, data=None, compile: bool = True,
                         verbose: bool = True) -> AvailableModel:
    """The best model at hand for the photo, webcam and saving lessons, and where it came from.

    The pretrained model shipped with the package (:func:`fer_helpers.pretrained.pretrained_path`) when this
    installation has it (and ``use_pretrained``); otherwise :func:`fer_helpers.notebook.lesson5_model`: the best
    model of notebook 5's run in ``run_dir`` (default ``../runs/05_training``), or a quick model it trains (and keeps
    for next time) when that run is missing. With ``compile=True`` the model is compiled with Adam and the
    series' loss (:func:`fer_helpers.training.compile_model`), so it can be trained further or saved with an
    optimizer; its optimizer state starts empty.
    """
    import keras

    from .notebook import LESSON5_RUN, lesson5_model, runs_dir
    from .training import compile_model

    def say(text: str) -> None:
        if verbose:
            print(text)

    model = None
    if use_pretrained:
        from .pretrained import load_shipped_model, pretrained_path

        try:
            path = pretrained_path()
        except FileNotFoundError:
            say("the pretrained model is not part of this installation (yet): falling back to notebook 5's model")
        else:
            model = load_shipped_model(path)  # a fresh copy; safe_mode stays on
            source, note = "pretrained", f"the pretrained model {path.name}"
            converted = float32_model(model)
            if converted is not model:
                model, note = converted, note + " (its mixed-precision layers switched to float32)"
    if model is None:
        run_dir = runs_dir() / LESSON5_RUN if run_dir is None else Path(run_dir)
        found = lesson5_model(run_dir, data=data, verbose=verbose)
        model = found.model
        if Path(found.run_dir) == run_dir:
            source, note = "notebook 5", f"notebook 5's best model ({run_dir.as_posix()})"
        else:
            source, note = "quick", f"a quick tutorial CNN trained on the spot ({Path(found.run_dir).as_posix()})"
    if compile:
        compile_model(model)
    say(f"model: {note}, {model.count_params():,} parameters")
    return AvailableModel(model, source, note)


# ------------------------------------------------------------------------------------------------ Viola-Jones, in NumPy
@dataclasses.dataclass(frozen=True)
class HaarStage:
    """One stage of a cascade: ``len(feature)`` decision stumps and the threshold their votes must reach.

    Stump ``i`` computes Haar feature ``feature[i]`` on the window and votes ``left[i]`` when the (normalised)
    value is below ``split[i]``, else ``right[i]``; the window passes the stage if the votes add up to at least
    ``threshold``.
    """

    threshold: float
    feature: np.ndarray
    split: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.feature)


@dataclasses.dataclass(frozen=True)
class HaarCascade:
    """A boosted cascade of Haar-feature stumps, read from an OpenCV XML file (:func:`load_haar_cascade`).

    ``window``: the detector's base window ``(width, height)`` (24x24 for the frontal-face cascades).
    ``features``: one ``(k, 5)`` array per Haar feature with rows ``(x, y, w, h, weight)`` in window pixels
    (two or three rectangles; weights such as -1 and 2 make the feature the difference of dark and bright areas).
    ``stages``: the :class:`HaarStage` list, cheapest first.
    """

    window: tuple[int, int]
    features: tuple[np.ndarray, ...]
    stages: tuple[HaarStage, ...]
    name: str = ""

    @property
    def n_stumps(self) -> int:
        """Weak classifiers in all stages together (2,913 for ``haarcascade_frontalface_default.xml``)."""
        return sum(len(s) for s in self.stages)

    def __repr__(self) -> str:
        return (f"HaarCascade({self.name!r}: {self.window[0]}x{self.window[1]} window, {len(self.stages)} stages, "
                f"{self.n_stumps:,} stumps on {len(self.features):,} features)")


def load_haar_cascade(path=None) -> HaarCascade:
    """Read an OpenCV Haar cascade (the ``opencv_traincascade`` XML format of ``cv2.data.haarcascades``).

    ``path`` defaults to OpenCV's ``haarcascade_frontalface_default.xml``. Only stump-based Haar cascades (every
    weak classifier a single split, which is what the bundled face cascades are) are supported; tilted features
    and the old pre-2.0 XML format raise ``ValueError``.
    """
    from .recognizer import default_cascade_path

    path = default_cascade_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Haar cascade file not found: {path}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path} is not an XML file ({exc})") from None
    cascade = root.find("cascade")
    if cascade is None or cascade.findtext("featureType", "").strip().upper() != "HAAR":
        raise ValueError(f"{path} is not an OpenCV Haar cascade in the opencv_traincascade format")
    window = (int(cascade.findtext("width")), int(cascade.findtext("height")))
    features = []
    for feat in cascade.find("features"):
        if feat.findtext("tilted", "0").strip() not in ("0", ""):
            raise ValueError(f"{path}: tilted (45 degree) Haar features are not supported")
        rects = [[float(v) for v in r.text.split()] for r in feat.find("rects")]
        features.append(np.array(rects, dtype=np.float64))
    stages = []
    for stage in cascade.find("stages"):
        feature, split, left, right = [], [], [], []
        for weak in stage.find("weakClassifiers"):
            nodes = weak.findtext("internalNodes").split()
            leaves = [float(v) for v in weak.findtext("leafValues").split()]
            if len(nodes) != 4 or len(leaves) != 2:
                raise ValueError(f"{path}: only cascades of single-split stumps are supported")
            feature.append(int(nodes[2]))
            split.append(float(nodes[3]))
            left.append(leaves[0])
            right.append(leaves[1])
        stages.append(HaarStage(float(stage.findtext("stageThreshold")), np.array(feature), np.array(split),
                                np.array(left), np.array(right)))
    return HaarCascade(window, tuple(features), tuple(stages), path.name)


def integral_image(gray) -> np.ndarray:
    """The integral image (summed-area table) with a zero row and column in front, as float64.

    ``ii[y, x]`` is the sum of all pixels above and left of ``(x, y)``; ``ii`` is one pixel larger than the image
    on each axis. Same as ``cv2.integral(gray)``.
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {gray.shape}")
    ii = np.zeros((gray.shape[0] + 1, gray.shape[1] + 1))
    ii[1:, 1:] = gray.cumsum(axis=0).cumsum(axis=1)
    return ii


def rect_sum(ii, x, y, w, h):
    """Sum of the ``w`` x ``h`` pixels whose top-left pixel is ``(x, y)``, from an integral image in 4 look-ups.

    ``x`` and ``y`` may be arrays (one rectangle per window), which is how :func:`scan_image` evaluates thousands
    of windows at once.
    """
    return ii[y + h, x + w] - ii[y, x + w] - ii[y + h, x] + ii[y, x]


@dataclasses.dataclass(frozen=True)
class PyramidLevel:
    """One level of ``detectMultiScale``'s image pyramid.

    The image is shrunk by ``factor`` to ``size`` (width, height) and the 24x24 window slides over it in steps of
    ``step`` pixels; in the original image that window covers ``window`` x ``window`` pixels. ``positions`` is the
    number of window positions.
    """

    factor: float
    window: int
    size: tuple[int, int]
    step: int
    positions: int
    window_height: int = 0


def pyramid_levels(image_size: tuple[int, int], scale_factor: float = 1.1, min_size: tuple[int, int] = (0, 0),
                   max_size: tuple[int, int] | None = None, window: tuple[int, int] = (24, 24)) -> list[PyramidLevel]:
    """The pyramid OpenCV 4's ``detectMultiScale`` searches for an image of ``image_size`` (width, height).

    Scales grow by ``scale_factor`` from 1 while the scaled window fits in the image (and in ``max_size``);
    windows smaller than ``min_size`` are skipped. On levels shrunk less than 2x the window moves 2 pixels at a time,
    on the others 1 pixel (OpenCV's rule).
    """
    if not scale_factor > 1:
        raise ValueError(f"scale_factor must be > 1, got {scale_factor!r}")
    width, height = (int(v) for v in image_size)
    max_w, max_h = (width, height) if max_size is None else (int(max_size[0]), int(max_size[1]))
    levels = []
    factor = 1.0
    while True:
        win = (round(window[0] * factor), round(window[1] * factor))
        if win[0] > max_w or win[1] > max_h or win[0] > width or win[1] > height:
            break
        if win[0] >= min_size[0] and win[1] >= min_size[1]:
            f32 = float(np.float32(factor))  # OpenCV keeps the scales as float
            size = (round(width / f32), round(height / f32))
            step = 1 if f32 >= 2 else 2
            nx = len(range(0, size[0] - window[0] + 1, step))  # the window must lie inside the image
            ny = len(range(0, size[1] - window[1] + 1, step))
            levels.append(PyramidLevel(f32, round(window[0] * f32), size, step, nx * ny,
                                       round(window[1] * f32)))
        factor *= scale_factor
    return levels


@dataclasses.dataclass
class CascadeScan:
    """What :func:`scan_image` found.

    ``hits``: ``(K, 4)`` boxes ``(x, y, w, h)`` of the windows that passed every stage (what
    ``detectMultiScale(minNeighbors=0)`` returns). ``windows``: windows evaluated. ``reached``: for ``k`` in
    ``0..n_stages``, how many windows passed at least ``k`` stages (``reached[0] == windows``).
    ``stumps_evaluated``: weak classifiers computed in all; ``levels``: the :class:`PyramidLevel` list.
    """

    hits: np.ndarray
    windows: int
    reached: np.ndarray
    stumps_evaluated: int
    levels: list
    n_stumps: int

    @property
    def stumps_per_window(self) -> float:
        return self.stumps_evaluated / max(self.windows, 1)

    def summary(self) -> str:
        n = len(self.reached) - 1
        first = self.windows - self.reached[1]
        return (f"{len(self.levels)} pyramid levels, {self.windows:,} windows evaluated\n"
                f"rejected by stage 1: {first:,} ({first / max(self.windows, 1):.1%})\n"
                f"passed all {n} stages: {len(self.hits)}\n"
                f"weak classifiers per window: {self.stumps_per_window:.1f} on average (of {self.n_stumps:,})")


def _gray(image) -> np.ndarray:
    from .recognizer import gray_uint8, load_image

    return gray_uint8(load_image(image))


def _stage_tables(stage: HaarStage, features) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every corner the stage's features read, as window positions ``dy``, ``dx`` with signed weights ``coef``,
    grouped by stump (``starts``: where each stump's corners begin). Gathering a window's integral-image values at
    the corners, multiplying by ``coef`` and adding up each group gives every stump's feature value at once."""
    dys, dxs, coefs, starts = [], [], [], []
    for f in stage.feature:
        starts.append(len(coefs))
        for x, y, w, h, weight in features[f]:
            x, y, w, h = int(x), int(y), int(w), int(h)
            for dy, dx, sign in ((y + h, x + w, 1), (y, x + w, -1), (y + h, x, -1), (y, x, 1)):
                dys.append(dy)
                dxs.append(dx)
                coefs.append(sign * weight)
    return np.array(dys), np.array(dxs), np.array(coefs), np.array(starts)


def _stage_pass(ii_flat, base, inv_norm, stage: HaarStage, tables, chunk: int = 8192) -> np.ndarray:
    """Which windows (top-left corners ``base`` in the flattened integral image) pass ``stage``."""
    offsets, coefs, starts = tables
    passed = np.empty(len(base), dtype=bool)
    for start in range(0, len(base), chunk):
        b = base[start:start + chunk]
        corners = ii_flat[b[:, None] + offsets[None, :]] * coefs
        values = np.add.reduceat(corners, starts, axis=1) * inv_norm[start:start + chunk, None]
        votes = np.where(values < stage.split, stage.left, stage.right).sum(axis=1)
        passed[start:start + chunk] = votes >= stage.threshold
    return passed


def scan_image(image, cascade: HaarCascade | None = None, scale_factor: float = 1.1,
               min_size: tuple[int, int] = (0, 0), max_size: tuple[int, int] | None = None) -> CascadeScan:
    """Run a Haar cascade over every window of every pyramid level, the way OpenCV 4's ``detectMultiScale`` does.

    For each level the gray image is shrunk (``cv2.INTER_LINEAR_EXACT``, OpenCV's choice), its integral images are
    computed, and all window positions go through the stages together; after each stage only the windows that passed
    continue. Every feature value is divided by the window's contrast (its standard deviation times the area of its
    inner 22x22 part), so the detector does not depend on lighting. As in OpenCV, a window that fails the first stage
    makes the search skip the next position in its row. Returns a :class:`CascadeScan`; ``hits`` equals
    ``detectMultiScale(gray, scale_factor, minNeighbors=0, minSize=min_size, maxSize=max_size)``.
    """
    import cv2

    cascade = load_haar_cascade() if cascade is None else cascade
    gray = _gray(image)
    ww, wh = cascade.window
    levels = pyramid_levels((gray.shape[1], gray.shape[0]), scale_factor, min_size, max_size, cascade.window)
    n_stages = len(cascade.stages)
    reached = np.zeros(n_stages + 1, dtype=np.int64)
    hits, windows, stumps, flat = [], 0, 0, 0
    area = (ww - 2) * (wh - 2)
    all_tables = [_stage_tables(stage, cascade.features) for stage in cascade.stages]
    for level in levels:
        small = cv2.resize(gray, level.size, interpolation=cv2.INTER_LINEAR_EXACT)
        ii, sq = cv2.integral2(small, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        ys, xs = np.mgrid[0:level.size[1] - wh + 1:level.step, 0:level.size[0] - ww + 1:level.step]
        if xs.size == 0:
            continue
        s = rect_sum(ii, xs + 1, ys + 1, ww - 2, wh - 2)
        q = rect_sum(sq, xs + 1, ys + 1, ww - 2, wh - 2)
        nf = area * q - s * s
        inv_norm = np.where(nf > 0, 1.0 / np.sqrt(np.maximum(nf, 1e-12)), 1.0)
        # OpenCV skips flat windows (standard deviation of at most 10 gray levels): nothing there to detect
        textured = (nf > 0) & (area * inv_norm < 0.1)
        flat += int((~textured).sum())
        # stage 1 on every position, then OpenCV's skip: after a stage-1 rejection the next position is not tried
        stride = ii.shape[1]
        ii_flat = ii.ravel()
        tables = [(dy * stride + dx, coefs, starts) for dy, dx, coefs, starts in all_tables]
        base = (ys * stride + xs).ravel()
        first = _stage_pass(ii_flat, base, inv_norm.ravel(), cascade.stages[0], tables[0]).reshape(xs.shape)
        tried = textured.copy()
        for row_first, row_tried in zip(first, tried):
            skip = False
            for i, ok in enumerate(row_first):
                if skip:
                    row_tried[i] = False
                    skip = False
                elif row_tried[i]:
                    skip = not ok
        xs, ys, inv_norm, first = xs[tried], ys[tried], inv_norm[tried], first[tried]
        base = ys * stride + xs
        windows += len(xs)
        stumps += len(xs) * len(cascade.stages[0])
        reached[0] += len(xs)
        alive = np.flatnonzero(first)
        reached[1] += len(alive)
        for k, stage in enumerate(cascade.stages[1:], start=2):
            if len(alive) == 0:
                break
            stumps += len(alive) * len(stage)
            alive = alive[_stage_pass(ii_flat, base[alive], inv_norm[alive], stage, tables[k - 1])]
            reached[k] += len(alive)
        for x, y in zip(xs[alive], ys[alive]):
            hits.append((round(x * level.factor), round(y * level.factor), level.window, level.window_height))
    boxes = np.array(sorted(hits), dtype=int).reshape(-1, 4)
    return CascadeScan(boxes, windows, reached, stumps, levels, cascade.n_stumps)


def _rgb(image) -> np.ndarray:
    import cv2

    from .recognizer import to_bgr

    return cv2.cvtColor(to_bgr(image), cv2.COLOR_BGR2RGB)


def feature_pattern(cascade: HaarCascade, stage: int, index: int) -> np.ndarray:
    """Where stump ``index`` of ``stage`` expects a face to be brighter (+1) or darker (-1) than the rest (0: unused).

    A feature adds up its rectangles with their weights (pixels covered twice get both weights); the stump votes
    "face" for values on one side of its split. Multiplying the per-pixel weights by that side's sign gives the
    pattern a face should show: ``(height, width)`` array of -1, 0, +1 in window pixels.
    """
    st = cascade.stages[stage]
    ww, wh = cascade.window
    weights = np.zeros((wh, ww))
    for x, y, w, h, weight in cascade.features[st.feature[index]]:
        weights[int(y):int(y + h), int(x):int(x + w)] += weight
    face_side = 1.0 if st.right[index] > st.left[index] else -1.0  # right: value >= split
    return np.sign(weights * face_side)


def haar_features_figure(window, cascade: HaarCascade | None = None, stage: int = 0, n: int = 6):
    """The first ``n`` features of ``stage`` drawn on a face ``window`` (resized to the cascade's 24x24 window).

    White: where the feature expects a face to be brighter, black: darker (see :func:`feature_pattern`). Each title
    gives the stump's feature number and its vote for a face-like and a non-face-like value.
    """
    import cv2

    cascade = load_haar_cascade() if cascade is None else cascade
    face = cv2.resize(_gray(window), cascade.window, interpolation=cv2.INTER_AREA).astype(float)
    st = cascade.stages[stage]
    n = min(n, len(st))
    fig, axes = subplots(1, n, figsize=(1.75 * n, 2.25), squeeze=False)
    for i, ax in enumerate(axes[0]):
        pattern = feature_pattern(cascade, stage, i)
        shown = np.where(pattern > 0, 0.45 * face + 0.55 * 255, np.where(pattern < 0, 0.45 * face, face))
        ax.imshow(shown, cmap="gray", vmin=0, vmax=255)
        face_vote, other_vote = sorted((st.left[i], st.right[i]), reverse=True)
        ax.set_title(f"feature {st.feature[i]}\nvotes {face_vote:+.1f} / {other_vote:+.1f}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"stage {stage + 1}, first {n} of {len(st)} features: a face is brighter in white, darker in black",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def cascade_funnel_figure(scan: CascadeScan, title: str | None = None):
    """Windows still in the race after each stage (log scale): the cascade's attentional funnel."""
    fig, ax = subplots(figsize=(8, 3))
    stages = np.arange(len(scan.reached))
    ax.bar(stages, np.maximum(scan.reached, 0.8), color="#4c72b0")
    ax.set_yscale("log")
    ax.set_xlabel("stages passed")
    ax.set_ylabel("windows")
    ax.set_xticks(stages[::2])
    ax.set_title(title or f"{scan.windows:,} windows in, {len(scan.hits)} out")
    fig.tight_layout()
    return fig


def draw_boxes(image, boxes, color=(0, 200, 0), thickness: int = 2) -> np.ndarray:
    """An RGB copy of ``image`` with ``(x, y, w, h)`` boxes drawn in ``color`` (RGB)."""
    import cv2

    canvas = _rgb(image)
    for x, y, w, h in np.asarray(boxes, dtype=int).reshape(-1, 4):
        cv2.rectangle(canvas, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), tuple(int(c) for c in color),
                      thickness, cv2.LINE_AA)
    return canvas


RAW_BOX_COLOR = (230, 0, 230)  # magenta (RGB): raw detector windows, visible on skin, sky and an orange spacesuit


def detection_comparison_figure(image, settings: Sequence[dict], ncols: int = 3, show_raw: bool = True,
                                width: float = 4.0, dpi: int = 80, fontsize: float = 12):
    """One panel per ``FaceDetector`` setting (a dict of its arguments), with the faces it finds on ``image``.

    With ``show_raw`` the raw windows of that setting (``min_neighbors=0``) are drawn thin in magenta (visible on the
    astronaut's orange suit) under the final boxes (green), so you can see how ``min_neighbors`` votes. Each panel is
    ``width`` inches wide, with a title of ``fontsize`` points.
    """
    from .recognizer import FaceDetector, to_bgr

    if not settings:
        raise ValueError("settings must name at least one FaceDetector setting")
    nrows = -(-len(settings) // ncols)
    image = to_bgr(image)
    aspect = image.shape[0] / image.shape[1]
    title_height = 2.4 * fontsize / 72  # two lines of title, in inches
    fig, axes = subplots(nrows, ncols, figsize=(width * ncols, (width * aspect + title_height) * nrows), squeeze=False,
                          dpi=dpi)
    for ax, setting in zip(axes.ravel(), settings):
        detector = FaceDetector(**setting)
        boxes = detector.detect(image)
        canvas = _rgb(image)
        if show_raw:
            raw = FaceDetector(**{**setting, "min_neighbors": 0}).detect(image)
            canvas = draw_boxes(canvas[:, :, ::-1], raw, color=RAW_BOX_COLOR, thickness=1)
        canvas = draw_boxes(canvas[:, :, ::-1], boxes, color=(0, 200, 0), thickness=2)
        ax.imshow(canvas)
        ax.set_title(_setting_title(detector, len(boxes)), fontsize=fontsize)
        ax.axis("off")
    for ax in axes.ravel()[len(settings):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def _setting_title(detector, n: int) -> str:
    return (f"scaleFactor={detector.scale_factor:g}, minNeighbors={detector.min_neighbors}\n"
            f"minSize={detector.min_size[0]}: {n} face{'s' if n != 1 else ''}")


def detection_explorer(image, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 48,
                       width: int = 420):
    """ipywidgets sliders for ``scaleFactor``, ``minNeighbors`` and ``minSize``, redrawing the detections live.

    Raw windows (``minNeighbors=0``) are drawn thin in magenta, the final faces in green; the line below the image
    says how many were found and how long detection took. Returns an ``ipywidgets.VBox`` (display it as a cell's
    last value); its ``controls`` dict holds the sliders and ``update()`` redraws.
    """
    import cv2
    import ipywidgets as widgets

    from .recognizer import FaceDetector, to_bgr

    bgr = to_bgr(image)
    style = {"description_width": "110px"}
    layout = widgets.Layout(width="440px")
    controls = {
        "scale_factor": widgets.FloatSlider(value=scale_factor, min=1.01, max=1.6, step=0.01,
                                            description="scaleFactor", style=style, layout=layout,
                                            continuous_update=False),
        "min_neighbors": widgets.IntSlider(value=min_neighbors, min=0, max=20, description="minNeighbors",
                                           style=style, layout=layout, continuous_update=False),
        "min_size": widgets.IntSlider(value=min_size, min=10, max=min(bgr.shape[:2]), step=2,
                                      description="minSize (px)", style=style, layout=layout,
                                      continuous_update=False),
    }
    picture = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{width}px"))
    status = widgets.HTML()

    def update(change=None):
        size = int(controls["min_size"].value)
        setting = dict(scale_factor=float(controls["scale_factor"].value),
                       min_neighbors=int(controls["min_neighbors"].value), min_size=(size, size))
        start = time.perf_counter()
        boxes = FaceDetector(**setting).detect(bgr)
        ms = (time.perf_counter() - start) * 1000
        raw = FaceDetector(**{**setting, "min_neighbors": 0}).detect(bgr)
        canvas = draw_boxes(bgr, raw, color=RAW_BOX_COLOR, thickness=1)
        canvas = draw_boxes(canvas[:, :, ::-1], boxes, color=(0, 200, 0), thickness=3)
        shown = canvas[:, :, ::-1]
        if shown.shape[1] > width:  # send no more pixels than are shown (JPEG: photos stay small in the notebook)
            shown = cv2.resize(shown, (width, round(shown.shape[0] * width / shown.shape[1])),
                               interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, 85])
        picture.value = jpeg.tobytes()
        status.value = (f"<b>{len(boxes)}</b> face{'s' if len(boxes) != 1 else ''} from <b>{len(raw)}</b> raw "
                        f"windows; detection took {ms:.0f} ms")

    for widget in controls.values():
        widget.observe(update, names="value")
    box = widgets.VBox([*controls.values(), picture, status])
    box.controls = controls
    box.update = update
    update()
    return box


# ------------------------------------------------------------------------------------------------ video without a camera
def make_demo_video(path, image=None, frames: int = 36, size: tuple[int, int] = (320, 240), fps: float = 12.0,
                    face=(170, 60, 90, 110)) -> Path:
    """Write a short video that pans and zooms over a still photo (default: the astronaut portrait).

    The virtual camera starts on the whole photo, moves in towards ``face`` (x, y, w, h in the photo; the default is
    the astronaut's face) and drifts sideways, so the face changes size and position like in a hand-held clip.
    ``path`` ends in ``.mp4`` (``mp4v`` codec) or ``.avi`` (MJPG). Returns the path.
    """
    import cv2

    from .recognizer import open_video_writer, sample_photo, to_bgr

    if int(frames) != frames or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames!r}")
    photo = sample_photo() if image is None else to_bgr(image)
    H, W = photo.shape[:2]
    out_w, out_h = (int(v) for v in size)
    aspect = out_w / out_h
    fx, fy, fw, fh = face
    centre_face = np.array([fx + fw / 2, fy + fh / 2])
    writer = open_video_writer(Path(path), fps, (out_w, out_h))
    try:
        for i in range(int(frames)):
            t = i / max(frames - 1, 1)
            ease = 0.5 - 0.5 * np.cos(np.pi * t)
            crop_h = H * (1 - ease) + 2.0 * fh * ease  # from the whole photo to about two face heights
            crop_w = min(crop_h * aspect, W)
            crop_h = crop_w / aspect
            centre = np.array([W / 2, H / 2]) * (1 - ease) + centre_face * ease
            centre[0] += 0.15 * crop_w * np.sin(2 * np.pi * t)  # a sideways drift
            cx = float(np.clip(centre[0], crop_w / 2, W - crop_w / 2))
            cy = float(np.clip(centre[1], crop_h / 2, H - crop_h / 2))
            scale = out_w / crop_w
            matrix = np.array([[scale, 0, out_w / 2 - scale * cx], [0, scale, out_h / 2 - scale * cy]])
            frame = cv2.warpAffine(photo, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            writer.write(frame)
    finally:
        writer.release()
    return Path(path)


def images_figure(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 4,
                  width: float = 2.6, title: str | None = None, dpi: int = 80):
    """BGR (OpenCV) or gray images side by side, ``ncols`` per row, each ``width`` inches wide, with titles.

    ``dpi`` is kept modest (80) because photos make large PNG outputs in notebooks.
    """
    if len(images) == 0:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    aspect = max(im.shape[0] / im.shape[1] for im in images)
    fig, axes = subplots(nrows, ncols, figsize=(width * ncols, (width * aspect + 0.4) * nrows), squeeze=False,
                          dpi=dpi)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(_rgb(images[i]))
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------- saving
def archive_listing(path) -> list[tuple[str, int]]:
    """The files inside a ``.keras`` archive (a zip file) with their uncompressed sizes in bytes, by name."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"archive not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a zip archive (a .keras file is one)")
    with zipfile.ZipFile(path) as z:
        return sorted((info.filename, info.file_size) for info in z.infolist())


_SCRATCH: list = []  # the lessons' temporary folders, kept alive until the kernel exits


_WATCHER = """
import os, shutil, sys, time
pid, folder = int(sys.argv[1]), sys.argv[2]
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    except PermissionError:
        pass
    time.sleep(0.5)
shutil.rmtree(folder, ignore_errors=True)
"""


def scratch_folder(prefix: str = "fer_") -> Path:
    """A new temporary folder for a lesson's files, deleted with its contents when the Python process (the
    notebook's kernel) ends, so that running a lesson leaves nothing behind in the system's temporary directory.

    A normal exit deletes it at once; a small watcher process deletes it when the kernel is killed instead (as a
    test runner or "Restart kernel" may do), since a killed process runs no clean-up of its own.
    """
    import subprocess
    import sys
    import tempfile

    folder = tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)  # cleaned at interpreter exit
    _SCRATCH.append(folder)
    try:
        subprocess.Popen([sys.executable, "-c", _WATCHER, str(os.getpid()), folder.name], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no watcher: a normal exit still deletes the folder
        pass
    return Path(folder.name)


__all__ = [
    "scratch_folder", "AvailableModel", "best_available_model", "float32_model", "HaarStage", "HaarCascade",
    "load_haar_cascade", "integral_image", "rect_sum", "PyramidLevel", "pyramid_levels", "CascadeScan", "scan_image",
    "haar_features_figure", "cascade_funnel_figure", "draw_boxes", "detection_comparison_figure",
    "detection_explorer", "make_demo_video", "images_figure", "archive_listing", "feature_pattern",
]
