"""Print a pip constraints file that pins every dependency of pyproject.toml to its lower bound (``name==X``).

CI installs the wheel with it (``pip install -c``) to run the tests and notebooks on the oldest versions the pins
allow. Each lower bound must therefore be a release that exists on PyPI, written in full (e.g. ``4.10.0.84``).
"""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def minimum_pins(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    pins = []
    for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
        if ";" in req:  # a marker (tomli on Python 3.10): not part of the tested stack
            continue
        match = re.match(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", req)
        if match is None:
            raise ValueError(f"pyproject.toml: {req!r} has no lower bound (name>=X.Y.Z)")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


if __name__ == "__main__":
    print("\n".join(minimum_pins()))
