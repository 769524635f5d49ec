"""The paper's INT8 kernel on AVX-512 VNNI: u8 activations x 4x1-block-sparse s8 weights
(4 output channels x 1 input channel of ``W[N_out, K_in]``), VNNI-grouped 4 blocks at a time.
"""

from __future__ import annotations

import dataclasses
import functools
from types import SimpleNamespace

import numpy as np
import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa import avx512
from tvm_blocksparse.isa.avx512 import LANES
from tvm_blocksparse.isa.common import fconst, prefetch, unpack_pattern
from tvm_blocksparse.op.epilogue import (
    Epilogue,
    ceil_div,
    drop_unused_params,
    epilogue_inputs,
    int8_epilogue_lanes,
    requant_u8_by_inverse,
    store_lanes,
    whole_regions,
)
from tvm_blocksparse.op.quantize import column_qparams, padded_tokens, range_chains_init

#: Groups (16 B of weights + 16 B of row offsets each) the 4x1 kernel prefetches ahead: in a
#: model the weights come from memory, not cache. Past the last group too (a prefetch never
#: faults; clamping the address costs scalar work). Figures: bench/README.md, "Decisions".
WEIGHT_PREFETCH_GROUPS = 32


#: Bytes of ``XT`` (K x token tile) that stay in L1 while a tile visits every block row: below
#: it the 4x1 kernel walks token tiles outermost (``token_chunk=1``). Fitted to a 48 KB L1d
#: (bench/README.md, "Decisions").
XT_TILE_L1_BYTES = 40 * 1024


#: A 64-token tile packs 4 input channels' 64-byte ``XT`` rows with 8 in-lane unpacks (bytes,
#: then words) into 4 VNNI vectors: 2 shuffle uops per 16-token vector, against 3 for a
#: ``vpermt2b`` (2 uops on this core) plus an insert, and every ``XT`` line it loads is used
#: whole. Vector ``j``'s dword lane ``4 L + i`` then holds tile token ``16 L + 4 j + i``; the
#: stores undo that order.
UNPACK_TOKEN_TILE = 64


def default_token_chunk_4x1(m: int, k: int, token_tile: int) -> int | None:
    """``token_chunk`` for the 4x1 kernel: 1 (token tiles outermost) when a tile of ``XT`` fits
    :data:`XT_TILE_L1_BYTES` or the tile is 64 tokens (whole 64-byte lines), else None (block
    rows outermost, all of XT re-read per row)."""
    n_tiles = ceil_div(padded_tokens(m) // 16, token_tile // 16)
    fits = k * token_tile <= XT_TILE_L1_BYTES or token_tile == UNPACK_TOKEN_TILE
    return 1 if n_tiles > 1 and fits else None


def default_token_tile_4x1(m: int) -> int:
    """Token tile for ``M`` tokens: 64 (the unpack pack) when the padded count is a multiple of
    64; else 16, 32 or 48, minimizing ``tiles x (vectors per tile + 0.5)``: a ragged last tile
    recomputes clamped 16-token vectors, and each tile re-reads the weights (~half a vector's
    work, fitted to BERT-Base shapes; bench/README.md, "Decisions")."""
    if padded_tokens(m) % UNPACK_TOKEN_TILE == 0:
        return UNPACK_TOKEN_TILE
    n_vec = padded_tokens(m) // 16
    return 16 * min((3, 2, 1), key=lambda tv: -(-n_vec // tv) * (tv + 0.5))


def xt_row_offsets(cols: np.ndarray, m: int) -> np.ndarray:
    """``w_xt_offsets`` of :func:`bsr_dense_int8_4x1`: input-channel indices times the padded
    token count ``Mp`` (int32; raises if ``K x Mp`` does not fit)."""
    mp = padded_tokens(m)
    cols = np.asarray(cols)
    if cols.size and int(cols.max()) * mp >= 2**31:
        raise ValueError(f"K x Mp = {int(cols.max()) + 1} x {mp} overflows int32 offsets")
    return (cols.astype(np.int64) * mp).astype(np.int32)


def default_row_groups_4x1(n: int, token_chunk: int | None, threads: int) -> int:
    """``row_groups`` for the 4x1 kernel: one block-row group per thread when token tiles are
    outermost (``token_chunk=1``) and the groups come out even, else 1: each thread then streams
    its share of the weights, not all of them."""
    return threads if token_chunk == 1 and threads > 1 and (n // 4) % threads == 0 else 1


def default_rows_per_task_4x1(
    n: int, token_tile: int, epilogue: Epilogue, row_groups: int = 1
) -> int:
    """``rows_per_task`` for the 4x1 kernel: 2 (8 channels per token store) for a 64-token tile
    with a token-major output when the block rows allow it, else 1. A task's 64 token rows of
    ``Y`` lie ``N x 4`` bytes apart, which maps them to a few L1 sets (one set at N = 1024
    float32): written 4 channels at a time, the lines are evicted before the next block row
    fills them. 4 rows gain little more end to end and cost compile time (each row is another
    copy of the group loop; bench/README.md, "Decisions")."""
    stageable = token_tile == UNPACK_TOKEN_TILE and not epilogue.transposed_out
    return 2 if stageable and (n // 4 // row_groups) % 2 == 0 else 1


def line_rows_4x1(epilogue: Epilogue) -> int:
    """Block rows whose epilogue lanes fill 64 bytes per token (``stage_lines``): 16 for u8 lanes
    (4 channels = a dword per row), 4 for 4-byte lanes (with a residual and a u8 output, the
    lanes stay float until the store: a token's store is then 16 bytes)."""
    u8_lanes = epilogue.requant and not epilogue.residual
    return 16 if u8_lanes else 4


def default_stage_lines_4x1(
    n: int, token_tile: int, epilogue: Epilogue, row_groups: int = 1
) -> bool:
    """``stage_lines`` for the 4x1 kernel: on for 64-token tiles with a token-major output that is
    u8 or adds a residual, when the block rows of a row group fill whole lines. Writing a
    token's 4 or 8 channels at a time costs a lane extract per token and row, and the 64 token
    rows of a task alias a few L1 sets; a plain f32 + bias output loses on large shapes
    (bench/README.md, "Decisions")."""
    if token_tile != UNPACK_TOKEN_TILE or epilogue.transposed_out:
        return False
    wanted = epilogue.residual or epilogue.requant
    return bool(wanted) and (n // 4 // row_groups) % line_rows_4x1(epilogue) == 0


#: Block rows per task of a 64-token walk that returns its tokens' ranges
#: (``Epilogue.token_ranges``): each task's 64 running min / max stay in the task while it walks
#: this many block rows, so the ranges it stores are ``1 / RANGE_ROWS`` of ``Y^T``'s size. Fewer
#: rows cost the kernel more, more rows leave fewer tasks (bench/README.md, "Decisions").
RANGE_ROWS = 16


def range_rows_4x1(n: int) -> int:
    """Block rows per task with ``Epilogue.token_ranges``: :data:`RANGE_ROWS`, or the largest
    power of two below it that divides the ``N / 4`` block rows. A function of ``N`` alone, so
    every config of a layer returns the same range parts (a row group must hold whole tasks)."""
    rows, block_rows = RANGE_ROWS, n // 4
    while block_rows % rows:
        rows //= 2
    return rows


def token_range_parts(n: int, token_tile: int) -> int | None:
    """Range parts per token that ``Epilogue.token_ranges`` returns (one per task's block rows,
    :func:`range_rows_4x1`), or None where the walk can't return ranges (not 64-token tiles)."""
    if token_tile != UNPACK_TOKEN_TILE:
        return None
    return n // 4 // range_rows_4x1(n)


def _unpack_vector_lane(token: int) -> tuple[int, int]:
    """Inverse of :func:`unpack_tile_token`: (packed vector, dword lane) of a tile token."""
    return (token % 16) // 4, 4 * (token // 16) + token % 4


def unpack_tile_token(vector: int, lane: int) -> int:
    """Tile token held by dword ``lane`` of packed vector ``vector`` in a 64-token tile."""
    return 16 * (lane // 4) + 4 * vector + lane % 4


@dataclasses.dataclass(frozen=True)
class Shape4x1:
    """One 4x1 kernel's shape and walk, checked (:func:`bsr_dense_int8_4x1` documents the
    arguments): what both builders read."""

    m: int
    n: int
    k: int
    g: object  # the group count: an int, or the symbolic ``num_groups``
    ep: Epilogue
    token_tile: int
    rows_per_task: int
    stage_lines: bool
    mp: int  # padded tokens
    nb: int  # block rows (N / 4)
    n_vec: int  # 16-token vectors
    tv_per_tile: int  # 16-token vectors per token tile
    n_tiles: int
    chunk: int  # token tiles per chunk of the walk
    line_rows: int  # block rows of a staged line
    task_rows: int  # block rows of one parallel task
    upg: int  # task units per row group
    lanes: int = LANES  # tokens per vector: 16 (zmm, AVX-512 VNNI) or 8 (ymm, AVX2 / AVX-VNNI)

    @property
    def tile_dtype(self) -> str:
        """The epilogue lanes' dtype: requantized in 16-token lanes unless a residual (added
        token-major) comes first."""
        return "uint8" if (self.ep.requant and not self.ep.residual) else "float32"

    @property
    def lane_pairs(self) -> bool:
        """Whether the token-major lanes come as in-lane pairs (:func:`_lane_transpose_4x8`): 8
        lanes of 4-byte values, no residual (with a residual the tokens in order measured as fast
        or faster: bench/README.md, "Decisions")."""
        four_bytes = self.tile_dtype == "float32" or not self.ep.dequant
        return self.lanes == 8 and four_bytes and not self.ep.residual

    def slot_element(self, slot):
        """Vector element whose 4 channels a token-major buffer holds in lanes ``4 slot`` ..
        ``4 slot + 3`` (:meth:`token_major_lanes`)."""
        return slot // 2 + 4 * (slot % 2) if self.lane_pairs else slot

    @property
    def token_major(self) -> list[int]:
        """Lane ``t * 4 + r`` of a token-major vector <- channel ``r``, token ``t`` (4 x lanes ->
        lanes x 4)."""
        return [c * self.lanes + t for t in range(self.lanes) for c in range(4)]

    @property
    def range_parts(self) -> int:
        """``Epilogue.token_ranges``: range parts per token (one per task's block rows)."""
        return self.nb // self.task_rows

    @property
    def y_shape(self) -> tuple[int, ...]:
        if self.ep.dynamic_requant:  # the next slab walk's XT in 16-token tiles
            return (self.mp // 16, self.n, 16)
        return (self.n, self.m) if self.ep.transposed_out else (self.m, self.n)

    def tile_block_row(self, p):
        """First block row of parallel task ``p``."""
        upg, n_tiles, chunk = self.upg, self.n_tiles, self.chunk
        return (
            p // (upg * n_tiles) * upg + p % (upg * n_tiles) % (upg * chunk) // chunk
        ) * self.task_rows

    def tile_token_tile(self, p):
        """Token tile of parallel task ``p``."""
        upg, n_tiles, chunk = self.upg, self.n_tiles, self.chunk
        return p % (upg * n_tiles) // (upg * chunk) * chunk + p % (upg * n_tiles) % chunk


#: Register-tile token counts per vector width: 16-lane zmm (64 is the unpack path), 8-lane ymm.
TOKEN_TILES = {16: (16, 32, 48, UNPACK_TOKEN_TILE), 8: (8, 16, 24, 32)}


def _shape_4x1(
    m,
    n,
    k,
    num_groups,
    epilogue,
    token_tile,
    token_chunk,
    row_groups,
    rows_per_task,
    stage_lines,
    lanes=LANES,
) -> Shape4x1:
    epilogue.validate(int8_kernel=True)
    if n % 4:
        raise ValueError(f"4x1 blocks need N_out % 4 == 0, got {n=}")
    if lanes not in TOKEN_TILES:
        raise ValueError(f"{lanes=} must be 16 (zmm) or 8 (ymm)")
    if token_tile not in TOKEN_TILES[lanes]:
        tiles = ", ".join(map(str, TOKEN_TILES[lanes]))
        raise ValueError(f"{token_tile=} must be one of {tiles} with {lanes} lanes")
    unpack64 = lanes == LANES and token_tile == UNPACK_TOKEN_TILE
    mp = padded_tokens(m)
    if unpack64 and mp % UNPACK_TOKEN_TILE:
        raise ValueError(
            f"token_tile=64 needs the padded token count % 64 == 0, got {m=} (Mp={mp})"
        )
    n_vec = mp // lanes
    tv_per_tile = token_tile // lanes
    n_tiles = ceil_div(n_vec, tv_per_tile)
    chunk = n_tiles if token_chunk is None else token_chunk
    if chunk < 1 or n_tiles % chunk:
        raise ValueError(f"token_chunk={token_chunk} must divide the {n_tiles} token tiles")
    nb = n // 4
    if row_groups < 1 or nb % row_groups:
        raise ValueError(f"row_groups={row_groups} must divide the {nb} block rows (N_out / 4)")
    nbg = nb // row_groups
    if rows_per_task not in (1, 2, 4):
        raise ValueError(f"{rows_per_task=} must be 1, 2 or 4")
    if rows_per_task > 1 and (not unpack64 or epilogue.transposed_out or nbg % rows_per_task):
        raise ValueError(
            f"rows_per_task={rows_per_task} needs token_tile=64, a token-major output and "
            f"{rows_per_task} | {nbg} block rows per row group"
        )
    line_rows = line_rows_4x1(epilogue)
    if stage_lines and (
        not unpack64 or epilogue.transposed_out or rows_per_task != 1 or nbg % line_rows
    ):
        raise ValueError(
            f"stage_lines needs token_tile=64, a token-major output, rows_per_task=1 and "
            f"{line_rows} | {nbg} block rows per row group"
        )
    if epilogue.transposed_out and m % 16:
        raise ValueError(f"transposed_out needs M % 16 == 0, got {m=}")
    if epilogue.token_ranges and not unpack64:
        raise ValueError(f"token_ranges needs the 64-token walk (token_tile=64), got {token_tile=}")
    if epilogue.token_ranges and nbg % range_rows_4x1(n):
        raise ValueError(
            f"token_ranges: a row group's {nbg} block rows must hold whole tasks of "
            f"{range_rows_4x1(n)} (range_rows_4x1), got {row_groups=}"
        )
    if stage_lines:
        task_rows = line_rows
    elif epilogue.token_ranges:
        task_rows = range_rows_4x1(n)
    else:
        task_rows = rows_per_task
    g = tvm.tirx.Var("num_groups", "int32") if num_groups is None else max(num_groups, 1)
    return Shape4x1(
        m,
        n,
        k,
        g,
        epilogue,
        token_tile,
        rows_per_task,
        stage_lines,
        mp,
        nb,
        n_vec,
        tv_per_tile,
        n_tiles,
        chunk,
        line_rows,
        task_rows,
        nbg // task_rows,
        lanes,
    )


# Parsed once per shape and options (lru_cache): with ``num_groups=None`` every 4x1 layer of a
# shape shares one PrimFunc, and TVMScript parsing was ~80 % of a model's compile time when each
# layer parsed its own (BERT-Mini: 73 parses). Bounded: benchmarks build one per weight.
@functools.lru_cache(maxsize=256)
def bsr_dense_int8_4x1(
    m: int,
    n: int,
    k: int,
    num_groups: int | None,
    epilogue: Epilogue = Epilogue("int32"),
    token_tile: int = 48,
    token_chunk: int | None = None,
    row_groups: int = 1,
    rows_per_task: int = 1,
    stage_lines: bool = False,
    lanes: int = LANES,
    groups_outer: bool = False,
    slab: bool = False,
    xt_tiles: bool = False,
) -> tvm.tirx.PrimFunc:
    """The paper's INT8 kernel: u8 activations x 4x1-block-sparse s8 weights (VNNI grouped),
    AVX-512 VNNI.

    Parameters, in order (those the epilogue does not use are dropped):
      XT        ``u8[K, Mp]``  activations transposed, ``Mp = padded_tokens(M)``, zero padded
                (see :func:`quantize_transpose_u8`); tokens are contiguous per input channel so
                gathering 4 input channels for 16 tokens is 4 plain 16-byte loads.
      x_scale   ``f32[Mp]``, x_zp ``i32[Mp]``: per-token activation quantization (dequant
                epilogues; entries past ``M`` are never used for a stored token).
      w_data    ``s8[G, 4, 4]``, w_group_ptr ``i32[N/4 + 1]``:
                :class:`tvm_blocksparse.format.VNNIGroupedBSR`; w_xt_offsets ``i32[G, 4]``: its
                ``cols`` times ``Mp``, the element offset of each input channel's ``XT`` row
                (:func:`xt_row_offsets`), so a gather is one load and an add per channel.
                ``G = num_groups``; None makes it a symbolic dimension (``num_groups``), bound
                from ``w_data``'s shape at run time: one PrimFunc for every weight of a shape.
                8-lane walks also take ``w_slab_offsets`` ``i32[G, 4]`` (:func:`walk_offsets`),
                each input channel's byte offset in its 16-token slab (:func:`slab_row_offsets`):
                the ``slab`` walk gathers by it, the others by ``w_xt_offsets``.
      w_scale   ``f32[N]``, w_row_sum ``i32[N]``: per-channel scale and ``sum_k q[n, k]``.
      bias      ``f32[N]``; residual ``f32[M, N]``; out_scale ``f32[1]``, out_zp ``i32[1]``.
      y_scale   ``f32[Mp]``, y_zp ``i32[Mp]``: outputs, ``epilogue.dynamic_requant`` only (the
                slab walk): each token's parameters from its range over the ``N`` outputs.
      y_min     ``f32[P, Mp]``, y_max ``f32[P, Mp]``: outputs, ``epilogue.token_ranges`` only (the
                64-token walk): each token's min / max (with 0) over the ``4 range_rows_4x1(N)``
                channels of range part ``p`` (``P = token_range_parts(N, 64)``).
      Y         ``[M, N]`` of ``epilogue.out_dtype`` (``[N, M]`` with ``transposed_out``, ``[Mp /
                16, N, 16]`` with ``dynamic_requant``).

    Register tile: 4 output channels x ``token_tile`` tokens (``token_tile/16`` zmm per channel).
    ``token_tile`` 64 (needs ``Mp % 64 == 0``) is :func:`_build_unpack64`; 16, 32 and 48
    :func:`_build_permute`.
    ``rows_per_task`` 2 or 4 (64-token tiles, token-major output): a task computes that many
    consecutive block rows and stores all their channels per token at once (see
    :func:`default_rows_per_task_4x1`).
    ``stage_lines`` (64-token tiles, token-major output, ``rows_per_task`` 1): a task loops over
    the :func:`line_rows_4x1` block rows whose outputs fill one 64-byte line per token, stages
    them (4 KiB) and writes each token's line with one store, transposed in registers: no
    per-token lane extracts (see :func:`default_stage_lines_4x1`).
    ``groups_outer`` (8 lanes, ``token_tile`` 16, no chunk, row group, staging): a task is a
    block row and every token, each group visiting every 16-token tile with the accumulators in
    L1 (:func:`_build_groups_outer`).
    ``slab`` (8 lanes, ``token_tile`` 16, token tiles outermost): a task copies its tile's ``XT``
    columns into a contiguous slab (K x 16 or K x 32 bytes) and walks its row group's block
    rows on it (:func:`_build_slab`). ``xt_tiles`` (slab only): ``XT`` comes as ``u8[Mp / 16, K,
    16]``, each 16-token tile's channels contiguous (what a ``dynamic_requant`` producer
    stores), so the copy reads whole lines instead of 16 bytes of each.
    Tile order: ``token_chunk`` token tiles at a time (must divide the tile count; None = all),
    every block row within a chunk: a chunk's ``XT`` columns stay in cache while the weights
    stream, instead of all of ``XT`` being re-read for every block row (large M).
    ``row_groups`` (must divide ``N/4``) splits the block rows into groups walked one after the
    other, each in that tile order: with one group per thread, a thread streams only its
    group's weights (see :func:`default_row_groups_4x1`).
    """
    s = _shape_4x1(
        m,
        n,
        k,
        num_groups,
        epilogue,
        token_tile,
        token_chunk,
        row_groups,
        rows_per_task,
        stage_lines,
        lanes,
    )
    if xt_tiles and not slab:
        raise ValueError("xt_tiles (XT in 16-token tiles) needs the slab walk")
    if epilogue.dynamic_requant and not (slab and row_groups == 1):
        raise ValueError(
            "dynamic_requant needs the slab walk with one row group (a task sees all of its "
            f"tokens' channels), got {slab=}, {row_groups=}"
        )
    if slab:
        if lanes != 8 or token_tile != 16 or token_chunk not in (None, 1) or groups_outer:
            raise ValueError(
                "slab needs lanes=8, token_tile=16, token tiles outermost and no groups_outer, "
                f"got {lanes=}, {token_tile=}, {token_chunk=}, {groups_outer=}"
            )
        return drop_unused_params(_build_slab(s, xt_tiles))
    if groups_outer:
        if lanes != 8 or token_tile != 16 or token_chunk is not None or row_groups != 1:
            raise ValueError(
                "groups_outer needs lanes=8, token_tile=16, token_chunk=None and row_groups=1, "
                f"got {lanes=}, {token_tile=}, {token_chunk=}, {row_groups=}"
            )
        return drop_unused_params(_build_groups_outer(s))
    build = (
        _build_unpack64 if lanes == LANES and token_tile == UNPACK_TOKEN_TILE else _build_permute
    )
    return drop_unused_params(build(s))


# ----------------------------------------------------------------------------- shared macros


def _lane_transpose_4x8(rows):
    """4 channels' 8-lane vectors of 4-byte values -> 32 lanes, slot ``2 j + h`` (lanes ``8 j +
    4 h`` ..) holding element ``j + 4 h`` of the 4 channels: ``unpck{l,h}ps`` of channels 0/1 and
    2/3, ``unpck{l,h}pd`` of those, 8 in-lane shuffles. Each token's 16 bytes are then one
    128-bit half, stored as they are; putting the tokens in order took ~36 shuffles."""
    unpack_ps = ([0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15])
    unpack_pd = ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15])
    pairs = [[T.Shuffle(rows[c : c + 2], unpack_ps[h]) for c in (0, 2)] for h in (0, 1)]
    quads = [T.Shuffle(pairs[h], unpack_pd[d]) for h in (0, 1) for d in (0, 1)]
    return T.Shuffle(quads, list(range(32)))


def _min_of(values):
    """Lane-wise minimum of 4 vectors, a tree of 3 ``vminps``."""
    return T.min(T.min(values[0], values[1]), T.min(values[2], values[3]))


def _max_of(values):
    """Lane-wise maximum of 4 vectors, a tree of 3 ``vmaxps``."""
    return T.max(T.max(values[0], values[1]), T.max(values[2], values[3]))


def _token_major(s: Shape4x1, rows):
    """4 channels' vectors -> token-major lanes (see :meth:`Shape4x1.slot_element`)."""
    return _lane_transpose_4x8(rows) if s.lane_pairs else T.Shuffle(rows, s.token_major)


def _macros() -> SimpleNamespace:
    """The kernel's TVMScript macros, made anew for each PrimFunc: TVM 0.27's macro objects count
    their calls and suffix the blocks of the n-th call with ``_n`` (the schedule finds blocks by
    name), so objects shared between builds would name blocks after every kernel built before.
    Non-hygienic (``T.macro(hygienic=False)``): they name the kernel's parameters (``x_scale``,
    ``w_data``, ``Y`` ...), its buffers and its shape ``s`` as the calling PrimFunc does, instead
    of taking them as arguments, and each other as ``mac.<name>``."""

    @T.macro(hygienic=False)
    def epilogue_lanes(acc, out, n_tv, name, vbr, token_params):
        """Dequant epilogue of block row ``vbr``'s ``acc`` (4 channels x ``n_tv`` vectors) into
        ``out``; ``token_params(buffer, vtv)``: vector ``vtv``'s tokens' entries of a per-token
        parameter buffer (``x_scale``, ``x_zp``)."""
        if s.ep.dequant:
            for r, tv in T.grid(4, n_tv):
                with T.sblock(name):
                    vr, vtv = T.axis.remap("SS", [r, tv])
                    out[vr, T.ramp(vtv * s.lanes, 1, s.lanes)] = int8_epilogue_lanes(
                        acc[vr, T.ramp(vtv * s.lanes, 1, s.lanes)],
                        vbr * 4 + vr,
                        s.lanes,
                        token_params(x_scale, vtv),
                        token_params(x_zp, vtv),
                        w_scale,
                        w_row_sum,
                        bias,
                        out_scale,
                        out_zp,
                        s.ep,
                    )

    @T.macro(hygienic=False)
    def token_major_lanes(acc, out, tokens, n_tv, suffix):
        """4 channels x ``lanes`` tokens -> ``lanes`` tokens x 4 channels per vector; slot ``j``
        (lanes ``4 j`` .. ``4 j + 3``) holds element ``s.slot_element(j)``'s channels."""
        for tv in range(n_tv):
            with T.sblock("transpose" + suffix):
                vtv = T.axis.remap("S", [tv])
                tokens[vtv, T.ramp(0, 1, 4 * s.lanes)] = _token_major(
                    s,
                    [
                        (out if s.ep.dequant else acc)[rr, T.ramp(vtv * s.lanes, 1, s.lanes)]
                        for rr in range(4)
                    ],
                )

    @T.macro(hygienic=False)
    def store_tokens(staged, n_tv, token_of, suffix, channel0):
        """Each token's channels from ``staged`` (token-major 4-channel buffers of consecutive
        block rows) in one store."""
        for tv, t in T.grid(n_tv, s.lanes):
            with T.sblock("store" + suffix):
                vtv, vt = T.axis.remap("SS", [tv, t])
                if token_of(vtv, vt) < s.m:
                    Y[token_of(vtv, vt), T.ramp(channel0, 1, 4 * len(staged))] = store_lanes(
                        T.Shuffle(
                            [b[vtv, T.ramp(vt * 4, 1, 4)] for b in staged],
                            list(range(4 * len(staged))),
                        ),
                        token_of(vtv, vt),
                        channel0,
                        4 * len(staged),
                        residual,
                        out_scale,
                        out_zp,
                        s.ep,
                        requant=s.ep.requant and s.ep.residual,
                    )

    @T.macro(hygienic=False)
    def finish_tile16(acc, out, tokens, vbr, vmo, packed):
        """8 lanes: block row ``vbr``'s 4 channels x 16 tokens of token tile ``vmo`` through the
        epilogue into ``Y`` (channel rows, or each token's 4 channels in one store; with
        ``dynamic_requant`` into the slab walk's float tile, its tokens' range updated). ``packed``:
        ``acc`` holds the slab walk's token order (:func:`_slab_token`; token-major outputs with
        :attr:`Shape4x1.lane_pairs` only), else tokens in order."""
        mac.epilogue_lanes(
            acc,
            out,
            2,
            "epilogue",
            vbr,
            lambda buf, vtv: _tile16_token_params(
                buf, vmo, vtv, packed, row_opaque_zero(w_group_ptr, vbr)
            ),
        )
        if s.ep.dynamic_requant:  # into the task's float tile; the tokens' range so far
            for r, tv in T.grid(4, 2):
                with T.sblock("store_t"):
                    vr, vtv = T.axis.remap("SS", [r, tv])
                    tile_out[vbr * 4 + vr, T.ramp(vtv * 8, 1, 8)] = out[vr, T.ramp(vtv * 8, 1, 8)]
            for tv in range(2):
                with T.sblock("store_range"):
                    vtv = T.axis.remap("S", [tv])
                    lo[0, T.ramp(vtv * 8, 1, 8)] = T.min(
                        lo[0, T.ramp(vtv * 8, 1, 8)],
                        _min_of([out[r, T.ramp(vtv * 8, 1, 8)] for r in range(4)]),
                    )
                    hi[0, T.ramp(vtv * 8, 1, 8)] = T.max(
                        hi[0, T.ramp(vtv * 8, 1, 8)],
                        _max_of([out[r, T.ramp(vtv * 8, 1, 8)] for r in range(4)]),
                    )
        elif s.ep.transposed_out:
            for r, tv in T.grid(4, 2):
                with T.sblock("store_t"):
                    vr, vtv = T.axis.remap("SS", [r, tv])
                    Y[vbr * 4 + vr, T.ramp((vmo * 2 + vtv) * 8, 1, 8)] = out[
                        vr, T.ramp(vtv * 8, 1, 8)
                    ]
        if not s.ep.transposed_out:
            mac.token_major_lanes(acc, out, tokens, 2, "")
            mac.store_tokens(
                [tokens],
                2,
                lambda vtv, vt: vmo * 16 + _tile16_token(vtv, s.slot_element(vt), packed),
                "",
                vbr * 4,
            )

    @T.macro(hygienic=False)
    def prefetch_weights(group, offsets):
        """Group ``group + WEIGHT_PREFETCH_GROUPS``'s weights and its row offsets (``offsets``:
        ``w_xt_offsets``, or the slab walk's ``w_slab_offsets``)."""
        prefetch(T.address_of(w_data[group + WEIGHT_PREFETCH_GROUPS, 0, 0]))
        prefetch(T.address_of(offsets[group + WEIGHT_PREFETCH_GROUPS, 0]))

    @T.macro(hygienic=False)
    def dot_lanes(acc, packed, n_tv, first_vector, name, gi):
        """``acc[r, 16 tv + t] += sum_c packed[first_vector + tv, t, c] * w[group, r, c]`` (the
        block the schedule tensorizes onto ``vpdpbusd``)."""
        for tv, r, t, c in T.grid(n_tv, 4, s.lanes, 4):
            with T.sblock(name):
                vg = T.axis.reduce(s.g, gi)
                vtv, vr, vt, vc = T.axis.remap("SSSR", [tv, r, t, c])
                T.reads(
                    acc[vr, vtv * s.lanes + vt],
                    packed[first_vector + vtv, vt, vc],
                    w_data[vg, vr, vc],
                )
                T.writes(acc[vr, vtv * s.lanes + vt])
                acc[vr, vtv * s.lanes + vt] = acc[vr, vtv * s.lanes + vt] + T.cast(
                    packed[first_vector + vtv, vt, vc], "int32"
                ) * T.cast(w_data[vg, vr, vc], "int32")

    @T.macro(hygienic=False)
    def group_step(gi, sfx, with_prefetch):
        """Group ``gi`` into the accumulators; ``with_prefetch``: its weights' prefetch (one
        64-byte line holds 4 groups' weights or offsets: every other group suffices)."""
        with T.sblock("pack" + sfx):
            vg = T.axis.opaque(s.g, gi)
            T.reads(XT[0 : s.k, 0 : s.mp], w_xt_offsets[vg, 0:4])
            T.writes(packed[0:4, 0 : s.lanes, 0:4])
            if with_prefetch:
                mac.prefetch_weights(vg, w_xt_offsets)
            # expressions, not TVMScript assignments (those become workspace buffers)
            packed.vstore([0, 0, 0], _unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 0))
            packed.vstore([1, 0, 0], _unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 1))
            packed.vstore([2, 0, 0], _unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 2))
            packed.vstore([3, 0, 0], _unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 3))
        mac.dot_lanes(acc, packed, 2, 0, "dot" + sfx, gi)
        mac.dot_lanes(acc_hi, packed, 2, 2, "dot_hi" + sfx, gi)

    @T.macro(hygienic=False)
    def unpack_block_row(row, sfx, tokens, tokens_hi, token_major):
        """Block row ``row`` of the task's 64-token tile: accumulate, epilogue into
        ``out``/``out_hi`` and (``token_major``) 16-token x 4-channel lanes into
        ``tokens``/``tokens_hi``."""
        for r, tv in T.grid(4, 2):
            with T.sblock("init" + sfx):
                vr, vtv = T.axis.remap("SS", [r, tv])
                acc[vr, T.ramp(vtv * s.lanes, 1, s.lanes)] = T.broadcast(T.int32(0), s.lanes)
                acc_hi[vr, T.ramp(vtv * s.lanes, 1, s.lanes)] = T.broadcast(T.int32(0), s.lanes)
        # two groups per iteration (the second guarded): half the loop's scalar work
        for gp in range((w_group_ptr[row + 1] - w_group_ptr[row] + 1) // 2):
            mac.group_step(w_group_ptr[row] + 2 * gp, sfx, True)
            if w_group_ptr[row] + 2 * gp + 1 < w_group_ptr[row + 1]:
                mac.group_step(w_group_ptr[row] + 2 * gp + 1, sfx + "_b", False)
        mac.epilogue_lanes(
            acc, out, 2, "epilogue" + sfx, row, lambda buf, vtv: _packed_tokens(buf, vmo, vtv)
        )
        mac.epilogue_lanes(
            acc_hi,
            out_hi,
            2,
            "epilogue_hi" + sfx,
            row,
            lambda buf, vtv: _packed_tokens(buf, vmo, 2 + vtv),
        )
        if token_major:
            mac.token_major_lanes(acc, out, tokens, 2, sfx)
            mac.token_major_lanes(acc_hi, out_hi, tokens_hi, 2, "_hi" + sfx)

    @T.macro(hygienic=False)
    def stage_row(src, src_hi, row):
        """Block row ``row`` into the staged lines: u8, its token-major vectors (``src`` =
        tokens); else its 4 channels x 64 tokens (``src`` = out or acc, in packed order)."""
        if lanes_dtype == "uint8":
            for tv in range(2):
                with T.sblock("stage"):
                    vtv = T.axis.remap("S", [tv])
                    line[row - vbr, vtv, T.ramp(0, 1, 64)] = src[vtv, T.ramp(0, 1, 64)]
                    line[row - vbr, 2 + vtv, T.ramp(0, 1, 64)] = src_hi[vtv, T.ramp(0, 1, 64)]
        else:
            for c in range(4):
                with T.sblock("stage"):
                    vc = T.axis.remap("S", [c])
                    line[row - vbr, vc, T.ramp(0, 1, 32)] = src[vc, T.ramp(0, 1, 32)]
                    line[row - vbr, vc, T.ramp(32, 1, 32)] = src_hi[vc, T.ramp(0, 1, 32)]

    @T.macro(hygienic=False)
    def store_transposed(row):
        """64-token walk: block row ``row``'s 4 channels x 64 tokens (``out``/``out_hi``, packed
        order) into ``Y^T``, tokens in order."""
        for r in range(4):
            with T.sblock("store_t"):
                vr = T.axis.remap("S", [r])
                Y[row * 4 + vr, T.ramp(vmo * 64, 1, 64)] = T.Shuffle(
                    [out[vr, T.ramp(0, 1, 32)], out_hi[vr, T.ramp(0, 1, 32)]], _NATURAL
                )

    @T.macro(hygienic=False)
    def widen_token_ranges():
        """64-token walk: the task's running min / max of each token (``run_min``/``run_max``,
        packed order) <- those of the block row's 4 channels (``out``/``out_hi``)."""
        for h in T.unroll(2):
            mac.widen_16_tokens(run_min, 0, out, h, T.min, _min_of)
            mac.widen_16_tokens(run_min, 32, out_hi, h, T.min, _min_of)
            mac.widen_16_tokens(run_max, 0, out, h, T.max, _max_of)
            mac.widen_16_tokens(run_max, 32, out_hi, h, T.max, _max_of)

    @T.macro(hygienic=False)
    def widen_16_tokens(run, first, half, h, op, tree):
        """``run``'s lanes ``first + 16 h`` .. <- ``op`` of them and ``tree`` of the 4 channels'
        vectors ``h`` of ``half`` (``out``/``out_hi``)."""
        run[T.ramp(first + h * 16, 1, 16)] = op(
            run[T.ramp(first + h * 16, 1, 16)],
            tree([half[c, T.ramp(h * 16, 1, 16)] for c in range(4)]),
        )

    return SimpleNamespace(
        store_transposed=store_transposed,
        widen_token_ranges=widen_token_ranges,
        widen_16_tokens=widen_16_tokens,
        epilogue_lanes=epilogue_lanes,
        token_major_lanes=token_major_lanes,
        store_tokens=store_tokens,
        finish_tile16=finish_tile16,
        prefetch_weights=prefetch_weights,
        dot_lanes=dot_lanes,
        group_step=group_step,
        unpack_block_row=unpack_block_row,
        stage_row=stage_row,
    )


# ----------------------------------------------------------------------------- 64-token tiles

_BYTE_UNPACK = [unpack_pattern(half, False) for half in (0, 1)]
_WORD_UNPACK = [unpack_pattern(half, True) for half in (0, 1)]
#: A channel's 64 tile tokens in order, from its 4 packed-vector accumulators (vector j, lane).
_NATURAL = [j * LANES + lane for t in range(64) for j, lane in [_unpack_vector_lane(t)]]


def _unpacked_vector(xt_flat, xt_offsets, vg, vmo, j):
    """Packed vector ``j`` of group ``vg``'s 4 input channels in 64-token tile ``vmo``."""
    rows = [xt_flat[T.ramp(xt_offsets[vg, c] + vmo * 64, 1, 64)] for c in range(4)]
    pairs = [T.Shuffle(rows[c : c + 2], _BYTE_UNPACK[j // 2]) for c in (0, 2)]
    return T.Shuffle(pairs, _WORD_UNPACK[j % 2])


def _packed_tokens(buf, vmo, j):
    """Per-token ``buf``'s entries for the lanes of packed vector ``j`` of 64-token tile ``vmo``
    (lane ``t`` <- token ``unpack_tile_token(j, t)``): one shuffle of the tile's 4 natural-order
    vectors."""
    rows = [buf[T.ramp(vmo * 64 + LANES * q, 1, LANES)] for q in range(4)]
    return T.Shuffle(rows, [unpack_tile_token(j, t) for t in range(LANES)])


def _emit_line_stores(
    s: Shape4x1, word_lines: bool, line, vmo, vbr, Y, residual, out_scale, out_zp
):
    """Each of the task's 64 tokens' ``4 line_rows`` channels in one store. Per packed vector
    ``j``: 16 source vectors (u8: a block row's token-major dwords; else a channel's tokens),
    transposed so that output ``t`` holds token ``unpack_tile_token(j, t)``. Emitted statement
    by statement (the transpose's outputs are Python-level)."""
    for j in range(4):
        if word_lines:
            sources = [T.reinterpret("int32x16", line[rr, j, T.ramp(0, 1, 64)]) for rr in range(16)]
        else:
            sources = [
                line[rr, c, T.ramp(LANES * j, 1, LANES)] for rr in range(4) for c in range(4)
            ]
        # bound: the stores to Y in between would make LLVM reload the line and redo the tree
        for t, value in enumerate(avx512.transpose16(sources, T.Bind)):
            token = vmo * 64 + unpack_tile_token(j, t)
            if word_lines:
                value = T.reinterpret("uint8x64", value)
            else:
                value = store_lanes(
                    value,
                    token,
                    vbr * 4,
                    LANES,
                    residual,
                    out_scale,
                    out_zp,
                    s.ep,
                    requant=s.ep.requant and s.ep.residual,
                )
            if s.m % 64:
                with T.If(token < s.m):
                    with T.Then():
                        T.buffer_store(Y, value, [token, T.ramp(vbr * 4, 1, 4 * s.line_rows)])
            else:
                T.buffer_store(Y, value, [token, T.ramp(vbr * 4, 1, 4 * s.line_rows)])


def _build_unpack64(s: Shape4x1) -> tvm.tirx.PrimFunc:
    """64-token tiles: a group's 4 input channels x 64 tokens packed by in-lane unpacks
    (:data:`UNPACK_TOKEN_TILE`), accumulators in two 32-token halves (a 1 KiB buffer would
    leave the stack), ``rows_per_task`` block rows per task or staged output lines; with
    ``token_ranges`` a task walks :func:`range_rows_4x1` block rows, its 64 tokens' running min /
    max in registers, and stores them once."""
    ep = s.ep
    mac = _macros()
    lanes_dtype = s.tile_dtype if ep.dequant else "int32"
    # staged lines: u8 lanes keep 16 block rows' token-major vectors (a dword per token and
    # row), 4-byte lanes 4 block rows' channel-major vectors (a lane per token and channel)
    word_lines = lanes_dtype == "uint8"
    line_shape = (s.line_rows, 4, 64) if s.stage_lines else (1, 1, 1)
    half_tokens = 32
    token_major = not ep.transposed_out  # (Python values here: an assignment in main is a TIR Let)
    ranges = ep.token_ranges

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer((s.k, s.mp), "uint8"),
        x_scale: T.Buffer((s.mp,), "float32"),
        x_zp: T.Buffer((s.mp,), "int32"),
        w_data: T.Buffer((s.g, 4, 4), "int8"),
        w_xt_offsets: T.Buffer((s.g, 4), "int32"),
        w_group_ptr: T.Buffer((s.nb + 1,), "int32"),
        w_scale: T.Buffer((s.n,), "float32"),
        w_row_sum: T.Buffer((s.n,), "int32"),
        bias: T.Buffer((s.n,), "float32"),
        residual: T.Buffer((s.m, s.n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        y_min: T.Buffer((s.range_parts, s.mp), "float32"),
        y_max: T.Buffer((s.range_parts, s.mp), "float32"),
        Y: T.Buffer(s.y_shape, ep.out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(s.nb // s.task_rows * s.n_tiles):
            with T.sblock("tile"):
                vbr = T.axis.spatial(s.nb, s.tile_block_row(p))
                vmo = T.axis.spatial(s.n_tiles, s.tile_token_tile(p))
                T.reads(
                    whole_regions(
                        XT,
                        w_data,
                        w_xt_offsets,
                        w_group_ptr,
                        *epilogue_inputs(
                            ep,
                            True,
                            x_scale,
                            x_zp,
                            w_scale,
                            w_row_sum,
                            bias,
                            residual,
                            out_scale,
                            out_zp,
                        ),
                    )
                )
                T.writes(whole_regions(*([y_min, y_max, Y] if ranges else [Y])))
                acc = T.alloc_buffer((4, half_tokens), "int32")  # packed vectors 0, 1
                acc_hi = T.alloc_buffer((4, half_tokens), "int32")  # packed vectors 2, 3
                packed = T.alloc_buffer((4, LANES, 4), "uint8")  # noqa: F841 (macros use it)
                out = T.alloc_buffer((4, half_tokens), s.tile_dtype)
                out_hi = T.alloc_buffer((4, half_tokens), s.tile_dtype)
                # token-major lanes of up to 4 block rows, each buffer < 1 KiB (see above)
                tokens0 = T.alloc_buffer((2, 64), lanes_dtype)
                tokens0_hi = T.alloc_buffer((2, 64), lanes_dtype)
                tokens1 = T.alloc_buffer((2, 64), lanes_dtype)
                tokens1_hi = T.alloc_buffer((2, 64), lanes_dtype)
                tokens2 = T.alloc_buffer((2, 64), lanes_dtype)
                tokens2_hi = T.alloc_buffer((2, 64), lanes_dtype)
                tokens3 = T.alloc_buffer((2, 64), lanes_dtype)
                tokens3_hi = T.alloc_buffer((2, 64), lanes_dtype)
                # a task's staged output lines (stage_lines: 4 KiB, so a heap workspace)
                line = T.alloc_buffer(line_shape, lanes_dtype)
                # token_ranges: the task's tokens' running min / max, packed order
                run_min = T.alloc_buffer((64,), "float32")
                run_max = T.alloc_buffer((64,), "float32")
                XT_flat = T.decl_buffer((s.k * s.mp,), "uint8", data=XT.data)
                tile_ptr = T.address_of(XT_flat[vmo * 64])
                XT_tile = T.decl_buffer((s.k * s.mp,), "uint8", data=tile_ptr)  # noqa: F841
                if s.stage_lines:
                    for rr in range(s.line_rows):
                        with T.sblock("line_row"):
                            vrow = T.axis.opaque(s.nb, vbr + rr)
                            mac.unpack_block_row(vrow, "", tokens0, tokens0_hi, word_lines)
                            if word_lines:
                                mac.stage_row(tokens0, tokens0_hi, vrow)
                            elif ep.dequant:
                                mac.stage_row(out, out_hi, vrow)
                            else:
                                mac.stage_row(acc, acc_hi, vrow)
                    _emit_line_stores(s, word_lines, line, vmo, vbr, Y, residual, out_scale, out_zp)
                elif ranges:
                    # the ranges start at 0, which every token's range includes
                    for u in T.unroll(4):
                        run_min[T.ramp(u * 16, 1, 16)] = T.broadcast(T.float32(0), 16)
                        run_max[T.ramp(u * 16, 1, 16)] = T.broadcast(T.float32(0), 16)
                    for rr in range(s.task_rows):
                        with T.sblock("range_row"):
                            vrow = T.axis.opaque(s.nb, vbr + rr)
                            mac.unpack_block_row(vrow, "", tokens0, tokens0_hi, False)
                            mac.store_transposed(vrow)
                            mac.widen_token_ranges()
                    with T.sblock("store_range"):
                        y_min[vbr // s.task_rows, T.ramp(vmo * 64, 1, 64)] = T.Shuffle(
                            [run_min[T.ramp(0, 1, 32)], run_min[T.ramp(32, 1, 32)]], _NATURAL
                        )
                        y_max[vbr // s.task_rows, T.ramp(vmo * 64, 1, 64)] = T.Shuffle(
                            [run_max[T.ramp(0, 1, 32)], run_max[T.ramp(32, 1, 32)]], _NATURAL
                        )
                else:
                    mac.unpack_block_row(vbr, "", tokens0, tokens0_hi, token_major)
                    if s.rows_per_task >= 2:
                        mac.unpack_block_row(vbr + 1, "_r1", tokens1, tokens1_hi, token_major)
                    if s.rows_per_task == 4:
                        mac.unpack_block_row(vbr + 2, "_r2", tokens2, tokens2_hi, token_major)
                        mac.unpack_block_row(vbr + 3, "_r3", tokens3, tokens3_hi, token_major)
                    if ep.transposed_out:
                        mac.store_transposed(vbr)
                    if not ep.transposed_out:
                        mac.store_tokens(
                            [tokens0, tokens1, tokens2, tokens3][: s.rows_per_task],
                            2,
                            lambda vtv, vt: vmo * 64 + unpack_tile_token(vtv, vt),
                            "",
                            vbr * 4,
                        )
                        mac.store_tokens(
                            [tokens0_hi, tokens1_hi, tokens2_hi, tokens3_hi][: s.rows_per_task],
                            2,
                            lambda vtv, vt: vmo * 64 + unpack_tile_token(2 + vtv, vt),
                            "_hi",
                            vbr * 4,
                        )

    return main


# ----------------------------------------------------------------------------- 16/32/48-token tiles


_XMM_BYTE_UNPACK = [unpack_pattern(half, False, 16) for half in (0, 1)]
_XMM_WORD_UNPACK = [unpack_pattern(half, True, 16) for half in (0, 1)]


def _xmm_unpack_16_tokens(rows):
    """4 input channels' ``XT`` rows of 16 tokens (``u8x16`` each) -> the 16 tokens' 4 bytes in
    token order (``u8x64``: two ymm of 8 tokens): ``vpunpck{l,h}bw`` of channels 0/1 and 2/3,
    ``vpunpck{l,h}wd`` of those, two 128-bit inserts. 10 shuffle uops and no mask registers,
    where one 4-source shuffle became 14 (``vpermq``, ``vpshufb``, ``vpblendw``) and two mask
    registers the 16 ymm of AVX2 can't spare beside 8 accumulators."""
    pairs = [T.Shuffle(rows[c : c + 2], _XMM_BYTE_UNPACK[h]) for c in (0, 2) for h in (0, 1)]
    quads = [
        T.Shuffle([pairs[h], pairs[2 + h]], _XMM_WORD_UNPACK[w]) for h in (0, 1) for w in (0, 1)
    ]
    return T.Shuffle(quads, list(range(64)))


def _build_permute(s: Shape4x1) -> tvm.tirx.PrimFunc:
    """16, 32 or 48-token tiles: a group's 4 input channels gathered and interleaved into VNNI
    order, token tails clamped: on zmm by one two-source shuffle (``vinserti64x4`` +
    ``vpermt2b``), on ymm 16 tokens at a time by in-lane unpacks
    (:func:`_xmm_unpack_16_tokens`)."""
    ep = s.ep
    mac = _macros()
    tv_per_tile, n_vec = s.tv_per_tile, s.n_vec
    # Two token vectors at once when every tile holds whole pairs (no clamped tail vector):
    # 32-byte rows give 2 loads + 2 vinserti64x4 + 2 vpermt2b per pair instead of 4 + 4 + 2.
    pack_tv = 2 if (tv_per_tile % 2 == 0 and n_vec % tv_per_tile == 0) else 1
    n_pack = tv_per_tile // pack_tv
    # ymm pairs: 16-byte rows -> in-lane unpacks, no shuffle masks (see _xmm_unpack_16_tokens)
    xmm_unpack = s.lanes == 8 and pack_tv == 2

    def _pack_group_rows(rows, interleave):
        """A group's 4 ``XT`` rows -> packed token-major bytes."""
        return _xmm_unpack_16_tokens(rows) if xmm_unpack else T.Shuffle(rows, interleave)

    interleave = [
        c * s.lanes * pack_tv + v * s.lanes + t
        for v in range(pack_tv)
        for t in range(s.lanes)
        for c in range(4)
    ]

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer((s.k, s.mp), "uint8"),
        x_scale: T.Buffer((s.mp,), "float32"),
        x_zp: T.Buffer((s.mp,), "int32"),
        w_data: T.Buffer((s.g, 4, 4), "int8"),
        w_xt_offsets: T.Buffer((s.g, 4), "int32"),
        w_slab_offsets: T.Buffer((s.g, 4), "int32"),
        w_group_ptr: T.Buffer((s.nb + 1,), "int32"),
        w_scale: T.Buffer((s.n,), "float32"),
        w_row_sum: T.Buffer((s.n,), "int32"),
        bias: T.Buffer((s.n,), "float32"),
        residual: T.Buffer((s.m, s.n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        Y: T.Buffer(s.y_shape, ep.out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(s.nb * s.n_tiles):
            with T.sblock("tile"):
                vbr = T.axis.spatial(s.nb, s.tile_block_row(p))
                vmo = T.axis.spatial(s.n_tiles, s.tile_token_tile(p))
                T.reads(
                    whole_regions(
                        XT,
                        w_data,
                        *walk_offsets(s, w_xt_offsets, w_slab_offsets),
                        w_group_ptr,
                        *epilogue_inputs(
                            ep,
                            True,
                            x_scale,
                            x_zp,
                            w_scale,
                            w_row_sum,
                            bias,
                            residual,
                            out_scale,
                            out_zp,
                        ),
                    )
                )
                T.writes(whole_regions(Y))
                acc = T.alloc_buffer((4, s.token_tile), "int32")
                packed = T.alloc_buffer((tv_per_tile, s.lanes, 4), "uint8")
                out = T.alloc_buffer((4, s.token_tile), s.tile_dtype)
                tokens = T.alloc_buffer(
                    (tv_per_tile, 4 * s.lanes), s.tile_dtype if ep.dequant else "int32"
                )
                XT_flat = T.decl_buffer((s.k * s.mp,), "uint8", data=XT.data)  # rows by offset
                # the tile's first token as the base pointer: a gather is then one address add
                tile_ptr = T.address_of(XT_flat[vmo * tv_per_tile * s.lanes])
                XT_tile = T.decl_buffer((s.k * s.mp,), "uint8", data=tile_ptr)
                for r, tv in T.grid(4, tv_per_tile):
                    with T.sblock("init"):
                        vr, vtv = T.axis.remap("SS", [r, tv])
                        acc[vr, T.ramp(vtv * s.lanes, 1, s.lanes)] = T.broadcast(
                            T.int32(0), s.lanes
                        )
                for gi in range(w_group_ptr[vbr], w_group_ptr[vbr + 1]):
                    for pu in range(n_pack):
                        with T.sblock("pack"):
                            vg = T.axis.opaque(s.g, gi)
                            vpu = T.axis.spatial(n_pack, pu)
                            T.reads(XT[0 : s.k, 0 : s.mp], w_xt_offsets[vg, 0:4])
                            T.writes(
                                packed[vpu * pack_tv : vpu * pack_tv + pack_tv, 0 : s.lanes, 0:4]
                            )
                            if vpu == 0:
                                mac.prefetch_weights(vg, w_xt_offsets)
                            # an expression, not a TVMScript assignment (those become
                            # workspace buffers)
                            packed.vstore(
                                [vpu * pack_tv, 0, 0],
                                _pack_group_rows(
                                    [
                                        XT_tile[
                                            T.ramp(
                                                w_xt_offsets[vg, c]
                                                + T.min(
                                                    vpu * pack_tv, n_vec - 1 - vmo * tv_per_tile
                                                )
                                                * s.lanes,
                                                1,
                                                s.lanes * pack_tv,
                                            )
                                        ]
                                        for c in range(4)
                                    ],
                                    interleave,
                                ),
                            )
                    mac.dot_lanes(acc, packed, tv_per_tile, 0, "dot", gi)
                mac.epilogue_lanes(
                    acc,
                    out,
                    tv_per_tile,
                    "epilogue",
                    vbr,
                    # token tails: a vector past the last one repeats it (as its packing does)
                    lambda buf, vtv: buf[
                        T.ramp(T.min(vmo * tv_per_tile + vtv, n_vec - 1) * s.lanes, 1, s.lanes)
                    ],
                )
                if ep.transposed_out:
                    for r, tv in T.grid(4, tv_per_tile):
                        with T.sblock("store_t"):
                            vr, vtv = T.axis.remap("SS", [r, tv])
                            if vmo * tv_per_tile + vtv < n_vec:
                                Y[
                                    vbr * 4 + vr,
                                    T.ramp((vmo * tv_per_tile + vtv) * s.lanes, 1, s.lanes),
                                ] = out[vr, T.ramp(vtv * s.lanes, 1, s.lanes)]
                if not ep.transposed_out:
                    mac.token_major_lanes(acc, out, tokens, tv_per_tile, "")
                    mac.store_tokens(
                        [tokens],
                        tv_per_tile,
                        lambda vtv, vt: (vmo * tv_per_tile + vtv) * s.lanes + s.slot_element(vt),
                        "",
                        vbr * 4,
                    )

    return main


def walk_offsets(s: Shape4x1, xt_offsets, slab_offsets) -> list:
    """The row-offset arrays a walk's ``tile`` block declares it reads: on 8 lanes both
    ``w_xt_offsets`` and ``w_slab_offsets`` (each walk gathers by one), so every 8-lane walk keeps
    the same parameters and a tuned record of another walk runs under the same call
    (:class:`~tvm_blocksparse.relay_passes.ApplyTunedKernels` swaps the PrimFunc, not its
    arguments); on 16 lanes ``w_xt_offsets`` alone."""
    return [xt_offsets, slab_offsets] if s.lanes == 8 else [xt_offsets]


#: Largest slab, ``K x 16`` bytes, the slab walk lays out paired: up to it the paired slab stays
#: in L1 and its half size wins; beyond it (from L2) the split layout's aligned windows win
#: (bench/README.md, "Decisions").
SLAB_PAIRED_MAX_BYTES = 32 * 1024

#: A 32-byte block of the slab, from two ``XT`` rows ``a``, ``b`` of 16 tokens:
#: ``[a t0-7 | b t0-7 | a t8-15 | b t8-15]``.
_SLAB_BLOCK = [*range(8), *range(16, 24), *range(8, 16), *range(24, 32)]


def slab_paired(k: int) -> bool:
    """Whether the slab walk's slab for ``K`` input channels is paired (two channels per 32-byte
    block, ``K x 16`` bytes) rather than split (one per block, ``K x 32`` bytes): while ``K x 16``
    bytes fit :data:`SLAB_PAIRED_MAX_BYTES`."""
    return k * 16 <= SLAB_PAIRED_MAX_BYTES


def slab_row_offsets(cols: np.ndarray, k: int) -> np.ndarray:
    """``w_slab_offsets`` of the slab-staged walk (int32): each input channel's 32-byte window in
    its ``K``-channel slab (:func:`_build_slab`), ``32 c`` split, ``32 (c // 2) + 8 (c % 2)``
    paired (:func:`slab_paired`)."""
    c = np.asarray(cols).astype(np.int64)
    if k * 32 >= 2**31:
        raise ValueError(f"K = {k} overflows int32 slab offsets")
    offsets = c // 2 * 32 + c % 2 * 8 if slab_paired(k) else c * 32
    return offsets.astype(np.int32)


def _slab_window_pack(windows):
    """4 channels' 32-byte slab windows (``u8x32``: tokens 0-7 in bytes 0-7, 8-15 in bytes
    16-23) -> 2 packed vectors of 8 tokens x 4 channels (``u8x64``), by in-lane unpacks alone:
    ``vpunpcklbw`` of channels 0/1 and 2/3, ``vpunpck{l,h}wd`` of those. Vector 0 holds tokens
    0-3 (low 128-bit lane) and 8-11 (high), vector 1 tokens 4-7 and 12-15: 4 shuffle uops where
    16-byte rows took 10 (:func:`_xmm_unpack_16_tokens`: its two ``vinserti128`` cross lanes)."""
    pairs = [T.Shuffle(windows[c : c + 2], unpack_pattern(0, False, 32)) for c in (0, 2)]
    quads = [T.Shuffle(pairs, unpack_pattern(h, True, 32)) for h in (0, 1)]
    return T.Shuffle(quads, list(range(64)))


#: Lanes of the two accumulator vectors of :func:`_slab_window_pack`'s token order, concatenated
#: (tokens 0-3, 8-11, 4-7, 12-15), that give tokens 0-15 in order: one ``vperm2i128`` per vector.
_SLAB_TOKEN_ORDER = [*range(4), *range(8, 12), *range(4, 8), *range(12, 16)]


def _slab_token(vector, element):
    """Tile token of ``element`` of packed vector ``vector`` (:func:`_slab_window_pack`)."""
    return 4 * vector + element % 4 + 8 * (element // 4)


def _tile16_token(vector, element, packed: bool):
    """Tile token of ``element`` of accumulator vector ``vector`` of a 16-token tile: in the
    slab walk's packed order (:func:`_slab_token`), else in order."""
    return _slab_token(vector, element) if packed else 8 * vector + element


def row_opaque_zero(w_group_ptr, vbr):
    """0 (a block row's first group offset is never negative), as an expression of block row
    ``vbr`` that LLVM cannot fold. Added to the index of a load that is the same for every block
    row of a token tile, it keeps the load in that row's epilogue: hoisted out of the row loop,
    the tile's per-token parameters held ymm registers across the 16-register group loop, whose
    ``vpmaddwd`` ones vector then went back to the constant pool every group."""
    return T.min(w_group_ptr[vbr], 0)


def _tile16_token_params(buf, vmo, vector, packed: bool, zero):
    """Entries of a per-token parameter buffer (``x_scale``, ``x_zp``) for accumulator vector
    ``vector`` of token tile ``vmo``, in that vector's token order (:func:`_tile16_token`);
    ``zero``: the block row's :func:`row_opaque_zero`, added to the index."""
    base = vmo * 16 + zero
    if not packed:
        return buf[T.ramp(base + 8 * vector, 1, 8)]
    return T.Shuffle(
        [buf[T.ramp(base + 4 * vector, 1, 4)], buf[T.ramp(base + 8 + 4 * vector, 1, 4)]],
        list(range(8)),
    )


def _xt_tile_row(s: Shape4x1, xt_tiles: bool, channel, tile):
    """Flat offset of ``channel``'s 16 bytes of 16-token ``tile`` in ``XT``: ``u8[K, Mp]``, or
    ``u8[Mp / 16, K, 16]`` (``xt_tiles``)."""
    return (tile * s.k + channel) * 16 if xt_tiles else channel * s.mp + tile * 16


def _build_slab(s: Shape4x1, xt_tiles: bool = False) -> tvm.tirx.PrimFunc:
    """Slab-staged walk (8 lanes, 16-token tiles): a task is one 16-token tile and a row group;
    it copies the tile's ``XT`` columns into a contiguous slab, then walks its block rows, every
    group gathering its 4 channels' windows from the slab. Why: a 16-byte slice of ``XT[K, Mp]``
    is a quarter of a cache line, so the tile's rows spread over K lines (K x 64 bytes, more
    than L1 from K = 768) and the gathers missed (bench/README.md, "Decisions").

    Slab layout: channel ``c``'s window is the 32 bytes at ``w_slab_offsets`` (
    :func:`slab_row_offsets`), its tokens 0-7 in bytes 0-7 and 8-15 in bytes 16-23, so one
    ``vpunpcklbw`` interleaves two channels for 8 tokens per 128-bit lane
    (:func:`_slab_window_pack`). Paired (:func:`slab_paired`): channels ``2j``, ``2j+1`` share
    block ``j`` (:data:`_SLAB_BLOCK`), K x 16 bytes, and an odd channel's window reaches 8 bytes
    into the next block (32 bytes of padding at the end); split: block ``c`` holds channel ``c``
    twice, K x 32 bytes. The packed token order (0-3, 8-11 | 4-7, 12-15) is undone once per
    block row before the epilogue for transposed or residual outputs; otherwise it goes through
    to the stores (:attr:`Shape4x1.lane_pairs`: the per-token parameters are loaded in that
    order, and each token's 16 bytes are stored from where the lane transpose leaves them).

    ``dynamic_requant`` (one row group): the epilogue's float tile of every block row goes to a
    task buffer ``[N, 16]`` (L2-sized, not ``Y``) while each token's min and max over the
    channels accumulate; then the task's 16 tokens' parameters (``y_scale``, ``y_zp``, the float32
    steps of :func:`~tvm_blocksparse.op.quantize.dynamic_qparams_columns`) and ``Y^T`` in u8 (those
    of :func:`~tvm_blocksparse.op.quantize.quantize_u8_columns`), in 16-token tiles: the same bits
    as those two passes over a float ``Y^T``, without its 4 bytes per value written to memory and
    read twice."""
    ep = s.ep
    mac = _macros()
    rg = s.nb // s.upg  # row groups
    per_block = 2 if slab_paired(s.k) else 1  # channels per 32-byte slab block
    n_blocks = ceil_div(s.k, per_block)
    dynamic = ep.dynamic_requant
    xt_shape = (s.mp // 16, s.k, 16) if xt_tiles else (s.k, s.mp)

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer(xt_shape, "uint8"),
        x_scale: T.Buffer((s.mp,), "float32"),
        x_zp: T.Buffer((s.mp,), "int32"),
        w_data: T.Buffer((s.g, 4, 4), "int8"),
        w_xt_offsets: T.Buffer((s.g, 4), "int32"),
        w_slab_offsets: T.Buffer((s.g, 4), "int32"),
        w_group_ptr: T.Buffer((s.nb + 1,), "int32"),
        w_scale: T.Buffer((s.n,), "float32"),
        w_row_sum: T.Buffer((s.n,), "int32"),
        bias: T.Buffer((s.n,), "float32"),
        residual: T.Buffer((s.m, s.n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        y_scale: T.Buffer((s.mp,), "float32"),
        y_zp: T.Buffer((s.mp,), "int32"),
        Y: T.Buffer(s.y_shape, ep.out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(s.n_tiles * rg):
            with T.sblock("tile"):
                vmo = T.axis.spatial(s.n_tiles, p // rg)
                vrg = T.axis.spatial(rg, p % rg)
                T.reads(
                    whole_regions(
                        XT,
                        w_data,
                        *walk_offsets(s, w_xt_offsets, w_slab_offsets),
                        w_group_ptr,
                        *epilogue_inputs(
                            ep,
                            True,
                            x_scale,
                            x_zp,
                            w_scale,
                            w_row_sum,
                            bias,
                            residual,
                            out_scale,
                            out_zp,
                        ),
                    )
                )
                T.writes(whole_regions(*([y_scale, y_zp, Y] if dynamic else [Y])))
                slab = T.alloc_buffer((n_blocks * 32 + 32,), "uint8")
                acc = T.alloc_buffer((4, 16), "int32")
                ordered = T.alloc_buffer((4, 16), "int32")
                packed = T.alloc_buffer((2, 8, 4), "uint8")
                out = T.alloc_buffer((4, 16), s.tile_dtype)
                tokens = T.alloc_buffer((2, 32), s.tile_dtype if ep.dequant else "int32")
                # dynamic_requant: the float tile, its tokens' min / max (chain 0 takes them all;
                # chains 1-3 stay 0, which every range includes), 1 / y_scale
                tile_out = T.alloc_buffer((s.n if dynamic else 1, 16), "float32")
                lo = T.alloc_buffer((4, 16), "float32")
                hi = T.alloc_buffer((4, 16), "float32")
                inv = T.alloc_buffer((16,), "float32")
                if dynamic:
                    range_chains_init(lo, hi)
                XT_flat = T.decl_buffer((s.k * s.mp,), "uint8", data=XT.data)
                for j in range(n_blocks):
                    with T.sblock("copy"):
                        vj = T.axis.spatial(n_blocks, j)
                        T.reads(XT_flat[0 : s.k * s.mp])
                        T.writes(slab[vj * 32 : vj * 32 + 32])
                        slab[T.ramp(vj * 32, 1, 32)] = T.Shuffle(
                            [
                                XT_flat[
                                    T.ramp(_xt_tile_row(s, xt_tiles, vj * per_block, vmo), 1, 16)
                                ],
                                XT_flat[
                                    T.ramp(
                                        _xt_tile_row(
                                            s,
                                            xt_tiles,
                                            T.min(vj * per_block + per_block - 1, s.k - 1),
                                            vmo,
                                        ),
                                        1,
                                        16,
                                    )
                                ],
                            ],
                            _SLAB_BLOCK,
                        )
                for br in T.serial(s.upg, annotations={KEEP_LOOP: 1}):
                    with T.sblock("row"):
                        vbr = T.axis.spatial(s.nb, vrg * s.upg + br)
                        for r, tv in T.grid(4, 2):
                            with T.sblock("init"):
                                vr, vtv = T.axis.remap("SS", [r, tv])
                                acc[vr, T.ramp(vtv * 8, 1, 8)] = T.broadcast(T.int32(0), 8)
                        for gi in range(w_group_ptr[vbr], w_group_ptr[vbr + 1]):
                            with T.sblock("pack"):
                                vg = T.axis.opaque(s.g, gi)
                                T.reads(slab[0 : n_blocks * 32 + 32], w_slab_offsets[vg, 0:4])
                                T.writes(packed[0:2, 0:8, 0:4])
                                mac.prefetch_weights(vg, w_slab_offsets)
                                packed.vstore(
                                    [0, 0, 0],
                                    _slab_window_pack(
                                        [
                                            slab[T.ramp(w_slab_offsets[vg, c], 1, 32)]
                                            for c in range(4)
                                        ]
                                    ),
                                )
                            mac.dot_lanes(acc, packed, 2, 0, "dot", gi)
                        if s.lane_pairs and not ep.transposed_out:
                            # packed order to the end: each token's 16 bytes are stored from
                            # wherever the lane transpose leaves them
                            mac.finish_tile16(acc, out, tokens, vbr, vmo, True)
                        else:
                            for r in T.unroll(4):
                                with T.sblock("token_order"):
                                    vr = T.axis.remap("S", [r])
                                    ordered[vr, T.ramp(0, 1, 16)] = T.Shuffle(
                                        [acc[vr, T.ramp(0, 1, 8)], acc[vr, T.ramp(8, 1, 8)]],
                                        _SLAB_TOKEN_ORDER,
                                    )
                            mac.finish_tile16(ordered, out, tokens, vbr, vmo, False)
                if dynamic:
                    with T.sblock("token_qparams"):
                        column_qparams(lo, hi, vmo * 16, y_scale, y_zp)
                        inv[T.ramp(0, 1, 16)] = fconst(1.0, 16) / y_scale[T.ramp(vmo * 16, 1, 16)]
                    for c in T.serial(s.n, annotations={KEEP_LOOP: 1}):
                        with T.sblock("requant_t"):
                            vc = T.axis.spatial(s.n, c)
                            Y[vmo, vc, T.ramp(0, 1, 16)] = requant_u8_by_inverse(
                                tile_out[vc, T.ramp(0, 1, 16)],
                                inv[T.ramp(0, 1, 16)],
                                y_zp[T.ramp(vmo * 16, 1, 16)],
                                16,
                                zmm=False,
                            )

    return main


#: Loop annotation: the schedule keeps this loop a loop (``_unroll_inner`` skips it): the token
#: tiles of a groups-outer task, whose count grows with the tokens.
KEEP_LOOP = "tvm_blocksparse.keep_loop"


def _build_groups_outer(s: Shape4x1) -> tvm.tirx.PrimFunc:
    """Groups outermost (8 lanes, 16-token packs): a task is one block row and all ``Mp`` tokens;
    each group visits every 16-token tile, its 4 weight dwords broadcast once, and adds into the
    block row's accumulators, ``i32[Mp / 16, 4, 16]`` in L1. Why: walking every group per tile
    (accumulators in registers) gathers 4 random ``XT`` lines per 256 multiply-adds, and those
    gathers missed L1 (K x 64 bytes of lines per tile); here a group's 4 rows are read whole, line
    after line, and the accumulators' loads and stores always hit (bench/README.md,
    "Decisions")."""
    ep = s.ep
    mac = _macros()
    n_tiles = s.mp // 16

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer((s.k, s.mp), "uint8"),
        x_scale: T.Buffer((s.mp,), "float32"),
        x_zp: T.Buffer((s.mp,), "int32"),
        w_data: T.Buffer((s.g, 4, 4), "int8"),
        w_xt_offsets: T.Buffer((s.g, 4), "int32"),
        w_slab_offsets: T.Buffer((s.g, 4), "int32"),
        w_group_ptr: T.Buffer((s.nb + 1,), "int32"),
        w_scale: T.Buffer((s.n,), "float32"),
        w_row_sum: T.Buffer((s.n,), "int32"),
        bias: T.Buffer((s.n,), "float32"),
        residual: T.Buffer((s.m, s.n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        Y: T.Buffer(s.y_shape, ep.out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(s.nb):
            with T.sblock("tile"):
                vbr = T.axis.spatial(s.nb, p)
                T.reads(
                    whole_regions(
                        XT,
                        w_data,
                        *walk_offsets(s, w_xt_offsets, w_slab_offsets),
                        w_group_ptr,
                        *epilogue_inputs(
                            ep,
                            True,
                            x_scale,
                            x_zp,
                            w_scale,
                            w_row_sum,
                            bias,
                            residual,
                            out_scale,
                            out_zp,
                        ),
                    )
                )
                T.writes(whole_regions(Y))
                row_acc = T.alloc_buffer((n_tiles, 4, 16), "int32")
                acc = T.alloc_buffer((4, 16), "int32")
                packed = T.alloc_buffer((2, 8, 4), "uint8")
                out = T.alloc_buffer((4, 16), s.tile_dtype)
                tokens = T.alloc_buffer((2, 32), s.tile_dtype if ep.dequant else "int32")
                XT_flat = T.decl_buffer((s.k * s.mp,), "uint8", data=XT.data)  # rows by offset
                for t in T.serial(n_tiles, annotations={KEEP_LOOP: 1}):
                    for r, tv in T.grid(4, 2):
                        with T.sblock("init"):
                            vt, vr, vtv = T.axis.remap("SSS", [t, r, tv])
                            row_acc[vt, vr, T.ramp(vtv * 8, 1, 8)] = T.broadcast(T.int32(0), 8)
                for gi in range(w_group_ptr[vbr], w_group_ptr[vbr + 1]):
                    with T.sblock("prefetch"):
                        vg = T.axis.opaque(s.g, gi)
                        T.reads(w_data[vg, 0, 0], w_xt_offsets[vg, 0])
                        T.writes()
                        mac.prefetch_weights(vg, w_xt_offsets)
                    for t in T.serial(n_tiles, annotations={KEEP_LOOP: 1}):
                        with T.sblock("pack"):
                            vg = T.axis.opaque(s.g, gi)
                            vt = T.axis.spatial(n_tiles, t)
                            T.reads(XT[0 : s.k, 0 : s.mp], w_xt_offsets[vg, 0:4])
                            T.writes(packed[0:2, 0:8, 0:4])
                            packed.vstore(
                                [0, 0, 0],
                                _xmm_unpack_16_tokens(
                                    [
                                        XT_flat[T.ramp(w_xt_offsets[vg, c] + vt * 16, 1, 16)]
                                        for c in range(4)
                                    ]
                                ),
                            )
                        for tv, r, lane, c in T.grid(2, 4, 8, 4):
                            with T.sblock("dot"):
                                vg = T.axis.reduce(s.g, gi)
                                vt = T.axis.spatial(n_tiles, t)
                                vtv, vr, vl, vc = T.axis.remap("SSSR", [tv, r, lane, c])
                                T.reads(
                                    row_acc[vt, vr, vtv * 8 + vl],
                                    packed[vtv, vl, vc],
                                    w_data[vg, vr, vc],
                                )
                                T.writes(row_acc[vt, vr, vtv * 8 + vl])
                                row_acc[vt, vr, vtv * 8 + vl] = row_acc[
                                    vt, vr, vtv * 8 + vl
                                ] + T.cast(packed[vtv, vl, vc], "int32") * T.cast(
                                    w_data[vg, vr, vc], "int32"
                                )
                for t in T.serial(n_tiles, annotations={KEEP_LOOP: 1}):
                    with T.sblock("tile_out"):
                        vmo = T.axis.spatial(n_tiles, t)
                        for r, tv in T.grid(4, 2):
                            with T.sblock("stage_acc"):
                                vr, vtv = T.axis.remap("SS", [r, tv])
                                acc[vr, T.ramp(vtv * 8, 1, 8)] = row_acc[
                                    vmo, vr, T.ramp(vtv * 8, 1, 8)
                                ]
                        mac.finish_tile16(acc, out, tokens, vbr, vmo, False)

    return main
