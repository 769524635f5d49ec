"""AVX-VNNI (Alder Lake and later clients, Sapphire Rapids; no AVX-512 needed): the VEX-encoded
``vpdpbusd`` on ymm, :data:`LANES` 32-bit lanes. Registered with TensorIR on import.

========================================  ===================================================
name                                      contract (one call)
========================================  ===================================================
``AVX_VNNI_TOKEN8_W4_INTRIN``             The 4x1 scheme on ymm. ``A: u8[8, 4]`` 8 tokens x 4
                                          input channels (token-major, 4 bytes per token);
                                          ``B: s8[4]`` one output channel's weights, broadcast;
                                          ``C: s32[8]``. ``C[t] += sum_c A[t, c] * B[c]``, exact
                                          on full-range data. One ``{vex} vpdpbusd``.
========================================  ===================================================
"""

from __future__ import annotations

from tvm.s_tir import TensorIntrin
from tvm.script import tirx as T

from tvm_blocksparse.isa import AVX_VNNI
from tvm_blocksparse.isa.avx2 import avx2_token8_w4_desc, token8_w4_impl

#: 32-bit lanes of a ymm vector.
LANES = AVX_VNNI.lanes

AVX_VNNI_TOKEN8_W4_INTRIN = "tvm_blocksparse.x86.avx_vnni_token8_w4_u8i8i32"

# LLVM selects the VEX form ({vex} vpdpbusd) for this intrinsic on a target with avxvnni and
# without avx512vl; (<8 x i32>, <32 x i8>, <32 x i8>) -> <8 x i32>.
_VPDPBUSD_256 = "llvm.x86.avx512.vpdpbusd.256"


def vpdpbusd(acc, act_u8x32, weight_i8x32):
    """``acc[i] += sum_c act[4 i + c] * weight[4 i + c]`` (u8 x s8 -> s32, exact; int32x8)."""
    return T.call_llvm_pure_intrin(
        T.llvm_lookup_intrinsic_id(_VPDPBUSD_256), acc, act_u8x32, weight_i8x32, dtype="int32x8"
    )


TensorIntrin.register(
    AVX_VNNI_TOKEN8_W4_INTRIN, avx2_token8_w4_desc, token8_w4_impl(vpdpbusd), override=True
)
