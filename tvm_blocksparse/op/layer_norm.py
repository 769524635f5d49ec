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

#: Rows a zmm task normalizes at once, their passes interleaved: each row's mean and variance end
#: in a reduction whose latency one row alone waits out. On ymm (16 registers) a second row's
#: chains spilled and ran slower; there one row at a time (bench/README.md, "Decisions").
ZMM_ROWS_AT_ONCE = 2


@T.macro
def _sum_step(X, acc, row, v4, u):
    """Chain ``u`` of ``acc`` += ``X[row]``'s vector ``4 v4 + u`` (the mean pass)."""
    acc[u, T.ramp(0, 1, 16)] = acc[u, T.ramp(0, 1, 16)] + X[row, T.ramp((v4 * 4 + u) * 16, 1, 16)]


@T.macro
def _square_step(X, acc, stat, y, row, v4, u):
    """Chain ``u`` of ``acc`` += ``(X[row]'s vector 4 v4 + u - mean)^2`` (the variance pass)."""
    y[T.ramp(0, 1, 16)] = X[row, T.ramp((v4 * 4 + u) * 16, 1, 16)] - stat[0, T.ramp(0, 1, 16)]
    acc[u, T.ramp(0, 1, 16)] = acc[u, T.ramp(0, 1, 16)] + y[T.ramp(0, 1, 16)] * y[T.ramp(0, 1, 16)]


def _chains_total(acc, scale: float):
    """The 4 chains of ``acc`` summed over every lane, times ``scale``, in every lane."""
    return allreduce(
        (acc[0, T.ramp(0, 1, 16)] + acc[1, T.ramp(0, 1, 16)])
        + (acc[2, T.ramp(0, 1, 16)] + acc[3, T.ramp(0, 1, 16)]),
        T.Add,
        LANES,
    ) * fconst(scale, 16)


@T.macro
def _zero_chains(acc):
    for u in T.unroll(4):
        acc[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)


@T.macro
def _mean_into(acc, stat, inv_k: float):
    """``stat[0]`` <- the row's mean from its 4 sum chains ``acc``, which are zeroed for the
    variance pass."""
    stat[0, T.ramp(0, 1, 16)] = _chains_total(acc, inv_k)
    _zero_chains(acc)


@T.macro
def _inverse_std_into(acc, stat, inv_k: float, eps: float):
    """``stat[1]`` <- ``1 / std`` from the 4 chains of squares ``acc``, ``stat[0]`` (the mean)
    <- ``-mean / std``."""
    stat[1, T.ramp(0, 1, 16)] = fconst(1.0, 16) / T.sqrt(
        _chains_total(acc, inv_k) + fconst(eps, 16)
    )
    stat[0, T.ramp(0, 1, 16)] = (
        fconst(0.0, 16) - stat[0, T.ramp(0, 1, 16)] * stat[1, T.ramp(0, 1, 16)]
    )


@T.macro
def _normalize_step(X, gamma, beta, Y, stat, y, lo, hi, chains, row, v4, u):
    """``Y[row]``'s vector ``4 v4 + u`` = ``(x / std + (-mean / std)) * gamma + beta`` (two FMAs),
    its range into chain ``u % chains`` of ``lo`` / ``hi``."""
    y[T.ramp(0, 1, 16)] = (
        X[row, T.ramp((v4 * 4 + u) * 16, 1, 16)] * stat[1, T.ramp(0, 1, 16)]
        + stat[0, T.ramp(0, 1, 16)]
    ) * gamma[T.ramp((v4 * 4 + u) * 16, 1, 16)] + beta[T.ramp((v4 * 4 + u) * 16, 1, 16)]
    Y[row, T.ramp((v4 * 4 + u) * 16, 1, 16)] = y[T.ramp(0, 1, 16)]
    widen_range(lo, hi, u % chains, y[T.ramp(0, 1, 16)])


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
    "Decisions"). On zmm :data:`ZMM_ROWS_AT_ONCE` rows of a chunk go through each pass together
    (a chunk's odd last row is computed twice)."""
    if k % 64:
        raise ValueError(f"layer_norm_qparams needs K % 64 == 0, got {k=}")
    chains = range_chains(avx512)
    two = avx512 and ZMM_ROWS_AT_ONCE == 2
    kv = k // 16
    n_chunks = min(m, 8)
    rows = -(-m // n_chunks)
    steps = -(-rows // 2) if two else rows
    mp = padded_tokens(m)
    inv_k, eps = float(np.float32(1.0 / k)), float(np.float32(eps))

    def first_row(chunk, step):
        """The row of a chunk's step (zmm: the first of its two)."""
        return chunk * rows + (step * 2 if two else step)

    def second_row(chunk, step):
        """zmm: the second row of a chunk's step, the next one in the chunk or the first again."""
        return T.min(first_row(chunk, step) + 1, T.min((chunk + 1) * rows, m) - 1)

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
                    # per row: 4 independent sum chains (vaddps latency), 4 min / max chains,
                    # mean (then -mean / std) and 1 / std in every lane
                    acc = T.alloc_buffer((4, 16), "float32")
                    lo = T.alloc_buffer((4, 16), "float32")
                    hi = T.alloc_buffer((4, 16), "float32")
                    stat = T.alloc_buffer((2, 16), "float32")
                    y = T.alloc_buffer((16,), "float32")
                    acc1 = T.alloc_buffer((4, 16), "float32")  # the second row's (zmm)
                    lo1 = T.alloc_buffer((4, 16), "float32")
                    hi1 = T.alloc_buffer((4, 16), "float32")
                    stat1 = T.alloc_buffer((2, 16), "float32")
                    y1 = T.alloc_buffer((16,), "float32")
                    for i in range(steps):
                        if first_row(vc, i) < m:
                            range_chains_init(lo, hi)
                            _zero_chains(acc)
                            if two:
                                range_chains_init(lo1, hi1)
                                _zero_chains(acc1)
                            # constant chain indices (unrolled): the chains stay in registers
                            for v4 in range(kv // 4):
                                for u in T.unroll(4):
                                    _sum_step(X, acc, first_row(vc, i), v4, u)
                                    if two:
                                        _sum_step(X, acc1, second_row(vc, i), v4, u)
                            _mean_into(acc, stat, inv_k)
                            if two:
                                _mean_into(acc1, stat1, inv_k)
                            for v4 in range(kv // 4):
                                for u in T.unroll(4):
                                    _square_step(X, acc, stat, y, first_row(vc, i), v4, u)
                                    if two:
                                        _square_step(X, acc1, stat1, y1, second_row(vc, i), v4, u)
                            _inverse_std_into(acc, stat, inv_k, eps)
                            if two:
                                _inverse_std_into(acc1, stat1, inv_k, eps)
                            for v4 in range(kv // 4):
                                for u in T.unroll(4):
                                    _normalize_step(
                                        X,
                                        gamma,
                                        beta,
                                        Y,
                                        stat,
                                        y,
                                        lo,
                                        hi,
                                        chains,
                                        first_row(vc, i),
                                        v4,
                                        u,
                                    )
                                    if two:
                                        _normalize_step(
                                            X,
                                            gamma,
                                            beta,
                                            Y,
                                            stat1,
                                            y1,
                                            lo1,
                                            hi1,
                                            chains,
                                            second_row(vc, i),
                                            v4,
                                            u,
                                        )
                            row_qparams(lo, hi, first_row(vc, i), x_scale, x_zp)
                            if two:
                                row_qparams(lo1, hi1, second_row(vc, i), x_scale, x_zp)
            for i in range(mp - m):
                with T.sblock("padding"):
                    vi = T.axis.spatial(mp - m, i)
                    x_scale[m + vi] = T.float32(1)
                    x_zp[m + vi] = 0

    return main
