"""Tests of fer_helpers.augment and fer_helpers.widgets: configs, the Keras layers (each ImageDataGenerator
conversion checked on images with a known marker), the legacy ImageDataGenerator (including its swapped shifts), the
grid of augmented faces and the explorer widget."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import dataclasses
import math

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_helpers import augment as A  # noqa: E402
from fer_helpers.augment import PRESETS, AugmentConfig  # noqa: E402

SIZE = 48
CENTRE = (SIZE - 1) / 2.0  # 23.5: rotations and zooms are about the image centre


# ----------------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------------


def marker(rows, cols, value=255.0, background=0.0):
    """A (48, 48, 1) float32 image: ``background`` with a bright rectangle at rows/cols (slices)."""
    image = np.full((SIZE, SIZE, 1), background, dtype=np.float32)
    image[rows, cols, 0] = value
    return image


def centroid(image, background=0.0):
    """Intensity-weighted centre (row, col) of what differs from the background."""
    image = np.asarray(image, dtype=np.float64).reshape(SIZE, SIZE) - background
    image = np.clip(image, 0, None)
    total = image.sum()
    assert total > 0, "marker vanished"
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def bright_area(image, threshold=127.0):
    return int((np.asarray(image).reshape(SIZE, SIZE) > threshold).sum())


def port(config, seed=None):
    """``build_augmentation``: the layer-by-layer port of ImageDataGenerator, whose conversions these tests check."""
    return A.build_augmentation(config, seed=seed)


def augment(aug, image, n):
    """Apply a Keras augmentation to ``n`` copies of one image (training mode); returns (n, 48, 48) numpy."""
    batch = np.repeat(np.asarray(image)[None], n, axis=0)
    return np.asarray(aug(batch, training=True))[..., 0]


@pytest.fixture
def keep_numpy_random_state():
    """ImageDataGenerator(seed=...) reseeds NumPy's global generator; restore it afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(4, SIZE, SIZE, 1), dtype=np.uint8)


# ----------------------------------------------------------------------------------------------------------------------
# AugmentConfig and presets
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("width_shift_range", -0.1), ("width_shift_range", 1.0), ("width_shift_range", "0.1"),
    ("height_shift_range", 1.5), ("height_shift_range", float("nan")),
    ("horizontal_flip", 1), ("horizontal_flip", "yes"), ("vertical_flip", None),
    ("rotation_range", -5), ("rotation_range", 181), ("rotation_range", True),
    ("brightness_range", 1.2), ("brightness_range", (1.2, 0.8)), ("brightness_range", (-0.1, 1.0)),
    ("brightness_range", (0.8, 1.0, 1.2)),
    ("zoom_range", 1.0), ("zoom_range", -0.1), ("zoom_range", (0.0, 1.2)), ("zoom_range", (1.2, 0.8)),
    ("zoom_range", (0.5, 2.5)),
    ("fill_mode", "mirror"), ("fill_mode", None),
    ("cval", 300), ("cval", -1),
])
def test_config_rejects_invalid_values_naming_the_argument(field, value):
    with pytest.raises(ValueError, match=field):
        AugmentConfig(**{field: value})


def test_config_normalises_and_stays_immutable():
    config = AugmentConfig(zoom_range=0.2, brightness_range=[0.7, 1.3], rotation_range=10)
    assert config.zoom_range == pytest.approx((0.8, 1.2)) and isinstance(config.zoom_range, tuple)
    assert config.brightness_range == (0.7, 1.3) and isinstance(config.brightness_range, tuple)
    assert isinstance(config.rotation_range, float)
    assert AugmentConfig(zoom_range=(0.8, 0.9)).zoom_range == (0.8, 0.9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rotation_range = 20.0
    assert dataclasses.replace(config, rotation_range=20).rotation_range == 20.0
    with pytest.raises(ValueError, match="rotation_range"):
        dataclasses.replace(config, rotation_range=500)
    assert len({config, AugmentConfig(zoom_range=(0.8, 1.2), brightness_range=(0.7, 1.3), rotation_range=10.0)}) == 1


def test_presets_are_sensible_for_fer2013():
    assert {"none", "light", "default", "strong"} <= set(PRESETS)
    assert PRESETS["none"] == AugmentConfig()
    default = PRESETS["default"]
    assert default.horizontal_flip and not default.vertical_flip
    assert 0.08 <= default.width_shift_range <= 0.12 and 0.08 <= default.height_shift_range <= 0.12
    assert 10 <= default.rotation_range <= 15
    assert default.zoom_range == pytest.approx((0.9, 1.1))
    assert default.brightness_range == (0.8, 1.2)
    assert default.fill_mode == "nearest"
    for name in ("light", "default", "strong"):
        assert not PRESETS[name].vertical_flip, name
    light, strong = PRESETS["light"], PRESETS["strong"]
    for field in ("width_shift_range", "height_shift_range", "rotation_range"):
        assert getattr(light, field) < getattr(default, field) < getattr(strong, field), field
    assert strong.zoom_range[0] < default.zoom_range[0] < light.zoom_range[0]


def test_get_preset_is_case_insensitive_and_lists_names_on_error():
    assert A.get_preset(" Default ") is PRESETS["default"]
    with pytest.raises(ValueError) as error:
        A.get_preset("extreme")
    for name in PRESETS:
        assert repr(name) in str(error.value)


# ----------------------------------------------------------------------------------------------------------------------
# build_augmentation: one test per ImageDataGenerator -> Keras conversion
# ----------------------------------------------------------------------------------------------------------------------


def test_rotation_degrees_become_fraction_of_a_turn():
    layer = port(AugmentConfig(rotation_range=30), seed=0).get_layer("rotation")
    assert layer.factor == pytest.approx((-30 / 360, 30 / 360))
    # Degrees cannot be passed unchanged: the layer wants a fraction of a turn.
    with pytest.raises(ValueError):
        keras.layers.RandomRotation(30)
    # Behaviour: a marker 16 px right of the centre ends up at angles within +-30 degrees, covering that range.
    image = marker(slice(22, 26), slice(38, 42))
    aug = port(AugmentConfig(rotation_range=30), seed=0)
    angles = []
    for out in augment(aug, image, 64):
        row, col = centroid(out)
        angles.append(math.degrees(math.atan2(-(row - CENTRE), col - CENTRE)))  # counter-clockwise positive
    angles = np.array(angles)
    assert np.abs(angles).max() <= 31
    assert angles.max() > 20 and angles.min() < -20


def test_zoom_range_converts_to_scale_minus_one_not_a_sign_flip(keep_numpy_random_state):
    square = marker(slice(20, 28), slice(20, 28))  # 8x8 = 64 bright pixels, centred
    assert bright_area(square) == 64
    # zoom_range (0.5, 0.5): sampling grid halved -> zoom IN, the square doubles to 16x16.
    zoom_in = port(AugmentConfig(zoom_range=(0.5, 0.5)), seed=0)
    layer = zoom_in.get_layer("zoom")
    assert (layer.height_lower, layer.height_upper) == pytest.approx((-0.5, -0.5))
    assert (layer.width_lower, layer.width_upper) == pytest.approx((-0.5, -0.5))
    assert bright_area(augment(zoom_in, square, 1)[0]) == pytest.approx(256, abs=40)
    # zoom_range (2.0, 2.0): zoom OUT, the square shrinks to 4x4.
    zoom_out = port(AugmentConfig(zoom_range=(2.0, 2.0)), seed=0)
    assert zoom_out.get_layer("zoom").height_lower == pytest.approx(1.0)
    assert bright_area(augment(zoom_out, square, 1)[0]) == pytest.approx(16, abs=8)
    # ImageDataGenerator reads the same numbers the same way ...
    legacy = A.legacy_generator(AugmentConfig(zoom_range=(0.5, 0.5)))
    assert bright_area(legacy.random_transform(square, seed=0)) == pytest.approx(256, abs=40)
    # ... and a positive RandomZoom factor zooms OUT (factor = scale - 1).
    assert bright_area(augment(keras.layers.RandomZoom((0.5, 0.5), (0.5, 0.5)), square, 1)[0]) < 64
    # An asymmetric, zoom-in-only range stays zoom-in only (a sign flip of the offsets would zoom out).
    zoom_in_only = port(AugmentConfig(zoom_range=(0.8, 0.9)), seed=1)
    assert zoom_in_only.get_layer("zoom").height_lower == pytest.approx(-0.2)
    areas = [bright_area(out) for out in augment(zoom_in_only, square, 16)]
    assert min(areas) > 64


def test_zoom_draws_horizontal_and_vertical_scales_independently():
    square = marker(slice(16, 32), slice(16, 32))
    aug = port(AugmentConfig(zoom_range=0.3), seed=2)
    assert aug.get_layer("zoom").width_factor is not None
    aspect_gaps = []
    for out in augment(aug, square, 32):
        mask = out > 127
        height = np.any(mask, axis=1).sum()
        width = np.any(mask, axis=0).sum()
        aspect_gaps.append(abs(int(height) - int(width)))
    assert max(aspect_gaps) >= 3


@pytest.mark.parametrize("field, moving_axis", [("width_shift_range", 1), ("height_shift_range", 0)])
def test_shifts_move_along_the_named_axis(field, moving_axis):
    aug = port(AugmentConfig(**{field: 0.25}), seed=0)
    layer = aug.get_layer("translation")
    assert layer.width_factor == (0.25 if field == "width_shift_range" else 0.0)
    assert layer.height_factor == (0.25 if field == "height_shift_range" else 0.0)
    image = marker(slice(22, 26), slice(22, 26))
    moves = np.array([np.subtract(centroid(out), (CENTRE, CENTRE)) for out in augment(aug, image, 32)])
    still = 1 - moving_axis
    assert np.abs(moves[:, still]).max() < 0.5
    assert np.abs(moves[:, moving_axis]).max() <= 0.25 * SIZE + 0.5
    assert np.abs(moves[:, moving_axis]).max() > 6


@pytest.mark.parametrize("config, names, allowed", [
    (AugmentConfig(horizontal_flip=True), ["flip_horizontal"], {(5.5, 5.5), (5.5, 41.5)}),
    (AugmentConfig(vertical_flip=True), ["flip_vertical"], {(5.5, 5.5), (41.5, 5.5)}),
    (AugmentConfig(horizontal_flip=True, vertical_flip=True), ["flip_horizontal", "flip_vertical"],
     {(5.5, 5.5), (5.5, 41.5), (41.5, 5.5), (41.5, 41.5)}),
])
def test_flips_are_explicit_and_independent(config, names, allowed):
    corner = marker(slice(4, 8), slice(4, 8))
    aug = port(config, seed=0)
    assert [layer.name for layer in aug.layers] == names
    assert [layer.mode for layer in aug.layers] == [name.split("_")[1] for name in names]
    seen = {tuple(round(v, 1) for v in centroid(out)) for out in augment(aug, corner, 32)}
    assert seen == allowed


def test_random_flip_defaults_flip_both_axes_with_one_coin():
    layer = keras.layers.RandomFlip(seed=0)
    assert layer.mode == "horizontal_and_vertical"
    seen = {tuple(round(v, 1) for v in centroid(out)) for out in augment(layer, marker(slice(4, 8), slice(4, 8)), 32)}
    assert seen == {(5.5, 5.5), (41.5, 41.5)}  # untouched or turned 180 degrees, never a single flip


def test_fill_mode_and_cval_are_passed_to_every_geometric_layer():
    assert keras.layers.RandomRotation(0.1).fill_mode == "reflect"  # the layers' default differs from ImageDataGen.
    for fill_mode in A.FILL_MODES:
        config = dataclasses.replace(PRESETS["strong"], fill_mode=fill_mode, cval=17)
        aug = port(config)
        for name in ("rotation", "translation", "zoom"):
            assert aug.get_layer(name).fill_mode == fill_mode
            assert aug.get_layer(name).fill_value == 17


def test_fill_mode_behaviour_nearest_reflect_constant():
    image = marker(slice(None), slice(47, 48), value=200.0, background=100.0)  # bright last column

    def right_runs(fill_mode):
        aug = port(AugmentConfig(width_shift_range=0.25, fill_mode=fill_mode), seed=0)
        outs = augment(aug, image, 32)
        runs = []
        for out in outs:
            row = out[SIZE // 2]
            run = 0
            while run < SIZE and row[SIZE - 1 - run] >= 150:
                run += 1
            runs.append(run)
        return outs, max(runs)

    outs, run = right_runs("nearest")  # edge column repeated into the uncovered area
    assert run >= 5 and outs.min() > 99
    outs, run = right_runs("reflect")  # mirrored: the bright column appears at most twice
    assert run <= 3 and outs.min() > 99
    aug = port(AugmentConfig(width_shift_range=0.25, fill_mode="constant", cval=0), seed=0)
    assert augment(aug, image, 32).min() < 1


def test_brightness_multiplies_and_clips_unlike_random_brightness(keep_numpy_random_state):
    image = np.zeros((SIZE, SIZE, 1), np.float32)
    image[:, 12:24] = 50
    image[:, 24:36] = 100
    image[:, 36:] = 200
    aug = port(AugmentConfig(brightness_range=(0.5, 1.5)), seed=0)
    layer = aug.get_layer("brightness")
    assert isinstance(layer, A.RandomBrightnessMultiply) and layer.factor_range == (0.5, 1.5)
    outs = augment(aug, image, 32)
    factors = outs[:, 0, 12] / 50
    assert np.all(outs[:, :, :12] == 0)  # black stays black
    np.testing.assert_allclose(outs[:, 0, 24], 2 * outs[:, 0, 12], rtol=1e-5)  # a product, not a sum
    np.testing.assert_allclose(outs[:, 0, 36], np.minimum(4 * outs[:, 0, 12], 255), rtol=1e-5)  # clipped at 255
    assert factors.min() >= 0.5 and factors.max() <= 1.5 and factors.max() - factors.min() > 0.5
    # keras.layers.RandomBrightness ADDS factor * 255 instead: black is lifted, differences stay the same.
    added = augment(keras.layers.RandomBrightness((0.1, 0.1), value_range=(0, 255)), image, 1)[0]
    assert added[0, 0] == pytest.approx(25.5)
    assert added[0, 24] - added[0, 12] == pytest.approx(50.0)
    # ImageDataGenerator's brightness_range multiplies, as the layer does.
    legacy = A.legacy_generator(AugmentConfig(brightness_range=(1.2, 1.2)))
    ours = port(AugmentConfig(brightness_range=(1.2, 1.2)))
    np.testing.assert_allclose(legacy.random_transform(image, seed=0)[..., 0], augment(ours, image, 1)[0], atol=1)


def test_brightness_layer_saves_and_loads(tmp_path, faces):
    layer = A.RandomBrightnessMultiply((0.7, 1.3), seed=5, name="bright")
    clone = A.RandomBrightnessMultiply.from_config(layer.get_config())
    assert (clone.factor_range, clone.seed) == ((0.7, 1.3), 5)
    inputs = keras.Input((SIZE, SIZE, 1))
    model = keras.Model(inputs, port("default", seed=3)(inputs))
    path = tmp_path / "aug.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    inner = loaded.get_layer("augmentation")
    assert [type(l).__name__ for l in inner.layers] == [
        "RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip", "RandomBrightnessMultiply"]
    assert inner.get_layer("flip_horizontal").mode == "horizontal"
    assert inner.get_layer("brightness").factor_range == (0.8, 1.2)
    np.testing.assert_array_equal(loaded.predict(faces, verbose=0), faces.astype(np.float32))
    with pytest.raises(ValueError, match="factor_range"):
        A.RandomBrightnessMultiply((1.2, 0.8))


def test_layers_act_only_in_training(faces):
    aug = A.build_augmentation("strong", seed=0)
    np.testing.assert_array_equal(np.asarray(aug(faces, training=False)), faces.astype(np.float32))
    assert not np.allclose(np.asarray(aug(faces, training=True)), faces)
    # Called directly without `training`, Keras 3 preprocessing layers augment (documented convention).
    assert not np.allclose(np.asarray(aug(faces)), faces)
    # Inside a model Keras passes the flag: predict() is the identity, a training call augments.
    inputs = keras.Input((SIZE, SIZE, 1))
    model = keras.Model(inputs, aug(inputs))
    np.testing.assert_array_equal(model.predict(faces, verbose=0), faces.astype(np.float32))
    assert not np.allclose(np.asarray(model(faces, training=True)), faces)


def test_works_inside_tf_data_map_on_batches(faces):
    aug = A.build_augmentation("default", seed=0)
    images = np.repeat(faces, 3, axis=0)  # 12 faces
    labels = np.arange(12)
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(5)
    ds = ds.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    assert ds.element_spec[0].shape.as_list() == [None, SIZE, SIZE, 1]
    assert ds.element_spec[0].dtype == tf.float32
    first = [(x.numpy(), y.numpy()) for x, y in ds]
    second = [x.numpy() for x, _ in ds]
    assert [x.shape[0] for x, _ in first] == [5, 5, 2]
    np.testing.assert_array_equal(np.concatenate([y for _, y in first]), labels)
    out = np.concatenate([x for x, _ in first])
    assert out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out, images)
    assert not np.allclose(out, np.concatenate(second))  # fresh random draws every epoch, not frozen in the graph
    assert not np.allclose(out[0], out[4])  # the same face gets different transforms


def test_seed_makes_augmentation_reproducible(faces):
    first = np.asarray(A.build_augmentation("strong", seed=7)(faces, training=True))
    again = np.asarray(A.build_augmentation("strong", seed=7)(faces, training=True))
    other = np.asarray(A.build_augmentation("strong", seed=8)(faces, training=True))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_none_preset_is_float_identity(faces):
    aug = A.build_augmentation("none")
    out = aug(faces, training=True)
    assert out.dtype == "float32"
    np.testing.assert_array_equal(np.asarray(out), faces.astype(np.float32))


# ----------------------------------------------------------------------------------------------------------------------
# legacy ImageDataGenerator
# ----------------------------------------------------------------------------------------------------------------------


def test_legacy_generator_has_the_config_parameters():
    generator = A.legacy_generator("default")
    assert type(generator) is tf.keras.preprocessing.image.ImageDataGenerator
    default = PRESETS["default"]
    assert generator.width_shift_range == default.width_shift_range
    assert generator.height_shift_range == default.height_shift_range
    assert generator.rotation_range == default.rotation_range
    assert generator.zoom_range == pytest.approx(list(default.zoom_range))
    assert list(generator.brightness_range) == list(default.brightness_range)
    assert generator.horizontal_flip and not generator.vertical_flip
    assert generator.fill_mode == "nearest"
    assert A.legacy_generator("none", rescale=1 / 255).rescale == pytest.approx(1 / 255)


def _legacy_moves(generator, n=16):
    image = marker(slice(22, 26), slice(22, 26))
    return np.array([np.subtract(centroid(generator.random_transform(image, seed=s)), (CENTRE, CENTRE))
                     for s in range(n)])


def test_legacy_generator_swaps_width_and_height_shifts(keep_numpy_random_state):
    """keras-team/keras#17398, present in Keras 3.15.1: width_shift_range moves images VERTICALLY."""
    moves = _legacy_moves(A.legacy_generator(AugmentConfig(width_shift_range=0.25)))
    assert np.abs(moves[:, 1]).max() < 0.5  # columns unchanged
    assert np.abs(moves[:, 0]).max() > 6  # rows moved
    moves = _legacy_moves(A.legacy_generator(AugmentConfig(height_shift_range=0.25)))
    assert np.abs(moves[:, 0]).max() < 0.5
    assert np.abs(moves[:, 1]).max() > 6


# ----------------------------------------------------------------------------------------------------------------------
# augment_grid
# ----------------------------------------------------------------------------------------------------------------------


def test_augment_grid_shape_original_column_and_seed(faces):
    grid = A.augment_grid(faces, "default", n_per_face=8, seed=0)
    assert grid.shape == (4, 8, SIZE, SIZE) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:, 0], faces[..., 0])
    assert all(not np.array_equal(grid[i, j], faces[i, ..., 0]) for i in range(4) for j in range(1, 8))
    np.testing.assert_array_equal(grid, A.augment_grid(faces, "default", seed=0))
    assert not np.array_equal(grid, A.augment_grid(faces, "default", seed=1))
    no_original = A.augment_grid(faces, "default", n_per_face=3, include_original=False)
    assert no_original.shape == (4, 3, SIZE, SIZE) and not np.array_equal(no_original[:, 0], faces[..., 0])
    identity = A.augment_grid(faces, "none", n_per_face=5)
    np.testing.assert_array_equal(identity, np.repeat(faces[:, None, ..., 0], 5, axis=1))
    assert A.augment_grid(faces[0, ..., 0], "default").shape == (1, 8, SIZE, SIZE)
    assert A.augment_grid(faces[..., 0].astype(np.float32), "default").shape == (4, 8, SIZE, SIZE)
    with pytest.raises(ValueError, match="shape"):
        A.augment_grid(np.zeros((2, SIZE, SIZE, 3), np.uint8), "default")
    with pytest.raises(ValueError, match="0..255"):
        A.augment_grid(np.full((SIZE, SIZE), 300.0), "default")
    with pytest.raises(ValueError, match="n_per_face"):
        A.augment_grid(faces, "default", n_per_face=0)


def test_augment_grid_follows_the_config():
    face = marker(slice(22, 26), slice(22, 26))[..., 0].astype(np.uint8)
    grid = A.augment_grid(face, AugmentConfig(width_shift_range=0.25), n_per_face=33)[0, 1:]
    moves = np.array([np.subtract(centroid(cell), (CENTRE, CENTRE)) for cell in grid])
    assert np.abs(moves[:, 0]).max() < 0.5
    assert 6 < np.abs(moves[:, 1]).max() <= 0.25 * SIZE + 0.5
    off_centre = marker(slice(22, 26), slice(38, 42))[..., 0].astype(np.uint8)
    grid = A.augment_grid(off_centre, AugmentConfig(rotation_range=30), n_per_face=65)[0, 1:]
    angles = np.array([math.degrees(math.atan2(-(r - CENTRE), c - CENTRE)) for r, c in map(centroid, grid)])
    assert np.abs(angles).max() <= 31 and angles.max() > 20 and angles.min() < -20
    corner = marker(slice(4, 8), slice(4, 8))[..., 0].astype(np.uint8)
    grid = A.augment_grid(corner, AugmentConfig(horizontal_flip=True), n_per_face=17)[0, 1:]
    assert {tuple(round(v, 1) for v in centroid(cell)) for cell in grid} == {(5.5, 5.5), (5.5, 41.5)}


# ----------------------------------------------------------------------------------------------------------------------
# plotting and the widget
# ----------------------------------------------------------------------------------------------------------------------


def test_plot_augment_grid_returns_a_pyplot_figure(faces):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    fig = A.plot_augment_grid(faces, "default", n_per_face=6, labels=[0, 3, 6, "mystery"], title="default preset")
    # managed by pyplot like every figure of the package, so the inline backend shows it (once) in a fresh kernel
    assert isinstance(fig, Figure) and plt.get_fignums() == before + [fig.number]
    assert len(fig.axes) == 4 * 6
    assert [fig.axes[6 * i].get_ylabel() for i in range(4)] == ["Angry", "Happy", "Neutral", "mystery"]
    assert fig.axes[0].get_title() == "original"
    shown = fig.axes[1].images[0].get_array()
    np.testing.assert_array_equal(shown, A.augment_grid(faces, "default", n_per_face=6)[0, 1])
    plt.close(fig)
    with pytest.raises(ValueError, match="labels"):
        A.plot_augment_grid(faces, "default", labels=[0, 1])


def test_explorer_builds_and_redraws_when_a_control_changes(faces):
    import ipywidgets as widgets

    from fer_helpers.widgets import AugmentationExplorer

    explorer = AugmentationExplorer(faces, labels=[0, 3, 4, "mystery"], n_per_face=8, scale=2)
    assert isinstance(explorer, widgets.VBox)
    assert set(explorer.controls) == {f.name for f in dataclasses.fields(AugmentConfig)}
    assert explorer.config == PRESETS["default"] and explorer.preset.value == "default"
    first = explorer.rows[0].value
    decoded = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert decoded.shape == (SIZE * 2, (8 * SIZE + 7 * 2) * 2)
    np.testing.assert_array_equal(decoded[::2, : 2 * SIZE : 2], faces[0, ..., 0])  # column 1 is the original
    np.testing.assert_array_equal(decoded[::2, 2 * (SIZE + 2): 2 * (2 * SIZE + 2): 2],
                                  A.augment_grid(faces, "default", seed=0)[0, 1])  # then augment_grid's copies

    explorer.controls["rotation_range"].value = 60  # what moving the slider does
    assert explorer.config.rotation_range == 60 and explorer.preset.value == "custom"
    assert explorer.rows[0].value != first
    assert "rotation_range=60.0" in explorer.code.value

    explorer.preset.value = "none"
    assert explorer.config == PRESETS["none"] and explorer.code.value == "<code>AugmentConfig()</code>"
    decoded = cv2.imdecode(np.frombuffer(explorer.rows[1].value, np.uint8), cv2.IMREAD_GRAYSCALE)
    cells = [decoded[::2, j * (SIZE + 2) * 2: j * (SIZE + 2) * 2 + 2 * SIZE: 2] for j in range(8)]
    assert all(np.array_equal(cell, faces[1, ..., 0]) for cell in cells)  # no augmentation: all columns equal

    assert explorer.controls["brightness_range"].disabled
    explorer.brightness_on.value = True
    assert explorer.config.brightness_range == explorer.controls["brightness_range"].value
    assert not explorer.controls["brightness_range"].disabled
    explorer.controls["fill_mode"].value = "constant"
    assert not explorer.controls["cval"].disabled
    explorer.set_config(PRESETS["strong"])
    assert explorer.config == PRESETS["strong"] and explorer.preset.value == "strong"
    before = explorer.rows[0].value
    explorer.new_samples()  # the "new samples" button
    assert explorer.rows[0].value != before and explorer.seed == 1
    with pytest.raises(ValueError, match="labels"):
        AugmentationExplorer(faces, labels=[0, 1])
