"""scripts/make_model_card.py: ships a run's model and describes the run honestly (one run or warm-started stages)."""

import importlib.util
import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from fer_helpers import pretrained, training
from fer_helpers.data import write_fer_csv
from fer_helpers.synthetic import assign_usage, generate_faces

REPO = Path(__file__).resolve().parents[1]
TINY = {"filters": (4, 4, 8, 8), "head_units": 8}
KW = dict(model="default", batch_size=32, augment="none", patience=10, verbose=0, learning_rate=3e-3, model_kwargs=TINY)


def _card_script():
    spec = importlib.util.spec_from_file_location("make_model_card", REPO / "scripts" / "make_model_card.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny CSV with PublicTest rows, a one-stage run, a second stage warm-started from it."""
    folder = tmp_path_factory.mktemp("card")
    images, labels = generate_faces(per_class=12, seed=5)
    csv = write_fer_csv(folder / "tiny.csv", images, labels, assign_usage(labels, seed=5, fractions=(0.7, 0.3, 0)))
    kw = {**KW, "warmup_epochs": 2}
    first = training.train(csv, folder / "one", epochs=3, **kw)
    second = training.train(csv, folder / "two", epochs=2, init_from=str(first.best_model_path), **kw)
    return csv, first, second


def _make_card(monkeypatch, tmp_path, csv, run_dir, *flags):
    script = _card_script()
    monkeypatch.setattr(script, "ROOT", tmp_path)  # docs/ goes here
    monkeypatch.setattr(pretrained, "MODEL_FILE", tmp_path / "pkg" / "fer_vgg.keras")
    monkeypatch.setattr(pretrained, "INFO_FILE", tmp_path / "pkg" / "fer_vgg.json")
    monkeypatch.setattr(sys, "argv", ["make_model_card.py", str(run_dir), "--data", str(csv), *flags])
    script.main()
    info = json.loads((tmp_path / "pkg" / "fer_vgg.json").read_text())
    return info, (tmp_path / "docs" / "MODEL_CARD.md").read_text()


def _assert_same_weights(shipped, source):
    for got, want in zip(keras.models.load_model(shipped, compile=False).get_weights(),
                         keras.models.load_model(source, compile=False).get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_card_for_one_run_ships_the_chosen_model_and_says_how_it_was_trained(runs, tmp_path, monkeypatch):
    csv, first, _ = runs
    info, card = _make_card(monkeypatch, tmp_path, csv, first.out_dir, "--resumed-after", "2", "--wall-time-s", "7200")
    _assert_same_weights(tmp_path / "pkg" / "fer_vgg.keras", first.best_model_path)
    assert info["resumed_after_epochs"] == [2]
    assert info["wall_time_s"] == 7200 and info["epochs_run"] == 3 and len(info["stages"]) == 1
    assert info["publictest"]["n"] == sum(sum(row) for row in info["confusion"]) > 0
    assert "**The run** (`runs/pretrained`), from a random initialisation: 3 epochs" in card
    assert "(2 warm-up epochs)" in card and "once per stage" not in card and "Stage 1" not in card
    assert "interrupted (a working session ended) after epoch 2 and resumed" in card
    assert "in 2.0 hours of wall\ntime" in card and (tmp_path / "docs" / "model_card_confusion.png").exists()
    assert "**Below target.**" in card  # a 3-epoch toy model is far from 70%, and the card must say so
    assert "resumed across working sessions" in card and "in stages" not in card


def test_card_for_one_run_not_resumed_says_nothing_about_interruptions(runs, tmp_path, monkeypatch):
    csv, first, _ = runs
    info, card = _make_card(monkeypatch, tmp_path, csv, first.out_dir)
    _assert_same_weights(tmp_path / "pkg" / "fer_vgg.keras", first.best_model_path)
    assert info["resumed_after_epochs"] == [] and info["epochs_run"] == 3
    assert "resumed across" not in card and "interrupted (a working session ended)" not in card


def test_card_for_a_warm_started_run_describes_every_stage(runs, tmp_path, monkeypatch):
    csv, first, second = runs
    info, card = _make_card(monkeypatch, tmp_path, csv, second.out_dir)
    _assert_same_weights(tmp_path / "pkg" / "fer_vgg.keras", second.best_model_path)
    assert info["resumed_after_epochs"] == []
    assert [s["warm_start"] for s in info["stages"]] == [False, True] and info["epochs_run"] == 5
    assert "1. **Stage 1** (`runs/pretrained/stage1`), from a random initialisation" in card
    assert "2. **Stage 2** (`runs/pretrained/stage2`), from the best checkpoint of stage 1" in card
    assert "once per stage" in card and "interrupted (a working session ended)" not in card
    assert "in stages that each fitted one working session" in card and "resumed across" not in card


def test_card_rejects_a_run_without_a_model_and_bad_arguments(runs, tmp_path, monkeypatch):
    csv, _, second = runs
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("config.json", "training_log.csv", "metrics.json"):
        (empty / name).write_bytes((second.out_dir / name).read_bytes())
    with pytest.raises(SystemExit, match="best_model.keras does not exist"):
        _make_card(monkeypatch, tmp_path, csv, empty)
    with pytest.raises(SystemExit, match="--resumed-after"):
        _make_card(monkeypatch, tmp_path, csv, second.out_dir, "--resumed-after", "after lunch")


def test_a_copy_missing_official_publictest_faces_is_named_and_the_full_split_estimated():
    from fer_helpers.evaluation import EvaluationResult
    from fer_helpers.labels import EMOTIONS

    script = _card_script()
    official = script.OFFICIAL_PUBLICTEST
    assert list(official) == list(EMOTIONS) and sum(official.values()) == 3589
    present = {**official, "Surprise": official["Surprise"] - 154}  # the development copy lacks 154 Surprise faces
    y_true = np.concatenate([np.full(k, EMOTIONS.index(c)) for c, k in present.items()])
    y_pred = y_true.copy()
    surprise = np.flatnonzero(y_true == EMOTIONS.index("Surprise"))
    y_pred[surprise[:87]] = 0  # Surprise recall 174/261 = 2/3; every other face right
    result = EvaluationResult.from_predictions(y_true, y_pred)
    assert script._missing_publictest(result) == {"Surprise": 154}
    # correct faces 3435 - 87 = 3348, plus 2/3 of the 154 missing ones
    assert script._full_split_estimate(result) == pytest.approx((3348 + 154 * 2 / 3) / 3589)
    small = EvaluationResult.from_predictions(y_true[::10], y_pred[::10])  # a small sample, not a copy of the split
    assert script._missing_publictest(small) == {} and script._full_split_estimate(small) is None


def test_rewrite_measures_the_shipped_model_again_and_keeps_its_recipe(runs, tmp_path, monkeypatch):
    csv, first, _ = runs
    info, card = _make_card(monkeypatch, tmp_path, csv, first.out_dir, "--faces-per-second", "1234")
    (tmp_path / "docs" / "MODEL_CARD.md").unlink()
    recorded = json.loads((tmp_path / "pkg" / "fer_vgg.json").read_text())
    del recorded["publictest"], recorded["per_class"]
    (tmp_path / "pkg" / "fer_vgg.json").write_text(json.dumps(recorded))
    again, rewritten = _make_card(monkeypatch, tmp_path, csv, "--rewrite")
    assert again == info and rewritten == card
    with pytest.raises(SystemExit, match="--rewrite"):
        _make_card(monkeypatch, tmp_path, csv, first.out_dir, "--rewrite")


def test_a_run_fine_tuned_from_the_shipped_model_continues_its_recorded_stages(runs, tmp_path, monkeypatch):
    """The shipped model's run folders may be long gone: its stages come from the recorded fer_vgg.json."""
    csv, _, second = runs
    before, _ = _make_card(monkeypatch, tmp_path, csv, second.out_dir)  # two stages, shipped into tmp_path/pkg
    more = training.train(csv, tmp_path / "more", epochs=2, init_from=str(tmp_path / "pkg" / "fer_vgg.keras"), **KW)
    info, card = _make_card(monkeypatch, tmp_path, csv, more.out_dir)
    _assert_same_weights(tmp_path / "pkg" / "fer_vgg.keras", more.best_model_path)
    assert info["stages"][:2] == before["stages"] and len(info["stages"]) == 3
    assert info["epochs_run"] == before["epochs_run"] + 2
    assert "3. **Stage 3** (`runs/pretrained/stage3`), from the best checkpoint of stage 2: 2 epochs" in card
    assert "1. **Stage 1** (`runs/pretrained/stage1`), from a random initialisation" in card
