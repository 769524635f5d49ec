# Each target creates or updates the virtualenv .venv at the repo root and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench-spmm venv venv-bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"

venv-bench: venv
	$(BIN)/python -m pip install -q -e ".[test,bench]"

# Main job: build our kernels for one BERT-Large layer shape and compare with dense INT8 / FP32.
demo: venv-bench
	$(BIN)/python bench/spmm.py --threads 1 --shapes 1024x4096x128 --sparsities 0.7,0.9 \
		--backends ours_int8_4x1,ours_fp32_1x16,ours_int8_dense,torch_int8_dense,torch_fp32_dense

test: venv
	$(BIN)/python -m pytest -q tests

# Full kernel benchmark (never part of the tests): ~15 min on 2 cores.
bench-spmm: venv-bench
	$(BIN)/python bench/spmm.py --threads 1 --json bench/results/spmm_1t.json --plot bench/results/spmm_1t.png

clean:
	rm -rf $(VENV) build *.egg-info
