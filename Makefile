# The two set-up commands (README): `make render` and `make test`.
# Each creates the virtualenv on first use; needs only python3 (3.11+).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Development and test tools live apart from the deploy virtualenv (Pulumi.yaml's .venv).
DEV_VENV ?= .venv-dev
DEV_PY := $(DEV_VENV)/bin/python
STACK ?= dev

.PHONY: render render-all test test-fast lint typecheck bench docs checkov loadtest-deps clean

# The components as the installed package too (editable), so that a program importing
# `elastic_inference` (examples/two-models) renders in these virtualenvs.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $@

$(DEV_VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_PY) -m pip install --quiet --upgrade pip
	$(DEV_PY) -m pip install --quiet -r requirements-dev.txt
	$(DEV_PY) -m pip install --quiet --no-deps -e .
	$(DEV_PY) -m pip check
	touch $@

render: $(VENV)/.installed
	$(VENV)/bin/elastic-inference render $(STACK)

render-all: $(VENV)/.installed
	$(VENV)/bin/elastic-inference render --all

# checkov conflicts with pulumi's pins (packaging): it lives in its own virtualenv.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

checkov: $(CHECKOV_VENV)/.installed

# locust (the load test, loadtest/) is heavy: it lives in its own virtualenv too.
LOAD_VENV ?= .venv-load

$(LOAD_VENV)/.installed: loadtest/requirements.txt
	$(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOAD_VENV)/bin/python -m pip install --quiet -r loadtest/requirements.txt
	touch $@

loadtest-deps: $(LOAD_VENV)/.installed

test: $(DEV_VENV)/.installed $(CHECKOV_VENV)/.installed $(LOAD_VENV)/.installed
	CHECKOV=$(CHECKOV_VENV)/bin/checkov LOCUST=$(LOAD_VENV)/bin/locust $(DEV_PY) -m pytest -q

# The quick loop: everything but the tests marked slow (checkov, the load test, the wheel).
test-fast: $(DEV_VENV)/.installed
	$(DEV_PY) -m pytest -q -m "not slow"

lint: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/ruff check .

# mypy --strict over every package; the load test against its own virtualenv (locust lives there).
typecheck: $(DEV_VENV)/.installed $(LOAD_VENV)/.installed
	$(DEV_PY) -m mypy --strict components config elastic_inference_tools render simulate benchmarks __main__.py
	$(DEV_PY) -m mypy --strict --python-executable $(LOAD_VENV)/bin/python loadtest

# Not a test: times renders of generated 1/10/100-service stacks against a bare-SDK baseline,
# and one simulated day of one service.
bench: $(VENV)/.installed
	$(PY) -m benchmarks.render_bench
	$(PY) -m benchmarks.simulate_bench

# The components' API reference (pdoc) into build/api/elastic_inference.html.
docs: $(DEV_VENV)/.installed
	rm -rf build/api-site && $(DEV_PY) -m pip install --quiet --no-deps --target build/api-site .
	PYTHONPATH=build/api-site $(DEV_PY) -m pdoc --output-directory build/api elastic_inference

clean:
	rm -rf build .pytest_cache
