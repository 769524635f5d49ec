"""ProducerTranspose and LayerNormQParams on whole models: FFN1 stores FFN2's input transposed,
LayerNorms measure their own output range (no range pass of their own)."""

from __future__ import annotations

import pytest
import tvm
from conftest import (
    CROSS_TARGETS,
    bert_mini_90_with_reference,
    level_target,
    requires_isa,
)
from tvm import relax
from tvm_blocksparse.relay_passes.kernel_calls import layer_report

import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.testing import min_token_cosine, onnxruntime_outputs


@requires_isa("avx512_vnni")
def test_static_bert_mini_has_no_range_pass_and_stays_accurate():
    pytest.importorskip("onnxruntime")
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    calib = [random_inputs(1, 64, pad=p, seed=s) for s, p in ((10, 0), (11, 6))]
    feeds = random_inputs(1, 64, pad=6, seed=6)
    ref = onnxruntime_outputs(model, feeds)[0]
    compiled = tb.compile(model, seq_len=64, dtype="int8", calibration=calib)
    rules = compiled.metadata["schedule_rules"]
    assert not any(name.startswith("dynamic_qparams") for name in rules)
    # FFN1 (+GELU) requantizes straight into FFN2's transposed u8 input: no quantize pass for FFN2
    assert any(name.startswith("int8_4x1_u8t_m64_n1024_k256") for name in rules)
    assert not any(name.startswith("quantize_transpose_u8_m64_k1024") for name in rules)
    # 4x1 layers of one shape and epilogue share one PrimFunc (symbolic group count)
    shared = sum(name.startswith("int8_4x1_") for name in rules)
    assert 0 < shared < sum(d["kernel"] == "int8_4x1" for d in compiled.report), (shared, rules)
    out = compiled.run(feeds)[0]
    assert min_token_cosine(out, ref) >= 0.99


@requires_isa("avx512_vnni")
def test_dynamic_ffn1_stores_ffn2_input_transposed_and_stays_accurate():
    """Dynamic quantization: FFN1 (+GELU) stores X^T in float32, so FFN2's input needs a range
    per token (column), here from the parts FFN1 returns, and a plain quantize, no
    quantize-transpose."""
    model, feeds, ref = bert_mini_90_with_reference()
    compiled = tb.compile(model, seq_len=64, dtype="int8")
    rules = compiled.metadata["schedule_rules"]
    # 64 tokens: FFN1 returns its tokens' range parts with h^T, and the range pass reads those
    assert any(name.startswith("int8_4x1_f32tr_m64_n1024_k256") for name in rules)
    assert any(name.startswith("quantize_u8_columns_k1024_m64") for name in rules)
    assert any(name.startswith("column_qparams_of_ranges_p") for name in rules)
    assert not any(name.startswith("dynamic_qparams_columns") for name in rules)
    assert not any(name.startswith("quantize_transpose_u8_m64_k1024") for name in rules)
    # 4x1 layers of one shape and epilogue share one PrimFunc (symbolic group count)
    shared = sum(name.startswith("int8_4x1_") for name in rules)
    assert 0 < shared < sum(d["kernel"] == "int8_4x1" for d in compiled.report), (shared, rules)
    # every LayerNorm is ours and measures its own output's range: the range passes left are
    # those of FFN1's output (FFN2's input) and of the attention output (the out-projection's)
    assert any(name.startswith("layer_norm_qparams_m64_k256") for name in rules)
    assert not any(
        name.startswith("layer_norm") and not name.startswith("layer_norm_qparams")
        for name in rules
    )
    assert any(name.startswith("dynamic_qparams_m64_k256") for name in rules)
    out = compiled.run(feeds)[0]
    assert min_token_cosine(out, ref) >= 0.99


def _calls(mod) -> list[str]:
    names = []
    call_tir = tvm.ir.Op.get("relax.call_tir")

    def visit(e):
        if isinstance(e, relax.Call) and e.op.same_as(call_tir):
            names.append(e.args[0].name_hint)

    relax.analysis.post_order_visit(mod["main"], visit)
    return names


def _rewrite(model, upto, static_ranges=None, seq_len=16):
    """The rewrite phase's first ``upto`` passes (IR only: runs on any host)."""
    from tvm_blocksparse.pipeline import rewrite_passes

    mod, *_ = import_onnx(model, 1, seq_len)
    passes = rewrite_passes("int8", static_ranges=static_ranges)[:upto]
    return tvm.transform.Sequential(passes)(mod)


def test_ffn1_is_re_emitted_to_store_ffn2_input_transposed_in_the_ir():
    """Dynamic ranges: FFN2's quantize-transpose of FFN1's token-major output becomes FFN1
    storing Y^T in float32, its per-column (= per-token) range pass and quantize; the report
    follows the callee."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)  # hidden 128, FFN 512, 16 tokens
    before, after = _rewrite(model, 2), _rewrite(model, 3)
    assert any(c.startswith("quantize_transpose_u8_m16_k512") for c in _calls(before))
    calls = _calls(after)
    assert not any(c.startswith("quantize_transpose_u8_m16_k512") for c in calls)
    assert calls.count("int8_4x1_f32t_m16_n512_k128") == 2  # both layers' FFN1
    assert any(c.startswith("dynamic_qparams_columns_k512_m16") for c in calls)
    assert any(c.startswith("quantize_u8_columns_k512_m16") for c in calls)
    ffn1 = [d for d in layer_report(after) if d.epilogue == "bias+gelu"]
    assert [d.callee for d in ffn1] == ["int8_4x1_f32t_m16_n512_k128"] * 2


def test_zmm_ffn1_returns_its_range_parts_with_ffn2_input_in_the_ir():
    """Dynamic ranges on the zmm level with 64-token tiles: FFN1 returns its tokens' range parts
    (one per 16 block rows of a row group) with ``h^T``, and FFN2's per-token parameters come
    from those parts, not from a range pass over ``h^T``; the report follows the callee. With
    16 tokens (no 64-token tile) the range pass stays."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)  # hidden 128, FFN 512
    for cores in (1, 2):
        with tvm.target.Target({**CROSS_TARGETS["avx512_vnni"], "num-cores": cores}):
            after = _rewrite(model, 3, seq_len=64)
        calls = _calls(after)
        assert calls.count("int8_4x1_f32tr_m64_n512_k128") == 2
        assert calls.count("column_qparams_of_ranges_p8_m64") == 2  # 128 block rows / 16
        assert calls.count("quantize_u8_columns_k512_m64") == 2
        assert not any(c.startswith("dynamic_qparams_columns") for c in calls)
        ffn1 = [d for d in layer_report(after) if d.epilogue == "bias+gelu"]
        assert [d.callee for d in ffn1] == ["int8_4x1_f32tr_m64_n512_k128"] * 2
    with tvm.target.Target(CROSS_TARGETS["avx512_vnni"]):
        calls = _calls(_rewrite(model, 3))
    assert calls.count("int8_4x1_f32t_m16_n512_k128") == 2
    assert any(c.startswith("dynamic_qparams_columns_k512_m16") for c in calls)


def avx2_target(cores: int) -> tvm.target.Target:
    return tvm.target.Target({**CROSS_TARGETS["avx2"], "num-cores": cores})


def test_ymm_ffn1_requantizes_its_own_output_into_ffn2_input_in_the_ir():
    """Dynamic ranges on an 8-lane level (the slab walk): FFN1 returns FFN2's ``XT`` and its
    per-token parameters from its own output's range, one call instead of a float ``Y^T``, a
    range pass and a quantize; FFN2 takes the three. Its tasks are token tiles: with 16 tokens
    (one tile) and 2 threads it keeps the three passes, which split between threads."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    with avx2_target(cores=1):
        after = _rewrite(model, 3)
    calls = _calls(after)
    assert calls.count("int8_4x1_u8dt_m16_n512_k128") == 2
    assert not any(
        c.startswith(("quantize_transpose_u8_m16_k512", "quantize_u8_columns", "dynamic_qparams_c"))
        for c in calls
    )
    ffn1 = [d for d in layer_report(after) if d.epilogue == "bias+gelu"]
    assert [d.callee for d in ffn1] == ["int8_4x1_u8dt_m16_n512_k128"] * 2
    with avx2_target(cores=2):
        calls = _calls(_rewrite(model, 3))
    assert calls.count("int8_4x1_f32t_m16_n512_k128") == 2
    assert any(c.startswith("quantize_u8_columns_k512_m16") for c in calls)


@requires_isa("avx2")
def test_avx2_bert_mini_ffn1_requantizes_ffn2_input_and_stays_accurate():
    model, feeds, ref = bert_mini_90_with_reference()
    compiled = tb.compile(model, seq_len=64, dtype="int8", target=level_target("avx2"))
    rules = compiled.metadata["schedule_rules"]
    assert any(name.startswith("int8_4x1_u8dt_m64_n1024_k256") for name in rules)
    assert not any(name.startswith(("quantize_u8_columns", "dynamic_qparams_c")) for name in rules)
    assert min_token_cosine(compiled.run(feeds)[0], ref) >= 0.99


def test_static_ranges_make_ffn1_requantize_into_ffn2_input():
    from tvm_blocksparse.onnx_import import calibrate_linear_inputs

    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    ranges = calibrate_linear_inputs(model, [random_inputs(1, 16, vocab=1000, seed=3)], 1, 16)
    calls = _calls(_rewrite(model, 3, ranges))
    assert calls.count("int8_4x1_u8t_m16_n512_k128") == 2
    assert not any(
        c.startswith(("quantize_transpose_u8_m16_k512", "quantize_u8_columns", "dynamic_qparams"))
        for c in calls
    )


def test_layer_norms_measure_the_range_of_what_they_feed():
    """After LayerNormQParams + SparsifyLinear: no range pass on a LayerNorm's output (Q/K/V and
    FFN1 take the LayerNorm's qparams); the range passes left are those of the attention output
    and of FFN1's output (until ProducerTranspose moves the latter)."""
    model = make_bert_onnx("tiny", seed=0, sparsity=0.9)
    calls = _calls(_rewrite(model, 2))
    assert calls.count("layer_norm_qparams_m16_k128") >= 2
    assert sorted(c for c in calls if c.startswith("dynamic_qparams")) == (
        ["dynamic_qparams_m16_k128"] * 2 + ["dynamic_qparams_m16_k512"] * 2
    )
