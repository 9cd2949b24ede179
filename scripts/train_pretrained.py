#!/usr/bin/env python
"""Train the pretrained model: a VGG-style network on random crops, SGD with Nesterov momentum, a cosine decay.

    python scripts/train_pretrained.py --data fer2013.csv.gz --out runs/pretrained --epochs 150

Trains on the ``Training`` rows and selects the checkpoint on ``PublicTest`` (``PrivateTest`` is never read). Runs on
any Keras backend (TensorFlow, JAX, PyTorch), on a GPU or a CPU; ``--precision auto`` trains in mixed_float16 on a
GPU, mixed_bfloat16 on a CPU that computes bfloat16 natively (AVX512-BF16 or AMX) and float32 elsewhere.

Resumable: run the same command again after an interruption and it continues after the last finished epoch (the
weights, the optimizer's state and the schedule are saved after every epoch, each file written completely under a
temporary name first). Writes into ``--out``: ``config.json``, ``log.csv`` (one line per epoch), ``best_model.keras``
(float32, the epoch with the best PublicTest accuracy), ``metrics.json`` (PublicTest single pass, flip and ten-crop
accuracy of that model) and ``state/`` (the resume point, removed when the run is finished).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import keras  # noqa: E402

from fer_helpers.atomic import atomic_path, save_model, write_json  # noqa: E402
from fer_helpers.crops import RandomCropErase, ten_crops  # noqa: E402
from fer_helpers.models import build_vgg_cnn  # noqa: E402

SETTINGS = ("filters", "convs", "dropout", "crop", "erase", "batch_size", "lr", "momentum", "weight_decay",
            "label_smoothing", "warmup_epochs", "epochs", "time_budget", "precision", "init_from", "seed")


def parse_args(argv=None) -> argparse.Namespace:
    ints = lambda s: tuple(int(v) for v in s.split(","))  # noqa: E731
    floats = lambda s: tuple(float(v) for v in s.split(","))  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="FER2013 CSV (any form load_fer2013 reads) or .npz (x, y, usage)")
    p.add_argument("--out", required=True, type=Path, help="run folder; an existing run there is resumed")
    p.add_argument("--filters", type=ints, default=(64, 128, 256, 512), help="filters per stage")
    p.add_argument("--convs", type=ints, default=(2, 2, 2, 2), help="3x3 convolutions per stage")
    p.add_argument("--dropout", type=floats, default=(0.1, 0.1, 0.2, 0.3), help="dropout after each stage")
    p.add_argument("--crop", type=int, default=40, help="side of the random training crops (48: no crop)")
    p.add_argument("--erase", type=float, default=0.5, help="probability of random erasing")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.02, help="peak learning rate")
    p.add_argument("--momentum", type=float, default=0.9, help="Nesterov momentum")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="L2 penalty on the convolution kernels")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--warmup-epochs", type=int, default=3, help="epochs of linear warm-up before the cosine decay")
    p.add_argument("--epochs", type=int, help="epochs in all (or --time-budget)")
    p.add_argument("--time-budget", type=float, help="seconds: choose --epochs from the speed of epoch 2")
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "mixed_float16", "mixed_bfloat16"])
    p.add_argument("--init-from", help="start from the weights of this .keras model (same architecture)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if (args.epochs is None) == (args.time_budget is None):
        p.error("give exactly one of --epochs and --time-budget")
    for name in ("lr", "time_budget"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            p.error(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    if args.epochs is not None and args.epochs <= args.warmup_epochs:
        p.error(f"--epochs ({args.epochs}) must be larger than --warmup-epochs ({args.warmup_epochs})")
    if not len(args.filters) == len(args.convs) == len(args.dropout):
        p.error("--filters, --convs and --dropout need one value per stage each")
    if not 8 <= args.crop <= 48:
        p.error(f"--crop must be between 8 and 48, got {args.crop}")
    return args


def gpu_available() -> bool:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return jax.devices()[0].platform == "gpu"
    if backend == "torch":
        import torch
        return torch.cuda.is_available()
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU"))


def native_bfloat16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str) -> str:
    if name != "auto":
        return name
    return "mixed_float16" if gpu_available() else "mixed_bfloat16" if native_bfloat16() else "float32"


def load_splits(path: str):
    """Training and PublicTest faces ``(N, 48, 48, 1)`` float32 0..255, with their labels."""
    if path.endswith(".npz"):
        d = np.load(path)
        x, y, usage = d["x"], d["y"].astype("int64"), d["usage"].astype(str)
    else:
        from fer_helpers.data import load_fer2013
        data = load_fer2013(path)
        x, y, usage = data.images, data.labels, data.usage
    x = x.reshape(-1, 48, 48, 1).astype("float32")
    train, val = usage == "Training", usage == "PublicTest"
    if not train.any() or not val.any():
        raise SystemExit(f"{path}: needs Training and PublicTest rows, has {sorted(set(usage.tolist()))}")
    return x[train], y[train], x[val], y[val]


def build_net(args, dtype_policy: str) -> keras.Model:
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy)
    try:
        return build_vgg_cnn(input_shape=(args.crop, args.crop, 1), filters=args.filters,
                             convs_per_block=args.convs, dropout=args.dropout,
                             weight_decay=args.weight_decay / 2, name="fer_vgg")
    finally:
        keras.config.set_dtype_policy(previous)


def shipped_model(net: keras.Model, crop: int) -> keras.Model:
    """``net`` behind a centre crop: it takes whole 48x48 faces (one pass) as well as ``crop``-sized crops (ten-crop).

    A network trained on 40x40 crops and shown whole 48x48 faces sees other statistics in its deep layers than it
    was trained on (its feature maps end at 3x3 instead of 2x2), which can ruin its BatchNormalization statistics.
    """
    faces = keras.Input((None, None, 1), name="face")
    return keras.Model(faces, net(keras.layers.CenterCrop(crop, crop, name="center_crop")(faces)), name="fer_vgg")


def learning_rate(epoch: int, peak: float, warmup: int, epochs: int) -> float:
    if epoch < warmup:
        return peak * (epoch + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / (epochs - warmup)))


def accuracies(net, x, y, crop: int) -> dict:
    """PublicTest accuracy of ``net`` in one pass, with its mirror image, and with ten crops."""
    single = net.predict(x, batch_size=512, verbose=0)
    flip = (single + net.predict(x[:, :, ::-1], batch_size=512, verbose=0)) / 2
    crops = ten_crops(x, crop)
    tencrop = np.mean([net.predict(c, batch_size=512, verbose=0) for c in crops], axis=0)
    return {name: float(np.mean(p.argmax(1) == y)) for name, p in
            (("single", single), ("flip", flip), ("tencrop", tencrop))}


class Checkpoints(keras.callbacks.Callback):
    """After every epoch: the resume point (weights, optimizer state, schedule) and the best model so far."""

    def __init__(self, out: Path, state: dict, net, shipped_net):
        super().__init__()
        self.out, self.state, self.net, self.shipped = out, state, net, shipped_net
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        state, folder = self.state, self.out / "state"
        state["epoch_seconds"].append(round(time.time() - self.started, 1))
        self.started = time.time()
        if state["epochs"] is None and epoch >= 1:  # --time-budget: fix the schedule from epoch 2's speed
            left = state["time_budget"] - sum(state["epoch_seconds"])
            state["epochs"] = int(min(400, max(epoch + 2, state["warmup_epochs"] + 2,
                                                epoch + 1 + left // state["epoch_seconds"][-1])))
            print(f"time budget: {state['epochs']} epochs in all", flush=True)
        accuracy = float(logs["val_accuracy"])
        if accuracy > state["best_accuracy"]:
            state.update(best_accuracy=accuracy, best_epoch=epoch + 1)
            self.shipped.set_weights(self.net.get_weights())
            save_model(self.shipped, self.out / "best_model.keras")
        folder.mkdir(exist_ok=True)
        tag = f"epoch{epoch + 1:03d}"
        with atomic_path(folder / f"{tag}.weights.h5") as tmp:
            self.model.save_weights(tmp)
        with atomic_path(folder / f"{tag}.optimizer.npz") as tmp:
            np.savez(tmp, *[np.asarray(v) for v in self.model.optimizer.variables])
        state["completed"], state["resume_from"] = epoch + 1, tag
        write_json(folder / "state.json", state)  # the resume point moves only once its files are complete
        for old in folder.glob("epoch*"):
            if not old.name.startswith(tag):
                old.unlink(missing_ok=True)
        if state["epochs"] is not None and epoch + 1 >= state["epochs"]:
            self.model.stop_training = True


def main(argv=None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    state_file = out / "state" / "state.json"
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items() if k in SETTINGS}
    if (out / "metrics.json").exists() and not state_file.exists():
        print(f"{out}: finished already (metrics.json); nothing to do")
        return 0
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if state["settings"] != settings:
            changed = sorted(k for k in settings if state["settings"].get(k) != settings[k])
            raise SystemExit(f"{out} holds a run with other settings ({', '.join(changed)}): give the same "
                             "options to resume it, or another --out")
    else:
        state = {"settings": settings, "epochs": args.epochs, "time_budget": args.time_budget,
                 "warmup_epochs": args.warmup_epochs, "completed": 0, "best_accuracy": -1.0, "best_epoch": 0,
                 "epoch_seconds": [], "precision": resolve_precision(args.precision),
                 "backend": keras.backend.backend(), "gpu": gpu_available()}
        write_json(out / "config.json", settings)
    keras.utils.set_random_seed(args.seed + state["completed"])
    x_train, y_train, x_val, y_val = load_splits(args.data)
    print(f"{len(x_train)} training faces, {len(x_val)} PublicTest faces; {state['precision']} on "
          f"{keras.backend.backend()} ({'GPU' if state['gpu'] else 'CPU'})", flush=True)

    net = build_net(args, state["precision"])
    shipped_net = build_net(args, "float32")
    shipped = shipped_model(shipped_net, args.crop)
    if args.init_from and not state["completed"]:
        net.set_weights(keras.saving.load_model(args.init_from, compile=False).get_weights())
    faces = keras.Input((48, 48, 1), name="face")
    model = keras.Model(faces, net(RandomCropErase(args.crop, erase=args.erase, seed=args.seed)(faces)))
    optimizer = keras.optimizers.SGD(args.lr, momentum=args.momentum, nesterov=True)
    if state["precision"] == "mixed_float16":  # float16 gradients underflow without loss scaling
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
                  metrics=["accuracy"])
    if state["completed"]:
        tag = state["resume_from"]
        model.load_weights(out / "state" / f"{tag}.weights.h5")
        model.optimizer.build(model.trainable_variables)
        saved = np.load(out / "state" / f"{tag}.optimizer.npz")
        for variable, i in zip(model.optimizer.variables, range(len(saved.files))):
            variable.assign(saved[f"arr_{i}"])
        shipped.set_weights(keras.saving.load_model(out / "best_model.keras", compile=False).get_weights())
        print(f"resuming after epoch {state['completed']}", flush=True)

    def schedule(epoch, lr=None):
        epochs = state["epochs"] or 10 ** 6  # still choosing (--time-budget): warm-up only
        return learning_rate(epoch, args.lr, args.warmup_epochs, epochs)

    one_hot = lambda y: keras.utils.to_categorical(y, 7)  # noqa: E731
    started = time.time()
    model.fit(x_train, one_hot(y_train), batch_size=args.batch_size, epochs=state["epochs"] or 400,
              initial_epoch=state["completed"], validation_data=(x_val, one_hot(y_val)), verbose=2,
              callbacks=[keras.callbacks.LearningRateScheduler(schedule),
                         keras.callbacks.CSVLogger(str(out / "log.csv"), append=True),
                         Checkpoints(out, state, net, shipped)])
    best = keras.saving.load_model(out / "best_model.keras", compile=False)
    metrics = {"publictest": accuracies(best, x_val, y_val, args.crop), "best_epoch": state["best_epoch"],
               "epochs": state["completed"], "train_seconds": round(sum(state["epoch_seconds"]), 1),
               "this_call_seconds": round(time.time() - started, 1), "precision": state["precision"],
               "backend": state["backend"], "gpu": state["gpu"], "parameters": best.count_params(),
               "settings": settings}
    write_json(out / "metrics.json", metrics)
    for f in (out / "state").glob("*"):
        f.unlink()
    (out / "state").rmdir()
    print(json.dumps(metrics["publictest"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
