# The course's entry points. Quickstart: `make course` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# Use the active virtualenv or conda env if there is one, else create .venv here.
ENV_DIR := $(or $(VIRTUAL_ENV),$(CONDA_PREFIX),$(CURDIR)/.venv)
PY := $(ENV_DIR)/bin/python
# An NVIDIA GPU gets tensorflow[and-cuda] instead of tensorflow-cpu (see setup below).
ifndef GPU
GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1 || echo 0)
endif
STAMP := $(ENV_DIR)/.tlhelpers-installed$(if $(filter 1,$(GPU)),-gpu)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FASHION_DIR := /usr/share/datasets/fashion-mnist
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help setup data sandbox fonts course test test-fast test-browser test-imagenet browser lab doctor bench constraints

help:
	@echo "make course   set up, then run every notebook headless (build/ gets executed copies + HTML); LANG=zh: the Chinese lessons"
	@echo "make test     set up, then run the whole test suite (unit tests + notebooks under nbval + browser), two files at a time"
	@echo "make test-fast  the unit tests that need no notebook, browser, nbgrader or benchmark run (minutes)"
	@echo "make test-browser  the widgets in JupyterLab in headless Chromium (installs Debian's chromium)"
	@echo "make test-imagenet  the notebooks and quick benchmarks in the imagenet track (Keras-cache downloads, else stand-ins, else skips)"
	@echo "make lab      set up, then open JupyterLab on notebooks/"
	@echo "make doctor   which tracks are ready on this machine"
	@echo "make bench    run every benchmark in full (long: use a quiet machine), then regenerate the tables"

$(PY):
	$(PYTHON) -m venv $(ENV_DIR)

# TensorFlow: `tensorflow-cpu` (pyproject.toml, on Linux x86_64), which neither probes for
# CUDA nor prints error-looking lines in every lesson, unless this machine has an NVIDIA GPU:
# then `tensorflow[and-cuda]` in its place. `make setup GPU=1` (or GPU=0) overrides the guess.
# The two install the same files, so an env must hold only one, and uninstalling either breaks
# the other: when the other one is in the env (an older setup, or installed by hand), setup
# removes both and reinstalls.
TF_CHECK := import importlib.metadata as m, platform, sys; \
  want = "tensorflow-cpu" if sys.platform == "linux" and platform.machine() == "x86_64" and "$(GPU)" != "1" else "tensorflow"; \
  print(want, *[n for n in ("tensorflow", "tensorflow-cpu") if n != want and list(m.distributions(name=n))])
ifneq ($(wordlist 2,3,$(shell $(PY) -c '$(TF_CHECK)' 2>/dev/null)),)
.PHONY: $(STAMP)
endif

# constraints.txt pins every package to the version the suite passed with, for the Python
# version on its first line: setup installs exactly those when this Python matches (a class
# gets what was tested), else resolves from pyproject.toml. `make constraints` refreshes it.
CONSTRAINTS := constraints.txt
PIN_CHECK := import sys; line = open("$(CONSTRAINTS)").readline().split(); \
  print("-c $(CONSTRAINTS)" if line[-1:] == ["%d.%d" % sys.version_info[:2]] else "")

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	rm -f $(ENV_DIR)/.tlhelpers-installed*
	$(PY) -m pip install --upgrade pip
	@set -- $$($(PY) -c '$(TF_CHECK)'); want=$$1; shift; \
	if [ $$# -gt 0 ]; then \
	  echo "setup: $$* in this env, $$want wanted: removing tensorflow and tensorflow-cpu first"; \
	  $(PY) -m pip uninstall -y tensorflow tensorflow-cpu; \
	fi
ifeq ($(GPU),1)
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]).replace("tensorflow-cpu", "tensorflow[and-cuda]"))' \
	  > $(ENV_DIR)/tlhelpers-gpu-requirements.txt
	$(PY) -m pip install -r $(ENV_DIR)/tlhelpers-gpu-requirements.txt $$($(PY) -c '$(PIN_CHECK)')
	$(PY) -m pip install --no-deps -e .
else
	$(PY) -m pip install -e ".[test]" $$($(PY) -c '$(PIN_CHECK)')
endif
	touch $@

# The env's Jupyter kernels set TF_CPP_MIN_LOG_LEVEL before TensorFlow loads, also when
# started from a plain `jupyter lab` (tlhelpers/quiet.py says why).
setup: $(STAMP) data sandbox fonts
	@$(PY) -m tlhelpers.quiet

# bubblewrap, the sandbox that grading runs each submission in (tlhelpers/sandbox.py), where
# apt-get exists; elsewhere grading says what is missing and refuses unless given --unsafe.
sandbox:
	@if command -v bwrap >/dev/null; then \
	  echo "bubblewrap: found $$(command -v bwrap)"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq bubblewrap; \
	else \
	  echo "bubblewrap: not installed and no apt-get here; install it to grade in a sandbox (see assignments/README.md)"; \
	fi

# A font with Chinese characters for the figures of the Chinese edition (tlhelpers/display.py),
# where apt-get exists; elsewhere the Chinese lessons warn and say what to install.
fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "Chinese font: found $$(fc-list :lang=zh family | head -1)"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq fonts-wqy-microhei; \
	else \
	  echo "Chinese font: none found and no apt-get here; install one for the Chinese edition's figures (README.zh.md)"; \
	fi

# Fashion-MNIST for the offline track: Debian's package where apt-get exists, else Keras.
data: | $(STAMP)
	@if [ -f $(FASHION_DIR)/t10k-labels-idx1-ubyte.gz ]; then \
	  echo "Fashion-MNIST: found in $(FASHION_DIR)"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq dataset-fashion-mnist; \
	else \
	  $(PY) -m tlhelpers prefetch --track offline; \
	fi

# `make course LANG=zh` runs the Chinese lessons (notebooks/zh/, into build/zh/); here LANG names
# the course's language, so the command runs with a neutral locale. TL_LANG works too.
COURSE_LANG := $(if $(filter en zh,$(LANG)),$(LANG),$(TL_LANG))
course: setup
	$(if $(filter en zh,$(LANG)),LANG=C.UTF-8) $(PY) -m tlhelpers course $(if $(COURSE_LANG),--language $(COURSE_LANG))

# Two pytest workers (pytest-xdist), each taking whole test files: a notebook's cells share one
# kernel, and a module's fixture (nbgrader's grading, the benchmark runs, JupyterLab) runs once.
# On 2 cores this halves the time: much of a test is single-threaded start-up or waiting.
TEST_WORKERS ?= 2
test: setup browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The fast tier: every test not marked `slow` or `system` (tests/conftest.py says which
# are), with the docstring examples; under 3 minutes on 2 cores. `make test` runs all.
test-fast: setup
	$(PY) -m pytest tests tlhelpers -m "not slow and not system"

# Pin what this environment holds (after `make test` passed in it) for its Python version.
constraints: setup
	@{ $(PY) -c 'import sys; print("# pip constraints for python %d.%d" % sys.version_info[:2])'; \
	  echo "# The versions the test suite passed with; make setup installs them when the Python version matches."; \
	  echo "# Refresh: make constraints (in an environment where make test passed)."; \
	  $(PY) -m pip freeze --exclude-editable; } > $(CONSTRAINTS)
	@echo "wrote $(CONSTRAINTS): $$(grep -vc '^#' $(CONSTRAINTS)) packages"

# Debian's chromium (+ chromium-driver) for the JupyterLab browser test; no browser download.
browser:
	bash scripts/install-browser.sh

# The course in a real browser: JupyterLab + Chromium, widgets render and respond.
test-browser: setup browser
	$(PY) -m pytest tests/test_browser.py

BENCHMARKS := finetune_settings few_shot cached_features step_cost tuner course sandbox_grading

# The imagenet track, run for real: every notebook under nbval and each benchmark --quick
# (results to a temp dir). It uses the downloads in the Keras cache when `tlhelpers ready`
# finds CIFAR-10 and the backbone's no-top weights, else the stand-ins of IMAGENET_STANDIN
# (machines without internet; see its README), else it says why it skips. Checked cells
# print only what both tracks share, so nbval compares them here as in the offline track;
# tests/test_lesson_facts.py checks what differs per track. IMAGENET_LESSONS and
# IMAGENET_BENCHMARKS choose a part (e.g. IMAGENET_LESSONS="01 02" IMAGENET_BENCHMARKS=):
# the lessons alone take about 13 minutes on 2 cores (benchmarks/results/course-imagenet.json)
# and the quick benchmarks as long again, so CI runs a part (see .ci/run).
IMAGENET_STANDIN ?= ../shared/imagenet-standin
IMAGENET_LESSONS ?= 00 01 02 03 04 05 06 07
IMAGENET_BENCHMARKS ?= $(BENCHMARKS)
test-imagenet: setup
	@out=$$(mktemp -d); \
	if why=$$($(PY) -m tlhelpers ready --track imagenet); then \
	  echo "test-imagenet: using the downloads in the Keras cache"; \
	elif [ -f $(IMAGENET_STANDIN)/activate ]; then \
	  echo "test-imagenet: $$why; using the stand-ins in $(IMAGENET_STANDIN)"; \
	  source $(IMAGENET_STANDIN)/activate || exit 1; \
	else \
	  echo "test-imagenet skipped: $$why (and no stand-ins in $(IMAGENET_STANDIN))"; exit 0; \
	fi; \
	export TL_TRACK=imagenet; status=0; \
	$(PY) -m pytest $(foreach n,$(IMAGENET_LESSONS),notebooks/$(n)_*.ipynb) tests/test_lesson_facts.py || status=1; \
	for b in $(IMAGENET_BENCHMARKS); do \
	  echo "== benchmarks/$$b.py --quick (imagenet track)"; $(PY) benchmarks/$$b.py --quick --out $$out || status=1; \
	done; \
	echo "test-imagenet: $$([ $$status = 0 ] && echo passed || echo FAILED); benchmark results in $$out"; \
	exit $$status

# The course's claims, measured: benchmarks/results/*.json, benchmarks/README.md, README's table.
bench: setup
	@set -e; for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; $(PY) benchmarks/$$b.py; done
	$(PY) benchmarks/report.py
	$(PY) benchmarks/quotes.py

lab: setup
	$(PY) -m jupyter lab --notebook-dir=notebooks

doctor: setup
	$(PY) -m tlhelpers doctor
