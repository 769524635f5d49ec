"""ONNX import: graphs as exporters write them, index bounds, real transformers exports."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import requires_isa
from onnx import TensorProto, helper, numpy_helper

import tvm_blocksparse as tb
from tvm_blocksparse.onnx_import import import_onnx, index_input_bounds
from tvm_blocksparse.testing import min_token_cosine


def test_legacy_style_graph_with_constant_of_shape_imports():
    """Mask code as the legacy TorchScript exporter writes it (ConstantOfShape of a Shape):
    TVM's frontend rejects it; our import folds it once the input shape is bound."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node(
            "ConstantOfShape",
            ["s"],
            ["ones"],
            value=numpy_helper.from_array(np.array([1.0], np.float32)),
        ),
        helper.make_node("MatMul", ["x", "W"], ["mm"]),
        helper.make_node("Mul", ["mm", "ones8"], ["y"]),
        helper.make_node("Add", ["ones", "ones"], ["two"]),
        helper.make_node("MatMul", ["two", "W"], ["ones8"]),
    ]
    w = np.eye(8, dtype=np.float32)
    g = helper.make_graph(
        nodes,
        "legacy",
        [x],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        [numpy_helper.from_array(w, "W")],
    )
    _, names, shapes, _ = import_onnx(
        helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), 3, 8
    )
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
        helper.make_node("Gather", ["vocab", "ids"], ["e1"]),  # 50 rows
        helper.make_node("Unsqueeze", ["ids", "ax"], ["ids_u"]),
        helper.make_node("Gather", ["wide", "ids_u"], ["e2"], axis=1),  # axis 1: 40
        helper.make_node("Identity", ["type_table"], ["type_alias"]),
        helper.make_node("Cast", ["types"], ["types64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["type_alias", "types64"], ["e3"]),  # 2 rows
        helper.make_node(
            "Constant",
            [],
            ["const_table"],
            value=numpy_helper.from_array(np.zeros((7, 4), np.float32)),
        ),
        helper.make_node("Gather", ["const_table", "ids"], ["e4"]),  # 7 rows: smallest
        helper.make_node("Relu", ["x"], ["computed"]),
        helper.make_node("Gather", ["computed", "other"], ["e5"]),  # not a table
        helper.make_node("Shape", ["ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0),  # constant index
    ]
    inits = [
        numpy_helper.from_array(np.zeros((50, 4), np.float32), "vocab"),
        numpy_helper.from_array(np.zeros((4, 40), np.float32), "wide"),
        table,
        numpy_helper.from_array(np.array([1], np.int64), "ax"),
        numpy_helper.from_array(np.array(1, np.int64), "one"),
    ]
    outs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
        for n in ("e1", "e2", "e3", "e4", "e5")
    ]
    g = helper.make_graph(nodes, "g", [ids, types, other, x], outs, inits)
    assert index_input_bounds(helper.make_model(g)) == {"ids": 7, "types": 2}


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
        cfg = transformers.BertConfig(
            hidden_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=512,
            attn_implementation="eager",
        )
        net = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    else:
        cfg = transformers.DistilBertConfig(
            dim=128, n_layers=2, n_heads=2, hidden_dim=512, attn_implementation="eager"
        )
        net = transformers.DistilBertModel(cfg).eval()

    ids = torch.randint(0, 1000, (1, 32))
    mask = torch.ones(1, 32, dtype=torch.int64)
    mask[0, -3:] = 0
    path = tmp_path / "model.onnx"
    axes = {"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(net).eval(),
            (ids, mask),
            str(path),
            dynamo=exporter == "dynamo",
            opset_version=17,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
        )
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
            assert min_token_cosine(out, ref) >= 0.99
