"""FP32 BSR with "1x16" blocks (ITREX's name, in ``[K_in, N_out]`` order: 1 input channel x 16
output channels, i.e. ``(16, 1)`` of ``W[N_out, K_in]``), 16-lane FMAs (zmm; ymm pairs on AVX2).
"""

from __future__ import annotations

import functools

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa.common import prefetch
from tvm_blocksparse.op.epilogue import (
    Epilogue,
    ceil_div,
    drop_unused_params,
    epilogue_inputs,
    out_lane_epilogue,
    store_lanes,
    whole_regions,
)
from tvm_blocksparse.op.out_lane import out_lane_kernel

#: Tokens per tile of the staged FP32 1x16 kernel: one block's 16 activations are then one
#: aligned 64-byte line of the staged ``XS[tile, K, 16]``.
FP32_STAGED_TILE = 16


def _transposed_row(X, m: int, row0, col0, j: int):
    """Column ``col0 + j`` of the 16 x 16 tile of ``X f32[M, K]`` at (``row0``, ``col0``), as one
    16-lane vector: one shuffle of the tile's 16 contiguous row loads (rows past ``M`` clamped)."""
    rows = [X[T.min(row0 + i, m - 1), T.ramp(col0, 1, 16)] for i in range(16)]
    return T.Shuffle(rows, [16 * i + j for i in range(16)])


def stage_x_macro():
    """The macro that stages ``X f32[M, K]`` into ``XS[ceil(M/16), K, 16]`` (each 16-token tile
    transposed: a block's 16 tile activations in one aligned 64-byte line; rows past ``M``
    repeat row ``M - 1``), made anew per PrimFunc (macro objects number the blocks of their
    later calls). ``K % 16`` columns are staged one lane-gather at a time."""

    @T.macro
    def stage_tiles(X, XS, m: int, k: int, n_tiles: int, tile: int):
        if (k // 16) > 0:
            for g in T.parallel(n_tiles * (k // 16)):
                with T.sblock("stage_x"):
                    vmo = T.axis.spatial(n_tiles, g // (k // 16))
                    vkc = T.axis.spatial((k // 16), g % (k // 16))
                    T.reads(X[0:m, vkc * 16 : vkc * 16 + 16])
                    T.writes(XS[vmo, vkc * 16 : vkc * 16 + 16, 0:tile])
                    for j in T.unroll(16):
                        XS[vmo, vkc * 16 + j, T.ramp(0, 1, 16)] = _transposed_row(
                            X, m, vmo * tile, vkc * 16, j
                        )
        if k % 16 != 0:
            for mo, kk in T.grid(n_tiles, k % 16):
                with T.sblock("stage_x_tail"):
                    vmo, vk = T.axis.remap("SS", [mo, kk])
                    T.reads(X[0:m, (k // 16) * 16 + vk])
                    T.writes(XS[vmo, (k // 16) * 16 + vk, 0:tile])
                    X_flat = T.decl_buffer((m * k,), "float32", data=X.data)
                    XS[vmo, (k // 16) * 16 + vk, T.ramp(0, 1, 16)] = X_flat[
                        T.min(T.ramp(vmo * tile, 1, 16), T.broadcast(m - 1, 16)) * k
                        + (k // 16) * 16
                        + vk
                    ]

    return stage_tiles


def staged_walk(nb: int, n_tiles: int, tiles_outer: bool):
    """(block row, token tile) of parallel task ``p`` in the staged FP32 kernels' walk: token
    tiles outermost (a tile's ``XS`` slab stays in cache while the weights stream), or block
    rows outermost."""

    def block_row(p):
        return p % nb if tiles_outer else p // n_tiles

    def token_tile(p):
        return p // nb if tiles_outer else p % n_tiles

    return block_row, token_tile


# Parsed once per shape, block count and options (lru_cache), as the 4x1 kernels. Bounded:
# benchmarks build one per weight.
@functools.lru_cache(maxsize=256)
def bsr_dense_fp32_1x16_staged(
    m: int,
    n: int,
    k: int,
    nnzb: int,
    epilogue: Epilogue = Epilogue("float32"),
    tiles_outer: bool = True,
    prefetch_weights: int = 32,
    prefetch_x: int = 16,
) -> tvm.tirx.PrimFunc:
    """FP32 1x16 BSR (1 input channel x 16 output channels) over a staged copy of the activations.

    ``X f32[M, K]`` is first copied, transposed per 16-token tile, into ``XS[ceil(M/16), K, 16]``
    (a workspace): a block's 16 tile activations are then one aligned 64-byte line, where
    ``X`` spreads them over 16 lines ``4 K`` bytes apart (at K = 1024 or 4096 all in one L1 set).
    The weight arrays and the output are as :func:`bsr_dense_fp32_1x16`. The register tile is 16
    tokens x 16 channels in two 8-token accumulators (each < 1 KiB). ``tiles_outer``: parallel
    tasks walk every block row of a token tile before the next tile (the tile's ``XS`` slab,
    ``64 K`` bytes, stays in cache while the weights stream), else the reverse.

    Up to 3.4x the direct form's speed on large shapes; on tiny ones the copy is not paid back
    (bench/README.md, "Decisions").

    ``prefetch_weights`` / ``prefetch_x``: blocks ahead whose weight line / ``XS`` line each
    block iteration prefetches (0: none). The slab line is a data-dependent address the
    hardware prefetchers cannot guess (bench/README.md, "Decisions")."""
    epilogue.validate(int8_kernel=False)
    if n % 16:
        raise ValueError(f"fp32_1x16 needs N_out % 16 == 0, got {n=}")
    tile = FP32_STAGED_TILE
    half = tile // 2
    nb, n_tiles, nz = n // 16, ceil_div(m, tile), max(nnzb, 1)
    ep = epilogue
    stage_tiles = stage_x_macro()

    tile_block_row, tile_token_tile = staged_walk(nb, n_tiles, tiles_outer)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        w_data: T.Buffer((nz, 16), "float32"),
        w_indices: T.Buffer((nz,), "int32"),
        w_indptr: T.Buffer((nb + 1,), "int32"),
        bias: T.Buffer((n,), "float32"),
        residual: T.Buffer((m, n), "float32"),
        Y: T.Buffer((m, n), "float32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        # XS is allocated in a block under the root: SplitLayoutRewritePreproc wants a block in
        # every statement under the root, and an allocation there is a statement of its own.
        with T.sblock("root"):
            with T.sblock("staged"):
                T.reads(
                    whole_regions(
                        X,
                        w_data,
                        w_indices,
                        w_indptr,
                        *epilogue_inputs(
                            ep, False, None, None, None, None, bias, residual, None, None
                        ),
                    )
                )
                T.writes(whole_regions(Y))
                XS = T.alloc_buffer((n_tiles, k, tile), "float32")
                stage_tiles(X, XS, m, k, n_tiles, tile)
                for p in T.parallel(nb * n_tiles):
                    with T.sblock("tile"):
                        vbr = T.axis.spatial(nb, tile_block_row(p))
                        vmo = T.axis.spatial(n_tiles, tile_token_tile(p))
                        T.reads(
                            whole_regions(
                                XS,
                                w_data,
                                w_indices,
                                w_indptr,
                                *epilogue_inputs(
                                    ep, False, None, None, None, None, bias, residual, None, None
                                ),
                            )
                        )
                        T.writes(whole_regions(Y))
                        acc = T.alloc_buffer((half, 16), "float32")
                        acc_hi = T.alloc_buffer((half, 16), "float32")
                        for t in range(half):
                            with T.sblock("init"):
                                vt = T.axis.remap("S", [t])
                                acc[vt, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                                acc_hi[vt, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                        for b in range(w_indptr[vbr], w_indptr[vbr + 1]):
                            if (
                                prefetch_weights > 0
                            ):  # an address past the end: a prefetch never faults
                                prefetch(T.address_of(w_data[b + prefetch_weights, 0]))
                            if prefetch_x > 0:  # the index is loaded: clamped
                                prefetch(
                                    T.address_of(
                                        XS[vmo, w_indices[T.min(b + prefetch_x, nz - 1)], 0]
                                    )
                                )
                            for t, j in T.grid(half, 16):
                                with T.sblock("dot"):
                                    vb = T.axis.reduce(nz, b)
                                    vt, vj = T.axis.remap("SS", [t, j])
                                    T.reads(acc[vt, vj], XS[vmo, w_indices[vb], vt], w_data[vb, vj])
                                    T.writes(acc[vt, vj])
                                    acc[vt, vj] = (
                                        acc[vt, vj] + XS[vmo, w_indices[vb], vt] * w_data[vb, vj]
                                    )
                            for t, j in T.grid(half, 16):
                                with T.sblock("dot_hi"):
                                    vb = T.axis.reduce(nz, b)
                                    vt, vj = T.axis.remap("SS", [t, j])
                                    T.reads(
                                        acc_hi[vt, vj],
                                        XS[vmo, w_indices[vb], half + vt],
                                        w_data[vb, vj],
                                    )
                                    T.writes(acc_hi[vt, vj])
                                    acc_hi[vt, vj] = (
                                        acc_hi[vt, vj]
                                        + XS[vmo, w_indices[vb], half + vt] * w_data[vb, vj]
                                    )
                        for t in range(tile):
                            with T.sblock("store"):
                                vt = T.axis.remap("S", [t])
                                if vmo * tile + vt < m:
                                    Y[vmo * tile + vt, T.ramp(vbr * 16, 1, 16)] = store_lanes(
                                        out_lane_epilogue(
                                            T.if_then_else(
                                                vt < half,
                                                acc[T.min(vt, half - 1), T.ramp(0, 1, 16)],
                                                acc_hi[T.max(vt - half, 0), T.ramp(0, 1, 16)],
                                            ),
                                            vmo * tile + vt,
                                            vbr * 16,
                                            False,
                                            None,
                                            None,
                                            None,
                                            None,
                                            bias,
                                            ep,
                                        ),
                                        vmo * tile + vt,
                                        vbr * 16,
                                        16,
                                        residual,
                                        None,
                                        None,
                                        ep,
                                        requant=False,
                                    )

    return drop_unused_params(main)


def bsr_dense_fp32_1x16(
    m, n, k, nnzb, epilogue: Epilogue = Epilogue("float32"), token_tile: int = 12
):
    """FP32 BSR with "1x16" blocks (1 input channel x 16 output channels, i.e. ``(16, 1)`` in
    ``W[N_out, K_in]``): ``X f32[M, K]``, ``w_data f32[nnzb, 16]``, ``w_indices i32[nnzb]``
    (input channel), ``w_indptr i32[N/16 + 1]``, optional ``bias f32[N]``, ``residual f32[M, N]``.
    The direct form: a tile's activations are read from ``X`` rows ``4 K`` bytes apart. The
    default build uses :func:`bsr_dense_fp32_1x16_staged` (same arrays); this one stays a tuning
    variant (token tiles 4-15)."""
    return out_lane_kernel(m, n, k, nnzb, epilogue, token_tile, int8=False)
