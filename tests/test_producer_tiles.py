"""ProducerTiles: an FP32 4x1 FFN1 stores FFN2's input in token tiles, FFN2 reads them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import tvm
from conftest import bert_mini_90_with_reference, cross_target, level_target, requires_isa
from test_producer_transpose import _calls
from tvm_blocksparse.relay_passes.kernel_calls import layer_report

import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.pipeline import rewrite_passes


def _passes_to_tiles() -> list:
    """The FP32 rewrite phase without FuseAttentionF32 (which takes attention's tiles over)."""
    return [p for p in rewrite_passes("fp32") if p.info.name != "FuseAttentionF32"]


def _rewrite_fp32(model, with_tiles: bool):
    """FP32 rewrite phase on an AVX2 target (the FP32 cost model picks ``fp32_4x1`` there), up to
    and without or with ProducerTiles (IR only: runs on any host)."""
    mod, *_ = import_onnx(model, 1, 16)
    passes = [p for p in _passes_to_tiles() if with_tiles or p.info.name != "ProducerTiles"]
    with cross_target("avx2"):
        return tvm.transform.Sequential(passes)(mod)


def _ffn2_inputs(model: onnx.ModelProto) -> list[str]:
    """The input of each FFN2 MatMul (its weight ``[F, H]`` with ``F > H``): FFN1's output."""
    inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
    return [
        node.input[0]
        for node in model.graph.node
        if node.op_type == "MatMul"
        and len(inits.get(node.input[1], ())) == 2
        and inits[node.input[1]][0] > inits[node.input[1]][1]
    ]


def test_ffn1_stores_ffn2_input_in_tiles_in_the_ir():
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)  # hidden 128, FFN 512, 16 tokens, 2 layers
    before = _calls(_rewrite_fp32(model, False))
    assert before.count("fp32_4x1_m16_n512_k128") == 2
    after_mod = _rewrite_fp32(model, True)
    after = _calls(after_mod)
    assert after.count("fp32_4x1_tiles_m16_n512_k128") == 2
    assert after.count("fp32_4x1_xtiles_m16_n128_k512") == 2
    assert "fp32_4x1_m16_n512_k128" not in after and "fp32_4x1_m16_n128_k512" not in after
    ffn1 = [d.callee for d in layer_report(after_mod) if d.epilogue == "bias+gelu"]
    assert ffn1 == ["fp32_4x1_tiles_m16_n512_k128"] * 2
    ffn2 = [d.callee for d in layer_report(after_mod) if d.k_in == 512]
    assert ffn2 == ["fp32_4x1_xtiles_m16_n128_k512"] * 2


def test_q_k_v_share_one_staging_of_their_input():
    """Q, K and V read one LayerNorm output: it is staged into tiles once per layer (the three
    identical calls merged), and all three read the tiles (K stores K^T's rows, Q and V store
    head-major); the out-projection reads tiles staged from the attention's heads."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    mod = _rewrite_fp32(model, True)
    calls = _calls(mod)
    assert calls.count("stage_x_tiles_m16_k128") == 2
    assert calls.count("fp32_4x1_heads_m16_n128_k128") == 4  # Q and V of two layers
    assert calls.count("fp32_4x1_keys_m16_n128_k128") == 2  # K
    assert calls.count("fp32_4x1_xtiles_m16_n128_k1281") == 2  # the out-projections
    for name in ("fp32_4x1_keys_m16_n128_k128", "fp32_4x1_heads_m16_n128_k128"):
        kernel = mod[name]
        assert [int(d) for d in kernel.params[0].shape] == [16 * 128]  # the staged tiles
        assert "stage_x" not in kernel.script()
    queries = mod["fp32_4x1_heads_m16_n128_k128"]
    assert [int(d) for d in queries.params[-1].shape] == [2, 16, 64]  # [heads, S, D]


def _permutes(mod) -> list:
    """Every ``permute_dims`` call in main."""
    from tvm import relax

    permute = tvm.ir.Op.get("relax.permute_dims")
    found = []

    def visit(e):
        if isinstance(e, relax.Call) and e.op.same_as(permute):
            found.append(e)

    relax.analysis.post_order_visit(mod["main"], visit)
    return found


def _head_splits(mod) -> int:
    """How many ``permute_dims(.., [0, 2, 1, 3])`` (attention's per-head Q / V) main has."""
    return [[int(a) for a in p.attrs.axes] for p in _permutes(mod)].count([0, 2, 1, 3])


def test_a_query_used_elsewhere_stays_token_major():
    """The first layer's Q projection is also a graph output: re-emitting it head-major for the
    attention alone would compute it twice, so it stays token-major."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    query = next(n for n in model.graph.node if n.op_type == "Add" and "q.bias" in n.input[1])
    model.graph.output.append(
        onnx.helper.make_tensor_value_info(query.output[0], onnx.TensorProto.FLOAT, [1, 16, 128])
    )
    calls = _calls(_rewrite_fp32(model, True))
    assert calls.count("fp32_4x1_heads_m16_n128_k128") == 3


def test_an_ffn1_output_used_elsewhere_stays_token_major():
    """FFN1's output of the first layer is also a graph output: re-emitting FFN1 for FFN2 alone
    would compute it twice, so that pair is left as it was; the other layer's pair is tiled."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    first = _ffn2_inputs(model)[0]
    model.graph.output.append(
        onnx.helper.make_tensor_value_info(first, onnx.TensorProto.FLOAT, [1, 16, 512])
    )
    calls = _calls(_rewrite_fp32(model, True))
    assert calls.count("fp32_4x1_tiles_m16_n512_k128") == 1
    assert calls.count("fp32_4x1_m16_n512_k128") == 1
    assert calls.count("fp32_4x1_xtiles_m16_n128_k512") == 1


def _key_transposes(mod) -> list[str]:
    """Input kinds of each ``permute_dims(.., [0, 2, 3, 1])`` (attention's ``K^T``) in main."""
    from tvm import relax

    var2val = relax.analysis.get_var2val(mod["main"])
    return [
        ([int(a) for a in p.attrs.axes], str(var2val[p.args[0]].args[0].ty.shape))
        for p in _permutes(mod)
    ]


@pytest.mark.parametrize("tokens", [16, 64])  # one 16-token tile; two of 24 and one of 16
def test_attention_keys_are_stored_transposed_when_the_tokens_fill_the_tiles(tokens):
    """K's projection stores ``K^T[H, S]`` (each channel's tokens in one row, as its register
    tiles hold them), so K^T for the attention is a reshape, not a permute of single floats. Q
    and V's per-head ``permute_dims(reshape(y, [1, S, H, D]), [0, 2, 1, 3])`` become reshapes of
    their kernels' head-major ``[H, S, D]``; the attention output's own merge of the heads goes
    too (the out-projection's tiles are staged from the heads)."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)  # 2 heads of 64
    mod, *_ = import_onnx(model, 1, tokens)
    passes = _passes_to_tiles()
    with cross_target("avx2"):
        before = tvm.transform.Sequential([p for p in passes if p.info.name != "ProducerTiles"])(
            mod
        )
        after = tvm.transform.Sequential(passes)(mod)
    assert [a for a, _ in _key_transposes(before)].count([0, 2, 3, 1]) == 2
    keys = f"fp32_4x1_keys_m{tokens}_n128_k128"
    assert _calls(after).count(keys) == 2  # the two layers' K
    assert [int(d) for d in after[keys].params[-1].shape] == [128, tokens]  # Y^T[H, S]
    assert _permutes(after) == []
    assert _head_splits(before) == 2 * 3
    assert _calls(after).count(f"stage_heads_tiles_m{tokens}_k128") == 2


def test_attention_keys_of_a_token_tail_stay_token_major():
    """20 tokens: the second tile would hold 12 padded tokens; K stays token-major (Q and V are
    still stored head-major)."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    mod, *_ = import_onnx(model, 1, 20)
    with cross_target("avx2"):
        mod = tvm.transform.Sequential(_passes_to_tiles())(mod)
    assert "fp32_4x1_keys_m20_n128_k128" not in _calls(mod)
    assert [a for a, _ in _key_transposes(mod)].count([0, 2, 3, 1]) == 2
    # Q and V store head-major at any token count (the tail tile's stores are guarded)
    assert _calls(mod).count("fp32_4x1_heads_m20_n128_k128") == 4
    # the out-projection's input is staged from the attention's heads, padded tokens and all
    assert _head_splits(mod) == 0
    assert _calls(mod).count("stage_heads_tiles_m20_k128") == 2


@requires_isa("avx2")
def test_avx2_fp32_bert_mini_on_tiles_matches_onnxruntime():
    model, feeds, ref = bert_mini_90_with_reference()
    compiled = tb.compile(model, seq_len=64, dtype="fp32", target=level_target("avx2"))
    rules = compiled.metadata["schedule_rules"]
    assert any(name.startswith("fp32_4x1_tiles_m64_n1024_k256") for name in rules)
    assert any(name.startswith("fp32_4x1_xtiles_m64_n256_k1024") for name in rules)
    # Q^T and head-major K for the fused attention (FuseAttentionF32), which stores the
    # out-projection's tiles (Q, K, V on the shared staging)
    assert any(name.startswith("fp32_4x1_keys_m64_n256_k256") for name in rules)
    assert any(name.startswith("attention_f32_s64_h4_d64") for name in rules)
    assert sum(name.startswith("fp32_4x1_xtiles_m64_n256_k256") for name in rules) >= 1
    assert not any(name.startswith(("softmax_rows", "stage_heads")) for name in rules)
    # LayerNormQParams runs in FP32 mode too (its parameters unused): no TVM LayerNorm left
    assert any(name.startswith("layer_norm_qparams_m64_k256") for name in rules)
    assert not any(name.startswith("layer_norm") and "qparams" not in name for name in rules)
    out = compiled.run(feeds)[0]
    assert np.abs(out - ref).max() / np.abs(ref).max() <= 1e-4


def test_a_key_like_permute_of_a_tuple_item_is_left_alone():
    """``permute_dims(.., [0, 2, 3, 1])`` of a var bound to a tuple item (not a reshape, not a
    call): the pass leaves it unchanged instead of failing on it."""
    from tvm import relax
    from tvm_blocksparse.relay_passes import ProducerTiles

    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 16, 2, 64), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            parts = bb.emit(relax.op.split(x, 2, axis=2))
            half = bb.emit(relax.TupleGetItem(parts, 0))
            out = bb.emit_output(relax.op.permute_dims(half, [0, 2, 3, 1]))
        bb.emit_func_output(out)
    before = bb.get()
    tvm.ir.assert_structural_equal(ProducerTiles()(before)["main"].body, before["main"].body)
