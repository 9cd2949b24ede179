# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   - create .venv, install everything, run the main job on the embedded data
#   make test   - create .venv, install everything, run the test suite (what .ci/run calls)
#   make site   - the website from the committed notebooks (output/site/_build/html), in a light .venv-site
#   make browser-test - the site and JupyterLab in Chromium (Debian's /usr/bin/chromium), after make site
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test lab install clean site browser-test

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
