"""Schedules for tvm_blocksparse kernels (installed as ``tvm_blocksparse.schedules``).

One function per kernel; the default build and the MetaSchedule space call the same function.
"""

from .bsr_dense import (
    schedule_bsr_dense_fp32_1x16,
    schedule_bsr_dense_fp32_4x1,
    schedule_bsr_dense_int8_4x1,
    schedule_bsr_dense_int8_4x1_avx2,
    schedule_bsr_dense_int8_4x1_avx_vnni,
    schedule_dense_int8_amx,
    schedule_out_lane_kernel,
    schedule_quantize_transpose_u8,
)


def schedule_as_written(sch):
    """For ops written already parallel and vectorized in TVMScript (range pass, row-major
    quantize, LayerNorm, attention): nothing to do."""
    return sch


#: Schedule function of each non-Linear op our rewrite passes add, by its kernel tag (Linear
#: kernels take theirs from :mod:`tvm_blocksparse.registry`).
OP_SCHEDULES = {
    "quantize_transpose_u8": schedule_quantize_transpose_u8,
    "quantize_u8": schedule_as_written,
    "dynamic_qparams": schedule_as_written,
    "dynamic_qparams_columns": schedule_as_written,
    "column_qparams_of_ranges": schedule_as_written,
    "quantize_u8_columns": schedule_as_written,
    "layer_norm_qparams": schedule_as_written,
    "attention_int8": schedule_as_written,
    "attention_f32": schedule_as_written,
    "softmax_rows": schedule_as_written,
    "stage_x_tiles": schedule_as_written,
}
