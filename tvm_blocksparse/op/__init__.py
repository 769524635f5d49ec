"""TensorIR computes of our kernels, one module per family (unscheduled;
``tvm_blocksparse.schedules`` schedules them). Each builder's docstring states its layout
contract (shapes, dtypes, block orientation, ISA level)."""

from tvm_blocksparse.op.attention import attention_int8
from tvm_blocksparse.op.bsr_fp32_1x16 import (
    FP32_STAGED_TILE,
    bsr_dense_fp32_1x16,
    bsr_dense_fp32_1x16_staged,
)
from tvm_blocksparse.op.bsr_int8_4x1 import bsr_dense_int8_4x1, xt_row_offsets
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.layer_norm import layer_norm_qparams
from tvm_blocksparse.op.out_lane import bsr_dense_int8_16x4, dense_int8
from tvm_blocksparse.op.quantize import (
    column_qparams_of_ranges,
    dynamic_qparams,
    dynamic_qparams_columns,
    padded_tokens,
    quantize_transpose_u8,
    quantize_u8,
    quantize_u8_columns,
)

__all__ = [
    "FP32_STAGED_TILE",
    "Epilogue",
    "attention_int8",
    "bsr_dense_fp32_1x16",
    "bsr_dense_fp32_1x16_staged",
    "bsr_dense_int8_4x1",
    "bsr_dense_int8_16x4",
    "column_qparams_of_ranges",
    "dense_int8",
    "dynamic_qparams",
    "dynamic_qparams_columns",
    "layer_norm_qparams",
    "padded_tokens",
    "quantize_transpose_u8",
    "quantize_u8",
    "quantize_u8_columns",
    "xt_row_offsets",
]
