"""LayerNorm that also yields its output's u8 quantization parameters (INT8 mode)."""

from __future__ import annotations

import functools

import numpy as np
import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa.avx512 import LANES
from tvm_blocksparse.isa.common import allreduce, fconst
from tvm_blocksparse.op.quantize import (
    padded_tokens,
    range_chains,
    range_chains_init,
    row_qparams,
    widen_range,
)


@functools.cache
def layer_norm_qparams(m: int, k: int, eps: float, avx512: bool = True) -> tvm.tirx.PrimFunc:
    """``Y = (X - mean) / sqrt(var + eps) * gamma + beta`` over the last axis, and ``Y``'s u8
    quantization parameters (those :func:`dynamic_qparams` would compute from ``Y``).

    Parameters ``X f32[M, K]``, ``gamma f32[K]``, ``beta f32[K]``; outputs ``Y f32[M, K]``,
    ``x_scale f32[Mp]``, ``x_zp i32[Mp]`` (per token, ``Mp = padded_tokens(M)``, padding 1 and 0).
    ``K % 64 == 0``. Row chunks in parallel; per row three 16-lane passes over ``X`` (mean;
    variance around it; normalize with running min/max in independent chains,
    :func:`~tvm_blocksparse.op.quantize.range_chains` of ``avx512``), so the range costs no pass
    of its own: in BERT every LayerNorm but the last feeds a Linear (bench/README.md,
    "Decisions")."""
    if k % 64:
        raise ValueError(f"layer_norm_qparams needs K % 64 == 0, got {k=}")
    chains = range_chains(avx512)
    kv = k // 16
    n_chunks = min(m, 8)
    rows = -(-m // n_chunks)
    mp = padded_tokens(m)
    inv_k, eps = float(np.float32(1.0 / k)), float(np.float32(eps))

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        gamma: T.Buffer((k,), "float32"),
        beta: T.Buffer((k,), "float32"),
        Y: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for c in T.parallel(n_chunks):
                with T.sblock("rows"):
                    vc = T.axis.spatial(n_chunks, c)
                    T.reads(X[0:m, 0:k], gamma[0:k], beta[0:k])
                    T.writes(Y[0:m, 0:k], x_scale[0:mp], x_zp[0:mp])
                    acc = T.alloc_buffer((4, 16), "float32")  # 4 independent chains: vaddps latency
                    lo = T.alloc_buffer((4, 16), "float32")
                    hi = T.alloc_buffer((4, 16), "float32")
                    stat = T.alloc_buffer(
                        (2, 16), "float32"
                    )  # mean (then -mean / std), 1 / std in every lane
                    y = T.alloc_buffer((16,), "float32")
                    for i in range(rows):
                        if vc * rows + i < m:
                            range_chains_init(lo, hi)
                            for u in T.unroll(4):
                                acc[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                            for v4 in range(kv // 4):
                                for u in T.unroll(
                                    4
                                ):  # constant indices: the chains stay in registers
                                    acc[u, T.ramp(0, 1, 16)] = (
                                        acc[u, T.ramp(0, 1, 16)]
                                        + X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)]
                                    )
                            acc[0, T.ramp(0, 1, 16)] = (
                                acc[0, T.ramp(0, 1, 16)] + acc[1, T.ramp(0, 1, 16)]
                            ) + (acc[2, T.ramp(0, 1, 16)] + acc[3, T.ramp(0, 1, 16)])
                            stat[0, T.ramp(0, 1, 16)] = allreduce(
                                acc[0, T.ramp(0, 1, 16)], T.Add, LANES
                            ) * fconst(inv_k, 16)
                            for u in T.unroll(4):
                                acc[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                            for v4 in range(kv // 4):
                                for u in T.unroll(
                                    4
                                ):  # constant indices: the chains stay in registers
                                    y[T.ramp(0, 1, 16)] = (
                                        X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)]
                                        - stat[0, T.ramp(0, 1, 16)]
                                    )
                                    acc[u, T.ramp(0, 1, 16)] = (
                                        acc[u, T.ramp(0, 1, 16)]
                                        + y[T.ramp(0, 1, 16)] * y[T.ramp(0, 1, 16)]
                                    )
                            acc[0, T.ramp(0, 1, 16)] = (
                                acc[0, T.ramp(0, 1, 16)] + acc[1, T.ramp(0, 1, 16)]
                            ) + (acc[2, T.ramp(0, 1, 16)] + acc[3, T.ramp(0, 1, 16)])
                            stat[1, T.ramp(0, 1, 16)] = fconst(1.0, 16) / T.sqrt(
                                allreduce(acc[0, T.ramp(0, 1, 16)], T.Add, LANES)
                                * fconst(inv_k, 16)
                                + fconst(eps, 16)
                            )
                            stat[0, T.ramp(0, 1, 16)] = (
                                fconst(0.0, 16)
                                - stat[0, T.ramp(0, 1, 16)] * stat[1, T.ramp(0, 1, 16)]
                            )
                            for v4 in range(kv // 4):
                                for u in T.unroll(
                                    4
                                ):  # constant indices: the chains stay in registers
                                    # (x - mean) / std * gamma + beta as two FMAs: x / std + (-mean
                                    # / std), then * gamma + beta
                                    y[T.ramp(0, 1, 16)] = (
                                        X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)]
                                        * stat[1, T.ramp(0, 1, 16)]
                                        + stat[0, T.ramp(0, 1, 16)]
                                    ) * gamma[T.ramp((v4 * 4 + u) * 16, 1, 16)] + beta[
                                        T.ramp((v4 * 4 + u) * 16, 1, 16)
                                    ]
                                    Y[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)] = y[
                                        T.ramp(0, 1, 16)
                                    ]
                                    widen_range(lo, hi, u % chains, y[T.ramp(0, 1, 16)])
                            row_qparams(lo, hi, vc * rows + i, x_scale, x_zp)
            for i in range(mp - m):
                with T.sblock("padding"):
                    vi = T.axis.spatial(mp - m, i)
                    x_scale[m + vi] = T.float32(1)
                    x_zp[m + vi] = 0

    return main
