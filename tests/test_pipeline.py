"""The registered Relax pipeline."""

from __future__ import annotations

import tvm
from tvm import relax


def test_registered_pipeline():
    assert "tvm_blocksparse" in relax.pipeline.PIPELINE_MAP
    assert isinstance(relax.get_pipeline("tvm_blocksparse"), tvm.transform.Pass)


def test_embedding_gathers_are_clipped_so_compiling_is_quiet(capfd):
    """The ONNX Gather (``relax.take`` mode "fast") legalizes in mode "clip": topi warned once
    per gather per compile that fast mode segfaults on out-of-bounds ids."""
    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import make_bert_onnx

    capfd.readouterr()
    tb.compile(make_bert_onnx("tiny"), seq_len=8, dtype="fp32")
    assert "Fast mode segfaults" not in capfd.readouterr().err
