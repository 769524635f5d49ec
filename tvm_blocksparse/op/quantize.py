"""Activation quantization ops of the INT8 path (u8, per token): the range pass, quantize and
quantize-transpose into the 4x1 kernel's ``XT`` layout. 16-lane vectors (zmm; two ymm below
AVX-512); ``avx512=False`` gives the ymm levels (AVX2, AVX-VNNI) their own transpose and fewer
range chains, sized to 16 ymm registers.

Per token, not per tensor: with one range per tensor, the short texts of the real
all-MiniLM-L6-v2 lost the 0.99 cosine bar (0.9847; per token 0.99+, bench/README.md, "Text
pipelines"), and the padding tokens of a length bucket moved the real tokens' step. Every
kernel takes ``x_scale f32[Mp]`` and ``x_zp i32[Mp]`` (``Mp = padded_tokens(M)``; entries past
``M`` are scale 1, zero point 0); static (calibrated) ranges repeat one pair.
"""

from __future__ import annotations

import functools

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa.common import allreduce, fconst
from tvm_blocksparse.op.epilogue import (
    ceil_div,
    requant_u8,
    requant_u8_by_inverse,
    rounded_i32_by_inverse,
)


def padded_tokens(m: int) -> int:
    """Token count of the transposed activation ``XT[K, Mp]`` fed to the 4x1 kernel."""
    return ceil_div(m, 16) * 16


#: 16-channel chunks per parallel task of :func:`quantize_transpose_u8`: a task divides for its
#: 16 tokens' reciprocal scales once, then quantizes this many 16 x 16 tiles (a division per
#: token per tile bounded the pass).
TRANSPOSE_CHUNKS_PER_TASK = 8


# Parsed once per shape (lru_cache): a model asks for the same one per layer, and TVMScript
# parsing dominates compile time. PrimFuncs are immutable, so sharing them is safe.
@functools.cache
def quantize_transpose_u8(m: int, k: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """``XT[K, Mp] = clip(rint(X[M, K] * (1 / x_scale)) + x_zp, 0, 255)`` transposed, zero padded.

    Parameters: ``X f32[M, K]``, ``x_scale f32[Mp]``, ``x_zp i32[Mp]`` (per token), ``XT u8[K, Mp]``
    with ``Mp = padded_tokens(M)``. Padding tokens are 0 (their outputs are never stored).

    With ``K % 16 == 0`` each task takes a 16 tokens x 16 channels tile: 16 contiguous row
    loads, quantized in zmm, then a byte transpose in registers and 16 16-byte stores (the
    plain form gathers 16 floats K apart per vector, 3.4x slower). The transpose is spelled out
    as 4 ``vpermb`` (4 tokens x 16 channels -> 16 channels x 4 tokens, one dword each) and a
    4 x 4 dword transpose by ``unpack`` shuffles: one 256-byte shuffle left LLVM ~80
    blend/permute ops per tile (bench/README.md, "Decisions"). Other K use the plain form.

    ``avx512=False`` (AVX2, AVX-VNNI: no ``vpermb``, 16 ymm registers) takes
    :func:`_quantize_transpose_u8_ymm`, the same bits in 8-channel halves of the tile."""
    mp = padded_tokens(m)
    if k % 16:
        return _quantize_transpose_u8_plain(m, k)
    if not avx512:
        return _quantize_transpose_u8_ymm(m, k)
    n_groups, n_chunks = mp // 16, k // 16
    per_task = min(n_chunks, TRANSPOSE_CHUNKS_PER_TASK)
    n_parts = ceil_div(n_chunks, per_task)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for g in T.parallel(n_groups * n_parts):
                with T.sblock("tile"):
                    vg = T.axis.spatial(n_groups * n_parts, g)
                    T.reads(X[0:m, 0:k], x_scale[0:mp], x_zp[0:mp])
                    T.writes(XT[0:k, 0:mp])
                    inv = T.alloc_buffer((16,), "float32")  # the group's 16 reciprocal scales
                    tile = T.alloc_buffer((256,), "uint8")  # [token][channel]
                    col4 = T.alloc_buffer((64,), "int32")  # 4 x [channel][4 tokens]
                    half = T.alloc_buffer((64,), "int32")
                    full = T.alloc_buffer((64,), "int32")  # [channel % 4][channel // 4][16 tokens]
                    inv[T.ramp(0, 1, 16)] = (
                        fconst(1.0, 16) / x_scale[T.ramp((vg // n_parts) * 16, 1, 16)]
                    )
                    for c in range(T.min(per_task, n_chunks - (vg % n_parts) * per_task)):
                        for t in T.unroll(16):
                            tile[T.ramp(t * 16, 1, 16)] = T.if_then_else(
                                (vg // n_parts) * 16 + t < m,
                                requant_u8_by_inverse(
                                    X[
                                        T.min((vg // n_parts) * 16 + t, m - 1),
                                        T.ramp(((vg % n_parts) * per_task + c) * 16, 1, 16),
                                    ],
                                    inv[t],
                                    x_zp[(vg // n_parts) * 16 + t],
                                    16,
                                    avx512,
                                ),
                                T.broadcast(T.uint8(0), 16),
                            )
                        for j in T.unroll(4):
                            col4[T.ramp(j * 16, 1, 16)] = T.reinterpret(
                                "int32x16",
                                T.Shuffle([tile[T.ramp(j * 64, 1, 64)]], _TOKENS4_BY_CHANNEL),
                            )
                        for j in T.unroll(2):
                            half[T.ramp(j * 32, 1, 16)] = T.Shuffle(
                                [col4[T.ramp(j * 32, 1, 16)], col4[T.ramp(j * 32 + 16, 1, 16)]],
                                _UNPACK_LO_DWORDS,
                            )
                            half[T.ramp(j * 32 + 16, 1, 16)] = T.Shuffle(
                                [col4[T.ramp(j * 32, 1, 16)], col4[T.ramp(j * 32 + 16, 1, 16)]],
                                _UNPACK_HI_DWORDS,
                            )
                        for j in T.unroll(2):
                            full[T.ramp(j * 32, 1, 16)] = T.Shuffle(
                                [half[T.ramp(j * 16, 1, 16)], half[T.ramp(j * 16 + 32, 1, 16)]],
                                _UNPACK_LO_QWORDS,
                            )
                            full[T.ramp(j * 32 + 16, 1, 16)] = T.Shuffle(
                                [half[T.ramp(j * 16, 1, 16)], half[T.ramp(j * 16 + 32, 1, 16)]],
                                _UNPACK_HI_QWORDS,
                            )
                        for r in T.unroll(4):
                            for lane in T.unroll(4):
                                XT[
                                    ((vg % n_parts) * per_task + c) * 16 + 4 * lane + r,
                                    T.ramp((vg // n_parts) * 16, 1, 16),
                                ] = T.reinterpret("uint8x16", full[T.ramp(r * 16 + 4 * lane, 1, 4)])

    return main


# Byte/dword shuffles of quantize_transpose_u8's in-register 16 x 16 transpose.
# 64 bytes = 4 tokens x 16 channels -> 16 channels x 4 tokens (one vpermb):
_TOKENS4_BY_CHANNEL = [t * 16 + c for c in range(16) for t in range(4)]
# Per 128-bit lane, as vpunpck{l,h}{dq,qdq} on (a, b); index 16+ is b's dword:
_UNPACK_LO_DWORDS = [
    x for lane in range(4) for x in (4 * lane, 16 + 4 * lane, 4 * lane + 1, 17 + 4 * lane)
]
_UNPACK_HI_DWORDS = [
    x for lane in range(4) for x in (4 * lane + 2, 18 + 4 * lane, 4 * lane + 3, 19 + 4 * lane)
]
_UNPACK_LO_QWORDS = [
    x for lane in range(4) for x in (4 * lane, 4 * lane + 1, 16 + 4 * lane, 17 + 4 * lane)
]
_UNPACK_HI_QWORDS = [
    x for lane in range(4) for x in (4 * lane + 2, 4 * lane + 3, 18 + 4 * lane, 19 + 4 * lane)
]


def _token_quad_bytes(X, inv, x_zp, m: int, first, channel):
    """Tokens ``first .. first + 3`` x channels ``channel .. channel + 7`` of ``X`` quantized
    (``inv[first % 16 ..]``: their reciprocal scales; tokens from ``m`` on are 0) as int32x8
    whose dword ``j`` of 128-bit lane ``L`` holds channel ``channel + 4 L + j`` of the 4 tokens:
    per token one ``vcvtps2dq`` and the zero point added in int32, then ``vpackssdw`` twice and
    ``vpackuswb`` (saturating at 0 and 255: the clip) leave lane ``L`` as 4 tokens x 4
    channels, and one in-lane ``vpshufb`` puts the tokens inside each channel's dword."""
    words = [
        T.if_then_else(
            first + t < m,
            rounded_i32_by_inverse(
                X[T.min(first + t, m - 1), T.ramp(channel, 1, 8)],
                inv[first % 16 + t],
                x_zp[first + t],
                8,
            ),
            T.broadcast(T.int32(0), 8),
        )
        for t in range(4)
    ]
    pairs = [
        T.call_llvm_pure_intrin(
            T.llvm_lookup_intrinsic_id("llvm.x86.avx2.packssdw"),
            words[i],
            words[i + 1],
            dtype="int16x16",
        )
        for i in (0, 2)
    ]
    quad = T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx2.packuswb"), *pairs, dtype="uint8x32"
    )
    # the mask made opaque (x_zp[0] is in [0, 255], so min(., 0) is 0, which LLVM can't see): with
    # a constant one LLVM folded the shuffle into each store's transpose, 64 vpshufb per tile
    mask = T.Shuffle([T.int8(i) for i in _CHANNEL_DWORDS_YMM], list(range(32))) + T.broadcast(
        T.Cast("int8", T.min(x_zp[0], 0)), 32
    )
    return T.reinterpret(
        "int32x8",
        T.call_llvm_pure_intrin(
            T.llvm_lookup_intrinsic_id("llvm.x86.avx2.pshuf.b"), quad, mask, dtype="uint8x32"
        ),
    )


def _channel_pair(quads, half, j: int):
    """int32x8 whose 128-bit lane ``L`` holds channel ``4 L + j`` of half ``half``'s 16 tokens
    (16 bytes), from its 4 token quads ``quads[half, q]``: a 4 x 4 dword transpose per 128-bit
    lane, ``vpunpck{l,h}dq`` then ``vpunpck{l,h}qdq``."""
    dwords = _YMM_HI_DWORDS if j >= 2 else _YMM_LO_DWORDS
    pairs = [
        T.Shuffle([quads[half, T.ramp(q * 8, 1, 8)], quads[half, T.ramp(q * 8 + 8, 1, 8)]], dwords)
        for q in (0, 2)
    ]
    return T.Shuffle(pairs, _YMM_HI_QWORDS if j % 2 else _YMM_LO_QWORDS)


# Lane L of the packed quad holds bytes [token t][channel 4 L + c] at 16 L + 4 t + c; the
# in-lane shuffle takes them to 16 L + 4 c + t.
_CHANNEL_DWORDS_YMM = [16 * lane + 4 * t + c for lane in (0, 1) for c in range(4) for t in range(4)]
# Per 128-bit lane, as vpunpck{l,h}{dq,qdq} on two int32x8 (a, b); index 8+ is b's dword:
_YMM_LO_DWORDS = [0, 8, 1, 9, 4, 12, 5, 13]
_YMM_HI_DWORDS = [2, 10, 3, 11, 6, 14, 7, 15]
_YMM_LO_QWORDS = [0, 1, 8, 9, 4, 5, 12, 13]
_YMM_HI_QWORDS = [2, 3, 10, 11, 6, 7, 14, 15]


def _quantize_transpose_u8_ymm(m: int, k: int) -> tvm.tirx.PrimFunc:
    """:func:`quantize_transpose_u8` for ymm levels (``K % 16 == 0``): each task takes 16 tokens
    x 16 channels at a time in two 8-channel halves; per half, 4 token quads
    (:func:`_token_quad_bytes`) and a 4 x 4 dword transpose per 128-bit lane
    (:func:`_channel_pair`) give 8 channels' 16 tokens, 8 16-byte rows of ``XT``; both halves
    of a token's 64-byte line are read before the next token's. Why: the 16-lane form's 64-byte
    shuffles have no ymm instruction (``vpermb``), and LLVM's ymm split of them cost more than
    the quantization (bench/README.md, "The ymm levels' quantize and range passes")."""
    mp = padded_tokens(m)
    n_groups, n_chunks = mp // 16, k // 16
    per_task = min(n_chunks, TRANSPOSE_CHUNKS_PER_TASK)
    n_parts = ceil_div(n_chunks, per_task)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for g in T.parallel(n_groups * n_parts):
                with T.sblock("tile"):
                    vg = T.axis.spatial(n_groups * n_parts, g)
                    T.reads(X[0:m, 0:k], x_scale[0:mp], x_zp[0:mp])
                    T.writes(XT[0:k, 0:mp])
                    inv = T.alloc_buffer((16,), "float32")  # the group's 16 reciprocal scales
                    quads = T.alloc_buffer((2, 32), "int32")  # [half][token quad x 8 channels]
                    rows = T.alloc_buffer((4, 8), "int32")  # [j]: channels j and 4 + j
                    inv[T.ramp(0, 1, 16)] = (
                        fconst(1.0, 16) / x_scale[T.ramp((vg // n_parts) * 16, 1, 16)]
                    )
                    for c in range(T.min(per_task, n_chunks - (vg % n_parts) * per_task)):
                        # both halves of each token's line before the next token's: rows K x 4
                        # bytes apart share L1 sets (K = 3072: all 16), so a line left for a
                        # second pass was gone
                        for q in T.unroll(4):
                            for h in T.unroll(2):
                                quads[h, T.ramp(q * 8, 1, 8)] = _token_quad_bytes(
                                    X,
                                    inv,
                                    x_zp,
                                    m,
                                    (vg // n_parts) * 16 + q * 4,
                                    ((vg % n_parts) * per_task + c) * 16 + h * 8,
                                )
                        for h in T.unroll(2):
                            rows[0, T.ramp(0, 1, 8)] = _channel_pair(quads, h, 0)
                            rows[1, T.ramp(0, 1, 8)] = _channel_pair(quads, h, 1)
                            rows[2, T.ramp(0, 1, 8)] = _channel_pair(quads, h, 2)
                            rows[3, T.ramp(0, 1, 8)] = _channel_pair(quads, h, 3)
                            for j in T.unroll(4):
                                for lane in T.unroll(2):
                                    XT[
                                        ((vg % n_parts) * per_task + c) * 16 + h * 8 + lane * 4 + j,
                                        T.ramp((vg // n_parts) * 16, 1, 16),
                                    ] = T.reinterpret("uint8x16", rows[j, T.ramp(lane * 4, 1, 4)])

    return main


def _quantize_transpose_u8_plain(m: int, k: int) -> tvm.tirx.PrimFunc:
    mp = padded_tokens(m)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for kk, mm in T.grid(k, mp):
            with T.sblock("quantize"):
                vk, vm = T.axis.remap("SS", [kk, mm])
                XT[vk, vm] = T.if_then_else(
                    vm < m,
                    requant_u8(X[T.min(vm, m - 1), vk], x_scale[vm], x_zp[vm], 1),
                    T.uint8(0),
                )

    return main


def range_chains(avx512: bool = True) -> int:
    """Independent 16-lane min / max chains of a range pass's main loop: 4 on zmm; 2 on ymm,
    where a 16-lane chain is two registers and 4 min + 4 max chains took all 16 (the loop
    spilled). The buffers keep 4 chains either way; unused ones stay 0, inside every range."""
    return 4 if avx512 else 2


@T.macro
def range_chains_init(lo, hi):
    """Zero the 4 independent 16-lane min (``lo``) and max (``hi``) chains of a range pass (the
    range always includes 0; several chains so no vector waits on the previous ``vminps``;
    :func:`range_chains` says how many the loop uses)."""
    for u in T.unroll(4):
        lo[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
        hi[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)


@T.macro
def widen_range_by(lo, hi, chain, x_min, x_max):
    """Chain ``chain`` of ``lo`` <- its lane-wise min with ``x_min``, of ``hi`` <- its max with
    ``x_max`` (16 values each)."""
    lo[chain, T.ramp(0, 1, 16)] = T.min(lo[chain, T.ramp(0, 1, 16)], x_min)
    hi[chain, T.ramp(0, 1, 16)] = T.max(hi[chain, T.ramp(0, 1, 16)], x_max)


@T.macro
def widen_range(lo, hi, chain, x):
    """Chain ``chain`` of ``lo`` / ``hi`` <- its lane-wise min / max with the 16 values ``x``."""
    widen_range_by(lo, hi, chain, x, x)


@T.macro
def combine_chains(lo, hi):
    """Chain 0 of ``lo``/``hi`` <- the lane-wise min / max of the 4 chains."""
    lo[0, T.ramp(0, 1, 16)] = T.min(
        T.min(lo[0, T.ramp(0, 1, 16)], lo[1, T.ramp(0, 1, 16)]),
        T.min(lo[2, T.ramp(0, 1, 16)], lo[3, T.ramp(0, 1, 16)]),
    )
    hi[0, T.ramp(0, 1, 16)] = T.max(
        T.max(hi[0, T.ramp(0, 1, 16)], hi[1, T.ramp(0, 1, 16)]),
        T.max(hi[2, T.ramp(0, 1, 16)], hi[3, T.ramp(0, 1, 16)]),
    )


def scale_of_range(lo, hi, lanes: int):
    """u8 scale of the range ``[lo, hi]`` (``lanes`` wide; ``lo <= 0 <= hi``): ``(hi - lo) /
    255``, or 1 for an empty range; float32 steps as
    :func:`tvm_blocksparse.format.qparams_from_range`."""
    return T.Select(hi > lo, (hi - lo) / fconst(255.0, lanes), fconst(1.0, lanes))


def zero_point_of_range(lo, scale, lanes: int):
    """u8 zero point of a range starting at ``lo`` with step ``scale``: ``clip(rint(-lo /
    scale), 0, 255)`` as int32; float32 steps as
    :func:`tvm_blocksparse.format.qparams_from_range`."""
    q = T.nearbyint((fconst(0.0, lanes) - lo) / scale)
    q = T.max(T.min(q, fconst(255.0, lanes)), fconst(0.0, lanes))
    return T.Cast("int32" if lanes == 1 else f"int32x{lanes}", q)


@T.macro
def row_qparams(lo, hi, row, x_scale, x_zp):
    """``x_scale[row]``/``x_zp[row]`` (u8, range widened to include 0) from one row's 4 min
    (``lo``) and max (``hi``) chains. Clobbers chain 0."""
    combine_chains(lo, hi)
    lo[0, T.ramp(0, 1, 16)] = allreduce(lo[0, T.ramp(0, 1, 16)], T.min, 16)
    hi[0, T.ramp(0, 1, 16)] = allreduce(hi[0, T.ramp(0, 1, 16)], T.max, 16)
    x_scale[row] = scale_of_range(lo[0, 0], hi[0, 0], 1)
    x_zp[row] = zero_point_of_range(lo[0, 0], x_scale[row], 1)


@T.macro
def column_qparams(lo, hi, first, x_scale, x_zp):
    """``x_scale``/``x_zp`` of the 16 tokens from ``first`` (one per lane, range widened to
    include 0) from their 4 min (``lo``) and max (``hi``) chains. Clobbers chain 0."""
    combine_chains(lo, hi)
    x_scale[T.ramp(first, 1, 16)] = scale_of_range(
        lo[0, T.ramp(0, 1, 16)], hi[0, T.ramp(0, 1, 16)], 16
    )
    x_zp[T.ramp(first, 1, 16)] = zero_point_of_range(
        lo[0, T.ramp(0, 1, 16)], x_scale[T.ramp(first, 1, 16)], 16
    )


@functools.cache
def dynamic_qparams(m: int, k: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """Per-token u8 parameters from each row's range at run time (dynamic quantization).

    ``X f32[M, K]`` -> ``x_scale f32[Mp]``, ``x_zp i32[Mp]`` covering ``[min(X[i], 0),
    max(X[i], 0)]`` per row ``i`` (padding rows: 1, 0), in float32 arithmetic exactly as
    :func:`tvm_blocksparse.format.token_qparams`. Rows in parallel, each with independent
    16-lane min and max chains (:func:`range_chains`; with one chain every vector waited for the
    previous ``vminps``), then one butterfly all-reduce per row."""
    chains = range_chains(avx512)
    kv = k // 16
    kv4 = kv // 4 * 4
    k16 = kv * 16
    mp = padded_tokens(m)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for i in T.parallel(mp):
            with T.sblock("row"):
                vi = T.axis.spatial(mp, i)
                T.reads(X[T.min(vi, m - 1), 0:k])
                T.writes(x_scale[vi], x_zp[vi])
                lo = T.alloc_buffer((4, 16), "float32")
                hi = T.alloc_buffer((4, 16), "float32")
                range_chains_init(lo, hi)
                if vi < m:
                    for v4 in range(kv4 // 4):
                        for u in T.unroll(4):  # constant indices: the chains stay in registers
                            widen_range(lo, hi, u % chains, X[vi, T.ramp((v4 * 4 + u) * 16, 1, 16)])
                    for kk in range(kv - kv4):
                        widen_range(lo, hi, 0, X[vi, T.ramp((kv4 + kk) * 16, 1, 16)])
                    for kt in range(k - k16):
                        lo[0, 0] = T.min(lo[0, 0], X[vi, k16 + kt])
                        hi[0, 0] = T.max(hi[0, 0], X[vi, k16 + kt])
                row_qparams(lo, hi, vi, x_scale, x_zp)

    return main


@T.macro
def _column_ranges_to_qparams(src_min, src_max, rows, chains, vv, x_scale, x_zp):
    """Tokens ``16 vv`` .. ``16 vv + 15`` (lanes): their min over the ``rows`` rows of
    ``src_min`` and max over those of ``src_max`` (one buffer twice for a plain range) in
    ``chains`` chains, then their parameters (:func:`column_qparams`)."""
    lo = T.alloc_buffer((4, 16), "float32")
    hi = T.alloc_buffer((4, 16), "float32")
    range_chains_init(lo, hi)
    for r4 in range(rows // 4):
        for u in T.unroll(4):
            widen_range_by(
                lo,
                hi,
                u % chains,
                src_min[r4 * 4 + u, T.ramp(vv * 16, 1, 16)],
                src_max[r4 * 4 + u, T.ramp(vv * 16, 1, 16)],
            )
    for rt in range(rows % 4):
        widen_range_by(
            lo,
            hi,
            0,
            src_min[rows // 4 * 4 + rt, T.ramp(vv * 16, 1, 16)],
            src_max[rows // 4 * 4 + rt, T.ramp(vv * 16, 1, 16)],
        )
    column_qparams(lo, hi, vv * 16, x_scale, x_zp)


@functools.cache
def dynamic_qparams_columns(k: int, m: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """:func:`dynamic_qparams` of ``X^T``: per-token parameters of ``XT f32[K, M]`` (a producer
    that stored its output transposed), one per column, ``M % 16 == 0``. Tokens are the vector
    lanes here, so each 16-token vector reduces over ``K`` rows in :func:`range_chains` chains
    and computes 16 tokens' parameters at once (the same float32 steps, lane by lane)."""
    chains = range_chains(avx512)
    if m % 16:
        raise ValueError(f"dynamic_qparams_columns needs M % 16 == 0, got {m=}")

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer((k, m), "float32"),
        x_scale: T.Buffer((m,), "float32"),
        x_zp: T.Buffer((m,), "int32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for v in T.parallel(m // 16):
            with T.sblock("columns"):
                vv = T.axis.spatial(m // 16, v)
                T.reads(XT[0:k, vv * 16 : vv * 16 + 16])
                T.writes(x_scale[vv * 16 : vv * 16 + 16], x_zp[vv * 16 : vv * 16 + 16])
                _column_ranges_to_qparams(XT, XT, k, chains, vv, x_scale, x_zp)

    return main


@functools.cache
def column_qparams_of_ranges(parts: int, m: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """:func:`dynamic_qparams_columns` from range parts instead of ``XT``: ``y_min``, ``y_max
    f32[P, M]``, each token's min and max over a part of its ``K`` values (a producer's
    ``Epilogue.token_ranges``), ``M % 16 == 0`` -> ``x_scale f32[M]``, ``x_zp i32[M]``. Min and
    max are exact, so the parts give the bits of the range over all of ``XT``; at ``P = K / 64``
    this reads 1/32 of the float ``XT`` that pass reads."""
    chains = range_chains(avx512)
    if m % 16:
        raise ValueError(f"column_qparams_of_ranges needs M % 16 == 0, got {m=}")

    @T.prim_func(s_tir=True)
    def main(
        y_min: T.Buffer((parts, m), "float32"),
        y_max: T.Buffer((parts, m), "float32"),
        x_scale: T.Buffer((m,), "float32"),
        x_zp: T.Buffer((m,), "int32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for v in T.parallel(m // 16):
            with T.sblock("columns"):
                vv = T.axis.spatial(m // 16, v)
                T.reads(
                    y_min[0:parts, vv * 16 : vv * 16 + 16], y_max[0:parts, vv * 16 : vv * 16 + 16]
                )
                T.writes(x_scale[vv * 16 : vv * 16 + 16], x_zp[vv * 16 : vv * 16 + 16])
                _column_ranges_to_qparams(y_min, y_max, parts, chains, vv, x_scale, x_zp)

    return main


#: Rows of ``XT`` per parallel task of :func:`quantize_u8_columns`: each task divides for the
#: tokens' reciprocal scales once, so a task spans many rows (48 tasks at K = 3072).
COLUMNS_ROWS_PER_TASK = 64


@functools.cache
def quantize_u8_columns(k: int, m: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """``XTq[K, M] = clip(rint(XT * (1 / x_scale[col])) + x_zp[col], 0, 255)``: the 4x1 kernel's
    ``XT`` from a producer that stored ``X^T`` (float32), per-token parameters along the lanes
    (:func:`dynamic_qparams_columns`), ``M % 16 == 0``. Blocks of
    :data:`COLUMNS_ROWS_PER_TASK` rows in parallel, 16-lane vectors; each task divides for its
    ``M`` reciprocals once (a division per vector bounded the pass)."""
    if m % 16:
        raise ValueError(f"quantize_u8_columns needs M % 16 == 0, got {m=}")
    rows = min(k, COLUMNS_ROWS_PER_TASK)
    n_tasks = ceil_div(k, rows)

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer((k, m), "float32"),
        x_scale: T.Buffer((m,), "float32"),
        x_zp: T.Buffer((m,), "int32"),
        XTq: T.Buffer((k, m), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(n_tasks):
            with T.sblock("quantize"):
                vp = T.axis.spatial(n_tasks, p)
                T.reads(XT[0:k, 0:m], x_scale[0:m], x_zp[0:m])
                T.writes(XTq[0:k, 0:m])
                inv = T.alloc_buffer((m,), "float32")
                for v in range(m // 16):
                    inv[T.ramp(v * 16, 1, 16)] = fconst(1.0, 16) / x_scale[T.ramp(v * 16, 1, 16)]
                for r in range(T.min(rows, k - vp * rows)):
                    for v in range(m // 16):
                        XTq[vp * rows + r, T.ramp(v * 16, 1, 16)] = requant_u8_by_inverse(
                            XT[vp * rows + r, T.ramp(v * 16, 1, 16)],
                            inv[T.ramp(v * 16, 1, 16)],
                            x_zp[T.ramp(v * 16, 1, 16)],
                            16,
                            avx512,
                        )

    return main


@functools.cache
def quantize_u8(m: int, k: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """``Xq[M, K] = clip(rint(X * (1 / x_scale)) + x_zp, 0, 255)`` (row-major: the 16x4 / dense INT8
    kernels' input; a producer that stored ``X^T`` gets :func:`quantize_u8_columns`).
    Parameters: ``X f32[M, K]``, ``x_scale f32[Mp]``, ``x_zp i32[Mp]`` (per row), ``Xq u8[M, K]``.
    Rows in parallel, written as 16-lane vectors (the scalar form, vectorized by the schedule,
    was ~6x slower (bench/README.md, "Decisions"))."""
    k16 = k // 16
    mp = padded_tokens(m)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
        Xq: T.Buffer((m, k), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for i in T.parallel(m):
            with T.sblock("quantize"):
                vi = T.axis.spatial(m, i)
                T.reads(X[vi, 0:k], x_scale[vi], x_zp[vi])
                T.writes(Xq[vi, 0:k])
                for kk in range(k16):
                    Xq[vi, T.ramp(kk * 16, 1, 16)] = requant_u8(
                        X[vi, T.ramp(kk * 16, 1, 16)], x_scale[vi], x_zp[vi], 16, avx512
                    )
                for kt in range(k - k16 * 16):
                    Xq[vi, k16 * 16 + kt] = requant_u8(
                        X[vi, k16 * 16 + kt], x_scale[vi], x_zp[vi], 1
                    )

    return main
