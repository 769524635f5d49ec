"""FP32 self-attention in one PrimFunc, computed transposed on ymm: ``O^T = V^T P^T`` with
``P^T = softmax over keys of (K Q^T * scale + mask)``, each head's output written straight into the
token tiles the out-projection's FP32 4x1 kernel reads (:mod:`~tvm_blocksparse.op.token_tiles`).

Why: with keys in rows and tokens in lanes, a register tile is 4 keys (or 4 head dims) x one
token tile, the FP32 4x1 kernel's shape (12 accumulators on a 24-token tile); the softmax reduces
over rows, lane by lane (no horizontal reductions), and the output is already each channel's
tile tokens: the scores never leave the task's scratch, and the two matmul calls, the softmax
pass and the staging of the heads into tiles are one call.

Layouts (batch 1; ``N = H * d``; ``S % 16 == 0``, ``d % 4 == 0``; every level from AVX2 up):

- ``QT f32[N, S]``: ``Q^T``, each channel's tokens in one row (the FP32 4x1 kernel's
  ``yt_rows`` output);
- ``K f32[H, S, d]``, ``V f32[H, S, d]``: head-major (its ``heads_out`` output);
- additive mask: ``mask f32[S]``, per key (``key_mask``: BERT's padding mask, one broadcast per
  key), or ``maskT f32[S, S]``, key x query (the transpose of a ``[query, key]`` mask, e.g.
  transformers' exports: a vector of the tile's queries per key);
- ``Y f32[S * N]``: token tiles of the output ``O[S, N]`` (channel ``h * d + j`` is head
  ``h``'s dim ``j``).
"""

from __future__ import annotations

import functools

import numpy as np
import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa.common import bcast, fconst, fma
from tvm_blocksparse.op.epilogue import exp_f32, whole_regions
from tvm_blocksparse.op.token_tiles import (
    NARROW_TILE,
    TILE_LANES,
    WIDE_TILE,
    TokenTiles,
    tile_offset,
)

#: Keys (scores) or head dims (output) per register tile: 4 broadcasts x the tile's token vectors.
ROWS = 4


@functools.cache
def attention_f32_tiles(
    s: int, heads: int, d: int, scale: float, key_mask: bool = True
) -> tvm.tirx.PrimFunc:
    """The kernel: parameters ``QT, K, V, mask, Y`` as in the module docstring (``mask f32[S]``
    with ``key_mask``, else ``maskT f32[S, S]``); ``scale`` multiplies ``Q K^T`` (``1/sqrt(d)`` in
    BERT).

    One parallel task per (head, token tile): the scores of all ``S`` keys for the tile's tokens
    (12 FMAs per head dim on a wide tile: 3 ``QT`` loads, 4 ``K`` broadcasts) into the task's
    scratch ``f32[S, 24]`` with each token's running maximum; their exponentials in place
    (:func:`~tvm_blocksparse.op.epilogue.exp_f32`: 87 below the maximum gives exactly 0) with the
    running sums; then ``O^T`` 4 head dims at a time over every key (3 probability loads, 4
    ``V`` broadcasts), scaled by the reciprocal sums and stored into the tile."""
    if s % NARROW_TILE or d % ROWS:
        raise ValueError(f"FP32 attention needs S % 16 == 0 and d % 4 == 0, got S={s}, d={d}")
    lanes = TILE_LANES
    plan = TokenTiles(s)
    n = heads * d
    tiles, wide, narrow, wide_tokens = plan.count, plan.wide, plan.narrow, plan.wide_tokens
    scale = float(np.float32(scale))

    def vec(buf, row, tv):
        return buf[row, T.ramp(tv * lanes, 1, lanes)]

    # the two products' operands, by (tile row r, step i) and (step i, token vector tv)
    def keys_by_dim(K, vh, kg):
        return lambda r, j: K[vh, kg * ROWS + r, j]

    def queries_by_dim(QT, vh, tok0):
        return lambda j, tv: QT[vh * d + j, T.ramp(tok0 + tv * lanes, 1, lanes)]

    def values_by_key(V, vh, jg):
        return lambda r, key: V[vh, key, jg * ROWS + r]

    def probs_by_key(probs):
        return lambda key, tv: vec(probs, key, tv)

    @T.macro
    def tile_sum(acc, row_value, token_vector, steps: int, width: int):
        """``acc[r, tv] = sum_i row_value(r, i) * token_vector(i, tv)`` over ``steps``: a 4-row x
        token-tile register tile, one broadcast per row and one FMA per accumulator a step."""
        for r in T.unroll(ROWS):
            for tv in T.unroll(width // lanes):
                acc[r, T.ramp(tv * lanes, 1, lanes)] = fconst(0.0, lanes)
        for i in range(steps):
            for r in T.unroll(ROWS):
                for tv in T.unroll(width // lanes):
                    acc[r, T.ramp(tv * lanes, 1, lanes)] = fma(
                        bcast(row_value(r, i), lanes), token_vector(i, tv), vec(acc, r, tv), lanes
                    )

    def mask_lanes(mask, key, tok):
        """The mask of ``key`` for the ``lanes`` queries from ``tok``."""
        if key_mask:
            return bcast(mask[key], lanes)
        return mask[key, T.ramp(tok, 1, lanes)]

    @T.macro
    def attend(QT, K, V, mask, Y, probs, acc, stat, vh, tok0, width: int):
        """Head ``vh`` for the tile of ``width`` tokens from ``tok0``; ``stat[0]``: each token's
        maximum score, ``stat[1]``: its sum of exponentials, then the sum's reciprocal."""
        for tv in T.unroll(width // lanes):
            stat[0, T.ramp(tv * lanes, 1, lanes)] = T.broadcast(T.min_value("float32"), lanes)
            stat[1, T.ramp(tv * lanes, 1, lanes)] = fconst(0.0, lanes)
        for kg in range(s // ROWS):
            tile_sum(acc, keys_by_dim(K, vh, kg), queries_by_dim(QT, vh, tok0), d, width)
            for r in T.unroll(ROWS):
                for tv in T.unroll(width // lanes):
                    probs[kg * ROWS + r, T.ramp(tv * lanes, 1, lanes)] = fma(
                        vec(acc, r, tv),
                        fconst(scale, lanes),
                        mask_lanes(mask, kg * ROWS + r, tok0 + tv * lanes),
                        lanes,
                    )
                    stat[0, T.ramp(tv * lanes, 1, lanes)] = T.max(
                        vec(stat, 0, tv), vec(probs, kg * ROWS + r, tv)
                    )
        for key in range(s):
            for tv in T.unroll(width // lanes):
                probs[key, T.ramp(tv * lanes, 1, lanes)] = exp_f32(
                    vec(probs, key, tv) - vec(stat, 0, tv), lanes
                )
                stat[1, T.ramp(tv * lanes, 1, lanes)] = vec(stat, 1, tv) + vec(probs, key, tv)
        for tv in T.unroll(width // lanes):
            stat[1, T.ramp(tv * lanes, 1, lanes)] = fconst(1.0, lanes) / vec(stat, 1, tv)
        for jg in range(d // ROWS):
            tile_sum(acc, values_by_key(V, vh, jg), probs_by_key(probs), s, width)
            for r in T.unroll(ROWS):
                for tv in T.unroll(width // lanes):
                    Y[
                        T.ramp(
                            tile_offset(tok0, vh * d + jg * ROWS + r, width, n) + tv * lanes,
                            1,
                            lanes,
                        )
                    ] = vec(acc, r, tv) * vec(stat, 1, tv)

    @T.prim_func(s_tir=True)
    def main(
        QT: T.Buffer((n, s), "float32"),
        K: T.Buffer((heads, s, d), "float32"),
        V: T.Buffer((heads, s, d), "float32"),
        mask: T.Buffer((s,) if key_mask else (s, s), "float32"),
        Y: T.Buffer((s * n,), "float32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for p in T.parallel(heads * tiles):
                with T.sblock("attend"):
                    vh = T.axis.spatial(heads, p // tiles)
                    vt = T.axis.spatial(tiles, p % tiles)
                    T.reads(whole_regions(QT, K, V, mask))
                    T.writes(Y[0 : s * n])
                    probs = T.alloc_buffer((s, WIDE_TILE), "float32")
                    acc = T.alloc_buffer((ROWS, WIDE_TILE), "float32")
                    stat = T.alloc_buffer((2, WIDE_TILE), "float32")
                    if wide > 0 and narrow > 0:
                        if vt < wide:
                            attend(
                                QT, K, V, mask, Y, probs, acc, stat, vh, vt * WIDE_TILE, WIDE_TILE
                            )
                        else:
                            attend(
                                QT,
                                K,
                                V,
                                mask,
                                Y,
                                probs,
                                acc,
                                stat,
                                vh,
                                wide_tokens + (vt - wide) * NARROW_TILE,
                                NARROW_TILE,
                            )
                    elif wide > 0:
                        attend(QT, K, V, mask, Y, probs, acc, stat, vh, vt * WIDE_TILE, WIDE_TILE)
                    else:
                        attend(
                            QT, K, V, mask, Y, probs, acc, stat, vh, vt * NARROW_TILE, NARROW_TILE
                        )

    return main


def attention_f32_tiles_ref(
    qt: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray, scale: float
) -> np.ndarray:
    """Float64 reference of the kernel, in its layouts (``mask f32[S]`` or ``maskT f32[S, S]``):
    ``O[S, N]`` (not tiled)."""
    heads, s, d = k.shape
    mask = mask[None, :] if mask.ndim == 1 else mask.T
    out = np.empty((s, heads * d), np.float64)
    for h in range(heads):
        q = qt[h * d : (h + 1) * d].T.astype(np.float64)
        x = q @ k[h].T.astype(np.float64) * scale + mask.astype(np.float64)
        p = np.exp(x - x.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out[:, h * d : (h + 1) * d] = p @ v[h]
    return out.astype(np.float32)
