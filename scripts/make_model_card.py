"""Ship a finished run of scripts/train_pretrained.py as the package's pretrained model, and write its model card.

    python scripts/make_model_card.py RUN_DIR --hardware "one NVIDIA H200 GPU, Keras 3.15 on JAX 0.11"
        [--data ../shared/fer2013/fer2013.csv.gz] [--frames-per-second N]
    python scripts/make_model_card.py --rewrite [--data ...] [--frames-per-second N]

Copies RUN_DIR/best_model.keras to fer_helpers/pretrained/fer_vgg.keras, measures it on the PublicTest rows (single
pass, flip, ten-crop) and writes fer_helpers/pretrained/fer_vgg.json, docs/MODEL_CARD.md and
docs/model_card_confusion.png (numbers only, no faces). ``--rewrite`` measures the shipped model again and rewrites
the card from its recorded JSON. PrivateTest is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import pandas as pd  # noqa: E402

from fer_helpers import evaluation as ev  # noqa: E402
from fer_helpers import pretrained  # noqa: E402
from fer_helpers.atomic import write_json  # noqa: E402
from fer_helpers.data import load_fer2013  # noqa: E402

COMMAND = "bash scripts/train_pretrained.sh ../shared/fer2013/fer2013.csv.gz runs/pretrained"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run_dir", type=Path, nargs="?", help="a finished scripts/train_pretrained.py run (not with --rewrite)")
    p.add_argument("--rewrite", action="store_true", help="keep the shipped model; measure it and rewrite its card")
    p.add_argument("--hardware", help="what the run trained on, for the card (needed with RUN_DIR)")
    p.add_argument("--data", default=str(ROOT.parent / "shared/fer2013/fer2013.csv.gz"))
    p.add_argument("--frames-per-second", type=float, help="benchmarks/bench_realtime.py's figure for this model")
    args = p.parse_args(argv)
    if (args.run_dir is None) != args.rewrite or (args.run_dir and not args.hardware):
        p.error("give RUN_DIR and --hardware to ship a run, or --rewrite to rewrite the shipped model's card")
    info = json.loads(pretrained.INFO_FILE.read_text()) if args.rewrite else ship(args.run_dir, args.hardware)
    if args.frames_per_second is not None:
        info["frames_per_second"] = args.frames_per_second
    model = keras.models.load_model(pretrained.MODEL_FILE, compile=False)
    result = measure(model, args.data, info)
    write_json(pretrained.INFO_FILE, info)
    (ROOT / "docs").mkdir(exist_ok=True)
    ev.confusion_matrix_figure(result, normalize=True, title="PublicTest, row-normalised (single pass)").savefig(
        ROOT / "docs" / "model_card_confusion.png", dpi=110, bbox_inches="tight")
    (ROOT / "docs" / "MODEL_CARD.md").write_text(card(info, ev.per_class_report(result).round(3)))
    print(json.dumps(info["publictest"]))


def ship(run_dir: Path, hardware: str) -> dict:
    """Copy the run's best model into the package; return what the run folder records about it."""
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file():
        raise SystemExit(f"{metrics_file} does not exist: {run_dir} is not a finished train_pretrained.py run")
    metrics = json.loads(metrics_file.read_text())
    log = pd.read_csv(run_dir / "log.csv")
    shutil.copyfile(run_dir / "best_model.keras", pretrained.MODEL_FILE)
    return {"file": pretrained.MODEL_FILE.name, "size_mb": round(pretrained.MODEL_FILE.stat().st_size / 1e6, 2),
            "params": metrics["parameters"], "recipe": metrics["settings"], "command": COMMAND,
            "epochs_run": metrics["epochs"], "best_epoch": metrics["best_epoch"],
            "train_seconds": metrics["train_seconds"], "hardware": hardware, "backend": metrics["backend"],
            "precision": metrics["precision"], "train_accuracy_last_epoch": round(float(log["accuracy"].iloc[-1]), 4)}


def measure(model, data_path, info: dict):
    """PublicTest accuracy single pass, flip and ten-crop into ``info``; return the single-pass evaluation."""
    data = load_fer2013(data_path)
    public = data.split("PublicTest")
    single, flip, tencrop = (ev.evaluate_model(model, public.images, public.labels, tta=t)
                             for t in (False, True, "tencrop"))
    info["train_rows"] = len(data.split("Training"))
    info["publictest"] = {"n": single.n, "accuracy": round(single.accuracy, 4), "accuracy_tta": round(flip.accuracy, 4),
                          "accuracy_tencrop": round(tencrop.accuracy, 4)}
    info["per_class"] = single.to_dict()["per_class"]
    info["confusion"] = single.confusion.tolist()
    return single


def card(info: dict, report) -> str:
    """The model card's Markdown."""
    r, pt = info["recipe"], info["publictest"]
    cols = list(report.columns)
    table = "\n".join(["| class | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"] + [
        f"| {name} | " + " | ".join(f"{int(row[c])}" if c == "support" else f"{row[c]:.3f}" for c in cols) + " |"
        for name, row in report.iterrows()])
    best = max(pt["accuracy"], pt["accuracy_tta"], pt["accuracy_tencrop"])
    status = ("Meets the project's target of at least 70% PublicTest accuracy from one network, in a single pass."
              if pt["accuracy"] >= 0.70 else
              f"Meets the 70% target only with test-time augmentation ({best:.2%})." if best >= 0.70 else
              f"**Below target**: {best:.2%} at best, against the project's 70% on PublicTest.")
    fps = info.get("frames_per_second")
    speed = (f"The real-time recogniser runs at **{fps:.0f} frames per second** on a 640x480 frame with one face on 2 "
             "CPU cores (`python benchmarks/bench_realtime.py`)." if fps else "Not measured for this model.")
    filters = "-".join(map(str, r["filters"]))
    return f"""# Model card: `fer_vgg` (the pretrained model shipped in `fer_helpers/pretrained/`)

## Status
{status}

## What it is
A VGG-style network (`fer_helpers.models.build_vgg_cnn`): four stages of {'/'.join(map(str, r['convs']))} 3x3
convolutions with BatchNormalization and ReLU, {filters} filters, global average pooling, a 256-unit dense head;
{info['params']:,} parameters, {info['size_mb']} MB as a `.keras` file, float32. It takes raw gray faces, pixel values
0..255, shape `(N, 48, 48, 1)`: its first layer takes the centre {r['crop']}x{r['crop']} crop, the size it was trained
on, and it also takes {r['crop']}x{r['crop']} crops directly (ten-crop test-time augmentation). Output: probabilities of
the seven classes in label order 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral. Load it with
`fer_helpers.pretrained.load_pretrained()`.

## Data and splits
FER2013 in the Kaggle CSV layout. Trained on the `Training` rows ({info['train_rows']:,} faces); the checkpoint was
chosen on `PublicTest` ({pt['n']:,} faces of the official 3,589: the development copy was decoded from the JPEG
distribution, which lacks some). `PrivateTest` was never read: it is held out for an independent evaluation.

## Recipe (reproduce it)
```bash
{info['command']}
```
`scripts/train_pretrained.sh` runs `scripts/train_pretrained.py` from a random initialisation: random
{r['crop']}x{r['crop']} crops of the 48x48 faces, mirrored half the time, random erasing with probability
{r['erase']} (`fer_helpers.crops.RandomCropErase`); SGD with Nesterov momentum {r['momentum']}, a peak learning rate of
{r['lr']} after {r['warmup_epochs']} warm-up epochs and a cosine decay, L2 weight decay {r['weight_decay']}, label
smoothing {r['label_smoothing']}, batches of {r['batch_size']}, dropout {', '.join(map(str, r['dropout']))} after the
stages, seed {r['seed']}; each epoch validated on the PublicTest centre crops and the best one kept. It is resumable:
run the same command again after an interruption and it continues after the last finished epoch.

{info['epochs_run']} epochs (best: epoch {info['best_epoch']}; training accuracy of the last epoch, on augmented crops,
{info['train_accuracy_last_epoch']:.1%}) in {info['train_seconds'] / 60:.1f} minutes on {info['hardware']}, in
{info['precision']} (Keras on {info['backend']}). On 2 CPU cores the same schedule would take roughly 15 hours.

## Results on PublicTest
| | accuracy |
|---|---|
| single pass | **{pt['accuracy']:.2%}** |
| flip (face and mirror image) | **{pt['accuracy_tta']:.2%}** |
| ten-crop (four corners and centre, each mirrored) | **{pt['accuracy_tencrop']:.2%}** |

`python -m fer_helpers evaluate --model fer_helpers/pretrained/fer_vgg.keras --data fer2013.csv.gz --split PublicTest
--json` (add `--tta` or `--tta tencrop`) measures them again. PublicTest chose the checkpoint, so these figures are
somewhat optimistic; PrivateTest gives the unbiased one. For reference: the `fer` package's mini-Xception scores about
65% on FER2013's test split, published single VGG-style networks 72-73%, and humans agree with the labels about 65% of
the time.

Per class (single pass):

{table}

![PublicTest confusion matrix, row-normalised](model_card_confusion.png)

## Inference speed
{speed}

## Tried, not adopted
{TRIED}

## Limits
* **Domain gap.** FER2013 faces are small, gray, tightly cropped web images, mostly posed or exaggerated
  expressions. Webcam faces differ in lighting, pose, resolution and how strongly people express; expect lower
  accuracy, and crop faces the way the recogniser does (Haar cascade boxes) before classifying.
* **Label noise.** Many FER2013 labels are debatable; the confusions between Fear, Sad and Neutral, and Angry and
  Disgust, reflect the data as much as the model.
* **Disgust** has 1.5% of the training faces (436); its scores are the least reliable.
* **Bias.** FER2013's faces were collected by web searches and are not balanced by age, gender, skin tone or
  culture, and the data set carries no demographic labels to measure it. Do not use this model for decisions about
  people; an expression is not a feeling.
"""


TRIED = """\
* **The previous model** (shipped up to commit f09ff30): a 1.2M-parameter network of the same family trained on whole
  faces in three stages on a 2-core CPU, 68.09% / 69.20% (single / flip); its card, with the CPU experiments that
  did not beat it (weight averaging, model soups, Net2WiderNet widening, distillation, a from-scratch AdamW run),
  is `git show f09ff30:docs/MODEL_CARD.md`, and they run with the package at commit ee7f1ef.
* **Pre-check** (one NVIDIA H200): that model fine-tuned 30 epochs on random 40x40 crops with erasing, SGD with
  Nesterov momentum: 68.41% single, 69.11% flip, 68.15% ten-crop. Crops and ten-crop do nothing for a network that
  small; the gain came with the 4.8M-parameter network trained on crops from scratch.
* **Validating on whole faces** (four from-scratch runs on crops): each peaked at 54-60% on whole 48x48 faces, then
  fell to one class (17.7%) while its accuracy on centre crops kept rising. A network trained on 40-pixel crops ends
  on 2x2 feature maps and meets 3x3 maps on whole faces; its deep BatchNormalization statistics no longer fit. Hence
  the centre crop in front of the shipped network.
* **Other runs of the shipped recipe** (same GPU, PublicTest single / flip / ten-crop): a 48-96-192-384 network
  69.49% / 70.01% / 69.87%; the same recipe with seed 5 and 220 epochs 69.90% / 69.92% / 70.19%; 44-pixel crops
  69.72% / 69.75% / 70.07%; no crops (mirror and erasing only) 67.77% / 69.23% / 69.23%."""


if __name__ == "__main__":
    main()
