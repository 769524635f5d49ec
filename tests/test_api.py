"""The Python API on whole models: compile, run, export / load, inspect, prune, bad input."""

from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
import pytest
from conftest import bert_mini_90_with_reference, requires_isa
from onnx import TensorProto, helper, numpy_helper

import tvm_blocksparse as tb
from tvm_blocksparse import registry
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.onnx_import import OnnxImportError
from tvm_blocksparse.testing import min_token_cosine, onnxruntime_outputs


def test_fp32_sparse_model_matches_onnxruntime():
    pytest.importorskip("onnxruntime")
    model = make_bert_onnx("tiny", seed=2, sparsity=0.9, block="1x16")
    feeds = random_inputs(1, 37, vocab=1000, pad=4, seed=3)
    ref = onnxruntime_outputs(model, feeds)[0]
    compiled = tb.compile(model, seq_len=37, dtype="fp32")
    # as 4x1-sparse as 1x16-sparse: the AVX2 cost model takes the faster 4x1 kernel, a level
    # without FP32 rates the 1x16 kernel
    costed = "fp32_4x1" in registry.KERNEL_GOPS.get(compiled.metadata["isa_level"], {})
    assert {d["kernel"] for d in compiled.report} == {"fp32_4x1" if costed else "fp32_1x16"}
    out = compiled.run(feeds)[0]
    assert np.abs(out - ref).max() / np.abs(ref).max() <= 1e-4


@requires_isa("avx512_vnni")
def test_int8_sparse_bert_mini_cosine_and_export_round_trip(tmp_path, capfd):
    model, feeds, ref = bert_mini_90_with_reference()
    compiled = tb.compile(model, seq_len=64, dtype="int8")
    assert compiled.metadata["vm_exec_mode"] == "compiled"  # the VM's instructions as native code
    assert {d["kernel"] for d in compiled.report} == {"int8_4x1"}
    assert {d["epilogue"] for d in compiled.report} == {
        "bias",
        "bias+gelu",
        "bias+residual",
        "bias+transposed_out",
    }
    out = compiled.run(feeds)[0]
    assert min_token_cosine(out, ref) >= 0.99

    capfd.readouterr()
    path = compiled.export(tmp_path / "mini.so")
    assert os.path.isfile(path) and os.path.isfile(path + ".json")
    loaded = tb.load(path)
    assert "Scope" not in capfd.readouterr().err  # TVM's per-constant log lines are filtered out
    assert loaded.input_names == ["input_ids", "attention_mask"] and loaded.output_names == [
        "last_hidden_state"
    ]
    np.testing.assert_array_equal(loaded.run(feeds)[0], out)

    # an id outside the vocabulary is rejected before it reaches the unchecked gather (it
    # segfaulted)
    vocab = next(t.dims[0] for t in model.graph.initializer if t.name == "emb.word")
    assert compiled.index_bounds == loaded.index_bounds == {"input_ids": vocab}
    for bad in (vocab, -1, 2**40):
        wrong = dict(feeds, input_ids=feeds["input_ids"].copy())
        wrong["input_ids"][0, 7] = bad
        for m in (compiled, loaded):
            with pytest.raises(
                ValueError,
                match=rf"'input_ids': {bad} at position \[0, 7\] .* outside \[0, {vocab}\)",
            ):
                m.run(wrong)
    edge = dict(feeds, input_ids=np.full_like(feeds["input_ids"], vocab - 1))
    np.testing.assert_array_equal(loaded.run(edge)[0], compiled.run(edge)[0])


def test_int8_below_avx2_falls_back_to_fp32_and_says_why():
    """Nehalem (SSE4.2, no AVX2): no INT8 kernel is registered at its level; compile warns,
    records why and builds FP32 (code every x86-64 host here runs)."""
    model = make_bert_onnx("tiny", seed=1, sparsity=0.9, block="4x1")
    nehalem = {"kind": "llvm", "mcpu": "nehalem"}
    with pytest.warns(UserWarning, match=r"\(no listed ISA level\) has no INT8 kernel \(they need"):
        compiled = tb.compile(model, seq_len=8, dtype="int8", target=nehalem)
    assert compiled.metadata["dtype"] == "fp32" and compiled.metadata["notes"]
    assert compiled.metadata["isa_level"] is None
    feeds = random_inputs(1, 8, vocab=1000)
    ref = tb.compile(model, seq_len=8, dtype="fp32").run(feeds)[0]
    np.testing.assert_allclose(compiled.run(feeds)[0], ref, rtol=1e-5, atol=1e-5)


@requires_isa("avx2")
@pytest.mark.parametrize("calibrate", [False, True], ids=["dynamic", "static"])
def test_int8_sparse_model_runs_on_the_hosts_level(calibrate):
    """INT8 never falls back to FP32 on an x86-64 CPU with AVX2: the 4x1 layers take this
    level's kernel (zmm on AVX-512 VNNI, ymm on AVX2 / AVX-VNNI) and stay accurate."""
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 32, pad=4, seed=6)
    calib = (
        [random_inputs(1, 32, pad=p, seed=s) for s, p in ((10, 0), (11, 6))] if calibrate else None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback warning
        compiled = tb.compile(model, seq_len=32, dtype="int8", calibration=calib)
    assert compiled.metadata["dtype"] == "int8" and compiled.metadata["isa_level"] is not None
    assert {d["kernel"] for d in compiled.report} == {"int8_4x1"}
    ref = onnxruntime_outputs(model, feeds)[0]
    assert min_token_cosine(compiled.run(feeds)[0], ref) >= 0.99


@requires_isa("avx2")
def test_max_isa_avx2_compiles_and_runs_as_an_avx2_only_cpu(monkeypatch):
    """Under TVM_BLOCKSPARSE_MAX_ISA=avx2 any host builds, picks and runs what an AVX2-only CPU
    does (the INT8 4x1 layers on ymm, accurate), and refuses a module of a higher level."""
    from tvm_blocksparse import isa

    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 32, pad=4, seed=6)
    uncapped = tb.compile(make_bert_onnx("tiny", seed=0), seq_len=8, dtype="fp32")
    monkeypatch.setenv(isa.MAX_ISA_ENV, "avx2")
    compiled = tb.compile(model, seq_len=32, dtype="int8")
    assert compiled.metadata["isa_level"] == "avx2"
    assert {d["kernel"] for d in compiled.report} == {"int8_4x1"}
    assert all(d["reason"].startswith("cost model (avx2)") for d in compiled.report)
    assert compiled.metadata["attention"]["int8_fused"] == 4
    ref = onnxruntime_outputs(model, feeds)[0]
    assert min_token_cosine(compiled.run(feeds)[0], ref) >= 0.99
    tiny_feeds = random_inputs(1, 8, vocab=1000)
    if uncapped.metadata["isa_level"] == "avx2":  # an AVX2-only host: the same code, it runs
        uncapped.run(tiny_feeds)
    else:
        with pytest.raises(RuntimeError, match="this CPU lacks"):
            uncapped.run(tiny_feeds)


@requires_isa("avx512_vnni")
def test_int8_model_of_the_avx_vnni_level_runs_as_its_evex_twin(avx_vnni_twin_builds):
    """A whole INT8 model of the AVX-VNNI level (its cost table, the ymm ``vpdpbusd`` in every 4x1
    layer and in the attention, 8-bit throughout) executes here as its EVEX twin and stays
    accurate: no host of this project has had AVX-VNNI."""
    model, feeds, ref = bert_mini_90_with_reference()
    compiled = tb.compile(model, seq_len=64, dtype="int8", target=avx_vnni_twin_builds)
    assert compiled.metadata["isa_level"] == "avx_vnni"
    assert {d["kernel"] for d in compiled.report} == {"int8_4x1"}
    assert all(d["reason"].startswith("cost model (avx_vnni)") for d in compiled.report)
    assert {d["weight_qmax"] for d in compiled.report} == {127}
    assert compiled.metadata["attention"] == {"int8_fused": 4, "left_fp32": []}
    kernels = [n for n in compiled.metadata["schedule_rules"] if n.startswith("attention_int8")]
    assert kernels and all("_ymm_vnni" in n for n in kernels), kernels
    asm = compiled.executable.mod.imports[0].inspect_source("asm")
    dots = [ln for ln in asm.splitlines() if "vpdpbusd" in ln]
    assert dots and all("%ymm" in ln for ln in dots), [ln for ln in dots if "%ymm" not in ln][:4]
    assert "vpmaddubsw" not in asm  # the AVX2 dot step nowhere
    assert min_token_cosine(compiled.run(feeds)[0], ref) >= 0.99


# ----------------------------------------------------------------------------- inspect / prune /
# bad input


def test_prune_then_inspect(tmp_path):
    dense = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0), dense)
    report = tb.inspect(dense)
    assert not any(
        layer.goes_sparse for layer in report.layers
    ) and "No layer is sparse enough" in str(report)
    names = tb.prune(dense, tmp_path / "tiny90.onnx", sparsity=0.9, block="4x1")
    assert len(names) == 2 * 6
    report = tb.inspect(tmp_path / "tiny90.onnx")
    assert all(
        layer.goes_sparse and abs(layer.sparsity["4x1"] - 0.9) < 0.01 for layer in report.layers
    )
    assert all(
        layer.sparsity["16x4"] < 0.5 for layer in report.layers
    )  # 4x1 pruning is not 16x4 sparse
    assert report.estimated_speedup > 1.5


@pytest.mark.parametrize("bad", ["missing", "not_onnx", "no_matmul"])
def test_bad_models_give_clear_errors(tmp_path, bad):
    path = tmp_path / "m.onnx"
    if bad == "not_onnx":
        path.write_bytes(b"this is not a protobuf \x00\x01")
    elif bad == "no_matmul":
        g = helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"])],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        )
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
    with pytest.raises(ValueError, match="inputs must be"):
        compiled.run({**random_inputs(1, 8, vocab=1000), "token_type_ids": np.zeros((1, 8))})
    with pytest.raises(ValueError, match=r"'input_ids': dtype float64, expected int64"):
        compiled.run({**random_inputs(1, 8, vocab=1000), "input_ids": np.zeros((1, 8))})


def test_run_takes_any_layout_and_integer_width_and_returns_its_own_arrays():
    """``run`` fills the held input tensors from a strided view, an int32 array or a nested list
    alike, and every output is a fresh array: a later run leaves an earlier result as it was."""
    compiled = tb.compile(make_bert_onnx("tiny", seed=0), seq_len=8, dtype="fp32")
    feeds = random_inputs(1, 8, vocab=1000, seed=3)
    ref = compiled.run(feeds)[0]
    wide = np.zeros((2, 16), np.int64)
    wide[1, ::2] = feeds["input_ids"][0]
    variants = [
        {**feeds, "input_ids": wide[1:, ::2]},  # not contiguous
        {k: v.astype(np.int32) for k, v in feeds.items()},
        {k: v.tolist() for k, v in feeds.items()},
    ]
    for v in variants:
        np.testing.assert_array_equal(compiled.run(v)[0], ref)
    kept = ref.copy()
    other = compiled.run(random_inputs(1, 8, vocab=1000, seed=4))[0]
    assert not np.array_equal(other, ref)
    np.testing.assert_array_equal(ref, kept)


def test_sequence_longer_than_the_position_table_is_a_clear_error():
    model = make_bert_onnx("tiny", seed=0)  # 128 positions
    with pytest.raises(
        OnnxImportError, match=r"'emb.position' \(128 rows\) needs row 255 .* use seq_len <= 128"
    ):
        tb.compile(model, seq_len=256, dtype="fp32")


def test_frontend_errors_name_a_position_table_shorter_than_seq_len():
    """transformers exports slice a position-id buffer, so a long seq_len fails in TVM's frontend
    on a broadcast; the error then names the embedding table (not the int64 id buffer)."""
    from tvm_blocksparse.onnx_import import _position_table_hint

    inits = [
        numpy_helper.from_array(np.zeros((1, 64), np.int64), "emb.position_ids"),
        numpy_helper.from_array(np.zeros((64, 8), np.float32), "emb.position_embeddings.weight"),
    ]
    g = helper.make_graph([], "g", [], [], inits)
    model = helper.make_model(g)
    assert _position_table_hint(model, 128) == (
        " (seq_len=128 but 'emb.position_embeddings.weight' has 64 positions: use seq_len <= 64)"
    )
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
    monkeypatch.setattr(
        isa, "host_cpu_flags", lambda: frozenset({"sse4_2", "avx", "avx2", "fma"})
    )  # Haswell
    feeds = random_inputs(1, 8, vocab=1000)
    for m in (compiled, tb.load(path)):
        with pytest.raises(
            RuntimeError, match=r"uses avx512f, avx512bw, avx512dq, avx512vl; this CPU lacks them"
        ):
            m.run(feeds)
    monkeypatch.undo()
    if host_runs_it:
        assert tb.load(path).run(feeds)[0].shape == (1, 8, 128)
    else:  # this host has no AVX-512 either: refused with its real flags
        with pytest.raises(RuntimeError, match="illegal instruction"):
            tb.load(path).run(feeds)


def test_exported_module_carries_its_manifest_and_refuses_an_edited_sidecar(tmp_path):
    """The runner's safety checks (names, shapes, dtypes, index bounds, target) come from the
    manifest compiled into the .so; the .json beside it is a copy, and a copy that disagrees
    (widened bounds, other shapes) is refused instead of trusted."""
    import json

    from tvm_blocksparse.api import read_manifest

    model = make_bert_onnx("tiny", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = tb.compile(model, seq_len=8, dtype="fp32").export(tmp_path / "m.so")
    manifest = read_manifest(path)
    assert manifest["index_bounds"] == {"input_ids": 1000} and manifest["input_shapes"][
        "input_ids"
    ] == [1, 8]
    assert manifest["isa_level"] is not None and manifest["target"]
    original = open(path + ".json").read()
    assert json.loads(original) == manifest
    for key, value in (
        ("index_bounds", {"input_ids": 10**9}),
        ("input_shapes", {"input_ids": [1, 9], "attention_mask": [1, 9]}),
    ):
        edited = dict(json.loads(original), **{key: value})
        with open(path + ".json", "w") as f:
            json.dump(edited, f)
        with pytest.raises(
            ValueError, match=rf"disagrees with the manifest inside .* on \['{key}'\]"
        ):
            tb.load(path)
    with open(path + ".json", "w") as f:
        f.write("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        tb.load(path)
    os.remove(
        path + ".json"
    )  # the copy is optional: the module alone is enough, bounds still enforced
    loaded = tb.load(path)
    bad = random_inputs(1, 8, vocab=1000)
    bad["input_ids"][0, 3] = 1000
    with pytest.raises(ValueError, match="outside \\[0, 1000\\)"):
        loaded.run(bad)
    plain = tmp_path / "plain.so"  # a shared library that is not one of ours
    plain.write_bytes(open(path, "rb").read()[:64])
    with pytest.raises(ValueError, match="not a loadable shared library"):
        tb.load(plain)


def test_a_loaded_module_exports_again(tmp_path):
    """A loaded library can't be re-linked by TVM; export copies it (and writes its sidecar)."""
    model = make_bert_onnx("tiny", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = tb.load(tb.compile(model, seq_len=8, dtype="fp32").export(tmp_path / "a.so"))
    again = tb.load(first.export(tmp_path / "b.so"))
    assert first.export(tmp_path / "a.so") == str(tmp_path / "a.so")  # onto itself: unchanged
    feeds = random_inputs(1, 8, vocab=1000)
    for got, want in zip(again.run(feeds), tb.load(tmp_path / "a.so").run(feeds), strict=True):
        np.testing.assert_array_equal(got, want)
    assert again.metadata == first.metadata


def test_separate_weights_run_the_same_and_export_code_only(tmp_path):
    """weights="separate": the library holds code, the arrays go to ``.weights`` (or a shared
    store); outputs equal the embedded build's."""
    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 32, pad=3, seed=2)
    embedded = tb.compile(model, seq_len=32, dtype="int8")
    separate = tb.compile(model, seq_len=32, dtype="int8", weights="separate")
    assert embedded.weight_keys is None and len(separate.weight_keys) >= 10
    np.testing.assert_array_equal(separate.run(feeds)[0], embedded.run(feeds)[0])

    full = os.path.getsize(embedded.export(tmp_path / "embedded.so"))
    code = os.path.getsize(separate.export(tmp_path / "separate.so"))
    arrays = os.path.getsize(tmp_path / "separate.so.weights")
    assert code < full / 10 and arrays > full * 0.9  # the arrays moved out of the library
    loaded = tb.load(tmp_path / "separate.so")
    np.testing.assert_array_equal(loaded.run(feeds)[0], embedded.run(feeds)[0])
    again = tb.load(loaded.export(tmp_path / "again.so"))  # a loaded copy re-exports its weights
    np.testing.assert_array_equal(again.run(feeds)[0], embedded.run(feeds)[0])

    # one store serves a second model; a store without one of its keys is refused
    shared = tb.load(tmp_path / "separate.so", weights=loaded.weight_store)
    assert shared.weight_store is loaded.weight_store
    partial = dict(loaded.weight_store)
    partial.pop(separate.weight_keys[0])
    with pytest.raises(ValueError, match="1 of them are missing from its weight store"):
        tb.load(tmp_path / "separate.so", weights=partial)
    (tmp_path / "bad.weights").write_bytes(b"not a parameter file")
    with pytest.raises(ValueError, match="not a weight file"):
        tb.load(tmp_path / "separate.so", weights=str(tmp_path / "bad.weights"))
    os.remove(tmp_path / "separate.so.weights")
    with pytest.raises(FileNotFoundError, match="no weight file"):
        tb.load(tmp_path / "separate.so")
    with pytest.raises(ValueError, match="weights must be one of"):
        tb.compile(model, seq_len=32, weights="shared")
    with pytest.raises(ValueError, match="constants in its library"):
        embedded.share_weights({})


def test_entries_of_one_library_run_as_their_own_models(tmp_path):
    """build_entries links lowered models (e.g. length buckets) into one executable, an entry
    each; each entry gives the outputs of its own static compile, and the library round-trips."""
    model = make_bert_onnx("tiny", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lowered = {
            f"s{n}": tb.lower(model, seq_len=n, dtype="fp32", weights="separate") for n in (8, 16)
        }
        built = tb.build_entries(lowered)
        alone = {n: tb.compile(model, seq_len=n, dtype="fp32") for n in (8, 16)}
    assert built["s8"].executable is built["s16"].executable
    assert built["s8"].weight_store is built["s16"].weight_store
    feeds = {n: random_inputs(1, n, vocab=1000, seed=n) for n in (8, 16)}
    for n in (8, 16):
        np.testing.assert_array_equal(built[f"s{n}"].run(feeds[n])[0], alone[n].run(feeds[n])[0])

    path = tb.export_entries(built, tmp_path / "both.so")
    tb.save_weights(path + ".weights", built["s8"].weight_store)
    back = tb.load_entries(path)
    assert sorted(back) == ["s16", "s8"] and back["s8"].weight_store is back["s16"].weight_store
    for n in (8, 16):
        np.testing.assert_array_equal(back[f"s{n}"].run(feeds[n])[0], alone[n].run(feeds[n])[0])
    assert tb.load(path, entry="s16").input_shapes["input_ids"] == [1, 16]
    with pytest.raises(ValueError, match=r"holds the entries \['s16', 's8'\]: pass entry="):
        tb.load(path)
    with pytest.raises(ValueError, match="one executable"):
        tb.export_entries({"a": alone[8], "b": alone[16]}, tmp_path / "no.so")


def test_threads_size_the_pool_each_call_runs_on(tmp_path):
    """``threads=`` on compile / load (and ``CompiledModel.threads`` later) decides the TVM pool
    size of the calling thread at the next run, in either direction; same outputs; bad values
    are a clear error."""
    import tvm

    pool_size = tvm.get_global_func("runtime.NumThreads")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = tb.compile(make_bert_onnx("tiny", seed=0), seq_len=16, dtype="fp32", threads=1)
    import json

    assert json.loads(model.metadata["target"])["num-cores"] == 1  # schedules built for 1 core
    feeds = random_inputs(1, 16, vocab=1000)
    one = model.run(feeds)[0]
    assert pool_size() == 1
    loaded = tb.load(model.export(tmp_path / "m.so"), threads=2)
    two = loaded.run(feeds)[0]
    assert pool_size() == 2
    model.run(feeds)
    assert pool_size() == 1
    loaded.threads = None  # the CPUs this process may use
    loaded.run(feeds)
    assert pool_size() == tb.target.num_threads()
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-5)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be an int >= 1"):
            tb.load(tmp_path / "m.so", threads=bad)


def _tiny_classifier_export(tmp_path) -> str:
    """A random 1-layer ``BertForSequenceClassification`` exported the way TextPipeline does."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tvm_blocksparse.testing import write_tiny_classifier_dir
    from tvm_blocksparse.text import export_transformers_onnx

    write_tiny_classifier_dir(tmp_path, layers=1, labels=("a", "b", "c", "d"))
    src = str(tmp_path / "model.onnx")
    export_transformers_onnx(str(tmp_path), "text-classification", src)
    return src


def test_prune_leaves_heads_dense_and_inspect_names_layers_like_the_exporter(tmp_path, capsys):
    """A real transformers export (weights named ``onnx::MatMul_N``, nodes after the module
    path): ``prune`` leaves the pooler and classifier dense unless asked, ``--include`` /
    ``--exclude`` pick layers by node or weight name; ``inspect`` names each layer by its node,
    prints '-' (JSON: null) where a block does not tile the shape, never ``nan``."""
    import json

    from tvm_blocksparse.cli import main

    src = _tiny_classifier_export(tmp_path)

    def nodes(names):
        from tvm_blocksparse.onnx_import import linear_layers, load_onnx

        by_weight = {ly.weight_name: ly.node_name for ly in linear_layers(load_onnx(src))}
        return sorted(by_weight[n].split("/")[-2] for n in names)

    default = tb.prune(src, tmp_path / "a.onnx", 0.5)
    assert len(default) == 6 and not any("pooler" in n or "classifier" in n for n in default)
    assert len(tb.prune(src, tmp_path / "b.onnx", 0.5, exclude=[])) == 8
    attention = tb.prune(src, tmp_path / "c.onnx", 0.5, include=["*/attention/*"])
    assert nodes(attention) == ["dense", "key", "query", "value"]
    assert (
        main(["prune", src, str(tmp_path / "d.onnx"), "--include", "*pooler*", "--exclude", ""])
        == 0
    )
    with pytest.raises(OnnxImportError, match="matched the include/exclude patterns"):
        tb.prune(src, tmp_path / "e.onnx", 0.5, include=["*nothing*"])

    report = tb.inspect(tmp_path / "a.onnx", threshold=0.4)
    text = str(report)
    assert "nan" not in text and "/m/bert/pooler/dense/Gemm" in text and "onnx::" not in text
    assert sum(ly.goes_sparse for ly in report.layers) == 6
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "a.onnx"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    head = next(ly for ly in data["layers"] if ly["name"] == "/m/classifier/Gemm")
    assert head["weight"] == "m.classifier.weight" and head["sparsity"]["16x4"] is None


def test_half_pruned_layers_go_sparse_by_default(tmp_path):
    """At 50 % 4x1 (the default threshold, the cost tables' lowest calibrated sparsity) every
    Linear takes the sparse kernel on VNNI and AVX2 in both modes; an explicit 0.7 keeps the
    old rule (the cost model's dense kernel)."""
    from tvm_blocksparse.format import DEFAULT_SPARSITY_THRESHOLD

    assert DEFAULT_SPARSITY_THRESHOLD == 0.5
    path = tmp_path / "m.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0, sparsity=0.5, block="4x1"), path)
    for mcpu, dtype, sparse, dense in [
        ("icelake-server", "int8", "int8_4x1", "int8_dense"),
        ("znver3", "int8", "int8_4x1", "int8_dense"),
        ("znver3", "fp32", "fp32_4x1", "tvm_dense"),
    ]:
        target = {"kind": "llvm", "mcpu": mcpu}
        report = tb.inspect(path, target=target, dtype=dtype)
        assert {ly.kernel for ly in report.layers} == {sparse}, (mcpu, dtype)
        report = tb.inspect(path, threshold=0.7, target=target, dtype=dtype)
        assert {ly.kernel for ly in report.layers} == {dense}, (mcpu, dtype)


def test_inspect_estimates_with_the_kernels_the_target_can_run(tmp_path):
    """The per-layer kernel and the estimate follow the target: AVX-512 VNNI picks the INT8 4x1
    kernel; a CPU below AVX2 has no INT8 or sparse kernel (FP32, TVM's dense: 1.00x, not a
    made-up speedup); the host's level says which basis it used."""
    path = tmp_path / "m.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0, sparsity=0.9, block="4x1"), path)
    vnni = tb.inspect(path, target={"kind": "llvm", "mcpu": "icelake-server"})
    assert (vnni.target, vnni.dtype) == ("avx512_vnni", "int8")
    assert {ly.kernel for ly in vnni.layers} == {"int8_4x1"} and vnni.estimated_speedup > 2
    old = tb.inspect(path, target={"kind": "llvm", "mcpu": "nehalem"})
    assert old.dtype == "fp32" and {ly.kernel for ly in old.layers} == {"tvm_dense"}
    assert old.estimated_speedup == pytest.approx(1.0)
    host = tb.inspect(path)
    assert host.target in str(host) and host.basis in str(host)


def test_compile_report_names_layers_as_inspect_does(tmp_path):
    """Each compiled layer carries its ONNX node and weight names (the exporter's module path),
    the names ``inspect`` prints, so the two reports can be matched."""
    src = _tiny_classifier_export(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = tb.compile(src, seq_len=16, dtype="fp32").report
    inspected = {(ly.name, ly.weight) for ly in tb.inspect(src).layers}
    assert len(report) == 6 and all((d["name"], d["weight"]) in inspected for d in report)
    assert len({d["name"] for d in report}) == 6
    assert all(d["name"].startswith("/m/bert/encoder/layer.0/") for d in report)


def test_call_times_time_every_call_of_a_bytecode_model():
    """``build(exec_mode="bytecode")`` gives the compiled build's outputs, and ``call_times``
    times each of its calls: every kernel of the module, each as often in every run, plus the
    VM's builtins; a compiled-mode model and an unknown mode are clear errors."""
    import tvm

    lowered = tb.lower(make_bert_onnx("tiny", seed=0), seq_len=8, dtype="fp32")
    compiled, bytecode = lowered.build(), lowered.build(exec_mode="bytecode")
    assert compiled.metadata["vm_exec_mode"] == "compiled"
    assert bytecode.metadata["vm_exec_mode"] == "bytecode"
    feeds = random_inputs(1, 8, vocab=1000)
    np.testing.assert_array_equal(bytecode.run(feeds)[0], compiled.run(feeds)[0])
    times = bytecode.call_times(feeds, runs=3)
    kernels = {name for name in times if not name.startswith("vm.builtin")}
    assert kernels == {
        gv.name_hint for gv, f in lowered.mod.functions_items() if isinstance(f, tvm.tirx.PrimFunc)
    }
    assert any(name.startswith("vm.builtin") for name in times)
    assert all(len(t) % 3 == 0 and min(t) > 0 for t in times.values())
    np.testing.assert_array_equal(bytecode.run(feeds)[0], compiled.run(feeds)[0])
    with pytest.raises(ValueError, match="exec_mode='bytecode'"):
        compiled.call_times(feeds)
    with pytest.raises(ValueError, match="exec_mode must be one of"):
        lowered.build(exec_mode="graph")
