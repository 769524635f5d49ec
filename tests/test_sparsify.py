"""SparsifyDense (IR in / IR out), the compile API on whole models, export/load, inspect, prune,
CLI and bad input."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import onnx
import pytest
import tvm
from onnx import TensorProto, helper, numpy_helper
from tvm import relax

import tvm_blocksparse as tb
from tvm_blocksparse import format as fmt
from tvm_blocksparse import registry
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.onnx_import import OnnxImportError, import_onnx, index_input_bounds
from tvm_blocksparse.relay_passes.sparsify import SparsifyDense
from tvm_blocksparse.testing import gelu_ref, int8_linear_ref

from conftest import requires_isa

TOKENS = 16


# ----------------------------------------------------------------------------- IR in / IR out


def _linear_module(w_kn: np.ndarray, bias=True, gelu=False, residual=False, weight_const=True, half=0.5):
    k, n = w_kn.shape
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, TOKENS, k), str(w_kn.dtype)))
    params = [x]
    if not weight_const:
        wv = relax.Var("w", relax.TensorType((k, n), str(w_kn.dtype)))
        params.append(wv)
    r = relax.Var("r", relax.TensorType((1, TOKENS, n), "float32"))
    if residual:
        params.append(r)
    with bb.function("main", params):
        with bb.dataflow():
            y = bb.emit(relax.op.matmul(x, relax.const(w_kn) if weight_const else wv))
            if bias:
                y = bb.emit(relax.op.add(y, relax.const(np.linspace(-1, 1, n).astype(np.float32))))
            if gelu:
                e = relax.op.erf(relax.op.divide(y, relax.const(np.float32(math.sqrt(2)))))
                y = bb.emit(relax.op.multiply(relax.op.multiply(y, relax.op.add(e, relax.const(np.float32(1)))),
                                              relax.const(np.float32(half))))
            if residual:
                y = bb.emit(relax.op.add(y, r))
            out = bb.emit_output(y)
        bb.emit_func_output(out)
    return bb.get()


def _calls(mod) -> list[str]:
    names = []
    call_tir = tvm.ir.Op.get("relax.call_tir")

    def visit(e):
        if isinstance(e, relax.Call):
            names.append(e.args[0].name_hint if e.op.same_as(call_tir) else e.op.name)

    relax.analysis.post_order_visit(mod["main"], visit)
    return names


def _weight(n, k, sparsity, block="4x1", seed=0):
    w = np.random.default_rng(seed).standard_normal((n, k)).astype(np.float32)
    return np.ascontiguousarray(fmt.prune_blocks(w, sparsity, block).T)  # ONNX layout [K, N]


def test_sparse_weight_becomes_one_fused_int8_4x1_call():
    mod = _linear_module(_weight(64, 32, 0.9), bias=True, gelu=True)
    sp = SparsifyDense("int8", "4x1", 0.7)
    out = sp(mod)
    calls = _calls(out)
    assert "relax.matmul" not in calls and "relax.erf" not in calls and "relax.add" not in calls
    assert any(c.startswith("int8_4x1") for c in calls)
    assert any(c.startswith("quantize_transpose_u8") for c in calls) and any(c.startswith("dynamic_qparams") for c in calls)
    [d] = sp.report
    assert (d.kernel, d.epilogue, d.n_out, d.k_in, d.tokens) == ("int8_4x1", "bias+gelu", 64, 32, TOKENS)


def test_gelu_lookalike_with_other_constants_is_not_fused():
    """y * (1 + erf(y / sqrt 2)) * 0.4 is not GELU: the Linear is rewritten, the rest stays."""
    mod = _linear_module(_weight(64, 32, 0.9), bias=True, gelu=True, half=0.4)
    sp = SparsifyDense("int8", "4x1", 0.7)
    calls = _calls(sp(mod))
    assert "relax.erf" in calls and any(c.startswith("int8_4x1") for c in calls)
    assert sp.report[0].epilogue == "bias"


def test_dense_weight_goes_to_dense_int8_kernel_with_residual():
    mod = _linear_module(_weight(64, 32, 0.2), bias=True, residual=True)
    sp = SparsifyDense("int8", "4x1", 0.7)
    calls = _calls(sp(mod))
    assert any(c.startswith("int8_dense") for c in calls) and "relax.matmul" not in calls
    assert sp.report[0].epilogue == "bias+residual"


@pytest.mark.parametrize(
    "case",
    ["fp32_dense_below_threshold", "non_constant_weight", "float16_weight", "k_not_multiple_of_4"],
)
def test_module_left_unchanged(case):
    if case == "fp32_dense_below_threshold":
        mod, sp = _linear_module(_weight(64, 32, 0.5, "1x16")), SparsifyDense("fp32", "1x16", 0.7)
    elif case == "non_constant_weight":
        mod, sp = _linear_module(_weight(64, 32, 0.9), weight_const=False), SparsifyDense("int8")
    elif case == "float16_weight":
        mod, sp = _linear_module(_weight(64, 32, 0.9).astype(np.float16), bias=False), SparsifyDense("int8")
    else:
        mod, sp = _linear_module(_weight(64, 30, 0.9, "4x1")[:30]), SparsifyDense("int8")
    out = sp(mod)
    tvm.ir.assert_structural_equal(out["main"], mod["main"])


def test_bad_pass_options():
    with pytest.raises(ValueError, match="block"):
        SparsifyDense("fp32", "4x1")
    with pytest.raises(ValueError, match="mode"):
        SparsifyDense("int4")
    with pytest.raises(ValueError, match="threshold"):
        SparsifyDense("int8", threshold=1.5)


# ----------------------------------------------------------------------------- numerics


def _single_linear_onnx(w_kn, bias, gelu=False, residual=False):
    k, n = w_kn.shape
    nodes = [helper.make_node("MatMul", ["x", "W"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["y0"])]
    last = "y0"
    inits = [numpy_helper.from_array(w_kn, "W"), numpy_helper.from_array(bias, "b")]
    if gelu:
        inits += [numpy_helper.from_array(np.array(math.sqrt(2), np.float32), "s2"),
                  numpy_helper.from_array(np.array(1, np.float32), "one"),
                  numpy_helper.from_array(np.array(0.5, np.float32), "half")]
        nodes += [helper.make_node("Div", ["y0", "s2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
                  helper.make_node("Add", ["e", "one"], ["e1"]), helper.make_node("Mul", ["y0", "e1"], ["g0"]),
                  helper.make_node("Mul", ["g0", "half"], ["g"])]
        last = "g"
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", k])]
    if residual:
        nodes.append(helper.make_node("Add", [last, "r"], ["res"]))
        last = "res"
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, ["batch", "sequence", n]))
    nodes.append(helper.make_node("Identity", [last], ["out"]))
    graph = helper.make_graph(nodes, "linear", inputs,
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "sequence", n])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("kernel,sparsity,gelu,residual", [
    ("int8_4x1", 0.9, True, False), ("int8_4x1", 0.8, False, True), ("int8_dense", 0.3, True, False)])
def test_int8_layer_equals_numpy_simulation(kernel, sparsity, gelu, residual):
    """The compiled layer does exactly the numpy simulation of the same dynamic quantization
    (full-range activations: negative and positive, so the zero point is mid-range)."""
    rng = np.random.default_rng(3)
    k, n = 64, 96
    w_kn = _weight(n, k, sparsity, seed=4)
    bias = rng.standard_normal(n).astype(np.float32)
    x = (rng.standard_normal((1, TOKENS, k)) * 3 + 0.5).astype(np.float32)
    r = rng.standard_normal((1, TOKENS, n)).astype(np.float32)
    model = tb.compile(_single_linear_onnx(w_kn, bias, gelu, residual), batch_size=1, seq_len=TOKENS, dtype="int8")
    assert model.report[0]["kernel"] == kernel
    feeds = {"x": x, "r": r} if residual else {"x": x}
    out = model.run(feeds)[0]

    x2d = x.reshape(TOKENS, k)
    x_q = fmt.dynamic_activation_qparams(x2d)
    xq, _ = fmt.quantize_activation_u8(x2d, x_q)
    wq = fmt.quantize_weight_per_channel(np.ascontiguousarray(w_kn.T))
    ep = Epilogue("float32", bias=True, gelu=gelu, residual=residual)
    ref = int8_linear_ref(xq, wq, ep, x_q=x_q, bias=bias, residual=r.reshape(TOKENS, n) if residual else None)
    np.testing.assert_allclose(out.reshape(TOKENS, n), ref, rtol=1e-5, atol=1e-5)


@requires_isa("avx512_vnni")
def test_static_quantization_equals_numpy_simulation():
    """Calibrated ranges: no run-time range pass, and the layer equals the numpy simulation with
    the calibrated (not the run-time) parameters; an input outside the range is clipped."""
    rng = np.random.default_rng(7)
    k, n = 64, 96
    w_kn = _weight(n, k, 0.9, seed=8)
    bias = rng.standard_normal(n).astype(np.float32)
    calib = [{"x": (rng.standard_normal((1, TOKENS, k)) * s).astype(np.float32)} for s in (1.0, 2.0)]
    model = tb.compile(_single_linear_onnx(w_kn, bias, gelu=True), seq_len=TOKENS, dtype="int8", calibration=calib)
    assert model.metadata["quantization"] == "static" and "static quant" in model.report[0]["epilogue"]
    x = (rng.standard_normal((1, TOKENS, k)) * 3).astype(np.float32)  # wider than calibrated: clips
    out = model.run({"x": x})[0].reshape(TOKENS, n)
    lo = min(float(c["x"].min()) for c in calib)
    hi = max(float(c["x"].max()) for c in calib)
    x_q = fmt.qparams_from_range(lo, hi)
    xq, _ = fmt.quantize_activation_u8(x.reshape(TOKENS, k), x_q)
    wq = fmt.quantize_weight_per_channel(np.ascontiguousarray(w_kn.T))
    ref = int8_linear_ref(xq, wq, Epilogue("float32", bias=True, gelu=True), x_q=x_q, bias=bias)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def _with_dense_attention_weights(model):
    """The model with its square (attention) weights replaced by dense random ones."""
    from tvm_blocksparse.onnx_import import linear_layers

    rng = np.random.default_rng(0)
    square = {l.weight_name for l in linear_layers(model) if l.w_kn.shape[0] == l.w_kn.shape[1]}
    for t in model.graph.initializer:
        if t.name in square:
            shape = numpy_helper.to_array(t).shape
            t.CopyFrom(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.02, t.name))
    return model


@requires_isa("avx512_vnni")
def test_static_model_with_sparse_and_dense_layers_compiles_and_stays_accurate():
    """Dense layers' quantize ops once got a reshape fused in by FuseOps, and FuseTIR failed
    ("Inconsistent buffers ... mapped to the same relax var"); our kernels are now opaque to it."""
    import onnxruntime as ort

    model = _with_dense_attention_weights(make_bert_onnx("tiny", seed=0, sparsity=0.9))
    calib = [random_inputs(1, 32, vocab=1000, seed=s) for s in (1, 2)]
    compiled = tb.compile(model, seq_len=32, calibration=calib)
    assert {d["kernel"] for d in compiled.report} == {"int8_4x1", "int8_dense"}
    feeds = random_inputs(1, 32, vocab=1000, seed=5)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    out = compiled.run(feeds)[0]
    cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cos.min() >= 0.99


def test_report_has_one_entry_per_linear_when_layers_stay_dense():
    """A Linear left to TVM is matched again by every shorter pattern: reported once."""
    model = _with_dense_attention_weights(make_bert_onnx("tiny", seed=0, sparsity=0.9, block="1x16"))
    mod, *_ = import_onnx(model, 1, 16)
    sparsify = SparsifyDense(mode="fp32", block="1x16", threshold=0.7)
    sparsify(mod)
    kernels = sorted(d.kernel for d in sparsify.report)
    assert len(sparsify.report) == 12  # 2 layers x (Q, K, V, O, FFN1, FFN2)
    assert kernels.count("tvm_dense") == 8 and kernels.count("fp32_1x16") == 4
    assert [d.index for d in sparsify.report] == list(range(12))


def test_report_shows_the_schedule_of_a_re_emitted_ffn1():
    """FFN1 is re-emitted to store FFN2's input transposed: the layer report must carry the tuning
    label of that kernel, not of the token-major one it replaced (the tuning smoke test failed
    whenever only the transposed FFN1 shape won its search)."""
    from tvm_blocksparse.schedules import schedule_bsr_dense_int8_4x1

    class OnlyTransposedFFN1:
        def choose(self, use):
            if use.epilogue.transposed_out and use.epilogue.gelu:
                return registry.Bsr4x1Config(16), schedule_bsr_dense_int8_4x1, "tuned: stub"
            if use.epilogue.gelu:  # the token-major FFN1 that the re-emit replaces
                return registry.Bsr4x1Config(16), schedule_bsr_dense_int8_4x1, "tuned: replaced"
            return None

    mod, *_ = import_onnx(make_bert_onnx("tiny", seed=0, sparsity=0.9), 1, 16)
    sparsify = SparsifyDense(mode="int8", block="4x1", threshold=0.7, tuned=OnlyTransposedFFN1())
    sparsify(mod)
    labels = {d.epilogue: d.schedule for d in sparsify.report}
    assert labels == {"bias": "default", "bias+transposed_out": "default", "bias+residual": "default",
                      "bias+gelu": "tuned: stub"}


@requires_isa("avx512_vnni")
def test_static_bert_mini_has_no_range_pass_and_stays_accurate():
    ort = pytest.importorskip("onnxruntime")
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    calib = [random_inputs(1, 64, pad=p, seed=s) for s, p in ((10, 0), (11, 6))]
    feeds = random_inputs(1, 64, pad=6, seed=6)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
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
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
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
    assert not any(name.startswith("layer_norm") and not name.startswith("layer_norm_qparams") for name in rules)
    assert any(name.startswith("dynamic_qparams_m64_k256") for name in rules)
    out = compiled.run(feeds)[0]
    cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cos.min() >= 0.99, cos.min()


def test_fp32_sparse_model_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    model = make_bert_onnx("tiny", seed=2, sparsity=0.9, block="1x16")
    feeds = random_inputs(1, 37, vocab=1000, pad=4, seed=3)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    compiled = tb.compile(model, seq_len=37, dtype="fp32")
    assert {d["kernel"] for d in compiled.report} == {"fp32_1x16"}
    out = compiled.run(feeds)[0]
    assert np.abs(out - ref).max() / np.abs(ref).max() <= 1e-4


@requires_isa("avx512_vnni")
def test_int8_sparse_bert_mini_cosine_and_export_round_trip(tmp_path, capfd):
    ort = pytest.importorskip("onnxruntime")
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 64, pad=6, seed=6)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    compiled = tb.compile(model, seq_len=64, dtype="int8")
    assert compiled.metadata["vm_exec_mode"] == "compiled"  # the VM's instructions as native code
    assert {d["kernel"] for d in compiled.report} == {"int8_4x1"}
    assert {d["epilogue"] for d in compiled.report} == {"bias", "bias+gelu", "bias+residual", "bias+transposed_out"}
    out = compiled.run(feeds)[0]
    cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cos.min() >= 0.99, cos.min()

    capfd.readouterr()
    path = compiled.export(tmp_path / "mini.so")
    assert os.path.isfile(path) and os.path.isfile(path + ".json")
    loaded = tb.load(path)
    assert "Scope" not in capfd.readouterr().err  # TVM's per-constant log lines are filtered out
    assert loaded.input_names == ["input_ids", "attention_mask"] and loaded.output_names == ["last_hidden_state"]
    np.testing.assert_array_equal(loaded.run(feeds)[0], out)

    # an id outside the vocabulary is rejected before it reaches the unchecked gather (it segfaulted)
    vocab = next(t.dims[0] for t in model.graph.initializer if t.name == "emb.word")
    assert compiled.index_bounds == loaded.index_bounds == {"input_ids": vocab}
    for bad in (vocab, -1, 2**40):
        wrong = dict(feeds, input_ids=feeds["input_ids"].copy())
        wrong["input_ids"][0, 7] = bad
        for m in (compiled, loaded):
            with pytest.raises(ValueError, match=rf"'input_ids': {bad} at position \[0, 7\] .* outside \[0, {vocab}\)"):
                m.run(wrong)
    edge = dict(feeds, input_ids=np.full_like(feeds["input_ids"], vocab - 1))
    np.testing.assert_array_equal(loaded.run(edge)[0], compiled.run(edge)[0])


def test_int8_on_a_target_without_vnni_falls_back_to_fp32():
    model = make_bert_onnx("tiny", seed=1, sparsity=0.9, block="4x1")
    with pytest.warns(UserWarning, match="VNNI"):  # Haswell: AVX2 + FMA, which every x86 host here runs
        compiled = tb.compile(model, seq_len=8, dtype="int8", target={"kind": "llvm", "mcpu": "haswell"})
    assert compiled.metadata["dtype"] == "fp32" and compiled.metadata["notes"]
    ref = tb.compile(model, seq_len=8, dtype="fp32").run(random_inputs(1, 8, vocab=1000))[0]
    np.testing.assert_allclose(compiled.run(random_inputs(1, 8, vocab=1000))[0], ref, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- inspect / prune / bad input


def test_prune_then_inspect(tmp_path):
    dense = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0), dense)
    report = tb.inspect(dense)
    assert not any(l.goes_sparse for l in report.layers) and "No layer is sparse enough" in str(report)
    names = tb.prune(dense, tmp_path / "tiny90.onnx", sparsity=0.9, block="4x1")
    assert len(names) == 2 * 6
    report = tb.inspect(tmp_path / "tiny90.onnx")
    assert all(l.goes_sparse and abs(l.sparsity["4x1"] - 0.9) < 0.01 for l in report.layers)
    assert all(l.sparsity["16x4"] < 0.5 for l in report.layers)  # 4x1 pruning is not 16x4 sparse
    assert report.estimated_speedup > 1.5


@pytest.mark.parametrize("bad", ["missing", "not_onnx", "no_matmul"])
def test_bad_models_give_clear_errors(tmp_path, bad):
    path = tmp_path / "m.onnx"
    if bad == "not_onnx":
        path.write_bytes(b"this is not a protobuf \x00\x01")
    elif bad == "no_matmul":
        g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises((OnnxImportError, FileNotFoundError)):
        tb.compile(path)
    with pytest.raises((OnnxImportError, FileNotFoundError)):
        tb.inspect(path)


def test_bad_block_strings_and_shapes():
    model = make_bert_onnx("tiny", seed=0)
    with pytest.raises(ValueError):
        tb.compile(model, block="4by1")
    with pytest.raises(ValueError):
        tb.compile(model, dtype="int4")
    compiled = tb.compile(model, seq_len=8, dtype="fp32")
    with pytest.raises(ValueError, match="compiled for"):
        compiled.run(random_inputs(1, 9, vocab=1000))
    with pytest.raises(ValueError, match="inputs must be"):
        compiled.run({"input_ids": np.zeros((1, 8), np.int64)})


def test_sequence_longer_than_the_position_table_is_a_clear_error():
    model = make_bert_onnx("tiny", seed=0)  # 128 positions
    with pytest.raises(OnnxImportError, match=r"'emb.position' \(128 rows\) needs row 255 .* use seq_len <= 128"):
        tb.compile(model, seq_len=256, dtype="fp32")


def test_frontend_errors_name_a_position_table_shorter_than_seq_len():
    """transformers exports slice a position-id buffer, so a long seq_len fails in TVM's frontend
    on a broadcast; the error then names the embedding table (not the int64 id buffer)."""
    from tvm_blocksparse.onnx_import import _position_table_hint

    inits = [numpy_helper.from_array(np.zeros((1, 64), np.int64), "emb.position_ids"),
             numpy_helper.from_array(np.zeros((64, 8), np.float32), "emb.position_embeddings.weight")]
    g = helper.make_graph([], "g", [], [], inits)
    model = helper.make_model(g)
    assert _position_table_hint(model, 128) == (" (seq_len=128 but 'emb.position_embeddings.weight' has 64 positions: "
                                                "use seq_len <= 64)")
    assert _position_table_hint(model, 64) == ""


def test_module_built_for_a_richer_cpu_refuses_to_run(tmp_path, monkeypatch):
    """Cross-compiling for another CPU and exporting works; running it where the CPU lacks its
    instruction sets is a clear error, not an illegal-instruction crash."""
    from tvm_blocksparse import isa

    skx = {"kind": "llvm", "mcpu": "skylake-avx512"}
    model = make_bert_onnx("tiny", seed=0)
    compiled = tb.compile(model, seq_len=8, dtype="fp32", target=skx)
    path = compiled.export(tmp_path / "skx.so")
    host_runs_it = not isa.missing_host_features(skx)
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset({"sse4_2", "avx", "avx2", "fma"}))  # Haswell
    feeds = random_inputs(1, 8, vocab=1000)
    for m in (compiled, tb.load(path)):
        with pytest.raises(RuntimeError, match=r"uses avx512f, avx512bw, avx512dq, avx512vl; this CPU lacks them"):
            m.run(feeds)
    monkeypatch.undo()
    if host_runs_it:
        assert tb.load(path).run(feeds)[0].shape == (1, 8, 128)
    else:  # this host has no AVX-512 either: refused with its real flags
        with pytest.raises(RuntimeError, match="illegal instruction"):
            tb.load(path).run(feeds)


def test_legacy_style_graph_with_constant_of_shape_imports():
    """Mask code as the legacy TorchScript exporter writes it (ConstantOfShape of a Shape):
    TVM's frontend rejects it; our import folds it once the input shape is bound."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("ConstantOfShape", ["s"], ["ones"], value=numpy_helper.from_array(np.array([1.0], np.float32))),
        helper.make_node("MatMul", ["x", "W"], ["mm"]),
        helper.make_node("Mul", ["mm", "ones8"], ["y"]),
        helper.make_node("Add", ["ones", "ones"], ["two"]),
        helper.make_node("MatMul", ["two", "W"], ["ones8"]),
    ]
    w = np.eye(8, dtype=np.float32)
    g = helper.make_graph(nodes, "legacy", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
                          [numpy_helper.from_array(w, "W")])
    mod, names, shapes, _ = import_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), 3, 8)
    assert names == ["x"] and shapes["x"] == [3, 8]


def test_index_input_bounds_finds_the_tables_that_inputs_index():
    """Through Cast/Unsqueeze, Identity of an initializer and a Constant table; the smallest table
    wins; a gather from a computed tensor or with a constant index is not a bound."""
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "s"])
    types = helper.make_tensor_value_info("types", TensorProto.INT32, ["b", "s"])
    other = helper.make_tensor_value_info("other", TensorProto.INT64, ["b", "s"])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 4])
    table = numpy_helper.from_array(np.zeros((2, 4), np.float32), "type_table")
    nodes = [
        helper.make_node("Gather", ["vocab", "ids"], ["e1"]),                                  # 50 rows
        helper.make_node("Unsqueeze", ["ids", "ax"], ["ids_u"]),
        helper.make_node("Gather", ["wide", "ids_u"], ["e2"], axis=1),                         # axis 1: 40
        helper.make_node("Identity", ["type_table"], ["type_alias"]),
        helper.make_node("Cast", ["types"], ["types64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["type_alias", "types64"], ["e3"]),                         # 2 rows
        helper.make_node("Constant", [], ["const_table"], value=numpy_helper.from_array(np.zeros((7, 4), np.float32))),
        helper.make_node("Gather", ["const_table", "ids"], ["e4"]),                            # 7 rows: smallest
        helper.make_node("Relu", ["x"], ["computed"]),
        helper.make_node("Gather", ["computed", "other"], ["e5"]),                             # not a table
        helper.make_node("Shape", ["ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0),                          # constant index
    ]
    inits = [numpy_helper.from_array(np.zeros((50, 4), np.float32), "vocab"),
             numpy_helper.from_array(np.zeros((4, 40), np.float32), "wide"), table,
             numpy_helper.from_array(np.array([1], np.int64), "ax"), numpy_helper.from_array(np.array(1, np.int64), "one")]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("e1", "e2", "e3", "e4", "e5")]
    g = helper.make_graph(nodes, "g", [ids, types, other, x], outs, inits)
    assert index_input_bounds(helper.make_model(g)) == {"ids": 7, "types": 2}


# ----------------------------------------------------------------------------- CLI, pipeline, docker


def test_cli_end_to_end(tmp_path, capsys):
    from tvm_blocksparse.cli import main

    src = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0), src)
    assert main(["prune", str(src), str(tmp_path / "p.onnx"), "--sparsity", "0.9"]) == 0
    assert main(["inspect", str(tmp_path / "p.onnx")]) == 0
    assert "12/12 Linear layers" in capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["compile", str(tmp_path / "p.onnx"), "-o", str(tmp_path / "p.so"), "--seq-len", "8",
                     "--dtype", "fp32"]) == 0
    assert main(["run", str(tmp_path / "p.so"), "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "last_hidden_state: shape [1, 8, 128]" in out and "latency" in out
    np.savez(tmp_path / "ids_only.npz", input_ids=np.zeros((1, 8), np.int64))
    assert main(["run", str(tmp_path / "p.so"), "--inputs", str(tmp_path / "ids_only.npz")]) == 2
    assert "no array for input(s) ['attention_mask']" in capsys.readouterr().err
    np.savez(tmp_path / "oob.npz", input_ids=np.full((1, 8), 10**6, np.int64), attention_mask=np.ones((1, 8), np.int64))
    assert main(["run", str(tmp_path / "p.so"), "--inputs", str(tmp_path / "oob.npz")]) == 2
    assert "outside [0, 1000)" in capsys.readouterr().err
    assert main(["compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "x.so")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["inspect", str(src), "--block", "3x3x3"]) == 2


@requires_isa("avx512_vnni")
def test_cli_int8_compile_says_which_attention_runs_int8(tmp_path, capsys):
    from tvm_blocksparse.cli import main

    src = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0), src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["compile", str(src), "-o", str(tmp_path / "q.so"), "--seq-len", "16"]) == 0
        assert "attention: 2 layer(s) INT8" in capsys.readouterr().out
        assert main(["compile", str(src), "-o", str(tmp_path / "q.so"), "--seq-len", "16", "--fp32-attention"]) == 0
        assert "attention:" not in capsys.readouterr().out


def test_registered_pipeline():
    assert "tvm_blocksparse" in relax.pipeline.PIPELINE_MAP
    assert isinstance(relax.get_pipeline("tvm_blocksparse"), tvm.transform.Pass)


def test_dockerfile_uses_the_readme_install_and_demo():
    root = os.path.dirname(os.path.dirname(__file__))
    docker = open(os.path.join(root, "docker", "Dockerfile")).read()
    readme = open(os.path.join(root, "README.md")).read()
    makefile = open(os.path.join(root, "Makefile")).read()
    assert "RUN make venv\n" in docker and 'CMD ["make", "demo"]' in docker
    assert "demo: venv\n" in makefile  # the image installs exactly what the demo needs
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


@pytest.mark.slow
@requires_isa("avx512_vnni")
@pytest.mark.parametrize("arch", ["bert", "distilbert"])
@pytest.mark.parametrize("exporter", ["dynamo", "legacy"])
def test_transformers_exports_compile_and_match(tmp_path, arch, exporter):
    """Real exports (random init): TVM's frontend rejects the legacy ones and the dynamic-axis
    dynamo ones until our import folds their shape code."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")

    class LastHiddenState(torch.nn.Module):  # transformers 5 takes its inputs by keyword
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    torch.manual_seed(0)
    if arch == "bert":
        cfg = transformers.BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=512, attn_implementation="eager")
        net = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    else:
        cfg = transformers.DistilBertConfig(dim=128, n_layers=2, n_heads=2, hidden_dim=512, attn_implementation="eager")
        net = transformers.DistilBertModel(cfg).eval()

    ids = torch.randint(0, 1000, (1, 32))
    mask = torch.ones(1, 32, dtype=torch.int64)
    mask[0, -3:] = 0
    path = tmp_path / "model.onnx"
    axes = {"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHiddenState(net).eval(), (ids, mask), str(path), dynamo=exporter == "dynamo", opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes=axes)
    pruned = tmp_path / "pruned.onnx"
    tb.prune(path, pruned, sparsity=0.9, block="4x1")
    feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    ref = ort.InferenceSession(str(pruned), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    for dtype in ("fp32", "int8"):
        compiled = tb.compile(pruned, seq_len=32, dtype=dtype)
        out = compiled.run(feeds)[0]
        if dtype == "fp32":
            assert np.abs(out - ref).max() / np.abs(ref).max() <= 1e-4
        else:
            assert {d["kernel"] for d in compiled.report} == {"int8_4x1"}
            assert "bias+gelu" in {d["epilogue"] for d in compiled.report}
            assert compiled.metadata["attention"] == {"int8_fused": 2, "left_fp32": []}
            assert compiled.index_bounds == {"input_ids": cfg.vocab_size}
            cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
            assert cos.min() >= 0.99
