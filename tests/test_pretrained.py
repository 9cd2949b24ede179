"""The pretrained model shipped in the package: loads safely, is small, is the default, and its card is honest."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fer_helpers import pretrained
from fer_helpers.cli import main
from fer_helpers.data import write_fer_csv
from fer_helpers.labels import EMOTIONS
from fer_helpers.synthetic import assign_usage, generate_faces

FER2013 = Path(__file__).resolve().parents[2] / "shared" / "fer2013" / "fer2013.csv.gz"


def test_shipped_model_loads_and_is_small():
    model = pretrained.load_pretrained()
    assert pretrained.MODEL_FILE.stat().st_size < 20e6
    # faces of any size (ten-crop) where Keras's CenterCrop allows it; 48x48 on Keras 3.10
    assert tuple(model.input_shape) in ((None, None, None, 1), (None, 48, 48, 1)) and model.output_shape == (None, 7)
    # every layer computes in float32: fast on every CPU and convertible to TFLite, whatever it was trained in
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    probs = np.asarray(model(faces, training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # whole faces are centre-cropped to the 40x40 the network was trained on: the same as feeding the crop
    if model.input_shape[1] is None:
        np.testing.assert_allclose(np.asarray(model(faces[:, 4:44, 4:44], training=False)), probs, atol=1e-5)
    assert pretrained.load_pretrained() is model  # loaded once per process


def test_info_records_recipe_and_scores():
    info = pretrained.pretrained_info()
    assert info["file"] == pretrained.MODEL_FILE.name
    pt = info["publictest"]
    assert pt["n"] == 3435 and all(0.70 <= pt[k] <= 1 for k in ("accuracy", "accuracy_tta", "accuracy_tencrop"))
    assert info["recipe"]["crop"] == 40 and info["recipe"]["filters"] == [64, 128, 256, 512]
    assert "train_pretrained.sh" in info["command"] and info["params"] == pretrained.load_pretrained().count_params()
    assert len(info["confusion"]) == 7 and sum(map(sum, info["confusion"])) == 3435
    confusion = np.array(info["confusion"])
    assert info["publictest"]["accuracy"] == round(np.trace(confusion) / confusion.sum(), 4)  # one evaluation
    assert [info["per_class"][name]["support"] for name in EMOTIONS] == confusion.sum(axis=1).tolist()


def test_predict_without_model_labels_the_astronaut_happy(tmp_path, capsys):
    from skimage import data as skdata

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    assert main(["predict", str(photo), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (face,) = result["faces"]
    x, y, w, h = face["box"]
    assert 170 <= x + w / 2 <= 260 and 60 <= y + h / 2 <= 170  # the face, not the flag or the helmet
    assert face["label"] == "Happy" and max(face["probabilities"], key=face["probabilities"].get) == "Happy"


@pytest.mark.skipif(not FER2013.exists(), reason="FER2013 development copy not present")
def test_recorded_publictest_accuracy_reproduces(capsys):
    assert main(["evaluate", "--model", str(pretrained.MODEL_FILE), "--data", str(FER2013), "--split",
                 "PublicTest", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    info = pretrained.pretrained_info()
    assert report["n"] == 3435
    assert report["accuracy"] == pytest.approx(info["publictest"]["accuracy"], abs=1e-3)


@pytest.mark.slow
def test_recipe_script_trains_the_shipped_recipe_and_skips_a_finished_run(tmp_path):
    """scripts/train_pretrained.sh end to end on a tiny generated data set and a tiny network."""
    repo = Path(__file__).resolve().parents[1]
    images, labels = generate_faces(per_class=20, seed=3)
    csv = write_fer_csv(tmp_path / "tiny.csv", images, labels, assign_usage(labels, seed=3, fractions=(0.8, 0.2, 0)))
    out = tmp_path / "pretrained"
    env = {**os.environ, "PY": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(repo)}
    cmd = ["bash", str(repo / "scripts" / "train_pretrained.sh"), str(csv), str(out), "--filters", "4,4,8,8",
           "--epochs", "4", "--precision", "float32"]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    config = json.loads((out / "config.json").read_text())
    assert config["filters"] == [4, 4, 8, 8] and config["epochs"] == 4  # the overrides win
    assert (config["crop"], config["lr"], config["weight_decay"], config["erase"]) == (40, 0.01, 5e-4, 0.5)
    assert len(pd.read_csv(out / "log.csv")) == 4 and not (out / "state").exists()
    assert set(json.loads((out / "metrics.json").read_text())["publictest"]) == {"single", "flip", "tencrop"}
    again = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    assert "finished already" in again.stdout


def test_a_file_from_a_newer_keras_loads_without_the_arguments_this_one_lacks(tmp_path):
    """Colab's Keras 3.10 meets configs written by a newer Keras (e.g. BatchNormalization's ``renorm``)."""
    import json
    import zipfile

    import keras
    import numpy as np

    from fer_helpers.pretrained import load_shipped_model

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense"),
                              keras.layers.BatchNormalization(name="bn")])
    model.save(tmp_path / "plain.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as src:
        config = json.loads(src.read("config.json"))
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "BatchNormalization":
                layer["config"]["renorm_from_the_future"] = False
            if layer["class_name"] == "Dense":
                layer["config"]["kernel_initializer"]["config"]["axes_from_the_future"] = None
        with zipfile.ZipFile(tmp_path / "newer.keras", "w") as dst:
            for item in src.infolist():
                dst.writestr(item, json.dumps(config) if item.filename == "config.json" else src.read(item.filename))
    with pytest.raises((TypeError, ValueError)):
        keras.models.load_model(tmp_path / "newer.keras", compile=False)
    loaded = load_shipped_model(tmp_path / "newer.keras")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.bfloat16
def test_float32_model_switches_mixed_precision_layers():
    """What the shipped model went through (scripts/make_model_card.py): a mixed-precision run saved as float32."""
    import keras

    from fer_helpers.models import build_tutorial_cnn, float32_model

    plain = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    assert float32_model(plain) is plain  # already float32: returned unchanged
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in mixed.layers}
    copy = float32_model(mixed)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    faces = np.random.default_rng(0).integers(0, 256, size=(4, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(copy(faces, training=False), mixed(faces, training=False), atol=0.02)
