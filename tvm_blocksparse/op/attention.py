"""INT8 self-attention: ``softmax(Q K^T * scale + mask) V`` of one sequence, all heads, in one
PrimFunc, with its numpy twin; a vector path per level (zmm ``vpdpbusd``, ymm ``vpdpbusd``, ymm
``vpmaddubsw``: :data:`LEVEL_OPS`) and AMX tiles.

Why: at 90 % block sparsity the Linear layers of BERT-Base no longer dominate; the two FP32
attention matmuls ran at 80-93 % of FMA peak and took a fifth of the time, and VNNI does 4x
the multiply-adds of FP32 FMA per instruction (bench/README.md, "Decisions").

Quantization (all per head, at run time, in float32 arithmetic exactly as
:func:`attention_int8_ref`):

- ``Q``: symmetric s8 ``q = clip(rint(Q / s_q), -127, 127)``, stored ``q + 128`` as u8 (VNNI
  takes u8 x s8); the ``128 * sum_d k`` term is subtracted per key;
- ``K``, ``V``: symmetric s8 (``s = absmax / 127``);
- probabilities: ``u = rint(255 * exp(x - max))`` as u8, *not* normalized: every row's largest
  value is 255 whatever its spread, and ``O = s_v * (u @ v) / sum(u)`` normalizes with the
  quantized weights themselves (they sum to exactly 1).

Those are the ranges of every level with VNNI: zmm (AVX-512 VNNI, and AMX) and ymm with the VEX
``vpdpbusd`` (AVX-VNNI). The ymm path without VNNI (AVX2) takes everything in 7 bits, ``q`` in
``[-63, 63]`` stored ``+ 64``, ``K`` and ``V`` in ``[-64, 64]``, ``u = rint(127 exp)``, so that
two dot steps' s16 pair sums add exactly before one ``vpmaddwd`` (:data:`YMM_OPS`).

Layouts (batch 1; ``N = H * d``; ``S % 16 == 0``, ``d % 16 == 0``):

- ``Q f32[S, N]`` token-major, ``KT f32[N, S]`` (what the K projection's 4x1 kernel stores),
  ``V f32[S, N]``, additive ``mask f32[S, S]`` (query x key), output ``O f32[S, N]``;
- inside: ``Kp s8[H, d/4, S, 4]`` (for query row ``i``, 4 bytes of ``q`` broadcast x 16 keys x 4
  head dims per ``vpdpbusd``), ``Vp s8[H, S/4, d, 4]`` (4 bytes of ``u`` broadcast x 16 head
  dims x 4 keys), ``Qq u8[H, S, d]``.

AMX (``amx=True``, a CPU with AMX INT8 such as Sapphire Rapids): ``Qq`` rows and ``Kp`` are
already tile operands (``A = Qq[h, 16 rows, d]``, ``B`` rows = ``Kp[h, g, 16 keys, 4]``), so are
the u8 probabilities and ``Vp``; one ``tdpbusd`` does 16 x 16 x 64 multiply-adds. Same integer
sums, so the same bits as the VNNI path; parallel over heads (16-row blocks of a head run in
order, software-pipelined).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa import amx as amx_ops
from tvm_blocksparse.isa import avx2, avx512, avx_vnni
from tvm_blocksparse.isa.common import allreduce, bcast, fconst, fma

#: Query rows per parallel task (two at a time share every ``Kp`` / ``Vp`` load).
ROWS_PER_TASK = 16
_INTERLEAVE = [c * 16 + t for t in range(16) for c in range(4)]  # 4 rows x 16 -> 16 x 4 bytes


def _key_vectors_per_pass(key_vectors: int, most: int = 8) -> int:
    """Largest divisor of ``S / lanes`` up to ``most``: on zmm 8 (2 rows x 8 vectors of int32
    accumulators are two 512-byte stack buffers, under the 1 KiB that stays in registers, and 16
    of 32 zmm); on ymm 4 (8 of the 16 ymm, beside the dot step's temporaries)."""
    return max(c for c in range(1, most + 1) if key_vectors % c == 0)


def _pow2_ymm(p, n):
    """``p * 2^n`` per lane (float32x8, ``n`` integral in [-30, 0]): ``n`` as the exponent bits of
    a float, so exact like ``vscalefps`` (AVX2 has no such instruction)."""
    bits = T.shift_left(
        T.Cast("int32x8", n) + T.broadcast(T.int32(127), 8), T.broadcast(T.int32(23), 8)
    )
    return p * T.reinterpret(bits, dtype="float32x8")


def _vpdpbusd_two_steps(acc, act0, weight0, act1, weight1):
    """Two ``vpdpbusd`` steps into ``acc`` (zmm)."""
    return avx512.vpdpbusd(avx512.vpdpbusd(acc, act0, weight0), act1, weight1)


def _vpdpbusd_ymm_two_steps(acc, act0, weight0, act1, weight1):
    """Two ``vpdpbusd`` steps into ``acc`` (ymm, VEX-encoded on AVX-VNNI)."""
    return avx_vnni.vpdpbusd(avx_vnni.vpdpbusd(acc, act0, weight0), act1, weight1)


#: The vector path's operations and ranges per level (:data:`LEVEL_OPS`): 16-lane zmm with
#: ``vpdpbusd`` (AVX-512 VNNI: s8 Q, K and V, u8 probabilities up to 255); 8-lane ymm with the
#: VEX ``vpdpbusd`` (AVX-VNNI: the same 8-bit ranges, so the same bits as zmm); 8-lane ymm with
#: ``vpmaddubsw`` + ``vpmaddwd`` (AVX2: everything in 7 bits, Q ``[-63, 63]`` stored ``+ 64``, K
#: and V ``[-64, 64]``, probabilities ``[0, 127]``, so that two steps' pair sums, ``2 x 2 x 127 x
#: 64``, add in s16 before one ``vpmaddwd``: exact, and 3 multiplies per two steps instead of 4).
ZMM_OPS = SimpleNamespace(
    lanes=16,
    q_qmax=127,
    kv_qmax=127,
    prob_max=255,
    dot2=_vpdpbusd_two_steps,
    bcast4=avx512.broadcast_4_bytes,
    rint=avx512.rint_i32,
    rint16=avx512.rint_i32,
    pow2=avx512.scalef,
    most_key_vectors=8,
    u8_16=lambda q: T.Cast("uint8x16", q),  # vpmovdb
    s8_16=lambda q: T.Cast("int8x16", q),  # vpmovdb
    f32="float32x16",
)
YMM_OPS = SimpleNamespace(
    lanes=8,
    q_qmax=63,
    kv_qmax=64,
    prob_max=127,
    dot2=avx2.dot_u8s8_two_steps,
    bcast4=avx2.broadcast_4_bytes,
    rint=avx2.rint_i32,
    rint16=avx2.rint_i32_16,
    pow2=_pow2_ymm,
    most_key_vectors=4,
    u8_16=avx2.saturate_u8,  # values in [0, 255]: the packs' saturation never bites
    s8_16=avx2.saturate_s8,  # values in [-127, 127]: nor here
    f32="float32x8",
)
#: the ymm operations with zmm's 8-bit ranges and the VEX ``vpdpbusd`` (``saturate_u8``'s packs
#: keep probabilities up to 255 as they are).
YMM_VNNI_OPS = SimpleNamespace(
    **{
        **vars(YMM_OPS),
        "q_qmax": ZMM_OPS.q_qmax,
        "kv_qmax": ZMM_OPS.kv_qmax,
        "prob_max": ZMM_OPS.prob_max,
        "dot2": _vpdpbusd_ymm_two_steps,
    }
)
#: The vector path of each level with INT8 attention (AMX: its AVX-512 VNNI path beside the tiles).
LEVEL_OPS = {"avx512_vnni": ZMM_OPS, "avx_vnni": YMM_VNNI_OPS, "avx2": YMM_OPS}


def level_ops(level: str) -> SimpleNamespace:
    """:data:`LEVEL_OPS` of ``level``; ``ValueError`` naming the levels otherwise."""
    if level not in LEVEL_OPS:
        raise ValueError(
            f"INT8 attention has no path for level {level!r}; choose one of {', '.join(LEVEL_OPS)}"
        )
    return LEVEL_OPS[level]


# 2^f on [-0.5, 0.5], degree 4 (fitted here, max relative error 2.6e-6: 7e-4 of a probability
# step), coefficients ascending.
_EXP2_POLY = (
    0.9999992847442627,
    0.6931219100952148,
    0.240247443318367,
    0.05591721460223198,
    0.009569866582751274,
)


def _prob_poly(prob_max: int) -> tuple[float, ...]:
    """:data:`_EXP2_POLY` scaled by ``prob_max`` (a probability's largest value) in float32."""
    return tuple(float(np.float32(c * prob_max)) for c in _EXP2_POLY)


_LOG2E = 1.4426950408889634
_PROB_T_MIN = -30.0  # 255 * 2^-30 rounds to 0; keeps the exponent bits in range


def _prob_lanes(x, ops=ZMM_OPS):
    """``rint(255 * exp(x))`` as int32x16 for ``x <= 0`` (a score minus its row's max): ``t = x
    log2 e = n + f``, a degree-4 polynomial in ``f`` (explicit FMAs, so :func:`attention_int8_ref`
    can repeat them), times ``2^n`` by ``vscalefps`` (exact, like ``ldexp``). 11 vector ops per 16
    scores against ~28 for :func:`~tvm_blocksparse.op.epilogue.exp_f32` and the scaling: the
    exponential was as costly as either matmul of the kernel, and is the softmax's largest part."""
    lanes = ops.lanes
    poly = _prob_poly(ops.prob_max)
    t = T.max(x * fconst(_LOG2E, lanes), fconst(_PROB_T_MIN, lanes))
    n = T.nearbyint(t)
    f = t - n
    p = fconst(poly[4], lanes)
    for c in poly[3::-1]:
        p = fma(p, f, fconst(c, lanes), lanes)
    return ops.rint(ops.pow2(p, n))


def _score_lanes(acc, kcomp, qk_scale, mask, lanes=16):
    """``lanes`` scores of a query row: its int32 sums less the keys' u8-offset term, dequantized
    by ``qk_scale = s_q * s_k * scale``, plus the mask (float32 steps as
    :func:`attention_int8_ref`)."""
    return T.Cast(f"float32x{lanes}", acc - kcomp) * bcast(qk_scale, lanes) + mask


@T.macro
def _row_probabilities(scores, vmax, isum, uprob, probs, vsum, r, slot, row, key_vecs, ops):
    """Row ``r`` of ``scores`` (its max so far in ``vmax[r]``) -> u8 probabilities in
    ``probs[slot, row, :]`` and their sum (as float32, in every lane) in ``vsum[slot, row, :]``;
    ``ops.lanes`` keys per vector."""
    vmax[r, T.ramp(0, 1, ops.lanes)] = allreduce(vmax[r, T.ramp(0, 1, ops.lanes)], T.max, ops.lanes)
    isum[r, T.ramp(0, 1, ops.lanes)] = T.broadcast(T.int32(0), ops.lanes)
    for kv16 in T.unroll(key_vecs * ops.lanes // 16):  # 16 keys: 1 zmm or 2 ymm
        for h in T.unroll(16 // ops.lanes):
            uprob[T.ramp(h * ops.lanes, 1, ops.lanes)] = _prob_lanes(
                scores[r, T.ramp(kv16 * 16 + h * ops.lanes, 1, ops.lanes)]
                - vmax[r, T.ramp(0, 1, ops.lanes)],
                ops,
            )
            isum[r, T.ramp(0, 1, ops.lanes)] = (
                isum[r, T.ramp(0, 1, ops.lanes)] + uprob[T.ramp(h * ops.lanes, 1, ops.lanes)]
            )
        probs[slot, row, T.ramp(kv16 * 16, 1, 16)] = ops.u8_16(uprob[T.ramp(0, 1, 16)])
    vsum[slot, row, T.ramp(0, 1, ops.lanes)] = T.Cast(
        ops.f32, allreduce(isum[r, T.ramp(0, 1, ops.lanes)], T.Add, ops.lanes)
    )


def _s8(x, ops=ZMM_OPS):
    """``rint(x)`` as int8x16 for ``|x| <= kv_qmax`` (``x = value / (absmax / kv_qmax)``: no
    clamp needed)."""
    return ops.s8_16(ops.rint16(x))


# ---------------------------------------------------------------- AMX (tile registers)
# Linux hands a process the AMX tile state only after it asks (arch_prctl ARCH_REQ_XCOMP_PERM
# for XFEATURE_XTILEDATA); the kernel asks on every call (after the first grant Linux answers
# from a flag) and runs its VNNI path when refused: a CPU or Linux without AMX, a sandbox.
# Tile registers of the AMX path: Q rows (A, 16 x d bytes), K^T columns (B, d/4 x 64), four
# 16 x 16 int32 accumulators, probabilities (A, 16 x 64) and V (B, 16 x 64).
_T_Q, _T_K, _T_C0, _T_P, _T_V = 0, 1, 2, 6, 7


def amx_supported(s: int, d: int) -> bool:
    """Shapes the AMX path tiles: 64-key chunks and a head dim of 32 or 64 (one Q tile)."""
    return s % 64 == 0 and d in (32, 64)


@functools.cache  # parsed once per shape: every layer asks for the same one
def attention_int8(
    s: int, heads: int, d: int, scale: float, amx: bool = False, level: str = "avx512_vnni"
) -> tvm.tirx.PrimFunc:
    """The kernel. Parameters ``Q, KT, V, mask, O`` as in the module docstring; ``scale``
    multiplies ``Q K^T`` (``1/sqrt(d)`` in BERT).

    ``amx``: also emit an AMX path for the two matmuls (needs a target with ``amx-tile`` and
    ``amx-int8`` and :func:`amx_supported` shapes), taken at run time when Linux grants the
    process the tile state, else the VNNI path runs. Both give the same bits.

    ``level``: the vector path (:data:`LEVEL_OPS`): ``"avx512_vnni"`` zmm with ``vpdpbusd``;
    ``"avx_vnni"`` ymm with the VEX ``vpdpbusd``, same ranges and bits; ``"avx2"`` ymm with
    ``vpmaddubsw`` + ``vpmaddwd``, Q, K, V and the probabilities in 7 bits (:data:`YMM_OPS`)."""
    ops = level_ops(level)
    if amx and ops is not ZMM_OPS:
        raise ValueError("the AMX path comes with the AVX-512 VNNI (zmm) vector path")
    L = ops.lanes  # keys or head dims per vector of the vector path
    kv_qmax = ops.kv_qmax
    if s % 16 or d % 16 or s % ROWS_PER_TASK:
        raise ValueError(f"INT8 attention needs S % 16 == 0 and d % 16 == 0, got S={s}, d={d}")
    if amx and not amx_supported(s, d):
        raise ValueError(f"the AMX path needs S % 64 == 0 and d in (32, 64), got S={s}, d={d}")
    n = heads * d
    d_groups, key_groups, key_vecs, d_vecs = d // 4, s // 4, s // 16, d // 16
    key_vecs_l, d_vecs_l = s // L, d // L  # the vector path's vectors per row
    kc = _key_vectors_per_pass(key_vecs_l, ops.most_key_vectors)
    dc = _key_vectors_per_pass(d_vecs_l, ops.most_key_vectors)  # head-dim vectors per P V pass
    row_blocks = s // ROWS_PER_TASK
    pairs = ROWS_PER_TASK // 2
    scale = float(np.float32(scale))

    def _two_steps(bytes_of, vector_of, g2):
        """Operands of the two dot steps of 4-byte groups ``2 g2``, ``2 g2 + 1``: each group's
        ``bytes_of(g)`` broadcast and ``vector_of(g)`` (``L`` lanes x 4 bytes)."""
        return [x for g in (2 * g2, 2 * g2 + 1) for x in (ops.bcast4(bytes_of(g)), vector_of(g))]

    def _q_k_steps(Qq, Kp, vh, row, g2, key_vec):
        """For query ``row`` and keys ``key_vec * L ..``: 4 dims of ``Qq``, ``L`` keys x 4 dims of
        ``Kp`` per step (:func:`_two_steps`)."""
        return _two_steps(
            lambda g: Qq[vh, row, T.ramp(g * 4, 1, 4)],
            lambda g: Kp[T.ramp(((vh * d_groups + g) * s + key_vec * L) * 4, 1, 4 * L)],
            g2,
        )

    def _p_v_steps(probs, Vp, vh, row, g2, d_vec):
        """For row ``row`` of the pair and head dims ``d_vec * L ..``: 4 probabilities, ``L`` dims
        x 4 keys of ``Vp`` per step (:func:`_two_steps`)."""
        return _two_steps(
            lambda g: probs[0, row, T.ramp(g * 4, 1, 4)],
            lambda g: Vp[T.ramp(((vh * key_groups + g) * d + d_vec * L) * 4, 1, 4 * L)],
            g2,
        )

    @T.macro
    def attend_vnni(Kp, Vp, Qq, kcomp, hscale, mask, O):  # noqa: E741
        """Q K^T, softmax and P V by ``ops.dot2`` (two ``vpdpbusd`` on zmm, or the AVX2 ymm
        steps with one ``vpmaddwd``): 2 query rows at a time share every Kp / Vp load; P V in
        passes of ``dc`` head-dim vectors (on ymm 2 rows x 8 vectors of accumulators spilled)."""
        for task in T.parallel(heads * row_blocks):
            with T.sblock("attend"):
                vh = T.axis.spatial(heads, task // row_blocks)
                vb = T.axis.spatial(row_blocks, task % row_blocks)
                T.reads(
                    Kp[vh * d_groups * s * 4 : (vh + 1) * d_groups * s * 4],
                    Vp[vh * key_groups * d * 4 : (vh + 1) * key_groups * d * 4],
                    Qq[vh, 0:s, 0:d],
                    kcomp[vh, 0:s],
                    hscale[vh, 0:3],
                    mask[0:s, 0:s],
                )
                T.writes(O[0:s, 0:n])
                acc0 = T.alloc_buffer((kc * L,), "int32")
                acc1 = T.alloc_buffer((kc * L,), "int32")
                out0 = T.alloc_buffer((d,), "int32")
                out1 = T.alloc_buffer((d,), "int32")
                scores = T.alloc_buffer((2, s), "float32")
                probs = T.alloc_buffer((1, 2, s), "uint8")  # [slot, row of the pair, key]
                vmax = T.alloc_buffer((2, L), "float32")  # per row: max score in every lane
                vsum = T.alloc_buffer((1, 2, L), "float32")  # per row: sum of u8 probabilities
                uprob = T.alloc_buffer((16,), "int32")
                isum = T.alloc_buffer((2, L), "int32")
                for pair in range(pairs):
                    for r in T.unroll(2):
                        vmax[r, T.ramp(0, 1, L)] = T.broadcast(T.min_value("float32"), L)
                    for kp in range(key_vecs_l // kc):
                        for kv in T.unroll(kc):
                            acc0[T.ramp(kv * L, 1, L)] = T.broadcast(T.int32(0), L)
                            acc1[T.ramp(kv * L, 1, L)] = T.broadcast(T.int32(0), L)
                        for g in range(d_groups // 2):
                            for kv in T.unroll(kc):
                                acc0[T.ramp(kv * L, 1, L)] = ops.dot2(
                                    acc0[T.ramp(kv * L, 1, L)],
                                    *_q_k_steps(
                                        Qq, Kp, vh, vb * ROWS_PER_TASK + pair * 2, g, kp * kc + kv
                                    ),
                                )
                                acc1[T.ramp(kv * L, 1, L)] = ops.dot2(
                                    acc1[T.ramp(kv * L, 1, L)],
                                    *_q_k_steps(
                                        Qq,
                                        Kp,
                                        vh,
                                        vb * ROWS_PER_TASK + pair * 2 + 1,
                                        g,
                                        kp * kc + kv,
                                    ),
                                )
                        for kv in T.unroll(kc):
                            scores[0, T.ramp((kp * kc + kv) * L, 1, L)] = _score_lanes(
                                acc0[T.ramp(kv * L, 1, L)],
                                kcomp[vh, T.ramp((kp * kc + kv) * L, 1, L)],
                                hscale[vh, 0] * hscale[vh, 1] * T.float32(scale),
                                mask[
                                    vb * ROWS_PER_TASK + pair * 2,
                                    T.ramp((kp * kc + kv) * L, 1, L),
                                ],
                                L,
                            )
                            vmax[0, T.ramp(0, 1, L)] = T.max(
                                vmax[0, T.ramp(0, 1, L)],
                                scores[0, T.ramp((kp * kc + kv) * L, 1, L)],
                            )
                            scores[1, T.ramp((kp * kc + kv) * L, 1, L)] = _score_lanes(
                                acc1[T.ramp(kv * L, 1, L)],
                                kcomp[vh, T.ramp((kp * kc + kv) * L, 1, L)],
                                hscale[vh, 0] * hscale[vh, 1] * T.float32(scale),
                                mask[
                                    vb * ROWS_PER_TASK + pair * 2 + 1,
                                    T.ramp((kp * kc + kv) * L, 1, L),
                                ],
                                L,
                            )
                            vmax[1, T.ramp(0, 1, L)] = T.max(
                                vmax[1, T.ramp(0, 1, L)],
                                scores[1, T.ramp((kp * kc + kv) * L, 1, L)],
                            )
                    for r in T.unroll(2):
                        _row_probabilities(
                            scores, vmax, isum, uprob, probs, vsum, r, 0, r, key_vecs_l, ops
                        )
                    for dp in range(d_vecs_l // dc):
                        for dv in T.unroll(dc):
                            out0[T.ramp((dp * dc + dv) * L, 1, L)] = T.broadcast(T.int32(0), L)
                            out1[T.ramp((dp * dc + dv) * L, 1, L)] = T.broadcast(T.int32(0), L)
                        for g in range(key_groups // 2):
                            for dv in T.unroll(dc):
                                out0[T.ramp((dp * dc + dv) * L, 1, L)] = ops.dot2(
                                    out0[T.ramp((dp * dc + dv) * L, 1, L)],
                                    *_p_v_steps(probs, Vp, vh, 0, g, dp * dc + dv),
                                )
                                out1[T.ramp((dp * dc + dv) * L, 1, L)] = ops.dot2(
                                    out1[T.ramp((dp * dc + dv) * L, 1, L)],
                                    *_p_v_steps(probs, Vp, vh, 1, g, dp * dc + dv),
                                )
                    for dv in T.unroll(d_vecs_l):
                        O[vb * ROWS_PER_TASK + pair * 2, T.ramp(vh * d + dv * L, 1, L)] = T.Cast(
                            ops.f32, out0[T.ramp(dv * L, 1, L)]
                        ) * (bcast(hscale[vh, 2], L) / vsum[0, 0, T.ramp(0, 1, L)])
                        O[vb * ROWS_PER_TASK + pair * 2 + 1, T.ramp(vh * d + dv * L, 1, L)] = (
                            T.Cast(ops.f32, out1[T.ramp(dv * L, 1, L)])
                            * (bcast(hscale[vh, 2], L) / vsum[0, 1, T.ramp(0, 1, L)])
                        )

    @T.macro
    def attend_amx(Kp, Vp, Qq, kcomp, hscale, mask, O):  # noqa: E741
        """Q K^T and P V of one head by AMX tiles (``tdpbusd``: 16 x 16 x 64 multiply-adds per
        instruction); the int32 sums are the VNNI path's, so are the softmax and the output.

        Software-pipelined over blocks of 16 query rows: step ``b`` runs Q K^T of block ``b``,
        P V of block ``b - 1``, then the softmax of ``b`` and the output of ``b - 1``. A tile load
        of data that vector stores have just written (and vector loads of a tile store) wait for
        the stores to reach L1; this order puts other work between them."""
        for vh in T.parallel(heads):
            with T.sblock("attend_amx"):
                T.reads(
                    Kp[vh * d_groups * s * 4 : (vh + 1) * d_groups * s * 4],
                    Vp[vh * key_groups * d * 4 : (vh + 1) * key_groups * d * 4],
                    Qq[vh, 0:s, 0:d],
                    kcomp[vh, 0:s],
                    hscale[vh, 0:3],
                    mask[0:s, 0:s],
                )
                T.writes(O[0:s, vh * d : (vh + 1) * d])
                cfg = T.alloc_buffer(
                    (64,), "uint8"
                )  # palette 1; colsb u16 at 16 + 2t, rows u8 at 48 + t
                acc = T.alloc_buffer((ROWS_PER_TASK, s), "int32")
                probs = T.alloc_buffer((2, ROWS_PER_TASK, s), "uint8")
                out = T.alloc_buffer((ROWS_PER_TASK, d), "int32")
                scores = T.alloc_buffer((2, s), "float32")
                vmax = T.alloc_buffer((2, 16), "float32")
                vsum = T.alloc_buffer((2, ROWS_PER_TASK, 16), "float32")
                uprob = T.alloc_buffer((16,), "int32")
                isum = T.alloc_buffer((2, 16), "int32")
                amx_ops.fill_tile_config(cfg, 8)
                cfg[16 + 2 * _T_Q] = T.uint8(d)
                cfg[48 + _T_K] = T.uint8(d // 4)
                amx_ops.amx_op("ldtilecfg", T.address_of(cfg[0]))
                for vb in range(row_blocks + 1):
                    if vb < row_blocks:  # Q K^T of block vb, 64 keys per step
                        amx_ops.tile_load(_T_Q, T.address_of(Qq[vh, vb * ROWS_PER_TASK, 0]), d)
                        for kp in range(s // 64):
                            amx_ops.tile_zero(_T_C0)
                            amx_ops.tile_zero(_T_C0 + 1)
                            amx_ops.tile_zero(_T_C0 + 2)
                            amx_ops.tile_zero(_T_C0 + 3)
                            amx_ops.tile_load(
                                _T_K, T.address_of(Kp[(vh * d_groups * s + kp * 64) * 4]), s * 4
                            )
                            amx_ops.tile_dpbusd(_T_C0, _T_Q, _T_K)
                            amx_ops.tile_load(
                                _T_K,
                                T.address_of(Kp[(vh * d_groups * s + kp * 64 + 16) * 4]),
                                s * 4,
                            )
                            amx_ops.tile_dpbusd(_T_C0 + 1, _T_Q, _T_K)
                            amx_ops.tile_load(
                                _T_K,
                                T.address_of(Kp[(vh * d_groups * s + kp * 64 + 32) * 4]),
                                s * 4,
                            )
                            amx_ops.tile_dpbusd(_T_C0 + 2, _T_Q, _T_K)
                            amx_ops.tile_load(
                                _T_K,
                                T.address_of(Kp[(vh * d_groups * s + kp * 64 + 48) * 4]),
                                s * 4,
                            )
                            amx_ops.tile_dpbusd(_T_C0 + 3, _T_Q, _T_K)
                            amx_ops.tile_store(_T_C0, T.address_of(acc[0, kp * 64]), s * 4)
                            amx_ops.tile_store(_T_C0 + 1, T.address_of(acc[0, kp * 64 + 16]), s * 4)
                            amx_ops.tile_store(_T_C0 + 2, T.address_of(acc[0, kp * 64 + 32]), s * 4)
                            amx_ops.tile_store(_T_C0 + 3, T.address_of(acc[0, kp * 64 + 48]), s * 4)
                    if (
                        vb > 0
                    ):  # P V of block vb - 1: d / 16 accumulator tiles (2 or 4), 64 keys per step
                        amx_ops.tile_zero(_T_C0)
                        amx_ops.tile_zero(_T_C0 + 1)
                        if d == 64:
                            amx_ops.tile_zero(_T_C0 + 2)
                            amx_ops.tile_zero(_T_C0 + 3)
                        for kc in range(s // 64):
                            amx_ops.tile_load(
                                _T_P, T.address_of(probs[(vb - 1) % 2, 0, kc * 64]), s
                            )
                            amx_ops.tile_load(
                                _T_V, T.address_of(Vp[(vh * key_groups + kc * 16) * d * 4]), d * 4
                            )
                            amx_ops.tile_dpbusd(_T_C0, _T_P, _T_V)
                            amx_ops.tile_load(
                                _T_V,
                                T.address_of(Vp[((vh * key_groups + kc * 16) * d + 16) * 4]),
                                d * 4,
                            )
                            amx_ops.tile_dpbusd(_T_C0 + 1, _T_P, _T_V)
                            if d == 64:
                                amx_ops.tile_load(
                                    _T_V,
                                    T.address_of(Vp[((vh * key_groups + kc * 16) * d + 32) * 4]),
                                    d * 4,
                                )
                                amx_ops.tile_dpbusd(_T_C0 + 2, _T_P, _T_V)
                                amx_ops.tile_load(
                                    _T_V,
                                    T.address_of(Vp[((vh * key_groups + kc * 16) * d + 48) * 4]),
                                    d * 4,
                                )
                                amx_ops.tile_dpbusd(_T_C0 + 3, _T_P, _T_V)
                        amx_ops.tile_store(_T_C0, T.address_of(out[0, 0]), d * 4)
                        amx_ops.tile_store(_T_C0 + 1, T.address_of(out[0, 16]), d * 4)
                        if d == 64:
                            amx_ops.tile_store(_T_C0 + 2, T.address_of(out[0, 32]), d * 4)
                            amx_ops.tile_store(_T_C0 + 3, T.address_of(out[0, 48]), d * 4)
                    if (
                        vb < row_blocks
                    ):  # softmax of block vb, two rows at a time (independent chains)
                        for pair in range(ROWS_PER_TASK // 2):
                            for r in T.unroll(2):
                                vmax[r, T.ramp(0, 1, 16)] = T.broadcast(T.min_value("float32"), 16)
                                for kv in T.unroll(key_vecs):
                                    scores[r, T.ramp(kv * 16, 1, 16)] = _score_lanes(
                                        acc[pair * 2 + r, T.ramp(kv * 16, 1, 16)],
                                        kcomp[vh, T.ramp(kv * 16, 1, 16)],
                                        hscale[vh, 0] * hscale[vh, 1] * T.float32(scale),
                                        mask[
                                            vb * ROWS_PER_TASK + pair * 2 + r,
                                            T.ramp(kv * 16, 1, 16),
                                        ],
                                    )
                                    vmax[r, T.ramp(0, 1, 16)] = T.max(
                                        vmax[r, T.ramp(0, 1, 16)], scores[r, T.ramp(kv * 16, 1, 16)]
                                    )
                            for r in T.unroll(2):
                                _row_probabilities(
                                    scores,
                                    vmax,
                                    isum,
                                    uprob,
                                    probs,
                                    vsum,
                                    r,
                                    vb % 2,
                                    pair * 2 + r,
                                    key_vecs,
                                    ZMM_OPS,
                                )
                    if vb > 0:
                        for r in range(ROWS_PER_TASK):
                            for dv in T.unroll(d_vecs):
                                O[(vb - 1) * ROWS_PER_TASK + r, T.ramp(vh * d + dv * 16, 1, 16)] = (
                                    T.Cast("float32x16", out[r, T.ramp(dv * 16, 1, 16)])
                                    * (
                                        bcast(hscale[vh, 2], 16)
                                        / vsum[(vb - 1) % 2, r, T.ramp(0, 1, 16)]
                                    )
                                )
                amx_ops.amx_op("tilerelease")

    @T.prim_func(s_tir=True)
    def main(
        Q: T.Buffer((s, n), "float32"),
        KT: T.Buffer((n, s), "float32"),
        V: T.Buffer((s, n), "float32"),
        mask: T.Buffer((s, s), "float32"),
        O: T.Buffer((s, n), "float32"),  # noqa: E741 - the attention output, as in the docstring
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            Kp = T.sblock_alloc_buffer(
                (heads * d_groups * s * 4,), "int8"
            )  # [H, d/4, S, 4], flat: 64-byte vectors
            Vp = T.sblock_alloc_buffer((heads * key_groups * d * 4,), "int8")  # [H, S/4, d, 4]
            Qq = T.sblock_alloc_buffer((heads, s, d), "uint8")
            kcomp = T.sblock_alloc_buffer((heads, s), "int32")  # (q_qmax + 1) sum_d k: Q's offset
            hscale = T.sblock_alloc_buffer((heads, 3), "float32")  # s_q, s_k, s_v
            for h in T.parallel(heads):
                with T.sblock("quantize_head"):
                    vh = T.axis.spatial(heads, h)
                    T.reads(Q[0:s, 0:n], KT[0:n, 0:s], V[0:s, 0:n])
                    T.writes(
                        Kp[vh * d_groups * s * 4 : (vh + 1) * d_groups * s * 4],
                        Vp[vh * key_groups * d * 4 : (vh + 1) * key_groups * d * 4],
                        Qq[vh, 0:s, 0:d],
                        kcomp[vh, 0:s],
                        hscale[vh, 0:3],
                    )
                    # |max| per tensor in independent accumulators (one chain of vmaxps was latency-
                    # bound)
                    amax_q = T.alloc_buffer((d_vecs, 16), "float32")
                    amax_v = T.alloc_buffer((d_vecs, 16), "float32")
                    amax_k = T.alloc_buffer((4, 16), "float32")
                    rows = T.alloc_buffer((4, 16), "int8")
                    for dv in T.unroll(d_vecs):
                        amax_q[dv, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                        amax_v[dv, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                    for c in T.unroll(4):
                        amax_k[c, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                    for i in range(s):
                        for dv in T.unroll(d_vecs):
                            amax_q[dv, T.ramp(0, 1, 16)] = T.max(
                                amax_q[dv, T.ramp(0, 1, 16)],
                                T.fabs(Q[i, T.ramp(vh * d + dv * 16, 1, 16)]),
                            )
                            amax_v[dv, T.ramp(0, 1, 16)] = T.max(
                                amax_v[dv, T.ramp(0, 1, 16)],
                                T.fabs(V[i, T.ramp(vh * d + dv * 16, 1, 16)]),
                            )
                    for g, kv in T.grid(d_groups, key_vecs):
                        for c in T.unroll(4):
                            amax_k[c, T.ramp(0, 1, 16)] = T.max(
                                amax_k[c, T.ramp(0, 1, 16)],
                                T.fabs(KT[vh * d + g * 4 + c, T.ramp(kv * 16, 1, 16)]),
                            )
                    for dv in T.unroll(1, d_vecs):
                        amax_q[0, T.ramp(0, 1, 16)] = T.max(
                            amax_q[0, T.ramp(0, 1, 16)], amax_q[dv, T.ramp(0, 1, 16)]
                        )
                        amax_v[0, T.ramp(0, 1, 16)] = T.max(
                            amax_v[0, T.ramp(0, 1, 16)], amax_v[dv, T.ramp(0, 1, 16)]
                        )
                    for c in T.unroll(1, 4):
                        amax_k[0, T.ramp(0, 1, 16)] = T.max(
                            amax_k[0, T.ramp(0, 1, 16)], amax_k[c, T.ramp(0, 1, 16)]
                        )
                    amax_q[0, T.ramp(0, 1, 16)] = allreduce(amax_q[0, T.ramp(0, 1, 16)], T.max, 16)
                    amax_k[0, T.ramp(0, 1, 16)] = allreduce(amax_k[0, T.ramp(0, 1, 16)], T.max, 16)
                    amax_v[0, T.ramp(0, 1, 16)] = allreduce(amax_v[0, T.ramp(0, 1, 16)], T.max, 16)
                    hscale[vh, 0] = T.if_then_else(
                        amax_q[0, 0] > T.float32(0),
                        amax_q[0, 0] / T.float32(ops.q_qmax),
                        T.float32(1),
                    )
                    hscale[vh, 1] = T.if_then_else(
                        amax_k[0, 0] > T.float32(0),
                        amax_k[0, 0] / T.float32(kv_qmax),
                        T.float32(1),
                    )
                    hscale[vh, 2] = T.if_then_else(
                        amax_v[0, 0] > T.float32(0),
                        amax_v[0, 0] / T.float32(kv_qmax),
                        T.float32(1),
                    )
                    for i, dv in T.grid(s, d_vecs):
                        Qq[vh, i, T.ramp(dv * 16, 1, 16)] = ops.u8_16(
                            ops.rint16(
                                Q[i, T.ramp(vh * d + dv * 16, 1, 16)]
                                * bcast(T.float32(1) / hscale[vh, 0], 16)
                            )
                            + bcast(T.int32(ops.q_qmax + 1), 16)
                        )
                    for kv in range(key_vecs):
                        kcomp[vh, T.ramp(kv * 16, 1, 16)] = T.broadcast(T.int32(0), 16)
                    for g, kv in T.grid(d_groups, key_vecs):
                        for c in T.unroll(4):
                            rows[c, T.ramp(0, 1, 16)] = _s8(
                                KT[vh * d + g * 4 + c, T.ramp(kv * 16, 1, 16)]
                                * bcast(T.float32(1) / hscale[vh, 1], 16),
                                ops,
                            )
                            kcomp[vh, T.ramp(kv * 16, 1, 16)] = kcomp[
                                vh, T.ramp(kv * 16, 1, 16)
                            ] + T.Cast("int32x16", rows[c, T.ramp(0, 1, 16)]) * bcast(
                                T.int32(ops.q_qmax + 1), 16
                            )
                        Kp[T.ramp(((vh * d_groups + g) * s + kv * 16) * 4, 1, 64)] = T.Shuffle(
                            [rows[c, T.ramp(0, 1, 16)] for c in range(4)], _INTERLEAVE
                        )
                    for g, dv in T.grid(key_groups, d_vecs):
                        for c in T.unroll(4):
                            rows[c, T.ramp(0, 1, 16)] = _s8(
                                V[g * 4 + c, T.ramp(vh * d + dv * 16, 1, 16)]
                                * bcast(T.float32(1) / hscale[vh, 2], 16),
                                ops,
                            )
                        Vp[T.ramp(((vh * key_groups + g) * d + dv * 16) * 4, 1, 64)] = T.Shuffle(
                            [rows[c, T.ramp(0, 1, 16)] for c in range(4)], _INTERLEAVE
                        )
            if amx:
                # the grant is per process: asked on every call, answered at once after the first
                if amx_ops.request_tiles() == T.int64(0):
                    attend_amx(Kp, Vp, Qq, kcomp, hscale, mask, O)
                else:
                    attend_vnni(Kp, Vp, Qq, kcomp, hscale, mask, O)
            else:
                attend_vnni(Kp, Vp, Qq, kcomp, hscale, mask, O)

    return main


def attention_int8_ref(
    q: np.ndarray,
    kt: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray,
    heads: int,
    scale: float,
    level: str = "avx512_vnni",
) -> np.ndarray:
    """Numpy twin of :func:`attention_int8` (same quantization, float32 arithmetic and integer
    sums; numpy's ``exp`` may differ from the kernel's by an ulp, which can move a probability
    by one step). ``level``: the kernel's path (:data:`LEVEL_OPS`), whose ranges it repeats."""
    ops = level_ops(level)
    s, n = q.shape
    d = n // heads
    f32 = np.float32
    out = np.empty((s, n), f32)

    def sym_s8(x, qmax):
        amax = f32(np.abs(x).max())
        sc = amax / f32(qmax) if amax > 0 else f32(1)
        return np.clip(np.rint(x * (f32(1) / sc)), -qmax, qmax).astype(np.int32), sc

    for h in range(heads):
        qq, sq = sym_s8(q[:, h * d : (h + 1) * d], ops.q_qmax)
        kq, sk = sym_s8(kt[h * d : (h + 1) * d, :], ops.kv_qmax)  # [d, S]
        vq, sv = sym_s8(v[:, h * d : (h + 1) * d], ops.kv_qmax)
        offset = ops.q_qmax + 1
        acc = (qq + offset) @ kq - offset * kq.sum(axis=0)[None, :]
        scores = acc.astype(f32) * (sq * sk * f32(scale)) + mask
        u = _prob_ref(scores - scores.max(axis=1, keepdims=True), ops.prob_max)
        usum = u.sum(axis=1, dtype=f32)
        out[:, h * d : (h + 1) * d] = (u.astype(np.int32) @ vq).astype(f32) * (sv / usum)[:, None]
    return out


def _prob_ref(x: np.ndarray, prob_max: int = 255) -> np.ndarray:
    """Numpy twin of :func:`_prob_lanes` (an FMA as float64 multiply-add rounded once to float32:
    exact for these operands but for rare double-rounding ties)."""
    f32 = np.float32
    poly = _prob_poly(prob_max)
    with np.errstate(over="ignore"):  # masked scores: -FLT_MAX * log2 e -> -inf -> clamped
        t = np.maximum(x * f32(_LOG2E), f32(_PROB_T_MIN))
    n = np.rint(t)
    f = t - n
    p = np.full_like(f, f32(poly[4]))
    for c in poly[3::-1]:
        p = (p.astype(np.float64) * f + np.float64(c)).astype(f32)
    return np.rint(np.ldexp(p, n.astype(np.int32)).astype(f32))


def attention_f32_ref(q, kt, v, mask, heads: int, scale: float) -> np.ndarray:
    """Float reference: ``softmax(Q_h K_h^T * scale + mask) V_h`` per head."""
    s, n = q.shape
    d = n // heads
    out = np.empty((s, n), np.float64)
    for h in range(heads):
        x = q[:, h * d : (h + 1) * d].astype(np.float64) @ kt[h * d : (h + 1) * d, :] * scale + mask
        p = np.exp(x - x.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out[:, h * d : (h + 1) * d] = p @ v[:, h * d : (h + 1) * d]
    return out.astype(np.float32)
