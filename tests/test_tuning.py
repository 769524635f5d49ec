"""MetaSchedule tuning: design space, real-index argument allocation, a tuning smoke run whose
database the compiler applies with unchanged outputs."""

import json
import os

import numpy as np
import pytest
import tvm
from conftest import cross_target, requires_isa
from tvm.s_tir import meta_schedule as ms

import tvm_blocksparse as tb
from tvm_blocksparse import linear, registry, tuning
from tvm_blocksparse.isa import AMX_INT8
from tvm_blocksparse.op import quantize
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.target import host_target
from tvm_blocksparse.testing import random_block_sparse
from tvm_blocksparse.tuning import KernelUse

#: The LLVM op a tensorized INT8 dot step calls, per ISA level of the kernel (FP32: an FMA).
INT8_DOT_CALL = {"avx2": "pmadd.ub.sw", "avx_vnni": "vpdpbusd", "avx512_vnni": "vpdpbusd"}


def _task(kind, m=32, n=64, k=64, sparsity=0.8, target=None, float_weights=False):
    rng = np.random.default_rng(0)
    w = random_block_sparse(
        rng,
        n,
        k,
        sparsity,
        "4x1" if kind != "fp32_1x16" else "1x16",
        dtype=np.int8 if kind.startswith("int8") and not float_weights else np.float32,
    )
    ep = Epilogue("float32", bias=True)
    target = target or host_target()
    _, _, arrays = linear.prepare_linear(kind, w, m, ep, target=target)
    return tuning.tasks_from_uses([KernelUse(kind, m, n, k, ep, arrays)], target)[0]


def _design_space(task, target):
    mod = tvm.IRModule({"main": task.func(task.default_variant())})
    ctx = ms.TuneContext(
        mod,
        target=target,
        space_generator=tuning.space_generator(task.spec),
        search_strategy=ms.search_strategy.ReplayTrace(),
        task_name=task.kind,
    )
    (space,) = ctx.generate_design_space()
    return str(space.trace), space.mod.script()


@pytest.mark.parametrize("kind", ["int8_4x1", "int8_dense", "fp32_1x16"])
def test_design_space_is_our_tensorized_schedule_with_a_sampled_parallel_split(kind):
    task = _task(kind)
    trace, script = _design_space(task, host_target())
    assert task.spec is registry.lookup(kind, host_target())
    assert "sample_perfect_tile" in trace
    if task.spec.isa is AMX_INT8:  # dense INT8 on an AMX host:
        assert "tdpbusd" in script and "vpdpbusd" in script  # written with tile intrinsics
        return
    assert "tensorize" in trace
    dot_call = "fma" if kind == "fp32_1x16" else INT8_DOT_CALL[task.spec.isa.name]
    assert dot_call in script  # the tensorized body calls our intrinsic's LLVM op


@pytest.mark.parametrize("level", ["avx2", "avx_vnni", "avx512_vnni", "amx_int8"])
@pytest.mark.parametrize("kind", ["int8_4x1", "int8_dense"])
def test_tasks_build_and_schedule_the_kernel_of_their_targets_level(kind, level):
    """A task is the kernel its target runs (say dense INT8 on an AVX-512 VNNI CPU), not the
    highest level registered (the AMX tiles): the design space of each level's task is that
    level's schedule. Generated, never executed: any host checks every level."""
    target = cross_target(level)
    task = _task(kind, target=target, float_weights=True)  # quantized for the level's kernel
    assert task.spec is registry.lookup(kind, target)
    assert tuning.KernelTask.from_json(task.to_json(), target).spec is task.spec
    trace, script = _design_space(task, target)
    if task.spec.isa is AMX_INT8:
        assert "tdpbusd" in script
    else:
        assert "tensorize" in trace and "tdpbusd" not in script
        assert INT8_DOT_CALL[task.spec.isa.name] in script


def test_real_weight_arguments_use_the_layer_indices_and_refuse_unknown_signatures():
    task = _task("int8_4x1")
    func = task.func(registry.Bsr4x1Config(16))
    alloc = tuning.RealWeightArguments()
    alloc.add(func, task.arrays)
    info = tuning.args_info(func)
    arrays = alloc.arrays_for(info)
    names = [p.name for p in func.params]
    for name in ("w_xt_offsets", "w_group_ptr", "w_data"):
        np.testing.assert_array_equal(arrays[names.index(name)], task.arrays[name])
    offsets = arrays[names.index("w_xt_offsets")]  # in bounds: every XT row offset is the real one
    assert (
        offsets.max() < task.k * quantize.padded_tokens(task.m)
        and not (offsets % quantize.padded_tokens(task.m)).any()
    )
    assert arrays[names.index("w_group_ptr")][-1] == task.blocks
    with pytest.raises(KeyError, match="refusing random"):
        alloc.arrays_for([*info[:-1], ["TENSOR", "float32", [1, 1]]])
    # cloudpickle carries it into MetaSchedule's runner workers
    import cloudpickle

    assert cloudpickle.loads(cloudpickle.dumps(alloc)).table.keys() == alloc.table.keys()


def test_tuning_directory_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="tuning directory"):
        tuning.TunedKernels(str(tmp_path), host_target())
    with pytest.raises(ValueError, match="HOST:PORT:KEY"):
        tuning._parse_rpc("localhost")


def test_records_are_ranked_by_their_median_not_the_databases_mean(tmp_path):
    # The database orders records by mean run time, we rank by the median: a record with one slow
    # repeat (median 1 ms, mean 4 ms) must beat a steady 2 ms one, for the best and the default.
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo
    from tvm.s_tir.meta_schedule.database import TuningRecord

    task = _task("int8_4x1")
    with open(tmp_path / tuning.TASKS_FILE, "w") as f:
        json.dump({task.key: task.to_json()}, f)
    func = task.func(task.default_variant())
    db = ms.database.JSONDatabase(work_dir=str(tmp_path))
    workload = db.commit_workload(tvm.IRModule({"main": func}))
    trace = tuning.default_trace_schedule(task.spec, func).trace
    for secs in ([2e-3, 2e-3, 2e-3], [1e-3, 1e-3, 10e-3]):
        db.commit_tuning_record(
            TuningRecord(trace, workload, secs, host_target(), ArgInfo.from_prim_func(func))
        )
    tuned = tuning.TunedKernels(str(tmp_path), host_target())
    known = tuned.tasks[task.key]
    assert tuned.best(known)[2] == pytest.approx(1.0)
    assert tuned.default_ms(known) == pytest.approx(1.0)


_BUILD_A_CANDIDATE = """
import sys
import numpy as np
import tvm
from tvm.s_tir import Schedule
from tvm_blocksparse import linear, tuning
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.target import level_target
from tvm_blocksparse.testing import random_block_sparse

tuning.import_ours()  # what the builder workers run first
target = level_target("avx2")
rng = np.random.default_rng(0)
w = random_block_sparse(rng, 64, 64, 0.8, "4x1", dtype=np.float32)
ep = Epilogue("float32", bias=True)
_, _, arrays = linear.prepare_linear("fp32_4x1", w, 16, ep, target=target)
task = tuning.tasks_from_uses([tuning.KernelUse("fp32_4x1", 16, 64, 64, ep, arrays)], target)[0]
func = task.func(task.default_variant())
sch = Schedule(func)
task.spec.schedule(sch)
lib = tuning.build_candidate(sch.mod, target, None)
alloc = tuning.RealWeightArguments()
alloc.add(func, task.arrays)
host = alloc.arrays_for(tuning.args_info(func))
args = [tvm.runtime.tensor(a) for a in host]
lib["main"](*args)
names = [p.name for p in func.params]
x, bias = host[names.index("X")], host[names.index("bias")]
np.testing.assert_allclose(args[-1].numpy(), x @ w.T + bias, rtol=1e-5, atol=1e-4)
print("tvm.s_tir.tensor_intrin" in sys.modules)
"""


@requires_isa("avx2")
def test_builder_workers_build_without_tvms_tensor_intrinsics():
    """``build_candidate`` (the builder workers' build) gives a working kernel without importing
    ``tvm.s_tir.tensor_intrin``: MetaSchedule's default build imports it, slowly, in every fresh
    worker, and LocalBuilder starts fresh workers for every batch. A fresh process, as a worker."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _BUILD_A_CANDIDATE], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False"]


@pytest.mark.slow
@requires_isa("avx512_vnni")
def test_tune_smoke_then_compile_with_the_database(tmp_path, monkeypatch):
    from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs

    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    work = str(tmp_path / "tune")
    opts = dict(seq_len=16, dtype="int8")
    scratch = tmp_path / "tmp"  # the builder workers' temp directories go here
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    rows = tb.tune(model, work, trials=4, progress=None, **opts)
    assert not list(scratch.glob("*/tvm_tmp_mod*")), "built candidates left in the temp directory"
    records = open(os.path.join(work, "database_tuning_record.json")).read().strip().splitlines()
    assert len(records) >= len(rows)  # at least every shape's default, plus the search's
    for row in rows:
        assert row["best_ms"] <= row["default_ms"]  # the default is a candidate
    feeds = random_inputs(1, 16, vocab=1000, seed=3)
    default = tb.compile(model, **opts)
    tuned = tb.compile(model, tuning_db=work, **opts)
    applied = tuned.metadata["tuned_kernels"]  # every shape: a tuned record or "default kept"
    assert set(applied) == {r["kernel"] for r in rows}
    assert all(v.startswith(("tuned", "default kept")) for v in applied.values())
    n_tuned = sum(v.startswith("tuned") for v in applied.values())
    assert sum(d["schedule"].startswith("tuned") for d in tuned.report) >= n_tuned
    assert all(
        d["schedule"] == "default" or d["schedule"].startswith("tuned") for d in tuned.report
    )
    np.testing.assert_array_equal(tuned.run(feeds)[0], default.run(feeds)[0])
    # resumable: a second run finds the defaults measured and adds nothing without trials
    before = len(records)
    tb.tune(model, work, trials=0, progress=None, **opts)
    after = open(os.path.join(work, "database_tuning_record.json")).read().strip().splitlines()
    assert len(after) == before
    assert json.load(open(os.path.join(work, tuning.TASKS_FILE))).keys() == {
        r["kernel"] for r in rows
    }


def test_tasks_are_the_linear_kernels_in_the_rewritten_ir():
    """Extraction reads the IR after the rewrite phase: the transposed FFN1 that FFN2 reads is a
    task, the token-major FFN1 it replaced is not (it is never called)."""
    from tvm_blocksparse.bert_onnx import make_bert_onnx

    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    target = {"kind": "llvm", "mcpu": "icelake-server", "num-cores": 2}  # built for, never run
    tasks = tuning.extract_tasks(model, seq_len=16, dtype="int8", target=target)
    keys = {t.key: t.layers for t in tasks}
    assert keys == {
        "int8_4x1_m16_n128_k128_float32_bias": 4,  # Q, V (x2 layers)
        "int8_4x1_m16_n128_k128_float32_bias_t": 2,  # K, stored transposed for attention
        "int8_4x1_m16_n128_k128_float32_bias_residual": 2,  # attention output
        "int8_4x1_m16_n512_k128_float32_bias_gelu_t": 2,  # FFN1, stored transposed for FFN2
        "int8_4x1_m16_n128_k512_float32_bias_residual": 2,  # FFN2
    }
    assert all(set(t.arrays) >= {"w_data", "w_xt_offsets", "w_group_ptr"} for t in tasks)


_WITHOUT_TUNE_EXTRA = """
import importlib.abc, sys, warnings

class NoTuneExtra(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"xgboost", "cloudpickle", "psutil", "tornado"}:
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, NoTuneExtra())
warnings.simplefilter("ignore")
import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.cli import main

model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
compiled = tb.compile(model, seq_len=16, dtype="int8")
print(compiled.run(random_inputs(1, 16, vocab=1000))[0].shape)
try:
    tb.tune(model, "unused", trials=1, seq_len=16)
except ImportError as err:
    print("ImportError:", err)
import onnx
onnx.save(model, "tiny.onnx")
print("cli", main(["tune", "tiny.onnx", "--work-dir", "unused", "--seq-len", "16"]))
"""


def test_base_install_runs_models_and_tuning_names_its_extra(tmp_path):
    """Without the ``tune`` extra (xgboost, cloudpickle, psutil, tornado made unimportable): a
    model compiles and runs; ``tune`` and ``tvm-blocksparse tune`` say what to install."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TUNE_EXTRA],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "(1, 16, 128)"
    assert lines[1].startswith("ImportError: tuning needs xgboost, cloudpickle, psutil, tornado")
    assert "pip install 'tvm-blocksparse[tune]'" in lines[1]
    assert lines[2] == "cli 2" and "tvm-blocksparse[tune]" in out.stderr
