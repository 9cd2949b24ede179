"""The embedded synthetic data set: FER2013-style 48x48 gray faces drawn with OpenCV.

FER2013 may not be redistributed, so the package draws its own faces. The *geometry* of a face shows its emotion:

=========  =====================================================================================================
Angry      brows lowered and pulled together, frown lines, narrowed eyes, a tight mouth (sometimes bared teeth)
Disgust    lowered brows, narrowed eyes, a wrinkled nose, the upper lip raised on one side, cheek lines
Fear       brows raised and pulled together, wide-open eyes, a wide, stretched open mouth
Happy      a smile (corners up, often open with teeth), raised cheeks that narrow the eyes, smile lines
Sad        inner ends of the brows raised, drooping eyelids, mouth corners turned down
Surprise   high arched brows, forehead lines, wide-open eyes, a round open mouth
Neutral    straight brows, relaxed eyes, a straight closed mouth
=========  =====================================================================================================

Everything else varies from face to face: pose, face shape, feature positions, hair, glasses, gray values,
lighting, blur and noise; each emotion is shown at a random intensity.

A face is drawn in three steps: sample its expression (:func:`_expression`) and its identity and pose
(:func:`_layout`); describe every part as polygons in face units and draw them, mapped to pixels, on a canvas twice
the final size, then shrink it to 48x48 (:func:`_draw`); add lighting, blur and noise to the whole batch
(:func:`_finish`). Entry points: :func:`generate_faces` and :func:`assign_usage`.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Sequence

import numpy as np

from .labels import EMOTIONS, NUM_CLASSES, USAGES
from .preprocessing import FACE_SIZE

_UP = 2  # faces are drawn at _UP times the final size, then shrunk with INTER_AREA (anti-aliasing)
_SHIFT = 3  # cv2 drawing calls get coordinates in 1/2**_SHIFT pixels (sub-pixel accuracy)
_CANVAS = FACE_SIZE * _UP

# A face's expression is a handful of numbers. NEUTRAL gives their resting values; EXPRESSIONS[name] how far each
# moves for that emotion at full intensity. Coordinates are in "face units": the face oval is about 2 units wide,
# x points right and y *down* (like image rows), so a negative dy raises a feature.
#   brow_y: whole brow up (-) or down (+)          brow_inner_dy: inner brow ends up (-) or down (+)
#   brow_inner_dx: inner ends towards the nose (+) brow_arch: middle of the brow above the line between its ends
#   eye_open: upper-lid opening (1: resting)       lower_lid: lower lid pushed up (cheek raise, squint), 0..1
#   mouth_w: half width of the mouth               mouth_corner: corners up (-, smile) or down (+)
#   mouth_open: gap between the lips               mouth_round: 0 stretched opening, 1 round "O"
#   lip_raise: upper lip raised on one side        teeth, nose_wrinkle, cheek_lines, forehead_lines, frown_lines: 0..1
NEUTRAL: dict[str, float] = {
    "brow_y": 0.0, "brow_inner_dy": 0.0, "brow_inner_dx": 0.0, "brow_arch": 0.03, "eye_open": 1.0, "lower_lid": 0.0,
    "mouth_w": 0.36, "mouth_corner": 0.0, "mouth_open": 0.0, "mouth_round": 0.0, "lip_raise": 0.0, "teeth": 0.0,
    "nose_wrinkle": 0.0, "cheek_lines": 0.0, "forehead_lines": 0.0, "frown_lines": 0.0,
}

EXPRESSIONS: dict[str, dict[str, float]] = {
    "Angry": {"brow_y": 0.06, "brow_inner_dy": 0.13, "brow_inner_dx": 0.06, "brow_arch": -0.03, "eye_open": -0.3,
              "lower_lid": 0.25, "mouth_w": -0.08, "mouth_corner": 0.03, "frown_lines": 1.0},
    "Disgust": {"brow_y": 0.05, "brow_inner_dy": 0.06, "brow_inner_dx": 0.03, "brow_arch": -0.02, "eye_open": -0.3,
                "lower_lid": 0.4, "mouth_w": -0.04, "mouth_corner": 0.05, "mouth_open": 0.02, "lip_raise": 0.13,
                "nose_wrinkle": 1.0, "cheek_lines": 0.6},
    "Fear": {"brow_y": -0.09, "brow_inner_dy": -0.08, "brow_inner_dx": 0.05, "brow_arch": -0.02, "eye_open": 0.55,
             "mouth_w": 0.08, "mouth_corner": 0.03, "mouth_open": 0.11, "teeth": 0.6, "forehead_lines": 0.6},
    "Happy": {"brow_y": -0.02, "eye_open": -0.25, "lower_lid": 0.45, "mouth_w": 0.07, "mouth_corner": -0.16,
              "mouth_open": 0.06, "teeth": 1.0, "cheek_lines": 1.0},
    "Sad": {"brow_y": -0.01, "brow_inner_dy": -0.12, "brow_inner_dx": 0.02, "brow_arch": -0.04, "eye_open": -0.2,
            "mouth_w": -0.03, "mouth_corner": 0.15},
    "Surprise": {"brow_y": -0.17, "brow_arch": 0.07, "eye_open": 0.6, "mouth_w": -0.15, "mouth_open": 0.22,
                 "mouth_round": 1.0, "forehead_lines": 1.0},
    "Neutral": {},  # the resting face
}

# How much each expression number varies between faces of the same emotion (standard deviations, face units).
_JITTER: dict[str, float] = {
    "brow_y": 0.035, "brow_inner_dy": 0.03, "brow_inner_dx": 0.02, "brow_arch": 0.02, "eye_open": 0.12,
    "lower_lid": 0.05, "mouth_w": 0.035, "mouth_corner": 0.022, "mouth_open": 0.015,
}

#: Range of the random expression intensity: 1.0 is the full expression of :data:`EXPRESSIONS`, 0 is neutral.
INTENSITY_RANGE: tuple[float, float] = (0.5, 1.0)


def _expression(label: int, rng: np.random.Generator) -> dict[str, float]:
    """Sample the expression numbers of one face of emotion ``label``."""
    name = EMOTIONS[label]
    t = rng.uniform(*INTENSITY_RANGE)
    e = {k: v + t * EXPRESSIONS[name].get(k, 0.0) for k, v in NEUTRAL.items()}
    for (k, sd), z in zip(_JITTER.items(), rng.normal(size=len(_JITTER))):
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


def _layout(u: list[float], angry: bool) -> SimpleNamespace:
    """A face's identity and pose from 34 uniform numbers in 0..1: position, sizes, feature places, gray values."""

    def lerp(i: int, lo: float, hi: float) -> float:
        return lo + (hi - lo) * u[i]

    skin, background = lerp(4, 95.0, 215.0), lerp(5, 15.0, 240.0)
    if abs(background - skin) < 20:  # keep the face visible against the background
        background = skin + (35.0 if skin < 128 else -35.0)
    hair_style = int(u[9] * 4)  # 0: none or very short, 1: short, 2: long, 3: fringe
    return SimpleNamespace(
        scale=lerp(0, 15.0, 19.0),  # pixels (of the 48x48 face) per face unit
        angle=math.radians(lerp(1, -12.0, 12.0)),
        center=complex(24.0 + lerp(2, -3.0, 3.0), 25.0 + lerp(3, -3.0, 3.0)),
        skin=skin, background=background, fw=lerp(6, 0.88, 1.04), fh=lerp(7, 1.18, 1.36), jaw=lerp(8, 0.0, 0.25),
        hair_style=hair_style, hair=lerp(10, 15.0, 120.0) if u[11] < 0.8 else min(250.0, skin + 40),
        neck=skin * lerp(12, 0.7, 0.95), fringe=lerp(13, 0.22, 0.38) if hair_style == 3 else lerp(13, 0.06, 0.2),
        yaw=lerp(14, -0.08, 0.08),  # the features shifted sideways a little: a turned head
        eye_x=lerp(15, 0.34, 0.42), eye_y=lerp(16, -0.26, -0.14), eye_w=lerp(17, 0.15, 0.2), eye_h=lerp(18, 0.08, 0.1),
        brow_gap=lerp(19, 0.17, 0.24), nose_y=lerp(20, 0.2, 0.3), mouth_y=lerp(21, 0.5, 0.64),
        brow_t=3 + int(u[22] * 3),  # brow thickness in canvas pixels
        brow_v=skin * lerp(23, 0.2, 0.55), line_v=skin * lerp(24, 0.55, 0.75),  # line_v: wrinkles and folds
        iris_v=skin * lerp(25, 0.1, 0.35), lid_v=skin * lerp(26, 0.15, 0.4),
        sclera_v=min(255.0, skin + lerp(27, 15.0, 50.0)), gaze=lerp(28, -0.04, 0.04), forehead_n=2 + int(u[29] * 2),
        glasses=u[30] < 0.12, glass_v=skin * 0.2 if u[31] < 0.7 else min(255.0, skin + 60),
        nose_side=1.0 if u[31] < 0.5 else -1.0, lip_v=skin * (0.3 if angry else lerp(32, 0.35, 0.6)),
        lip_t=2 + (not angry and u[33] > 0.5), shadow_t=1 if angry else 2,
    )


# Shapes are complex arrays x + iy in face units; the affine map to pixels is then one complex multiply-add.
_B7, _B9 = (np.stack([(1 - t) ** 2, 2 * t * (1 - t), t**2], axis=1) for t in (np.linspace(0.0, 1.0, n) for n in (7, 9)))
_RING8, _RING12, _RING20 = (np.exp(2j * np.pi * np.arange(n) / n) for n in (8, 12, 20))
_A40 = 2 * np.pi * np.arange(40) / 40
_COS40, _SIN40 = np.cos(_A40), np.sin(_A40)
_JAW40 = np.clip(_SIN40, 0, 1) ** 2  # how much each oval point narrows with a pointed jaw
_TOP_ARC = np.exp(-1j * np.linspace(0.3, np.pi - 0.3, 13))  # upper arc of a unit circle, right to left
_HALF_TOP = np.exp(-1j * np.linspace(np.pi, 0.0, 15))  # left, top, right
_X7, _X13, _X15, _X17 = (np.linspace(-1.0, 1.0, n) for n in (7, 13, 15, 17))
_LID_UP, _LID_LO = (1 - _X13**2) ** 0.8, (1 - _X13**2) ** 0.9
_NECK = np.array([-0.45 + 0.9j, 0.45 + 0.9j, 0.5 + 1.6j, 1.6 + 1.9j, 1.7 + 2.6j, -1.7 + 2.6j, -1.6 + 1.9j, -0.5 + 1.6j])


class _Scene(list):
    """Shapes in drawing order: (points in face units, gray value, line thickness; 0 fills the polygon)."""

    def line(self, z, value: float, thickness: int = 0) -> None:
        """Add a polyline ``thickness`` canvas pixels wide, or a filled polygon when ``thickness`` is 0."""
        self.append((np.asarray(z, np.complex128), value, thickness))

    fill = line  # fill(z, value): a filled polygon

    def render(self, f: SimpleNamespace) -> np.ndarray:
        """Map the shapes to canvas pixels (rotate, scale, move the face centre to ``f.center``), draw, shrink."""
        import cv2

        k = f.scale * _UP * (1 << _SHIFT)
        z = np.concatenate([p for p, _, _ in self]) * (k * complex(math.cos(f.angle), math.sin(f.angle)))
        pix = np.rint((z + f.center * _UP * (1 << _SHIFT)).view(np.float64)).astype(np.int32).reshape(-1, 2)
        img = np.full((_CANVAS, _CANVAS), int(f.background + 0.5), np.uint8)
        i = 0
        for points, value, thickness in self:
            pts, i = pix[i : i + len(points)], i + len(points)
            if thickness:
                cv2.polylines(img, [pts], False, int(value + 0.5), int(thickness), cv2.LINE_8, _SHIFT)
            else:
                cv2.fillPoly(img, [pts], int(value + 0.5), cv2.LINE_8, _SHIFT)
        return cv2.resize(img, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)


def _head(sc: _Scene, f: SimpleNamespace, e: dict) -> None:
    """Hair behind the head, neck, face oval, hair on top."""
    fw, fh = f.fw, f.fh
    if f.hair_style == 2:  # long hair hangs down past the jaw
        sc.fill(np.append((fw + 0.18) * _HALF_TOP.real + 1j * (fh + 0.05) * _HALF_TOP.imag - 0.15j,
                          [fw + 0.3 + 1.45j, -fw - 0.3 + 1.45j]), f.hair)
    elif f.hair_style:
        sc.fill(((fw + 0.14) * _RING20.real + 1j * (fh + 0.02) * _RING20.imag) - 0.12j, f.hair)
    sc.fill(_NECK, f.neck)
    sc.fill(fw * _COS40 * (1 - f.jaw * _JAW40) + 1j * (fh * _SIN40 + 0.05), f.skin)
    if f.hair_style:
        fringe = -fh + 0.05 + f.fringe
        sc.fill(np.append(fw * _X15 + 1j * (fringe + 0.12 * (1 - _X15**2) + 0.15 * np.abs(_X15) ** 3),
                          (fw + 0.01) * _TOP_ARC.real + 1j * ((fh + 0.01) * _TOP_ARC.imag + 0.05)), f.hair)


def _eyes(sc: _Scene, f: SimpleNamespace, e: dict) -> None:
    """Whites, irises, skin over the irises outside the lids, upper lid lines, lower lid folds."""
    for sx in (-1, 1):
        cx = f.yaw + sx * f.eye_x
        x = cx + f.eye_w * _X13
        tilt = f.eye_y - sx * 0.015 * _X13  # outer corners slightly higher
        upper = x + 1j * (tilt - f.eye_h * e["eye_open"] * _LID_UP)
        lower = x + 1j * (tilt + f.eye_h * (0.75 - e["lower_lid"]) * _LID_LO)
        sc.fill(np.append(upper, lower[::-1]), f.sclera_v)
        sc.fill(0.08 * _RING12 + complex(cx + f.gaze, f.eye_y + 0.005), f.iris_v)
        sc.fill(np.append(upper, [cx + f.eye_w + 1j * (f.eye_y - 0.12), cx - f.eye_w + 1j * (f.eye_y - 0.12)]), f.skin)
        sc.fill(np.append(lower, [cx + f.eye_w + 1j * (f.eye_y + 0.12), cx - f.eye_w + 1j * (f.eye_y + 0.12)]), f.skin)
        sc.line(upper - 0.01j, f.lid_v, 2 + (e["eye_open"] < 0.8))
        if e["lower_lid"] > 0.25:  # a raised cheek bunches the lower lid
            sc.line(lower[2:-2] + 0.035j, f.line_v, 1)


def _brows(sc: _Scene, f: SimpleNamespace, e: dict) -> None:
    """Forehead and frown lines, then the brows: curves from the inner end over the middle to the outer end."""
    base = f.eye_y - f.brow_gap + e["brow_y"]
    for i in range(f.forehead_n if e["forehead_lines"] > 0 else 0):
        y = base - 0.16 - 0.09 * i
        sc.line(f.yaw + 0.35 * _X7 + 1j * (y + 0.04 * _X7**2), f.line_v, 2 if e["forehead_lines"] > 0.5 else 1)
    for sx in (-1, 1) if e["frown_lines"] > 0 else ():
        x = f.yaw + sx * 0.06
        sc.line([x + 1j * (base - 0.11), x - sx * 0.015 + 1j * (base + 0.05)], f.line_v, 2)
    for sx in (-1, 1):
        inner = complex(f.yaw + sx * (f.eye_x - f.eye_w * 0.95 - e["brow_inner_dx"]), base + 0.02 + e["brow_inner_dy"])
        outer = complex(f.yaw + sx * (f.eye_x + f.eye_w * 1.2), base + 0.05)
        mid = (inner + outer) / 2 - 1j * (e["brow_arch"] + 0.02)
        sc.line(_B9 @ np.array([inner, mid, outer]), f.brow_v, f.brow_t)


def _glasses(sc: _Scene, f: SimpleNamespace, e: dict) -> None:
    """Glasses on some faces: two rings and a bridge."""
    if f.glasses:
        for sx in (-1, 1):
            ring = complex(f.yaw + sx * f.eye_x, f.eye_y) + (f.eye_w + 0.07) * _RING20.real + 0.13j * _RING20.imag
            sc.line(np.append(ring, ring[0]), f.glass_v, 2)
        y = 1j * (f.eye_y - 0.02)
        sc.line([f.yaw - f.eye_x + f.eye_w + 0.07 + y, f.yaw + f.eye_x - f.eye_w - 0.07 + y], f.glass_v, 2)


def _nose(sc: _Scene, f: SimpleNamespace, e: dict) -> None:
    """One side of the nose bridge, nostrils, wrinkles, and the cheek folds from the nose to the mouth corners."""
    nx, side = f.yaw * 1.5, f.nose_side
    sc.line([nx + side * 0.07 + 1j * (f.eye_y + 0.08), nx + side * 0.1 + 1j * (f.nose_y - 0.03)], f.line_v, 1)
    for sx in (-1, 1):
        sc.fill(complex(nx + sx * 0.06, f.nose_y + 0.02) + 0.035 * _RING8.real + 0.022j * _RING8.imag, f.skin * 0.45)
    for i in range(3 if e["nose_wrinkle"] > 0 else 0):
        y = f.eye_y + 0.02 + 0.05 * i
        sc.line([nx - 0.07 + 1j * (y + 0.01), nx + 1j * (y - 0.01), nx + 0.07 + 1j * (y + 0.01)], f.line_v, 2)
    for sx in (-1, 1) if e["cheek_lines"] > 0 else ():
        if e["cheek_lines"] * (1.0 if sx == e["side"] or e["lip_raise"] == 0 else 0.6) >= 0.3:
            p0 = complex(nx + sx * 0.16, f.nose_y - 0.04)
            p2 = complex(f.yaw + sx * (e["mouth_w"] + 0.07), f.mouth_y + e["mouth_corner"] + 0.02)
            p1 = complex(p2.real + sx * 0.06, (p0.imag + p2.imag) / 2)
            sc.line(_B7 @ np.array([p0, p1, p2]), f.line_v, 2)


def _mouth(sc: _Scene, f: SimpleNamespace, e: dict) -> None:
    """Upper and lower lip curves through the two corners, the opening and teeth, the shadow under the lip."""
    xn = _X17
    prof = (1 - xn**2) ** (1.0 - 0.5 * e["mouth_round"])  # opening: parabola (stretched) .. half ellipse (round)
    curve = f.mouth_y + e["mouth_corner"] * xn**2 + 0.01 * xn**8  # smile (corner < 0) or frown (corner > 0)
    up, lo = curve - e["mouth_open"] * 0.45 * prof, curve + e["mouth_open"] * 0.55 * prof
    if e["lip_raise"] > 0:  # sneer: one side of the upper lip pulled up
        s = np.clip(xn * e["side"], 0.0, 1.0)
        up = np.minimum(up - e["lip_raise"] * s**1.5 * np.sin(np.pi * s) ** 0.3, lo)
    x = f.yaw + e["mouth_w"] * xn
    if e["mouth_open"] > 0.02 or e["lip_raise"] > 0.03:
        upper, lower = x + 1j * up, x + 1j * lo
        sc.fill(np.append(upper, lower[::-1]), f.skin * 0.18)
        if e["teeth"] > 0.5:
            tooth_h = np.minimum(lo - up, 0.06 + 0.2 * (lo - up)) * prof**0.3
            sc.fill(np.append(upper, (upper + 1j * tooth_h)[::-1]), min(255.0, f.skin + 45))
        sc.line(upper, f.lip_v, 2)
        sc.line(lower, f.lip_v, 2)
    else:
        sc.line(x + 1j * up, f.lip_v, f.lip_t)
    sc.line(x[4:-4] + 1j * (lo[4:-4] + 0.07), f.skin * 0.8, f.shadow_t)  # shadow under the lower lip


def _draw(label: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one face of emotion ``label`` (no lighting, blur or noise yet): (48, 48) uint8."""
    e = _expression(label, rng)
    f = _layout(rng.random(34).tolist(), angry=EMOTIONS[label] == "Angry")
    sc = _Scene()
    for part in (_head, _eyes, _brows, _glasses, _nose, _mouth):
        part(sc, f, e)
    return sc.render(f)


_BLUR_KERNEL = (0.06136, 0.24477, 0.38774, 0.24477, 0.06136)  # Gaussian, sigma = 1 pixel


def _finish(drawings: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, contrast, lighting gradient and noise for a batch of drawings (N, 48, 48) uint8, all at once."""
    n = drawings.shape[0]
    amount, contrast, gx, gy, sigma = (rng.uniform(lo, hi, size=(n, 1, 1)).astype(np.float32)
                                       for lo, hi in ((0.0, 0.8), (0.75, 1.15), (-0.3, 0.3), (-0.3, 0.3), (2.0, 8.0)))
    noise = rng.standard_normal(size=drawings.shape, dtype=np.float32)
    x = drawings.astype(np.float32)
    # blur: blend each face with its Gaussian-blurred copy (a separable 5-tap filter over the whole batch)
    pad = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="edge")
    rows = sum(_BLUR_KERNEL[i] * pad[:, i : i + FACE_SIZE, :] for i in range(5))
    blurred = sum(_BLUR_KERNEL[i] * rows[:, :, i : i + FACE_SIZE] for i in range(5))
    x += amount * (blurred - x)
    # contrast around mid-gray, a linear lighting gradient (light from one side, above or below), sensor noise
    g = np.linspace(-1.0, 1.0, FACE_SIZE, dtype=np.float32)
    x = ((x - 128.0) * contrast + 128.0) * (1.0 + gx * g[None, None, :] + gy * g[:, None])
    return np.clip(np.rint(x + sigma * noise), 0, 255).astype(np.uint8)


def generate_faces(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A balanced, shuffled set of ``per_class`` faces per emotion: images (N, 48, 48) uint8 and labels (N,) int64.

    The same ``seed`` always gives the same faces; different seeds give different faces.
    """
    if int(per_class) < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), int(per_class)))
    drawings = np.array([_draw(int(label), rng) for label in labels], np.uint8).reshape(-1, FACE_SIZE, FACE_SIZE)
    return _finish(drawings, rng), labels


def assign_usage(labels, seed: int = 0, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> np.ndarray:
    """A stratified, seeded ``Usage`` column (Training, PublicTest, PrivateTest) for these labels.

    Within each class the rows are shuffled and cut by ``fractions`` (normalised to sum to 1).
    """
    labels = np.asarray(labels)
    f = np.asarray(fractions, dtype=np.float64)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    if f.shape != (len(USAGES),) or np.any(f < 0) or f.sum() <= 0:
        raise ValueError(f"fractions must be {len(USAGES)} non-negative numbers with a positive sum, got {fractions}")
    rng = np.random.default_rng(seed)
    usage = np.empty(len(labels), dtype=f"<U{max(map(len, USAGES))}")
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        for name, part in zip(USAGES, np.split(idx, np.rint(np.cumsum(f / f.sum())[:-1] * idx.size).astype(int))):
            usage[part] = name
    return usage
