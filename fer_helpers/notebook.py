"""What every notebook's setup cell calls: version checks, seeds, quiet logs, fast mode, finding the data, and on
Colab Google Drive, the GPU and the widgets.

The setup cell of each notebook is two form fields, the Colab install of this exact version, and one call::

    FER_FAST = False  # @param {type:"boolean"}
    MOUNT_DRIVE = True  # @param {type:"boolean"}
    import sys
    IS_COLAB = "google.colab" in sys.modules
    if IS_COLAB:
        %pip install -q fer-helpers==X.Y.Z
        ... (stop with a clear message when that version is not installed afterwards)
    from fer_helpers.notebook import setup
    env = setup(seed=42, fast=FER_FAST or None, mount_drive=MOUNT_DRIVE)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import warnings

#: GitHub ``owner/name`` of this repository: every notebook's "Open in Colab" badge points here (a test checks them).
#: A fork runs ``python scripts/set_colab_repo.py OWNER/NAME``, which rewrites this line and the badges.
GITHUB_REPO = "fer-tutorial/fer-tutorial"
BRANCH = "main"
#: The oldest versions the pins of pyproject.toml allow (Colab's stack: TensorFlow 2.19, Keras 3.10).
MIN_VERSIONS = {"python": (3, 10), "tensorflow": (2, 19), "keras": (3, 10), "cv2": (4, 10)}


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


def setup(seed: int = 42, fast: bool | None = None, verbose: bool = True, mount_drive: bool = False,
          training: bool = False) -> NotebookEnv:
    """Check versions, seed everything, quiet TensorFlow, and decide fast mode; on Colab also :func:`setup_colab`.

    Fast mode (``FER_FAST=1`` in the environment, as in CI and ``make demo``, or ``fast=True``) keeps every training
    run short so the whole series runs in minutes; results are then illustrations, not benchmarks. ``mount_drive``
    and ``training`` only matter on Colab (see :func:`setup_colab`).
    """
    quiet_tensorflow()
    import cv2
    import numpy as np

    with _stderr_fd_silenced():
        import keras
        import tensorflow as tf

        tf.constant(0.0) + 1.0  # start the runtime now, while its log lines are silenced
    # importing TensorFlow resets its Python logger to INFO (e.g. TFLite's "Assets written to ..."): lower it again
    tf.get_logger().setLevel(logging.ERROR)

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
        fast = env_flag("FER_FAST")
    env = NotebookEnv(is_colab="google.colab" in sys.modules, fast=fast, seed=seed, versions=versions)
    if verbose:
        print(" | ".join(f"{k} {v}" for k, v in versions.items()))
        print(f"Colab: {env.is_colab} | fast mode: {env.fast} | seed: {seed}")
    if env.is_colab:
        setup_colab(mount_drive=mount_drive, training=training, fast=fast, verbose=verbose)
    return env


def env_flag(name: str, default: bool = False) -> bool:
    """A yes/no environment variable: 1/true/yes/on or 0/false/no/off (any case; unset or empty: ``default``).
    Anything else is a ValueError naming the variable."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on", "y"):
        return True
    if value in ("0", "false", "no", "off", "n"):
        return False
    raise ValueError(f"environment variable {name}={os.environ[name]!r}: expected 1/true/yes/on or 0/false/no/off")


# ----------------------------------------------------------------------------------------------------------------------
# Google Colab: Drive for the runs and the data, the GPU, the widgets
# ----------------------------------------------------------------------------------------------------------------------

#: The folder of this series on Google Drive, inside ``MyDrive``: ``runs/`` and the FER2013 download go there.
DRIVE_FOLDER = "fer-tutorial"


def colab_content() -> "Path":
    """Colab's working folder, ``/content`` (``$FER_COLAB_CONTENT`` moves it: tests and CI's stand-in Colab)."""
    from pathlib import Path

    return Path(os.environ.get("FER_COLAB_CONTENT", "/content"))


def drive_dir() -> "Path | None":
    """``MyDrive/fer-tutorial`` on Colab once Google Drive is mounted (created if missing), else None."""
    if "google.colab" not in sys.modules:
        return None
    my_drive = colab_content() / "drive" / "MyDrive"
    if not my_drive.is_dir():
        return None
    folder = my_drive / DRIVE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def gpu_name() -> str | None:
    """The name of the first GPU TensorFlow sees (e.g. ``Tesla T4``), or None on a CPU-only runtime."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    try:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name") or gpus[0].name
    except (ValueError, RuntimeError):
        return gpus[0].name


@dataclasses.dataclass
class ColabSetup:
    """What :func:`setup_colab` did: the Drive folder (None if not mounted), the GPU (None if none), widgets."""

    drive: object  # pathlib.Path or None
    gpu: str | None
    custom_widget_manager: bool


def setup_colab(mount_drive: bool = True, training: bool = False, fast: bool = False,
                verbose: bool = True) -> ColabSetup:
    """On Colab: mount Google Drive, keep runs and the FER2013 download there, report the GPU, enable the widgets.

    With ``mount_drive`` (the setup cell's ``MOUNT_DRIVE`` field) Drive is mounted at ``/content/drive`` (Colab asks
    for permission); :func:`runs_dir` and kagglehub's cache (``$KAGGLEHUB_CACHE``, unless already set) then live in
    ``MyDrive/fer-tutorial``, where every later notebook finds them. A refused mount is reported, not raised.
    ``training`` adds how to switch to a GPU runtime when there is none. With ipywidgets 8, Colab's custom widget
    manager is enabled so the sliders render (ipywidgets 7, Colab's own, needs nothing).
    """
    import ipywidgets

    say = print if verbose else (lambda *a, **k: None)
    folder = drive_dir()
    if mount_drive and folder is None:
        from google.colab import drive

        try:
            drive.mount(str(colab_content() / "drive"))
        except Exception as exc:  # refused, timed out, no Drive for this account
            say(f"Google Drive was not mounted ({type(exc).__name__}: {exc}). Runs and downloads stay on this "
                "session's disk and are lost when it ends; run this cell again to retry, or untick MOUNT_DRIVE.")
        folder = drive_dir()
    if folder is not None:
        os.environ.setdefault("KAGGLEHUB_CACHE", str(folder / "kagglehub"))
        say(f"Google Drive: runs and the FER2013 download are kept in MyDrive/{DRIVE_FOLDER}, where every notebook "
            "of the series finds them")
    elif not mount_drive:
        say("Google Drive not mounted (MOUNT_DRIVE is off): runs and downloads are lost when this session ends, and "
            "the other notebooks, which Colab runs in runtimes of their own, will not find them")
    gpu = gpu_name()
    if gpu:
        say(f"GPU runtime: {gpu}")
    elif training:
        say("No GPU: this is a CPU runtime." + ("" if fast else " Full mode trains for hours on a CPU;") +
            " Runtime > Change runtime type > T4 GPU (then run all cells again) trains many times faster"
            + (", or tick FER_FAST for a short run." if not fast else "."))
    else:
        say("No GPU (CPU runtime): enough for this notebook; notebook 5 trains faster on a GPU runtime")
    manager = int(ipywidgets.__version__.split(".")[0]) >= 8
    if manager:
        from google.colab import output

        output.enable_custom_widget_manager()
    return ColabSetup(folder, gpu, manager)


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


# ----------------------------------------------------------------------------------------------------------------------
# Helpers of the training and evaluation lessons (notebooks 5 and 6)
# ----------------------------------------------------------------------------------------------------------------------

#: Notebook 5's run directory: this folder inside :func:`runs_dir`.
LESSON5_RUN = "05_training"


def runs_dir() -> "Path":
    """The folder the notebooks write training runs and saved models to, created if missing.

    ``$FER_RUNS_DIR`` when set. On Colab, ``MyDrive/fer-tutorial/runs`` once Google Drive is mounted (the setup
    cell's ``MOUNT_DRIVE``; runs then outlive the session, and the other notebooks, which Colab runs in runtimes of
    their own, find notebook 5's run), else ``/content/runs``. In a checkout of the project, ``runs/`` at its root (written
    ``../runs`` from ``notebooks/``, ignored by git); elsewhere ``runs/`` in the current folder.
    """
    from pathlib import Path

    from .data import repo_root

    if os.environ.get("FER_RUNS_DIR"):
        path = Path(os.environ["FER_RUNS_DIR"]).expanduser()
    elif "google.colab" in sys.modules:
        path = drive_dir() / "runs" if drive_dir() is not None else colab_content() / "runs"
    elif (repo_root() / "notebooks").is_dir():
        path = repo_root() / "runs"
        cwd = Path.cwd().resolve()
        if cwd == repo_root().resolve() or repo_root().resolve() in cwd.parents:
            path = Path(os.path.relpath(path, cwd))  # short and the same on every machine: ../runs from notebooks/
    else:
        path = Path("runs")
    path.mkdir(parents=True, exist_ok=True)
    return path

#: What :func:`lesson5_model` trains when notebook 5's run is missing: notebook 5's fast-mode settings, a narrow
#: tutorial CNN that learns the embedded data set in a few epochs on a CPU.
QUICK_TRAINING = {
    "model": "tutorial",
    "model_kwargs": {"filters": (8, 16, 32), "dense_units": 128, "dropout": 0.1, "dense_dropout": 0.3},
    "epochs": 8,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "label_smoothing": 0.1,
    "augment": "light",
    "patience": 3,
}
#: Training faces per class of that quick run.
QUICK_PER_CLASS = 200


def per_class_subset(data, per_class: int | None, usage: str | None = "Training", seed: int = 0):
    """``data`` with at most ``per_class`` faces of each class among the rows of split ``usage``.

    The faces kept are a seeded random choice; rows of the other splits are all kept, and the original row order is
    preserved. ``usage=None`` caps every row; ``per_class=None`` returns ``data`` itself. Fast mode uses this to train
    on fewer faces while validating on the whole validation split.
    """
    import numpy as np

    if per_class is None:
        return data
    per_class = int(per_class)
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1 (or None for all faces), got {per_class}")
    rng = np.random.default_rng(seed)
    in_scope = np.ones(len(data), dtype=bool) if usage is None else data.usage == usage
    if usage is not None and not in_scope.any():
        raise ValueError(f"no rows with Usage {usage!r} to subsample")
    keep = ~in_scope
    for label in np.unique(data.labels[in_scope]):
        rows = np.flatnonzero(in_scope & (data.labels == label))
        keep[rng.permutation(rows)[:per_class]] = True
    return data.subset(keep)


def replay_callbacks(log, callbacks, learning_rate: float = 1e-3):
    """Drive Keras callbacks through logged epochs without training, and record what they do.

    ``log`` holds one row of metric values per epoch (a ``training_log.csv`` read with pandas, a ``History.history``
    dict, or a list of dicts); an ``epoch`` column is ignored. Each row goes to ``on_epoch_end`` of ``callbacks``
    exactly as ``fit`` would pass it, with a stand-in model whose optimizer starts at ``learning_rate``; the replay
    ends where a callback sets ``model.stop_training`` (EarlyStopping does). Meant for callbacks that react to the
    logged numbers, such as ``EarlyStopping`` and ``ReduceLROnPlateau``; they print their usual messages.

    Returns a ``pandas.DataFrame`` with one row per replayed epoch: ``epoch`` (counted from 1), the logged values,
    ``learning_rate`` (the rate the optimizer had *during* that epoch, before the callbacks ran) and ``stop`` (True
    for the epoch after which training stops).
    """
    import keras
    import pandas as pd

    frame = log if isinstance(log, pd.DataFrame) else pd.DataFrame(log)
    values = frame.drop(columns=[c for c in ("epoch", "learning_rate", "lr") if c in frame.columns])
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)], name="stand_in")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    callback_list = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training = False
    rows = []
    callback_list.on_train_begin()
    for epoch, record in enumerate(values.to_dict("records")):
        logs = {k: float(v) for k, v in record.items()}
        lr_during = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        callback_list.on_epoch_begin(epoch)
        callback_list.on_epoch_end(epoch, dict(logs))
        rows.append({"epoch": epoch + 1, **logs, "learning_rate": lr_during, "stop": bool(model.stop_training)})
        if model.stop_training:
            break
    callback_list.on_train_end()
    return pd.DataFrame(rows)


def tensorboard_scalars(logdir):
    """The per-epoch values that TensorBoard plots, read back from the event files of ``logdir``.

    ``keras.callbacks.TensorBoard`` writes ``<logdir>/train`` and ``<logdir>/validation``, with one summary per epoch
    and metric (``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate``). They are read with TensorBoard's own
    ``EventAccumulator`` and returned as a ``pandas.DataFrame`` laid out like ``training_log.csv``: columns ``epoch``
    (from 0), ``accuracy``, ``loss``, ``learning_rate``, ``val_accuracy``, ``val_loss``, ... Where an epoch was
    written twice (a resumed run), the later value wins.
    """
    from pathlib import Path

    import pandas as pd
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    logdir = Path(logdir)
    columns: dict[str, dict[int, float]] = {}
    for sub, prefix in (("train", ""), ("validation", "val_")):
        folder = logdir / sub
        if not folder.is_dir():
            continue
        events = EventAccumulator(str(folder), size_guidance={"tensors": 0, "scalars": 0})  # 0: keep every value
        events.Reload()
        tags = events.Tags()
        for tag in tags.get("tensors", []):
            if tag.startswith("epoch_"):
                for event in events.Tensors(tag):
                    value = float(tensor_util.make_ndarray(event.tensor_proto))
                    columns.setdefault(prefix + tag[len("epoch_"):], {})[int(event.step)] = value
        for tag in tags.get("scalars", []):
            if tag.startswith("epoch_"):
                for event in events.Scalars(tag):
                    columns.setdefault(prefix + tag[len("epoch_"):], {})[int(event.step)] = float(event.value)
    if not columns:
        raise FileNotFoundError(f"no TensorBoard epoch summaries under {logdir} (expected train/ and validation/)")
    frame = pd.DataFrame(columns).sort_index()
    frame.index.name = "epoch"
    return frame.reset_index()


@dataclasses.dataclass
class LessonModel:
    """What :func:`lesson5_model` returns: the model, its training log, where it came from."""

    model: object
    history: object  # pandas DataFrame of training_log.csv
    run_dir: object  # pathlib.Path
    trained_now: bool


def _finished_run(run_dir) -> bool:
    """A run that ended normally: best model and log written, no BackupAndRestore state left (that means interrupted)."""
    from .training import BACKUP_DIR, BEST_MODEL, CSV_LOG

    return (run_dir / BEST_MODEL).is_file() and (run_dir / CSV_LOG).is_file() and not (run_dir / BACKUP_DIR).exists()


def lesson5_model(run_dir=None, data=None, fallback_dir=None, verbose: bool = True) -> LessonModel:
    """The best model of notebook 5's training run, or a quick one trained now when that run is missing.

    Looks for a finished run (``best_model.keras`` and ``training_log.csv``) in ``run_dir`` (default: notebook 5's,
    :data:`LESSON5_RUN` in :func:`runs_dir`), then in ``fallback_dir`` (a quick run made earlier; default
    ``06_quick_model`` in :func:`runs_dir`). If neither has one, trains the tutorial CNN with :data:`QUICK_TRAINING`
    on at most :data:`QUICK_PER_CLASS` training faces per class of ``data`` (``load_data()`` when None) into
    ``fallback_dir``, replacing any unfinished run there. Relative paths are taken from the current folder
    (``notebooks/`` when a notebook runs). The model is loaded without its optimizer (``compile=False``): enough for
    predicting.
    """
    import shutil
    from pathlib import Path

    import keras
    import pandas as pd

    from .training import BEST_MODEL, CSV_LOG, train

    run_dir = runs_dir() / LESSON5_RUN if run_dir is None else run_dir
    fallback_dir = runs_dir() / "06_quick_model" if fallback_dir is None else fallback_dir
    for folder, trained_now in ((Path(run_dir), False), (Path(fallback_dir), None)):
        if _finished_run(folder):
            history = pd.read_csv(folder / CSV_LOG)
            if verbose:
                origin = "notebook 5's run" if trained_now is False else "the quick run made earlier"
                print(f"using {origin}: {folder.as_posix()}/{BEST_MODEL} ({len(history)} epochs logged)")
            model = keras.models.load_model(folder / BEST_MODEL, compile=False)
            return LessonModel(model, history, folder, False)
    fallback = Path(fallback_dir)
    if verbose:
        print(f"notebook 5's run was not found in {Path(run_dir).as_posix()}: training a quick model in "
              f"{fallback.as_posix()} ({QUICK_TRAINING['epochs']} epochs, up to {QUICK_PER_CLASS} faces per class)")
    if fallback.exists():
        shutil.rmtree(fallback)
    if data is None:
        data = load_data(verbose=verbose)
    has_training = "Training" in set(data.usage.tolist())
    subset = per_class_subset(data, QUICK_PER_CLASS, usage="Training" if has_training else None)
    result = train(subset, fallback, verbose=2 if verbose else 0, **QUICK_TRAINING)
    return LessonModel(keras.models.load_model(fallback / BEST_MODEL, compile=False), result.history, fallback, True)
