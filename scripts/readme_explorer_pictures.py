"""The README's pictures of the two explorers, from the browser tests' screenshots (``make browser-test`` first).

Writes docs/explorer_augmentation.png (notebook 4, the embedded synthetic faces) and docs/explorer_detection.png
(notebook 7, the public-domain astronaut photo), reduced to a palette so that they stay small in git.

    python scripts/readme_explorer_pictures.py [--shots output/screenshots] [--out docs]
"""

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[1]
PICTURES = {"lab_04_explorer_before.png": ("explorer_augmentation.png", 64),
            "lab_07_explorer_before.png": ("explorer_detection.png", 128)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, default=ROOT / "output" / "screenshots")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    for shot, (name, colours) in PICTURES.items():
        source = args.shots / shot
        if not source.is_file():
            sys.exit(f"{source}: no such screenshot; run `make browser-test` first")
        image = Image.open(source).convert("RGB")
        background = Image.new("RGB", image.size, image.getpixel((image.width - 1, image.height - 1)))
        box = ImageChops.difference(image, background).getbbox()  # trim the empty margin on the right
        if box:
            image = image.crop((0, 0, min(image.width, box[2] + 8), image.height))
        image = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
        target = args.out / name
        tmp = target.with_suffix(".tmp.png")
        image.save(tmp, optimize=True)
        tmp.replace(target)  # complete or absent
        shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
        print(f"{shown}: {image.size[0]}x{image.size[1]}, {target.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
