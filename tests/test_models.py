import numpy as np
import pytest

from fer_helpers.models import build_default_cnn, build_tutorial_cnn, widen_weights

FACES = np.random.default_rng(0).integers(0, 256, (16, 48, 48, 1)).astype(np.float32)


@pytest.mark.parametrize("builder, narrow, wide", [
    (build_default_cnn, {"filters": (8, 16, 24, 32), "head_units": 16},
     {"filters": (12, 16, 40, 48), "head_units": 24}),
    # the tutorial network has a Flatten: every channel's copies repeat at each of its 6x6 positions
    (build_tutorial_cnn, {"filters": (8, 16, 32), "dense_units": 64}, {"filters": (8, 24, 48), "dense_units": 96}),
])
def test_widened_network_predicts_exactly_what_the_narrow_one_did(builder, narrow, wide, randomise_batchnorm):
    source, target = builder(**narrow), builder(**wide)
    randomise_batchnorm(source)
    expected = np.asarray(source(FACES, training=False))
    assert expected.std() > 1e-2  # predictions that vary, so agreeing with them means something
    before = np.asarray(target(FACES, training=False))
    widen_weights(source, target, seed=1)
    assert target.count_params() > source.count_params()
    np.testing.assert_allclose(np.asarray(target(FACES, training=False)), expected, atol=1e-5)
    assert not np.allclose(before, expected, atol=1e-3)  # the random wide network did not already agree
    # the extra filters are copies of existing ones: the first conv's kernel holds the old filters plus repeats
    old, new = source.layers[2].get_weights()[0], target.layers[2].get_weights()[0]
    assert np.array_equal(new[..., :old.shape[-1]], old)
    assert all(any(np.array_equal(new[..., j], old[..., k]) for k in range(old.shape[-1]))
               for j in range(old.shape[-1], new.shape[-1]))


def test_widening_refuses_narrower_or_different_networks():
    source = build_default_cnn(filters=(8, 16, 24, 32), head_units=16)
    with pytest.raises(ValueError, match=r"layer 'block3_1_conv' is narrower .* \(12\) than .* \(24\)"):
        widen_weights(source, build_default_cnn(filters=(8, 16, 12, 32), head_units=16))
    with pytest.raises(ValueError, match="different layers"):
        widen_weights(source, build_default_cnn(filters=(8, 16, 24, 32), convs_per_block=(1, 2, 2, 3)))
    with pytest.raises(ValueError, match="outputs differ"):
        widen_weights(source, build_default_cnn(filters=(8, 16, 24, 32), head_units=16, num_classes=5))
    target = build_default_cnn(filters=(8, 16, 24, 48), head_units=16, name="other")
    with pytest.raises(ValueError, match="different layers"):
        widen_weights(build_tutorial_cnn(), target)
