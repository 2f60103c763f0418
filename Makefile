# harness: `make run` and `make test` work from nothing but Python 3.11, make and the package registries.
SHELL  := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SYSTEM ?= Pt3Co
MODEL  ?= chgnet
PRESET ?= quick
ENGINE ?= auto
RELAX  ?= none
TAG    ?=
RUN_ARGS = --system '$(SYSTEM)' --model '$(MODEL)' --preset '$(PRESET)' --engine '$(ENGINE)' --relax '$(RELAX)' $(if $(TAG),--tag '$(TAG)')

HOP    ?= vacancy
IMAGES ?= 7

.PHONY: venv run render neb test bench list clean-runs

venv: $(STAMP)

# torch first and pinned: the CPU wheel; an unpinned torch (e.g. pulled by mace-torch) is a multi-GB CUDA build.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

run: venv
	$(BIN)/harness run $(RUN_ARGS)

render: venv
	$(BIN)/harness render $(RUN_ARGS)

# climbing-image NEB of a hop in SYSTEM with MODEL, one LAMMPS partition per image (mpiexec)
neb: venv
	$(BIN)/harness neb --system '$(SYSTEM)' --model '$(MODEL)' --hop '$(HOP)' --images '$(IMAGES)' --engine '$(ENGINE)' $(if $(TAG),--tag '$(TAG)')

list: venv
	$(BIN)/harness list systems && $(BIN)/harness list models && $(BIN)/harness list engines

test: venv
	$(BIN)/python -m pytest -q -ra tests

bench: venv
	$(BIN)/python benchmarks/bench_bridge.py --out benchmarks/results.md
	$(BIN)/python benchmarks/bench_phonons.py --out benchmarks/results-phonons.md
	$(BIN)/python benchmarks/bench_analysis.py --out benchmarks/results-analysis.md
	$(BIN)/python benchmarks/bench_screen.py --out benchmarks/results-screen.md
	$(BIN)/python benchmarks/bench_neb.py --out benchmarks/results-neb.md

clean-runs:
	rm -rf runs
