"""The end-to-end benchmark's bookkeeping (output checks, budgets, argument forwarding) and,
where torch + transformers are installed, one tiny real run."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
)
import e2e as bm

from tvm_blocksparse.isa import AMX_INT8, AVX2, host_has


def test_check_output_uses_relative_error_for_fp32_and_cosine_otherwise():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((1, 8, 32)).astype(np.float32)
    assert bm.check_output(ref * (1 + 1e-5), ref, "fp32")[0]
    assert not bm.check_output(ref * 1.01, ref, "fp32")[0]  # 1 % off: an FP32 backend must not pass
    assert bm.check_output(ref * 1.01, ref, "int8")[0]  # ...a quantized one may (same direction)
    noisy = ref + rng.standard_normal(ref.shape).astype(np.float32)
    ok, _, cos = bm.check_output(noisy, ref, "int8")
    assert not ok and cos < 0.9
    bad = ref.copy()
    bad[0, 0, 0] = np.nan
    assert not bm.check_output(bad, ref, "int8")[0]


def test_throughput_picks_the_best_batch_within_the_budget():
    def rec(batch, p50, p90, backend="ours"):
        return dict(
            model="bert-base",
            sparsity=0.9,
            threads=2,
            backend=backend,
            batch=batch,
            p50_ms=p50,
            p90_ms=p90,
            items_per_s=batch * 1e3 / p50,
        )

    budget = bm.budget_ms("bert-base", 2, None)
    assert budget == 20.0 * 24 / 2
    records = [
        rec(1, 10, 11),
        rec(4, 30, 35),
        rec(8, 200, budget + 1),
        rec(1, 5, 6, "single-batch"),
    ]
    (row,) = bm.throughput_under_budget(records, None)  # one batch size only: no throughput row
    assert row["best_batch"] == 4 and row["best_items_per_s"] == pytest.approx(4e3 / 30)
    (row,) = bm.throughput_under_budget(records, 9.0)  # nothing fits
    assert row["best_batch"] is None and row["best_items_per_s"] == 0.0


def _bar_records(level, cpuid_level=None, **cpu_ms):
    return [
        dict(
            model=m,
            backend=b,
            cpu_ms=v,
            isa_level=level,
            cpuid_level=cpuid_level,
            min_cosine=0.995,
        )
        for (m, b), v in (
            (("bert-base", "tvm_int8_sparse"), cpu_ms.get("int8", 24.0)),
            (("bert-base", "deepsparse_fp32"), 50.0),
            (("bert-base", "tvm_fp32_sparse"), cpu_ms.get("fp32", 40.0)),
            (("bert-base", "ort_int8_dynamic"), 90.0),
        )
    ]


def test_avx2_bars_are_judged_on_ratios_and_ort_is_flagged_above_avx2_unless_cpuid_capped():
    lines = bm.avx2_bar_lines(_bar_records("avx2"), host_level="avx2")
    rows = {ln.split()[1]: ln for ln in lines[2:] if "/" in ln}
    assert rows["tvm_int8_sparse"].endswith("0.480 <= 0.5    yes")
    assert rows["ort_int8_dynamic"].endswith("3.750 >= 3.5    yes")
    assert rows["deepsparse_fp32"].endswith("1.250 >= 1.3    no")
    assert sum("INT8 min token cosine" in ln and ln.endswith("yes") for ln in lines) == 1
    # AVX2 code on a newer CPU: ORT took no cap, so its bar is not the AVX2 peer's
    lines = bm.avx2_bar_lines(_bar_records("avx2", int8=26.0), host_level="avx512_vnni")
    rows = {ln.split()[1]: ln for ln in lines[2:] if "/" in ln}
    assert rows["tvm_int8_sparse"].endswith("0.520 <= 0.5    no")
    assert "ORT ran avx512_vnni: not the bar's AVX2 peer" in rows["ort_int8_dynamic"]
    assert "ORT ran" not in rows["deepsparse_fp32"]
    # the same with the workers' CPUID capped at avx2: ORT ran its AVX2 kernels
    lines = bm.avx2_bar_lines(_bar_records("avx2", "avx2"), host_level="avx512_vnni")
    rows = {ln.split()[1]: ln for ln in lines[2:] if "/" in ln}
    verdict = "3.750 >= 3.5    yes (ORT's AVX2 kernels: CPUID capped)"
    assert rows["ort_int8_dynamic"].endswith(verdict)
    assert "CPUID" not in rows["tvm_int8_sparse"]
    # not an AVX2 run: no bars
    assert bm.avx2_bar_lines(_bar_records(None), host_level="avx512_vnni") == []


def test_worker_gets_one_thread_count():
    assert bm._forward(
        ["--models", "bert-mini", "bert-base", "--threads", "1", "2", "--rounds", "3"]
    ) == ["--rounds", "3"]
    assert bm._forward(["--threads=2", "--json", "x.json"]) == ["--json", "x.json"]


def test_worker_command_runs_this_script():
    cmd = bm.worker_command(["--rounds", "3"], 1, "bert-mini", "out.json")
    assert cmd[-6:] == ["--threads", "1", "--models", "bert-mini", "--worker-out", "out.json"]
    # the interpreter can start it (the worker used to be a module that no longer exists)
    done = subprocess.run([*cmd[:2], "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "End-to-end benchmark" in done.stdout


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        bm.parse_args(["--sparsities", "1.5"])
    with pytest.raises(SystemExit):
        bm.parse_args(["--models", "gpt-9"])


@pytest.mark.slow
def test_tiny_real_run(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("onnxruntime")
    out = tmp_path / "r.json"
    rc = bm.main(
        [
            "--models",
            "bert-mini",
            "--seq-len",
            "32",
            "--backends",
            "tvm_int8_sparse",
            "ort_fp32",
            "ort_int8_dynamic",
            "ort_int8_dynamic_no_amx",
            "tvm_int8_sparse_no_amx",
            "--rounds",
            "1",
            "--min-time",
            "0.05",
            "--work-dir",
            str(tmp_path),
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    records = json.loads(out.read_text())["records"]
    by = {r["backend"]: r for r in records}
    # ours INT8 runs on every CPU with AVX2; without AMX (checked against the reference) only on
    # a CPU that has AMX; the others are skipped with a line, not recorded
    ours = {"tvm_int8_sparse"} if host_has(AVX2) else set()
    assert set(by) == {"ort_fp32", "ort_int8_dynamic", "ort_int8_dynamic_no_amx"} | ours | (
        {"tvm_int8_sparse_no_amx"} if host_has(AMX_INT8) else set()
    )
    assert all(r["status"] == "ok" and r["p50_ms"] > 0 for r in records)
    if ours:
        assert by["tvm_int8_sparse"]["note"] == "24 Linear: 24 int8_4x1"
