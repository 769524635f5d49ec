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
