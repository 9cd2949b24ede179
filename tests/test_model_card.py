"""scripts/make_model_card.py: ships a train_pretrained.py run and describes it honestly."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from fer_helpers import pretrained
from fer_helpers.data import write_fer_csv
from fer_helpers.synthetic import assign_usage, generate_faces

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.skipif(tuple(int(v) for v in keras.__version__.split(".")[:2]) < (3, 11),
                                reason="train_pretrained.py needs a Keras whose CenterCrop takes faces of any size")


def _script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny CSV with PublicTest rows and a finished 4-epoch train_pretrained.py run on it."""
    folder = tmp_path_factory.mktemp("card")
    images, labels = generate_faces(per_class=12, seed=5)
    csv = write_fer_csv(folder / "tiny.csv", images, labels, assign_usage(labels, seed=5, fractions=(0.7, 0.3, 0)))
    _script("train_pretrained").main(["--data", str(csv), "--out", str(folder / "run"), "--filters", "4,4,8,8",
                                      "--epochs", "4", "--warmup-epochs", "1", "--precision", "float32"])
    return csv, folder / "run"


@pytest.fixture
def card(tmp_path, monkeypatch):
    """make_model_card.main with the package's model, its JSON and docs/ redirected into tmp_path."""
    script = _script("make_model_card")
    monkeypatch.setattr(script, "ROOT", tmp_path)
    (tmp_path / "pkg").mkdir()
    monkeypatch.setattr(pretrained, "MODEL_FILE", tmp_path / "pkg" / "fer_vgg.keras")
    monkeypatch.setattr(pretrained, "INFO_FILE", tmp_path / "pkg" / "fer_vgg.json")

    def make(*argv):
        script.main([str(a) for a in argv])
        return (json.loads((tmp_path / "pkg" / "fer_vgg.json").read_text()),
                (tmp_path / "docs" / "MODEL_CARD.md").read_text())
    return make


def _weights(path):
    return keras.models.load_model(path, compile=False).get_weights()


def test_card_ships_the_best_model_and_says_how_it_was_trained(run, card, tmp_path):
    csv, run_dir = run
    info, text = card(run_dir, "--hardware", "a test CPU", "--data", csv, "--frames-per-second", "41")
    for got, want in zip(_weights(tmp_path / "pkg" / "fer_vgg.keras"), _weights(run_dir / "best_model.keras"),
                         strict=True):
        np.testing.assert_array_equal(got, want)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert info["epochs_run"] == 4 and info["best_epoch"] == metrics["best_epoch"] and info["hardware"] == "a test CPU"
    pt = info["publictest"]
    assert pt["n"] == sum(map(sum, info["confusion"])) > 0
    assert pt["accuracy"] == pytest.approx(metrics["publictest"]["single"], abs=1e-4)  # the run's own figure
    assert pt["accuracy_tencrop"] == pytest.approx(metrics["publictest"]["tencrop"], abs=1e-4)
    assert "**Below target**" in text  # a 4-epoch toy network is far from 70%, and the card must say so
    assert "4-8-8 filters" in text and "4 epochs (best: epoch" in text and "on a test CPU" in text
    assert "**41 frames per second**" in text and (tmp_path / "docs" / "model_card_confusion.png").exists()


def test_rewrite_measures_the_shipped_model_again_and_keeps_its_recipe(run, card):
    csv, run_dir = run
    first, _ = card(run_dir, "--hardware", "a test CPU", "--data", csv)
    again, text = card("--rewrite", "--data", csv)
    assert again == first and "Not measured for this model." in text


def test_card_rejects_an_unfinished_run_and_bad_arguments(run, card, tmp_path):
    csv, run_dir = run
    with pytest.raises(SystemExit, match="not a finished train_pretrained.py run"):
        card(tmp_path, "--hardware", "x", "--data", csv)
    for argv in ([run_dir], ["--rewrite", run_dir], []):  # no --hardware; both; neither
        with pytest.raises(SystemExit):
            card(*argv)
