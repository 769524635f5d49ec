"""The cost-table calibration script (bench/kernel_rates.py) on a tiny shape: it times every
kernel of the level's table, TVM's FP32 matmul included at avx2."""

import json
import os
import sys

from conftest import requires_isa

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
)
import kernel_rates

from tvm_blocksparse import registry


@requires_isa("avx2")
def test_avx2_rates_cover_every_kernel_of_the_table(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_rates, "SHAPES", [(64, 64)])
    monkeypatch.setattr(kernel_rates, "SPARSITIES", [0.5])
    out = tmp_path / "rates.json"
    kernel_rates.main(["--level", "avx2", "--tokens", "16", "--json", str(out)])
    result = json.loads(out.read_text())
    assert set(result["medians"]) == set(registry.KERNEL_GOPS["avx2"])
    # every row timed (the medians are rounded to 0.1 GOP/s: on this tiny shape TVM's pool can
    # wait out a time slice when another process holds the second core, and round to 0.0)
    assert all(0 < row["gops"] < float("inf") for row in result["rows"])
    sparse = {r["kind"]: r["sparsity"] for r in result["rows"] if r["sparsity"]}
    assert sparse == {"int8_4x1": 0.5, "fp32_4x1": 0.5, "fp32_1x16": 0.5}
    assert '"mcpu"' in result["target"] and "-avx512f" in result["target"]
