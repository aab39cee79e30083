# make run    set up .venv and open llm-settings (ARGS="--config F show" for a subcommand)
# make test   set up .venv and run lint + the whole test suite
# make bench  run the benchmarks (prints medians and ratios)
PY ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "llm-settings needs Python 3.11 or newer"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/llm-settings $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
