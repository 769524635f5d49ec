"""Activation quantization ops of the INT8 path (u8, per tensor): the range pass, quantize and
quantize-transpose into the 4x1 kernel's ``XT`` layout. AVX-512 code (16-lane vectors).
"""

from __future__ import annotations

import functools

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.op.epilogue import ceil_div, requant_u8


def padded_tokens(m: int) -> int:
    """Token count of the transposed activation ``XT[K, Mp]`` fed to the 4x1 kernel."""
    return ceil_div(m, 16) * 16


# Parsed once per shape (lru_cache): a model asks for the same one per layer, and TVMScript
# parsing dominates compile time. PrimFuncs are immutable, so sharing them is safe.
@functools.cache
def quantize_transpose_u8(m: int, k: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """``XT[K, Mp] = clip(rint(X[M, K] * (1 / x_scale)) + x_zp, 0, 255)`` transposed, zero padded.

    Parameters: ``X f32[M, K]``, ``x_scale f32[1]``, ``x_zp i32[1]``, ``XT u8[K, Mp]`` with
    ``Mp = padded_tokens(M)``. Padding tokens are 0 (their outputs are never stored).

    With ``K % 16 == 0`` each task takes a 16 tokens x 16 channels tile: 16 contiguous row
    loads, quantized in zmm, then a byte transpose in registers and 16 16-byte stores (the
    plain form gathers 16 floats K apart per vector, 3.4x slower). The transpose is spelled out
    as 4 ``vpermb`` (4 tokens x 16 channels -> 16 channels x 4 tokens, one dword each) and a
    4 x 4 dword transpose by ``unpack`` shuffles: one 256-byte shuffle left LLVM ~80
    blend/permute ops per tile (bench/README.md, "Decisions"). Other K use the plain form."""
    mp = padded_tokens(m)
    if k % 16:
        return _quantize_transpose_u8_plain(m, k)
    n_groups, n_chunks = mp // 16, k // 16

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for g in T.parallel(n_groups * n_chunks):
                with T.sblock("tile"):
                    vg = T.axis.spatial(n_groups * n_chunks, g)
                    T.reads(X[0:m, 0:k], x_scale[0:1], x_zp[0:1])
                    T.writes(XT[0:k, 0:mp])
                    tile = T.alloc_buffer((256,), "uint8")  # [token][channel]
                    col4 = T.alloc_buffer((64,), "int32")  # 4 x [channel][4 tokens]
                    half = T.alloc_buffer((64,), "int32")
                    full = T.alloc_buffer((64,), "int32")  # [channel % 4][channel // 4][16 tokens]
                    for t in T.unroll(16):
                        tile[T.ramp(t * 16, 1, 16)] = T.if_then_else(
                            (vg // n_chunks) * 16 + t < m,
                            requant_u8(
                                X[
                                    T.min((vg // n_chunks) * 16 + t, m - 1),
                                    T.ramp((vg % n_chunks) * 16, 1, 16),
                                ],
                                x_scale[0],
                                x_zp[0],
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
                                (vg % n_chunks) * 16 + 4 * lane + r,
                                T.ramp((vg // n_chunks) * 16, 1, 16),
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


def _quantize_transpose_u8_plain(m: int, k: int) -> tvm.tirx.PrimFunc:
    mp = padded_tokens(m)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for kk, mm in T.grid(k, mp):
            with T.sblock("quantize"):
                vk, vm = T.axis.remap("SS", [kk, mm])
                XT[vk, vm] = T.if_then_else(
                    vm < m,
                    requant_u8(X[T.min(vm, m - 1), vk], x_scale[0], x_zp[0], 1),
                    T.uint8(0),
                )

    return main


@T.macro
def range_chains_init(lo, hi):
    """Zero the 4 independent 16-lane min (``lo``) and max (``hi``) chains of a range pass (the
    range always includes 0; 4 chains so no vector waits on the previous ``vminps``)."""
    for u in T.unroll(4):
        lo[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
        hi[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)


@T.macro
def range_chains_store(part, vc, lo, hi):
    """Row chunk ``vc``'s 16 lanes of min then 16 of max in ``part`` (what
    :func:`qparams_from_partials` combines), from the 4 chains of :func:`range_chains_init`."""
    part[T.ramp(vc * 32, 1, 16)] = T.min(
        T.min(lo[0, T.ramp(0, 1, 16)], lo[1, T.ramp(0, 1, 16)]),
        T.min(lo[2, T.ramp(0, 1, 16)], lo[3, T.ramp(0, 1, 16)]),
    )
    part[T.ramp(vc * 32 + 16, 1, 16)] = T.max(
        T.max(hi[0, T.ramp(0, 1, 16)], hi[1, T.ramp(0, 1, 16)]),
        T.max(hi[2, T.ramp(0, 1, 16)], hi[3, T.ramp(0, 1, 16)]),
    )


@T.macro
def qparams_from_partials(part, n_chunks, x_scale, x_zp):
    """``x_scale``/``x_zp`` (u8, range widened to include 0) from ``part``: per row chunk 16 lanes
    of min then 16 of max; float32 steps as
    :func:`tvm_blocksparse.format.dynamic_activation_qparams`."""
    with T.sblock("combine"):
        T.reads(part[0 : n_chunks * 32])
        T.writes(x_scale[0:1], x_zp[0:1])
        red = T.alloc_buffer((2,), "float32")
        red[0] = part[0]
        red[1] = part[16]
        for c2, lane in T.grid(n_chunks, 16):
            red[0] = T.min(red[0], part[c2 * 32 + lane])
            red[1] = T.max(red[1], part[c2 * 32 + 16 + lane])
        x_scale[0] = T.if_then_else(
            red[1] > red[0], (red[1] - red[0]) / T.float32(255), T.float32(1)
        )
        x_zp[0] = T.Cast(
            "int32", T.max(T.min(T.nearbyint(-red[0] / x_scale[0]), T.float32(255)), T.float32(0))
        )


@functools.cache
def dynamic_qparams(m: int, k: int) -> tvm.tirx.PrimFunc:
    """Per-tensor u8 parameters from the tensor's range at run time (dynamic quantization).

    ``X f32[M, K]`` -> ``x_scale f32[1]``, ``x_zp i32[1]`` covering ``[min(X, 0), max(X, 0)]``,
    in float32 arithmetic exactly as :func:`tvm_blocksparse.format.dynamic_activation_qparams`.
    Row chunks in parallel (a serial version left the second core idle), each with 4
    independent 16-lane min and max chains (with one chain every vector waited for the previous
    ``vminps``); then one serial combine (bench/README.md, "Decisions")."""
    kv = k // 16
    kv4 = kv // 4 * 4
    k16 = kv * 16
    n_chunks = min(m, 8)
    rows = -(-m // n_chunks)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            part = T.sblock_alloc_buffer(
                (n_chunks * 32,), "float32"
            )  # per chunk: 16 lanes of min, of max
            for c in T.parallel(n_chunks):
                with T.sblock("partial"):
                    vc = T.axis.spatial(n_chunks, c)
                    T.reads(X[0:m, 0:k])
                    T.writes(part[vc * 32 : vc * 32 + 32])
                    lo = T.alloc_buffer((4, 16), "float32")
                    hi = T.alloc_buffer((4, 16), "float32")
                    range_chains_init(lo, hi)
                    for i in range(rows):
                        if vc * rows + i < m:
                            for v4 in range(kv4 // 4):
                                for u in T.unroll(
                                    4
                                ):  # constant indices: the chains stay in registers
                                    lo[u, T.ramp(0, 1, 16)] = T.min(
                                        lo[u, T.ramp(0, 1, 16)],
                                        X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)],
                                    )
                                    hi[u, T.ramp(0, 1, 16)] = T.max(
                                        hi[u, T.ramp(0, 1, 16)],
                                        X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)],
                                    )
                            for kk in range(kv - kv4):
                                lo[0, T.ramp(0, 1, 16)] = T.min(
                                    lo[0, T.ramp(0, 1, 16)],
                                    X[vc * rows + i, T.ramp((kv4 + kk) * 16, 1, 16)],
                                )
                                hi[0, T.ramp(0, 1, 16)] = T.max(
                                    hi[0, T.ramp(0, 1, 16)],
                                    X[vc * rows + i, T.ramp((kv4 + kk) * 16, 1, 16)],
                                )
                            for kt in range(k - k16):
                                lo[0, 0] = T.min(lo[0, 0], X[vc * rows + i, k16 + kt])
                                hi[0, 0] = T.max(hi[0, 0], X[vc * rows + i, k16 + kt])
                    range_chains_store(part, vc, lo, hi)
            qparams_from_partials(part, n_chunks, x_scale, x_zp)

    return main


@functools.cache
def quantize_u8(m: int, k: int, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """``Xq[M, K] = clip(rint(X * (1 / x_scale)) + x_zp, 0, 255)`` (row-major: the 16x4 / dense INT8
    kernels' input, and a 4x1 kernel's ``XT`` from a producer that stored ``X^T``).
    Parameters: ``X f32[M, K]``, ``x_scale f32[1]``, ``x_zp i32[1]``, ``Xq u8[M, K]``.
    Rows in parallel, written as 16-lane vectors (the scalar form, vectorized by the schedule,
    was ~6x slower (bench/README.md, "Decisions"))."""
    k16 = k // 16

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
        Xq: T.Buffer((m, k), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for i in T.parallel(m):
            with T.sblock("quantize"):
                vi = T.axis.spatial(m, i)
                T.reads(X[vi, 0:k], x_scale[0:1], x_zp[0:1])
                T.writes(Xq[vi, 0:k])
                for kk in range(k16):
                    Xq[vi, T.ramp(kk * 16, 1, 16)] = requant_u8(
                        X[vi, T.ramp(kk * 16, 1, 16)], x_scale[0], x_zp[0], 16, avx512
                    )
                for kt in range(k - k16 * 16):
                    Xq[vi, k16 * 16 + kt] = requant_u8(X[vi, k16 * 16 + kt], x_scale[0], x_zp[0], 1)

    return main
