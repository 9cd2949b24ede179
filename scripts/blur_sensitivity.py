"""PublicTest accuracy of one or more models with the test faces blurred on purpose (Gaussian, several sigmas).

    python scripts/blur_sensitivity.py MODEL [MODEL ...] [--data ../shared/fer2013/fer2013.csv.gz]
        [--sigmas 0 0.5 0.7 1.0] [--tta]

A model trained on faces as sharp as its test faces scores best on the faces as they are (sigma 0). A model that
scores *higher* on blurred faces was trained on blurrier faces than it is tested on: the chained augmentation layers
do that (lesson 4, section 6; ``fer_helpers.evaluation.blur_sensitivity``). Runs in float32 on the PublicTest rows,
the split the series selects models on; PrivateTest is never read. Any FER2013-format file works, e.g. one written
by ``python -m fer_helpers make-sample``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="saved models (.keras, .h5, ...)")
    p.add_argument("--data", default=str(ROOT.parent / "shared/fer2013/fer2013.csv.gz"))
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 0.5, 0.7, 1.0],
                   help="Gaussian standard deviations in pixels (0: the faces as they are)")
    p.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    args = p.parse_args(argv)

    from fer_helpers.data import load_fer2013
    from fer_helpers.evaluation import blur_sensitivity
    from fer_helpers.saving import load_model

    test = load_fer2013(args.data).split("PublicTest")
    print(f"{len(test):,} PublicTest faces of {args.data}, float32{', flip TTA' if args.tta else ''}")
    print(f"{'model':40s}" + "".join(f"  sigma {s:<4g}" for s in args.sigmas))
    for path in args.models:
        scores = blur_sensitivity(load_model(path, compile=False), test.images, test.labels, args.sigmas,
                                  tta=args.tta)
        print(f"{str(path)[-40:]:40s}" + "".join(f"  {scores[float(s)]:9.2%} " for s in args.sigmas))


if __name__ == "__main__":
    main()
