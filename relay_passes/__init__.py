"""Relax passes of tvm-blocksparse (installed as ``tvm_blocksparse.relay_passes``), one per file,
each named after its class.

The folder keeps the design card's name ``relay_passes``; TVM 0.27 has no Relay, so these are
Relax passes (Relay's successor). :mod:`tvm_blocksparse.pipeline` runs them in this order:
LayerNormQParams, SparsifyLinear, ProducerTranspose, ProducerTiles, FuseAttention (INT8) or
FuseAttentionF32 (FP32), SoftmaxRows (rewrite phase), then ApplyTunedKernels and
ScheduleKernels, then LiftWeights (separate weights only). ``kernel_calls`` holds what they
share.
"""

from .apply_tuned_kernels import ApplyTunedKernels
from .fuse_attention import FuseAttention
from .fuse_attention_f32 import FuseAttentionF32
from .layer_norm_qparams import LayerNormQParams
from .lift_weights import LiftWeights
from .producer_tiles import ProducerTiles
from .producer_transpose import ProducerTranspose
from .schedule_kernels import ScheduleKernels
from .softmax_rows import SoftmaxRows
from .sparsify_linear import SparsifyLinear

__all__ = [
    "ApplyTunedKernels",
    "FuseAttention",
    "FuseAttentionF32",
    "LayerNormQParams",
    "LiftWeights",
    "ProducerTiles",
    "ProducerTranspose",
    "ScheduleKernels",
    "SoftmaxRows",
    "SparsifyLinear",
]
