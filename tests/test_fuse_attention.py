"""FuseAttention, IR in / IR out: self-attention -> one attention_int8 call; the summary on the
module says how many layers and why others stay FP32 (IR only: runs on any host)."""

import numpy as np
import onnx
import pytest
import tvm
from conftest import requires_isa
from tvm import relax
from tvm_blocksparse.relay_passes import FuseAttention
from tvm_blocksparse.relay_passes.fuse_attention import attention_level
from tvm_blocksparse.relay_passes.kernel_calls import attention_summary

import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.pipeline import rewrite_passes
from tvm_blocksparse.target import host_target
from tvm_blocksparse.testing import (
    export_transformers_bert,
    min_token_cosine,
    onnxruntime_outputs,
)

#: (attn_implementation, dynamo exporter): how transformers 5 BERTs reach ONNX
EXPORTS = [("eager", False), ("sdpa", False), ("sdpa", True), ("eager", True)]


def _rewritten(batch: int, **options):
    mod, *_ = import_onnx(make_bert_onnx("tiny", seed=0, sparsity=0.9), batch, 16)
    return tvm.transform.Sequential(rewrite_passes("int8", **options))(mod)


def _callees(mod) -> list[str]:
    return [gv.name_hint for gv in mod.get_global_vars()]


def test_each_layer_becomes_one_int8_attention_call():
    mod = _rewritten(1)
    assert attention_summary(mod) == {"int8_fused": 2, "left_fp32": []}
    attention = [name for name in _callees(mod) if name.startswith("attention_int8")]
    # both layers share the kernel of the host's vector path: zmm, ymm with the VEX vpdpbusd
    # (AVX-VNNI), or ymm with vpmaddubsw (AVX2)
    suffix = {"avx512_vnni": "", "avx_vnni": "_ymm_vnni", "avx2": "_ymm"}
    assert attention == ["attention_int8_s16_h2_d64" + suffix[attention_level(host_target())]]
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


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Each export form of one random BertModel (same weights), exported once."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = tmp_path_factory.mktemp("exports")
    return {
        form: export_transformers_bert(str(out / f"{form[0]}_{form[1]}.onnx"), *form)
        for form in EXPORTS
    }


@pytest.mark.parametrize(
    "form", EXPORTS, ids=[f"{a}-{'dynamo' if d else 'legacy'}" for a, d in EXPORTS]
)
def test_every_exporters_attention_becomes_int8(exports, form):
    """Eager exports scale the scores; SDPA exports scale Q and K^T by sqrt(scale) each, mask
    with where(keep, 0, -inf) and zero NaN rows after the softmax; the dynamo exporter
    transposes K per head through [H, S, d]. Every form fuses, both layers."""
    mod, *_ = import_onnx(exports[form], 1, 64)
    mod = tvm.transform.Sequential(rewrite_passes("int8"))(mod)
    assert attention_summary(mod) == {"int8_fused": 2, "left_fp32": []}


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("form", EXPORTS[1:3], ids=["sdpa-legacy", "sdpa-dynamo"])
def test_sdpa_exports_run_int8_attention_like_the_eager_export(exports, form):
    """With padding (the -inf mask of SDPA exports): per-token cosine to ORT FP32 >= 0.999 on
    the real tokens, and the same outputs as the eager export of the same weights to 1e-4."""
    feeds = random_inputs(1, 64, vocab=1000, pad=9, seed=4)
    outs = {}
    for f in (("eager", False), form):
        model = tb.compile(exports[f], seq_len=64, dtype="int8")
        assert model.metadata["attention"] == {"int8_fused": 2, "left_fp32": []}
        outs[f] = model.run(feeds)[0][:, :55]
    ref = onnxruntime_outputs(onnx.load(exports[form]), feeds)[0][:, :55]
    assert min_token_cosine(outs[form], ref) >= 0.999
    np.testing.assert_allclose(outs[form], outs[("eager", False)], atol=1e-4, rtol=0)


def test_a_softmax_outside_any_attention_pattern_is_reported():
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 4, 16, 16), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            y = bb.emit_output(relax.op.nn.softmax(x))
        bb.emit_func_output(y)
    summary = attention_summary(FuseAttention()(bb.get()))
    assert summary["int8_fused"] == 0
    assert summary["left_fp32"] == [
        "softmax of shape [1, 4, 16, 16] is not in an attention graph we recognise (eager, SDPA "
        "or dynamo exports of BERT-family self-attention)"
    ]
