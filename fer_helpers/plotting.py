"""Figures for the early lessons (grids of faces, class balance, pixel histograms) and their shared helpers.

Every function returns a matplotlib ``Figure`` and never calls ``plt.show()``: a notebook shows it by ending a
cell with ``fig = ...`` (inline backend) or ``display(fig)``, and tests can inspect it.

Class names carry their emoji only where an installed font can draw it (DejaVu Sans, matplotlib's default, has six
of the seven); otherwise the plain name is used, so figures never show empty boxes or raise font warnings.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from .labels import EMOJIS, EMOTIONS, NUM_CLASSES, USAGES
from .preprocessing import prepare_faces

_EMOJI_FONT_HINTS = ("emoji", "symbola", "segoe ui symbol")


@functools.lru_cache(maxsize=None)
def emoji_support() -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """``(extra font families, drawable flag per class)``.

    The emojis count as drawable when the default font and the installed scalable emoji fonts (Noto Emoji, Symbola,
    Segoe UI Emoji, ...) have glyphs for all seven; with one missing, no class gets one, so that a figure never shows
    six emojis and a bare name. Matplotlib cannot draw colour-bitmap fonts, so each candidate font is test-rendered
    first. Anything unexpected means "no emojis": plain names are always acceptable.
    """
    try:
        from matplotlib import font_manager
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ft2font import FT2Font

        def charmap(path: str) -> set[int]:
            return set(FT2Font(path).get_charmap())

        codes: set[int] = set()
        codes |= charmap(font_manager.findfont(font_manager.FontProperties(), fallback_to_default=True))
        extra: list[str] = []
        for entry in font_manager.fontManager.ttflist:
            if entry.name in extra or not any(h in entry.name.lower() for h in _EMOJI_FONT_HINTS):
                continue
            try:
                font_codes = charmap(entry.fname)
                if not any(ord(e) in font_codes for e in EMOJIS):
                    continue
                fig = Figure(figsize=(1, 1))
                FigureCanvasAgg(fig)
                fig.text(0, 0, "".join(EMOJIS), family=entry.name)
                fig.canvas.draw()
            except Exception:  # noqa: BLE001 - a font matplotlib cannot render is simply not used
                continue
            extra.append(entry.name)
            codes |= font_codes
        drawable = all(ord(e) in codes for e in EMOJIS)
        return (tuple(extra) if drawable else ()), (drawable,) * NUM_CLASSES
    except Exception:  # noqa: BLE001
        return (), (False,) * NUM_CLASSES


def class_label(label: int, with_emoji: bool | None = None) -> str:
    """``"😄 Happy"`` when the emoji can be drawn, else ``"Happy"``.

    ``with_emoji=None`` decides by the installed fonts; ``True``/``False`` force either form.
    """
    label = int(label)
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"label {label} is outside 0..{NUM_CLASSES - 1}")
    if with_emoji is None:
        with_emoji = emoji_support()[1][label]
    return f"{EMOJIS[label]} {EMOTIONS[label]}" if with_emoji else EMOTIONS[label]


def class_labels() -> list[str]:
    """:func:`class_label` of every class, in label order."""
    return [class_label(i) for i in range(NUM_CLASSES)]


@contextlib.contextmanager
def figure_context():
    """Font fallback to the emoji fonts (if any) while a figure's texts are created."""
    import matplotlib

    extra = emoji_support()[0]
    if not extra:
        yield
        return
    families = list(matplotlib.rcParams["font.family"]) + [f for f in extra]
    with matplotlib.rc_context({"font.family": families}):
        yield


def subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots``, importing pyplot only when a figure is drawn."""
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def face_axes(n: int, ncols: int, size: tuple[float, float], **kwargs):
    """A figure with ``n`` axes in rows of ``ncols``, each ``size`` inches; returns ``(fig, flat list of axes)``."""
    if n == 0:
        raise ValueError("no faces to show")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows + 0.4), squeeze=False, **kwargs)
    for ax in axes.ravel()[n:]:
        ax.remove()
    return fig, list(axes.ravel()[:n])


def show_face(ax, face, title: str = "", **title_kwargs) -> None:
    """Draw one 48x48 face (0..255) in gray, without ticks, under ``title``."""
    ax.imshow(face, cmap="gray", vmin=0, vmax=255)
    ax.axis("off")
    ax.set_title(title, fontsize=8, **title_kwargs)


def face_grid(images, labels=None, ncols: int = 8, max_faces: int = 32, size: float = 1.3):
    """A grid of faces, each titled with its emotion when ``labels`` are given."""
    faces = prepare_faces(images[:max_faces])[..., 0]
    with figure_context():
        fig, axes = face_axes(len(faces), ncols, (size, size + 0.35))
        for i, ax in enumerate(axes):
            show_face(ax, faces[i], "" if labels is None else class_label(labels[i]))
        fig.tight_layout()
    return fig


def class_balance_figure(labels, usage=None, title: str = "Faces per emotion"):
    """Bar chart of faces per class (one colour per ``Usage`` split when given), counts written on the bars."""
    import pandas as pd
    import seaborn as sns

    usage = "all" if usage is None else np.asarray(usage)
    df = pd.DataFrame({"emotion": [class_label(c) for c in np.asarray(labels)], "Usage": usage})
    hue_order = [u for u in USAGES if u in set(df["Usage"])]
    with figure_context():
        fig, ax = subplots(figsize=(9, 4))
        sns.countplot(data=df, x="emotion", hue="Usage" if hue_order else None, order=class_labels(),
                      hue_order=hue_order, ax=ax)
        for container in ax.containers:
            ax.bar_label(container, fontsize=7)
        if hue_order:  # the legend goes beside the axes, where it hides no bar
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.set(xlabel="", ylabel="faces", title=title)
        fig.tight_layout()
    return fig


def pixel_histogram_figure(*arrays, names=None, bins: int = 64, title: str = "Pixel values"):
    """Histograms of pixel values, one panel per array (e.g. before and after normalisation)."""
    names = names or [f"array {i}" for i in range(len(arrays))]
    fig, axes = subplots(1, len(arrays), figsize=(4.5 * len(arrays), 3), squeeze=False)
    for ax, arr, name in zip(axes[0], arrays, names):
        arr = np.asarray(arr).ravel()
        ax.hist(arr, bins=bins, color="steelblue")
        ax.set_title(f"{name}\nmin {arr.min():.3g}, max {arr.max():.3g}, mean {arr.mean():.3g}", fontsize=9)
        ax.set(xlabel="pixel value", ylabel="count")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
