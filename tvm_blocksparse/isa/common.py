"""Width-generic vector helpers (plain LLVM vector operations, legal on every x86-64 level: LLVM
splits a 16-lane float vector into two ymm on AVX2) and the FP32 tensor intrinsics built on
them. Registered with TensorIR on import.

========================================  ===================================================
name                                      contract (one call)
========================================  ===================================================
``FMA_OUT16_F32_INTRIN``                  FP32 1x16 blocks. ``A: f32[1]`` one activation,
                                          broadcast; ``B: f32[16]`` 16 output channels' weights;
                                          ``C: f32[16]``. ``C[j] += A[0] * B[j]``. One
                                          ``vfmadd231ps`` zmm (two ymm on AVX2).
``fp32_tile_intrin(rows, width, pf)``     FP32 matmul register tile, see its docstring.
========================================  ===================================================
"""

from __future__ import annotations

from tvm.s_tir import TensorIntrin
from tvm.script import tirx as T

FMA_OUT16_F32_INTRIN = "tvm_blocksparse.x86.fma_out16_f32"


def unpack_pattern(half: int, words: bool, vector_bytes: int = 64) -> list[int]:
    """Lanes of ``vpunpck{l,h}{bw,wd}`` on two byte vectors of ``vector_bytes`` (16: xmm, 32:
    ymm, 64: zmm; ``half`` 0: low, 1: high half of each 128-bit lane; ``words``: 16-bit
    elements): the shuffle LLVM matches to one in-lane unpack."""
    elem = 2 if words else 1
    return [
        lane * 16
        + half * 8
        + (i // (2 * elem)) * elem
        + i % elem
        + (vector_bytes if (i // elem) % 2 else 0)
        for lane in range(vector_bytes // 16)
        for i in range(16)
    ]


def bcast(value, lanes: int):
    """``value`` in ``lanes`` lanes (itself when ``lanes`` is 1)."""
    return value if lanes == 1 else T.broadcast(value, lanes)


def fconst(c: float, lanes: int):
    """A float32 constant in ``lanes`` lanes."""
    return bcast(T.float32(c), lanes)


def allreduce(v, op, lanes: int):
    """``op`` over the ``lanes`` lanes of ``v``, the result in every lane: a butterfly of
    log2(lanes) lane swaps (a scalar chain of dependent ``vmaxss``/``vaddss`` was ~20 % of the
    INT8 attention kernel's time). ``v`` appears ``lanes`` times in the tree: pass a load, LLVM
    merges the copies."""
    k = lanes // 2
    while k:
        v = op(v, T.Shuffle([v], [i ^ k for i in range(lanes)]))
        k //= 2
    return v


def fma(a, b, c, lanes: int):
    """``a * b + c`` per lane, one rounding (``llvm.fma``: ``vfmadd*ps``)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id(f"llvm.fma.v{lanes}f32"), a, b, c, dtype=f"float32x{lanes}"
    )


def prefetch(address):
    """``llvm.prefetch(address, read, keep in all cache levels, data)`` as a statement
    (``tirx.prefetch`` has no LLVM codegen in this wheel)."""
    return T.evaluate(
        T.call_llvm_intrin(
            "void",
            T.llvm_lookup_intrinsic_id("llvm.prefetch.p0"),
            address,
            T.int32(0),
            T.int32(3),
            T.int32(1),
        )
    )


# ---------------------------------------------------------------- FP32 1x16


@T.prim_func(s_tir=True)
def fma_out16_f32_desc(
    A: T.Buffer((1,), "float32", offset_factor=1),
    B: T.Buffer((16,), "float32", offset_factor=1),
    C: T.Buffer((16,), "float32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:16], A[0:1], B[0:16])
        T.writes(C[0:16])
        for j in range(16):
            with T.sblock("update"):
                vj = T.axis.remap("S", [j])
                C[vj] = C[vj] + A[0] * B[vj]


@T.prim_func(s_tir=True)
def fma_out16_f32_impl(
    A: T.Buffer((1,), "float32", offset_factor=1),
    B: T.Buffer((16,), "float32", offset_factor=1),
    C: T.Buffer((16,), "float32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:16], A[0:1], B[0:16])
        T.writes(C[0:16])
        C[T.ramp(T.int32(0), 1, 16)] = T.call_llvm_pure_intrin(
            T.llvm_lookup_intrinsic_id("llvm.fma.v16f32"),
            T.broadcast(A[0], 16),
            B.vload([0], dtype="float32x16"),
            C.vload([0], dtype="float32x16"),
            dtype="float32x16",
        )


TensorIntrin.register(FMA_OUT16_F32_INTRIN, fma_out16_f32_desc, fma_out16_f32_impl, override=True)


# ---------------------------------------------------------------- FP32 dense register tile


def fp32_tile_intrin(rows: int, width: int, prefetch_k: int = 64) -> str:
    """Register (once) and name the FP32 matmul tile step of the ``Matmul`` schedule rule.

    Contract (one ``k`` step): ``A: f32[rows, 1]`` (row stride free), ``B: f32[1, width]`` (one
    ``k`` row of a column strip), ``C: f32[rows, width]`` accumulators;
    ``C[i, j] += A[i, 0] * B[0, j]``: ``rows * width / 16`` 16-lane FMAs. It also prefetches
    ``B`` ``prefetch_k`` rows ahead (T0): in a pre-packed ``W[N/width, K, width]`` that is the
    same strip or, near its end, the start of the next one, so the first row tile of every
    strip does not wait on memory for the weights (the hardware streamer looks only ~20 lines
    ahead).
    """
    name = f"tvm_blocksparse.x86.fp32_tile_{rows}x{width}_pf{prefetch_k}"
    if name in _REGISTERED_TILES:
        return name
    lanes = 16
    vectors = width // lanes

    @T.prim_func(s_tir=True)
    def desc(a: T.handle, b: T.handle, c: T.handle) -> None:
        sa = T.int64()
        sb = T.int64()
        sc = T.int64()
        A = T.match_buffer(a, (rows, 1), "float32", strides=(sa, 1), offset_factor=1)
        B = T.match_buffer(b, (1, width), "float32", strides=(sb, 1), offset_factor=1)
        C = T.match_buffer(c, (rows, width), "float32", strides=(sc, 1), offset_factor=1)
        with T.sblock("root"):
            T.reads(C[0:rows, 0:width], A[0:rows, 0:1], B[0:1, 0:width])
            T.writes(C[0:rows, 0:width])
            for i, v, lane in T.grid(rows, vectors, lanes):
                with T.sblock("update"):
                    vi = T.axis.spatial(rows, i)
                    vj = T.axis.spatial(width, v * lanes + lane)
                    C[vi, vj] = C[vi, vj] + A[vi, 0] * B[0, vj]

    @T.prim_func(s_tir=True)
    def impl(a: T.handle, b: T.handle, c: T.handle) -> None:
        sa = T.int64()
        sb = T.int64()
        sc = T.int64()
        A = T.match_buffer(a, (rows, 1), "float32", strides=(sa, 1), offset_factor=1)
        B = T.match_buffer(b, (1, width), "float32", strides=(sb, 1), offset_factor=1)
        C = T.match_buffer(c, (rows, width), "float32", strides=(sc, 1), offset_factor=1)
        with T.sblock("root"):
            T.reads(C[0:rows, 0:width], A[0:rows, 0:1], B[0:1, 0:width])
            T.writes(C[0:rows, 0:width])
            for v in T.unroll(vectors):
                prefetch(T.address_of(B[prefetch_k, v * lanes]))
            for i in T.unroll(rows):
                for v in T.unroll(vectors):
                    C[i, T.ramp(v * lanes, 1, lanes)] = T.call_llvm_pure_intrin(
                        T.llvm_lookup_intrinsic_id("llvm.fma.v16f32"),
                        T.broadcast(A[i, 0], lanes),
                        B[0, T.ramp(v * lanes, 1, lanes)],
                        C[i, T.ramp(v * lanes, 1, lanes)],
                        dtype="float32x16",
                    )

    TensorIntrin.register(name, desc, impl, override=True)
    _REGISTERED_TILES.add(name)
    return name


_REGISTERED_TILES: set[str] = set()
