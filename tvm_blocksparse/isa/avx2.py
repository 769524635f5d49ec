"""AVX2 + FMA: ymm vectors of :data:`LANES` 32-bit lanes, no VNNI. Registered with TensorIR on
import.

The u8 x s8 -> s32 dot step is ``vpmaddubsw`` (u8 x s8 pairs summed into s16, *saturating*),
``vpmaddwd`` by ones (s16 pairs -> s32) and ``vpaddd``. It is exact only while every pair sum
fits s16: ``255 * (|w_a| + |w_b|) <= 32767`` holds when a pair's weights sum to at most 128 in
magnitude (our 4x1 layout pairs the input channels so, :func:`tvm_blocksparse.format.pair_columns`;
any two weights in ``[-64, 64]``, oneDNN's 7-bit choice on CPUs without VNNI, do) and ``2 * 127 *
128`` for activations in ``[0, 127]`` (FBGEMM's sparse kernel); on full-range u8 x s8 data in any
order the sum saturates (see :func:`dot_u8s8_ref`).

========================================  ===================================================
name                                      contract (one call)
========================================  ===================================================
``AVX2_TOKEN8_W4_INTRIN``                 The 4x1 scheme on ymm. ``A: u8[8, 4]`` 8 tokens x 4
                                          input channels (token-major, 4 bytes per token);
                                          ``B: s8[4]`` one output channel's weights, broadcast;
                                          ``C: s32[8]``. ``C[t] += sat16(A[t,0] B[0] + A[t,1]
                                          B[1]) + sat16(A[t,2] B[2] + A[t,3] B[3])``: exact for
                                          the operand ranges above.
========================================  ===================================================
"""

from __future__ import annotations

import numpy as np
from tvm.s_tir import TensorIntrin
from tvm.script import tirx as T

from tvm_blocksparse.isa import AVX2

#: 32-bit lanes of a ymm vector (tokens per dot step of the token-lane scheme).
LANES = AVX2.lanes

AVX2_TOKEN8_W4_INTRIN = "tvm_blocksparse.x86.avx2_token8_w4_u8i8i32"


def broadcast_4_bytes(vec4):
    """Repeat 4 bytes 8 times as a 32-byte vector (one ``vpbroadcastd``)."""
    return T.reinterpret(T.broadcast(T.reinterpret(vec4, dtype="int32"), LANES), dtype="int8x32")


def rint_i32(x):
    """``rint(x)`` as int32x8 in one ``vcvtps2dq`` (round to nearest even, default MXCSR)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx.cvt.ps2dq.256"), x, dtype="int32x8"
    )


def _saturate_16_bytes(q, byte_pack: str, dtype: str):
    """int32x16 -> ``dtype`` x16 by ``vpackssdw`` of the two halves (s16, saturating), the
    saturating byte pack ``byte_pack`` (``vpackuswb`` / ``vpacksswb``) and one dword permute."""
    halves = [T.Shuffle([q], list(range(h * 8, h * 8 + 8))) for h in (0, 1)]
    words = T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx2.packssdw"), *halves, dtype="int16x16"
    )
    bytes_ = T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id(byte_pack), words, words, dtype=f"{dtype}x32"
    )
    # dwords: lane 0 = q0-3, q8-11 (x2); lane 1 = q4-7, q12-15 (x2)
    return T.reinterpret(f"{dtype}x16", T.Shuffle([T.reinterpret("int32x8", bytes_)], [0, 4, 1, 5]))


def saturate_u8(q):
    """int32x16 -> uint8x16 clamped to ``[0, 255]`` in 3 shuffles (:func:`_saturate_16_bytes`),
    where a per-lane clamp and truncation took ~10 ops."""
    return _saturate_16_bytes(q, "llvm.x86.avx2.packuswb", "uint8")


def saturate_s8(q):
    """int32x16 -> int8x16 clamped to ``[-128, 127]`` in 3 shuffles (:func:`_saturate_16_bytes`);
    a truncating cast took a mask and two permutes more."""
    return _saturate_16_bytes(q, "llvm.x86.avx2.packsswb", "int8")


def rint_i32_16(x):
    """``rint(x)`` as int32x16 (float32x16 in): one ``vcvtps2dq`` per ymm half."""
    return T.Shuffle(
        [rint_i32(T.Shuffle([x], list(range(h * 8, h * 8 + 8)))) for h in (0, 1)],
        list(range(16)),
    )


def _pair_sums(act_u8x32, weight_i8x32):
    """``sat16(a[2j] w[2j] + a[2j+1] w[2j+1])`` (int16x16): ``vpmaddubsw``."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx2.pmadd.ub.sw"),
        T.reinterpret("int8x32", act_u8x32),
        weight_i8x32,
        dtype="int16x16",
    )


def _quad_sums(pairs):
    """``p[2i] + p[2i+1]`` as int32x8: ``vpmaddwd`` by ones."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id("llvm.x86.avx2.pmadd.wd"),
        pairs,
        T.broadcast(T.int16(1), 16),
        dtype="int32x8",
    )


def dot_u8s8(acc, act_u8x32, weight_i8x32):
    """``acc[i] += sat16(a[4i] w[4i] + a[4i+1] w[4i+1]) + sat16(a[4i+2] w[4i+2] + a[4i+3] w[4i+3])``
    (int32x8): ``vpmaddubsw``, ``vpmaddwd`` by ones, ``vpaddd``."""
    return acc + _quad_sums(_pair_sums(act_u8x32, weight_i8x32))


def dot_u8s8_two_steps(acc, act0, weight0, act1, weight1):
    """Two :func:`dot_u8s8` steps, ``(act0, weight0)`` and ``(act1, weight1)``, into ``acc`` with
    one ``vpmaddwd``: their ``vpmaddubsw`` pair sums are added in s16 (``vpaddw``) first, 3
    multiplies per two steps instead of 4. Exact only while every pair sum is within
    ``[-16383, 16383]``, e.g. u8 in ``[0, 127]`` x s8 in ``[-64, 64]`` (``2 x 127 x 64``)."""
    return acc + _quad_sums(_pair_sums(act0, weight0) + _pair_sums(act1, weight1))


def dot_u8s8_ref(act_u8: np.ndarray, weight_s8: np.ndarray) -> np.ndarray:
    """numpy twin of :func:`dot_u8s8` summed over the last axis (a multiple of 4): the
    saturating pair sums included, so it also says what full-range data would give."""
    prod = act_u8.astype(np.int32) * weight_s8.astype(np.int32)
    pairs = np.clip(prod[..., 0::2] + prod[..., 1::2], -32768, 32767)
    return pairs.sum(axis=-1, dtype=np.int32)


@T.prim_func(s_tir=True)
def avx2_token8_w4_desc(
    A: T.Buffer((8, 4), "uint8", offset_factor=1),
    B: T.Buffer((4,), "int8", offset_factor=1),
    C: T.Buffer((8,), "int32", offset_factor=1),
) -> None:
    with T.sblock("root"):
        T.reads(C[0:8], A[0:8, 0:4], B[0:4])
        T.writes(C[0:8])
        for t, c in T.grid(8, 4):
            with T.sblock("update"):
                vt, vc = T.axis.remap("SR", [t, c])
                C[vt] = C[vt] + T.cast(A[vt, vc], "int32") * T.cast(B[vc], "int32")


def token8_w4_impl(dot):
    """The impl of an 8-token x 4-input dot step: ``C = dot(C, A as u8x32, B broadcast as s8x32)``
    (its desc is :func:`avx2_token8_w4_desc`; AVX-VNNI passes its ``vpdpbusd``)."""

    @T.prim_func(s_tir=True)
    def impl(
        A: T.Buffer((8, 4), "uint8", offset_factor=1),
        B: T.Buffer((4,), "int8", offset_factor=1),
        C: T.Buffer((8,), "int32", offset_factor=1),
    ) -> None:
        with T.sblock("root"):
            T.reads(C[0:8], A[0:8, 0:4], B[0:4])
            T.writes(C[0:8])
            C[T.ramp(T.int32(0), 1, 8)] = dot(
                C.vload([0], dtype="int32x8"),
                A.vload([0, 0], dtype="uint8x32"),
                broadcast_4_bytes(B.vload([0], dtype="int8x4")),
            )

    return impl


TensorIntrin.register(
    AVX2_TOKEN8_W4_INTRIN, avx2_token8_w4_desc, token8_w4_impl(dot_u8s8), override=True
)
