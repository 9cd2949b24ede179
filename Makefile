# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   - create .venv, install everything, run the main job on the embedded data
#   make test   - create .venv, install everything, run the test suite (what .ci/run calls)
#   make test-cpus - the training and inference tests under emulated CPUs (oneDNN at AVX2, oneDNN off)
#   make site   - the website from the committed notebooks (output/site/_build/html), in a light .venv-site
#   make browser-test - the site and JupyterLab in Chromium (Debian's /usr/bin/chromium), after make site
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test test-cpus lab install clean site browser-test

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 13) else \
	  f"fer-tutorial needs Python 3.10 to 3.13 (TensorFlow wheels); $(PYTHON) is {v[0]}.{v[1]}: run make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m fer_helpers demo

test: $(VENV)/.installed
	$(PY) -m pytest

# The numerics of other CPUs, emulated on this one, for the tests that train, predict and evaluate: oneDNN capped at
# AVX2 (a CPU without AVX-512), then TensorFlow's own Eigen kernels (oneDNN off) for the bfloat16 tests. Under the cap
# TensorFlow still hands bfloat16 convolutions to oneDNN, which refuses them; with oneDNN off they run.
CPU_TESTS := tests/test_training.py tests/test_inference.py tests/test_pretrained.py
test-cpus: $(VENV)/.installed
	ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -q -p no:cacheprovider --durations=5 -m "not bfloat16" $(CPU_TESTS)
	TF_ENABLE_ONEDNN_OPTS=0 $(PY) -m pytest -q -p no:cacheprovider --durations=5 -m bfloat16 $(CPU_TESTS)

lab: $(VENV)/.installed
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) output runs

# The website: Jupyter Book 1 renders the notebooks' committed outputs (nothing is re-executed). Its own venv holds
# only the `site` dependency group, so it needs no TensorFlow.
SITE_VENV ?= .venv-site
SITE_OUT  := output/site

$(SITE_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SITE_VENV)
	$(SITE_VENV)/bin/python -m pip install --quiet --upgrade pip  # 25.1+ for --group
	$(SITE_VENV)/bin/python -m pip install --quiet --group site
	touch $@

site: $(SITE_VENV)/.installed
	rm -rf $(SITE_OUT)
	$(SITE_VENV)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml --path-output $(SITE_OUT) \
	  -W --keep-going
	@echo "website: $(SITE_OUT)/_build/html/index.html"

$(VENV)/.installed-browser: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet "pip>=25.1"  # --group
	$(PY) -m pip install --quiet --group browser
	touch $@

browser-test: site $(VENV)/.installed-browser
	$(PY) -m pytest browser_tests -p no:cacheprovider
