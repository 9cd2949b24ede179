#!/usr/bin/env bash
# Reproduces the pretrained model shipped in fer_helpers/pretrained/ (see docs/MODEL_CARD.md).
#
#   bash scripts/train_pretrained.sh [DATA] [OUT]
#
# Trains on the Training rows of FER2013 and selects on PublicTest only (PrivateTest is never read).
# Resumable: if the run is interrupted, run the same command again and it continues from the last finished
# epoch (BackupAndRestore). EPOCHS and PRECISION can be overridden from the environment; use
# PRECISION=mixed_float16 on a GPU, mixed_bfloat16 on CPUs with AVX512-BF16, float32 elsewhere.
set -euo pipefail
DATA=${1:-../shared/fer2013/fer2013.csv.gz}
OUT=${2:-runs/pretrained}
PY=${PY:-python}
resume=()
[ -f "$OUT/config.json" ] && resume=(--resume)
exec "$PY" -m fer_helpers train --data "$DATA" --model default --out "$OUT" \
  --epochs "${EPOCHS:-70}" --batch-size 64 --optimizer adamw --learning-rate 1e-3 \
  --schedule cosine --warmup-epochs 1 --augment light --patience 100 \
  --precision "${PRECISION:-mixed_bfloat16}" --seed 0 "${resume[@]}"
