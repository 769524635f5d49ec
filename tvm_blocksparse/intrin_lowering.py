"""Vectorizable lowering of ``erf`` and ``exp`` for LLVM CPU targets.

TVM 0.27 has no LLVM lowering for ``tirx.erf``; the default lowering calls libm's ``erff`` once
per lane, so a vectorized GELU epilogue becomes 16 scalar calls per zmm (6x the time of the
same-size FFN2; bench/README.md, "Decisions"). Importing this module
registers the rational approximation TVM's own ``topi.fast_erf`` and Eigen use
(:func:`tvm_blocksparse.op.epilogue.erf_f32`, |error| < 2e-7) for float32 at a priority above the
default; other dtypes keep calling libm. ``exp`` (softmax) has an LLVM lowering, ``llvm.exp``, but
the x86 backend scalarizes it into ``expf`` calls too; float32 gets the Cephes polynomial
(:func:`tvm_blocksparse.op.epilogue.exp_f32`), other dtypes keep ``llvm.exp``.
"""

from __future__ import annotations

import tvm
from tvm.tirx.op import register_intrin_lowering

from tvm_blocksparse.op.epilogue import erf_f32, exp_f32

_LEVEL = 99


def _lower_erf(call):
    dtype = tvm.DataType(str(call.ty))
    if dtype.type_code != tvm.DataTypeCode.FLOAT or dtype.bits != 32:
        scalar = "erf" if dtype.bits == 64 else "erff"
        return tvm.tirx.call_pure_extern(str(call.ty), scalar, call.args[0])
    return erf_f32(call.args[0], int(dtype.lanes))


register_intrin_lowering("tirx.erf", target="llvm", f=_lower_erf, level=_LEVEL)


_DEFAULT_EXP = tvm.ir.Op.get("tirx.exp").get_attr("llvm.FLowerIntrinsic")


def _lower_exp(call):
    dtype = tvm.DataType(str(call.ty))
    if dtype.type_code != tvm.DataTypeCode.FLOAT or dtype.bits != 32:
        return _DEFAULT_EXP(call)
    return exp_f32(call.args[0], int(dtype.lanes))


register_intrin_lowering("tirx.exp", target="llvm", f=_lower_exp, level=_LEVEL)
