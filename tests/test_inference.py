import keras
import numpy as np
import pytest

from fer_helpers.inference import predict_proba
from fer_helpers.models import build_tutorial_cnn, build_vgg_cnn


def test_batches_equal_one_call_and_tta_averages_with_the_mirror_image(randomise_batchnorm):
    model = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    randomise_batchnorm(model)
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    expected = np.asarray(model(faces[..., None].astype(np.float32), training=False))
    assert expected.std() > 1e-3  # predictions that vary, so agreeing with them means something
    whole = predict_proba(model, faces, batch_size=256)
    batched = predict_proba(model, faces, batch_size=4)  # batches of 4, 4, 2
    assert whole.shape == (10, 7) and whole.dtype == np.float32
    np.testing.assert_allclose(whole, expected, atol=1e-5)
    np.testing.assert_allclose(batched, expected, atol=1e-5)
    flipped = predict_proba(model, faces[:, :, ::-1])
    np.testing.assert_allclose(predict_proba(model, faces, tta=True), (whole + flipped) / 2, atol=1e-6)
    assert predict_proba(model, np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    with pytest.raises(ValueError, match=r"tta must be one of \[False, True, 'tencrop'\], got 'mirror'"):
        predict_proba(model, faces, tta="mirror")


def test_predictions_follow_weight_changes(randomise_batchnorm):
    keras.utils.set_random_seed(0)
    model = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    before = predict_proba(model, faces, batch_size=4)
    randomise_batchnorm(model, seed=3)  # what training or load_weights would do
    after = predict_proba(model, faces, batch_size=4)
    assert np.abs(after - before).max() > 1e-2
    np.testing.assert_allclose(after, np.asarray(model(faces[..., None].astype(np.float32), training=False)),
                               atol=1e-5)


def test_tencrop_averages_ten_crops_of_a_crop_model_and_refuses_a_48_pixel_one(randomise_batchnorm):
    from fer_helpers.crops import ten_crops

    model = build_vgg_cnn(input_shape=(None, None, 1), filters=(4, 4, 8, 8), head_units=8)
    randomise_batchnorm(model)
    faces = np.random.default_rng(2).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    crops = ten_crops(faces[..., None].astype(np.float32), 40)
    assert crops.shape == (10, 6, 40, 40, 1)
    expected = np.mean([np.asarray(model(c, training=False)) for c in crops], axis=0)
    got = predict_proba(model, faces, tta="tencrop", batch_size=4)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, predict_proba(model, faces), atol=1e-4)  # not simply the whole face
    with pytest.raises(ValueError, match=r"tta='tencrop' needs a model that takes 40x40 crops .* takes \(48, 48, 1\)"):
        predict_proba(build_tutorial_cnn(filters=(4, 4, 4), dense_units=8), faces, tta="tencrop")
