"""What every notebook's setup cell calls: version checks, seeds, quiet logs, fast mode, and finding the data.

The setup cell of each notebook is three lines plus the Colab install::

    import sys
    IS_COLAB = "google.colab" in sys.modules
    if IS_COLAB:
        %pip install -q "fer-helpers @ git+https://github.com/<repo>"
    from fer_helpers.notebook import setup
    env = setup()
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import warnings

#: GitHub ``owner/name`` of this repository: the Colab badges and the Colab install point here.
GITHUB_REPO = "fer-tutorial/fer-tutorial"
BRANCH = "main"
MIN_VERSIONS = {"python": (3, 10), "tensorflow": (2, 20), "keras": (3, 10), "cv2": (4, 10)}


def colab_url(notebook_path: str) -> str:
    """The "Open in Colab" address of a notebook, e.g. ``notebooks/01_loading_the_data.ipynb``."""
    return f"https://colab.research.google.com/github/{GITHUB_REPO}/blob/{BRANCH}/{notebook_path}"


def colab_badge(notebook_path: str) -> str:
    return (f'<a href="{colab_url(notebook_path)}" target="_parent"><img '
            'src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>')


@dataclasses.dataclass
class NotebookEnv:
    is_colab: bool
    fast: bool
    seed: int
    versions: dict

    def pick(self, fast, full):
        """``fast`` in fast mode (CI, ``FER_FAST=1``), else ``full``: e.g. ``EPOCHS = env.pick(3, 40)``."""
        return fast if self.fast else full


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probing) are
    written there before ``TF_CPP_MIN_LOG_LEVEL`` can take effect, and would otherwise fill the first cell."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some hosted kernels): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and Python logging and Keras' routine warnings."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def setup(seed: int = 42, fast: bool | None = None, verbose: bool = True) -> NotebookEnv:
    """Check versions, seed everything, quiet TensorFlow, and decide fast mode.

    Fast mode (``FER_FAST=1`` in the environment, as in CI and ``make demo``) keeps every training run short so
    the whole series runs in minutes; results are then illustrations, not benchmarks.
    """
    quiet_tensorflow()
    import cv2
    import numpy as np

    with _stderr_fd_silenced():
        import keras
        import tensorflow as tf

        tf.constant(0.0) + 1.0  # start the runtime now, while its log lines are silenced

    versions = {"python": sys.version.split()[0], "tensorflow": tf.__version__, "keras": keras.__version__,
                "cv2": cv2.__version__, "numpy": np.__version__}
    for name, minimum in MIN_VERSIONS.items():
        if _version_tuple(versions[name]) < minimum:
            raise RuntimeError(f"{name} {versions[name]} is too old: this series needs "
                               f"{'.'.join(map(str, minimum))} or newer (see environment.yml)")
    if not hasattr(cv2, "CascadeClassifier"):
        raise RuntimeError("this OpenCV has no CascadeClassifier (OpenCV 5 removed it): pip install 'opencv-python<5'")
    with _stderr_fd_silenced():
        keras.utils.set_random_seed(seed)
    if fast is None:
        fast = os.environ.get("FER_FAST", "0") not in ("", "0", "false", "False")
    env = NotebookEnv(is_colab="google.colab" in sys.modules, fast=fast, seed=seed, versions=versions)
    if verbose:
        print(" | ".join(f"{k} {v}" for k, v in versions.items()))
        print(f"Colab: {env.is_colab} | fast mode: {env.fast} | seed: {seed}")
    return env


def load_data(verbose: bool = True):
    """FER2013 if it can be found (``locate_fer2013``), else the embedded synthetic set; returns ``FERData``."""
    from .data import load_fer2013, locate_fer2013

    path = locate_fer2013(verbose=verbose)
    data = load_fer2013(path)
    if verbose:
        kind = "synthetic (embedded)" if is_synthetic(data) else "FER2013"
        print(f"{kind}: {len(data):,} faces, splits {data.split_counts()}")
    return data


def is_synthetic(data) -> bool:
    """True for the embedded synthetic data set (judged by its file name)."""
    return "synthetic" in os.path.basename(str(data.source))
