import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own parse cache and kagglehub cache, and no FER2013_PATH from the environment."""
    monkeypatch.setenv("FER_HELPERS_CACHE", str(tmp_path_factory.mktemp("fer_cache")))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path_factory.mktemp("kagglehub")))
    monkeypatch.delenv("FER2013_PATH", raising=False)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (the figure functions return pyplot figures)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def random_faces():
    """70 random faces, 10 per class, with a Usage column: data made here, never FER2013."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(70, 48, 48), dtype=np.uint8)
    labels = np.repeat(np.arange(7), 10)
    usage = np.array((["Training"] * 8 + ["PublicTest"] + ["PrivateTest"]) * 7)
    return images, labels, usage


def _randomise_batchnorm(model, seed=0):
    """Give every BatchNormalization layer non-trivial statistics, as a trained model has."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, n))
            layer.moving_variance.assign(rng.uniform(0.3, 2.0, n))
            layer.gamma.assign(rng.uniform(0.5, 1.5, n))
            layer.beta.assign(rng.normal(0, 0.3, n))


@pytest.fixture
def randomise_batchnorm():
    """``randomise_batchnorm(model, seed=0)``: BatchNormalization statistics as a trained model has them."""
    return _randomise_batchnorm
