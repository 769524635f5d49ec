"""FP32 BSR with 4x1 blocks (4 output channels x 1 input channel of ``W[N_out, K_in]``, the
paper's INT8 pattern): FP32 mode runs a 4x1-pruned model sparse, not as 1x16 blocks it lacks.
"""

from __future__ import annotations

import functools

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa.common import bcast, fma, prefetch
from tvm_blocksparse.op.bsr_fp32_1x16 import staged_walk
from tvm_blocksparse.op.epilogue import (
    Epilogue,
    channel_epilogue_lanes,
    drop_unused_params,
    epilogue_inputs,
    store_lanes,
    whole_regions,
)
from tvm_blocksparse.op.token_tiles import (
    NARROW_TILE,
    TILE_LANES,
    WIDE_TILE,
    TokenTiles,
    balanced_visit,
    stage_token_tiles_macro,
    tile_offset,
)

#: Tokens per vector: ymm, the widest register every x86 level from AVX2 up has.
FP32_4X1_LANES = TILE_LANES

#: Lane ``t * 4 + r`` <- channel ``r``, token ``t`` of 4 channel vectors (4 x 8 -> 8 x 4).
_TOKEN_MAJOR = [r * FP32_4X1_LANES + t for t in range(FP32_4X1_LANES) for r in range(4)]


# Parsed once per shape and options (lru_cache), as the INT8 4x1 kernel: layers of one shape and
# block count (a pruned model's layers of one shape have the same), and the projections that
# the FP32 attention fusion re-emits, share the PrimFunc. Bounded: benchmarks build one per weight.
@functools.lru_cache(maxsize=256)
def bsr_dense_fp32_4x1(
    m: int,
    n: int,
    k: int,
    nnzb: int,
    epilogue: Epilogue = Epilogue("float32"),
    tiles_outer: bool = True,
    prefetch_weights: int = 32,
    prefetch_x: int = 16,
    x_tiles: bool = False,
    yt_rows: bool = False,
) -> tvm.tirx.PrimFunc:
    """FP32 BSR, 4x1 blocks (4 output channels x 1 input channel of ``W[N_out, K_in]``), 8-lane
    FMAs over tokens.

    Parameters (those the epilogue does not use are dropped):
      X          ``f32[M, K]`` row-major activations; staged into token tiles ``XS f32[padded *
                 K]`` (:mod:`~tvm_blocksparse.op.token_tiles`: tiles of 24 tokens, then of 16;
                 a block's tile activations are then contiguous). ``x_tiles``: ``X`` arrives as
                 those tiles already (a producer's tiled ``Y``), not staged.
      w_data     ``f32[nnzb, 4]`` (a block's 4 output channels), w_indices ``i32[nnzb]`` (its
                 input channel), w_indptr ``i32[N/4 + 1]`` (block rows): BSR of ``(4, 1)`` blocks.
      bias ``f32[N]``, residual ``f32[M, N]``; Y ``f32[M, N]``, or with
      ``epilogue.transposed_out`` the same token tiles of ``Y``, ``f32[padded * N]``: the next
      4x1 kernel's ``x_tiles`` input; its tokens past ``M`` hold finite values of the padded
      tokens; with ``transposed_out`` and ``yt_rows`` (``M % 16 == 0``) ``Y^T f32[N, M]``, each
      channel's tokens in one row (attention's ``K^T`` at batch 1, by a reshape); with
      ``epilogue.heads_out`` ``H`` head-major ``f32[H, M, N/H]`` (attention's layout).
    Register tile: 4 channels x one token tile, 12 ymm accumulators on a 24-token tile (8 on a
    16-token one); a block is 3 (2) ``XS`` loads, 4 weight broadcasts and 12 (8)
    ``vfmadd231ps``. Bias and GELU (erf form, float32-exact) are applied per channel on token
    vectors; then either each channel's tile tokens are stored as they are (``transposed_out``:
    no transposition, and the consumer stages nothing), or the tile is transposed to
    token-major and each token's 4 channels get the residual and one 16-byte store.
    ``tiles_outer``: parallel tasks walk every block row of a token tile before the next tile
    (its ``XS`` slab stays in cache). ``prefetch_weights`` / ``prefetch_x``: blocks ahead whose
    weights / ``XS`` row each block prefetches (the slab row's address is data-dependent: no
    hardware prefetcher guesses it).
    """
    epilogue.validate(int8_kernel=False, head_major=True)
    if n % 4:
        raise ValueError(f"fp32_4x1 needs N_out % 4 == 0, got {n=}")
    heads = epilogue.heads_out
    if heads and (n % heads or (n // heads) % 4):
        raise ValueError(f"heads_out={heads} needs N_out / heads a multiple of 4, got {n=}")
    lanes = FP32_4X1_LANES
    plan = TokenTiles(m)
    if yt_rows and (not epilogue.transposed_out or plan.padded != m):
        raise ValueError(f"yt_rows needs transposed_out and M % 16 == 0, got {m=}")
    wide, narrow, wide_tokens = plan.wide, plan.narrow, plan.wide_tokens
    one_width = WIDE_TILE if wide else NARROW_TILE  # where every tile has one width
    nb, n_tiles, nz = n // 4, plan.count, max(nnzb, 1)
    ep = epilogue
    stage = stage_token_tiles_macro(m, k)
    x_shape = (plan.padded * k,) if x_tiles else (m, k)
    y_shape = ((n, m) if yt_rows else (plan.padded * n,)) if ep.transposed_out else (m, n)
    if heads:
        y_shape = (heads, m, n // heads)

    tile_block_row, visit_position = staged_walk(nb, n_tiles, tiles_outer)

    def tile_token_tile(p):
        return balanced_visit(plan, visit_position(p))

    def ep_inputs(bias, residual):
        return epilogue_inputs(ep, False, None, None, None, None, bias, residual, None, None)

    def channel_out(acc, r: int, tv: int, vbr, bias):
        """Channel ``r``'s token vector ``tv`` of the tile after bias and GELU."""
        return channel_epilogue_lanes(
            acc[r, T.ramp(tv * lanes, 1, lanes)], vbr * 4 + r, lanes, bias, ep, fast_gelu=False
        )

    def y_index(token, channel):
        """``Y``'s index of ``token``'s 4 channels from ``channel`` (token-major or
        head-major)."""
        if heads:
            d = n // heads
            return channel // d, token, T.ramp(channel % d, 1, 4)
        return token, T.ramp(channel, 1, 4)

    @T.macro
    def store_token_major(Y, acc, tokens, vbr, tok0, width: int, bias, residual):
        """Transpose the tile to token-major; each token's 4 channels: residual, one store."""
        for tv in T.unroll(width // lanes):
            tokens[tv, T.ramp(0, 1, 4 * lanes)] = T.Shuffle(
                [channel_out(acc, r, tv, vbr, bias) for r in range(4)], _TOKEN_MAJOR
            )
        for tv in T.unroll(width // lanes):
            for t in T.unroll(lanes):
                if tok0 + tv * lanes + t < m:
                    Y[y_index(tok0 + tv * lanes + t, vbr * 4)] = store_lanes(
                        tokens[tv, T.ramp(t * 4, 1, 4)],
                        tok0 + tv * lanes + t,
                        vbr * 4,
                        4,
                        residual,
                        None,
                        None,
                        ep,
                        requant=False,
                    )

    @T.macro
    def store_tiles(Y, acc, vbr, tok0, width: int, bias):
        """Each channel's tile tokens as they are: ``width`` floats at ``tok0 * N + channel *
        width`` (``yt_rows``: at ``Y^T[channel, tok0]``)."""
        for r in T.unroll(4):
            for tv in T.unroll(width // lanes):
                if yt_rows:
                    Y[vbr * 4 + r, T.ramp(tok0 + tv * lanes, 1, lanes)] = channel_out(
                        acc, r, tv, vbr, bias
                    )
                else:
                    Y[T.ramp(tile_offset(tok0, vbr * 4 + r, width, n) + tv * lanes, 1, lanes)] = (
                        channel_out(acc, r, tv, vbr, bias)
                    )

    @T.macro
    def walk_tile(
        XS, w_data, w_indices, w_indptr, bias, residual, Y, acc, tokens, vbr, tok0, width: int
    ):
        """Block row ``vbr`` over the tile of ``width`` tokens from token ``tok0``."""
        for r in T.unroll(4):
            for tv in T.unroll(width // lanes):
                acc[r, T.ramp(tv * lanes, 1, lanes)] = bcast(T.float32(0), lanes)
        # an int64 counter: an int32 one costs sign extensions of every address in the loop
        for b in range(T.int64(w_indptr[vbr]), T.int64(w_indptr[vbr + 1])):
            if prefetch_weights > 0:  # past the end: a prefetch never faults
                prefetch(T.address_of(w_data[b + prefetch_weights, 0]))
            if prefetch_x > 0:  # the index is loaded: clamped
                prefetch(
                    T.address_of(
                        XS[tile_offset(tok0, w_indices[T.min(b + prefetch_x, nz - 1)], width, k)]
                    )
                )
            for r in T.unroll(4):
                for tv in T.unroll(width // lanes):
                    acc[r, T.ramp(tv * lanes, 1, lanes)] = fma(
                        bcast(w_data[b, r], lanes),
                        XS[
                            T.ramp(tile_offset(tok0, w_indices[b], width, k) + tv * lanes, 1, lanes)
                        ],
                        acc[r, T.ramp(tv * lanes, 1, lanes)],
                        lanes,
                    )
        if ep.transposed_out:
            store_tiles(Y, acc, vbr, tok0, width, bias)
        else:
            store_token_major(Y, acc, tokens, vbr, tok0, width, bias, residual)

    @T.macro
    def walk(XS, w_data, w_indices, w_indptr, bias, residual, Y):
        for p in T.parallel(nb * n_tiles):
            with T.sblock("tile"):
                vbr = T.axis.spatial(nb, tile_block_row(p))
                vmo = T.axis.spatial(n_tiles, tile_token_tile(p))
                T.reads(whole_regions(XS, w_data, w_indices, w_indptr, *ep_inputs(bias, residual)))
                T.writes(whole_regions(Y))
                acc = T.alloc_buffer((4, WIDE_TILE), "float32")
                tokens = T.alloc_buffer((WIDE_TILE // lanes, 4 * lanes), "float32")
                if wide > 0 and narrow > 0:
                    if vmo < wide:
                        walk_tile(
                            XS,
                            w_data,
                            w_indices,
                            w_indptr,
                            bias,
                            residual,
                            Y,
                            acc,
                            tokens,
                            vbr,
                            vmo * WIDE_TILE,
                            WIDE_TILE,
                        )
                    else:
                        walk_tile(
                            XS,
                            w_data,
                            w_indices,
                            w_indptr,
                            bias,
                            residual,
                            Y,
                            acc,
                            tokens,
                            vbr,
                            wide_tokens + (vmo - wide) * NARROW_TILE,
                            NARROW_TILE,
                        )
                else:  # tiles of one width
                    walk_tile(
                        XS,
                        w_data,
                        w_indices,
                        w_indptr,
                        bias,
                        residual,
                        Y,
                        acc,
                        tokens,
                        vbr,
                        vmo * one_width,
                        one_width,
                    )

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer(x_shape, "float32"),
        w_data: T.Buffer((nz, 4), "float32"),
        w_indices: T.Buffer((nz,), "int32"),
        w_indptr: T.Buffer((nb + 1,), "int32"),
        bias: T.Buffer((n,), "float32"),
        residual: T.Buffer((m, n), "float32"),
        Y: T.Buffer(y_shape, "float32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            with T.sblock("staged"):
                T.reads(whole_regions(X, w_data, w_indices, w_indptr, *ep_inputs(bias, residual)))
                T.writes(whole_regions(Y))
                if x_tiles:
                    walk(X, w_data, w_indices, w_indptr, bias, residual, Y)
                else:
                    XS = T.alloc_buffer((plan.padded * k,), "float32")
                    stage(X, XS)
                    walk(XS, w_data, w_indices, w_indptr, bias, residual, Y)

    return drop_unused_params(main)
