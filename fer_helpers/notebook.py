"""What the notebooks call around their lessons: setup, Colab, the data, the runs folder, the lesson-5 model.

Every notebook's setup cell ends with::

    from fer_helpers.notebook import setup
    env = setup(seed=42, fast=FER_FAST or None, mount_drive=MOUNT_DRIVE)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np

from .cli import stderr_silenced
from .data import DRIVE_FOLDER, colab_content, load_fer2013, locate_fer2013, repo_root

#: GitHub ``owner/name`` of this repository, where every "Open in Colab" badge points (scripts/set_colab_repo.py
#: rewrites this line for a fork).
GITHUB_REPO = "fer-tutorial/fer-tutorial"
BRANCH = "main"
#: Notebook 5's run folder inside :func:`runs_dir`.
LESSON5_RUN = "05_training"
#: What :func:`lesson5_model` trains when notebook 5's run is missing: notebook 5's fast-mode run.
QUICK_TRAINING = {"model": "tutorial", "epochs": 8, "batch_size": 32, "learning_rate": 3e-3, "label_smoothing": 0.1,
                  "augment": "light", "patience": 3,
                  "model_kwargs": {"filters": (8, 16, 32), "dense_units": 128, "dropout": 0.1, "dense_dropout": 0.3}}
#: Training faces per class of that quick run.
QUICK_PER_CLASS = 200


def colab_url(notebook_path: str) -> str:
    """The "Open in Colab" address of a notebook, e.g. ``notebooks/01_loading_the_data.ipynb``."""
    return f"https://colab.research.google.com/github/{GITHUB_REPO}/blob/{BRANCH}/{notebook_path}"


# -------------------------------------------------------------------------------------------------------- the setup
@dataclasses.dataclass
class NotebookEnv:
    is_colab: bool
    fast: bool

    def pick(self, fast, full):
        """``fast`` in fast mode (CI, ``FER_FAST=1``), else ``full``: e.g. ``EPOCHS = env.pick(3, 40)``."""
        return fast if self.fast else full


def env_flag(name: str, default: bool = False) -> bool:
    """A yes/no environment variable (1/true/yes/on or 0/false/no/off; unset or empty: ``default``)."""
    value = os.environ.get(name, "").strip().lower() or ("1" if default else "0")
    if value not in ("1", "true", "yes", "on", "y", "0", "false", "no", "off", "n"):
        raise ValueError(f"environment variable {name}={os.environ[name]!r}: expected 1/true/yes/on or 0/false/no/off")
    return value in ("1", "true", "yes", "on", "y")


def setup(seed: int = 42, fast: bool | None = None, verbose: bool = True, mount_drive: bool = False,
          training: bool = False) -> NotebookEnv:
    """Quiet TensorFlow, seed everything and decide fast mode (``FER_FAST=1`` or ``fast=True``: short training runs);
    on Colab also :func:`setup_colab`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with stderr_silenced():
        import keras
        import tensorflow as tf

        tf.constant(0.0) + 1.0  # start the runtime now, while its log lines are silenced
        keras.utils.set_random_seed(seed)
    for logger in ("tensorflow", "absl"):  # importing TensorFlow resets its logger to INFO
        logging.getLogger(logger).setLevel(logging.ERROR)
    env = NotebookEnv("google.colab" in sys.modules, env_flag("FER_FAST") if fast is None else fast)
    if verbose:
        print(f"Python {sys.version.split()[0]} | TensorFlow {tf.__version__} | Keras {keras.__version__} | OpenCV "
              f"{cv2.__version__}\nColab: {env.is_colab} | fast mode: {env.fast} | seed: {seed}")
    if env.is_colab:
        setup_colab(mount_drive=mount_drive, training=training, verbose=verbose)
    return env


# ------------------------------------------------------------------------------------------------------------ Colab
def drive_dir() -> Path | None:
    """``MyDrive/fer-tutorial`` on Colab once Google Drive is mounted (created if missing), else None."""
    my_drive = colab_content() / "drive" / "MyDrive"
    if "google.colab" not in sys.modules or not my_drive.is_dir():
        return None
    (my_drive / DRIVE_FOLDER).mkdir(exist_ok=True)
    return my_drive / DRIVE_FOLDER


def mount_drive_folder(say) -> Path | None:
    """Mount Google Drive unless it is mounted (Colab asks for permission); :func:`drive_dir` or None."""
    if drive_dir() is None:
        from google.colab import drive

        try:
            drive.mount(str(colab_content() / "drive"))
        except Exception as exc:  # refused, timed out, no Drive for this account
            say(f"Google Drive was not mounted ({type(exc).__name__}: {exc}): runs and downloads are lost when this "
                "session ends")
    return drive_dir()


def setup_colab(mount_drive: bool = True, training: bool = False, verbose: bool = True) -> None:
    """On Colab: keep runs and the FER2013 download on Google Drive (mounted if ``mount_drive``), report the GPU (how
    to get one if ``training``), and enable the widget manager that ipywidgets 8 needs."""
    import ipywidgets
    import tensorflow as tf

    say = print if verbose else (lambda *args: None)
    folder = mount_drive_folder(say) if mount_drive else drive_dir()
    if folder is not None:
        os.environ.setdefault("KAGGLEHUB_CACHE", str(folder / "kagglehub"))
        say(f"Google Drive: runs and the FER2013 download are kept in MyDrive/{DRIVE_FOLDER} for every notebook")
    elif not mount_drive:
        say("Google Drive not mounted (MOUNT_DRIVE is off): runs and downloads are lost when this session ends")
    say("GPU runtime" if tf.config.list_physical_devices("GPU") else "No GPU (CPU runtime): " + (
        "Runtime > Change runtime type > T4 GPU (then run all cells again) trains many times faster" if training
        else "enough for this notebook; notebook 5 trains faster on a GPU runtime"))
    if int(ipywidgets.__version__.split(".")[0]) >= 8:
        from google.colab import output

        output.enable_custom_widget_manager()


# -------------------------------------------------------------------------------------------- data, runs, the model
def load_data(verbose: bool = True):
    """FER2013 if it can be found (``locate_fer2013``), else the embedded synthetic set; returns ``FERData``."""
    data = load_fer2013(locate_fer2013(verbose=verbose))
    if verbose:
        kind = "synthetic (embedded)" if is_synthetic(data) else "FER2013"
        print(f"{kind}: {len(data):,} faces, splits {data.split_counts()}")
    return data


def is_synthetic(data) -> bool:
    """True for the embedded synthetic data set (judged by its file name)."""
    return "synthetic" in os.path.basename(str(data.source))


def runs_dir() -> Path:
    """The folder for training runs and saved models, created if missing: ``$FER_RUNS_DIR``; on Colab
    ``MyDrive/fer-tutorial/runs`` (``/content/runs`` without Drive); ``runs/`` at the root of a checkout (relative
    to the current folder when inside it), else ``runs/`` here."""
    root = repo_root()
    if os.environ.get("FER_RUNS_DIR"):
        path = Path(os.environ["FER_RUNS_DIR"]).expanduser()
    elif "google.colab" in sys.modules:
        path = (drive_dir() or colab_content()) / "runs"
    elif (root / "notebooks").is_dir():
        cwd = Path.cwd().resolve()
        inside = root.resolve() in (cwd, *cwd.parents)  # then relative: ../runs from notebooks/, on every machine
        path = Path(os.path.relpath(root / "runs", cwd)) if inside else root / "runs"
    else:
        path = Path("runs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def per_class_subset(data, per_class: int | None, usage: str | None = "Training", seed: int = 0):
    """``data`` with a seeded random choice of at most ``per_class`` faces per class among the rows of split
    ``usage`` (``None``: all rows); the other rows and the row order are kept. ``per_class=None``: ``data`` itself."""
    if per_class is None:
        return data
    if int(per_class) < 1:
        raise ValueError(f"per_class must be at least 1 (or None for all faces), got {per_class}")
    in_scope = np.ones(len(data), dtype=bool) if usage is None else data.usage == usage
    if not in_scope.any():
        raise ValueError(f"no rows with Usage {usage!r} to subsample")
    rng, keep = np.random.default_rng(seed), ~in_scope
    for label in np.unique(data.labels[in_scope]):
        keep[rng.permutation(np.flatnonzero(in_scope & (data.labels == label)))[:int(per_class)]] = True
    return data.subset(keep)


@dataclasses.dataclass
class LessonModel:
    """What :func:`lesson5_model` returns: the model, its training log (a DataFrame) and the run folder."""

    model: object
    history: object
    run_dir: Path


def finished_run(folder: Path) -> bool:
    """A training run that ended: best model and log written, no BackupAndRestore state (left by an interruption)."""
    from .training import BACKUP_DIR, BEST_MODEL, CSV_LOG  # here: importing TensorFlow is setup()'s job, quietly

    return (folder / BEST_MODEL).is_file() and (folder / CSV_LOG).is_file() and not (folder / BACKUP_DIR).exists()


def lesson5_model(run_dir=None, data=None, fallback_dir=None, verbose: bool = True) -> LessonModel:
    """The best model of notebook 5's run (``runs_dir()/05_training``), else of a quick run in ``fallback_dir``
    (``runs_dir()/06_quick_model``), trained now if missing with :data:`QUICK_TRAINING` on at most
    :data:`QUICK_PER_CLASS` training faces per class of ``data`` (``load_data()`` if None). Loaded without optimizer."""
    import keras
    import pandas as pd

    from .training import BEST_MODEL, CSV_LOG, train

    run_dir = runs_dir() / LESSON5_RUN if run_dir is None else Path(run_dir)
    fallback_dir = runs_dir() / "06_quick_model" if fallback_dir is None else Path(fallback_dir)
    for folder in (run_dir, fallback_dir):
        if finished_run(folder):
            history = pd.read_csv(folder / CSV_LOG)
            if verbose:
                print(f"using the best model of {folder.as_posix()} ({len(history)} epochs logged)")
            return LessonModel(keras.models.load_model(folder / BEST_MODEL, compile=False), history, folder)
    if verbose:
        print(f"notebook 5's run is not in {run_dir.as_posix()}: training a quick model in {fallback_dir.as_posix()}")
    shutil.rmtree(fallback_dir, ignore_errors=True)
    data = load_data(verbose) if data is None else data
    train(per_class_subset(data, QUICK_PER_CLASS), fallback_dir, verbose=2 if verbose else 0, **QUICK_TRAINING)
    return lesson5_model(run_dir, data, fallback_dir, verbose=False)


# ------------------------------------------------------------------------------------------------ notebook 5's tools
def replay_callbacks(log, callbacks, learning_rate: float = 1e-3):
    """Drive Keras callbacks (EarlyStopping, ReduceLROnPlateau, ...) through the epochs of a training log without
    training; a DataFrame of the replayed epochs with the learning rate of each and where training would ``stop``."""
    import keras
    import pandas as pd

    values = pd.DataFrame(log).drop(columns=["epoch", "learning_rate", "lr"], errors="ignore")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)], name="stand_in")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    callback_list = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training, rows = False, []
    callback_list.on_train_begin()
    for epoch, logs in enumerate(values.astype(float).to_dict("records")):
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        callback_list.on_epoch_begin(epoch)
        callback_list.on_epoch_end(epoch, dict(logs))
        rows.append({"epoch": epoch + 1, **logs, "learning_rate": rate, "stop": bool(model.stop_training)})
        if model.stop_training:
            break
    callback_list.on_train_end()
    return pd.DataFrame(rows)


def tensorboard_scalars(logdir):
    """The per-epoch values TensorBoard plots, read back from ``logdir/train`` and ``logdir/validation``, as a
    DataFrame laid out like ``training_log.csv`` (``epoch``, ``accuracy``, ..., ``val_loss``)."""
    import pandas as pd
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    columns = {}
    for sub, prefix in (("train", ""), ("validation", "val_")):
        if not (Path(logdir) / sub).is_dir():
            continue
        events = EventAccumulator(str(Path(logdir) / sub), size_guidance={"tensors": 0})  # 0: every value
        events.Reload()
        for tag in [t for t in events.Tags()["tensors"] if t.startswith("epoch_")]:
            values = events.Tensors(tag)  # a resumed run writes some epochs twice: the later value wins
            columns[prefix + tag[6:]] = {e.step: float(tensor_util.make_ndarray(e.tensor_proto)) for e in values}
    if not columns:
        raise FileNotFoundError(f"no TensorBoard epoch summaries under {logdir} (expected train/ and validation/)")
    return pd.DataFrame(columns).sort_index().rename_axis("epoch").reset_index()


# ------------------------------------------------------------------------------------------------- scratch folders
SCRATCH = []  # the lessons' temporary folders, kept until the kernel exits
#: Run beside the kernel: deletes the folder once the kernel is gone, even killed (then the watcher gets a new parent).
WATCHER = ("import os, shutil, sys, time\nwhile os.getppid() == int(sys.argv[1]): time.sleep(0.5)\n"
           "shutil.rmtree(sys.argv[2], True)")


def scratch_folder(prefix: str = "fer_") -> Path:
    """A new temporary folder for a lesson's files, deleted when the kernel exits or is killed."""
    folder = tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)  # deleted at a normal exit
    SCRATCH.append(folder)
    subprocess.Popen([sys.executable, "-c", WATCHER, str(os.getpid()), folder.name], start_new_session=True)
    return Path(folder.name)
