"""Saving/loading in .keras, legacy .h5 and .json + .weights.h5, the error messages, and TensorFlow Lite export."""

from __future__ import annotations

import json
import os
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fer_helpers.inference import predict_proba  # noqa: E402
from fer_helpers.models import build_tutorial_cnn  # noqa: E402
from fer_helpers.saving import (  # noqa: E402
    default_weights_path,
    export_tflite,
    load_model,
    save_architecture_and_weights,
    save_model,
    tflite_predict,
    tflite_size_report,
)


def synthetic_faces(per_class: int, seed: int):
    """Noisy 48x48 faces whose class is the position of a bright square: learnable in one epoch by a tiny CNN."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(7), per_class)
    x = rng.normal(110, 25, (len(y), 48, 48)).clip(0, 255)
    for i, k in enumerate(y):
        r, c = divmod(int(k), 3)
        x[i, 4 + 14 * r: 16 + 14 * r, 4 + 14 * c: 16 + 14 * c] += 110
    x = x.clip(0, 255).astype(np.uint8)[..., None]
    order = rng.permutation(len(y))
    return x[order], y[order]


def tiny_model(filters=(4, 8, 8), name="tiny"):
    return build_tutorial_cnn(filters=filters, dense_units=16, name=name)


@pytest.fixture(scope="module")
def trained():
    """A tiny tutorial CNN trained for one epoch (so BatchNorm statistics and weights are not at their init)."""
    keras.utils.set_random_seed(0)
    x, y = synthetic_faces(60, seed=0)
    model = tiny_model()
    for layer in model.layers:  # let BatchNorm's moving statistics settle within the one short epoch
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.8
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    x_test, y_test = synthetic_faces(30, seed=1)
    return model, x_test, y_test


def assert_same_predictions(a, b, x):
    pa, pb = predict_proba(a, x), predict_proba(b, x)
    assert pa.shape == pb.shape == (len(x), 7)
    np.testing.assert_allclose(pa, pb, atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", ["model.keras", "legacy.h5", "arch.json"])
def test_round_trip_each_format(trained, tmp_path, name):
    model, x, _ = trained
    written = save_model(model, tmp_path / name)
    assert written == tmp_path / name and written.stat().st_size > 0
    if name.endswith(".json"):
        assert default_weights_path(written).name == "arch.weights.h5"
        assert default_weights_path(written).exists()
        json.loads(written.read_text())  # the architecture really is JSON text
    loaded = load_model(written)
    assert loaded is not model
    assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]
    assert_same_predictions(model, loaded, x)


def test_keras_file_keeps_the_optimizer_and_h5_is_hdf5(trained, tmp_path):
    model, _, _ = trained
    keras_path = save_model(model, tmp_path / "no_suffix")  # no extension: .keras is the default
    assert keras_path.suffix == ".keras" and zipfile.is_zipfile(keras_path)
    loaded = load_model(keras_path)
    assert loaded.optimizer is not None and loaded.optimizer.__class__ is model.optimizer.__class__
    h5_path = save_model(model, tmp_path / "m.h5")
    assert h5_path.suffix == ".h5" and h5py.is_hdf5(h5_path)
    with h5py.File(h5_path) as f:
        assert str(f.attrs["keras_version"]).startswith("3.")
    # Keras' legacy writer used to drop the optimizer from the live model's compile config (saving.py restores it)
    assert json.loads(model.to_json())["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert load_model(save_model(model, tmp_path / "after_h5.keras")).optimizer.__class__ is model.optimizer.__class__


def test_architecture_and_weights_pair_with_explicit_weights(trained, tmp_path):
    model, x, _ = trained
    j, w = save_architecture_and_weights(model, tmp_path / "a.json", tmp_path / "elsewhere" / "w.weights.h5")
    assert j.exists() and w.exists()
    with pytest.raises(FileNotFoundError, match="a.weights.h5"):  # not next to the JSON under the default name
        load_model(j)
    assert_same_predictions(model, load_model(j, weights=w), x)
    inference_only = load_model(j, weights=w, compile=False)
    assert getattr(inference_only, "optimizer", None) is None
    assert_same_predictions(model, inference_only, x)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):  # Keras 3 needs the suffix: say so up front
        save_architecture_and_weights(model, tmp_path / "b.json", tmp_path / "b.h5")


def test_save_model_rejects_unknown_formats_and_weights_only_names(trained, tmp_path):
    model, _, _ = trained
    with pytest.raises(ValueError, match=r"model\.pb"):
        save_model(model, tmp_path / "model.pb")
    with pytest.raises(ValueError, match=r"model\.weights\.h5"):
        save_model(model, tmp_path / "model.weights.h5")
    assert list(tmp_path.iterdir()) == []


@keras.saving.register_keras_serializable(package="fer_helpers_tests")
class Brighten(keras.layers.Layer):
    """A custom layer registered the way fer_helpers.augment registers its layers."""

    def __init__(self, delta=0.0, **kwargs):
        super().__init__(**kwargs)
        self.delta = delta

    def call(self, x):
        return x + self.delta

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@pytest.mark.parametrize("name", ["custom.keras", "custom.h5", "custom.json"])
def test_registered_custom_layers_load_in_every_format(tmp_path, name):
    inputs = keras.Input((48, 48, 1))
    x = Brighten(12.5, name="brighten")(inputs)
    x = keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    loaded = load_model(save_model(model, tmp_path / name))
    assert isinstance(loaded.get_layer("brighten"), Brighten)
    assert loaded.get_layer("brighten").delta == 12.5
    faces, _ = synthetic_faces(2, seed=3)
    assert_same_predictions(model, loaded, faces)


def test_package_augment_layers_load_without_importing_augment_first(tmp_path):
    """A model with fer_helpers.augment's registered layer loads even when nothing imported augment beforehand."""
    import sys

    from fer_helpers.augment import RandomBrightnessMultiply as layer_class
    inputs = keras.Input((48, 48, 1))
    x = layer_class(name="brightness")(inputs)
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(x))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    path = save_model(model, tmp_path / "augmented.keras")
    # Forget the registration, as in a fresh kernel that never imported fer_helpers.augment.
    registry = keras.saving.get_custom_objects()
    key = next(k for k, v in registry.items() if v is layer_class)
    saved = registry.pop(key)
    module = sys.modules.pop("fer_helpers.augment")
    try:
        loaded = load_model(path)
        assert "fer_helpers.augment" in sys.modules
        assert type(loaded.get_layer("brightness")).__name__ == layer_class.__name__
    finally:  # put the original module and class back, for other tests holding references to them
        import fer_helpers

        registry[key] = saved
        sys.modules["fer_helpers.augment"] = module
        fer_helpers.augment = module


# ------------------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("name", ["absent.keras", "absent.h5", "absent.json"])
def test_missing_file_names_the_path(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=name):
        load_model(tmp_path / name)


def test_missing_weights_next_to_json(trained, tmp_path):
    j = save_model(trained[0], tmp_path / "arch.json")
    default_weights_path(j).unlink()
    with pytest.raises(FileNotFoundError, match="arch.weights.h5"):
        load_model(j)


@pytest.mark.parametrize("name", ["empty.keras", "empty.h5", "empty.json"])
def test_zero_byte_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(ValueError, match=f"{name}.*empty"):
        load_model(tmp_path / name)


@pytest.mark.parametrize("name", ["notes.keras", "notes.h5", "notes.json"])
def test_text_file_renamed_as_a_model(tmp_path, name):
    (tmp_path / name).write_text("these are my lecture notes, not a model\n")
    with pytest.raises(ValueError, match=name):
        load_model(tmp_path / name)


def test_other_non_model_files(tmp_path):
    z = tmp_path / "photos.keras"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("a.txt", "hello")
    with pytest.raises(ValueError, match="photos.keras.*not a Keras model"):
        load_model(z)
    j = tmp_path / "list.json"
    j.write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match="list.json.*not a Keras model"):
        load_model(j)
    h = tmp_path / "data.h5"
    with h5py.File(h, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ValueError, match="data.h5.*not a Keras model"):
        load_model(h)
    with pytest.raises(ValueError, match="unsupported extension"):
        load_model(j.rename(tmp_path / "list.txt"))


def test_truncated_keras_archive(trained, tmp_path):
    p = save_model(trained[0], tmp_path / "m.keras")
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ValueError, match="m.keras"):
        load_model(p)


def test_weights_of_a_different_architecture(trained, tmp_path):
    model, _, _ = trained
    j = save_model(model, tmp_path / "arch.json")
    other = tiny_model(filters=(4, 8, 16), name="other")  # same layers, different widths
    other.save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError, match="other.weights.h5.*does not fit.*arch.json"):
        load_model(j, weights=tmp_path / "other.weights.h5")
    smaller = tiny_model(filters=(4, 8), name="smaller")  # fewer layers
    smaller.save_weights(tmp_path / "smaller.weights.h5")
    with pytest.raises(ValueError, match="does not fit"):
        load_model(j, weights=tmp_path / "smaller.weights.h5")


def test_weights_only_file_given_as_model(trained, tmp_path):
    _, w = save_architecture_and_weights(trained[0], tmp_path / "a.json")
    with pytest.raises(ValueError, match="weights only"):
        load_model(w)


def test_lambda_layers_are_refused_not_executed(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    p = tmp_path / "lam.keras"
    model.save(p)
    with pytest.raises(ValueError, match="lam.keras.*never executes code"):
        load_model(p)


def _keras2_config(model) -> dict:
    """Make a Keras 3 model config look like a Keras 2 one that Keras 3 cannot rebuild (a TFOpLambda layer)."""
    config = json.loads(model.to_json())
    layer = config["config"]["layers"][1]
    layer["class_name"] = "TFOpLambda"
    layer.pop("module", None)
    layer.pop("registered_name", None)
    layer["config"] = {"name": layer["config"]["name"], "function": "math.multiply", "trainable": True}
    config["keras_version"] = "2.15.0"
    config["backend"] = "tensorflow"
    return config


def test_keras2_h5_that_keras3_cannot_read_explains_the_conversion(trained, tmp_path):
    model, x, _ = trained
    p = save_model(model, tmp_path / "old.h5")
    with h5py.File(p, "r+") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = json.dumps(_keras2_config(model))
    with pytest.raises(ValueError, match=r"(?s)old.h5.*Keras 2\.15\.0.*tf-keras.*model\.keras"):
        load_model(p)


def test_keras2_h5_that_keras3_can_read_still_loads(trained, tmp_path):
    model, x, _ = trained
    p = save_model(model, tmp_path / "old_ok.h5")
    with h5py.File(p, "r+") as f:
        f.attrs["keras_version"] = "2.15.0"
    assert_same_predictions(model, load_model(p), x)


def test_keras2_json_is_explained(trained, tmp_path):
    model, _, _ = trained
    j = save_model(model, tmp_path / "old.json")
    j.write_text(json.dumps(_keras2_config(model)))
    with pytest.raises(ValueError, match=r"(?s)old.json.*Keras 2\.15\.0.*re-save"):
        load_model(j)


@pytest.mark.parametrize("keras2", [True, False])
def test_savedmodel_directory_is_explained(tmp_path, keras2):
    d = tmp_path / "saved_model_dir"
    (d / "variables").mkdir(parents=True)
    (d / "saved_model.pb").write_bytes(b"\x08\x01")
    if keras2:
        (d / "keras_metadata.pb").write_bytes(b"\x0a\x00")
    with pytest.raises(ValueError, match=r"(?s)saved_model_dir.*SavedModel.*TFSMLayer.*model\.keras") as info:
        load_model(d)
    assert ("written by Keras 2" in str(info.value)) == keras2


# --------------------------------------------------------------------------------------------------- TensorFlow Lite
@pytest.fixture(scope="module")
def tflite_files(trained, tmp_path_factory):
    d = tmp_path_factory.mktemp("tflite")
    keras_path = save_model(trained[0], d / "model.keras")
    # float32 export (quantization=None) is skipped to keep the suite fast: it is the same conversion without the
    # optimisation flags, and the float16 comparison below already checks the converted graph end to end.
    sizes = tflite_size_report(trained[0], d, quantizations=("float16", "dynamic"), keras_path=keras_path)
    return d, sizes


def test_tflite_sizes_are_reported_and_shrink(trained, tflite_files):
    d, sizes = tflite_files
    model = trained[0]
    assert set(sizes) == {"model.keras", "model_float16.tflite", "model_dynamic.tflite"}
    for name, size in sizes.items():
        assert size == (d / name).stat().st_size
    params = model.count_params()
    assert sizes["model_float16.tflite"] >= 2 * params  # every weight is in there, 2 bytes each...
    assert sizes["model_float16.tflite"] < 4 * params + 16 * 1024  # ...not 4 (plus the flatbuffer's own overhead)
    assert sizes["model_dynamic.tflite"] < sizes["model_float16.tflite"]  # int8 kernels: smaller still
    print({k: f"{v / 1024:.1f} KiB" for k, v in sizes.items()})


def test_tflite_float16_agrees_with_keras(trained, tflite_files):
    model, x, _ = trained
    d, _ = tflite_files
    expected = predict_proba(model, x)
    half = tflite_predict(d / "model_float16.tflite", x)
    assert half.shape == expected.shape
    # float16 weights carry ~3 significant digits: probabilities move by well under 1e-2.
    np.testing.assert_allclose(half, expected, atol=1e-2)
    np.testing.assert_array_equal(half.argmax(1), expected.argmax(1))
    print(f"float16: max |dp| = {np.abs(half - expected).max():.2e}")


def test_tflite_dynamic_range_int8_agrees_with_keras(trained, tflite_files):
    model, x, y = trained
    d, _ = tflite_files
    expected = predict_proba(model, x)
    assert (expected.argmax(1) == y).mean() > 0.5  # the one-epoch model has learned something
    q = tflite_predict(d / "model_dynamic.tflite", x)
    agreement = (q.argmax(1) == expected.argmax(1)).mean()
    err = np.abs(q - expected).max()
    print(f"dynamic int8: argmax agreement {agreement:.1%}, max |dp| = {err:.2e}")
    assert agreement >= 0.9
    # Tolerance: int8 weights are rounded to 1/127 of each tensor's largest magnitude (<= 0.4% relative error per
    # weight) and activations are quantised on the fly; over the ~8 weight layers the logits drift by at most a few
    # percent, which moves a softmax probability by at most ~p(1-p) * drift <= 0.25 * 0.2 = 0.05. (Measured here:
    # ~3e-3.) A bigger difference would mean a broken conversion, e.g. the Rescaling layer lost.
    assert err < 0.05
    np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-3)


def test_tflite_bad_inputs(trained, tmp_path):
    with pytest.raises(ValueError, match="quantization"):
        export_tflite(trained[0], tmp_path / "m.tflite", quantization="int4")
    with pytest.raises(ValueError, match=r"\.tflite"):
        export_tflite(trained[0], tmp_path / "m.lite")
    with pytest.raises(FileNotFoundError, match="nothing.tflite"):
        tflite_predict(tmp_path / "nothing.tflite", np.zeros((1, 48, 48), np.uint8))
    bad = tmp_path / "bad.tflite"
    bad.write_text("not a flatbuffer")
    with pytest.raises(ValueError, match="bad.tflite"):
        tflite_predict(bad, np.zeros((1, 48, 48), np.uint8))
