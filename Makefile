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
CLUSTER ?= local
SEEDS  ?= 1

.PHONY: venv run render neb jobs slurm test test-fast lint bench list clean-runs

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

# SYSTEM x MODEL x SEEDS as a job array on cluster profile CLUSTER (clusters/<CLUSTER>.yaml)
jobs: venv
	$(BIN)/harness jobs submit --cluster '$(CLUSTER)' --systems '$(SYSTEM)' --models '$(MODEL)' --seeds '$(SEEDS)' --preset '$(PRESET)' --engine '$(ENGINE)' $(if $(TAG),--tag '$(TAG)')

list: venv
	$(BIN)/harness list systems && $(BIN)/harness list models && $(BIN)/harness list engines

# Slurm for tests/test_jobs.py (the tests start a private one-node cluster): Debian's packages,
# installed when missing and this is root with apt-get; otherwise those tests say why they skip
# (under CI=true they fail).
APT_SLURM = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge
slurm:
	@if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Slurm (slurmctld slurmd slurm-client munge) for tests/test_jobs.py"; \
	  $(APT_SLURM) >/dev/null || { apt-get update -qq && $(APT_SLURM) >/dev/null; }; \
	else echo "Slurm is not installed and cannot be installed here (not root or no apt-get): tests/test_jobs.py skips"; fi

test: venv slurm
	$(BIN)/python -m pytest -q -ra tests

# the fast tier (under two minutes): everything but the tests marked slow
test-fast: venv
	$(BIN)/python -m pytest -q -ra -m "not slow" tests

# ruff, with the rules in pyproject.toml (also run by .ci/run)
lint: venv
	$(BIN)/ruff check harness tests benchmarks

bench: venv
	$(BIN)/python benchmarks/bench_bridge.py --out benchmarks/results.md
	$(BIN)/python benchmarks/bench_phonons.py --out benchmarks/results-phonons.md
	$(BIN)/python benchmarks/bench_analysis.py --out benchmarks/results-analysis.md
	$(BIN)/python benchmarks/bench_screen.py --out benchmarks/results-screen.md
	$(BIN)/python benchmarks/bench_neb.py --out benchmarks/results-neb.md
	$(BIN)/python benchmarks/bench_scale.py --out benchmarks/results-scale.md
	$(BIN)/python benchmarks/bench_static.py --out benchmarks/results-static.md
	$(BIN)/python benchmarks/bench_screen_array.py --out benchmarks/results-screen-array.md  # root + Slurm

clean-runs:
	rm -rf runs
