import numpy as np
import pytest

from fer_helpers.inference import predict_labels, predict_proba
from fer_helpers.models import build_tutorial_cnn


@pytest.mark.parametrize("precision, atol", [("float32", 1e-5), ("bfloat16", 1e-2)])
def test_batched_traced_path_equals_direct_call_and_tta_averages(precision, atol):
    model = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    direct = predict_proba(model, faces, batch_size=256, precision=precision)  # one eager call
    batched = predict_proba(model, faces, batch_size=4, precision=precision)  # traced graph, batches of 4, 4, 2
    assert direct.shape == (10, 7) and direct.dtype == np.float32
    np.testing.assert_allclose(batched, direct, atol=atol)
    flipped = predict_proba(model, faces[:, :, ::-1], precision=precision)
    tta = predict_proba(model, faces, tta=True, precision=precision)
    np.testing.assert_allclose(tta, (direct + flipped) / 2, atol=1e-6)
    assert predict_labels(model, faces, precision=precision).tolist() == direct.argmax(1).tolist()
    assert predict_proba(model, np.zeros((0, 48, 48), np.uint8), precision=precision).shape == (0, 7)


def test_auto_precision_is_bfloat16_for_large_inputs_where_the_cpu_computes_it_natively(monkeypatch, randomise_batchnorm):
    from fer_helpers import inference

    model = build_tutorial_cnn(filters=(8, 8, 8), dense_units=16)
    randomise_batchnorm(model)
    faces = np.random.default_rng(1).integers(0, 256, (12, 48, 48), dtype=np.uint8)
    exact = predict_proba(model, faces, precision="float32")
    rounded = predict_proba(model, faces, precision="bfloat16")
    assert not np.allclose(rounded, exact, atol=1e-6)  # bfloat16 really computes in bfloat16
    np.testing.assert_allclose(rounded, exact, atol=2e-2)
    batched = {p: predict_proba(model, faces, batch_size=5, precision=p) for p in ("float32", "bfloat16")}
    assert not np.allclose(batched["bfloat16"], batched["float32"], atol=1e-6)
    for native in (False, True):
        monkeypatch.setattr(inference, "native_bfloat16", lambda: native)
        assert inference.resolve_precision() == ("bfloat16" if native else "float32")
        # large inputs (more than batch_size faces): bfloat16 only on CPUs that compute it natively
        np.testing.assert_array_equal(predict_proba(model, faces, batch_size=5),
                                      batched["bfloat16" if native else "float32"])
        # small inputs (latency-bound) call the model itself in float32 either way
        np.testing.assert_array_equal(predict_proba(model, faces), exact)
    with pytest.raises(ValueError, match="precision must be one of .*'float16'"):
        predict_proba(model, faces, precision="float16")


@pytest.mark.parametrize("builder", ["tutorial", "default"])
def test_folded_copy_predicts_like_the_model_without_batchnorm_dropout_or_rescaling(builder, randomise_batchnorm):
    import keras

    from fer_helpers.models import build_default_cnn, fold_for_inference

    model = (build_tutorial_cnn(filters=(8, 8, 8), dense_units=16) if builder == "tutorial"
             else build_default_cnn(filters=(8, 8, 16, 16), head_units=16))
    randomise_batchnorm(model)
    folded = fold_for_inference(model)
    kinds = {type(layer) for layer in folded.layers}
    assert not kinds & {keras.layers.BatchNormalization, keras.layers.Dropout, keras.layers.Rescaling,
                        keras.layers.ReLU}
    assert len(folded.layers) < len(model.layers)
    faces = np.random.default_rng(1).integers(0, 256, (16, 48, 48, 1)).astype(np.float32)
    expected = np.asarray(model(faces, training=False))
    assert expected.std() > 0.01  # the check below is not comparing two constant outputs
    np.testing.assert_allclose(np.asarray(folded(faces)), expected, atol=2e-5)


def test_bfloat16_fold_computes_in_bfloat16_and_returns_float32_probabilities_close_to_the_model(
        randomise_batchnorm):
    from fer_helpers.models import build_default_cnn, fold_for_inference

    model = build_default_cnn(filters=(8, 8, 16, 16), head_units=16)
    randomise_batchnorm(model)
    folded = fold_for_inference(model, compute_dtype="bfloat16")
    policies = [layer.dtype_policy.name for layer in folded.layers[1:]]
    assert policies[-1] == "float32" and set(policies[:-1]) == {"mixed_bfloat16"}
    faces = np.random.default_rng(1).integers(0, 256, (16, 48, 48, 1)).astype(np.float32)
    expected = np.asarray(model(faces, training=False))
    out = folded(faces)
    assert out.dtype == "float32"
    assert expected.std() > 0.01
    np.testing.assert_allclose(np.asarray(out), expected, atol=0.03)
    assert not np.allclose(np.asarray(out), expected, atol=1e-6)  # bfloat16 rounding is really there
    with pytest.raises(ValueError, match="compute_dtype"):
        fold_for_inference(model, compute_dtype="float16")


def test_folding_refuses_a_model_that_is_not_a_chain_and_prediction_falls_back():
    import keras

    from fer_helpers.models import fold_for_inference

    inputs = keras.Input((48, 48, 1))
    a = keras.layers.Conv2D(4, 3, padding="same")(keras.layers.Rescaling(1 / 255)(inputs))
    b = keras.layers.BatchNormalization()(a)
    x = keras.layers.Add()([a, b])  # a branch: BN cannot be folded away
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match="not a plain chain"):
        fold_for_inference(model)
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    np.testing.assert_allclose(predict_proba(model, faces, batch_size=4), predict_proba(model, faces), atol=1e-5)


@pytest.mark.parametrize("precision, atol", [("float32", 1e-5), ("bfloat16", 1e-2)])
def test_batched_path_follows_weight_changes_instead_of_a_stale_folded_copy(randomise_batchnorm, precision, atol):
    import keras

    keras.utils.set_random_seed(0)  # the same weights whatever ran before (the threshold below depends on them)
    model = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    before = predict_proba(model, faces, batch_size=4, precision=precision)
    randomise_batchnorm(model, seed=3)  # what training or load_weights would do
    after = predict_proba(model, faces, batch_size=4, precision=precision)
    assert np.abs(after - before).max() > 3 * atol + 1e-2  # a stale copy would be caught at either tolerance
    np.testing.assert_allclose(after, predict_proba(model, faces, batch_size=256, precision="float32"), atol=atol)


def test_mixed_precision_model_is_folded_to_float32():
    import keras

    from fer_helpers.models import fold_for_inference

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    folded = fold_for_inference(model)
    assert {layer.dtype_policy.name for layer in folded.layers} == {"float32"}
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(folded(faces)), np.asarray(model(faces, training=False)), atol=2e-2)
