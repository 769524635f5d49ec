# Each target creates or updates the virtualenv .venv at the repo root and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo demo-kernels test test-decisions-as-avx2 lint bench-spmm bench-e2e-dense bench-e2e venv venv-bench venv-deepsparse clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"

venv-bench: venv
	$(BIN)/python -m pip install -q -e ".[test,bench]"

# DeepSparse 1.8.0 (the last wheel that installs) pins numpy<2 and onnx 1.14: its own venv,
# driven as a subprocess by the end-to-end benchmark.
DS_VENV := bench/.venv-deepsparse
$(DS_VENV)/bin/python:
	$(PY) -m venv $(DS_VENV)
	$(DS_VENV)/bin/python -m pip install -q "deepsparse==1.8.0"

venv-deepsparse: $(DS_VENV)/bin/python

# Main job: prune a BERT-Mini-shaped model to 90 % 4x1, compile INT8 sparse and dense, check
# the outputs, compare latencies (with ONNX Runtime FP32 and INT8-dynamic). ~45 s on 2 cores.
demo: venv
	$(BIN)/python -m tvm_blocksparse.demo

# Kernel demo: one BERT-Large layer shape, our kernels vs dense INT8 / FP32 (needs torch).
demo-kernels: venv-bench
	$(BIN)/python bench/spmm.py --threads 1 --shapes 1024x4096x128 --sparsities 0.7,0.9 \
		--backends ours_int8_4x1,ours_fp32_4x1,ours_fp32_1x16,ours_int8_dense,torch_int8_dense,torch_fp32_dense

# Two pytest-xdist workers: most of the suite is single-threaded LLVM compiles (~19 min on 2
# cores, ~25 min on one worker).
test: venv
	$(BIN)/python -m pytest -q -n 2 tests

# The suite on this CPU as a host of a lower level shows itself (tvm_blocksparse.isa.hide: flags
# and CPUID above the level hidden; needs mount namespaces and CPUID faulting): test-as-avx2 (an
# AVX2-only CPU, ~14 min on 2 cores), test-as-avx_vnni (an AVX-VNNI client such as Alder Lake,
# on a CPU that has AVX-VNNI). A pattern rule, so not in .PHONY.
test-as-%: venv
	$(BIN)/python -m tvm_blocksparse.isa.hide $* -- $(BIN)/python -m pytest -q -n 2 tests

# CI's guard against tests that expect the host's level: the tests of decisions made from the
# CPU (passes that read the target, kernel choice, target and ISA detection) on the AVX2-only view
# of this CPU (~2 min), where it has a level above AVX2 and the machine can hide it (else it says
# why and runs nothing). On an AVX2-only host the suite itself is that view.
DECISION_TESTS := $(addprefix tests/,test_layer_norm_qparams.py test_softmax_rows.py \
	test_lift_weights.py test_registry.py test_target.py test_isa.py test_format.py \
	test_producer_tiles.py test_producer_transpose.py test_schedule_rules.py \
	test_fuse_attention.py test_sparsify_linear.py)
test-decisions-as-avx2: venv
	$(BIN)/python -m tvm_blocksparse.isa.hide --or-skip avx2 -- \
		$(BIN)/python -m pytest -q -n 2 $(DECISION_TESTS)

# Style gate of CI: ruff's lint rules and formatting (config in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Full kernel benchmark (never part of the tests): ~15 min on 2 cores.
bench-spmm: venv-bench
	$(BIN)/python bench/spmm.py --threads 1 --json bench/results/spmm_1t.json --plot bench/results/spmm_1t.png

# Dense FP32 BERT-Mini/Base vs ONNX Runtime, 1 thread, with the per-PrimFunc profile (~2 min).
bench-e2e-dense: venv
	$(BIN)/python bench/e2e_dense.py --models bert-mini bert-base --threads 1 --profile bert-base \
		--json bench/results/e2e_dense_1t.json

# End-to-end benchmark vs ONNX Runtime, PyTorch, OpenVINO, DeepSparse (issue 6's bar run):
# 5 models at 90 % 4x1, batch 1 x 128 tokens, 1 thread (~30 min on 2 cores; run nothing else).
bench-e2e: venv-bench venv-deepsparse
	$(BIN)/python bench/e2e.py --threads 1 --json bench/results/e2e_1t.json --plot bench/results/e2e_1t.png

clean:
	rm -rf $(VENV) build *.egg-info
