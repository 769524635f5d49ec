"""The token tiles of the FP32 4x1 kernels: 24-token tiles, then 16-token tiles for the rest.

A block of the FP32 4x1 kernel (4 output channels x 1 input channel) multiplies 4 broadcast
weights into one tile's tokens. On a 16-token tile that is 8 ymm accumulators, and a block's 8
FMAs take exactly one FMA latency: any late load stalls every accumulator chain. A 24-token tile
has 12 accumulators (with 3 activation vectors and a broadcast, all 16 ymm registers), so the
chains have slack. Tokens are padded to a multiple of 16, as before, and ``ceil(M / 16)`` units of
16 tokens become ``2 * (units // 3)`` tiles of 24 and ``units % 3`` tiles of 16.

Layout (flat, ``f32[padded * C]`` for ``C`` channels): tile ``i`` starts at token ``start(i)``
and holds ``width(i)`` tokens; channel ``c`` of it is the ``width(i)`` floats at
``start(i) * C + c * width(i)``. Tokens past ``M`` repeat token ``M - 1`` when staged (a
producer's stored tiles hold finite values there).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tvm
from tvm.script import tirx as T

from tvm_blocksparse.op.epilogue import whole_regions

#: Tokens per wide tile: 3 ymm vectors.
WIDE_TILE = 24
#: Tokens per narrow tile (the rest): 2 ymm vectors, one 64-byte line per channel.
NARROW_TILE = 16
#: Tokens per vector (ymm).
TILE_LANES = 8


@dataclasses.dataclass(frozen=True)
class TokenTiles:
    """The tiles of ``m`` tokens (see the module docstring)."""

    m: int

    def __post_init__(self):
        if self.m < 1:
            raise ValueError(f"token tiles need M >= 1, got {self.m}")

    @property
    def padded(self) -> int:
        """Tokens the tiles hold: ``M`` rounded up to a multiple of 16."""
        return NARROW_TILE * self._units

    @property
    def wide(self) -> int:
        """Number of 24-token tiles (they come first)."""
        return 2 * (self._units // 3)

    @property
    def narrow(self) -> int:
        """Number of 16-token tiles (after the wide ones)."""
        return self._units % 3

    @property
    def count(self) -> int:
        return self.wide + self.narrow

    @property
    def wide_tokens(self) -> int:
        """Tokens in the wide tiles: the narrow ones start there."""
        return WIDE_TILE * self.wide

    @property
    def _units(self) -> int:
        return -(-self.m // NARROW_TILE)

    def width(self, i: int) -> int:
        return WIDE_TILE if i < self.wide else NARROW_TILE

    def start(self, i: int) -> int:
        """First token of tile ``i``."""
        if i < self.wide:
            return WIDE_TILE * i
        return self.wide_tokens + NARROW_TILE * (i - self.wide)


def tile_offset(tok0, channel, width: int, channels: int):
    """Flat index of channel ``channel``'s first token in the tile of ``width`` tokens that starts
    at token ``tok0`` (ints or TIR expressions): the layout of the module docstring."""
    return tok0 * channels + channel * width


def balanced_visit(plan: TokenTiles, position):
    """The tile a walk visits at ``position`` (a TIR expression, 0 .. count - 1): the wide tiles
    in two halves with a narrow tile after each, so that the two halves of the visit order hold
    equal tokens (parallel loops split their iterations into equal contiguous chunks: 2 threads
    then get the same work)."""
    half, nw = plan.wide // 2, plan.wide
    if plan.narrow == 0 or plan.wide == 0:
        return position
    first_narrow = T.Select(position == half, nw, position - 1)
    if plan.narrow == 1:  # W .. W N W .. W
        return T.Select(position < half, position, first_narrow)
    # W .. W N W .. W N
    rest = T.Select(position == nw + 1, nw + 1, first_narrow)
    return T.Select(position < half, position, rest)


def to_token_tiles(x: np.ndarray) -> np.ndarray:
    """Numpy twin of the staging: ``x f32[M, C]`` -> ``f32[padded * C]`` (rows past ``M`` repeat
    row ``M - 1``)."""
    m, c = x.shape
    plan = TokenTiles(m)
    rows = np.minimum(np.arange(plan.padded), m - 1)
    out = np.empty(plan.padded * c, x.dtype)
    for i in range(plan.count):
        s, w = plan.start(i), plan.width(i)
        out[s * c : (s + w) * c] = x[rows[s : s + w]].T.reshape(-1)
    return out


def from_token_tiles(tiles: np.ndarray, m: int, c: int) -> np.ndarray:
    """``f32[padded * C]`` tiles of ``m`` tokens -> ``f32[M, C]`` (the padded tokens dropped)."""
    plan = TokenTiles(m)
    out = np.empty((plan.padded, c), tiles.dtype)
    for i in range(plan.count):
        s, w = plan.start(i), plan.width(i)
        out[s : s + w] = tiles[s * c : (s + w) * c].reshape(c, w).T
    return out[:m]


def _transposed_8x8(X, m: int, tok0, col0, j: int, head_dim: int):
    """Column ``col0 + j`` of the 8 x 8 block of ``X f32[M, K]`` at (``tok0``, ``col0``) as one
    8-token vector: a shuffle of the block's 8 row loads (rows past ``M`` clamped). ``head_dim``
    ``D > 0``: ``X`` is attention's output ``f32[1, K / D, M, D]``, whose token ``t`` has
    channel ``h * D + d`` at ``[0, h, t, d]``."""

    def row(i):
        t = T.min(tok0 + i, m - 1)
        if head_dim:
            return X[0, col0 // head_dim, t, T.ramp(col0 % head_dim, 1, TILE_LANES)]
        return X[t, T.ramp(col0, 1, TILE_LANES)]

    rows = [row(i) for i in range(TILE_LANES)]
    return T.Shuffle(rows, [TILE_LANES * i + j for i in range(TILE_LANES)])


def stage_token_tiles_macro(m: int, k: int, head_dim: int = 0):
    """The macro ``stage(X, XS)`` that stages ``X f32[M, K]`` into the flat tiles ``XS f32[padded
    * K]``: each 8 tokens x 8 channels block is transposed by shuffles into 8 token vectors;
    ``K % 8`` columns are gathered one column at a time. ``head_dim`` (``D % 8 == 0``): ``X`` is
    attention's output per head, ``f32[1, K / D, M, D]`` (:func:`_transposed_8x8`). Made anew per
    PrimFunc (macro objects number the blocks of their later calls)."""
    if head_dim and (head_dim % TILE_LANES or k % head_dim):
        raise ValueError(f"staging heads needs D % 8 == 0 and K % D == 0, got {head_dim=}, {k=}")
    plan = TokenTiles(m)
    wide, narrow, wide_tokens = plan.wide, plan.narrow, plan.wide_tokens

    def group_offset(vg, channel, first: int, width: int):
        """Flat index of ``channel`` of 8-token group ``vg`` of the run of ``width``-token tiles
        from token ``first``."""
        per_tile = width // TILE_LANES
        tok0 = first + (vg // per_tile) * width
        return tile_offset(tok0, channel, width, k) + (vg % per_tile) * TILE_LANES

    @T.macro
    def stage_run(X, XS, first: int, tiles: int, width: int):
        """The ``tiles`` tiles of ``width`` tokens from token ``first`` (``tiles * width / 8``
        groups of 8 tokens)."""
        if (k // TILE_LANES) > 0:
            for g in T.parallel(tiles * (width // TILE_LANES) * (k // TILE_LANES)):
                with T.sblock("stage_x"):
                    vg = T.axis.spatial(tiles * (width // TILE_LANES), g // (k // TILE_LANES))
                    vkc = T.axis.spatial(k // TILE_LANES, g % (k // TILE_LANES))
                    T.reads(whole_regions(X))
                    T.writes(XS[first * k : (first + tiles * width) * k])
                    for j in T.unroll(TILE_LANES):
                        XS[
                            T.ramp(
                                group_offset(vg, vkc * TILE_LANES + j, first, width), 1, TILE_LANES
                            )
                        ] = _transposed_8x8(
                            X, m, first + vg * TILE_LANES, vkc * TILE_LANES, j, head_dim
                        )
        if k % TILE_LANES != 0:
            for gg, kk in T.grid(tiles * (width // TILE_LANES), k % TILE_LANES):
                with T.sblock("stage_x_tail"):
                    vg, vk = T.axis.remap("SS", [gg, kk])
                    T.reads(X[0:m, (k // TILE_LANES) * TILE_LANES + vk])
                    T.writes(XS[first * k : (first + tiles * width) * k])
                    X_flat = T.decl_buffer((m * k,), "float32", data=X.data)
                    XS[
                        T.ramp(
                            group_offset(vg, (k // TILE_LANES) * TILE_LANES + vk, first, width),
                            1,
                            TILE_LANES,
                        )
                    ] = X_flat[
                        T.min(
                            T.ramp(first + vg * TILE_LANES, 1, TILE_LANES),
                            T.broadcast(m - 1, TILE_LANES),
                        )
                        * k
                        + (k // TILE_LANES) * TILE_LANES
                        + vk
                    ]

    @T.macro
    def stage(X, XS):
        if wide > 0:
            stage_run(X, XS, 0, wide, WIDE_TILE)
        if narrow > 0:
            stage_run(X, XS, wide_tokens, narrow, NARROW_TILE)

    return stage


@functools.cache
def stage_x_tiles(m: int, k: int, head_dim: int = 0) -> tvm.tirx.PrimFunc:
    """``X f32[M, K]`` -> ``XS f32[padded * K]`` token tiles (:class:`TokenTiles`) as a call of its
    own: the staging several FP32 4x1 kernels on one input (Q, K and V) then share, each reading
    ``XS`` with ``x_tiles``, instead of each staging ``X`` again. ``head_dim`` ``D``: from
    attention's output ``f32[1, K / D, M, D]`` directly (the out-projection's input), not from
    its heads merged into tokens first."""
    size = TokenTiles(m).padded * k
    stage = stage_token_tiles_macro(m, k, head_dim)
    x_shape = (1, k // head_dim, m, head_dim) if head_dim else (m, k)

    @T.prim_func(s_tir=True)
    def main(X: T.Buffer(x_shape, "float32"), XS: T.Buffer((size,), "float32")):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            stage(X, XS)

    return main
