#!/usr/bin/env bash
# The package as a learner gets it: the wheel alone, no checkout, on the oldest versions the pins allow.
#   1. builds the wheel (and, with --sdist, the sdist) into $WORK/dist;
#   2. checks that pip, beside Colab's preinstalled stack held fixed (.ci/colab_stack.txt), resolves the wheel
#      without changing TensorFlow, Keras, protobuf or ipywidgets (pip install --dry-run --report, for Python 3.12);
#   3. installs the wheel into a clean venv with every dependency at its lower bound (.ci/min_constraints.py), from an
#      empty folder, and runs the nine notebooks shipped in the wheel from an empty folder: once plainly
#      (python -m fer_helpers demo), once with the stand-in google.colab of .ci/colab_stub (Drive mounted, upload
#      cancelled, camera denied, UPLOAD_PHOTO and USE_WEBCAM ticked);
#   4. runs the package tests in that venv (the minimum versions), without the notebooks, which step 3 ran there,
#      and without the tests marked slow (training runs; notebook 5 trained on this stack in step 3).
# Usage: .ci/wheel_check.sh [--sdist] [--no-tests]; WORK=folder (default: a new temp folder), PYTHON=python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="${WORK:-$(mktemp -d)}"
SDIST=0 TESTS=1
for arg in "$@"; do
  case "$arg" in --sdist) SDIST=1 ;; --no-tests) TESTS=0 ;; *) echo "unknown option $arg" >&2; exit 2 ;; esac
done
export TF_CPP_MIN_LOG_LEVEL=3 FER_FAST=1 MPLBACKEND=Agg PIP_DISABLE_PIP_VERSION_CHECK=1
step() { echo "== $(date +%T) $*"; }
t0=$(date +%s)

step "building the wheel"
rm -rf "$WORK/dist" && mkdir -p "$WORK/dist"
if [ "$SDIST" = 1 ]; then
  "$PYTHON" -m pip install --quiet build
  "$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >/dev/null
else
  "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
fi
WHEEL="$(ls "$WORK"/dist/fer_helpers-*.whl)"
VERSION="$("$PYTHON" -c 'import sys, zipfile; n = [f for f in zipfile.ZipFile(sys.argv[1]).namelist() if f.endswith(".dist-info/METADATA")][0]; print(n.split("-")[1].split(".dist")[0])' "$WHEEL")"
echo "$WHEEL (version $VERSION)"
"$PYTHON" - "$WHEEL" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
series = sorted(n for n in names if n.startswith("fer_helpers/series/") and n.endswith(".ipynb"))
assert len(series) == 9, f"the wheel should ship the nine notebooks, has {series}"
assert "fer_helpers/pretrained/fer_vgg.keras" in names, "the wheel lacks the pretrained model"
EOF

VENV="$WORK/venv"  # a clean venv, with a current pip (it reads the packages' metadata without downloading them)
rm -rf "$VENV" && "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip

step "Colab's stack held fixed: pip install --dry-run of the wheel (Python 3.12, manylinux)"
platforms=()  # Colab runs Ubuntu 22.04 (glibc 2.35); pip matches the tags exactly, so list the older ones too
for tag in manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 \
           manylinux2014 manylinux_2_12 manylinux2010 manylinux_2_5 manylinux1 linux; do
  platforms+=(--platform "${tag}_x86_64")
done
for try in 1 2; do  # a second try only for a download cut short
  "$VENV/bin/python" -m pip install --dry-run --ignore-installed --quiet --report "$WORK/colab_report.json" \
    --target "$WORK/colab_target" --python-version 3.12 --implementation cp --abi cp312 \
    "${platforms[@]}" --only-binary=:all: --constraint "$ROOT/.ci/colab_stack.txt" "$WHEEL" && break
  [ "$try" = 2 ] && exit 1
done
"$PYTHON" - "$WORK/colab_report.json" "$ROOT/.ci/colab_stack.txt" <<'EOF'
import json, re, sys
chosen = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.load(open(sys.argv[1]))["install"]}
colab = dict(re.match(r"([\w.-]+)==(\S+)", line).groups() for line in open(sys.argv[2])
             if line.strip() and not line.startswith("#"))
changed = {name: (want, chosen[name]) for name, want in colab.items() if name in chosen and chosen[name] != want}
assert not changed, f"installing fer-helpers on Colab would change {changed}"
for name in ("tensorflow", "keras", "protobuf"):
    assert chosen.get(name) == colab[name], f"{name}: Colab has {colab[name]}, pip chose {chosen.get(name)}"
print("resolves beside Colab's stack, unchanged:", ", ".join(f"{n} {v}" for n, v in colab.items()))
EOF

step "a clean venv with the wheel alone, every dependency at its lower bound"
"$PYTHON" "$ROOT/.ci/min_constraints.py" > "$WORK/minimum.txt"
mkdir -p "$WORK/empty"
(cd "$WORK/empty" && "$VENV/bin/python" -m pip install --quiet --constraint "$WORK/minimum.txt" "$WHEEL" \
   pytest nbval nbclient nbformat ipykernel matplotlib-inline pyyaml)
(cd "$WORK/empty" && "$VENV/bin/python" -c '
import sys
from importlib.metadata import version
import fer_helpers
assert "site-packages" in fer_helpers.__file__, fer_helpers.__file__  # the wheel, not a checkout
print(" | ".join(f"{n} {version(n)}" for n in ("fer-helpers", "tensorflow", "keras", "numpy", "ipywidgets")))')

step "the nine notebooks from an empty folder, plainly (python -m fer_helpers demo)"
rm -rf "$WORK/plain" && mkdir -p "$WORK/plain"
(cd "$WORK/plain" && env -u PYTHONPATH FER_HELPERS_CACHE="$WORK/plain/.cache" KAGGLEHUB_CACHE="$WORK/plain/.kaggle" \
   "$VENV/bin/python" -m fer_helpers demo)

step "the nine notebooks from an empty folder, with a stand-in google.colab"
rm -rf "$WORK/colab" && mkdir -p "$WORK/colab/run" "$WORK/colab/ipython/profile_default/startup"
echo "import google.colab  # Colab imports it when the kernel starts" \
  > "$WORK/colab/ipython/profile_default/startup/00-colab.py"
(cd "$WORK/colab/run" && env PYTHONPATH="$ROOT/.ci/colab_stub" IPYTHONDIR="$WORK/colab/ipython" \
   FER_COLAB_CONTENT="$WORK/colab/content" FER_HELPERS_CACHE="$WORK/colab/.cache" PIP_NO_INDEX=1 \
   "$VENV/bin/python" - <<'EOF'
import json, shutil
from pathlib import Path
from fer_helpers.demo import packaged_notebooks, run_notebooks

here = Path.cwd()
paths = []
for source in packaged_notebooks():
    text = source.read_text()
    for field in ("UPLOAD_PHOTO", "USE_WEBCAM"):  # the learner ticks them: the upload is cancelled, the camera denied
        text = text.replace(f'{field} = False  # @param', f'{field} = True  # @param')
    (here / source.name).write_text(text)
    paths.append(here / source.name)
run_notebooks(paths, here / "executed")
out = {p.name: json.dumps([c.get("outputs", []) for c in json.loads((here / "executed" / p.name).read_text())["cells"]])
       for p in paths}
drive = Path(__import__("os").environ["FER_COLAB_CONTENT"]) / "drive" / "MyDrive" / "fer-tutorial"
checks = {
    "setup mounted Drive": all("MyDrive/fer-tutorial" in text for text in out.values()),
    "notebook 5 trained into Drive": (drive / "runs" / "05_training" / "best_model.keras").is_file(),
    "notebook 5 said how to get a GPU": "Change runtime type" in out["05_training_with_callbacks.ipynb"],
    "notebook 6 found notebook 5's run on Drive":
        "using the best model of " + (drive / "runs" / "05_training").as_posix() in out["06_evaluation.ipynb"],
    "notebook 7: upload cancelled": "the upload was cancelled" in out["07_photos_and_webcam.ipynb"],
    "notebook 7: camera denied": "NotAllowedError: Permission denied" in out["07_photos_and_webcam.ipynb"],
}
for name, ok in checks.items():
    print(f"  {'ok  ' if ok else 'FAIL'} {name}")
assert all(checks.values()), "the stand-in Colab run did not do what a learner's would"
EOF
)

if [ "$TESTS" = 1 ]; then
  step "the package tests on the minimum versions (-x; the notebooks ran above)"
  # Deselected: the two tests that the committed data/fer2013_synthetic_sample.csv is bit-identical to what the
  # generator writes now. On the minimum stack a few pixels differ by one grey level (an older OpenCV/NumPy rounds
  # differently); the sample is still valid data, but not byte-equal. See the report of issue 22.
  # -m "not slow": the tests that train for tens of seconds; notebook 5 trained on this stack above.
  (cd "$ROOT" && "$VENV/bin/python" -m pytest tests -x -q -p no:cacheprovider --durations=5 -m "not slow" \
     --deselect tests/test_synthetic.py::test_committed_sample_is_what_make_sample_writes_now \
     --deselect tests/test_synthetic.py::test_sample_csv_path_regenerates_the_committed_sample_where_only_the_package_is_installed)
fi
echo "wheel check wall time: $(( $(date +%s) - t0 )) s"
