#!/usr/bin/env bash
# Reproduces the pretrained model shipped in fer_helpers/pretrained/ from scratch (see docs/MODEL_CARD.md).
#
#   bash scripts/train_pretrained.sh [DATA] [OUT] [more train_pretrained.py options]
#
# One run of scripts/train_pretrained.py on the Training rows, selecting its checkpoint on PublicTest (PrivateTest is
# never read). About 6 minutes on one NVIDIA H200 in mixed_float16; on CPUs, mixed_bfloat16 where they compute it
# natively, float32 elsewhere (--precision auto). Resumable: after an interruption run the same command again and it
# continues after the last finished epoch. Then `python scripts/make_model_card.py OUT --hardware "..."` ships it.
set -euo pipefail
DATA=${1:-../shared/fer2013/fer2013.csv.gz}
OUT=${2:-runs/pretrained}
exec "${PY:-python}" "$(dirname "$0")/train_pretrained.py" --data "$DATA" --out "$OUT" \
  --filters 64,128,256,512 --convs 2,2,2,2 --dropout 0.1,0.1,0.2,0.3 --crop 40 --erase 0.5 \
  --batch-size 128 --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --label-smoothing 0.1 --warmup-epochs 3 \
  --epochs 196 --precision auto --seed 0 "${@:3}"
