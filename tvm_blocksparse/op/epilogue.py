"""What our Linear kernels do to their accumulator tile before storing it (the fused
epilogue), and the TensorIR pieces every kernel family shares: vectorizable erf / exp / GELU,
requantization, parameter pruning.

Every kernel computes ``Y[M, N_out] = epilogue(X[M, K_in] @ W.T)`` with ``M = batch x tokens`` and
a weight ``W[N_out, K_in]`` in one of the layouts of :mod:`tvm_blocksparse.format`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa import avx2, avx512
from tvm_blocksparse.isa.common import bcast, fconst, fma

# One accumulator tile must stay below 1 KiB: TVM 0.27 turns larger (or ``local``-scope) CPU
# allocations into heap workspace calls, which LLVM cannot promote to registers.
MAX_TILE_BYTES = 1023


@dataclass(frozen=True)
class Epilogue:
    """What happens to the accumulator tile before it is stored.

    out_dtype: ``"int32"`` raw INT8 accumulators (INT8 kernels only, nothing else allowed);
               ``"float32"``: INT8 kernels dequantize ``(acc - x_zp[m] * row_sum[n]) *
               (x_scale[m] * w_scale[n])`` (per-token activation parameters), then apply the
               rest; ``"uint8"``: as float32, then requantize ``clip(rint(y * (1 / out_scale))
               + out_zp, 0, 255)`` (the reciprocal in float32).
    bias:      ``+ bias[n]``.
    gelu:      ``gelu(y) = 0.5 * y * (1 + erf(y / sqrt(2)))`` (erf form).
    residual:  ``+ residual[m, n]`` (after GELU, before requantization).
    transposed_out: store ``Y^T[N, M]`` instead of ``Y[M, N]`` (4x1 kernel, float32 or uint8, no
               residual, ``M % 16 == 0``): the kernel's tile is channel-major already, so
               attention's ``K^T`` costs nothing, and a uint8 ``Y^T`` is the next 4x1 kernel's
               ``XT`` (statically quantized chains need no quantize-transpose pass). On the FP32
               4x1 kernel (any ``M``): ``Y^T`` in 16-token tiles, ``f32[ceil(M/16), N, 16]``,
               the next FP32 4x1 kernel's ``x_tiles`` input.
    dynamic_requant: with ``uint8`` and ``transposed_out`` (4x1 slab walk, ``M % 16 == 0``):
               requantize with per-token parameters from the output's own range at run time
               (the kernel also returns them, ``y_scale f32[M]``, ``y_zp i32[M]``, as
               :func:`~tvm_blocksparse.op.quantize.dynamic_qparams_columns` would), instead of
               the static ``out_scale``/``out_zp``, and store ``Y^T`` in 16-token tiles, ``u8[M
               / 16, N, 16]``: the next slab walk's ``XT`` (``xt_tiles``) without a float round
               trip through memory.
    token_ranges: with ``float32`` and ``transposed_out`` (4x1 64-token walk, ``M % 64 == 0``):
               also return each task's tokens' min and max over its block rows' channels,
               ``y_min``, ``y_max f32[P, Mp]`` (``P`` range parts,
               :func:`~tvm_blocksparse.op.bsr_int8_4x1.token_range_parts`), which
               :func:`~tvm_blocksparse.op.quantize.column_qparams_of_ranges` reduces to the
               per-token parameters of ``Y^T``: the same bits as
               :func:`~tvm_blocksparse.op.quantize.dynamic_qparams_columns`, without its pass
               over the float ``Y^T``.
    heads_out: ``H > 0`` (FP32 4x1 kernel, float32, no residual, not transposed): store ``Y``
               head-major, ``f32[H, M, N / H]``, attention's ``[1, H, S, D]`` queries / values at
               batch 1 by a free reshape, not a transposition pass.
    Order: dequant -> bias -> GELU -> residual -> requant (the paper's post-op order).
    """

    out_dtype: str = "float32"
    bias: bool = False
    gelu: bool = False
    residual: bool = False
    transposed_out: bool = False
    dynamic_requant: bool = False
    token_ranges: bool = False
    heads_out: int = 0

    def validate(self, int8_kernel: bool, head_major: bool = False) -> None:
        """Raise ``ValueError`` for what the kernel can't do; ``head_major``: it stores
        ``heads_out``."""
        allowed = ("int32", "float32", "uint8") if int8_kernel else ("float32",)
        if self.out_dtype not in allowed:
            raise ValueError(f"out_dtype={self.out_dtype!r} not in {allowed} for this kernel")
        if self.out_dtype == "int32" and (self.bias or self.gelu or self.residual):
            raise ValueError("an int32 (raw accumulator) output takes no bias/gelu/residual")
        if self.transposed_out and (self.out_dtype == "int32" or self.residual):
            raise ValueError("transposed_out needs a float32 or uint8 output and no residual")
        if self.dynamic_requant and (self.out_dtype != "uint8" or not self.transposed_out):
            raise ValueError("dynamic_requant needs a uint8, transposed_out output")
        if self.token_ranges and (self.out_dtype != "float32" or not self.transposed_out):
            raise ValueError("token_ranges needs a float32, transposed_out output")
        if self.heads_out and not head_major:
            raise ValueError("this kernel can't store head-major (heads_out)")
        if self.heads_out < 0 or (
            self.heads_out and (self.out_dtype != "float32" or self.residual or self.transposed_out)
        ):
            raise ValueError("heads_out needs H > 0, a float32 output, no residual, not transposed")

    @property
    def dequant(self) -> bool:
        return self.out_dtype != "int32"

    @property
    def requant(self) -> bool:
        """Requantized with the static ``out_scale``/``out_zp``."""
        return self.out_dtype == "uint8" and not self.dynamic_requant


# Eigen's float32 rational approximation of erf (also TVM's fast_erf), |error| < 2e-7 on [-4, 4].
_ERF_ALPHA = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
_ERF_BETA = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)


def _estrin(coeffs, u, u2, u4, lanes: int):
    """``sum c_i u^i`` (``coeffs`` ascending, at most 8) by Estrin's scheme: a dependency depth
    of 3 multiply-adds where Horner's is ``len(coeffs) - 1``."""
    if len(coeffs) > 8:
        raise ValueError(f"_estrin takes at most 8 coefficients, got {len(coeffs)}")
    pairs = [
        fconst(coeffs[i], lanes) + fconst(coeffs[i + 1], lanes) * u
        if i + 1 < len(coeffs)
        else fconst(coeffs[i], lanes)
        for i in range(0, len(coeffs), 2)
    ]
    quads = [
        pairs[i] + pairs[i + 1] * u2 if i + 1 < len(pairs) else pairs[i]
        for i in range(0, len(pairs), 2)
    ]
    return quads[0] + quads[1] * u4 if len(quads) > 1 else quads[0]


def _gelu_erf_estrin(x, lanes: int):
    """``0.5 x (1 + erf(x / sqrt 2))`` with :func:`erf_f32`'s rational, evaluated for latency:
    both polynomials by Estrin's scheme, the 0.5 folded into P, ``0.5 x + x z P / Q`` as one
    multiply-add (the FP32 epilogue is latency-bound: one task's 8 vectors are all it has)."""
    z = T.max(T.min(x * fconst(1 / math.sqrt(2), lanes), fconst(4.0, lanes)), fconst(-4.0, lanes))
    u = z * z
    u2 = u * u
    u4 = u2 * u2
    p = _estrin([0.5 * a for a in reversed(_ERF_ALPHA)], u, u2, u4, lanes)
    q = _estrin(list(reversed(_ERF_BETA)), u, u2, u4, lanes)
    return (
        fma(x, z * p / q, x * fconst(0.5, lanes), lanes)
        if lanes > 1
        else x * (z * p / q) + x * fconst(0.5, lanes)
    )


def erf_f32(x, lanes: int):
    """Vectorizable erf (TVM lowers ``T.erf`` on vectors to per-lane libm calls)."""
    x = T.max(T.min(x, fconst(4.0, lanes)), fconst(-4.0, lanes))
    x2 = x * x
    p = fconst(_ERF_ALPHA[0], lanes)
    for a in _ERF_ALPHA[1:]:
        p = p * x2 + fconst(a, lanes)
    q = fconst(_ERF_BETA[0], lanes)
    for b in _ERF_BETA[1:]:
        q = q * x2 + fconst(b, lanes)
    return x * p / q


# Cephes expf: exp(x) = 2^n * p(r), n = round(x / ln2), r = x - n ln2 split in two constants for
# precision; |relative error| ~ 1e-7 on [-87, 88].
_EXP_P = (
    1.9875691500e-4,
    1.3981999507e-3,
    8.3334519073e-3,
    4.1665795894e-2,
    1.6666665459e-1,
    5.0000001201e-1,
)


def exp_f32(x, lanes: int):
    """Vectorizable exp (LLVM scalarizes ``llvm.exp`` on vectors into libm calls). Inputs above
    88 are clamped; below -87 the result is exactly 0 (softmax's masked scores): a denormal
    result there made every later multiply by it slow: padded BERT-Base ran 1.6x slower
    (bench/README.md, "Decisions")."""
    underflow = x < fconst(-87.0, lanes)
    x = T.max(T.min(x, fconst(88.0, lanes)), fconst(-87.0, lanes))
    n = T.floor(x * fconst(1.44269504088896341, lanes) + fconst(0.5, lanes))
    r = x - n * fconst(0.693359375, lanes) + n * fconst(2.12194440e-4, lanes)
    p = fconst(_EXP_P[0], lanes)
    for c in _EXP_P[1:]:
        p = p * r + fconst(c, lanes)
    p = p * (r * r) + r + fconst(1.0, lanes)
    i32 = "int32" if lanes == 1 else f"int32x{lanes}"
    f32 = "float32" if lanes == 1 else f"float32x{lanes}"
    two_n = T.reinterpret(
        f32, T.shift_left(T.Cast(i32, n) + bcast(T.int32(127), lanes), bcast(T.int32(23), lanes))
    )
    return T.Select(underflow, fconst(0.0, lanes), p * two_n)


#: GELU of the INT8 kernels' epilogues: ``x * (0.5 + xc * P(xc^2) / Q(xc^2))``, ``xc = clip(x,
#: +-GELU_FAST_CLIP)``, i.e. ``0.5 * erf(x / sqrt 2)`` as a (3, 3)-degree rational in ``xc^2``
#: (coefficients ascending; fitted here by iteratively reweighted least squares to erf on [0, 4],
#: max |error of erf| 2.1e-5, so |error of GELU| <= 2.1e-5 * max(1, |x|)). 13 vector ops per 16
#: values against ~21 for the float32-exact form, which bounded the FFN1 epilogue by the vector
#: ALU ports (bench/README.md, "Decisions"). The INT8 output's quantization step (range / 255)
#: is ~100x larger than this error; FP32 kernels keep :func:`gelu_f32`.
GELU_FAST_P = (
    0.39889654517173767,
    0.0308657418936491,
    0.0036428836174309254,
    2.6786789021571167e-05,
)
GELU_FAST_Q = (1.0, 0.24368688464164734, 0.02503548003733158, 0.0010188643354922533)
GELU_FAST_CLIP = 5.656854152679443  # 4 * sqrt(2): erf(4) = 1 - 1.5e-8


def gelu_f32(x, lanes: int, fast: bool = False):
    """GELU, erf form: ``0.5 * x * (1 + erf(x / sqrt(2)))``; ``fast``: see :data:`GELU_FAST_P`."""
    if not fast:
        return _gelu_erf_estrin(x, lanes)
    xc = T.max(T.min(x, fconst(GELU_FAST_CLIP, lanes)), fconst(-GELU_FAST_CLIP, lanes))
    u = xc * xc
    p = fconst(GELU_FAST_P[-1], lanes)
    for c in GELU_FAST_P[-2::-1]:
        p = p * u + fconst(c, lanes)
    q = fconst(GELU_FAST_Q[-1], lanes)
    for c in GELU_FAST_Q[-2::-1]:
        q = q * u + fconst(c, lanes)
    return x * (fconst(0.5, lanes) + xc * p / q)


def _lanes_of(value) -> int:
    return tvm.DataType(str(value.ty)).lanes


def as_lanes(value, lanes: int):
    """``value`` as a ``lanes``-wide vector: a scalar is broadcast, a vector of that width kept
    (per-tensor parameters are scalars, per-token ones vectors)."""
    if lanes > 1 and _lanes_of(value) == 1:
        return bcast(value, lanes)
    return value


def requant_u8(y, out_scale, out_zp, lanes: int, zmm: bool = True):
    """``clip(rint(y * (1 / out_scale)) + out_zp, 0, 255)`` as u8, the reciprocal in float32 (as
    fbgemm does; :func:`tvm_blocksparse.format.quantize_activation_u8` is the numpy twin): a
    ``vdivps zmm`` per 16 values bounded every quantize pass. ``out_scale``/``out_zp``: scalars,
    or ``lanes``-wide vectors (one per lane's token). ``zmm``: 16 lanes take ``vcvtps2dq`` +
    ``vpmovusdb`` zmm; else plain vector ops any x86-64 level compiles."""
    if _lanes_of(out_scale) > 1:
        inv = fconst(1.0, lanes) / out_scale
    else:
        inv = T.float32(1) / out_scale
    return requant_u8_by_inverse(y, inv, out_zp, lanes, zmm)


#: Largest ``y / scale`` a quantizer converts as is (``vcvtps2dq``): clamped there first, a huge
#: positive value can't become INT_MIN (-> 0); every u8 result of it saturates to 255 anyway.
CONVERT_CLAMP = 16777216.0  # 2^24


def rounded_i32_by_inverse(y, inv, out_zp, lanes: int, zmm: bool = False):
    """``rint(min(y * inv, CONVERT_CLAMP)) + out_zp`` as int32 (``inv`` and ``out_zp``: scalars or
    ``lanes`` wide) by ``vcvtps2dq``: on zmm (``lanes`` 16) one, on ymm (``lanes`` 8 or 16) one
    per ymm. The quantizers' step before their saturating stores."""
    t = T.min(y * as_lanes(inv, lanes), fconst(CONVERT_CLAMP, lanes))
    if zmm:
        q = avx512.rint_i32(t)
    else:
        q = avx2.rint_i32(t) if lanes == 8 else avx2.rint_i32_16(t)
    return q + as_lanes(out_zp, lanes)


def requant_u8_by_inverse(y, inv, out_zp, lanes: int, zmm: bool = True):
    """:func:`requant_u8` given ``inv = 1 / out_scale`` (float32, scalar or ``lanes`` wide): a
    kernel that quantizes many vectors with the same parameters divides once, not per vector."""
    inv = as_lanes(inv, lanes)
    if lanes == 16 and not zmm:
        # the same steps in ymm halves, then vpackssdw / vpackuswb saturate at 0 and 255
        return avx2.saturate_u8(rounded_i32_by_inverse(y, inv, out_zp, 16))
    if lanes == 16 and zmm:
        # 6 ops instead of 7: vcvtps2dq rounds half to even as rint does; clamping at
        # CONVERT_CLAMP first; vpmovusdb saturates at 255.
        q = T.max(rounded_i32_by_inverse(y, inv, out_zp, 16, zmm), T.broadcast(T.int32(0), 16))
        return avx512.saturate_u8(q)
    zp = T.Cast(f"float32x{lanes}" if lanes > 1 else "float32", as_lanes(out_zp, lanes))
    q = T.nearbyint(y * inv) + zp
    q = T.max(T.min(q, fconst(255.0, lanes)), fconst(0.0, lanes))
    return T.Cast(f"uint8x{lanes}" if lanes > 1 else "uint8", q)


def drop_unused_params(func: tvm.tirx.PrimFunc) -> tvm.tirx.PrimFunc:
    """Remove parameters the body never touches (the epilogue options decide which are used)."""
    # In TVM 0.27 a body refers to a parameter buffer through a free Var of the buffer's name.
    used = {v.name for v in tvm.tirx.analysis.undefined_vars(func.body)}
    keep = [p for p in func.params if p.name in used]
    return tvm.tirx.PrimFunc(keep, func.body, func.ret_type, attrs=func.attrs)


def whole_regions(*buffers) -> list:
    """Whole-buffer regions: the ``tile`` block's declared reads/writes (it owns its scratch)."""
    return [
        tvm.tirx.BufferRegion(b, [tvm.ir.Range.from_min_extent(0, d) for d in b.shape])
        for b in buffers
    ]


def epilogue_inputs(
    ep: Epilogue, int8: bool, x_scale, x_zp, w_scale, w_row_sum, bias, residual, out_scale, out_zp
) -> list:
    bufs = [x_scale, x_zp, w_scale, w_row_sum] if (int8 and ep.dequant) else []
    bufs += [bias] if ep.bias else []
    bufs += [residual] if ep.residual else []
    bufs += [out_scale, out_zp] if ep.requant else []
    return bufs


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def channel_epilogue_lanes(y, n_idx, lanes, bias, ep, fast_gelu: bool):
    """Bias and GELU of ``lanes`` float token values of one output channel ``n_idx``
    (``fast_gelu``: :data:`GELU_FAST_P`, for INT8 outputs; FP32 kernels keep the exact form)."""
    if ep.bias:
        y = y + bcast(bias[n_idx], lanes)
    if ep.gelu:
        y = gelu_f32(y, lanes, fast=fast_gelu)
    return y


def int8_epilogue_lanes(
    acc_vec, n_idx, lanes, x_scale_vec, x_zp_vec, w_scale, w_row_sum, bias, out_scale, out_zp, ep
):
    """Dequant ``(acc - x_zp * row_sum[n]) * (x_scale * w_scale[n])`` (+ bias, GELU, requant when
    no residual follows) of ``lanes`` token accumulators of one output channel ``n_idx``;
    ``x_scale_vec``/``x_zp_vec``: those tokens' activation parameters, ``lanes`` wide."""
    y = T.Cast(f"float32x{lanes}", acc_vec - x_zp_vec * bcast(w_row_sum[n_idx], lanes))
    y = channel_epilogue_lanes(
        y * (x_scale_vec * bcast(w_scale[n_idx], lanes)), n_idx, lanes, bias, ep, fast_gelu=True
    )
    if ep.requant and not ep.residual:
        y = requant_u8(y, out_scale[0], out_zp[0], lanes)
    return y


def store_lanes(value, m_idx, n0, lanes, residual, out_scale, out_zp, ep, requant):
    """Residual add of ``lanes`` consecutive channels of token ``m_idx``, then requantization if
    ``requant`` (a kernel that already requantized in its own lanes passes False)."""
    if ep.residual:
        value = value + residual[m_idx, T.ramp(n0, 1, lanes)]
    if requant:
        value = requant_u8(value, out_scale[0], out_zp[0], lanes)
    return value


def out_lane_epilogue(acc_vec, m_idx, n0, int8, x_scale, x_zp, w_scale, w_row_sum, bias, ep):
    """Dequant (INT8, token ``m_idx``'s parameters), bias and GELU of 16 consecutive output
    channels from ``n0``."""
    if int8 and not ep.dequant:
        return acc_vec
    n_vec = T.ramp(n0, 1, 16)
    if int8:
        y = T.Cast("float32x16", acc_vec - bcast(x_zp[m_idx], 16) * w_row_sum[n_vec])
        y = y * (bcast(x_scale[m_idx], 16) * w_scale[n_vec])
    else:
        y = acc_vec
    if ep.bias:
        y = y + bias[n_vec]
    if ep.gelu:
        y = gelu_f32(y, 16, fast=int8)
    return y
