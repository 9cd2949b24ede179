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

#: Installed fonts whose names contain one of these are tried for the emojis the default font lacks.
EMOJI_FONT_HINTS = ("emoji", "symbola", "segoe ui symbol")


@functools.lru_cache(maxsize=None)
def emoji_fonts() -> tuple[str, ...]:
    """The font families (the default font first, then installed emoji fonts) with which matplotlib draws all seven
    class emojis; ``()`` when one has no font, so that figures show all emojis or none."""
    from matplotlib import font_manager

    paths = [font_manager.findfont(font_manager.FontProperties())] + [
        f.fname for f in font_manager.fontManager.ttflist if any(h in f.name.lower() for h in EMOJI_FONT_HINTS)]
    families, missing = [], set(EMOJIS)
    for path in paths:
        drawn = drawable(path, missing)
        if drawn:
            families.append(font_manager.get_font(path).family_name)
            missing -= drawn
    return () if missing else tuple(dict.fromkeys(families))


def drawable(path: str, chars) -> set[str]:
    """The characters of ``chars`` that matplotlib can draw with the font file ``path`` (none for colour-bitmap
    fonts, which it cannot draw)."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
        font.set_size(12, 72)
        return {c for c in chars if ord(c) in font.get_charmap() and font.load_char(ord(c))}
    except Exception:  # noqa: BLE001 - a font FreeType cannot load or size is simply not used
        return set()


def class_label(label: int, with_emoji: bool | None = None) -> str:
    """``"😄 Happy"`` when the emoji can be drawn, else ``"Happy"``.

    ``with_emoji=None`` decides by the installed fonts; ``True``/``False`` force either form.
    """
    label = int(label)
    if not 0 <= label < NUM_CLASSES:
        raise ValueError(f"label {label} is outside 0..{NUM_CLASSES - 1}")
    if with_emoji is None:
        with_emoji = bool(emoji_fonts())
    return f"{EMOJIS[label]} {EMOTIONS[label]}" if with_emoji else EMOTIONS[label]


def class_labels() -> list[str]:
    """:func:`class_label` of every class, in label order."""
    return [class_label(i) for i in range(NUM_CLASSES)]


@contextlib.contextmanager
def figure_context():
    """Font fallback to the emoji fonts (if any) while a figure's texts are created."""
    import matplotlib

    with matplotlib.rc_context({"font.family": [*matplotlib.rcParams["font.family"], *emoji_fonts()]}):
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
