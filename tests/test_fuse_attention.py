"""FuseAttention, IR in / IR out: self-attention -> one attention_int8 call; the summary on the
module says how many layers and why others stay FP32 (IR only: runs on any host)."""

import tvm
from tvm_blocksparse.relay_passes.kernel_calls import attention_summary

from tvm_blocksparse.bert_onnx import make_bert_onnx
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.pipeline import rewrite_passes


def _rewritten(batch: int, **options):
    mod, *_ = import_onnx(make_bert_onnx("tiny", seed=0, sparsity=0.9), batch, 16)
    return tvm.transform.Sequential(rewrite_passes("int8", **options))(mod)


def _callees(mod) -> list[str]:
    return [gv.name_hint for gv in mod.get_global_vars()]


def test_each_layer_becomes_one_int8_attention_call():
    mod = _rewritten(1)
    assert attention_summary(mod) == {"int8_fused": 2, "left_fp32": []}
    assert "attention_int8_s16_h2_d64" in _callees(mod)  # both layers share the kernel
    assert not any(
        isinstance(f, tvm.relax.Function) and "relax.nn.softmax" in f.script()
        for _, f in mod.functions_items()
    )


def test_batch_2_keeps_fp32_attention_and_says_why():
    mod = _rewritten(2)
    summary = attention_summary(mod)
    assert (
        summary["int8_fused"] == 0
        and summary["left_fp32"] == ["attention output [2, 16, 2, 64]: batch 1 only"] * 2
    )
    assert not any(name.startswith("attention_int8") for name in _callees(mod))


def test_int8_attention_off_leaves_no_summary():
    assert attention_summary(_rewritten(1, int8_attention=False)) == {
        "int8_fused": 0,
        "left_fp32": [],
    }
