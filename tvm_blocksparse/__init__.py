"""tvm-blocksparse: block-sparse INT8/FP32 Transformer inference on x86 CPUs, built on TVM.

Orientation: weights are ``W[N_out, K_in]``; "4x1" = 4 output channels x 1 input channel (see
:mod:`tvm_blocksparse.format`).
"""

from .target import configure_runtime_threads

configure_runtime_threads()

from .isa import avx2, avx512, avx_vnni, common  # registers our TensorIntrins with TensorIR
from . import intrin_lowering  # vectorizable erf for llvm targets
from . import format
from . import pipeline  # registers relax.get_pipeline("tvm_blocksparse")
from .api import CompiledModel, compile, inspect, load, prune
from .tuning import tune
from .op.epilogue import Epilogue

__version__ = "0.1.0"
