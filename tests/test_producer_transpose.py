"""ProducerTranspose and LayerNormQParams on whole models: FFN1 stores FFN2's input transposed,
LayerNorms measure their own output range (no range pass of their own)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_isa

import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs


@requires_isa("avx512_vnni")
def test_static_bert_mini_has_no_range_pass_and_stays_accurate():
    ort = pytest.importorskip("onnxruntime")
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    calib = [random_inputs(1, 64, pad=p, seed=s) for s, p in ((10, 0), (11, 6))]
    feeds = random_inputs(1, 64, pad=6, seed=6)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, feeds
    )[0]
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
    cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cos.min() >= 0.99, cos.min()


@requires_isa("avx512_vnni")
def test_dynamic_ffn1_stores_ffn2_input_transposed_and_stays_accurate():
    """Dynamic quantization: FFN1 (+GELU) stores X^T in float32, so FFN2's input needs a range
    pass and a plain quantize, no quantize-transpose."""
    ort = pytest.importorskip("onnxruntime")
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 64, pad=6, seed=6)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, feeds
    )[0]
    compiled = tb.compile(model, seq_len=64, dtype="int8")
    rules = compiled.metadata["schedule_rules"]
    assert any(name.startswith("int8_4x1_f32t_m64_n1024_k256") for name in rules)
    assert any(name.startswith("quantize_u8_m1024_k64") for name in rules)
    assert any(name.startswith("dynamic_qparams_m1024_k64") for name in rules)
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
    cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cos.min() >= 0.99, cos.min()
