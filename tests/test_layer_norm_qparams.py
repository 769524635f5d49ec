"""LayerNormQParams, IR in / IR out: last-axis LayerNorms -> our layer_norm_qparams call."""

import numpy as np
import pytest
import tvm
from tvm import relax
from tvm_blocksparse.relay_passes import LayerNormQParams
from tvm_blocksparse.relay_passes.kernel_calls import KernelAdder

from tvm_blocksparse.op.layer_norm import layer_norm_qparams
from tvm_blocksparse.target import level_target


def _layer_norm_module(shape, axes=(-1,), dtype="float32"):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape, dtype))
    k = shape[-1]
    with bb.function("main", [x]):
        with bb.dataflow():
            gamma = relax.const(np.linspace(0.5, 1.5, k).astype(dtype))
            beta = relax.const(np.linspace(-1, 1, k).astype(dtype))
            out = bb.emit_output(
                relax.op.nn.layer_norm(x, gamma, beta, axes=list(axes), epsilon=1e-12)
            )
        bb.emit_func_output(out)
    return bb.get()


@pytest.mark.parametrize("level, avx512", [("avx512_vnni", True), ("avx2", False)])
def test_layer_norm_before_and_expected(level, avx512):
    """Before: ``layer_norm(x[1, 16, 64])``. Expected: our kernel on ``x`` as ``[16, 64]``, its
    first output reshaped back (the other two are the output's u8 scale and zero point), in the
    range-chain form of the target's vector width (an explicit target: the host's would make the
    expectation depend on the CPU the suite runs on)."""
    before = _layer_norm_module((1, 16, 64))
    with level_target(level):
        after = LayerNormQParams()(before)

    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 16, 64), "float32"))
    with bb.function("main", [x]):
        gv = KernelAdder(bb, bb.get()).add(
            layer_norm_qparams(16, 64, 1e-12, avx512),
            "layer_norm_qparams_m16_k64",
            "layer_norm_qparams",
        )
        with bb.dataflow():
            gamma = relax.const(np.linspace(0.5, 1.5, 64).astype("float32"))
            beta = relax.const(np.linspace(-1, 1, 64).astype("float32"))
            x2d = bb.emit(relax.op.reshape(x, (16, 64)))
            ln = bb.emit(
                relax.call_tir(
                    gv,
                    [x2d, gamma, beta],
                    [
                        relax.TensorType((16, 64), "float32"),
                        relax.TensorType((16,), "float32"),
                        relax.TensorType((16,), "int32"),
                    ],
                )
            )
            y = bb.emit(relax.TupleGetItem(ln, 0))
            out = bb.emit_output(relax.op.reshape(y, (1, 16, 64)))
        bb.emit_func_output(out)
    tvm.ir.assert_structural_equal(after, bb.get())


def test_layer_norms_it_cannot_take_stay():
    for mod in (
        _layer_norm_module((1, 16, 48)),  # K % 64 != 0
        _layer_norm_module((1, 64, 64), axes=(1,)),  # not the last axis
        _layer_norm_module((1, 16, 64), dtype="float16"),
    ):
        tvm.ir.assert_structural_equal(LayerNormQParams()(mod), mod)
