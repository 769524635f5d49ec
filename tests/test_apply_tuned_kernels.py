"""ApplyTunedKernels: records of a tuning database replace default kernels; the report follows."""

from __future__ import annotations

import tvm
from tvm_blocksparse.relay_passes import ApplyTunedKernels
from tvm_blocksparse.relay_passes.kernel_calls import layer_report

from tvm_blocksparse import registry
from tvm_blocksparse.bert_onnx import make_bert_onnx
from tvm_blocksparse.onnx_import import import_onnx
from tvm_blocksparse.pipeline import rewrite_passes


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
    mod = tvm.transform.Sequential(
        [*rewrite_passes("int8"), ApplyTunedKernels(OnlyTransposedFFN1())]
    )(mod)
    labels = {d.epilogue: d.schedule for d in layer_report(mod)}
    assert labels == {
        "bias": "default",
        "bias+transposed_out": "default",
        "bias+residual": "default",
        "bias+gelu": "tuned: stub",
    }


def test_a_layer_reading_xt_in_tiles_takes_only_a_slab_record():
    """On an 8-lane level FFN2 reads FFN1's ``XT`` in 16-token tiles, which only the slab walk
    reads: a record of another walk leaves it at its default (and says so); a slab record is
    applied reading tiles."""
    from conftest import CROSS_TARGETS
    from tvm_blocksparse.relay_passes.kernel_calls import linear_meta
    from tvm_blocksparse.schedules import schedule_bsr_dense_int8_4x1_avx2

    class Stub:
        def __init__(self, config):
            self.config, self.applied = config, {}

        def choose(self, use):
            if use.k == 512:  # FFN2 of the tiny model
                return self.config, schedule_bsr_dense_int8_4x1_avx2, "tuned: stub"
            return None

    ffn2 = {}
    for config in (registry.Bsr4x1Config(8), registry.Bsr4x1Config(16, 1, slab=True)):
        stub = Stub(config)
        with tvm.target.Target({**CROSS_TARGETS["avx2"], "num-cores": 1}):  # 1 tile, 1 thread
            mod, *_ = import_onnx(make_bert_onnx("tiny", seed=0, sparsity=0.9), 1, 16)
            mod = tvm.transform.Sequential([*rewrite_passes("int8"), ApplyTunedKernels(stub)])(mod)
        (d,) = {d.schedule for d in layer_report(mod) if d.callee.startswith("int8_4x1_xtt")}
        callee = next(c.callee for c in layer_report(mod) if c.callee.startswith("int8_4x1_xtt"))
        func = mod[callee]
        xt = func.params[0]  # u8[M / 16, K, 16]: 16-token tiles
        assert xt.name == "XT" and [int(x) for x in xt.shape] == [1, 512, 16]
        ffn2[config.slab] = (d, stub.applied, linear_meta(func)["config"])
    schedule, applied, config = ffn2[False]
    assert schedule == "default" and config["token_tile"] == 16 and config["xt_tiles"]
    assert list(applied.values()) == [
        "default kept: the record's walk cannot read XT in 16-token tiles"
    ]
    schedule, applied, config = ffn2[True]
    assert schedule == "tuned: stub" and config["slab"] and config["xt_tiles"]


def test_an_fp32_layer_reading_tiles_keeps_them_under_any_record():
    """FP32 4x1: FFN2 reads FFN1's output in token tiles (ProducerTiles); every walk reads
    them, so a record's config is applied with ``x_tiles`` kept."""
    from conftest import cross_target
    from tvm_blocksparse.schedules import schedule_bsr_dense_fp32_4x1

    class Stub:
        def choose(self, use):
            if use.k == 512:  # FFN2 of the tiny model
                config = registry.Fp32Bsr4x1Config(tiles_outer=False, prefetch=False)
                return config, schedule_bsr_dense_fp32_4x1, "tuned: stub"
            return None

    with cross_target("avx2"):
        mod, *_ = import_onnx(make_bert_onnx("tiny", seed=0, sparsity=0.9), 1, 16)
        mod = tvm.transform.Sequential([*rewrite_passes("fp32"), ApplyTunedKernels(Stub())])(mod)
    (ffn2,) = {(d.callee, d.schedule) for d in layer_report(mod) if d.k_in == 512}
    assert ffn2 == ("fp32_4x1_xtiles_m16_n128_k512", "tuned: stub")
    func = mod[ffn2[0]]
    assert [int(x) for x in func.params[0].shape] == [16 * 512]  # X: tiles, f32[padded * K]
    # the record's config (weights prefetched, no XS line prefetch: the default on this CPU
    # prefetches both), still on tiles
    assert func.script().count("llvm.prefetch") == 1 and "stage_x" not in func.script()
