# `make demo` and `make test` work on a fresh clone: they create or refresh .venv/ first.
PYTHON ?= python3.13
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv demo test bench sync wheel clean

venv: $(VENV)/.installed

# Rebuilt whenever the requirements change.
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

demo: venv
	$(PY) -m devtools.demo

test: venv
	$(PY) -m pytest tests -q

bench: venv
	$(PY) -m devtools.bench

sync: venv
	$(PY) scripts/sync_config.py

wheel: venv
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) dist build *.egg-info .demo
