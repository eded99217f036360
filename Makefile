# The course's entry points. Quickstart: `make course` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# Use the active virtualenv or conda env if there is one, else create .venv here.
ENV_DIR := $(or $(VIRTUAL_ENV),$(CONDA_PREFIX),$(CURDIR)/.venv)
PY := $(ENV_DIR)/bin/python
STAMP := $(ENV_DIR)/.tlhelpers-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FASHION_DIR := /usr/share/datasets/fashion-mnist
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help setup data course test test-browser test-imagenet browser lab doctor bench

help:
	@echo "make course   set up, then run every notebook headless (build/ gets executed copies + HTML)"
	@echo "make test     set up, then run the whole test suite (unit tests + notebooks under nbval + browser)"
	@echo "make test-browser  the widgets in JupyterLab in headless Chromium (installs Debian's chromium)"
	@echo "make test-imagenet  the notebooks and quick benchmarks in the imagenet track (Keras-cache downloads, else stand-ins, else skips)"
	@echo "make lab      set up, then open JupyterLab on notebooks/"
	@echo "make doctor   which tracks are ready on this machine"
	@echo "make bench    run every benchmark in full (long: use a quiet machine), then regenerate the tables"

$(PY):
	$(PYTHON) -m venv $(ENV_DIR)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	touch $@

setup: $(STAMP) data

# Fashion-MNIST for the offline track: Debian's package where apt-get exists, else Keras.
data: | $(STAMP)
	@if [ -f $(FASHION_DIR)/t10k-labels-idx1-ubyte.gz ]; then \
	  echo "Fashion-MNIST: found in $(FASHION_DIR)"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; \
	else \
	  $(PY) -m tlhelpers prefetch --track offline; \
	fi

course: setup
	$(PY) -m tlhelpers course

test: setup browser
	$(PY) -m pytest

# Debian's chromium (+ chromium-driver) for the JupyterLab browser test; no browser download.
browser:
	bash scripts/install-browser.sh

# The course in a real browser: JupyterLab + Chromium, widgets render and respond.
test-browser: setup browser
	$(PY) -m pytest tests/test_browser.py

BENCHMARKS := few_shot cached_features step_cost tuner course

# The imagenet track, run for real: every notebook under nbval and each benchmark --quick
# (results to a temp dir). It uses the downloads in the Keras cache when `tlhelpers ready`
# finds CIFAR-10 and the backbone's no-top weights, else the stand-ins of IMAGENET_STANDIN
# (machines without internet; see its README), else it says why it skips. Checked cells
# print only what both tracks share, so nbval compares them here as in the offline track;
# tests/test_lesson_facts.py checks what differs per track.
IMAGENET_STANDIN ?= ../shared/imagenet-standin
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
	$(PY) -m pytest notebooks tests/test_lesson_facts.py || status=1; \
	for b in $(BENCHMARKS); do \
	  echo "== benchmarks/$$b.py --quick (imagenet track)"; $(PY) benchmarks/$$b.py --quick --out $$out || status=1; \
	done; \
	echo "test-imagenet: $$([ $$status = 0 ] && echo passed || echo FAILED); benchmark results in $$out"; \
	exit $$status

# The course's claims, measured: benchmarks/results/*.json, benchmarks/README.md, README's table.
bench: setup
	@set -e; for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; $(PY) benchmarks/$$b.py; done
	$(PY) benchmarks/report.py

lab: setup
	$(PY) -m jupyter lab --notebook-dir=notebooks

doctor: setup
	$(PY) -m tlhelpers doctor
