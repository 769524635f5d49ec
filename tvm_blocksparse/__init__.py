"""tvm-blocksparse: block-sparse INT8/FP32 Transformer inference on x86 CPUs, built on TVM.

Orientation: weights are ``W[N_out, K_in]``; "4x1" = 4 output channels x 1 input channel (see
:mod:`tvm_blocksparse.format`).
"""

from .target import configure_runtime_threads

configure_runtime_threads()

from . import (
    format,
    intrin_lowering,  # vectorizable erf for llvm targets
    pipeline,  # registers relax.get_pipeline("tvm_blocksparse")
)
from .api import CompiledModel, compile, inspect, load, prune
from .isa import avx2, avx512, avx_vnni, common  # registers our TensorIntrins with TensorIR
from .op.epilogue import Epilogue
from .text import TextPipeline, TextPipelineError
from .tuning import tune

__version__ = "0.1.0"
