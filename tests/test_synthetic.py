"""Tests of fer_helpers.synthetic, the embedded synthetic face data set (determinism, layout, that it is learnable
by a small CNN but not by a linear model on raw pixels), and of its files: the committed sample, make-sample."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pathlib
import time

import numpy as np
import pandas as pd
import pytest

from fer_helpers import synthetic as syn
from fer_helpers.cli import main
from fer_helpers import data as fd
from fer_helpers.data import cache_dir, load_fer2013
from fer_helpers.labels import EMOTIONS, NUM_CLASSES, USAGES

ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL = (
    EMOTIONS.index(n) for n in ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"))

# the learnability experiment: train on faces of one seed, test on faces of another
TRAIN_SEED, TEST_SEED = 101, 202
TRAIN_PER_CLASS, TEST_PER_CLASS = 300, 100


@pytest.fixture(scope="module")
def faces():
    return syn.generate_faces(40, seed=3)


@pytest.fixture(scope="module")
def learn_split():
    x_train, y_train = syn.generate_faces(TRAIN_PER_CLASS, seed=TRAIN_SEED)
    x_test, y_test = syn.generate_faces(TEST_PER_CLASS, seed=TEST_SEED)
    return x_train, y_train, x_test, y_test


def ridge_accuracy(x_train, y_train, x_test, y_test) -> float:
    """A linear model on raw pixels: the trivial baseline the CNN must beat clearly."""
    from sklearn.linear_model import RidgeClassifier

    clf = RidgeClassifier(alpha=100.0).fit(x_train.reshape(len(x_train), -1) / 255.0, y_train)
    return float(clf.score(x_test.reshape(len(x_test), -1) / 255.0, y_test))


def nearest_mean_accuracy(x_train, y_train, x_test, y_test) -> float:
    xtr = x_train.reshape(len(x_train), -1).astype(np.float32)
    xte = x_test.reshape(len(x_test), -1).astype(np.float32)
    means = np.stack([xtr[y_train == c].mean(axis=0) for c in range(NUM_CLASSES)])
    d = (xte**2).sum(1)[:, None] - 2 * xte @ means.T + (means**2).sum(1)[None, :]
    return float(np.mean(d.argmin(axis=1) == y_test))


# ----------------------------------------------------------------------------------------------------------------
# generate_faces
# ----------------------------------------------------------------------------------------------------------------


def test_shapes_dtypes_and_balance(faces):
    images, labels = faces
    assert images.shape == (7 * 40, 48, 48) and images.dtype == np.uint8
    assert labels.shape == (7 * 40,) and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels, minlength=NUM_CLASSES), [40] * NUM_CLASSES)
    # rows are shuffled: not grouped by class
    assert np.count_nonzero(np.diff(labels)) > 100
    assert syn.generate_faces(1, seed=0)[0].shape == (7, 48, 48)


def test_same_seed_gives_the_same_bytes_and_another_seed_other_faces():
    a_img, a_lab = syn.generate_faces(6, seed=11)
    b_img, b_lab = syn.generate_faces(6, seed=11)
    assert a_img.tobytes() == b_img.tobytes() and a_lab.tobytes() == b_lab.tobytes()
    c_img, c_lab = syn.generate_faces(6, seed=12)
    assert not np.array_equal(c_lab, a_lab)
    assert not np.array_equal(c_img, a_img)
    # different seeds give different faces even for the same class, not a permutation of the same faces
    a_happy, c_happy = a_img[a_lab == HAPPY], c_img[c_lab == HAPPY]
    assert all(not np.array_equal(f, g) for f in a_happy for g in c_happy)


def test_pixels_use_the_range_and_faces_are_not_constant(faces):
    images, _ = faces
    flat = images.reshape(len(images), -1).astype(np.float64)
    assert flat.std(axis=1).min() > 8  # every face has structure (a face on a background, features)
    assert flat.max(axis=1).min() - flat.min(axis=1).max() > 0
    # the set spans dark and bright faces, without mostly clipped pixels
    assert images.min() < 20 and images.max() > 235
    assert np.mean((images == 0) | (images == 255)) < 0.05
    # neighbouring faces differ (no duplicates)
    assert len({f.tobytes() for f in images}) == len(images)


def test_faces_are_centred_and_vary_in_position(faces):
    """The face (the part that differs from the border's gray) sits near the middle but not always at one place."""
    images, _ = faces
    x = images.astype(np.float64)
    border = np.concatenate([x[:, :2, :].reshape(len(x), -1), x[:, :, :2].reshape(len(x), -1),
                             x[:, :, -2:].reshape(len(x), -1)], axis=1).mean(axis=1)
    weight = np.abs(x - border[:, None, None])
    cols = (weight.sum(axis=1) * np.arange(48)).sum(axis=1) / weight.sum(axis=(1, 2))
    assert 20 < cols.mean() < 28
    assert cols.std() > 0.5


def test_expressions_move_features_the_intended_way():
    """The sampled geometry expresses each emotion: averages over many sampled faces per class."""
    rng = np.random.default_rng(0)
    mean = {
        c: {k: np.mean([syn._expression(c, rng)[k] for _ in range(200)]) for k in syn.NEUTRAL}
        for c in range(NUM_CLASSES)
    }
    corner = {c: mean[c]["mouth_corner"] for c in mean}
    assert corner[HAPPY] < corner[NEUTRAL] - 0.05  # smile: corners up
    assert corner[SAD] > corner[NEUTRAL] + 0.05  # corners down
    eyes = {c: mean[c]["eye_open"] for c in mean}
    for wide in (SURPRISE, FEAR):
        assert eyes[wide] > eyes[NEUTRAL] + 0.2
    for narrow in (ANGRY, DISGUST, HAPPY):
        assert eyes[narrow] < eyes[NEUTRAL] - 0.1
    inner = {c: mean[c]["brow_inner_dy"] for c in mean}
    assert inner[ANGRY] > inner[NEUTRAL] + 0.05  # knitted, lowered inner brows
    assert inner[SAD] < inner[NEUTRAL] - 0.05 and inner[FEAR] < inner[NEUTRAL] - 0.03  # raised inner brows
    assert mean[SURPRISE]["brow_y"] < mean[NEUTRAL]["brow_y"] - 0.07  # high brows
    mouth = {c: mean[c]["mouth_open"] for c in mean}
    assert mouth[SURPRISE] > mouth[FEAR] > mouth[NEUTRAL] + 0.03
    assert mean[SURPRISE]["mouth_round"] > 0.4 and mean[FEAR]["mouth_round"] == 0  # round "O" vs stretched
    assert mean[DISGUST]["lip_raise"] > 0.05 and mean[DISGUST]["nose_wrinkle"] > 0.4
    # intensities vary: a faint expression lies between neutral and the full one
    corners = [syn._expression(HAPPY, rng)["mouth_corner"] for _ in range(300)]
    assert np.ptp(corners) > 0.08


def test_mean_images_of_clearly_different_classes_differ():
    """Per-class mean images (after per-face standardisation) differ far beyond sampling noise."""
    images, labels = syn.generate_faces(150, seed=3)
    x = images.reshape(len(images), -1).astype(np.float64)
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)

    def max_t(a, b):
        se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
        return float(np.max(np.abs(a.mean(axis=0) - b.mean(axis=0)) / se))

    for a, b in [(SURPRISE, NEUTRAL), (HAPPY, SAD), (FEAR, ANGRY)]:
        assert max_t(x[labels == a], x[labels == b]) > 5.0, (EMOTIONS[a], EMOTIONS[b])


# ----------------------------------------------------------------------------------------------------------------
# assign_usage
# ----------------------------------------------------------------------------------------------------------------


def test_assign_usage_is_stratified_and_seeded():
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(NUM_CLASSES), 30))
    usage = syn.assign_usage(labels, seed=1)
    assert usage.shape == labels.shape and usage.dtype.kind == "U"
    assert set(usage.tolist()) == set(USAGES)
    for c in range(NUM_CLASSES):
        u = usage[labels == c]
        assert [int(np.sum(u == name)) for name in USAGES] == [24, 3, 3]
    assert np.array_equal(usage, syn.assign_usage(labels, seed=1))
    assert not np.array_equal(usage, syn.assign_usage(labels, seed=2))
    half = syn.assign_usage(labels, seed=1, fractions=(1, 1, 0))
    assert [int(np.sum(half == name)) for name in USAGES] == [105, 105, 0]
    with pytest.raises(ValueError, match="fractions"):
        syn.assign_usage(labels, fractions=(0.8, 0.2))
    with pytest.raises(ValueError, match="fractions"):
        syn.assign_usage(labels, fractions=(0.9, 0.2, -0.1))


# ----------------------------------------------------------------------------------------------------------------
# make_sample, the committed sample and the command line
# ----------------------------------------------------------------------------------------------------------------


def test_make_sample_writes_what_generate_faces_gives(tmp_path):
    path = fd.make_sample(tmp_path / "sub" / "sample.csv.gz", per_class=3, seed=9)
    assert path == tmp_path / "sub" / "sample.csv.gz" and path.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    data = load_fer2013(path, cache=False)
    images, labels = syn.generate_faces(3, seed=9)
    assert np.array_equal(data.images, images) and np.array_equal(data.labels, labels)
    assert np.array_equal(data.usage, syn.assign_usage(labels, seed=9))
    with pytest.raises(ValueError, match="per_class"):
        fd.make_sample(tmp_path / "none.csv", per_class=0)
    assert not (tmp_path / "none.csv").exists()


def test_committed_sample_is_what_make_sample_writes_now(tmp_path):
    assert fd.SAMPLE_CSV.name == "fer2013_synthetic_sample.csv" and fd.SAMPLE_CSV.parent.name == "data"
    assert fd.SAMPLE_CSV.exists(), "regenerate: python -m fer_helpers make-sample --out data/... (see SAMPLE_*)"
    assert fd.SAMPLE_CSV.stat().st_size <= 12_500_000  # 1,400 faces: enough for a first run to learn (README)
    # lesson 1 reads it with plain pandas
    df = pd.read_csv(fd.SAMPLE_CSV)
    assert list(df.columns) == ["emotion", "pixels", "Usage"]
    assert len(df) == NUM_CLASSES * fd.SAMPLE_PER_CLASS
    assert np.array_equal(np.bincount(df["emotion"], minlength=7), [fd.SAMPLE_PER_CLASS] * NUM_CLASSES)
    fresh = fd.make_sample(tmp_path / "fresh.csv", fd.SAMPLE_PER_CLASS, fd.SAMPLE_SEED)
    committed, now = load_fer2013(fd.SAMPLE_CSV, cache=False), load_fer2013(fresh, cache=False)
    assert np.array_equal(committed.labels, now.labels)
    assert np.array_equal(committed.usage, now.usage)
    assert np.array_equal(committed.images, now.images), (
        "the generator changed: regenerate data/fer2013_synthetic_sample.csv with make_sample(SAMPLE_CSV, "
        "SAMPLE_PER_CLASS, SAMPLE_SEED)"
    )


def test_cli_make_sample(tmp_path, capsys):
    out = tmp_path / "cli.csv"
    assert main(["make-sample", "--out", str(out), "--per-class", "4", "--seed", "7"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    counts = {name: int(n) for name, n in (part.split() for part in printed.split("rows per Usage: ")[1]
                                               .splitlines()[0].split(", "))}
    data = load_fer2013(out, cache=False)
    assert counts == {name: int(np.sum(data.usage == name)) for name in USAGES}
    assert sum(counts.values()) == 28
    assert f"{out.stat().st_size} bytes" in printed
    images, labels = syn.generate_faces(4, seed=7)
    assert np.array_equal(data.images, images) and np.array_equal(data.labels, labels)
    # --seed defaults to 0
    out0 = tmp_path / "cli0.csv"
    assert main(["make-sample", "--out", str(out0), "--per-class", "1"]) == 0
    assert np.array_equal(load_fer2013(out0, cache=False).images, syn.generate_faces(1, seed=0)[0])


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_cli_rejects_a_bad_per_class(tmp_path, capsys, bad):
    out = tmp_path / "bad.csv"
    assert main(["make-sample", "--out", str(out), "--per-class", bad]) == 2
    err = capsys.readouterr().err
    assert "--per-class" in err and bad in err
    assert not out.exists()


# ----------------------------------------------------------------------------------------------------------------
# difficulty: linear baselines stay low, a small CNN learns the classes
# ----------------------------------------------------------------------------------------------------------------


def test_trivial_baselines_score_well_below_the_cnn_target(learn_split):
    nearest = nearest_mean_accuracy(*learn_split)
    ridge = ridge_accuracy(*learn_split)
    assert nearest < 0.5, nearest
    # a linear model sees that the classes differ (well above chance, 1/7) but cannot separate them
    assert 0.25 < ridge < 0.7, ridge


@pytest.mark.slow
def test_small_cnn_learns_the_faces(learn_split):
    import keras

    from fer_helpers.models import build_tutorial_cnn

    x_train, y_train, x_test, y_test = learn_split
    keras.utils.set_random_seed(0)
    model = build_tutorial_cnn(filters=(8, 16, 32), dense_units=128, dropout=0.1, dense_dropout=0.3)
    epochs, batch_size = 8, 32
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(5e-3, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train[..., None], y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float(model.evaluate(x_test[..., None], y_test, verbose=0)[1])
    baseline = ridge_accuracy(x_train, y_train, x_test, y_test)
    print(f"CNN {accuracy:.3f} after {seconds:.0f}s of training; ridge baseline {baseline:.3f}")
    assert accuracy >= 0.85, (accuracy, seconds)
    assert accuracy > baseline + 0.2


def test_sample_csv_path_regenerates_the_committed_sample_where_only_the_package_is_installed(monkeypatch, tmp_path):
    assert fd.sample_csv_path() == fd.SAMPLE_CSV  # in a checkout: the committed file
    monkeypatch.setattr(fd, "SAMPLE_CSV", tmp_path / "absent" / "fer2013_synthetic_sample.csv")  # as on Colab
    path = fd.sample_csv_path()
    assert path.parent == cache_dir() and path.read_bytes() == (
        pathlib.Path(__file__).resolve().parents[1] / "data" / "fer2013_synthetic_sample.csv").read_bytes()
    mtime = path.stat().st_mtime_ns
    assert fd.sample_csv_path() == path and path.stat().st_mtime_ns == mtime  # written once
