"""The embedded synthetic face data set: FER2013-style faces drawn with OpenCV.

FER2013 itself cannot ship with this project (its licence forbids redistribution), so the package draws its own
faces. Every face is a 48x48 grayscale drawing, like a FER2013 image, whose *geometry* expresses one of the seven
emotions (labels as in :mod:`fer_helpers.labels`):

=========  =====================================================================================================
Angry      brows lowered and pulled together (a "V"), frown lines between them, narrowed eyes, a tight flat mouth
           (sometimes bared teeth)
Disgust    lowered brows, narrowed eyes, a wrinkled nose, the upper lip raised on one side, cheek lines
Fear       brows raised *and* pulled together, wide-open eyes, a wide, horizontally stretched open mouth
Happy      a smile (mouth corners up, often open with teeth), raised cheeks that narrow the eyes, smile lines
Sad        inner ends of the brows raised, drooping eyelids, mouth corners turned down
Surprise   high arched brows, forehead lines, wide-open eyes, a round open mouth
Neutral    straight brows, relaxed eyes, a straight closed mouth
=========  =====================================================================================================

Everything else varies from face to face, as in photos: position, size and rotation of the head, face shape,
where the eyes, nose and mouth sit, hair, glasses, skin and background brightness, a lighting gradient, blur and
sensor noise. Each emotion is also shown with a random *intensity*: a faint expression looks almost neutral, so
neighbouring classes overlap a little, and no single pixel gives the answer away: a small CNN learns the set in a
few epochs, while linear models on the raw pixels do much worse (``tests/test_synthetic.py`` checks both;
``benchmarks/bench_synthetic.py`` prints how fast faces are drawn).

How a face is drawn (see :func:`render_face`):

1. Sample the face's parameters: a random identity (face shape, feature positions, intensities) and the
   expression of its emotion at a random intensity.
2. Describe every part (face oval, hair, eyes, irises, lids, brows, nose, mouth, lines) as polygons in a
   face-centred coordinate system, map them to pixels with one affine transform (scale, rotation, shift), and fill
   them with ``cv2.fillPoly``/``cv2.polylines`` on a canvas twice the final size, with sub-pixel coordinates.
3. Shrink the canvas to 48x48 with ``cv2.INTER_AREA`` (this anti-aliases the edges).
4. Add lighting, blur and noise. :func:`generate_faces` does this step for the whole batch at once with numpy.

Main entry points: :func:`generate_faces` (a balanced, shuffled data set), :func:`assign_usage` (the FER2013
``Usage`` column), :func:`make_sample` (write a FER2013-format CSV), and ``python -m fer_helpers make-sample``.
The file :data:`SAMPLE_CSV`, committed with the project, is ``make_sample(SAMPLE_CSV, SAMPLE_PER_CLASS,
SAMPLE_SEED)``.
"""

from __future__ import annotations

import hashlib
import math
import pathlib
from typing import Sequence

import numpy as np

from .labels import EMOTIONS, NUM_CLASSES, USAGES
from .preprocessing import FACE_SIZE

#: The synthetic sample committed with the project, in the Kaggle FER2013 CSV layout (``emotion,pixels,Usage``).
SAMPLE_CSV: pathlib.Path = pathlib.Path(__file__).resolve().parent.parent / "data" / "fer2013_synthetic_sample.csv"
#: Faces per emotion in :data:`SAMPLE_CSV`.
SAMPLE_PER_CLASS: int = 30
#: Seed that :data:`SAMPLE_CSV` was generated with.
SAMPLE_SEED: int = 0

_UP = 2  # faces are drawn at _UP times the final size, then shrunk with INTER_AREA (anti-aliasing)
_SHIFT = 3  # cv2 drawing calls get coordinates in 1/2**_SHIFT pixels (sub-pixel accuracy)
_CANVAS = FACE_SIZE * _UP

# ---------------------------------------------------------------------------------------------------------------
# Expressions.
#
# A face's expression is a handful of numbers. NEUTRAL gives their resting values; EXPRESSIONS[name] gives how far
# each one moves for that emotion at full intensity. Coordinates are in "face units": the face oval is about 2 units
# wide, x points right and y points *down* (like image rows), so a negative dy raises a feature.
# ---------------------------------------------------------------------------------------------------------------

NEUTRAL: dict[str, float] = {
    "brow_y": 0.0,  # whole brow up (-) or down (+)
    "brow_inner_dy": 0.0,  # inner brow ends up (-) or down (+): sad/fear raise them, anger lowers them
    "brow_inner_dx": 0.0,  # inner brow ends pulled towards the nose (+)
    "brow_arch": 0.03,  # middle of the brow above the straight line between its ends
    "eye_open": 1.0,  # upper-lid opening, relative to the face's resting eye
    "lower_lid": 0.0,  # lower lid pushed up (cheek raise, squint), 0..1
    "mouth_w": 0.36,  # half width of the mouth
    "mouth_corner": 0.0,  # mouth corners up (-, smile) or down (+)
    "mouth_open": 0.0,  # gap between the lips in the middle
    "mouth_round": 0.0,  # 0: stretched opening with flat ends, 1: round "O"
    "lip_raise": 0.0,  # upper lip raised on one side (disgust)
    "teeth": 0.0,  # teeth visible in an open mouth, 0..1
    "nose_wrinkle": 0.0,  # wrinkles on the nose bridge, 0..1
    "cheek_lines": 0.0,  # nasolabial folds from the nose to the mouth corners, 0..1
    "forehead_lines": 0.0,  # horizontal lines on the forehead, 0..1
    "frown_lines": 0.0,  # vertical lines between the brows, 0..1
}

EXPRESSIONS: dict[str, dict[str, float]] = {
    "Angry": {
        "brow_y": 0.06, "brow_inner_dy": 0.13, "brow_inner_dx": 0.06, "brow_arch": -0.03,
        "eye_open": -0.3, "lower_lid": 0.25, "mouth_w": -0.08, "mouth_corner": 0.03, "frown_lines": 1.0,
    },
    "Disgust": {
        "brow_y": 0.05, "brow_inner_dy": 0.06, "brow_inner_dx": 0.03, "brow_arch": -0.02,
        "eye_open": -0.3, "lower_lid": 0.4, "mouth_w": -0.04, "mouth_corner": 0.05, "mouth_open": 0.02,
        "lip_raise": 0.13, "nose_wrinkle": 1.0, "cheek_lines": 0.6,
    },
    "Fear": {
        "brow_y": -0.09, "brow_inner_dy": -0.08, "brow_inner_dx": 0.05, "brow_arch": -0.02,
        "eye_open": 0.55, "mouth_w": 0.08, "mouth_corner": 0.03, "mouth_open": 0.11, "teeth": 0.6,
        "forehead_lines": 0.6,
    },
    "Happy": {
        "brow_y": -0.02, "eye_open": -0.25, "lower_lid": 0.45, "mouth_w": 0.07, "mouth_corner": -0.16,
        "mouth_open": 0.06, "teeth": 1.0, "cheek_lines": 1.0,
    },
    "Sad": {
        "brow_y": -0.01, "brow_inner_dy": -0.12, "brow_inner_dx": 0.02, "brow_arch": -0.04,
        "eye_open": -0.2, "mouth_w": -0.03, "mouth_corner": 0.15,
    },
    "Surprise": {
        "brow_y": -0.17, "brow_arch": 0.07, "eye_open": 0.6, "mouth_w": -0.15, "mouth_open": 0.22,
        "mouth_round": 1.0, "forehead_lines": 1.0,
    },
    "Neutral": {},  # the resting face
}
if set(EXPRESSIONS) != set(EMOTIONS):  # pragma: no cover - guards edits of this table or of labels.py
    raise RuntimeError(f"EXPRESSIONS must have one entry per class of labels.EMOTIONS {EMOTIONS}")

# How much each expression number varies between faces of the same emotion (standard deviations, face units).
_JITTER: dict[str, float] = {
    "brow_y": 0.035, "brow_inner_dy": 0.03, "brow_inner_dx": 0.02, "brow_arch": 0.02, "eye_open": 0.12,
    "lower_lid": 0.05, "mouth_w": 0.035, "mouth_corner": 0.022, "mouth_open": 0.015,
}

#: Range of the random expression intensity: 1.0 is the full expression of :data:`EXPRESSIONS`, 0 is neutral.
INTENSITY_RANGE: tuple[float, float] = (0.5, 1.0)


def _expression(label: int, rng: np.random.Generator) -> dict[str, float]:
    """Sample the expression numbers of one face of emotion ``label``."""
    name = EMOTIONS[label]  # keyed by name: the label order is defined only in labels.py
    t = rng.uniform(*INTENSITY_RANGE)
    delta = EXPRESSIONS[name]
    e = {k: v + t * delta.get(k, 0.0) for k, v in NEUTRAL.items()}
    noise = rng.normal(size=len(_JITTER))
    for (k, sd), z in zip(_JITTER.items(), noise):
        e[k] += sd * z
    if name == "Happy":  # a smile is open (a grin) or closed with about equal odds
        grin = rng.random() < 0.55
        e["mouth_open"] = max(0.0, e["mouth_open"] + (0.04 * t if grin else -0.06))
        e["teeth"] = 1.0 if grin else 0.0
    elif name == "Angry" and rng.random() < 0.25:  # a snarl: bared, clenched teeth
        e["mouth_open"] += 0.05 + 0.04 * t
        e["teeth"] = 1.0
        e["mouth_w"] += 0.06
    e["mouth_open"] = max(0.0, e["mouth_open"])
    e["eye_open"] = float(np.clip(e["eye_open"], 0.35, 1.9))
    e["lower_lid"] = float(np.clip(e["lower_lid"], 0.0, 0.6))
    e["mouth_w"] = max(0.16, e["mouth_w"])
    e["side"] = 1.0 if rng.random() < 0.5 else -1.0  # which side an asymmetric expression uses
    return e


# ---------------------------------------------------------------------------------------------------------------
# Drawing.
# ---------------------------------------------------------------------------------------------------------------


# Shapes are complex arrays x + iy in face units; the affine map to pixels is then one complex multiply-add.
def _bezier_weights(n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    return np.stack([(1 - t) ** 2, 2 * t * (1 - t), t**2], axis=1)


_B7, _B9 = _bezier_weights(7), _bezier_weights(9)  # quadratic Bezier curves through 3 control points
_RING8, _RING12, _RING20 = (np.exp(2j * np.pi * np.arange(n) / n) for n in (8, 12, 20))
_A40 = 2 * np.pi * np.arange(40) / 40
_COS40, _SIN40 = np.cos(_A40), np.sin(_A40)
_JAW40 = np.clip(_SIN40, 0, 1) ** 2  # how much each oval point narrows with a pointed jaw
_TOP_ARC = np.exp(-1j * np.linspace(0.3, np.pi - 0.3, 13))  # upper arc of a unit circle, right to left
_HALF_TOP = np.exp(-1j * np.linspace(np.pi, 0.0, 15))  # left, top, right
_X7, _X13, _X15, _X17 = (np.linspace(-1.0, 1.0, n) for n in (7, 13, 15, 17))
_LID_UP, _LID_LO = (1 - _X13**2) ** 0.8, (1 - _X13**2) ** 0.9
_NECK = np.array([-0.45 + 0.9j, 0.45 + 0.9j, 0.5 + 1.6j, 1.6 + 1.9j, 1.7 + 2.6j, -1.7 + 2.6j, -1.6 + 1.9j, -0.5 + 1.6j])


class _Scene:
    """Shapes to draw, in order: filled polygons and polylines with their gray value and thickness."""

    def __init__(self):
        self.shapes: list[np.ndarray] = []
        self.styles: list[tuple[int, int, int]] = []

    def fill(self, z, value: float) -> None:
        z = np.asarray(z, dtype=np.complex128)
        self.shapes.append(z)
        self.styles.append((z.size, int(value + 0.5), 0))

    def line(self, z, value: float, thickness: int = 1) -> None:
        z = np.asarray(z, dtype=np.complex128)
        self.shapes.append(z)
        self.styles.append((z.size, int(value + 0.5), max(1, int(thickness))))

    def render(self, background: float, center: complex, scale: float, angle: float) -> np.ndarray:
        """Map all shapes to pixels (rotate by ``angle``, scale, move the face centre to ``center``) and draw."""
        import cv2

        k = scale * _UP * (1 << _SHIFT)
        z = np.concatenate(self.shapes) * (k * complex(math.cos(angle), math.sin(angle))) + center * _UP * (1 << _SHIFT)
        pix = np.rint(z.view(np.float64)).astype(np.int32).reshape(-1, 2)
        img = np.full((_CANVAS, _CANVAS), int(background + 0.5), np.uint8)
        i = 0
        for n, value, thickness in self.styles:
            pts = pix[i : i + n]
            i += n
            if thickness:
                cv2.polylines(img, [pts], False, value, thickness, cv2.LINE_8, _SHIFT)
            else:
                cv2.fillPoly(img, [pts], value, cv2.LINE_8, _SHIFT)
        return cv2.resize(img, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)


def _draw(label: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one face of emotion ``label`` (no lighting, blur or noise yet): (48, 48) uint8."""
    e = _expression(label, rng)
    u = rng.random(34).tolist()  # the face's identity and pose, all uniform 0..1, mapped to ranges below

    def lerp(i: int, lo: float, hi: float) -> float:
        return lo + (hi - lo) * u[i]

    sc = _Scene()
    # --- pose and gray values
    scale = lerp(0, 15.0, 19.0)  # pixels (of the 48x48 face) per face unit
    angle = math.radians(lerp(1, -12.0, 12.0))
    center = complex(24.0 + lerp(2, -3.0, 3.0), 25.0 + lerp(3, -3.0, 3.0))
    skin = lerp(4, 95.0, 215.0)
    background = lerp(5, 15.0, 240.0)
    if abs(background - skin) < 20:  # keep the face visible against the background
        background = skin + (35.0 if skin < 128 else -35.0)

    # --- head: hair behind, neck, face oval, hair on top
    fw, fh, jaw = lerp(6, 0.88, 1.04), lerp(7, 1.18, 1.36), lerp(8, 0.0, 0.25)
    hair_style = int(u[9] * 4)  # 0: none or very short, 1: short, 2: long, 3: fringe
    hair = lerp(10, 15.0, 120.0) if u[11] < 0.8 else min(250.0, skin + 40)
    if hair_style == 2:  # long hair hangs down past the jaw
        sc.fill(np.append((fw + 0.18) * _HALF_TOP.real + 1j * (fh + 0.05) * _HALF_TOP.imag - 0.15j,
                          [fw + 0.3 + 1.45j, -fw - 0.3 + 1.45j]), hair)
    elif hair_style:
        sc.fill(((fw + 0.14) * _RING20.real + 1j * (fh + 0.02) * _RING20.imag) - 0.12j, hair)
    sc.fill(_NECK, skin * lerp(12, 0.7, 0.95))
    sc.fill(fw * _COS40 * (1 - jaw * _JAW40) + 1j * (fh * _SIN40 + 0.05), skin)
    if hair_style:
        fringe = -fh + 0.05 + (lerp(13, 0.22, 0.38) if hair_style == 3 else lerp(13, 0.06, 0.2))
        sc.fill(np.append(fw * _X15 + 1j * (fringe + 0.12 * (1 - _X15**2) + 0.15 * np.abs(_X15) ** 3),
                          (fw + 0.01) * _TOP_ARC.real + 1j * ((fh + 0.01) * _TOP_ARC.imag + 0.05)), hair)

    # --- this face's feature layout (its identity), shifted sideways a little to fake a turned head
    yaw = lerp(14, -0.08, 0.08)
    eye_x, eye_y = lerp(15, 0.34, 0.42), lerp(16, -0.26, -0.14)
    eye_w, eye_h = lerp(17, 0.15, 0.2), lerp(18, 0.08, 0.1)
    brow_gap = lerp(19, 0.17, 0.24)
    nose_y, mouth_y = lerp(20, 0.2, 0.3), lerp(21, 0.5, 0.64)
    brow_t = 3 + int(u[22] * 3)  # brow thickness in canvas pixels
    brow_v = skin * lerp(23, 0.2, 0.55)
    line_v = skin * lerp(24, 0.55, 0.75)  # skin lines: wrinkles and folds
    iris_v, lid_v = skin * lerp(25, 0.1, 0.35), skin * lerp(26, 0.15, 0.4)
    sclera_v = min(255.0, skin + lerp(27, 15.0, 50.0))
    brow_base = eye_y - brow_gap + e["brow_y"]

    # --- eyes: white, iris, skin over the iris outside the lids, upper lid line, lower lid fold
    gaze = lerp(28, -0.04, 0.04)
    for sx in (-1, 1):
        cx = yaw + sx * eye_x
        x = cx + eye_w * _X13
        tilt = eye_y - sx * 0.015 * _X13  # outer corners slightly higher
        upper = x + 1j * (tilt - eye_h * e["eye_open"] * _LID_UP)
        lower = x + 1j * (tilt + eye_h * (0.75 - e["lower_lid"]) * _LID_LO)
        sc.fill(np.append(upper, lower[::-1]), sclera_v)
        sc.fill(0.08 * _RING12 + complex(cx + gaze, eye_y + 0.005), iris_v)
        sc.fill(np.append(upper, [cx + eye_w + 1j * (eye_y - 0.12), cx - eye_w + 1j * (eye_y - 0.12)]), skin)
        sc.fill(np.append(lower, [cx + eye_w + 1j * (eye_y + 0.12), cx - eye_w + 1j * (eye_y + 0.12)]), skin)
        sc.line(upper * 1.0 - 0.01j, lid_v, 2 + (e["eye_open"] < 0.8))
        if e["lower_lid"] > 0.25:  # a raised cheek bunches the lower lid
            sc.line(lower[2:-2] + 0.035j, line_v, 1)

    # --- forehead and frown lines
    if e["forehead_lines"] > 0:
        for i in range(2 + int(u[29] * 2)):
            y = brow_base - 0.16 - 0.09 * i
            sc.line(yaw + 0.35 * _X7 + 1j * (y + 0.04 * _X7**2), line_v, 2 if e["forehead_lines"] > 0.5 else 1)
    if e["frown_lines"] > 0:
        for sx in (-1, 1):
            x = yaw + sx * 0.06
            sc.line([x + 1j * (brow_base - 0.11), x - sx * 0.015 + 1j * (brow_base + 0.05)], line_v, 2)

    # --- brows: a curve from the inner end over the middle to the outer end
    for sx in (-1, 1):
        inner = complex(yaw + sx * (eye_x - eye_w * 0.95 - e["brow_inner_dx"]), brow_base + 0.02 + e["brow_inner_dy"])
        outer = complex(yaw + sx * (eye_x + eye_w * 1.2), brow_base + 0.05)
        mid = (inner + outer) / 2 - 1j * (e["brow_arch"] + 0.02)
        sc.line(_B9 @ np.array([inner, mid, outer]), brow_v, brow_t)

    # --- glasses on some faces
    if u[30] < 0.12:
        glass_v = skin * 0.2 if u[31] < 0.7 else min(255.0, skin + 60)
        for sx in (-1, 1):
            ring = complex(yaw + sx * eye_x, eye_y) + (eye_w + 0.07) * _RING20.real + 0.13j * _RING20.imag
            sc.line(np.append(ring, ring[0]), glass_v, 2)
        sc.line([yaw - eye_x + eye_w + 0.07 + 1j * (eye_y - 0.02), yaw + eye_x - eye_w - 0.07 + 1j * (eye_y - 0.02)],
                glass_v, 2)

    # --- nose: one side of the bridge, nostrils, wrinkles
    nx = yaw * 1.5
    side = 1.0 if u[31] < 0.5 else -1.0
    sc.line([nx + side * 0.07 + 1j * (eye_y + 0.08), nx + side * 0.1 + 1j * (nose_y - 0.03)], line_v, 1)
    for sx in (-1, 1):
        sc.fill(complex(nx + sx * 0.06, nose_y + 0.02) + 0.035 * _RING8.real + 0.022j * _RING8.imag, skin * 0.45)
    if e["nose_wrinkle"] > 0:
        for i in range(3):
            y = eye_y + 0.02 + 0.05 * i
            sc.line([nx - 0.07 + 1j * (y + 0.01), nx + 1j * (y - 0.01), nx + 0.07 + 1j * (y + 0.01)], line_v, 2)

    # --- cheek (nasolabial) lines from beside the nose to beside the mouth corners
    mw, corner_y = e["mouth_w"], mouth_y + e["mouth_corner"]
    if e["cheek_lines"] > 0:
        for sx in (-1, 1):
            strength = e["cheek_lines"] * (1.0 if sx == e["side"] or e["lip_raise"] == 0 else 0.6)
            if strength >= 0.3:
                p0 = complex(nx + sx * 0.16, nose_y - 0.04)
                p2 = complex(yaw + sx * (mw + 0.07), corner_y + 0.02)
                p1 = complex(p2.real + sx * 0.06, (p0.imag + p2.imag) / 2)
                sc.line(_B7 @ np.array([p0, p1, p2]), line_v, 2)

    # --- mouth: upper and lower lip curves through the two corners
    xn = _X17
    prof = (1 - xn**2) ** (1.0 - 0.5 * e["mouth_round"])  # opening: parabola (stretched) .. half ellipse (round)
    curve = mouth_y + e["mouth_corner"] * xn**2 + 0.01 * xn**8  # smile (corner < 0) or frown (corner > 0)
    op = e["mouth_open"]
    up = curve - op * 0.45 * prof
    lo = curve + op * 0.55 * prof
    if e["lip_raise"] > 0:  # sneer: one side of the upper lip pulled up
        s = np.clip(xn * e["side"], 0.0, 1.0)
        up = np.minimum(up - e["lip_raise"] * s**1.5 * np.sin(np.pi * s) ** 0.3, lo)
    x = yaw + mw * xn
    lip_v = skin * (lerp(32, 0.35, 0.6) if label != 0 else 0.3)
    if op > 0.02 or e["lip_raise"] > 0.03:
        upper, lower = x + 1j * up, x + 1j * lo
        sc.fill(np.append(upper, lower[::-1]), skin * 0.18)
        if e["teeth"] > 0.5:
            tooth_h = np.minimum(lo - up, 0.06 + 0.2 * (lo - up)) * prof**0.3
            sc.fill(np.append(upper, (upper + 1j * tooth_h)[::-1]), min(255.0, skin + 45))
        sc.line(upper, lip_v, 2)
        sc.line(lower, lip_v, 2)
    else:
        sc.line(x + 1j * up, lip_v, 2 + (label != 0 and u[33] > 0.5))
    sc.line(x[4:-4] + 1j * (lo[4:-4] + 0.07), skin * 0.8, 2 if label != 0 else 1)  # shadow under the lower lip

    return sc.render(background, center, scale, angle)


_BLUR_KERNEL = (0.06136, 0.24477, 0.38774, 0.24477, 0.06136)  # Gaussian, sigma = 1 pixel


def _finish(drawings: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, contrast, lighting gradient and noise for a batch of drawings (N, 48, 48) uint8, all at once."""
    n = drawings.shape[0]
    amount, contrast, gx, gy, sigma = (
        rng.uniform(lo, hi, size=(n, 1, 1)).astype(np.float32)
        for lo, hi in ((0.0, 0.8), (0.75, 1.15), (-0.3, 0.3), (-0.3, 0.3), (2.0, 8.0))
    )
    noise = rng.standard_normal(size=drawings.shape, dtype=np.float32)
    x = drawings.astype(np.float32)
    # blur: blend each face with its Gaussian-blurred copy (one separable 5-tap filter over the whole batch)
    pad = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="edge")
    rows = _BLUR_KERNEL[0] * pad[:, 0:FACE_SIZE, :]
    for i in range(1, 5):
        rows += _BLUR_KERNEL[i] * pad[:, i : i + FACE_SIZE, :]
    blurred = _BLUR_KERNEL[0] * rows[:, :, 0:FACE_SIZE]
    for i in range(1, 5):
        blurred += _BLUR_KERNEL[i] * rows[:, :, i : i + FACE_SIZE]
    x += amount * (blurred - x)
    # contrast around mid-gray, then a linear lighting gradient (light from one side, from above or below)
    g = np.linspace(-1.0, 1.0, FACE_SIZE, dtype=np.float32)
    x -= 128.0
    x *= contrast
    x += 128.0
    x *= 1.0 + gx * g[None, None, :] + gy * g[:, None]
    # sensor noise of a random strength
    x += sigma * noise
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def render_face(label: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one synthetic face showing emotion ``label`` (0..6): a (48, 48) uint8 grayscale image.

    All randomness (pose, face shape, lighting, noise, and how strongly the emotion shows) comes from ``rng``,
    a ``numpy.random.Generator``; the same generator state gives the same face::

        rng = np.random.default_rng(0)
        face = render_face(3, rng)   # a happy face
    """
    label = int(label)
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"label {label} is outside 0..{NUM_CLASSES - 1}")
    return _finish(_draw(label, rng)[None], rng)[0]


def generate_faces(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A balanced synthetic data set: ``per_class`` faces of each of the 7 emotions, in shuffled order.

    Returns ``(images, labels)``: images ``(7 * per_class, 48, 48)`` uint8 and labels ``(7 * per_class,)`` int64,
    the same layout as :func:`fer_helpers.data.load_fer2013` gives. The same ``seed`` always gives the same faces;
    different seeds give different faces (use one seed for training and another for testing).
    """
    per_class = int(per_class)
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), per_class))
    drawings = np.empty((labels.size, FACE_SIZE, FACE_SIZE), dtype=np.uint8)
    for i, label in enumerate(labels):
        drawings[i] = _draw(int(label), rng)
    return _finish(drawings, rng), labels


def assign_usage(labels, seed: int = 0, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> np.ndarray:
    """FER2013's ``Usage`` column for these labels: ``"Training"``, ``"PublicTest"`` or ``"PrivateTest"``.

    The split is *stratified*: within each class the rows are shuffled (with ``seed``) and the first
    ``fractions[0]`` of them become Training, the next ``fractions[1]`` PublicTest, the rest PrivateTest, so every
    split has the same class balance. The fractions are normalised to sum to 1. Returns a numpy array of str.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (len(USAGES),) or np.any(f < 0) or f.sum() <= 0:
        raise ValueError(f"fractions must be {len(USAGES)} non-negative numbers with a positive sum, got {fractions}")
    f = f / f.sum()
    rng = np.random.default_rng(seed)
    usage = np.empty(labels.shape[0], dtype=f"<U{max(map(len, USAGES))}")
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cuts = np.rint(np.cumsum(f)[:-1] * idx.size).astype(int)
        for name, part in zip(USAGES, np.split(idx, cuts)):
            usage[part] = name
    return usage


def _write_sample(path, per_class: int, seed: int) -> tuple[pathlib.Path, np.ndarray]:
    from .data import write_fer_csv

    per_class = int(per_class)
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    images, labels = generate_faces(per_class, seed=seed)
    usage = assign_usage(labels, seed=seed)
    return write_fer_csv(pathlib.Path(path), images, labels, usage), usage


def make_sample(path, per_class: int, seed: int = 0) -> pathlib.Path:
    """Generate ``per_class`` faces per emotion, split them, and write a FER2013-format CSV to ``path``.

    The rows are :func:`generate_faces` ``(per_class, seed)`` with the ``Usage`` of :func:`assign_usage`
    ``(labels, seed)`` (80% Training, 10% PublicTest, 10% PrivateTest in every class). The file has Kaggle's
    columns ``emotion,pixels,Usage`` (gzip-compressed when ``path`` ends in ``.gz``), so every loader of the series
    reads it like the real FER2013. Returns the path written.
    """
    return _write_sample(path, per_class, seed)[0]


def sample_csv_path() -> pathlib.Path:
    """The synthetic sample CSV: :data:`SAMPLE_CSV` in a checkout of the project, else the same file regenerated.

    Where only the package is installed (Google Colab, ``pip install``), ``data/`` does not exist; the file is then
    written once into the cache (:func:`fer_helpers.data.cache_dir`) with :func:`make_sample` and the committed
    ``SAMPLE_PER_CLASS`` and ``SAMPLE_SEED``, which give the same rows, byte for byte.
    """
    if SAMPLE_CSV.exists():
        return SAMPLE_CSV
    import os

    from .data import cache_dir

    version = hashlib.blake2b(pathlib.Path(__file__).read_bytes(), digest_size=4).hexdigest()
    target = cache_dir() / f"{SAMPLE_CSV.stem}_{version}.csv"
    if not target.exists():
        tmp = target.with_suffix(f".tmp{os.getpid()}.csv")
        make_sample(tmp, SAMPLE_PER_CLASS, SAMPLE_SEED)
        os.replace(tmp, target)
    return target


def make_sample_cli(args) -> int:
    """``python -m fer_helpers make-sample --out PATH --per-class N [--seed S]``: write a synthetic sample CSV."""
    if args.per_class is None or int(args.per_class) < 1:
        raise ValueError(f"--per-class must be at least 1 (faces per emotion), got {args.per_class}")
    per_class = int(args.per_class)
    path, usage = _write_sample(args.out, per_class, int(args.seed))
    counts = ", ".join(f"{name} {int(np.sum(usage == name))}" for name in USAGES)
    print(f"wrote {path}: {usage.size} synthetic faces, {per_class} per emotion ({', '.join(EMOTIONS)})")
    print(f"rows per Usage: {counts}")
    print(f"size: {path.stat().st_size} bytes")
    return 0
