# One-command set-up. `make reproduce` and `make test` create .venv when absent, install the
# pinned stack (requirements.lock, also used as pip constraints so torch stays 2.13.0 CPU) and
# the embedded data, then run. A second run installs nothing: the stamps below are up to date.
# Root-only pieces (Fashion-MNIST from Debian, LaTeX, Chromium, SLURM for its test) live in `make system-deps`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ENV_STAMP := $(VENV)/.installed
DATA_STAMP := data/.installed
# cffconvert (validates CITATION.cff in the tests) needs jsonschema<4, which the lock cannot hold: it gets its own
# small tool environment from exact pins, like a linter, and never touches .venv.
CFFCONVERT := .tools/cffconvert
CFFCONVERT_STAMP := $(CFFCONVERT)/.installed
CORES ?= all

.PHONY: help setup reproduce test smoke lint archive system-deps lock benchmark clean
.DEFAULT_GOAL := help

help:
	@echo "make reproduce    set up, then run the whole pipeline (snakemake --cores $(CORES))"
	@echo "make test         set up, then run the test suite"
	@echo "make smoke        set up, then run the whole pipeline on tiny sizes (< 3 min)"
	@echo "make lint         snakemake --lint of the pipeline (CI runs it)"
	@echo "make archive      the results as one verifiable .tar.gz (results/inertia-archive.tar.gz)"
	@echo "make system-deps  root: Debian Fashion-MNIST, LaTeX, Chromium, SLURM (munge, slurmctld, slurmd; apt-get)"
	@echo "make benchmark    time optimizer steps on ResNet-50 shapes"
	@echo "make lock         re-pin requirements.lock and environment.yml from .venv"

$(ENV_STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -c requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(CFFCONVERT_STAMP): workflow/envs/cffconvert.txt
	@test -x $(CFFCONVERT)/bin/python || $(PYTHON) -m venv $(CFFCONVERT)
	$(CFFCONVERT)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r workflow/envs/cffconvert.txt
	$(CFFCONVERT)/bin/python -m pip check --disable-pip-version-check
	@touch $@

$(DATA_STAMP): $(ENV_STAMP)
	$(BIN)/python -m experiments.tasks.install_data --root data
	@touch $@

setup: $(ENV_STAMP) $(DATA_STAMP) $(CFFCONVERT_STAMP)
	@echo "environment $(VENV), data/ and the tool environment $(CFFCONVERT) are up to date"

reproduce: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup
	$(BIN)/python -m pytest

smoke: setup
	$(BIN)/snakemake --cores $(CORES) --configfile config/smoke.yaml --directory .smoke

archive: setup
	$(BIN)/snakemake --cores $(CORES) archive

lint: setup
	$(BIN)/snakemake --lint

system-deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make system-deps needs root (apt-get): run it with sudo"; exit 1; fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist latexmk \
		texlive-latex-recommended texlive-fonts-recommended texlive-pictures lmodern chromium \
		munge slurmctld slurmd slurm-client

benchmark: setup
	$(BIN)/python benchmarks/optimizer_step.py

lock: $(ENV_STAMP)
	$(BIN)/python workflow/scripts/lock_environment.py $(BIN)/python

clean:
	rm -rf results logs paper/build .snakemake
