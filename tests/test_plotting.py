import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from fer_helpers import plotting


def test_face_grid_titles_and_faces():
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    labels = np.arange(10) % 7
    fig = plotting.face_grid(faces, labels, ncols=4)
    assert len(fig.axes) == 10  # three rows of four, the two unused cells removed
    assert [ax.get_title() for ax in fig.axes] == [plotting.class_label(label) for label in labels]
    assert np.array_equal(fig.axes[3].images[0].get_array(), faces[3])
    assert [ax.get_title() for ax in plotting.face_grid(list(faces), max_faces=3).axes] == ["", "", ""]
    with pytest.raises(ValueError, match="no faces"):
        plotting.face_grid(np.zeros((0, 48, 48), np.uint8))


def test_class_balance_counts_on_bars():
    labels = np.array([0] * 5 + [3] * 9 + [6] * 2)
    fig = plotting.class_balance_figure(labels)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches if p.get_height() > 0]
    assert sorted(heights) == [2, 5, 9]
    assert [t.get_text() for t in ax.get_xticklabels()] == [plotting.class_label(i) for i in range(7)]


def test_class_balance_legend_beside_the_bars():
    labels = np.repeat(np.arange(7), 10)
    usage = np.array(["Training"] * 56 + ["PublicTest"] * 7 + ["PrivateTest"] * 7)
    fig = plotting.class_balance_figure(labels, usage)
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Training", "PublicTest", "PrivateTest"]
    assert legend.x0 >= ax.get_window_extent(renderer).x1, "the legend sits right of the axes"
    assert legend.x1 <= fig.bbox.x1 + 1, "and inside the figure"


def test_pixel_histograms_one_panel_per_array():
    x = np.arange(256, dtype=np.uint8)
    fig = plotting.pixel_histogram_figure(x, x / 255.0, names=["raw", "normalised"])
    assert len(fig.axes) == 2
    assert "max 255" in fig.axes[0].get_title() and "max 1" in fig.axes[1].get_title()


def test_class_label_never_shows_an_undrawable_emoji():
    """Every label the package chooses draws without a missing-glyph warning, with or without emoji fonts."""
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [plotting.class_label(i) for i in range(7)]
    assert [label.split()[-1] for label in labels] == list(plotting.EMOTIONS)
    with warnings.catch_warnings(record=True) as caught, plotting.figure_context():
        warnings.simplefilter("always")
        fig = Figure()
        FigureCanvasAgg(fig)
        for i, label in enumerate(labels):
            fig.text(0.1, i / 7, label)
        fig.canvas.draw()
    assert not [w for w in caught if "missing from" in str(w.message)]


def test_emojis_are_drawn_for_all_seven_classes_or_none():
    families = plotting.emoji_fonts()
    assert [plotting.class_label(i).startswith(plotting.EMOJIS[i]) for i in range(7)] == [bool(families)] * 7
    if families:  # the default font comes first; the emoji fonts add the glyphs it lacks
        assert len(set(families)) == len(families)
