"""Training: a ``tf.data`` pipeline, the callbacks of the tutorial, and one ``train`` function behind the CLI.

The pieces, each usable on its own from a notebook:

* :func:`set_seed` seeds Python, NumPy and TensorFlow; ``deterministic=True`` also turns on op determinism, so the
  same seed on the same machine gives the same weights (slower; off by default).
* :func:`make_dataset`: shuffle, batch, augment on the fly, prefetch. Labels are one-hot (so label smoothing works)
  and optional per-sample weights carry the class weights.
* :func:`make_callbacks`: CSVLogger, EarlyStopping (restoring the best weights), ReduceLROnPlateau, ModelCheckpoint
  (best model as ``.keras``), TensorBoard and BackupAndRestore, all monitoring Keras 3 names (``val_accuracy``).
* :func:`train`: everything together, writing a run directory that an interrupted run resumes from.

Everything runs unchanged under a ``tf.distribute`` strategy: pass ``strategy=`` (or let Keras use the default one)
and the model is built and compiled in its scope; Keras splits each global batch across the replicas.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from .atomic import dumps_json, save_model, sweep_temporaries, write_json
from .labels import EMOTIONS, NUM_CLASSES, one_hot

BEST_MODEL = "best_model.keras"
CSV_LOG = "training_log.csv"
METRICS = "metrics.json"
BACKUP_DIR = "backup"
TENSORBOARD_DIR = "logs"
MONITOR = "val_accuracy"
#: EarlyStopping's ``min_delta``: a smaller rise of the monitored score does not count as progress (notebook 5).
MIN_DELTA = 0.001


def set_seed(seed: int = 0, deterministic: bool = False) -> None:
    """Seed every random generator Keras uses; ``deterministic=True`` adds TensorFlow op determinism.

    Op determinism is process-wide and cannot be switched off again in the same process.
    """
    import keras

    keras.utils.set_random_seed(seed)  # Python's random, NumPy and the backend
    random.seed(seed)
    if deterministic:
        import tensorflow as tf

        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        tf.config.experimental.enable_op_determinism()


def class_weights(labels, method: str = "balanced", max_weight: float | None = 10.0) -> dict[int, float]:
    """Per-class weights from label frequencies.

    ``"balanced"`` gives ``n_samples / (n_classes * count)`` (scikit-learn's rule): on FER2013 Disgust (1.5% of
    Training) gets about 9.4, Happy about 0.57. ``"sqrt"`` is the gentler square root of that. Weights are capped at
    ``max_weight``; a class missing from ``labels`` gets weight 0 (it has no samples to weight).
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(float)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, len(labels) / (NUM_CLASSES * counts), 0.0)
    if method == "sqrt":
        w = np.sqrt(w)
    elif method != "balanced":
        raise ValueError(f"method must be 'balanced' or 'sqrt', got {method!r}")
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    return {i: float(v) for i, v in enumerate(w)}


def make_dataset(images, labels, batch_size: int = 64, shuffle: bool = True, augment=None, seed: int = 0,
                 sample_weights: dict[int, float] | None = None, drop_remainder: bool = False):
    """A ``tf.data.Dataset`` of ``(faces, one_hot_labels[, sample_weights])`` batches.

    ``images``: ``(N, 48, 48)`` or ``(N, 48, 48, 1)`` uint8 (0..255; the model rescales). ``augment``: a preset
    name (``"light"``, ``"default"``, ...), an :class:`~fer_helpers.augment.AugmentConfig`, a Keras layer, or None;
    it runs on whole batches inside the pipeline (``training=True``), so every epoch sees new variations while the
    model trains on the previous batch (``prefetch``).

    The augmentation map runs one batch at a time (``num_parallel_calls=None``). The Keras layers keep their random
    state in a variable, and parallel calls read it concurrently: some batches then repeat another batch's random
    draws, and a seeded pipeline gives different draws from run to run. One call at a time, a seed gives the same
    sequence of draws every time; ``prefetch`` still overlaps augmentation with training.
    """
    import tensorflow as tf

    from .preprocessing import prepare_faces

    x = prepare_faces(np.asarray(images))
    y = one_hot(np.asarray(labels))
    tensors: tuple = (x, y)
    if sample_weights is not None:
        w = np.array([sample_weights[int(c)] for c in np.asarray(labels)], dtype=np.float32)
        tensors = (x, y, w)
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    layer = _augmentation_layer(augment, seed)
    if layer is not None:
        def apply(x, *rest):
            return (layer(tf.cast(x, tf.float32), training=True), *rest)

        ds = ds.map(apply, num_parallel_calls=None)  # sequential: see the docstring
    else:
        ds = ds.map(lambda x, *rest: (tf.cast(x, tf.float32), *rest), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _augmentation_layer(augment, seed):
    if augment is None or augment == "none":
        return None
    from . import augment as aug

    if isinstance(augment, str):
        augment = aug.get_preset(augment)
    if isinstance(augment, aug.AugmentConfig):
        return aug.build_augmentation(augment, seed=seed)
    return augment  # already a layer


class ResumableEarlyStopping:
    """Factory for an EarlyStopping that continues its patience count and best weights after a resume.

    Keras' EarlyStopping forgets everything when ``fit`` starts again; after BackupAndRestore resumes a run, the
    best epoch so far is read from the CSV log and its weights from the best checkpoint.
    """

    @staticmethod
    def create(monitor: str, patience: int, state: dict | None, best_model_path: Path, min_delta: float = 0.0):
        import keras

        class _EarlyStopping(keras.callbacks.EarlyStopping):
            def on_train_begin(self, logs=None):
                super().on_train_begin(logs)
                if state and best_model_path.exists():
                    self.best = state["best"]
                    self.best_epoch = state["best_epoch"]
                    self.wait = state["wait"]
                    best = keras.models.load_model(best_model_path, compile=False)
                    self.best_weights = best.get_weights()

        return _EarlyStopping(monitor=monitor, mode="max", min_delta=min_delta, patience=patience,
                              restore_best_weights=True, verbose=1)


def _backup_epoch(out_dir: Path) -> int:
    """Epochs completed according to BackupAndRestore's metadata (0 if there is no backup)."""
    meta = out_dir / BACKUP_DIR / "training_metadata.json"
    if not meta.exists():
        return 0
    return int(json.loads(meta.read_text())["epoch"])


def stream_seed(seed: int, start_epoch: int = 0) -> int:
    """Seed of the random stream (shuffling, augmentation draws, dropout masks) of a run started at ``start_epoch``.

    BackupAndRestore restores the weights and the optimizer, not the random state of the data pipeline or of the
    Dropout layers. Seeded again with the run's own seed, a resumed session would replay exactly the batches of the
    first session's first epochs, with the same augmentation draws and dropout masks, on a model that has already
    seen them: it memorises them. A session that starts after ``start_epoch`` finished epochs therefore draws
    from a seed derived from ``(seed, start_epoch)``; a run that is never interrupted uses ``seed`` itself, and every
    run remains reproducible given where it was interrupted.
    """
    if start_epoch < 0:
        raise ValueError(f"start_epoch must be >= 0, got {start_epoch}")
    if start_epoch == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(start_epoch)]).generate_state(1)[0] % 2**31)


def _resume_state(out_dir: Path, monitor: str) -> dict | None:
    """Best value, its epoch and epochs waited since, from an existing CSV log.

    A run killed after CSVLogger wrote an epoch but before BackupAndRestore saved it would repeat that epoch;
    log rows the backup does not cover are dropped first, so the resumed log has every epoch exactly once.
    """
    log = out_dir / CSV_LOG
    if not log.exists():
        return None
    import pandas as pd

    df = pd.read_csv(log)
    done = _backup_epoch(out_dir)
    if len(df) and (df["epoch"] >= done).any():
        df = df[df["epoch"] < done]
        df.to_csv(log, index=False)
    if df.empty or monitor not in df:
        return None
    i = int(df[monitor].to_numpy().argmax())
    return {"best": float(df[monitor].iloc[i]), "best_epoch": int(df["epoch"].iloc[i]),
            "wait": int(df["epoch"].iloc[-1] - df["epoch"].iloc[i])}


def make_callbacks(out_dir, monitor: str = MONITOR, patience: int = 10, reduce_lr: bool = True,
                   lr_patience: int = 4, tensorboard: bool = True, backup: bool = True, resume_state=None,
                   min_delta: float = MIN_DELTA):
    """The tutorial's callbacks, with Keras 3 monitor names, writing into ``out_dir``.

    The reference copy of notebook 5's callback cell (``tests/test_lessons_5_8.py`` checks that the two agree):

    * ``CSVLogger`` -> ``training_log.csv`` (appends, so a resumed run keeps one complete log)
    * ``EarlyStopping`` stops after ``patience`` epochs in which ``monitor`` did not beat its best by at least
      ``min_delta``, and restores the best weights
    * ``ReduceLROnPlateau`` halves the learning rate after ``lr_patience`` flat epochs (not with a schedule)
    * ``ModelCheckpoint`` keeps the best model as ``best_model.keras``
    * ``TensorBoard`` writes ``logs/`` (``%tensorboard --logdir <out_dir>/logs`` in a notebook)
    * ``BackupAndRestore`` saves the training state after every epoch in ``backup/``; a new ``fit`` on the same
      directory continues from there
    """
    import keras

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not monitor.startswith("val_") and monitor not in ("accuracy", "loss"):
        raise ValueError(f"monitor {monitor!r} is not a Keras 3 metric name such as 'val_accuracy' or 'val_loss'")
    if monitor in ("val_acc", "acc"):
        raise ValueError("Keras 3 names a metric after what compile() was given; this package compiles with "
                         "metrics=['accuracy'], so monitor 'val_accuracy', not 'val_acc'")
    mode = "min" if monitor.endswith("loss") else "max"
    best_path = out_dir / BEST_MODEL
    cbs = []
    if mode == "max":
        cbs.append(ResumableEarlyStopping.create(monitor, patience, resume_state, best_path, min_delta))
    else:
        cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, min_delta=min_delta, patience=patience,
                                                 restore_best_weights=True, verbose=1))
    if reduce_lr:
        cbs.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.5, patience=lr_patience,
                                                     min_lr=1e-6, verbose=1))
    # after ReduceLROnPlateau, which adds `learning_rate` to the epoch's logs that CSVLogger then writes
    cbs.append(keras.callbacks.CSVLogger(str(out_dir / CSV_LOG), append=True))
    cbs.append(_atomic_checkpoint()(
        str(best_path), monitor=monitor, mode=mode, save_best_only=True, verbose=0,
        initial_value_threshold=(resume_state or {}).get("best")))
    if tensorboard:
        cbs.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / TENSORBOARD_DIR), histogram_freq=0,
                                               write_graph=False))
    if backup:
        cbs.append(_atomic_backup()(str(out_dir / BACKUP_DIR), save_freq="epoch", delete_checkpoint=True))
    return cbs


def _atomic_checkpoint():
    """``ModelCheckpoint`` whose save is atomic: a kill during the write leaves the previous best model intact."""
    import keras

    from .atomic import save_model

    class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
        def _save_model(self, epoch, batch, logs):
            filepath = self._get_file_path(epoch, batch, logs)
            if self._should_save_model(epoch, batch, logs, filepath):
                save_model(self.model, filepath)

    return AtomicModelCheckpoint


def _atomic_backup():
    """``BackupAndRestore`` that never loses a finished epoch: each backup's weights go to a new file
    (``epoch-NNNNN.weights.h5``), then ``training_metadata.json`` is replaced atomically to point at it, and only then
    is the previous backup deleted. A kill at any moment leaves metadata naming a complete weights file."""
    import keras

    from .atomic import atomic_path, write_json

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        def _load_model(self):
            meta = Path(self._training_metadata_path)
            if meta.exists():
                try:
                    name = json.loads(meta.read_text()).get("weights")
                except (ValueError, AttributeError):
                    raise ValueError(f"{meta}: the backup's metadata is not valid JSON; delete {meta.parent} to "
                                     "start the run again") from None
                if name:
                    self._weights_path = str(meta.parent / name)
            super()._load_model()

        def _save_model(self):
            folder = Path(self.backup_dir)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"epoch-{self._current_epoch:05d}.weights.h5"
            with atomic_path(folder / name, "back up the training state to") as tmp:
                self.model.save_weights(str(tmp), overwrite=True)
            write_json(self._training_metadata_path,
                       {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": name})
            self._weights_path = str(folder / name)
            for old in folder.glob("*.weights.h5"):
                if old.name != name:
                    old.unlink(missing_ok=True)

    return AtomicBackupAndRestore


def compile_model(model, learning_rate=1e-3, label_smoothing: float = 0.0, optimizer: str = "adam",
                  weight_decay: float = 1e-4):
    """Compile with categorical cross-entropy on one-hot labels and an accuracy metric.

    ``learning_rate`` may be a float or a ``keras.optimizers.schedules.LearningRateSchedule``.
    """
    import keras

    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate)
    elif optimizer == "adamw":
        opt = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    else:
        raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {optimizer!r}")
    model.compile(optimizer=opt,
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                  metrics=["accuracy"])
    return model


def cosine_schedule(learning_rate: float, total_steps: int, warmup_steps: int = 0):
    """Cosine decay to 1% of ``learning_rate`` over ``total_steps``, after an optional linear warm-up."""
    import keras

    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate if not warmup_steps else learning_rate * 0.1,
        decay_steps=max(1, total_steps - warmup_steps), alpha=0.01,
        warmup_target=learning_rate if warmup_steps else None, warmup_steps=warmup_steps)


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run; saved as ``config.json`` in the run directory."""

    model: str = "default"
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    schedule: str = "plateau"  # "plateau" (ReduceLROnPlateau), "cosine" or "constant"
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    class_weights: bool = False
    augment: str = "default"
    patience: int = 10
    lr_patience: int = 4  # ReduceLROnPlateau: flat epochs before the learning rate is halved
    seed: int = 0
    deterministic: bool = False
    val_fraction: float = 0.1
    precision: str = "float32"  # or "mixed_bfloat16" (CPUs with AVX512-BF16, TPUs), "mixed_float16" (GPUs)
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    init_from: str | None = None  # warm start: a saved model of the same architecture to start from

    def validate(self) -> None:
        import math

        for name in ("epochs", "batch_size", "warmup_epochs", "patience", "lr_patience", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        for name in ("learning_rate", "label_smoothing", "val_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        for name in ("warmup_epochs", "patience", "lr_patience", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {self.val_fraction}")
        if self.model not in ("tutorial", "default"):
            raise ValueError(f"model must be 'tutorial' or 'default', got {self.model!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}")
        if not isinstance(self.model_kwargs, dict):
            raise ValueError(f"model_kwargs must be a dict, got {self.model_kwargs!r}")
        if self.schedule not in ("plateau", "cosine", "constant"):
            raise ValueError(f"schedule must be 'plateau', 'cosine' or 'constant', got {self.schedule!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if self.precision not in ("float32", "mixed_bfloat16", "mixed_float16"):
            raise ValueError(f"precision must be float32, mixed_bfloat16 or mixed_float16, got {self.precision!r}")
        if self.init_from is not None and not Path(self.init_from).is_file():
            raise ValueError(f"init_from: no model file at {self.init_from}")


#: Settings of runs saved before distillation, weight averaging and the single-warp augmentation were removed, with
#: their "off" values
_REMOVED_SETTINGS = {"average_epochs": 0, "teachers": [], "distill_weight": 0.5, "teacher_tta": False,
                     "warp": "chained"}


def _read_config(config_file: Path) -> TrainConfig:
    """The :class:`TrainConfig` saved in a run's ``config.json``; a ValueError naming the file if it is unreadable,
    not a JSON object, or holds an unknown setting."""
    try:
        saved = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{config_file}: not a readable JSON file ({exc}); repair it or train into another "
                         "output directory") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{config_file}: expected a JSON object of training settings, got {type(saved).__name__}")
    for key, default in _REMOVED_SETTINGS.items():  # runs saved before these features left the package
        if saved.get(key, default) != default:
            raise ValueError(f"{config_file}: {key} {saved[key]!r}: this run used a feature removed from the "
                             "package; resume it with the commit that trained it (git checkout ee7f1ef)")
        saved.pop(key, None)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(saved) - known)
    if unknown:
        raise ValueError(f"{config_file}: unknown setting{'s' if len(unknown) > 1 else ''} {unknown}; known: "
                         f"{sorted(known)}")
    config = TrainConfig(**saved)
    try:
        config.validate()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{config_file}: {exc}") from None
    return config


def _check_same_settings(given: TrainConfig, saved: TrainConfig, config_file: Path) -> None:
    """Raise ValueError naming every setting in which ``given`` differs from the run's saved ``config.json``."""
    a, b = (json.loads(json.dumps(dataclasses.asdict(c))) for c in (given, saved))
    diffs = [f"{key} {b[key]!r} in the run, {a[key]!r} given" for key in a if a[key] != b.get(key)]
    if diffs:
        raise ValueError(f"{config_file}: a resumed run keeps the settings it started with, and these differ: "
                         f"{'; '.join(diffs)}. Repeat the run's own settings (or, from Python, pass resume=True "
                         "without a config), or train the new settings into another output directory")


@dataclasses.dataclass
class TrainResult:
    model: object
    history: object  # pandas DataFrame of the whole CSV log (all sessions of a resumed run)
    metrics: dict
    out_dir: Path

    @property
    def best_model_path(self) -> Path:
        return self.out_dir / BEST_MODEL



def _split_data(data, val_fraction: float, seed: int):
    from .data import official_splits

    return official_splits(data, val_fraction=val_fraction, seed=seed)


class SimulatedInterruption(Exception):
    """Raised by :func:`interrupt_after` to imitate a crash or a closed laptop in the middle of training."""


def interrupt_after(epochs: int):
    """A callback that stops training abruptly after ``epochs`` finished epochs (lesson 5's resume demo).

    Unlike ``model.stop_training``, it raises :class:`SimulatedInterruption`, so ``fit`` ends the way a crash would:
    BackupAndRestore keeps its checkpoint and a later ``train(..., resume=True)`` continues from it.
    """
    import keras

    class _Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 >= epochs:
                raise SimulatedInterruption(f"training interrupted after epoch {epoch + 1}")

    return _Interrupt()


def warm_start(model, path) -> None:
    """Start ``model`` from the weights of the saved model at ``path`` (the same architecture), e.g. to give a
    finished run a new schedule. Raises ValueError naming the file when the networks differ."""
    from .saving import load_model

    source = load_model(path, compile=False)  # any format the series saves; errors name the file
    if [tuple(w.shape) for w in model.weights] != [tuple(w.shape) for w in source.weights]:
        raise ValueError(f"init_from: {path} holds a different network ({source.count_params():,} parameters) from "
                         f"the {model.name!r} being trained ({model.count_params():,} parameters); a warm start "
                         "needs the same architecture (model and model_kwargs)")
    model.set_weights(source.get_weights())


def train(data, out_dir, config: TrainConfig | None = None, resume: bool = False, strategy=None,
          verbose: int | str = "auto", callbacks=(), **overrides) -> TrainResult:
    """Train a model on ``data`` (a path or a :class:`~fer_helpers.data.FERData`) and write a run directory.

    Training uses the ``Training`` rows and selects on ``PublicTest`` (EarlyStopping, ModelCheckpoint,
    ReduceLROnPlateau all watch ``val_accuracy`` on it); ``PrivateTest`` is never touched. Data without ``Usage`` is
    split with a seeded stratified split. ``out_dir`` receives ``best_model.keras``, ``training_log.csv``,
    ``logs/`` (TensorBoard), ``config.json`` and ``metrics.json``.

    ``resume=True`` continues an interrupted run in ``out_dir`` from its last finished epoch (BackupAndRestore),
    with the settings it started with (its ``config.json``): a ``config`` or overrides given as well must repeat
    them, and any difference is an error that names the settings. Without ``resume``, a directory holding an
    interrupted run is an error rather than silently overwritten.
    ``callbacks`` are added after the standard ones (see :func:`make_callbacks`). ``init_from`` (a config field)
    starts from the weights of a saved model instead of a random initialisation (see :func:`warm_start`).
    """
    import keras
    import tensorflow as tf

    from .data import FERData, load_fer2013, validation_name
    from .models import build_model

    given = config is not None or bool(overrides)  # settings the caller chose (a resume must match them)
    config = dataclasses.replace(config or TrainConfig(), **overrides)
    config.validate()
    out_dir = Path(out_dir)
    backup = out_dir / BACKUP_DIR
    config_file = out_dir / "config.json"
    if resume:
        if (out_dir / METRICS).exists() and not backup.exists():
            raise ValueError(f"{out_dir} holds a finished run (metrics.json written, no backup/ left): there is "
                             "nothing to resume; choose another output directory to train again")
        if not config_file.exists() and not backup.exists():
            raise ValueError(f"{out_dir}: no training run to resume there (no config.json, no backup/); leave out "
                             "--resume (resume=False) to start a new run")
        if config_file.exists():  # a resumed run must use the settings it started with
            saved = _read_config(config_file)
            if given:
                _check_same_settings(config, saved, config_file)
            config = saved
            config.validate()
    elif backup.exists() or (out_dir / CSV_LOG).exists():
        raise ValueError(f"{out_dir} already holds a training run; pass resume=True (--resume) to continue it, "
                         "or choose another output directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    if resume:  # what a killed session was writing when it died
        for folder in (out_dir, backup):
            sweep_temporaries(folder)
    write_json(config_file, dataclasses.asdict(config))

    completed = _backup_epoch(out_dir) if resume else 0
    # a resumed session continues with a fresh random stream, not a replay of the first session's (stream_seed)
    seed = stream_seed(config.seed, completed)
    set_seed(seed, deterministic=config.deterministic)
    if not isinstance(data, FERData):
        data = load_fer2013(data)
    train_set, val_set = _split_data(data, config.val_fraction, config.seed)
    weights = class_weights(train_set.labels) if config.class_weights else None
    train_ds = make_dataset(train_set.images, train_set.labels, config.batch_size, shuffle=True,
                            augment=config.augment, seed=seed, sample_weights=weights)
    val_ds = make_dataset(val_set.images, val_set.labels, max(config.batch_size, 256), shuffle=False)
    steps = int(np.ceil(len(train_set) / config.batch_size))

    previous_policy = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(config.precision)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model(config.model, **config.model_kwargs)
        if config.init_from is not None:
            warm_start(model, config.init_from)
        if config.schedule == "cosine":
            lr = cosine_schedule(config.learning_rate, steps * config.epochs, steps * config.warmup_epochs)
        else:  # "plateau" (ReduceLROnPlateau lowers it) or "constant"
            lr = config.learning_rate
        compile_model(model, lr, config.label_smoothing, config.optimizer)

    state = _resume_state(out_dir, MONITOR) if resume else None
    extra = list(callbacks)
    callbacks = make_callbacks(out_dir, patience=config.patience, reduce_lr=config.schedule == "plateau",
                               lr_patience=config.lr_patience, resume_state=state)
    callbacks += extra
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.time()
    # shuffle=False: the dataset already reshuffles every epoch (make_dataset), Keras must not try again
    try:
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks, verbose=verbose,
                  shuffle=False)
    except BaseException:  # an interrupted run must not leave later models in the same process in bfloat16
        keras.mixed_precision.set_global_policy(previous_policy)
        raise
    wall = time.time() - start

    import pandas as pd

    history = pd.read_csv(out_dir / CSV_LOG)
    if config.precision != "float32":
        # ship float32: the same weights, but fast on every CPU (bfloat16 is emulated, slowly, where unsupported)
        from .models import float32_model

        keras.mixed_precision.set_global_policy("float32")
        best = float32_model(keras.models.load_model(out_dir / BEST_MODEL, compile=False))
        compile_model(best, config.learning_rate, config.label_smoothing, config.optimizer)
        save_model(best, out_dir / BEST_MODEL)
    best = keras.models.load_model(out_dir / BEST_MODEL)
    val_loss, val_acc = best.evaluate(val_ds, verbose=0)
    metrics = {
        "model": config.model,
        "params": int(best.count_params()),
        "epochs_run": int(len(history)),
        "best_epoch": int(history["epoch"].iloc[int(history[MONITOR].to_numpy().argmax())]) + 1,
        "val_accuracy": float(val_acc),
        "val_loss": float(val_loss),
        "val_split": validation_name(val_set, config.val_fraction),
        "train_rows": len(train_set),
        "val_rows": len(val_set),
        "wall_time_s_this_session": round(wall, 1),
        "data": data.source,
        "classes": list(EMOTIONS),
    }
    prev = out_dir / METRICS
    if resume and prev.exists():
        try:
            before = float(json.loads(prev.read_text()).get("wall_time_s_total") or 0)
        except (ValueError, AttributeError, TypeError):  # an unreadable earlier metrics.json is replaced
            before = 0.0
        metrics["wall_time_s_total"] = round(before + wall, 1)
    else:
        metrics["wall_time_s_total"] = round(wall, 1)
    write_json(prev, {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()})
    return TrainResult(best, history, metrics, out_dir)


def train_cli(args) -> int:
    from .data import locate_fer2013

    data = args.data or locate_fer2013()
    config = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, schedule=args.schedule, optimizer=args.optimizer,
                         warmup_epochs=args.warmup_epochs,
                         label_smoothing=args.label_smoothing, class_weights=args.class_weights,
                         augment=args.augment, patience=args.patience, seed=args.seed,
                         deterministic=args.deterministic, val_fraction=args.val_fraction,
                         precision=args.precision, init_from=args.init_from,
                         model_kwargs={"filters": args.filters} if args.filters else {})
    result = train(data, args.out, config, resume=args.resume)
    m = result.metrics
    print(f"best {m['model']} model (epoch {m['best_epoch']} of {m['epochs_run']}): "
          f"val_accuracy {m['val_accuracy']:.4f} on {m['val_split']} -> {result.best_model_path}")
    print(dumps_json({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in m.items()}))
    return 0
