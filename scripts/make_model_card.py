"""Ship a finished training run as the package's pretrained model and write its model card.

    python scripts/make_model_card.py RUN_DIR [--data ../shared/fer2013/fer2013.csv.gz] [--faces-per-second N]
        [--resumed-after E1,E2] [--wall-time-s S]
    python scripts/make_model_card.py --rewrite [--data ...] [--faces-per-second N]

Copies RUN_DIR/best_model.keras, without optimizer state, to fer_helpers/pretrained/fer_vgg.keras, evaluates it on
the PublicTest rows with and without flip TTA, and writes fer_helpers/pretrained/fer_vgg.json (the numbers),
docs/MODEL_CARD.md and docs/model_card_confusion.png (a confusion matrix: numbers only, no faces). A run that was
warm-started (``--init-from``) is described with the runs it started from. PrivateTest is never read.
``--rewrite`` keeps the shipped model and its recorded recipe, measures it again and rewrites the card and the JSON.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Faces per class of FER2013's official PublicTest split (3,589 in all). A copy decoded from the JPEG distribution
#: lacks some of them; the card says which, and estimates the accuracy on the full split.
OFFICIAL_PUBLICTEST = {"Angry": 467, "Disgust": 56, "Fear": 496, "Happy": 895, "Sad": 653, "Surprise": 415,
                       "Neutral": 607}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir", type=Path, nargs="?", help="the training run to ship (not with --rewrite)")
    p.add_argument("--rewrite", action="store_true",
                   help="keep the shipped model: measure it again and rewrite its card and JSON from the recorded "
                        "recipe (fer_vgg.json), e.g. after the card's text changed; needs no run directory")
    p.add_argument("--data", default=str(ROOT.parent / "shared/fer2013/fer2013.csv.gz"))
    p.add_argument("--faces-per-second", type=float, default=None,
                   help="batched inference throughput printed by benchmarks/bench_inference.py for this model")
    p.add_argument("--resumed-after", default="",
                   help="comma-separated epochs after which the (last) run was interrupted and resumed, for the card")
    p.add_argument("--wall-time-s", type=float, default=None,
                   help="the run's total wall time, where sessions that were killed wrote no metrics.json (train "
                        "records the wall time of sessions that finish); e.g. the sum of its printed epoch times")
    args = p.parse_args()
    if (args.run_dir is None) != args.rewrite:
        raise SystemExit("give a run directory to ship, or --rewrite to rewrite the shipped model's card")
    try:
        resumed_after = [int(e) for e in args.resumed_after.split(",") if e.strip()]
    except ValueError:
        raise SystemExit(f"--resumed-after: expected comma-separated epoch numbers, got {args.resumed_after!r}")

    import keras
    import matplotlib

    matplotlib.use("Agg")

    from fer_helpers.models import float32_model
    from fer_helpers.pretrained import INFO_FILE, MODEL_FILE

    if args.rewrite:
        info = json.loads(INFO_FILE.read_text())
        model = keras.models.load_model(MODEL_FILE, compile=False)
        report = _measure(model, args.data, info)
        if args.faces_per_second is not None:
            info["faces_per_second"] = args.faces_per_second
        _write(info, report, INFO_FILE)
        return

    stages = _stages(args.run_dir)
    earlier = _earlier_shipped(stages, MODEL_FILE, INFO_FILE)  # read before the new model replaces the old one
    offset = len(earlier["stages"]) if earlier else 0
    config, log, metrics = stages[-1]["config"], stages[-1]["log"], stages[-1]["metrics"]
    # compile=False drops the optimizer, so the shipped file holds weights only (a third of the size)
    # float32_model: a checkpoint written during mixed-precision training keeps bfloat16 layers; ship float32
    source = args.run_dir / "best_model.keras"
    if not source.is_file():
        raise SystemExit(f"{source} does not exist")
    model = float32_model(keras.models.load_model(source, compile=False))
    MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
    model.save(MODEL_FILE)
    size_mb = MODEL_FILE.stat().st_size / 1e6

    info = {
        "file": MODEL_FILE.name,
        "size_mb": round(size_mb, 2),
        "params": int(model.count_params()),
        "architecture": config["model"],
        "recipe": _recipe(config),
        "command": "bash scripts/train_pretrained.sh ../shared/fer2013/fer2013.csv.gz runs/pretrained",
        "stages": (earlier["stages"] if earlier else []) + [_summary(st) for st in stages],
        "epochs_run": int(sum(len(st["log"]) for st in stages)) + (earlier["epochs_run"] if earlier else 0),
        "train_accuracy_last_epoch": round(float(log["accuracy"].iloc[-1]), 4),
        "in_progress": bool(metrics.get("in_progress", False)),
        "best_epoch": metrics["best_epoch"],
        "wall_time_s": _total_wall_time(args.wall_time_s, stages, earlier),
        "resumed_after_epochs": resumed_after,
        "train_rows": metrics.get("train_rows"),
        "faces_per_second": args.faces_per_second,
    }
    report = _measure(model, args.data, info)
    _write(info, report, INFO_FILE)
    print(f"wrote {MODEL_FILE} ({size_mb:.1f} MB)")


def _measure(model, data_path, info: dict):
    """Evaluate ``model`` on PublicTest (with and without flip TTA) into ``info``; draw the confusion matrix into
    docs/; return the per-class report for the card."""
    from fer_helpers import evaluation as ev
    from fer_helpers.data import load_fer2013

    data = load_fer2013(data_path)
    public = data.split("PublicTest")
    plain = ev.evaluate_model(model, public.images, public.labels)
    tta = ev.evaluate_model(model, public.images, public.labels, tta=True)
    info["train_rows"] = info.get("train_rows") or len(data.split("Training"))
    info["publictest"] = {
        "n": plain.n, "accuracy": round(plain.accuracy, 4), "accuracy_tta": round(tta.accuracy, 4),
        "missing_from_official": _missing_publictest(plain),
        "full_split_estimate": _round(_full_split_estimate(plain)),
        "full_split_estimate_tta": _round(_full_split_estimate(tta)),
    }
    info["per_class"] = plain.to_dict()["per_class"]
    info["confusion"] = plain.confusion.tolist()
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    fig = ev.confusion_matrix_figure(plain, normalize=True, title="PublicTest, row-normalised (no TTA)")
    fig.savefig(docs / "model_card_confusion.png", dpi=110, bbox_inches="tight")
    return ev.per_class_report(plain).round(3)


def _write(info: dict, report, info_file: Path) -> None:
    info_file.write_text(json.dumps(info, indent=2))
    print(json.dumps(info["publictest"]))
    (ROOT / "docs" / "MODEL_CARD.md").write_text(_card(info, report))
    print(f"wrote {info_file}, docs/MODEL_CARD.md")


def _total_wall_time(given: float | None, runs: list[dict], earlier: dict | None) -> float | None:
    """``--wall-time-s`` (this run's sessions) or the runs' recorded totals, plus the earlier shipped model's."""
    if given is None and any(run["metrics"].get("wall_time_s_total") is None for run in runs):
        return None
    total = given if given is not None else sum(run["metrics"]["wall_time_s_total"] for run in runs)
    if earlier is not None:
        if earlier.get("wall_time_s") is None:
            return None
        total += earlier["wall_time_s"]
    return round(total, 1)


def _earlier_shipped(stages: list[dict], model_file: Path, info_file: Path) -> dict | None:
    """The recorded card numbers (``fer_vgg.json``) of the shipped model when the first run started from it
    (``--init-from fer_helpers/pretrained/fer_vgg.keras``): its stages come before the new ones. None otherwise."""
    init = stages[0]["config"].get("init_from")
    if not init or Path(init).resolve() != Path(model_file).resolve():
        return None
    return json.loads(Path(info_file).read_text())


def _stages(run_dir: Path) -> list[dict]:
    """The run and, following ``init_from`` back, the runs it was warm-started from: first stage first. The chain
    ends at a run trained from scratch or at a model file without its run folder (such as the shipped model)."""
    import pandas as pd

    stages = []
    while True:
        config = json.loads((run_dir / "config.json").read_text())
        log = pd.read_csv(run_dir / "training_log.csv")
        metrics_file = run_dir / "metrics.json"
        if metrics_file.exists():
            metrics = json.loads(metrics_file.read_text())
        else:  # a run still in progress: its best checkpoint so far
            metrics = {"best_epoch": int(log["epoch"].iloc[int(log["val_accuracy"].to_numpy().argmax())]) + 1,
                       "wall_time_s_total": None, "in_progress": True}
        stages.insert(0, {"config": config, "log": log, "metrics": metrics, "dir": run_dir})
        if not config.get("init_from") or not (Path(config["init_from"]).parent / "config.json").is_file():
            return stages
        run_dir = Path(config["init_from"]).parent


def _recipe(config: dict) -> dict:
    """A run's settings for the card (no local paths)."""
    return {k: v for k, v in config.items() if k != "init_from"}


def _summary(run: dict) -> dict:
    """The numbers of one stage that the card and ``fer_vgg.json`` record."""
    return {"recipe": _recipe(run["config"]), "warm_start": run["config"].get("init_from") is not None,
            "epochs_run": int(len(run["log"])), "best_epoch": run["metrics"]["best_epoch"],
            "best_val_accuracy": round(float(run["log"]["val_accuracy"].max()), 4),
            "wall_time_s": run["metrics"].get("wall_time_s_total")}


def _filters(recipe: dict) -> list[int]:
    from fer_helpers.models import build_default_cnn

    default = inspect.signature(build_default_cnn).parameters["filters"].default
    return list(recipe.get("model_kwargs", {}).get("filters", default))


#: How each stage's augmentation resampled: the chained Keras layers, or (runs of commit ee7f1ef and before, whose
#: ``TrainConfig.warp`` chose it) one warp per face by the since removed ``RandomAffine`` layer
_WARP_TEXT = {
    "chained": "applied with chained Keras layers (one resampling per transform, blurred faces)",
    "bilinear": "applied with one bilinear warp per face (`--warp bilinear` of commit ee7f1ef)",
    "bicubic": "applied with one bicubic warp per face (`--warp bicubic` of commit ee7f1ef, sharp training faces)",
}


def _stage_text(number: int, stage: dict, last: bool) -> str:
    """One stage of the recipe (``last``: the stage the shipped model comes from)."""
    r = stage["recipe"]
    hours = (stage["wall_time_s"] or 0) / 3600
    start = f"the best checkpoint of stage {number - 1}" if stage["warm_start"] else "a random initialisation"
    if r["schedule"] == "constant":
        rate = f"a constant learning rate of {r['learning_rate']}"
    else:
        warmup = r["warmup_epochs"]
        rate = (f"peak learning rate {r['learning_rate']} and a {r['schedule']} schedule ({warmup} "
                f"warm-up epoch{'s' if warmup != 1 else ''})")
    if number == 1 and last:  # a one-stage recipe: the run itself
        head = f"**The run** (`runs/pretrained`), from {start}: "
    else:
        head = f"{number}. **Stage {number}** (`runs/pretrained/stage{number}`), from {start}: "
    return (f"{head}{r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}, "
            f"batch {r['batch_size']}, {r['optimizer']} with {rate}, label smoothing {r['label_smoothing']}, "
            f"augmentation preset `{r['augment']}` {_WARP_TEXT[r.get('warp', 'chained')]}, {r['precision']} training "
            f"(saved as float32), seed {r['seed']}. "
            f"Best PublicTest epoch {stage['best_epoch']} of {stage['epochs_run']} "
            f"({stage['best_val_accuracy']:.2%} as logged during {r['precision']} training), {hours:.1f} h.")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _missing_publictest(result) -> dict[str, int]:
    """Official PublicTest faces per class that ``result`` (an evaluation on a copy's PublicTest rows) lacks.

    Empty unless the copy is most of the official split with no class larger than there (not a small sample).
    """
    support = {c: m["support"] for c, m in result.to_dict()["per_class"].items()}
    missing = {c: OFFICIAL_PUBLICTEST[c] - support[c] for c in OFFICIAL_PUBLICTEST}
    if result.n < 0.9 * sum(OFFICIAL_PUBLICTEST.values()) or min(missing.values()) < 0:
        return {}
    return {c: k for c, k in missing.items() if k}


def _full_split_estimate(result) -> float | None:
    """Accuracy on the whole official PublicTest if each missing face were recognised as often as those of its class
    that are present (their recall): an estimate, not a measurement. None when nothing is missing."""
    missing = _missing_publictest(result)
    if not missing:
        return None
    per_class = result.to_dict()["per_class"]
    correct = result.accuracy * result.n + sum(per_class[c]["recall"] * k for c, k in missing.items())
    return correct / sum(OFFICIAL_PUBLICTEST.values())


def _card(info, report) -> str:
    r = info["recipe"]
    hours = (info["wall_time_s"] or 0) / 3600
    cols = list(report.columns)
    table = "\n".join(["| class | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"] + [
        f"| {name} | " + " | ".join(f"{row[c]:.3f}" if c != "support" else f"{int(row[c])}" for c in cols) + " |"
        for name, row in report.iterrows()])
    pt = info["publictest"]
    acc = pt["accuracy"]
    if acc >= 0.70:
        status = "Meets the project's target of at least 70% PublicTest accuracy from one model."
    elif pt["accuracy_tta"] >= 0.70:
        status = (f"Meets the project's target of at least 70% PublicTest accuracy from one model only with flip "
                  f"test-time augmentation ({pt['accuracy_tta']:.1%}; the target allows it); a single pass scores "
                  f"{acc:.1%}. It was trained for {info['epochs_run']} epochs in all ({hours:.1f} h) on a 2-core CPU "
                  "(no GPU was available).")
    else:
        status = (f"**Below target.** {acc:.1%} on PublicTest is below the project's 70% target"
                  + (" and below the 64.5% of the widely used mini-Xception" if acc < 0.645 else
                     ", though above the 64.5% of the widely used mini-Xception")
                  + f". It was trained for {info['epochs_run']} epochs in all ({hours:.1f} h) on a 2-core CPU (no GPU "
                  "was available)" + (", in stages that each fitted one working session" if len(info["stages"]) > 1
                                      else ", resumed across working sessions" if info.get("resumed_after_epochs")
                                      else "") + "; the last epoch reached "
                  f"{info['train_accuracy_last_epoch']:.1%} training accuracy under augmentation. The published "
                  "72-73% VGG-style results train for hundreds of epochs on a GPU. Next: the crop recipe on a GPU "
                  "(`scripts/train_pretrained.py`; its first runs are under \"Tried, not adopted\"), then "
                  "`python scripts/make_model_card.py OUT` to ship the result and rewrite this card.")
    missing = pt.get("missing_from_official") or {}
    official = sum(OFFICIAL_PUBLICTEST.values())
    copy_note = ""
    if missing:
        lacking = " and ".join(f"{k} {c}" for c, k in missing.items())
        copy_note = textwrap.fill(
            f"This copy holds {pt['n']:,} of the official {official:,} PublicTest faces: {lacking} faces are missing "
            "from the JPEG distribution it was decoded from. The figures below are measured on the faces that are "
            "there, so they are not exactly comparable with PublicTest figures published elsewhere.", 117) + "\n"
    estimate = ""
    if pt.get("full_split_estimate") is not None:
        estimate = "\n" + textwrap.fill(
            f"On all {official:,} official PublicTest faces, if the missing faces were recognised as often as those "
            f"of their class that are here, the accuracy would be about {pt['full_split_estimate']:.1%} in a "
            f"single pass and {pt['full_split_estimate_tta']:.1%} with TTA: an estimate, not a measurement.",
            117) + "\n"
    n_stages = len(info["stages"])
    stages = "\n".join(_stage_text(i, st, i == n_stages) for i, st in enumerate(info["stages"], 1))
    resumed = info.get("resumed_after_epochs") or []
    interrupted = (f"The shipped run was interrupted (a working session ended) after epoch"
                   f"{'s' if len(resumed) > 1 else ''} {', '.join(map(str, resumed))} and resumed.\n"
                   if resumed else "")
    if n_stages == 1:
        runs = ("`scripts/train_pretrained.sh` runs the project's own `python -m fer_helpers train` once, with model "
                f"`{r['model']}` on the Training rows, selecting the checkpoint on PublicTest:")
        resumable = ("The run is resumable (BackupAndRestore): rerun the same command after an interruption and it "
                     "continues from its last finished epoch, with a fresh random stream "
                     "(`fer_helpers.training.stream_seed`), so a run that was interrupted does not draw the same "
                     "batches as one that was not.")
    else:
        runs = ("`scripts/train_pretrained.sh` runs the project's own `python -m fer_helpers train` once per stage, "
                f"always with model `{r['model']}` on the Training rows, selecting each stage's checkpoint on "
                "PublicTest:")
        resumable = ("Each stage is resumable (BackupAndRestore): rerun the same command after an interruption and "
                     "it skips finished stages and continues the unfinished one from its last finished epoch.")
    runs, resumable = textwrap.fill(runs, 117), textwrap.fill(resumable, 117)
    warps = [st["recipe"].get("warp", "chained") for st in info["stages"]]
    why_warp = ("\nThe earlier stages augmented with chained Keras layers, which resample each face once per transform "
                "and blur it (lesson 4, section 6); the last stage retrains on sharp faces with one bicubic warp "
                "(`RandomAffine`, removed from the package since; `git checkout ee7f1ef` has it). "
                "`python scripts/blur_sensitivity.py MODEL` shows the "
                "difference: a model trained on the blurred faces scores higher when the PublicTest faces are "
                "blurred on purpose, the shipped one lower.\n" if "chained" in warps and warps[-1] != "chained"
                else "")
    filters = _filters(r)
    head = r["model_kwargs"].get("head_units", 256)
    fps = info.get("faces_per_second")
    speed = ((f"**{fps:,.0f} faces per second** in float32, in batches of 256 on 2 CPU cores (idle machine)"
              + (f", measured at commit {info['faces_per_second_commit']}" if info.get("faces_per_second_commit")
                 else "") + ". " if fps else "Not measured for this model. ")
             + "Measured by `python benchmarks/bench_inference.py`, which calls `fer_helpers.inference.predict_proba`."
               " Flip TTA halves the throughput. Lesson 8's TensorFlow Lite export is where faster inference is "
               "taught.")
    return f"""# Model card: `fer_vgg` (the pretrained model shipped in `fer_helpers/pretrained/`)

## Status
{status}

## What it is
A VGG-style convolutional network (`fer_helpers.models.build_default_cnn`: four stages of 3x3 convolutions with
BatchNormalization and ReLU, {filters[0]} to {filters[-1]} filters, global average pooling, a {head}-unit dense head),
{info['params']:,} parameters, {info['size_mb']} MB as a `.keras` file. Input: raw 48x48 grayscale faces, pixel values
0..255, shape `(N, 48, 48, 1)` (the model rescales internally). Output: probabilities of the seven FER2013 classes in
label order 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral. Load it with `fer_helpers.load_pretrained()`.

## Data and splits
FER2013 in the Kaggle CSV layout. Trained on the `Training` rows ({info['train_rows']:,} faces). Every choice
(checkpoint, epochs, hyper-parameters) was made on `PublicTest` ({info['publictest']['n']:,} faces). `PrivateTest` was
never read: it is held out for an independent evaluation. The development copy's pixels come from the widely used
JPEG distribution of FER2013, so they differ slightly from the original CSV.
{copy_note}
## Recipe (reproduce it)
```bash
{info['command']}
```
{runs}

{stages}
{why_warp}
{resumable}
{interrupted}
{info['epochs_run']} epochs in all (best PublicTest epoch{'' if n_stages == 1 else ' of the last stage'}: \
{info['best_epoch']}) in {hours:.1f} hours of wall
time on a shared 2-core CPU (AMD EPYC, no GPU).

## Results on PublicTest
| | accuracy |
|---|---|
| single pass | **{pt['accuracy']:.2%}** |
| with flip test-time augmentation | **{pt['accuracy_tta']:.2%}** |

`python -m fer_helpers evaluate --model fer_helpers/pretrained/fer_vgg.keras --data fer2013.csv.gz --split PublicTest
--tta --json` measures them again.
{estimate}
PublicTest is the validation split: every choice above (checkpoints, epochs, recipes) was made on it, so these
figures are somewhat optimistic estimates of the accuracy on new faces. An unbiased figure needs PrivateTest, which
was held out from this work for an independent evaluation.

For reference: the widely used mini-Xception (`fer` package, ~58k parameters) scores about 64.5% on these rows;
published single VGG-style networks reach 72-73% on FER2013's test split (PrivateTest) with long GPU schedules;
human agreement with the labels is about 65%.

Per class (single pass):

{table}

![PublicTest confusion matrix, row-normalised](model_card_confusion.png)

{TRIED}
## Inference speed
{speed}

## Limits
* **Domain gap.** FER2013 faces are small, gray, tightly cropped web images, mostly posed or exaggerated
  expressions. Webcam faces differ in lighting, pose, resolution and how strongly people express; expect lower
  accuracy, and crop faces the way the recogniser does (Haar cascade boxes) before classifying.
* **Label noise.** Many FER2013 labels are debatable (humans agree with them about 65% of the time); the confusions
  between Fear, Sad and Neutral, and Angry and Disgust, reflect the data as much as the model.
* **Disgust** has 1.5% of the training faces (436); its scores are the least reliable.
* **Bias.** FER2013's faces were collected by web searches and are not balanced by age, gender, skin tone or
  culture, and the data set carries no demographic labels to measure it. Do not use this model for decisions about
  people; an expression is not a feeling.
"""


#: Experiments measured against the stage-3 model (PublicTest, sessions 6 to 10); kept when the card is rewritten
TRIED = """## Tried, not adopted
The shipped stage-3 model scores 68.09% / 69.20% on PublicTest (float32, single pass / flip TTA). Every figure
below is measured on the same 3,435 faces, so the uncertainty of a difference from the stage-3 model is the paired
standard error, 0.25 to 0.3 points (one accuracy on its own has 0.8). The largest gains, about half a point, came
from model soups (below); nothing reached the 70% target, so nothing replaced the stage-3 model. Weight averaging,
model soups, Net2WiderNet widening and distillation have since been removed from the package; these experiments
run with the package at commit ee7f1ef (`git checkout ee7f1ef`), as does the bfloat16 inference measured there.

From scratch, on sharp faces throughout: one run of 120 epochs instead of three stages and 170, AdamW with a
cosine decay from 1e-3 (2 warm-up epochs), the `default` preset with the bicubic warp, label smoothing 0.1, seed
10, the last 10 epochs averaged (`--average-epochs 10`), mixed_bfloat16; 3.4 hours of epochs (83-207 s each on
the shared 2 cores), interrupted once after epoch 44. Its best checkpoint (epoch 112) scores 68.09% / 68.70%:
the same single-pass accuracy, half a point lower with TTA, and its 10-epoch weight average 67.69%. A simpler
recipe reaching the same accuracy in 50 fewer epochs, but not a better model; it suggests that the blurred first
stages cost little, and that this network, at 77% training accuracy under augmentation, is short of capacity or
epochs rather than of sharp faces.

Each of the following started from the stage-3 model:

* A fourth 40-epoch cosine cycle with the stage-3 settings (seed 3): 68.21% / 69.32%. Its epochs 25 to 32 replayed
  the batches of its first epochs, a resume bug fixed since (`fer_helpers.training.stream_seed`).
* Stochastic weight averaging: 24 epochs at a constant learning rate of 1.5e-4, then the mean of the last 20
  epochs' weights (`train --schedule constant --average-epochs 20`): 68.27% / 69.26%; its best single epoch
  68.56% / 69.02%.
* Model soups (`python -m fer_helpers average`: the mean of the weights of runs fine-tuned from one start). The
  stage-3 model with the fourth cycle's best checkpoint: 68.15% / 69.72%; with the BatchNormalization statistics
  recomputed on the training faces afterwards, 68.38% / 69.37%. 29 uniform soups of two to four of the stage-3
  model and the runs in this list that started from it (the fourth cycle, the weight-averaging run and the
  distilled run below, each by its best checkpoint or its weight average) scored 68.15% to 68.91% in a single pass
  and 68.94% to 69.75% with TTA: on average 69.37% for two models, 69.49% for three and 69.62% for four, a gain of
  a few tenths of a point that grows slowly with the number of runs.
* A fifth 30-epoch cosine cycle (seed 5, the last 10 epochs averaged) from the soup of the stage-3 model, the
  fourth cycle and the weight-averaging run's best checkpoint (68.56% / 69.69%): 68.68% / 69.20%, its weight
  average 68.44% / 69.08%. The soup of its best checkpoint with those three runs, chosen as the candidate before
  it was measured: 68.53% / 69.52%. The soup of the best checkpoints of all five runs from stage 3 on (stage 3,
  the fourth and fifth cycles, the weight-averaging and the distilled runs): 68.65% / 69.58%. Soups beat the
  stage-3 model by about half a point, one and a half to two paired standard errors (0.25 to 0.3 points), so
  probably a real gain; but they stay 0.3 to 0.5 points short of the target with TTA, and the five-run soup would
  add five runs to the recipe (the distilled run's from-scratch teacher among them). The stage-3 model stays.
* Capacity (session 10): the stage-3 model widened to 32-64-160-320 filters by Net2WiderNet (`--filters` with
  `--init-from`, 1.85M parameters), then a 50-epoch cosine cycle with the stage-3 settings (seed 6, the last 10
  epochs averaged), about 2 hours. Its best checkpoint (epoch 12) scores 68.62% / 69.81% (+0.5 / +0.6 points, about
  1.2 / 1.6 paired standard errors), its weight average 68.44% / 69.20%. Named before measuring: ship it only at 70%
  or more with TTA. It falls short, and it runs 863 faces per second in float32 (1,686 in bfloat16), below the
  1,000 target on CPUs without bfloat16. The stage-3 model stays.
* Averaging the predictions of the stage-3 model with earlier models trained on blurred faces (an ensemble, which
  the target does not allow anyway) lowered accuracy: 68.41% with flip TTA together with stage 2.
* Knowledge distillation (`train --teacher`): 30 epochs, AdamW with a cosine decay from 3e-4, no label smoothing,
  seed 3, each training target 30% the label and 70% the mean probabilities of two teachers on the same augmented
  face, each teacher averaged over the face and its mirror image (`--distill-weight 0.7 --teacher-tta`). The
  teachers were the from-scratch run above and the weight-averaging run's best single checkpoint. 68.44% / 69.00%
  (its 10-epoch weight average 68.30% / 69.00%), at 2.5 minutes per epoch instead of 1.5, since the teachers run
  alongside. The teachers are too much like the student to teach it much: the three models together, as an
  ensemble with flip TTA, score 69.81%, only 0.6 points above the stage-3 model, because they get the same faces
  wrong. Distillation needs a stronger and different teacher, such as a wider network trained on a GPU.
* The crop recipe on a GPU (session 11: one NVIDIA H200 for 13 minutes in all, Keras 3.15 on JAX 0.11,
  `scripts/train_pretrained.py`). First, the pre-check: the stage-3 model fine-tuned for 30 epochs on random 40x40
  crops with mirroring and random erasing, SGD with Nesterov momentum (peak learning rate 0.01, cosine decay, no
  weight decay), mixed_float16: 68.41% single pass, 69.11% flip, 68.15% ten-crop (the stage-3 model: 68.09% /
  69.20%). Crops and ten-crop are worth nothing for this network. Then four runs from scratch of a 64-128-256-512
  network (two convolutions per stage, 4.8M parameters) and a 48-96-192-384 one, on the same crops, in mixed_float16
  and float32, with and without weight decay and random erasing, 150 to 360 epochs each (about 1 s an epoch): each
  peaked at 54-60% on whole 48x48 PublicTest faces after 12 to 31 epochs, then fell to predicting one class (17.7%)
  while its training accuracy rose to 84-93%. The best checkpoints score 2.6 points higher on centre 40x40 crops
  than on whole faces (62.1% against 59.5%): a network trained on 40-pixel crops ends on 2x2 feature maps and meets
  3x3 maps on whole faces, so its deep layers see other statistics than the ones it was trained on. The script now
  validates and predicts on centre crops (the model it ships centre-crops whole faces itself); the next GPU session
  reruns it: `python scripts/train_pretrained.py --data fer2013.csv.gz --out runs/crops --epochs 200`.
"""


if __name__ == "__main__":
    main()
