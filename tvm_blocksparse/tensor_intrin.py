"""Our x86 tensor intrinsics, registered with TensorIR on import.

Why our own: the stock ``dot_16x4_vnni`` of TVM 0.27 passes ``<16 x i32>`` operands to
``llvm.x86.avx512.vpdpbusd.512``, but the LLVM 22 bundled with the wheel declares it
``<16 x i32> (<16 x i32>, <64 x i8>, <64 x i8>)`` (llvm-project PR #155194), so it fails module
verification. The ``vpmaddubsw`` fallback saturates in int16 on full-range data. Ours pass byte
vectors and are bit-exact.

All accumulators (``C``) and packed activations live in small stack buffers of the kernel
(``global`` scope: in this wheel only global-scope CPU allocations under 1 KiB become allocas,
which LLVM promotes to zmm registers; ``local`` scope goes to the heap workspace allocator).

========================================  ===================================================
name                                      contract (one call)
========================================  ===================================================
``VNNI_TOKEN16_W4_INTRIN``                The paper's 4x1 scheme. ``A: u8[16, 4]`` 16 tokens x 4
                                          gathered input channels in VNNI order (token-major, 4
                                          bytes per token); ``B: s8[4]`` one output channel's 4
                                          weights, broadcast; ``C: s32[16]`` 16 tokens.
                                          ``C[t] += sum_c A[t, c] * B[c]``. One ``vpdpbusd``
                                          with an embedded ``{1to16}`` weight broadcast.
``VNNI_OUT16_X4_INTRIN``                  16x4 blocks / dense. ``A: u8[4]`` 4 input channels of
                                          one token, broadcast; ``B: s8[16, 4]`` 16 output
                                          channels x 4 inputs (64 contiguous bytes);
                                          ``C: s32[16]`` 16 output channels.
                                          ``C[j] += sum_c A[c] * B[j, c]``. One ``vpdpbusd``.
``FMA_OUT16_F32_INTRIN``                  FP32 1x16 blocks. ``A: f32[1]`` one activation,
                                          broadcast; ``B: f32[16]`` 16 output channels' weights;
                                          ``C: f32[16]``. ``C[j] += A[0] * B[j]``. One
                                          ``vfmadd231ps``.
========================================  ===================================================
"""

from tvm.s_tir import TensorIntrin
from tvm.script import tirx as T

VNNI_TOKEN16_W4_INTRIN = "tvm_blocksparse.x86.vnni_token16_w4_u8i8i32"
VNNI_OUT16_X4_INTRIN = "tvm_blocksparse.x86.vnni_out16_x4_u8i8i32"
FMA_OUT16_F32_INTRIN = "tvm_blocksparse.x86.fma_out16_f32"

_VPDPBUSD = "llvm.x86.avx512.vpdpbusd.512"  # (<16 x i32>, <64 x i8>, <64 x i8>) -> <16 x i32>


def _vpdpbusd(acc, act_u8x64, weight_i8x64):
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id(_VPDPBUSD), acc, act_u8x64, weight_i8x64, dtype="int32x16"
    )


def _broadcast_4_bytes(vec4):
    """Repeat 4 bytes 16 times as a 64-byte vector (one ``{1to16}`` dword broadcast)."""
    return T.reinterpret(T.broadcast(T.reinterpret(vec4, dtype="int32"), 16), dtype="int8x64")


# ---------------------------------------------------------------- paper scheme: token lanes


@T.prim_func(s_tir=True)
def vnni_token16_w4_desc(
    A: T.Buffer((16, 4), "uint8", offset_factor=1),
    B: T.Buffer((4,), "int8", offset_factor=1),
    C: T.Buffer((16,), "int32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:16], A[0:16, 0:4], B[0:4])
        T.writes(C[0:16])
        for t, c in T.grid(16, 4):
            with T.sblock("update"):
                vt, vc = T.axis.remap("SR", [t, c])
                C[vt] = C[vt] + T.cast(A[vt, vc], "int32") * T.cast(B[vc], "int32")


@T.prim_func(s_tir=True)
def vnni_token16_w4_impl(
    A: T.Buffer((16, 4), "uint8", offset_factor=1),
    B: T.Buffer((4,), "int8", offset_factor=1),
    C: T.Buffer((16,), "int32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:16], A[0:16, 0:4], B[0:4])
        T.writes(C[0:16])
        C[T.ramp(T.int32(0), 1, 16)] = _vpdpbusd(
            C.vload([0], dtype="int32x16"),
            A.vload([0, 0], dtype="uint8x64"),
            _broadcast_4_bytes(B.vload([0], dtype="int8x4")),
        )


# ---------------------------------------------------------------- 16x4 / dense: output lanes


@T.prim_func(s_tir=True)
def vnni_out16_x4_desc(
    A: T.Buffer((4,), "uint8", offset_factor=1),
    B: T.Buffer((16, 4), "int8", offset_factor=1),
    C: T.Buffer((16,), "int32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:16], A[0:4], B[0:16, 0:4])
        T.writes(C[0:16])
        for j, c in T.grid(16, 4):
            with T.sblock("update"):
                vj, vc = T.axis.remap("SR", [j, c])
                C[vj] = C[vj] + T.cast(A[vc], "int32") * T.cast(B[vj, vc], "int32")


@T.prim_func(s_tir=True)
def vnni_out16_x4_impl(
    A: T.Buffer((4,), "uint8", offset_factor=1),
    B: T.Buffer((16, 4), "int8", offset_factor=1),
    C: T.Buffer((16,), "int32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:16], A[0:4], B[0:16, 0:4])
        T.writes(C[0:16])
        C[T.ramp(T.int32(0), 1, 16)] = _vpdpbusd(
            C.vload([0], dtype="int32x16"),
            _broadcast_4_bytes(A.vload([0], dtype="uint8x4")),
            B.vload([0, 0], dtype="int8x64"),
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


TensorIntrin.register(VNNI_TOKEN16_W4_INTRIN, vnni_token16_w4_desc, vnni_token16_w4_impl, override=True)
TensorIntrin.register(VNNI_OUT16_X4_INTRIN, vnni_out16_x4_desc, vnni_out16_x4_impl, override=True)
TensorIntrin.register(FMA_OUT16_F32_INTRIN, fma_out16_f32_desc, fma_out16_f32_impl, override=True)


# ---------------------------------------------------------------- FP32 dense register tile


def prefetch(address):
    """``llvm.prefetch(address, read, keep in all cache levels, data)`` as a statement
    (``tirx.prefetch`` has no LLVM codegen in this wheel)."""
    return T.evaluate(T.call_llvm_intrin("void", T.llvm_lookup_intrinsic_id("llvm.prefetch.p0"), address,
                                         T.int32(0), T.int32(3), T.int32(1)))


def fp32_tile_intrin(rows: int, width: int, prefetch_k: int = 64) -> str:
    """Register (once) and name the FP32 matmul tile step of :func:`schedule_matmul_tile`.

    Contract (one ``k`` step): ``A: f32[rows, 1]`` (row stride free), ``B: f32[1, width]`` (one
    ``k`` row of a column strip), ``C: f32[rows, width]`` accumulators;
    ``C[i, j] += A[i, 0] * B[0, j]``: ``rows * width / 16`` ``vfmadd231ps``. It also prefetches
    ``B`` ``prefetch_k`` rows ahead (T0): in a pre-packed ``W[N/width, K, width]`` that is the
    same strip or, near its end, the start of the next one, so the first row tile of every
    strip no longer waits on memory for the weights (the hardware streamer looks only ~20
    lines ahead; measured: BERT-Base matmuls ran 1.35x slower end to end than with hot caches).
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
            for i, v, l in T.grid(rows, vectors, lanes):
                with T.sblock("update"):
                    vi = T.axis.spatial(rows, i)
                    vj = T.axis.spatial(width, v * lanes + l)
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
