"""``SoftmaxRows``: float32 softmax over the last axis (attention's probabilities where the
attention is not fused: FP32 mode) -> our vectorized row kernel
(:func:`~tvm_blocksparse.op.softmax.softmax_rows`), one reciprocal per row instead of a division
per element and trees instead of scalar chains for the row's max and sum.

Before::

    p = R.nn.softmax(s, axis=-1)                                   # s: [1, H, S, S] float32

After::

    p = R.reshape(R.call_tir(softmax_rows_mHS_nS, (R.reshape(s, [H * S, S]),), ...), s.shape)

A softmax over another axis, of another dtype, of a dynamic shape or of a row the kernel can't
take (not a whole number of vectors, longer than ``MAX_ROW_VECTORS``) stays with TVM. Run it
after FuseAttention (INT8 mode fuses the softmax into its attention kernel first).
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax
from tvm.relax.dpl import is_op, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.kernel_calls import KernelAdder, static_shape

from tvm_blocksparse.isa import vector_bits
from tvm_blocksparse.op.softmax import MAX_ROW_VECTORS, softmax_rows


@tvm.transform.module_pass(opt_level=0, name="SoftmaxRows")
class SoftmaxRows:
    """See the module docstring. Vector width from the enclosing target (ymm below AVX-512)."""

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        target = tvm.target.Target.current(allow_none=True)
        lanes = 16 if target is not None and vector_bits(target) == 512 else 8
        bb = relax.BlockBuilder(mod)
        kernels = KernelAdder(bb, mod)
        pattern = is_op("relax.nn.softmax")(wildcard())

        def rewrite(expr, _matches):
            (x,) = expr.args
            shape = static_shape(x)
            if (
                shape is None
                or x.ty.dtype != "float32"
                or int(expr.attrs.axis)
                not in (
                    -1,
                    len(shape) - 1,
                )
            ):
                return expr
            n = shape[-1]
            if n % lanes or n // lanes > MAX_ROW_VECTORS:
                return expr
            rows = int(np.prod(shape[:-1]))
            gv = kernels.add(
                softmax_rows(rows, n, lanes), f"softmax_rows_m{rows}_n{n}", "softmax_rows"
            )
            x2d = relax.op.reshape(x, (rows, n)) if len(shape) != 2 else x
            y = relax.call_tir(gv, [x2d], relax.TensorType((rows, n), "float32"))
            return relax.op.reshape(y, shape) if len(shape) != 2 else y

        for gv, func in list(mod.functions_items()):
            if isinstance(func, relax.Function):
                bb.update_func(gv, rewrite_call(pattern, rewrite, func))
        return bb.get()
