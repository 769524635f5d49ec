"""ScheduleKernels: our kernels enter the module unscheduled and tagged; the schedule phase
gives each its registry entry's (or op's) schedule (IR only: runs on any host)."""

import tvm
from tvm_blocksparse.relay_passes import ScheduleKernels
from tvm_blocksparse.relay_passes.kernel_calls import KERNEL_ATTR, NAME_ATTR
from tvm_blocksparse.relay_passes.schedule_kernels import is_scheduled
from tvm_blocksparse.schedules.cpu_rules import RULE_ATTR

from tvm_blocksparse.bert_onnx import make_bert_onnx
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.pipeline import rewrite_passes


def _ours(mod):
    return {
        gv.name_hint: f
        for gv, f in mod.functions_items()
        if isinstance(f, tvm.tirx.PrimFunc) and f.attrs is not None and KERNEL_ATTR in f.attrs
    }


def test_kernels_are_scheduled_by_their_registry_entry_or_op():
    mod, *_ = import_onnx(make_bert_onnx("tiny", seed=0, sparsity=0.9), 1, 16)
    with tvm.target.Target({"kind": "llvm", "mcpu": "icelake-server", "num-cores": 2}):
        mod = tvm.transform.Sequential(rewrite_passes("int8"))(mod)
        before = _ours(mod)
        assert before and not any(is_scheduled(f) for f in before.values())
        after = _ours(ScheduleKernels()(mod))
    assert set(after) == set(before) and all(is_scheduled(f) for f in after.values())
    kinds = {name: str(f.attrs[KERNEL_ATTR]) for name, f in after.items()}
    assert set(kinds.values()) == {
        "int8_4x1",
        "quantize_transpose_u8",
        "dynamic_qparams",
        "dynamic_qparams_columns",
        "quantize_u8_columns",
        "layer_norm_qparams",
        "attention_int8",
    }
    for name, f in after.items():
        assert str(f.attrs[RULE_ATTR]) == str(f.attrs[NAME_ATTR]).split("_m")[0]
        if kinds[name] == "int8_4x1":  # tensorized onto vpdpbusd, the register tile unrolled
            assert "llvm.x86.avx512.vpdpbusd.512" in f.script() and "T.unroll" in f.script()
