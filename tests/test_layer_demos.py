import matplotlib

matplotlib.use("Agg")

import keras
import numpy as np
import pytest

from fer_helpers import layer_demos as ld
from fer_helpers.models import build_tutorial_cnn


@pytest.fixture(scope="module")
def tutorial_cnn():
    return build_tutorial_cnn()


def step_image(size=6, at=3):
    """Dark left part (0), bright right part (1): one vertical edge."""
    img = np.zeros((size, size), np.float32)
    img[:, at:] = 1
    return img


# --- kernels and convolution ------------------------------------------------------------------------------------


def test_kernel_by_name_is_a_copy_and_bad_kernels_are_refused():
    k = ld.kernel("vertical_edges")
    k[0, 0] = 99
    assert ld.KERNELS["vertical_edges"][0, 0] == -1
    assert ld.kernel(np.eye(3)).dtype == np.float32
    with pytest.raises(ValueError, match="unknown kernel 'edges'"):
        ld.kernel("edges")
    with pytest.raises(ValueError, match="square 2-D array of odd size"):
        ld.kernel(np.ones((2, 2)))
    with pytest.raises(ValueError, match="square"):
        ld.kernel(np.ones((3, 5)))


def test_sobel_on_a_step_edge_gives_the_known_values():
    out = ld.apply_to_image(ld.conv_layer("vertical_edges"), step_image())
    # interior rows: -1*0 + 1*1 summed with weights 1, 2, 1 -> 4 on both columns beside the edge; the top and bottom
    # rows miss one neighbour row (zero padding) -> 3; the last column sees the zero padding as a falling edge.
    expected_row = np.array([0, 0, 4, 4, 0, -4], np.float32)
    np.testing.assert_array_equal(out[1:-1], np.tile(expected_row, (4, 1)))
    np.testing.assert_array_equal(out[0], expected_row * 0.75)
    np.testing.assert_array_equal(out[-1], expected_row * 0.75)
    # the horizontal-edge filter sees no edge inside the image (only the padding at top and bottom)
    horizontal = ld.apply_to_image(ld.conv_layer("horizontal_edges"), step_image())
    np.testing.assert_array_equal(horizontal[1:-1], 0)


def test_conv_layer_matches_a_by_hand_cross_correlation():
    rng = np.random.default_rng(0)
    img = rng.random((7, 7)).astype(np.float32)
    k = rng.normal(size=(3, 3)).astype(np.float32)
    out = ld.apply_to_image(ld.conv_layer(k, padding="valid"), img)
    assert out.shape == (5, 5)
    by_hand = np.array([[(img[i:i + 3, j:j + 3] * k).sum() for j in range(5)] for i in range(5)])
    np.testing.assert_allclose(out, by_hand, rtol=1e-5, atol=1e-5)


def test_conv_layer_with_several_kernels_has_one_channel_each_and_no_bias():
    layer = ld.conv_layer(["identity", "blur", "outline"])
    assert layer.filters == 3 and not layer.use_bias
    assert layer.kernel.shape == (3, 3, 1, 3)
    img = np.full((5, 5), 2.0, np.float32)
    out = ld.apply_to_image(layer, img)
    assert out.shape == (5, 5, 3)
    np.testing.assert_allclose(out[..., 0], img)
    np.testing.assert_allclose(out[1:-1, 1:-1, 1], 2.0, rtol=1e-6)  # blur keeps a flat area's value
    np.testing.assert_allclose(out[1:-1, 1:-1, 2], 0.0, atol=1e-6)  # the Laplacian is zero on flat areas
    with pytest.raises(ValueError, match="same shape"):
        ld.conv_layer([np.ones((3, 3)), np.ones((5, 5))])
    with pytest.raises(ValueError, match="at least one"):
        ld.conv_layer([])


def test_apply_kernel_scales_the_face_like_the_models_rescaling_layer():
    face = np.random.default_rng(1).integers(0, 256, (48, 48), dtype=np.uint8)
    same = ld.apply_kernel(face, "identity")
    assert same.shape == (48, 48) and same.dtype == np.float32
    np.testing.assert_allclose(same, face / 255.0, rtol=1e-6)
    assert ld.apply_kernel(face[..., None], "blur", padding="valid").shape == (46, 46)
    with pytest.raises(ValueError, match="one gray face"):
        ld.apply_kernel(np.zeros((2, 48, 48)), "blur")


def test_apply_to_image_and_apply_layer_shapes():
    pool = keras.layers.MaxPooling2D(2)
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(ld.apply_to_image(pool, img), [[5, 7], [13, 15]])
    assert ld.apply_to_image(pool, np.zeros((48, 48, 3))).shape == (24, 24, 3)
    assert ld.apply_layer(pool, np.zeros((5, 48, 48, 1))).shape == (5, 24, 24, 1)
    with pytest.raises(ValueError, match="one image"):
        ld.apply_to_image(pool, np.zeros((1, 2, 3, 4, 5)))


def test_relu_zeroes_negatives_only():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(ld.apply_layer(keras.layers.ReLU(), x), [[0, 0, 0, 0.5, 3.0]])


# --- dropout and batch normalisation ------------------------------------------------------------------------------


def test_dropout_zeroes_and_rescales_in_training_only():
    layer = keras.layers.Dropout(0.5, seed=0)
    x = np.ones((1, 10_000), np.float32)
    train = ld.apply_layer(layer, x, training=True)
    dropped = train == 0
    assert 0.45 < dropped.mean() < 0.55
    np.testing.assert_allclose(train[~dropped], 2.0)  # survivors scaled by 1 / (1 - rate): same expected sum
    assert abs(train.mean() - 1.0) < 0.05
    np.testing.assert_array_equal(ld.apply_layer(layer, x, training=False), x)


def test_batch_norm_uses_batch_statistics_in_training_and_moving_ones_in_inference():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5.0, 3.0, (16, 8, 8)), rng.normal(-1.0, 0.5, (16, 8, 8))], axis=-1).astype(np.float32)
    bn = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    train = ld.apply_layer(bn, x, training=True)
    batch_mean = x.reshape(-1, 2).mean(axis=0)
    batch_var = x.reshape(-1, 2).var(axis=0)
    np.testing.assert_allclose(train.reshape(-1, 2).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(train.reshape(-1, 2).var(axis=0), batch_var / (batch_var + 1e-3), rtol=1e-3)
    # one training step moved the moving statistics 10% of the way from (0, 1) towards the batch's
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * batch_mean, rtol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * batch_var, rtol=1e-3)
    # inference uses the moving statistics: not yet normalised
    infer = ld.apply_layer(bn, x, training=False)
    np.testing.assert_allclose(infer, (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3),
                               rtol=1e-4, atol=1e-4)
    for _ in range(150):
        ld.apply_layer(bn, x, training=True)
    np.testing.assert_allclose(ld.apply_layer(bn, x, training=False), train, atol=2e-3)


def test_channel_stats_table():
    x = np.zeros((2, 3, 3, 2))
    x[..., 0] = 1.0
    x[0, ..., 1] = 2.0
    df = ld.channel_stats({"a": x, "b": x * 2})
    assert list(df.index) == ["a", "b"]
    assert df.loc["a", ("channel 0", "mean")] == 1.0 and df.loc["a", ("channel 0", "variance")] == 0.0
    assert df.loc["a", ("channel 1", "mean")] == 1.0 and df.loc["a", ("channel 1", "variance")] == 1.0
    assert df.loc["b", ("channel 1", "variance")] == 4.0
    assert list(df.columns) == [("channel 0", "mean"), ("channel 0", "variance"), ("channel 1", "mean"),
                                ("channel 1", "variance")]


# --- feature maps and figures ---------------------------------------------------------------------------------------


def test_feature_maps_shapes_and_values(tutorial_cnn):
    face = np.random.default_rng(2).integers(0, 256, (48, 48), dtype=np.uint8)
    maps = ld.feature_maps(tutorial_cnn, face, ["rescale", "block1a_relu", "block3b_relu"])
    assert list(maps) == ["rescale", "block1a_relu", "block3b_relu"]
    assert maps["block1a_relu"].shape == (48, 48, 32) and maps["block3b_relu"].shape == (12, 12, 128)
    np.testing.assert_allclose(maps["rescale"][..., 0], face / 255.0, rtol=1e-6)
    assert (maps["block1a_relu"] >= 0).all()
    assert ld.feature_maps(tutorial_cnn, face, "flatten")["flatten"].shape == (4608,)
    with pytest.raises(ValueError, match="block9_relu"):  # Keras names the missing layer
        ld.feature_maps(tutorial_cnn, face, ["block9_relu"])


def test_strongest_channels():
    fmap = np.zeros((4, 4, 5))
    fmap[..., 3] = 2.0
    fmap[..., 1] = 1.0
    assert ld.strongest_channels(fmap, 2).tolist() == [3, 1]


def test_feature_map_figure_layout():
    face = np.zeros((48, 48), np.uint8)
    maps = {"a": np.random.default_rng(0).random((48, 48, 16)), "b": np.zeros((12, 12, 4))}
    fig = ld.feature_map_figure(face, maps, n_maps=6)
    assert len(fig.axes) == 2 * 5  # limited by the layer with fewest channels (4) + the input column
    assert "a (48x48x16)" in [ax.get_title(loc="left") for ax in fig.axes]
    with pytest.raises(ValueError, match="no feature maps"):
        ld.feature_map_figure(face, {})


def test_image_row_colour_maps():
    face = np.full((48, 48), 128, np.uint8)
    signed = np.linspace(-2, 1, 48 * 48, dtype=np.float32).reshape(48, 48)
    positive = np.abs(signed)
    fig = ld.image_row([face, signed, positive], ["face", "signed", "positive"])
    axes = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in axes] == ["face", "signed", "positive"]
    assert axes[0].images[0].get_clim() == (0, 255)
    assert axes[1].images[0].get_clim() == (-2.0, 2.0) and axes[1].images[0].get_cmap().name == "RdBu_r"
    assert axes[2].images[0].get_clim() == (0.0, 2.0) and axes[2].images[0].get_cmap().name == "gray"
    assert len(fig.axes) == 5  # two colour bars, none for the uint8 face
    shared = ld.image_row([face, positive / 2, positive], shared_scale=True)
    assert [ax.images[0].get_clim() for ax in shared.axes if ax.images] == [(0, 255), (0.0, 2.0), (0.0, 2.0)]
    with pytest.raises(ValueError, match="titles"):
        ld.image_row([face], ["a", "b"])
    with pytest.raises(ValueError, match="2-D"):
        ld.image_row([np.zeros((2, 2, 2))])
