"""Set the package version: ``python scripts/bump_version.py X.Y.Z``.

Rewrites ``__version__`` in fer_helpers/__init__.py (the one place it is written; pyproject.toml reads it) and the
Colab install of every notebook's setup cell, which must name the same release (tests/test_colab.py checks them).
"""

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"\d+\.\d+\.\d+", argv[0]):
        print("usage: python scripts/bump_version.py X.Y.Z", file=sys.stderr)
        return 2
    new = argv[0]
    init = ROOT / "fer_helpers" / "__init__.py"
    text = init.read_text()
    old = re.search(r'^__version__ = "([^"]+)"$', text, re.M).group(1)
    init.write_text(text.replace(f'__version__ = "{old}"', f'__version__ = "{new}"'))
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        book = nbformat.read(path, as_version=4)
        cell = next(c for c in book.cells if c.cell_type == "code")
        if f"fer-helpers=={old}" not in cell.source:
            print(f"{path.name}: its setup cell does not install fer-helpers=={old}", file=sys.stderr)
            return 1
        cell.source = (cell.source.replace(f"fer-helpers=={old}", f"fer-helpers=={new}")
                       .replace(f'"{old}"', f'"{new}"').replace(f"fer-helpers {old} ", f"fer-helpers {new} "))
        nbformat.write(book, path)
    print(f"version {old} -> {new} in fer_helpers/__init__.py and the setup cell of every notebook")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
