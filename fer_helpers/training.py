"""Training: a ``tf.data`` pipeline, the callbacks of lesson 5, and :func:`train`, which puts them together.

:func:`train` writes a run directory (best model, CSV log, TensorBoard logs, settings, metrics) that an interrupted
run resumes from; ``python -m fer_helpers train`` calls it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .atomic import atomic_path, dumps_json, save_model, sweep_temporaries, write_json
from .augment import build_augmentation, get_preset
from .crops import RandomCropErase
from .data import FERData, load_fer2013, locate_fer2013, official_splits, validation_name
from .labels import NUM_CLASSES, one_hot
from .models import MODEL_BUILDERS, build_model, float32_model
from .preprocessing import FACE_SIZE, prepare_faces
from .saving import load_model

BEST_MODEL = "best_model.keras"
CSV_LOG = "training_log.csv"
CONFIG = "config.json"
METRICS = "metrics.json"
BACKUP_DIR = "backup"
MONITOR = "val_accuracy"
#: EarlyStopping's ``min_delta``: a smaller rise of the monitored score does not count as progress (lesson 5)
MIN_DELTA = 0.001
OPTIMIZERS = ("adam", "adamw", "sgd")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def class_weights(labels, method: str = "balanced") -> dict[int, float]:
    """Per-class weights ``faces / (7 * faces of the class)`` (``method="sqrt"``: their square roots).

    A class missing from ``labels`` gets weight 0.
    """
    if method not in ("balanced", "sqrt"):
        raise ValueError(f"method must be 'balanced' or 'sqrt', got {method!r}")
    counts = np.bincount(np.asarray(labels), minlength=NUM_CLASSES)
    weights = np.divide(len(labels), NUM_CLASSES * counts, out=np.zeros(NUM_CLASSES), where=counts > 0)
    return {i: float(w) for i, w in enumerate(np.sqrt(weights) if method == "sqrt" else weights)}


def make_dataset(images, labels, batch_size: int = 64, shuffle: bool = True, augment=None, seed: int = 0):
    """A ``tf.data.Dataset`` of ``(faces, one_hot_labels)`` batches, reshuffled every epoch, augmented on the fly.

    ``images``: uint8 faces ``(N, 48, 48)`` or ``(N, 48, 48, 1)``. ``augment``: a preset name, an
    :class:`~fer_helpers.augment.AugmentConfig`, a Keras layer, or None. The augmentation runs one batch at a time
    (a parallel map would let batches share random draws), so a seed gives the same draws every time.
    """
    ds = tf.data.Dataset.from_tensor_slices((prepare_faces(np.asarray(images)), one_hot(np.asarray(labels))))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
    if augment not in (None, "none"):
        layer = augment if isinstance(augment, keras.layers.Layer) else build_augmentation(augment, seed=seed)
        ds = ds.map(lambda x, y: (layer(x, training=True), y))
    return ds.prefetch(tf.data.AUTOTUNE)


def stream_seed(seed: int, start_epoch: int = 0) -> int:
    """The seed of a session that starts after ``start_epoch`` finished epochs: ``seed`` itself for a new run.

    A resumed session gets a seed of its own, so that it does not replay the first session's shuffles, augmentations
    and dropout masks (BackupAndRestore restores the weights, not the random state).
    """
    state = np.random.SeedSequence([int(seed), int(start_epoch)]).generate_state(1)[0]
    return int(seed) if start_epoch == 0 else int(state % 2**31)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint whose saves are atomic: a kill during a save leaves the previous best model intact."""

    def _save_model(self, epoch, batch, logs):
        path = self._get_file_path(epoch, batch, logs)
        if self._should_save_model(epoch, batch, logs, path):
            save_model(self.model, path)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that never loses a finished epoch, and that also restores the best score, weights and patience
    count of ``early_stopping`` and the best score of ``checkpoint`` (Keras restores only the weights and the epoch).

    Each epoch's weights go to a new file, then the metadata is replaced (atomically) to name it, and only then is
    the previous file deleted.
    """

    def __init__(self, backup_dir, early_stopping, checkpoint):
        super().__init__(backup_dir)
        self.early_stopping, self.checkpoint = early_stopping, checkpoint

    def _load_model(self):
        state = backup_state(Path(self._training_metadata_path))
        if state:
            self._weights_path = str(Path(self.backup_dir) / state["weights"])
            self.early_stopping.best_epoch, self.early_stopping.wait = state["best_epoch"], state["wait"]
            if state["best"] is not None:  # the best model so far is the checkpoint's
                self.early_stopping.best = self.checkpoint.best = state["best"]
                best_model = keras.models.load_model(self.checkpoint.filepath, compile=False)
                self.early_stopping.best_weights = best_model.get_weights()
        super()._load_model()

    def _save_model(self):
        folder, name, stop = Path(self.backup_dir), f"epoch-{self._current_epoch:05d}.weights.h5", self.early_stopping
        with atomic_path(folder / name, "back up the training state to") as tmp:
            self.model.save_weights(tmp)
        best = stop.best if stop.best is not None and math.isfinite(stop.best) else None  # None: nothing monitored yet
        write_json(self._training_metadata_path, {"epoch": self._current_epoch, "weights": name, "best": best,
                                                  "best_epoch": stop.best_epoch, "wait": stop.wait})
        for old in set(folder.glob("epoch-*.weights.h5")) - {folder / name}:
            old.unlink()


def backup_state(meta: Path) -> dict:
    """What a backup's metadata file ``meta`` holds (epoch, weights file, EarlyStopping's state); {} if it is absent."""
    try:
        return json.loads(meta.read_text()) if meta.exists() else {}
    except ValueError as exc:
        raise ValueError(f"{meta}: not a backup's metadata ({exc}); delete {meta.parent} to restart the run") from None


def make_callbacks(out_dir, monitor: str = MONITOR, patience: int = 10, lr_patience: int = 4, reduce_lr: bool = True,
                   backup: bool = True) -> list:
    """Lesson 5's callbacks writing into ``out_dir`` (``tests/test_lessons_5_8.py`` checks that the two agree).

    EarlyStopping (restoring the best weights), ReduceLROnPlateau (unless ``reduce_lr=False``), CSVLogger,
    ModelCheckpoint (``best_model.keras``), TensorBoard (``logs/``) and, with ``backup``, BackupAndRestore
    (``backup/``).
    """
    if monitor not in ("val_accuracy", "val_loss", "accuracy", "loss"):
        raise ValueError(f"monitor {monitor!r} is not logged: Keras 3 names a metric after what compile() was given, "
                         "and this package compiles with metrics=['accuracy'], so monitor 'val_accuracy' or 'val_loss'")
    out_dir, mode = Path(out_dir), "min" if monitor.endswith("loss") else "max"
    stop = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, min_delta=MIN_DELTA, patience=patience,
                                         restore_best_weights=True, verbose=1)
    best = AtomicModelCheckpoint(str(out_dir / BEST_MODEL), monitor=monitor, mode=mode, save_best_only=True)
    cbs = [stop]
    if reduce_lr:  # before CSVLogger, which then logs the learning rate
        cbs.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.5, patience=lr_patience,
                                                     min_lr=1e-6, verbose=1))
    cbs += [keras.callbacks.CSVLogger(str(out_dir / CSV_LOG), append=True), best,
            keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs"), write_graph=False)]
    return cbs + [AtomicBackupAndRestore(str(out_dir / BACKUP_DIR), stop, best)] if backup else cbs


def compile_model(model, learning_rate=1e-3, label_smoothing: float = 0.0, optimizer: str = "adam"):
    """Compile for one-hot labels: cross-entropy (with ``label_smoothing``) and accuracy.

    ``optimizer``: ``"adam"``, ``"adamw"`` or ``"sgd"`` (Nesterov momentum 0.9); ``learning_rate`` a number or a
    ``keras.optimizers.schedules.LearningRateSchedule``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    opt = {"adam": lambda: keras.optimizers.Adam(learning_rate),
           "adamw": lambda: keras.optimizers.AdamW(learning_rate, weight_decay=1e-4),
           "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)}[optimizer]()
    model.compile(optimizer=opt, loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                  metrics=["accuracy"])
    return model


def cosine_schedule(learning_rate: float, total_steps: int, warmup_steps: int = 0):
    """Cosine decay to 1% of ``learning_rate`` over ``total_steps``, after an optional linear warm-up."""
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate * 0.1 if warmup_steps else learning_rate,
        decay_steps=max(1, total_steps - warmup_steps), alpha=0.01,
        warmup_target=learning_rate if warmup_steps else None, warmup_steps=warmup_steps)


@dataclasses.dataclass
class TrainConfig:
    """The settings of a training run, saved as ``config.json`` in its directory."""

    model: str = "tutorial"  # "tutorial" (lesson 3's CNN) or "vgg" (the pretrained model's; see fer_helpers.models)
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"  # "adam", "adamw" or "sgd"
    schedule: str = "plateau"  # "plateau" (ReduceLROnPlateau) or "cosine"
    warmup_epochs: int = 0  # linear warm-up before the cosine decay
    label_smoothing: float = 0.0
    augment: str = "default"  # augmentation preset (fer_helpers.augment)
    crop: int = FACE_SIZE  # train on random crops of this size (the saved model takes the centre crop)
    erase: float = 0.0  # probability of random erasing
    patience: int = 10
    seed: int = 0
    precision: str = "float32"  # or "mixed_bfloat16", "mixed_float16" (the saved model is float32)
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    init_from: str | None = None  # warm start: a saved model of the same architecture

    def validate(self) -> None:
        """Raise ValueError naming the first setting a run cannot use."""
        for name, (ok, rule) in SETTING_RULES.items():
            if not ok(getattr(self, name)):
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        get_preset(self.augment)
        if self.init_from is not None and not Path(self.init_from).is_file():
            raise ValueError(f"init_from: no model file at {self.init_from}")


def integer(low: int, high: float = math.inf):
    """A check: an integer from ``low`` to ``high``."""
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def finite(ok):
    """A check: a finite number for which ``ok`` holds."""
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and ok(v)


#: setting -> (check, what it must be)
SETTING_RULES = {
    "model": (lambda v: v in MODEL_BUILDERS, f"one of {sorted(MODEL_BUILDERS)}"),
    "epochs": (integer(1), "an integer of at least 1"),
    "batch_size": (integer(1), "an integer of at least 1"),
    "learning_rate": (finite(lambda v: v > 0), "a finite number above 0"),
    "optimizer": (lambda v: v in OPTIMIZERS, f"one of {OPTIMIZERS}"),
    "schedule": (lambda v: v in ("plateau", "cosine"), "'plateau' or 'cosine'"),
    "warmup_epochs": (integer(0), "an integer of at least 0"),
    "label_smoothing": (finite(lambda v: 0 <= v < 1), "a finite number in [0, 1)"),
    "crop": (integer(8, FACE_SIZE), f"an integer from 8 to {FACE_SIZE}"),
    "erase": (finite(lambda v: 0 <= v <= 1), "a finite number in [0, 1]"),
    "patience": (integer(0), "an integer of at least 0"),
    "seed": (integer(0), "an integer of at least 0"),
    "precision": (lambda v: v in PRECISIONS, f"one of {PRECISIONS}"),
    "model_kwargs": (lambda v: isinstance(v, dict), "a dict"),
}


def read_config(path: Path) -> TrainConfig:
    """The :class:`TrainConfig` saved in ``path``; a ValueError naming the file if it is not a valid one."""
    try:
        config = TrainConfig(**json.loads(path.read_text(encoding="utf-8")))
        config.validate()
    except (OSError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not the settings of a run ({exc}); repair it or train into another folder") from None
    return config


def prepare_run(out_dir: Path, config: TrainConfig | None, resume: bool, overrides: dict) -> TrainConfig:
    """The settings of the run in ``out_dir`` (a resumed run's own, which those given must repeat); writes them."""
    given = {**(dataclasses.asdict(config) if config else {}), **overrides}
    config = dataclasses.replace(config or TrainConfig(), **overrides)
    config.validate()
    if resume:
        if (out_dir / METRICS).exists() and not (out_dir / BACKUP_DIR).exists():
            raise ValueError(f"{out_dir} holds a finished run: nothing to resume; train into another folder")
        if not (out_dir / CONFIG).exists():
            raise ValueError(f"{out_dir}: no training run to resume there (no {CONFIG}); start a new one")
        config = read_config(out_dir / CONFIG)
        saved, given = dataclasses.asdict(config), json.loads(json.dumps(given))  # tuples as the JSON file's lists
        diffs = [f"{key} {saved[key]!r} in the run, {value!r} given" for key, value in given.items()
                 if value != saved[key]]
        if diffs:
            raise ValueError(f"{out_dir / CONFIG}: a resumed run keeps the settings it started with, and these differ: "
                             f"{'; '.join(diffs)}. Give the run's own settings (or none), or train into another folder")
    elif (out_dir / BACKUP_DIR).exists() or (out_dir / CSV_LOG).exists():
        raise ValueError(f"{out_dir} already holds a training run: resume it (--resume) or train into another folder")
    for folder in (out_dir, out_dir / BACKUP_DIR):  # what a killed session was writing when it died
        sweep_temporaries(folder)
    write_json(out_dir / CONFIG, dataclasses.asdict(config))
    return config


def drop_unsaved_epochs(out_dir: Path, completed: int) -> None:
    """Drop the CSV log's rows of epochs after ``completed`` (logged just before a kill, not backed up): they are
    trained again."""
    log_file = out_dir / CSV_LOG
    log = pd.read_csv(log_file) if log_file.exists() else None
    if log is not None and (log["epoch"] >= completed).any():
        with atomic_path(log_file) as tmp:
            log[log["epoch"] < completed].to_csv(tmp, index=False)


def warm_start(model, path) -> None:
    """Start ``model`` from the weights of the saved model at ``path``; ValueError if its network differs."""
    source = load_model(path, compile=False)
    if [tuple(w.shape) for w in model.weights] != [tuple(w.shape) for w in source.weights]:
        raise ValueError(f"init_from: {path} holds a different network ({source.count_params():,} parameters) from "
                         f"the {model.name!r} being trained ({model.count_params():,} parameters); a warm start "
                         "needs the same architecture (model and model_kwargs)")
    model.set_weights(source.get_weights())


def build_network(config: TrainConfig, steps_per_epoch: int = 1) -> keras.Model:
    """The compiled network of ``config``, warm-started if it says so; with ``crop`` it takes faces of any size and
    looks at their centre crop."""
    if config.crop == FACE_SIZE:
        model = build_model(config.model, **config.model_kwargs)
    else:
        net = build_model(config.model, input_shape=(config.crop, config.crop, 1), **config.model_kwargs)
        faces = keras.Input((None, None, 1), name="face")
        model = keras.Model(faces, net(keras.layers.CenterCrop(config.crop, config.crop)(faces)), name=net.name)
    if config.init_from is not None:
        warm_start(model, config.init_from)
    lr = config.learning_rate
    if config.schedule == "cosine":
        lr = cosine_schedule(lr, steps_per_epoch * config.epochs, steps_per_epoch * config.warmup_epochs)
    return compile_model(model, lr, config.label_smoothing, config.optimizer)


def training_augmentation(config: TrainConfig, seed: int):
    """The preset of ``config``, followed by random crops and erasing when it asks for them."""
    if config.crop == FACE_SIZE and not config.erase:
        return config.augment
    crop = RandomCropErase(config.crop, erase=config.erase, seed=seed)
    return keras.Sequential([build_augmentation(config.augment, seed=seed), crop])


class SimulatedInterruption(Exception):
    """Raised by :func:`interrupt_after`: a crash in the middle of training, for lesson 5's resume demo."""


def interrupt_after(epochs: int):
    """A callback that raises :class:`SimulatedInterruption` at the end of epoch ``epochs``, as a crash would."""

    def stop(epoch, logs=None):
        if epoch + 1 >= epochs:
            raise SimulatedInterruption(f"training interrupted after epoch {epoch + 1}")

    return keras.callbacks.LambdaCallback(on_epoch_end=stop)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns: the best model (reloaded), the whole CSV log, the metrics and the run directory."""

    model: object
    history: object  # pandas DataFrame of the whole CSV log (all sessions of a resumed run)
    metrics: dict
    out_dir: Path

    @property
    def best_model_path(self) -> Path:
        """The run's ``best_model.keras``."""
        return self.out_dir / BEST_MODEL


def train(data, out_dir, config: TrainConfig | None = None, resume: bool = False, verbose="auto", callbacks=(),
          **overrides) -> TrainResult:
    """Train on ``data`` (a path or a :class:`~fer_helpers.data.FERData`) and write the run directory ``out_dir``.

    Trains on the ``Training`` rows and selects on ``PublicTest`` (data without ``Usage``: a seeded split). Settings
    come from ``config`` and ``overrides`` (:class:`TrainConfig` fields). ``resume=True`` continues the interrupted
    run in ``out_dir`` with its own settings; those given must repeat them. ``callbacks`` come after the standard
    ones (:func:`make_callbacks`).
    """
    out_dir = Path(out_dir)
    config = prepare_run(out_dir, config, resume, overrides)
    completed = backup_state(out_dir / BACKUP_DIR / "training_metadata.json").get("epoch", 0) if resume else 0
    drop_unsaved_epochs(out_dir, completed)
    seed = stream_seed(config.seed, completed)
    keras.utils.set_random_seed(seed)
    data = data if isinstance(data, FERData) else load_fer2013(data)
    train_set, val_set = official_splits(data, seed=config.seed)
    train_ds = make_dataset(train_set.images, train_set.labels, config.batch_size,
                            augment=training_augmentation(config, seed), seed=seed)
    val_ds = make_dataset(val_set.images, val_set.labels, max(config.batch_size, 256), shuffle=False)
    cbs = make_callbacks(out_dir, patience=config.patience, reduce_lr=config.schedule == "plateau") + list(callbacks)
    verbose = (1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose  # no progress bars in log files
    previous_policy = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        model = build_network(config, math.ceil(len(train_set) / config.batch_size))
        start = time.time()
        # shuffle=False: the dataset reshuffles every epoch itself
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=cbs, verbose=verbose, shuffle=False)
    finally:  # later models of this process are not built in mixed precision
        keras.mixed_precision.set_global_policy(previous_policy)
    facts = {"val_split": validation_name(val_set, 0.1), "train_rows": len(train_set), "val_rows": len(val_set),
             "data": data.source, "wall_time_s_total": None if resume else round(time.time() - start, 1)}
    return finish_run(out_dir, config, val_ds, facts)


def finish_run(out_dir: Path, config: TrainConfig, val_ds, facts: dict) -> TrainResult:
    """Save the best model in float32, evaluate it on ``val_ds`` and write ``metrics.json`` (with ``facts``)."""
    if config.precision != "float32":
        best = float32_model(keras.models.load_model(out_dir / BEST_MODEL, compile=False))
        save_model(compile_model(best, config.learning_rate, config.label_smoothing, config.optimizer),
                   out_dir / BEST_MODEL)
    best = keras.models.load_model(out_dir / BEST_MODEL)
    val_loss, val_acc = best.evaluate(val_ds, verbose=0)
    history = pd.read_csv(out_dir / CSV_LOG)
    metrics = {"model": config.model, "params": int(best.count_params()), "epochs_run": len(history),
               "best_epoch": int(history["epoch"].iloc[int(history[MONITOR].to_numpy().argmax())]) + 1,
               "val_accuracy": float(val_acc), "val_loss": float(val_loss) if math.isfinite(val_loss) else None,
               **facts}
    write_json(out_dir / METRICS, metrics)
    return TrainResult(best, history, metrics, out_dir)


def train_cli(args) -> int:
    """``python -m fer_helpers train``: options left out take :class:`TrainConfig`'s defaults."""
    settings = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    if args.filters:
        settings["model_kwargs"] = {"filters": args.filters}
    TrainConfig(**settings).validate()  # before any work
    result = train(args.data or locate_fer2013(), args.out, resume=args.resume, **settings)
    m = result.metrics
    print(f"best {m['model']} model (epoch {m['best_epoch']} of {m['epochs_run']}): "
          f"val_accuracy {m['val_accuracy']:.4f} on {m['val_split']} -> {result.best_model_path}")
    print(dumps_json(m))
    return 0
