"""The registered Relax pipeline."""

from __future__ import annotations

import tvm
from tvm import relax


def test_registered_pipeline():
    import tvm_blocksparse.pipeline  # noqa: F401 (registers it)

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


_PLAIN_TVM_ERF_EXP = """
import tvm
from tvm.script import tirx as T

@T.prim_func(s_tir=True)
def f(a: T.Buffer((64,), "float32"), b: T.Buffer((64,), "float32")):
    for i in T.vectorized(64):
        with T.sblock("b"):
            vi = T.axis.remap("S", [i])
            b[vi] = T.erf(a[vi]) + T.exp(a[vi])

def plain_asm():
    target = tvm.target.Target({"kind": "llvm", "mcpu": "skylake-avx512"})
    return tvm.compile(tvm.IRModule({"main": f}), target=target).mod.inspect_source("asm")
"""


def test_plain_tvm_lowers_erf_and_exp_as_before_after_our_builds(tmp_path):
    """No side effects on TVM: after ``import tvm_blocksparse`` and one of our compiles, plain
    TVM compiles an erf / exp PrimFunc to exactly the code a process without us gets (libm
    calls per lane), while our pipeline's modules get the vector polynomials."""
    import runpy
    import subprocess
    import sys

    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import make_bert_onnx

    script = tmp_path / "plain_tvm.py"  # TVMScript reads its source from a file
    script.write_text(_PLAIN_TVM_ERF_EXP + "\nif __name__ == '__main__':\n    print(plain_asm())\n")
    fresh = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    assert "erff" in fresh  # what TVM does on its own
    tb.compile(make_bert_onnx("tiny"), seq_len=8, dtype="fp32")  # GELU + softmax through ours
    assert runpy.run_path(str(script))["plain_asm"]() + "\n" == fresh
