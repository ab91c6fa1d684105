# evaltools: the two commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := evaltools
STAMP  := $(VENV)/.evaltools-installed

.PHONY: setup demo test test-slow lab bench lock clean

# Create the virtual environment, install the pinned dependencies and the
# package, and register the named Jupyter kernel inside the environment.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v=sys.version_info; sys.exit(0 if v[:2]==(3,11) else "evaltools needs Python 3.11, found %d.%d: set PYTHON=/path/to/python3.11" % v[:2])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (evaltools)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

# Run every study on the shipped data and build reports/index.html.
demo: setup
	$(VENV)/bin/evaltools run-all --jobs 2

# Unit tests and nbval on every notebook with its default parameters.
test: setup
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-kernel-name $(KERNEL) -p no:cacheprovider

test-slow: setup
	$(PY) -m pytest tests -m slow --runslow

# JupyterLab on the notebooks with the workbench kernel (LAB_ARGS adds options,
# e.g. LAB_ARGS=--no-browser).
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks \
	  --MultiKernelManager.default_kernel_name=$(KERNEL) \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: setup
	$(PY) benchmarks/run.py

# Re-resolve requirements.in into requirements.txt and environment.yml.
lock:
	rm -rf build/lockenv
	$(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet -r requirements.in
	build/lockenv/bin/pip freeze --exclude-editable | sort -f > requirements.txt
	$(PYTHON) scripts/write_environment_yml.py

clean:
	rm -rf $(VENV) build reports private
