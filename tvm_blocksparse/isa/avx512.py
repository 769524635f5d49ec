"""AVX-512 (VNNI) helpers and tensor intrinsics: zmm vectors of :data:`LANES` 32-bit lanes.
Registered with TensorIR on import.

Why our own VNNI intrinsics: the stock ``dot_16x4_vnni`` of TVM 0.27 passes ``<16 x i32>``
operands to ``llvm.x86.avx512.vpdpbusd.512``, but the LLVM 22 bundled with the wheel declares it
``<16 x i32> (<16 x i32>, <64 x i8>, <64 x i8>)``, so it fails module verification. Ours pass
byte vectors and are bit-exact on full-range data.

All accumulators (``C``) and packed activations live in small stack buffers of the kernel
(``global`` scope: in this wheel only global-scope CPU allocations under 1 KiB become allocas,
which LLVM promotes to registers; ``local`` scope goes to the heap workspace allocator).

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
========================================  ===================================================
"""

from __future__ import annotations

from tvm.s_tir import TensorIntrin
from tvm.script import tirx as T

from tvm_blocksparse.isa import AVX512_VNNI

#: 32-bit lanes of a zmm vector: int32 accumulators / float32 values per vector, tokens per
#: ``vpdpbusd`` of the 4x1 kernel.
LANES = AVX512_VNNI.lanes

VNNI_TOKEN16_W4_INTRIN = "tvm_blocksparse.x86.vnni_token16_w4_u8i8i32"
VNNI_OUT16_X4_INTRIN = "tvm_blocksparse.x86.vnni_out16_x4_u8i8i32"

_VPDPBUSD = "llvm.x86.avx512.vpdpbusd.512"  # (<16 x i32>, <64 x i8>, <64 x i8>) -> <16 x i32>


def vpdpbusd(acc, act_u8x64, weight_i8x64):
    """``acc[i] += sum_c act[4 i + c] * weight[4 i + c]`` (u8 x s8 -> s32, exact)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id(_VPDPBUSD), acc, act_u8x64, weight_i8x64, dtype="int32x16"
    )


def broadcast_4_bytes(vec4):
    """Repeat 4 bytes 16 times as a 64-byte vector (one ``{1to16}`` dword broadcast)."""
    return T.reinterpret(T.broadcast(T.reinterpret(vec4, dtype="int32"), 16), dtype="int8x64")


def rint_i32(x):
    """``rint(x)`` as int32x16 in one ``vcvtps2dq`` (round to nearest even under the default
    MXCSR; LLVM emits ``vrndscaleps`` + ``vcvttps2dq`` for a cast of ``nearbyint``)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx512.mask.cvtps2dq.512"),
        x,
        T.broadcast(T.int32(0), 16),
        T.int16(-1),
        T.int32(4),
        dtype="int32x16",
    )


def saturate_u8(q):
    """int32x16 -> uint8x16, clamped at 255 (``vpmovusdb``; the caller clamps at 0)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx512.mask.pmovus.db.512"),
        q,
        T.broadcast(T.uint8(0), 16),
        T.int16(-1),
        dtype="uint8x16",
    )


def scalef(a, b):
    """``a * 2^floor(b)`` per lane (``vscalefps``; all lanes, current rounding mode)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx512.mask.scalef.ps.512"),
        a,
        b,
        a,
        T.int16(-1),
        T.int32(4),
        dtype="float32x16",
    )


def transpose16(vectors: list, bind=lambda v: v) -> list:
    """``out[t][s] = vectors[s][t]`` for 16 vectors of 16 (4-byte) lanes: 4 rounds of 16
    two-source shuffles, each swapping one bit of the vector index with that bit of the lane
    index. ``bind`` (e.g. ``T.Bind`` while emitting statements) names each round's vectors, so
    the 64 shuffles are computed once, not once per output that uses them."""
    cur = [bind(v) for v in vectors]
    for b in range(4):
        bit = 1 << b
        low = [t if not t & bit else 16 + t - bit for t in range(16)]  # vectors with bit b clear
        high = [t + bit if not t & bit else 16 + t for t in range(16)]
        cur = [
            bind(T.Shuffle([cur[s & ~bit], cur[s | bit]], high if s & bit else low))
            for s in range(16)
        ]
    return cur


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
        C[T.ramp(T.int32(0), 1, 16)] = vpdpbusd(
            C.vload([0], dtype="int32x16"),
            A.vload([0, 0], dtype="uint8x64"),
            broadcast_4_bytes(B.vload([0], dtype="int8x4")),
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
        C[T.ramp(T.int32(0), 1, 16)] = vpdpbusd(
            C.vload([0], dtype="int32x16"),
            broadcast_4_bytes(A.vload([0], dtype="uint8x4")),
            B.vload([0, 0], dtype="int8x64"),
        )


TensorIntrin.register(
    VNNI_TOKEN16_W4_INTRIN, vnni_token16_w4_desc, vnni_token16_w4_impl, override=True
)
TensorIntrin.register(VNNI_OUT16_X4_INTRIN, vnni_out16_x4_desc, vnni_out16_x4_impl, override=True)
