"""Point the Colab badges at another GitHub repository (a fork): ``python scripts/set_colab_repo.py OWNER/NAME``.

Rewrites ``GITHUB_REPO`` in fer_helpers/notebook.py, where the badges' address is set, and the "Open in Colab"
badge of every notebook (tests/test_notebooks.py checks that the two agree). Only badge links change; run it from
the repository root or from scripts/.
"""

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE if (HERE / "fer_helpers").is_dir() else HERE.parent
BADGE = re.compile(r"https://colab\.research\.google\.com/github/([^/\s]+/[^/\s]+)/blob/")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", argv[0]):
        print("usage: python scripts/set_colab_repo.py OWNER/NAME   (the GitHub repository the badges open)",
              file=sys.stderr)
        return 2
    repo = argv[0]
    module = ROOT / "fer_helpers" / "notebook.py"
    text, count = re.subn(r'^GITHUB_REPO = "[^"]*"$', f'GITHUB_REPO = "{repo}"', module.read_text(), flags=re.M)
    if count != 1:
        print(f"{module}: no GITHUB_REPO line to rewrite", file=sys.stderr)
        return 1
    module.write_text(text)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        book = nbformat.read(path, as_version=4)
        first = book.cells[0]
        first.source = BADGE.sub(f"https://colab.research.google.com/github/{repo}/blob/", first.source)
        nbformat.write(book, path)
    print(f"badges and fer_helpers.notebook.GITHUB_REPO now point at {repo}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
