"""``LayerNormQParams``: last-axis float32 LayerNorms -> our ``layer_norm_qparams``, which also
yields its output's per-token u8 quantization parameters, so the Linear layers it feeds need no
range pass of their own in INT8 mode
(:class:`~tvm_blocksparse.relay_passes.sparsify_linear.SparsifyLinear` takes them; run this pass
first). FP32 mode runs it too and leaves the parameters unused: its LayerNorm alone is faster
than TVM's legalized one (bench/README.md, "Decisions").

Before::

    lv = R.nn.layer_norm(x, gamma, beta, axes=[-1], epsilon=1e-12)      # x: [1, S, K]

After::

    ln = R.call_tir(layer_norm_qparams_mS_kK, (R.reshape(x, (S, K)), gamma, beta), ...)
    lv = R.reshape(ln[0], (1, S, K))                                  # ln[1], ln[2]: x_scale, x_zp

LayerNorms it can't take (another axis or dtype, ``K % 64 != 0``, no scale or centre, dynamic
shapes) stay.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax
from tvm.relax.dpl import is_op, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.kernel_calls import KernelAdder, static_shape

from tvm_blocksparse import isa
from tvm_blocksparse.op.layer_norm import layer_norm_qparams
from tvm_blocksparse.op.quantize import padded_tokens


@tvm.transform.module_pass(opt_level=0, name="LayerNormQParams")
class LayerNormQParams:
    """See the module docstring."""

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        bb = relax.BlockBuilder(mod)
        kernels = KernelAdder(bb, mod)
        # the range chains fit the target's registers (zmm: 4, ymm: 2)
        avx512 = isa.vector_bits(tvm.target.Target.current(allow_none=True)) == 512
        pattern = is_op("relax.nn.layer_norm")(wildcard(), wildcard(), wildcard())

        def rewrite(expr, _matches):
            x, gamma, beta = expr.args
            shape = static_shape(x)
            axes = [int(a) for a in expr.attrs.axes]
            if (
                shape is None
                or x.ty.dtype != "float32"
                or axes not in ([-1], [len(shape) - 1])
                or shape[-1] % 64
                or not (expr.attrs.center and expr.attrs.scale)
                or any(static_shape(p) != [shape[-1]] for p in (gamma, beta))
            ):
                return expr
            k = shape[-1]
            m = int(np.prod(shape[:-1]))
            gv = kernels.add(
                layer_norm_qparams(m, k, float(expr.attrs.epsilon), avx512),
                f"layer_norm_qparams_m{m}_k{k}",
                "layer_norm_qparams",
            )
            x2d = relax.op.reshape(x, (m, k)) if len(shape) != 2 else x
            out = relax.call_tir(
                gv,
                [x2d, gamma, beta],
                [
                    relax.TensorType((m, k), "float32"),
                    relax.TensorType((padded_tokens(m),), "float32"),
                    relax.TensorType((padded_tokens(m),), "int32"),
                ],
            )
            y = relax.TupleGetItem(out, 0)
            return relax.op.reshape(y, shape) if len(shape) != 2 else y

        for gv, func in list(mod.functions_items()):
            if isinstance(func, relax.Function):
                bb.update_func(gv, rewrite_call(pattern, rewrite, func))
        return bb.get()
