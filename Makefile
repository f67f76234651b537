# `make demo` and `make test` work on a fresh clone: they create or refresh .venv/ first.
PYTHON ?= python3.13
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv demo test bench sync sync-check wheel wheel-check ddev-venv ddev-test validate clean

# ddev (Datadog's integration tool) lives in its own virtualenv, never in .venv: `make test` stays what it is.
DDEV_VENV := .ddev-venv
DDEV_PY := $(DDEV_VENV)/bin/python
# ddev runs hatch, whose ddev plugin calls `uv` from PATH; hatch keeps its environments under .ddev-venv/ too.
DDEV_ENV := PATH="$(CURDIR)/$(DDEV_VENV)/bin:$$PATH" HATCH_DATA_DIR="$(CURDIR)/$(DDEV_VENV)/hatch"

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

# Fails when conf.yaml.example or cloudtrail/config_models/ differ from what assets/configuration/spec.yaml gives.
sync-check: venv
	$(PY) scripts/sync_config.py --check

wheel: venv
	rm -rf build dist/datadog_cloudtrail-*.whl
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

# The wheel against the Agent's install rules, in a clean Python 3.13 holding only what the Agent ships, loaded
# and run once as the Agent would (scripts/check_wheel.py).
wheel-check: wheel
	$(PY) scripts/check_wheel.py dist/datadog_cloudtrail-*.whl

ddev-venv: $(DDEV_VENV)/.installed

$(DDEV_VENV)/.installed: requirements-ddev.txt
	test -x $(DDEV_PY) || $(PYTHON) -m venv $(DDEV_VENV)
	$(DDEV_PY) -m pip install --quiet --upgrade pip
	$(DDEV_PY) -m pip install --quiet -r requirements-ddev.txt
	touch $@

# The suite the way Datadog's integration developers run it: ddev -> hatch environment (hatch.toml) -> pytest.
ddev-test: ddev-venv
	$(DDEV_ENV) $(DDEV_VENV)/bin/ddev --here test .

# manifest.json, metadata.csv, assets/ and README.md against ddev's validation rules (scripts/validate_assets.py).
validate: ddev-venv
	$(DDEV_ENV) $(DDEV_PY) scripts/validate_assets.py

clean:
	rm -rf $(VENV) $(DDEV_VENV) dist build *.egg-info .demo
