"""Schedules for tvm_blocksparse kernels (installed as ``tvm_blocksparse.schedules``).

One function per kernel; the default build and the MetaSchedule space call the same function.
"""

from .bsr_dense import (
    schedule_bsr_dense_fp32_1x16,
    schedule_bsr_dense_int8_4x1,
    schedule_out_lane_kernel,
    schedule_quantize_transpose_u8,
)
