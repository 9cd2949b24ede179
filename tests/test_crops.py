"""Random crops, random erasing and ten-crop (fer_helpers.crops), and the GPU recipe script that uses them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from fer_helpers.crops import RandomCropErase, ten_crops
from fer_helpers.synthetic import generate_faces

ROOT = Path(__file__).resolve().parents[1]


def _faces(n=6, size=48):
    return np.arange(n * size * size, dtype="float32").reshape(n, size, size, 1) % 251


def _find_crop(face, crop):
    """(top, left, mirrored) of ``crop`` inside ``face``, or None."""
    s = crop.shape[0]
    for top in range(face.shape[0] - s + 1):
        for left in range(face.shape[1] - s + 1):
            window = face[top:top + s, left:left + s]
            if np.array_equal(window, crop):
                return top, left, False
            if np.array_equal(window[:, ::-1], crop):
                return top, left, True
    return None


def test_training_crops_are_exact_windows_some_mirrored():
    faces = _faces(16)
    out = keras.ops.convert_to_numpy(RandomCropErase(40, erase=0.0, seed=1)(faces, training=True))
    assert out.shape == (16, 40, 40, 1)
    found = [_find_crop(f, o) for f, o in zip(faces, out)]
    assert all(found), "every crop is a 40x40 window of its own face"
    assert len({(t, l) for t, l, _ in found}) > 1, "crops are drawn per face"
    assert 0 < sum(m for *_, m in found) < 16, "about half are mirrored"


def test_erasing_replaces_one_rectangle_and_inference_takes_the_centre():
    faces = np.full((64, 48, 48, 1), 7.0, dtype="float32")
    out = keras.ops.convert_to_numpy(RandomCropErase(40, flip=False, erase=1.0, seed=0)(faces, training=True))
    changed = out[..., 0] != 7.0
    fractions = changed.mean(axis=(1, 2))
    assert (fractions > 0).mean() > 0.9 and fractions.max() <= 0.26
    rows, cols = np.nonzero(changed[int(np.argmax(fractions))])
    box = changed[int(np.argmax(fractions))][rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert box.mean() > 0.95, "the erased pixels form one rectangle"
    centre = keras.ops.convert_to_numpy(RandomCropErase(40)(_faces(2), training=False))
    np.testing.assert_array_equal(centre, _faces(2)[:, 4:44, 4:44])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="erase"):
        RandomCropErase(40, erase=1.5)
    with pytest.raises(ValueError, match="area"):
        RandomCropErase(40, area=(0.3, 0.1))
    with pytest.raises(ValueError, match="crop size"):
        ten_crops(_faces(1), 49)


def test_ten_crops_are_corners_centre_and_mirrors():
    faces = _faces(3)
    crops = ten_crops(faces, 40)
    assert crops.shape == (10, 3, 40, 40, 1)
    np.testing.assert_array_equal(crops[0], faces[:, :40, :40])
    np.testing.assert_array_equal(crops[3], faces[:, 8:, 8:])
    np.testing.assert_array_equal(crops[4], faces[:, 4:44, 4:44])
    np.testing.assert_array_equal(crops[9], faces[:, 4:44, 4:44][:, :, ::-1])


@pytest.mark.slow
def test_recipe_trains_resumes_and_ships_a_centre_cropping_model(tmp_path):
    images, labels = generate_faces(12, seed=0)
    usage = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    np.savez(tmp_path / "faces.npz", x=images, y=labels, usage=usage)
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_pretrained.py"), "--data", str(tmp_path / "faces.npz"),
           "--out", str(out), "--filters", "4,8", "--convs", "1,1", "--dropout", "0,0", "--epochs", "3",
           "--warmup-epochs", "1", "--batch-size", "16", "--precision", "float32"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and set(metrics["publictest"]) == {"single", "flip", "tencrop"}
    assert not (out / "state").exists()
    model = keras.saving.load_model(out / "best_model.keras")
    assert model.predict(np.zeros((2, 48, 48, 1)), verbose=0).shape == (2, 7)
    assert model.predict(np.zeros((2, 40, 40, 1)), verbose=0).shape == (2, 7)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "finished already" in again.stdout
    other = subprocess.run(cmd[:-2] + ["--precision", "mixed_bfloat16", "--out", str(tmp_path / "x"), "--epochs",
                                       "1"], capture_output=True, text=True, env=env)
    assert other.returncode != 0 and "--epochs" in other.stderr
