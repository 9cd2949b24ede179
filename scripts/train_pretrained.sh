#!/usr/bin/env bash
# Reproduces the pretrained model shipped in fer_helpers/pretrained/ (see docs/MODEL_CARD.md).
#
#   bash scripts/train_pretrained.sh [DATA] [OUT]
#
# Three stages, all with the project's own `python -m fer_helpers train`, all on the Training rows, all selecting
# their checkpoint on PublicTest only (PrivateTest is never read):
#   1. OUT/stage1: from scratch, AdamW with a cosine decay, light augmentation.
#   2. OUT/stage2: a second cosine cycle that starts from stage 1's best checkpoint (--init-from) with a lower peak
#      learning rate, the default (stronger) augmentation and label smoothing 0.1.
#   3. OUT/stage3: a third cycle from stage 2's best checkpoint with the same settings. The shipped model's stage 3
#      augmented with one bicubic warp per face (--warp bicubic, a RandomAffine layer since removed from the package)
#      instead of the chained Keras layers, so as not to blur the training faces (lesson 4, section 6); this script
#      at commit ee7f1ef reproduces that stage exactly.
# The shipped model is OUT/stage3/best_model.keras: `python scripts/make_model_card.py OUT/stage3` ships it.
#
# Resumable: if a run is interrupted, run the same command again. A finished stage is skipped; an unfinished one
# continues from its last finished epoch (BackupAndRestore). EPOCHS1..3 and PRECISION can be overridden from
# the environment; use PRECISION=mixed_float16 on a GPU, mixed_bfloat16 on CPUs with AVX512-BF16, float32 elsewhere.
set -euo pipefail
DATA=${1:-../shared/fer2013/fer2013.csv.gz}
OUT=${2:-runs/pretrained}
PY=${PY:-python}

# stage DIR ARGS...: train into DIR unless it already holds a finished run; resume it if it was interrupted
stage() {
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ] && [ ! -d "$dir/backup" ]; then
    echo "$dir: finished, skipped"
    return
  fi
  local resume=()
  [ -f "$dir/config.json" ] && resume=(--resume)
  "$PY" -m fer_helpers train --data "$DATA" --model default --out "$dir" --batch-size 64 --optimizer adamw \
    --schedule cosine --warmup-epochs 1 --patience 100 --precision "${PRECISION:-mixed_bfloat16}" \
    "${resume[@]}" "$@"
}

stage "$OUT/stage1" --epochs "${EPOCHS1:-70}" --learning-rate 1e-3 --augment light --seed 0
stage "$OUT/stage2" --epochs "${EPOCHS2:-60}" --learning-rate 3e-4 --augment default \
  --label-smoothing 0.1 --seed 1 --init-from "$OUT/stage1/best_model.keras"
stage "$OUT/stage3" --epochs "${EPOCHS3:-40}" --learning-rate 3e-4 --augment default \
  --label-smoothing 0.1 --seed 2 --init-from "$OUT/stage2/best_model.keras"
