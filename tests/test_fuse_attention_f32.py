"""FuseAttentionF32, IR in / IR out: FP32 attention on FP32 4x1 projections -> one
attention_f32 call that writes the out-projection's tiles (Q re-emitted as Q^T, K head-major);
what it cannot take stays; every exporter's form runs like ONNX Runtime."""

import numpy as np
import onnx
import pytest
import tvm
from conftest import cross_target, level_target, requires_isa
from test_producer_transpose import _calls
from tvm_blocksparse.relay_passes.kernel_calls import attention_summary, layer_report

import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.pipeline import rewrite_passes
from tvm_blocksparse.testing import export_transformers_bert, min_token_cosine, onnxruntime_outputs

#: (attn_implementation, dynamo exporter): how transformers 5 BERTs reach ONNX
EXPORTS = [("eager", False), ("sdpa", False), ("sdpa", True)]


def _rewritten(batch: int = 1, tokens: int = 16, model=None):
    """The FP32 rewrite phase on an AVX2 target (IR only: runs on any host)."""
    model = model if model is not None else make_bert_onnx("tiny", seed=0, sparsity=0.9)
    mod, *_ = import_onnx(model, batch, tokens)
    with cross_target("avx2"):
        return tvm.transform.Sequential(rewrite_passes("fp32"))(mod)


def test_each_layer_becomes_one_fp32_attention_call_on_tiles():
    mod = _rewritten()
    calls = _calls(mod)
    assert attention_summary(mod)["fp32_fused"] == 2
    assert calls.count("attention_f32_s16_h2_d64") == 2  # both layers share the kernel
    for gone in ("softmax_rows", "stage_heads_tiles"):
        assert not any(c.startswith(gone) for c in calls), gone
    assert not any(
        "relax.matmul" in f.script() or "relax.nn.softmax" in f.script()
        for _, f in mod.functions_items()
        if isinstance(f, tvm.relax.Function)
    )
    # Q stores Q^T[N, S] (the K kernel's layout), K stores [H, S, d] (the V kernel's): the same
    # two kernels, each called twice per layer pair
    assert calls.count("fp32_4x1_keys_m16_n128_k128") == 2
    assert calls.count("fp32_4x1_heads_m16_n128_k128") == 4
    kernel = mod["attention_f32_s16_h2_d64"]
    assert [[int(d) for d in p.shape] for p in kernel.params] == [
        [128, 16],  # Q^T
        [2, 16, 64],  # K
        [2, 16, 64],  # V
        [16],  # the padding mask, per key
        [16 * 128],  # the out-projection's tiles
    ]
    # the layer report follows the re-emitted projections
    callees = {d.callee for d in layer_report(mod)}
    assert {"fp32_4x1_keys_m16_n128_k128", "fp32_4x1_heads_m16_n128_k128"} <= callees
    assert callees <= {gv.name_hint for gv in mod.get_global_vars()}


def test_attention_it_cannot_take_stays_with_tvm():
    """Batch 2 (the kernel is batch 1) and 20 tokens (S % 16: K stays token-major): TVM's
    matmuls and our softmax, as before."""
    for mod in (_rewritten(batch=2), _rewritten(tokens=20)):
        assert "fp32_fused" not in attention_summary(mod)
        assert not any(c.startswith("attention_f32") for c in _calls(mod))
        main = mod["main"].script()
        assert "softmax_rows" in main or "R.nn.softmax" in main


@pytest.mark.parametrize("view", ["tokens", "heads"])
def test_a_query_read_elsewhere_is_not_fused(view):
    """The first layer's queries are also a graph output, token-major (ProducerTiles leaves Q so)
    or per head (``[1, H, S, d]``: a reshape of the head-major kernel's output): storing Q^T for
    the attention alone would compute Q twice, so that layer keeps TVM's attention; the other
    fuses."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    nodes = list(model.graph.node)
    query = next(n for n in nodes if n.op_type == "Add" and "q.bias" in n.input[1])
    out, shape = query.output[0], [1, 16, 128]
    if view == "heads":
        split = next(n for n in nodes if out in n.input and n.op_type == "Reshape")
        perm = next(n for n in nodes if split.output[0] in n.input and n.op_type == "Transpose")
        out, shape = perm.output[0], [1, 2, 16, 64]
    model.graph.output.append(
        onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, shape)
    )
    mod = _rewritten(model=model)
    assert attention_summary(mod)["fp32_fused"] == 1
    assert _calls(mod).count("attention_f32_s16_h2_d64") == 1


@pytest.fixture(scope="module")
def pruned_exports(tmp_path_factory):
    """Each export form of one random BertModel (same weights), pruned to 90 % 4x1."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = tmp_path_factory.mktemp("exports")
    paths = {}
    for form in EXPORTS:
        dense = export_transformers_bert(str(out / f"{form[0]}_{form[1]}.onnx"), *form)
        paths[form] = str(out / f"{form[0]}_{form[1]}_90.onnx")
        tb.prune(dense, paths[form], 0.9, "4x1")
    return paths


@requires_isa("avx2")
@pytest.mark.parametrize("form", EXPORTS, ids=["eager-legacy", "sdpa-legacy", "sdpa-dynamo"])
def test_every_exporters_attention_fuses_and_runs_like_onnxruntime(pruned_exports, form):
    """Transformers' exports mask with a ``[1, 1, S, S]`` matrix (the kernel takes it
    transposed); SDPA exports scale Q and K^T by sqrt(scale) each and zero NaN rows; the dynamo
    exporter transposes K per head (already head-major: not re-emitted). Both layers fuse; with 9
    padded tokens, the real tokens match ORT FP32. (The eager dynamo export combines the first
    and the third's forms.)"""
    feeds = random_inputs(1, 64, vocab=1000, pad=9, seed=4)
    model = tb.compile(pruned_exports[form], seq_len=64, dtype="fp32", target=level_target("avx2"))
    assert model.metadata["attention"]["fp32_fused"] == 2
    assert (
        sum(
            n.startswith("attention_f32_s64_h2_d64_maskt") for n in model.metadata["schedule_rules"]
        )
        == 1
    )
    out = model.run(feeds)[0][:, :55]
    ref = onnxruntime_outputs(onnx.load(pruned_exports[form]), feeds)[0][:, :55]
    assert min_token_cosine(out, ref) >= 0.99999
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
