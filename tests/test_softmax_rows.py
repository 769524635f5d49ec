"""SoftmaxRows and its kernel: last-axis float32 softmax -> our row kernel, numerically that of
float64 numpy (masked scores give exactly 0), IR in / IR out, on ymm and zmm."""

import numpy as np
import pytest
import tvm
from conftest import cross_target, level_target, requires_isa, requires_x86
from test_producer_transpose import _calls
from tvm import relax
from tvm_blocksparse.relay_passes import SoftmaxRows
from tvm_blocksparse.schedules import OP_SCHEDULES

from tvm_blocksparse.linear import CompiledKernel
from tvm_blocksparse.op.softmax import MAX_ROW_VECTORS, softmax_rows


def _softmax_module(shape, axis=-1, dtype="float32"):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType(shape, dtype))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(relax.op.nn.softmax(x, axis=axis))
        bb.emit_func_output(out)
    return bb.get()


def _reference(x: np.ndarray) -> np.ndarray:
    e = np.exp(x.astype(np.float64) - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize(
    "level, lanes",
    [
        pytest.param("avx2", 8, marks=requires_isa("avx2")),
        pytest.param("avx512_vnni", 16, marks=requires_isa("avx512_vnni")),
    ],
)
@pytest.mark.parametrize("n", [16, 48, 128])
def test_softmax_rows_matches_float64_and_masks_to_zero(level, lanes, n):
    rng = np.random.default_rng(n)
    rows = 37
    x = (rng.standard_normal((rows, n)) * 4).astype(np.float32)
    x[::3, n // 2 :] = np.float32(-3.4e38)  # BERT's mask: the lowest float added to the score
    x[1] = np.float32(-3.4e38)  # a fully masked row: uniform, as TVM's and numpy's softmax
    kern = CompiledKernel(
        softmax_rows(rows, n, lanes), OP_SCHEDULES["softmax_rows"], level_target(level)
    )
    y = kern(X=x)
    np.testing.assert_allclose(y, _reference(x), rtol=2e-6, atol=1e-7)
    assert (y[::3, n // 2 :] == 0).all()


def test_softmax_rows_refuses_rows_it_cannot_take():
    with pytest.raises(ValueError, match="n % 8"):
        softmax_rows(4, 20, 8)
    with pytest.raises(ValueError, match="n % 8"):
        softmax_rows(4, 8 * (MAX_ROW_VECTORS + 1), 8)


@requires_x86
def test_softmax_rows_asm_is_ymm_exp_without_divisions_per_element():
    """AVX2 target: ymm only, one ``vdivps`` per row (the reciprocal of the sum), the maximum
    and sum by vector trees."""
    asm = CompiledKernel(
        softmax_rows(64, 128, 8), OP_SCHEDULES["softmax_rows"], cross_target("avx2")
    ).asm()
    assert "zmm" not in asm
    assert asm.count("vdivps") + asm.count("vdivss") == 1
    assert asm.count("vmaxps") >= 15 and "vfmadd" in asm


def test_softmax_before_and_expected():
    """``softmax(x[1, 2, 16, 32], axis=-1)`` on an AVX2 target -> our kernel on ``[32, 32]``."""
    with cross_target("avx2"):
        after = SoftmaxRows()(_softmax_module((1, 2, 16, 32)))
    assert _calls(after) == ["softmax_rows_m32_n32"]
    script = after["main"].script()
    assert "R.reshape(x, R.shape([32, 32]))" in script
    assert 'gv: R.Tensor((1, 2, 16, 32), dtype="float32") = R.reshape(lv1' in script
    assert "float32x8" in after["softmax_rows_m32_n32"].script()
    with cross_target("avx512_vnni"):  # zmm: a 32-lane row is 2 vectors of 16
        func = SoftmaxRows()(_softmax_module((1, 2, 16, 32)))["softmax_rows_m32_n32"]
    assert "float32x16" in func.script() and "float32x8" not in func.script()


@pytest.mark.parametrize(
    "shape, axis, dtype",
    [((2, 16, 32), 1, "float32"), ((2, 16, 20), -1, "float32"), ((2, 16, 32), -1, "float16")],
)
def test_softmaxes_it_cannot_take_stay(shape, axis, dtype):
    """Another axis, a row not of whole vectors, another dtype: TVM's softmax stays."""
    with cross_target("avx2"):
        after = SoftmaxRows()(_softmax_module(shape, axis, dtype))
    assert _calls(after) == []
    tvm.ir.assert_structural_equal(after, _softmax_module(shape, axis, dtype))
