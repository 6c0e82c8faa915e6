# Every set-up step lives here so that a fresh machine (and CI) needs nothing installed by hand.
VENV        ?= .venv
PYTHON      ?= python3
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
DEB_PACKAGES := prometheus prometheus-alertmanager prometheus-pushgateway victoria-metrics docker-compose chromium
CONFIG      ?= examples/lookout.yaml

.PHONY: run test setup debs lint typecheck unit golden bench screenshots clean

run: setup ## create .venv, install Lookout and Debian's Prometheus + Alertmanager, then `lookout up`
	$(BIN)/lookout up --config $(CONFIG)

test: setup lint typecheck ## the same set-up, then lint, type check and the full test suite
	$(BIN)/pytest

setup: $(STAMP) debs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[all,dev]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import lookout" && touch $@

debs:
	@scripts/ensure-debs.sh $(DEB_PACKAGES)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) ## fast, self-contained tests: no servers, no promtool/amtool (markers in pyproject.toml)
	$(BIN)/pytest -m "not integration and not tools"

golden: $(STAMP) ## regenerate the golden files after an intended change to the generators
	$(BIN)/python -m tests.golden.regenerate

bench: setup ## Lookout's own benchmarks; results go to docs/performance.md
	@scripts/ensure-debs.sh valgrind
	$(BIN)/python -m benchmarks

screenshots: setup ## README screenshots of the console of a running stack (`make run` in another terminal)
	$(BIN)/python scripts/console_screenshots.py --url http://127.0.0.1:3000 --out docs/screenshots

clean:
	rm -rf $(VENV) .lookout .pytest_cache .mypy_cache .ruff_cache
