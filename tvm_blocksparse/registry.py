"""The kernel registry: one :class:`KernelSpec` per (Linear kernel kind, ISA level).

A spec says everything the rest of the project needs to use a kernel: the block it takes (4 x 1
= 4 output channels x 1 input channel of ``W[N_out, K_in]``), its dtypes and activation layout,
the level it needs, how a weight is prepared for it, its PrimFunc builder and schedule, the
frozen config dataclass of its knobs with the default for a shape, and the variants tuning may
try. ``linear`` (kernel-level API), the sparsify pass, tuning and the API look kernels up here;
nothing else dispatches on kind names. A new (kernel, ISA) pair is new ``op``/``schedules``
files plus a :func:`register` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from tvm_blocksparse import format as fmt
from tvm_blocksparse.isa import (
    AMX_INT8,
    AVX2,
    AVX512_VNNI,
    AVX_VNNI,
    LEVELS,
    IsaLevel,
    isa_level,
    target_has,
)
from tvm_blocksparse.op import amx_dense, bsr_fp32_1x16, bsr_fp32_4x1, bsr_int8_4x1, out_lane
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.quantize import padded_tokens
from tvm_blocksparse.op.token_tiles import WIDE_TILE
from tvm_blocksparse.schedules import (
    schedule_bsr_dense_fp32_1x16,
    schedule_bsr_dense_fp32_4x1,
    schedule_bsr_dense_int8_4x1,
    schedule_bsr_dense_int8_4x1_avx2,
    schedule_bsr_dense_int8_4x1_avx_vnni,
    schedule_dense_int8_amx,
    schedule_out_lane_kernel,
)

# ----------------------------------------------------------------------------- configs


@dataclasses.dataclass(frozen=True)
class Bsr4x1Config:
    """Knobs of the INT8 4x1 kernel (see
    :func:`tvm_blocksparse.op.bsr_int8_4x1.bsr_dense_int8_4x1`):
    register-tile tokens, token tiles per chunk of the walk (None: block rows outermost), block-row
    groups, block rows per task, staged output lines; 8 lanes: groups outermost, or the
    slab-staged walk."""

    token_tile: int
    token_chunk: int | None = None
    row_groups: int = 1
    rows_per_task: int = 1
    stage_lines: bool = False
    groups_outer: bool = False
    slab: bool = False
    xt_tiles: bool = False  # XT in 16-token tiles (the slab walk; a dynamic_requant producer's)

    @property
    def tag(self) -> str:
        return (
            f"tt{self.token_tile}"
            + ("" if self.token_chunk is None else f"_chunk{self.token_chunk}")
            + ("_groups_outer" if self.groups_outer else "")
            + ("_slab" if self.slab else "")
            + ("_xt_tiles" if self.xt_tiles else "")
        )


@dataclasses.dataclass(frozen=True)
class OutLaneConfig:
    """Knob of the output-lane kernels (INT8 16x4, dense INT8): register-tile tokens (1-15)."""

    token_tile: int = 12

    @property
    def tag(self) -> str:
        return f"tt{self.token_tile}"


@dataclasses.dataclass(frozen=True)
class AmxDenseConfig:
    """Knobs of the AMX dense INT8 kernel: a task's A tiles (``rows`` x 16 tokens) and B tiles
    (``cols`` x 16 output channels); ``rows x cols`` accumulator tiles, 8 tile registers in all."""

    rows: int = 2
    cols: int = 2

    @property
    def tag(self) -> str:
        return f"tt{16 * self.rows}_nt{16 * self.cols}"


@dataclasses.dataclass(frozen=True)
class Fp32Bsr4x1Config:
    """Knobs of the FP32 4x1 kernel: ``tiles_outer`` (token tiles outermost in the walk) and
    ``prefetch`` (its ``XS`` line prefetch at the kernel's default distance; off: none, see
    :func:`fp32_4x1_prefetch`; the weights are prefetched either way: in a model they come cold
    from memory). ``x_tiles``: ``X`` arrives in token tiles ``f32[padded * K]``
    (:mod:`~tvm_blocksparse.op.token_tiles`, a producer's ``transposed_out``), not staged: a
    layout, set by ``ProducerTiles``, not a tuning knob; nor is ``yt_rows`` (``Y^T[N, M]``
    instead of tiles, for attention's ``K^T``)."""

    tiles_outer: bool = True
    prefetch: bool = True
    x_tiles: bool = False
    yt_rows: bool = False

    @property
    def tag(self) -> str:
        return (
            f"tt{WIDE_TILE}"
            + ("_chunk1" if self.tiles_outer else "")
            + ("" if self.prefetch else "_nopf")
            + ("_xtiles" if self.x_tiles else "")
            + ("_ytrows" if self.yt_rows else "")
        )


@dataclasses.dataclass(frozen=True)
class Fp32Bsr1x16Config:
    """Knobs of the FP32 1x16 kernel: ``token_tile`` 16 is the staged kernel (``tiles_outer``:
    token tiles outermost), 1-15 the direct one."""

    token_tile: int = bsr_fp32_1x16.FP32_STAGED_TILE
    tiles_outer: bool = True

    @property
    def staged(self) -> bool:
        return self.token_tile == bsr_fp32_1x16.FP32_STAGED_TILE

    @property
    def tag(self) -> str:
        return f"tt{self.token_tile}" + ("_chunk1" if self.staged and self.tiles_outer else "")


# ----------------------------------------------------------------------------- the spec


@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """One Linear kernel at one ISA level.

    kind:            stable name (layer reports, tuning databases).
    isa:             the level the kernel's code needs.
    block:           the ``(out, in)`` block of ``W[N_out, K_in]`` it skips zeros of (None: dense).
    int8:            u8 activations x s8 weights (dequantizing epilogues) vs float32.
    activation:      the parameter the activations arrive in: ``"XT"`` (``u8[K, Mp]``, transposed)
                     or ``"X"`` (``[M, K]`` row-major).
    token_tiles:     register-tile token counts it can be built with (tuning tries each).
    symbolic_blocks: its block count can be a symbolic dimension (one PrimFunc per layer shape).
    stores_transposed: it can store ``Y^T[N, M]`` (``Epilogue.transposed_out``): attention's
                     ``K^T`` and the next 4x1 kernel's ``XT`` at no cost.
    dynamic_requant: it can also requantize that ``Y^T`` with per-token parameters from its own
                     range (``Epilogue.dynamic_requant``, its default config for one): the next
                     4x1 kernel's ``XT`` under dynamic quantization without a float ``Y^T``.
    token_range_parts: where it can also return its tokens' ranges with a float ``Y^T``
                     (``Epilogue.token_ranges``): ``(N_out, config)`` -> the range parts per
                     token that config returns, None where it can't; the next 4x1 kernel's
                     per-token parameters without a range pass over ``Y^T``.
    quantize:        INT8 kinds: a float ``W[N_out, K_in]`` -> the s8 weight the kernel runs
                     exactly (per output channel; the 4x1 layouts split outlier channels' largest
                     weights over repeated slots; on AVX2 a range per layer that its paired
                     layout keeps within ``vpmaddubsw``'s s16 sums).
    """

    kind: str
    isa: IsaLevel
    block: str | None
    int8: bool
    activation: str
    token_tiles: tuple[int, ...]
    symbolic_blocks: bool
    weight_arrays: Callable[[np.ndarray, int], dict[str, np.ndarray]]
    block_count: Callable[[dict[str, np.ndarray]], int]
    can_take: Callable[[int, int], str | None]
    default_config: Callable[..., object]
    tuning_variants: Callable[[int, int, int, Epilogue], list]
    builder: Callable[..., object]
    schedule: Callable[..., object]
    stores_transposed: bool = False
    dynamic_requant: bool = False
    token_range_parts: Callable[[int, object], int | None] | None = None
    quantize: Callable[[np.ndarray], fmt.WeightQuant] = fmt.quantize_weight_per_channel

    @property
    def key(self) -> str:
        """``kind/level``: names this spec among the levels of its kind."""
        return f"{self.kind}/{self.isa.name}"

    def build(
        self, m: int, n: int, k: int, blocks: int | None, epilogue: Epilogue, config
    ) -> object:
        """The unscheduled PrimFunc for ``W[N_out, K_in]`` stored in ``blocks`` blocks (None: a
        symbolic count, where :attr:`symbolic_blocks`)."""
        if blocks is None and not self.symbolic_blocks:
            raise ValueError(f"kernel {self.kind} needs its block count (it takes no symbolic one)")
        return self.builder(m, n, k, blocks, epilogue, config)

    def shared_blocks(self, arrays: dict[str, np.ndarray]) -> int | None:
        """Block count a model's kernel is built for: None (symbolic) where the kernel allows it,
        so the layers of one shape and epilogue share one PrimFunc; else the stored count."""
        return None if self.symbolic_blocks else self.block_count(arrays)

    def quantized_weight(self, weight: np.ndarray) -> fmt.WeightQuant:
        """INT8 kinds: ``W[N_out, K_in]`` as the kernel takes it, an int8 ``W`` as given (scale
        1), a float one by :attr:`quantize` (per output channel)."""
        if weight.dtype == np.int8:
            return fmt.WeightQuant(
                weight, np.ones(weight.shape[0], np.float32), weight.sum(axis=1, dtype=np.int32)
            )
        return self.quantize(weight)

    def prepare_weight(self, weight: np.ndarray | fmt.WeightQuant, m: int) -> dict[str, np.ndarray]:
        """The kernel's weight arrays for ``W[N_out, K_in]`` and ``M`` tokens. INT8 kinds take an
        int8 ``W`` (already quantized, scale 1), a float one (:meth:`quantized_weight`) or the
        :class:`~tvm_blocksparse.format.WeightQuant` that gave."""
        if not self.int8:
            return self.weight_arrays(np.asarray(weight, np.float32), m)
        wq = weight if isinstance(weight, fmt.WeightQuant) else self.quantized_weight(weight)
        return self.weight_arrays(wq, m)


# ----------------------------------------------------------------------------- weight layouts


def _nonempty(bsr: fmt.BSRWeight) -> tuple[np.ndarray, np.ndarray]:
    """(data, indices), with one zero block when there is none (buffers can't be empty)."""
    if bsr.nnzb == 0:
        return np.zeros((1, *bsr.block), bsr.data.dtype), np.zeros(1, np.int32)
    return bsr.data, bsr.indices


def _int8_4x1_arrays(
    wq: fmt.WeightQuant,
    m: int,
    keep_zero_blocks: bool = False,
    slab_offsets: bool = False,
    pair_bound: int | None = None,
) -> dict[str, np.ndarray]:
    """``slab_offsets``: also ``w_slab_offsets`` (the 8-lane kernel's slab walk); ``pair_bound``:
    input channels paired for ``vpmaddubsw`` (:func:`~tvm_blocksparse.format.pair_columns`)."""
    grouped = fmt.to_vnni_grouped_4x1(wq.q, keep_zero_blocks, pair_bound, wq.qmax)
    data, cols = grouped.data, grouped.cols
    if grouped.num_groups == 0:  # an all-zero weight still needs non-empty buffers
        data, cols = np.zeros((1, 4, 4), np.int8), np.zeros((1, 4), np.int32)
    arrays = {
        "w_data": data,
        "w_xt_offsets": bsr_int8_4x1.xt_row_offsets(cols, m),
        "w_group_ptr": grouped.group_ptr,
        "w_scale": wq.scale,
        "w_row_sum": wq.row_sum,
    }
    if slab_offsets:
        arrays["w_slab_offsets"] = bsr_int8_4x1.slab_row_offsets(cols, wq.q.shape[1])
    return arrays


def _int8_4x1_ymm_arrays(wq: fmt.WeightQuant, m: int) -> dict[str, np.ndarray]:
    return _int8_4x1_arrays(wq, m, slab_offsets=True)


def _int8_4x1_ymm_paired_arrays(wq: fmt.WeightQuant, m: int) -> dict[str, np.ndarray]:
    return _int8_4x1_arrays(wq, m, slab_offsets=True, pair_bound=fmt.PAIR_SUM_BOUND)


def _split_outliers(weight: np.ndarray) -> fmt.WeightQuant:
    """The 4x1 kernels' weights: per output channel at 127, outlier channels split over repeated
    slots (:func:`~tvm_blocksparse.format.outlier_split_scale`)."""
    return fmt.quantize_weight_per_channel(weight, 127, split_outliers=True)


def _int8_16x4_arrays(wq: fmt.WeightQuant, _m: int) -> dict[str, np.ndarray]:
    if wq.q.dtype != np.int8:
        raise ValueError("16x4 blocks take int8 weights (no split channels)")
    bsr = fmt.to_bsr(wq.q, (16, 4))
    data, indices = _nonempty(bsr)
    return {
        "w_data": data,
        "w_indices": indices,
        "w_indptr": bsr.indptr,
        "w_scale": wq.scale,
        "w_row_sum": wq.row_sum,
    }


def _int8_dense_arrays(wq: fmt.WeightQuant, _m: int) -> dict[str, np.ndarray]:
    n, k = wq.q.shape
    packed = fmt.pack_dense_vnni(wq.q)
    return {
        "w_data": packed.reshape(-1, 16, 4),
        "w_indices": np.tile(np.arange(k // 4, dtype=np.int32), n // 16),
        "w_indptr": (np.arange(n // 16 + 1) * (k // 4)).astype(np.int32),
        "w_scale": wq.scale,
        "w_row_sum": wq.row_sum,
    }


def _fp32_4x1_arrays(weight: np.ndarray, _m: int) -> dict[str, np.ndarray]:
    bsr = fmt.to_bsr(weight, "4x1")
    data, indices = _nonempty(bsr)
    return {"w_data": data[:, :, 0], "w_indices": indices, "w_indptr": bsr.indptr}


def _fp32_1x16_arrays(weight: np.ndarray, _m: int) -> dict[str, np.ndarray]:
    bsr = fmt.to_bsr(weight, "1x16")
    data, indices = _nonempty(bsr)
    return {"w_data": data[:, :, 0], "w_indices": indices, "w_indptr": bsr.indptr}


# ----------------------------------------------------------------------------- INT8 4x1


def _default_4x1(
    m: int,
    n: int,
    k: int,
    epilogue: Epilogue,
    threads: int = 1,
    token_tile: int | None = None,
    token_chunk: int | str | None = "default",
) -> Bsr4x1Config:
    """The compile default: token tile for ``M``; with token tiles outermost (the chunk default)
    one block-row group per thread; staged lines or 2 block rows per task where they pay. An
    explicit ``token_chunk`` (a tuning variant) keeps one row group."""
    tile = token_tile or bsr_int8_4x1.default_token_tile_4x1(m)
    row_groups = 1
    if token_chunk == "default":
        token_chunk = bsr_int8_4x1.default_token_chunk_4x1(m, k, tile)
        row_groups = bsr_int8_4x1.default_row_groups_4x1(n, token_chunk, threads)
        if epilogue.token_ranges and (n // 4 // row_groups) % bsr_int8_4x1.range_rows_4x1(n):
            row_groups = 1  # a row group must hold whole range tasks
    stage = bsr_int8_4x1.default_stage_lines_4x1(n, tile, epilogue, row_groups)
    rows = 1 if stage else bsr_int8_4x1.default_rows_per_task_4x1(n, tile, epilogue, row_groups)
    return Bsr4x1Config(tile, token_chunk, row_groups, rows, stage)


def _variants_4x1(m: int, n: int, k: int, epilogue: Epilogue) -> list[Bsr4x1Config]:
    tile = bsr_int8_4x1.default_token_tile_4x1(m)
    out = [
        _default_4x1(
            m,
            n,
            k,
            epilogue,
            token_tile=tile,
            token_chunk=bsr_int8_4x1.default_token_chunk_4x1(m, k, tile),
        )
    ]
    # ranges come from the 64-token walk only
    tiles = (bsr_int8_4x1.UNPACK_TOKEN_TILE,) if epilogue.token_ranges else INT8_4X1.token_tiles
    for tile in tiles:
        for chunk in (None, 1):
            out.append(_default_4x1(m, n, k, epilogue, token_tile=tile, token_chunk=chunk))
    return out


def _build_4x1(m, n, k, blocks, epilogue, c: Bsr4x1Config):
    return bsr_int8_4x1.bsr_dense_int8_4x1(
        m,
        n,
        k,
        blocks,
        epilogue,
        c.token_tile,
        c.token_chunk,
        c.row_groups,
        c.rows_per_task,
        c.stage_lines,
    )


INT8_4X1 = KernelSpec(
    kind="int8_4x1",
    isa=AVX512_VNNI,
    block="4x1",
    int8=True,
    activation="XT",
    token_tiles=(16, 32, 48, 64),
    symbolic_blocks=True,
    weight_arrays=_int8_4x1_arrays,
    block_count=lambda arrays: int(arrays["w_xt_offsets"].shape[0]),
    can_take=lambda n, k: (
        None
        if n % 4 == 0 and k % 4 == 0
        else f"4x1 INT8 needs N_out % 4 == 0 and K_in % 4 == 0 (N_out={n}, K_in={k})"
    ),
    default_config=_default_4x1,
    tuning_variants=_variants_4x1,
    builder=_build_4x1,
    schedule=schedule_bsr_dense_int8_4x1,
    stores_transposed=True,
    token_range_parts=lambda n, c: bsr_int8_4x1.token_range_parts(n, c.token_tile),
    quantize=_split_outliers,
)


# ----------------------------------------------------------------------------- output-lane INT8


def _out_lane_can_take(n: int, k: int) -> str | None:
    return (
        None
        if n % 16 == 0 and k % 4 == 0
        else f"needs N_out % 16 == 0 and K_in % 4 == 0 (N_out={n}, K_in={k})"
    )


def _out_lane_variants(spec_tiles):
    return lambda m, n, k, epilogue: [OutLaneConfig(12)] + [OutLaneConfig(t) for t in spec_tiles]


INT8_16X4 = KernelSpec(
    kind="int8_16x4",
    isa=AVX512_VNNI,
    block="16x4",
    int8=True,
    activation="X",
    token_tiles=(4, 8, 12, 15),
    symbolic_blocks=False,
    weight_arrays=_int8_16x4_arrays,
    block_count=lambda arrays: int(arrays["w_indices"].shape[0]),
    can_take=_out_lane_can_take,
    default_config=lambda m, n, k, epilogue, threads=1, token_tile=None: OutLaneConfig(
        token_tile or 12
    ),
    tuning_variants=_out_lane_variants((4, 8, 12, 15)),
    builder=lambda m, n, k, blocks, ep, c: out_lane.bsr_dense_int8_16x4(
        m, n, k, blocks, ep, c.token_tile
    ),
    schedule=schedule_out_lane_kernel,
)

INT8_DENSE = dataclasses.replace(
    INT8_16X4,
    kind="int8_dense",
    block=None,
    weight_arrays=_int8_dense_arrays,
    builder=lambda m, n, k, blocks, ep, c: out_lane.dense_int8(m, n, k, ep, c.token_tile),
)


def _amx_dense_config(m, n, k, epilogue, threads=1, token_tile=None) -> AmxDenseConfig:
    """2 x 2 tiles (32 tokens x 32 channels: two tile loads per ``tdpbusd``) where the shape
    allows; ``token_tile`` (16 or 32) imposes the tokens."""
    rows = (token_tile or 32) // 16
    if rows not in (1, 2):
        raise ValueError(f"{token_tile=} must be 16 or 32 for the AMX dense kernel")
    return AmxDenseConfig(rows, 2 if n % 32 == 0 else 1)


def _amx_dense_variants(m: int, n: int, k: int, epilogue: Epilogue) -> list[AmxDenseConfig]:
    default = _amx_dense_config(m, n, k, epilogue)
    return [default] + [
        AmxDenseConfig(r, c)
        for r in (1, 2)
        for c in (1, 2)
        if n % (16 * c) == 0 and AmxDenseConfig(r, c) != default
    ]


#: Dense INT8 on AMX tiles (Sapphire Rapids and later): the VNNI dense kernel's layout and
#: weights, 16 x 16 x 64 multiply-adds per ``tdpbusd``; its ``vpdpbusd`` path runs where Linux
#: refuses the tile state. The per-layer cost model gives it the layers whose 4x1 kernel it beats.
INT8_DENSE_AMX = dataclasses.replace(
    INT8_DENSE,
    isa=AMX_INT8,
    token_tiles=(16, 32),
    default_config=_amx_dense_config,
    tuning_variants=_amx_dense_variants,
    builder=lambda m, n, k, blocks, ep, c: amx_dense.dense_int8_amx(m, n, k, ep, c.rows, c.cols),
    schedule=schedule_dense_int8_amx,
)


# ----------------------------------------------------------------------------- FP32 1x16


def _fp32_variants(m: int, n: int, k: int, epilogue: Epilogue) -> list[Fp32Bsr1x16Config]:
    staged = bsr_fp32_1x16.FP32_STAGED_TILE
    out = [Fp32Bsr1x16Config(staged, True)]
    for tile in FP32_1X16.token_tiles:
        out += [Fp32Bsr1x16Config(tile, False)] + (
            [Fp32Bsr1x16Config(tile, True)] if tile == staged else []
        )
    return out


def _build_fp32(m, n, k, blocks, epilogue, c: Fp32Bsr1x16Config):
    if c.staged:
        return bsr_fp32_1x16.bsr_dense_fp32_1x16_staged(
            m, n, k, blocks, epilogue, tiles_outer=c.tiles_outer
        )
    return bsr_fp32_1x16.bsr_dense_fp32_1x16(m, n, k, blocks, epilogue, c.token_tile)


#: 16-lane FP32 code in plain LLVM vectors: zmm on AVX-512, ymm pairs on AVX2 (the lowest level).
FP32_1X16 = KernelSpec(
    kind="fp32_1x16",
    isa=AVX2,
    block="1x16",
    int8=False,
    activation="X",
    token_tiles=(4, 8, 12, 15, bsr_fp32_1x16.FP32_STAGED_TILE),
    symbolic_blocks=False,
    weight_arrays=_fp32_1x16_arrays,
    block_count=lambda arrays: int(arrays["w_indices"].shape[0]),
    can_take=lambda n, k: None if n % 16 == 0 else f"fp32_1x16 needs N_out % 16 == 0 (N_out={n})",
    default_config=lambda m, n, k, epilogue, threads=1, token_tile=None: Fp32Bsr1x16Config(
        token_tile or bsr_fp32_1x16.FP32_STAGED_TILE, True
    ),
    tuning_variants=_fp32_variants,
    builder=_build_fp32,
    schedule=schedule_bsr_dense_fp32_1x16,
)


#: LLVM CPU names on which the FP32 4x1 kernel runs faster without its ``XS`` line prefetch (it
#: keeps the weights'): Zen 4 and Zen 5, where BERT-Base FP32 ran faster without it; Zen 1 ran
#: slower (bench/README.md, "Decisions"). Other CPUs are not measured and keep it; the tuning
#: space has both.
FP32_4X1_NO_PREFETCH_CPUS = frozenset({"znver4", "znver5"})


def fp32_4x1_prefetch(target=None) -> bool:
    """Whether the FP32 4x1 kernel prefetches on ``target``'s CPU (None: the enclosing target's,
    else this CPU's): not on :data:`FP32_4X1_NO_PREFETCH_CPUS`."""
    from tvm_blocksparse.target import target_llvm_cpu

    return target_llvm_cpu(target) not in FP32_4X1_NO_PREFETCH_CPUS


#: FP32 4x1 blocks (4 output channels x 1 input channel), 8-lane FMAs over tokens (ymm: every
#: level from AVX2 up): FP32 mode runs a 4x1-pruned model sparse.
FP32_4X1 = KernelSpec(
    kind="fp32_4x1",
    isa=AVX2,
    block="4x1",
    int8=False,
    activation="X",
    token_tiles=(WIDE_TILE,),
    symbolic_blocks=False,
    weight_arrays=_fp32_4x1_arrays,
    block_count=lambda arrays: int(arrays["w_indices"].shape[0]),
    can_take=lambda n, k: None if n % 4 == 0 else f"fp32_4x1 needs N_out % 4 == 0 (N_out={n})",
    default_config=lambda m, n, k, epilogue, threads=1, token_tile=None: Fp32Bsr4x1Config(
        True, fp32_4x1_prefetch()
    ),
    tuning_variants=lambda m, n, k, epilogue: [
        Fp32Bsr4x1Config(outer, pf) for outer in (True, False) for pf in (True, False)
    ],
    builder=lambda m, n, k, blocks, ep, c: bsr_fp32_4x1.bsr_dense_fp32_4x1(
        m,
        n,
        k,
        blocks,
        ep,
        tiles_outer=c.tiles_outer,
        x_tiles=c.x_tiles,
        yt_rows=c.yt_rows,
        **({} if c.prefetch else {"prefetch_x": 0}),
    ),
    schedule=schedule_bsr_dense_fp32_4x1,
)


# ----------------------------------------------------------------------------- 8-lane 4x1 (ymm)

#: Register-tile tokens of the 8-lane 4x1 kernel (block rows outermost): 16, two ymm
#: accumulators per channel, on cores whose vector units are 256 bits wide; 8 on cores that split
#: every ymm operation into two 128-bit halves (:data:`HALF_WIDTH_YMM_CPUS`). Measured on
#: BERT-Base's three shapes: on a Zen 4 (AVX2 code) 16 beat 8 and 32; on a Zen 1, 8 beat 16
#: (before the 16-token pack became unpacks; bench/README.md, "Decisions").
YMM_TOKEN_TILE = 16
YMM_TOKEN_TILE_HALF_WIDTH = 8
#: LLVM CPU names of AVX2 cores with 128-bit vector units (AMD Zen and Zen+).
HALF_WIDTH_YMM_CPUS = frozenset({"znver1"})


def ymm_token_tile(target=None) -> int:
    """:data:`YMM_TOKEN_TILE` for ``target``'s CPU (None: the enclosing target's, else this
    CPU's)."""
    from tvm_blocksparse.target import target_llvm_cpu

    half = target_llvm_cpu(target) in HALF_WIDTH_YMM_CPUS
    return YMM_TOKEN_TILE_HALF_WIDTH if half else YMM_TOKEN_TILE


def _default_4x1_ymm(
    m: int,
    n: int,
    k: int,
    epilogue: Epilogue,
    threads: int = 1,
    token_tile: int | None = None,
    token_chunk: int | str | None = "default",
) -> Bsr4x1Config:
    """:func:`ymm_token_tile` tokens (the enclosing target's CPU). 16-token tiles without a
    chunk imposed: the slab-staged walk (token tiles outermost, each task's ``XT`` columns copied
    into a contiguous slab; one row group per thread only when the tiles don't
    split evenly between the threads, since each row group copies the slab again); measured on a
    Zen 4 (AVX2 code) it beat block rows outermost and groups outermost on BERT-Base's shapes and
    epilogues at 128-512 tokens but two (bench/README.md, "Decisions"). Otherwise block rows
    outermost (the token tiles of a block row reuse its weights from L1)."""
    tile = token_tile or ymm_token_tile()
    if epilogue.dynamic_requant:  # a task must see all of its tokens' channels: one row group
        if tile != 16:
            raise ValueError(f"dynamic_requant needs 16-token tiles (the slab walk), got {tile}")
        return Bsr4x1Config(16, 1, 1, slab=True)
    if tile == 16 and token_chunk == "default":
        uneven = (padded_tokens(m) // 16) % threads != 0
        row_groups = bsr_int8_4x1.default_row_groups_4x1(n, 1, threads) if uneven else 1
        return Bsr4x1Config(16, 1, row_groups, slab=True)
    chunk = None if token_chunk == "default" else token_chunk
    return Bsr4x1Config(tile, chunk)


def _variants_4x1_ymm(m: int, n: int, k: int, epilogue: Epilogue) -> list[Bsr4x1Config]:
    if epilogue.dynamic_requant:  # the slab walk only
        return [_default_4x1_ymm(m, n, k, epilogue)]
    out = [_default_4x1_ymm(m, n, k, epilogue)]
    for tile in bsr_int8_4x1.TOKEN_TILES[8]:
        for chunk in (None, 1):
            out.append(Bsr4x1Config(tile, chunk))
    out.append(Bsr4x1Config(16, None, groups_outer=True))
    out.append(Bsr4x1Config(16, 1, slab=True))
    return list(dict.fromkeys(out))  # the default once


def _build_4x1_ymm(m, n, k, blocks, epilogue, c: Bsr4x1Config):
    return bsr_int8_4x1.bsr_dense_int8_4x1(
        m,
        n,
        k,
        blocks,
        epilogue,
        c.token_tile,
        c.token_chunk,
        c.row_groups,
        1,
        False,
        lanes=8,
        groups_outer=c.groups_outer,
        slab=c.slab,
        xt_tiles=c.xt_tiles,
    )


#: The paper's 4x1 kernel on ymm for AVX2 (no VNNI): 8 tokens per ``vpmaddubsw`` + ``vpmaddwd``
#: + ``vpaddd`` step. ``vpmaddubsw`` adds two u8 x s8 products into a saturating s16, so each
#: group pairs its input channels with ``|w_a| + |w_b| <= 128`` in every row (255 x 128 <=
#: 32767; :func:`~tvm_blocksparse.format.pair_columns`, a zero partner where none fits) and the
#: activations keep the full u8 range: exact, bit for bit, on any u8 input. Each layer's weights
#: take the finest per-channel range whose pairs add under 1 % of zero partners
#: (:func:`~tvm_blocksparse.format.quantize_weight_pair_bounded`, 127 down to 64); one 7-bit
#: range for all (oneDNN's choice without VNNI) lost the most accuracy on the real
#: all-MiniLM-L6-v2 (bench/README.md, "8-bit weights on AVX2").
INT8_4X1_AVX2 = dataclasses.replace(
    INT8_4X1,
    isa=AVX2,
    token_tiles=bsr_int8_4x1.TOKEN_TILES[8],
    default_config=_default_4x1_ymm,
    tuning_variants=_variants_4x1_ymm,
    builder=_build_4x1_ymm,
    schedule=schedule_bsr_dense_int8_4x1_avx2,
    weight_arrays=_int8_4x1_ymm_paired_arrays,
    dynamic_requant=True,
    token_range_parts=None,  # (requantizes in the kernel instead)
    quantize=fmt.quantize_weight_pair_bounded,
)

#: The same on AVX-VNNI (Alder Lake and later clients): one VEX ``vpdpbusd`` per step, exact on
#: full-range s8 weights in any order.
INT8_4X1_AVX_VNNI = dataclasses.replace(
    INT8_4X1_AVX2,
    isa=AVX_VNNI,
    schedule=schedule_bsr_dense_int8_4x1_avx_vnni,
    weight_arrays=_int8_4x1_ymm_arrays,
    quantize=_split_outliers,
)


#: Dense INT8 on ymm: the 8-lane 4x1 kernel over a fully dense block pattern (every group
#: present), so layers below the sparsity threshold stay INT8.
def _int8_4x1_every_block_arrays(wq: fmt.WeightQuant, m: int) -> dict[str, np.ndarray]:
    return _int8_4x1_arrays(wq, m, keep_zero_blocks=True, slab_offsets=True)


def _int8_4x1_every_block_paired_arrays(wq: fmt.WeightQuant, m: int) -> dict[str, np.ndarray]:
    return _int8_4x1_arrays(
        wq, m, keep_zero_blocks=True, slab_offsets=True, pair_bound=fmt.PAIR_SUM_BOUND
    )


def _quantize_7bit(weight: np.ndarray) -> fmt.WeightQuant:
    return fmt.quantize_weight_per_channel(weight, fmt.PAIR_SUM_BOUND // 2, split_outliers=True)


# Dense INT8 below AVX-512: the 4x1 kernel over every block of W, zero or not. On AVX2 float
# weights take 7 bits (any two fit, nothing to pair; outlier channels split in 7-bit parts):
# choosing a finer range costs the pairing's search over every block row's K columns (~1 s for
# one 768x3072 layer); int8 weights given as such are paired like the sparse kernel's.
INT8_DENSE_AVX2 = dataclasses.replace(
    INT8_4X1_AVX2,
    kind="int8_dense",
    block=None,
    weight_arrays=_int8_4x1_every_block_paired_arrays,
    quantize=_quantize_7bit,
)
INT8_DENSE_AVX_VNNI = dataclasses.replace(
    INT8_4X1_AVX_VNNI, kind="int8_dense", block=None, weight_arrays=_int8_4x1_every_block_arrays
)


# ----------------------------------------------------------------------------- the registry

_REGISTRY: dict[tuple[str, str], KernelSpec] = {}


def register(spec: KernelSpec) -> KernelSpec:
    """Add ``spec`` (a new kind, or an existing kind at another ISA level)."""
    key = (spec.kind, spec.isa.name)
    if key in _REGISTRY:
        raise ValueError(f"kernel {spec.kind} at {spec.isa.name} is already registered")
    _REGISTRY[key] = spec
    return spec


for _spec in (
    INT8_4X1,
    INT8_16X4,
    INT8_DENSE,
    FP32_1X16,
    FP32_4X1,
    INT8_4X1_AVX2,
    INT8_4X1_AVX_VNNI,
    INT8_DENSE_AVX2,
    INT8_DENSE_AVX_VNNI,
    INT8_DENSE_AMX,
):
    register(_spec)


def kinds() -> list[str]:
    return sorted({kind for kind, _ in _REGISTRY})


def specs() -> list[KernelSpec]:
    return list(_REGISTRY.values())


def lookup(kind: str, target=None) -> KernelSpec:
    """The spec of ``kind`` for ``target`` (the best level the target has; None: the enclosing
    ``with Target(...)``, else the highest level registered). ``ValueError`` for an unknown
    kind, ``RuntimeError`` when the target has no level the kind is registered at."""
    import tvm

    found = [s for (k, _), s in _REGISTRY.items() if k == kind]
    if not found:
        raise ValueError(f"unknown kernel {kind=}; choose one of {kinds()}")
    target = target if target is not None else tvm.target.Target.current(allow_none=True)
    if target is not None:
        found = [s for s in found if target_has(s.isa, target)]
        if not found:
            levels = sorted(s.isa.name for (k, _), s in _REGISTRY.items() if k == kind)
            raise RuntimeError(
                f"kernel {kind} needs {' or '.join(levels)}; target {target} has "
                f"{getattr(isa_level(target), 'name', 'none of them')}"
            )
    return min(found, key=lambda s: LEVELS.index(s.isa))  # the best level first


def get(key: str) -> KernelSpec:
    """The spec named ``kind/level`` (:attr:`KernelSpec.key`)."""
    kind, _, level = key.partition("/")
    if (kind, level) not in _REGISTRY:
        raise ValueError(f"no kernel {key!r} registered; known: {sorted(s.key for s in specs())}")
    return _REGISTRY[(kind, level)]


def available(kind: str, target) -> bool:
    try:
        lookup(kind, target)
    except RuntimeError:
        return False
    return True


def sparse_kind(dtype: str, block: str) -> str | None:
    """The sparse kernel kind of ``dtype`` ("int8" | "fp32") for ``block``, or None."""
    for spec in _REGISTRY.values():
        if spec.int8 == (dtype == "int8") and spec.block == block:
            return spec.kind
    return None


def sparse_kinds() -> set[str]:
    """Every kind that skips zero blocks (not a dense kernel)."""
    return {s.kind for s in _REGISTRY.values() if s.block is not None}


def sparse_blocks(dtype: str) -> list[str]:
    return sorted({s.block for s in _REGISTRY.values() if s.int8 == (dtype == "int8") and s.block})


def dense_kind(dtype: str) -> str | None:
    """Our dense kernel kind of ``dtype``, or None (FP32 dense layers are left to TVM)."""
    return next(
        (s.kind for s in _REGISTRY.values() if s.int8 == (dtype == "int8") and s.block is None),
        None,
    )


@dataclasses.dataclass(frozen=True)
class LinearChoice:
    """What a Linear layer ``W[N_out, K_in]`` runs: a kernel spec, or None (``fallback`` says
    what happens instead: ``"tvm_dense"`` or ``"unchanged"``), and why. ``block_sparsity``: the
    sparsity of the chosen kernel's block (None: the requested block's sparsity applies)."""

    spec: KernelSpec | None
    fallback: str = ""
    reason: str = ""
    block_sparsity: float | None = None

    @property
    def kernel(self) -> str:
        return self.spec.kind if self.spec is not None else self.fallback


#: Per-layer cost model: each kernel's rate on its nonzero work (GFLOP/s or GOP/s of
#: ``2 M N K (1 - block sparsity)``), 1 thread, per ISA level where it was measured;
#: ``"tvm_dense"`` is TVM's FP32 Matmul under our schedule rules. A level or dtype the table
#: does not cover keeps the threshold rule (the requested block's sparse kernel from
#: ``threshold`` on, else dense). Only the ratios between a level's kernels matter.
#: avx2: AVX2 code on an AMD EPYC Zen 4 (``TVM_BLOCKSPARSE_MAX_ISA=avx2``), a stand-in for the
#: AVX2 cores with 256-bit vector units (Zen 2 and later; Zen 3's INT8 / FP32 peak ratio is 1.68,
#: this core's 1.95): ``bench/kernel_rates.py --level avx2``, BERT-Base's 768x768, 3072x768 and
#: 768x3072 at 128 tokens, medians over 50-90 % sparsity, remeasured once the slab walk's group
#: loop kept its operands in registers (bench/README.md, "The AVX2 cost table on a full-width
#: core" and "The slab walk's registers"); cores with 128-bit units take
#: :data:`HALF_WIDTH_YMM_KERNEL_GOPS`.
#: avx_vnni, avx512_vnni, amx_int8: INT8 only, Intel Xeon (Sapphire Rapids class, KVM),
#: ``bench/kernel_rates.py --level L`` (same shapes and sparsities; the avx_vnni figures are
#: Golden Cove cores running the ymm kernels, as Alder Lake's P-cores would). On AMX the dense
#: kernel's tiles beat the 4x1 kernel below ~85 % block sparsity (bench/README.md, "Dense INT8 on
#: AMX tiles").
KERNEL_GOPS: dict[str, dict[str, float]] = {
    "avx2": {
        "int8_4x1": 154.4,
        "fp32_4x1": 91.3,
        "fp32_1x16": 64.9,
        "int8_dense": 190.1,
        "tvm_dense": 112.9,
    },
    "avx_vnni": {"int8_4x1": 109.0, "int8_dense": 95.0},
    "avx512_vnni": {"int8_4x1": 377.0, "int8_dense": 429.0},
    "amx_int8": {"int8_4x1": 378.0, "int8_dense": 2431.0},
}

#: The avx2 table of cores that split every ymm operation into two 128-bit halves
#: (:data:`HALF_WIDTH_YMM_CPUS`): AMD EPYC Zen 1 (``znver1``), ``bench/spmm.py --threads 1`` on
#: the same shapes and sparsities and the dense Matmul of ``bench/e2e_dense.py`` (bench/README.md,
#: "INT8 and FP32 on an AVX2-only host"). INT8 runs only ~1.3x FP32 there, so TVM's FP32 matmul
#: takes the dense layers of an INT8 model; on full-width cores dense INT8 does.
HALF_WIDTH_YMM_KERNEL_GOPS: dict[str, float] = {
    "int8_4x1": 30.0,
    "fp32_4x1": 29.0,
    "fp32_1x16": 18.5,
    "int8_dense": 34.5,  # 35 in the kernel, less its quantize passes
    "tvm_dense": 35.0,
}


def level_kernel_rates(level: IsaLevel | None, target=None) -> dict[str, float] | None:
    """The cost table of ``level`` on ``target``'s CPU (a Target, a TVM JSON target dict or
    string; None: the enclosing target's, else this CPU's): :data:`KERNEL_GOPS`, except
    :data:`HALF_WIDTH_YMM_KERNEL_GOPS` at avx2 on :data:`HALF_WIDTH_YMM_CPUS`. None where the
    level has no table."""
    from tvm_blocksparse.target import target_llvm_cpu

    if level is None:
        return None
    if level.name == "avx2" and target_llvm_cpu(target) in HALF_WIDTH_YMM_CPUS:
        return HALF_WIDTH_YMM_KERNEL_GOPS
    return KERNEL_GOPS.get(level.name)


def cost_table(
    dtype: str, block: str, level: IsaLevel | None, target=None
) -> dict[str, float] | None:
    """``level``'s cost table on ``target``'s CPU (:func:`level_kernel_rates`) where it covers
    ``dtype`` layers pruned in ``block`` (their sparse kernel is in it), else None: the threshold
    rule decides there."""
    rates = level_kernel_rates(level, target)
    return rates if rates is not None and sparse_kind(dtype, block) in rates else None


def choose_linear_kernel(
    dtype: str,
    block: str,
    n: int,
    k: int,
    sparsity: float,
    threshold: float,
    target,
    sparsity_of: Callable[[str], float] | None = None,
    m: int = 128,
) -> LinearChoice:
    """The kernel a layer gets. ``sparsity``: the layer's ``block`` sparsity; ``sparsity_of``
    measures another block's (None: only ``block`` is considered). Candidates: the kernels of
    ``dtype`` (sparse ones from ``threshold`` block sparsity on) and TVM's FP32 matmul. Where
    the target's level has a cost table (:func:`level_kernel_rates`), the least estimated time
    wins. Else: the ``block`` sparse kernel when it can take the shape (FP32: the sparsest FP32
    block, 1x16 on ties), else our dense kernel of ``dtype`` (INT8), else TVM's (FP32)."""
    import tvm

    target = target if target is not None else tvm.target.Target.current(allow_none=True)
    level = isa_level(target) if target is not None else None
    measured = {block: sparsity}

    def sparsity_of_block(b: str) -> float | None:
        if b not in measured and sparsity_of is not None:
            measured[b] = sparsity_of(b)
        return measured.get(b)

    rates = cost_table(dtype, block, level, target)
    if rates is not None:
        return _choose_by_cost(dtype, n, k, m, threshold, target, rates, level, sparsity_of_block)
    if dtype == "fp32":
        return _choose_fp32_block(block, n, k, threshold, target, sparsity_of_block)
    sparse = sparsity >= threshold
    kind = sparse_kind(dtype, block)
    spec = lookup(kind, target) if kind and available(kind, target) else None
    if k % 4:
        return LinearChoice(None, "unchanged", f"INT8 kernels need K_in % 4 == 0 (K_in={k})")
    if sparse and spec is not None and spec.can_take(n, k) is None:
        return LinearChoice(spec)
    dense = lookup(dense_kind(dtype), target)
    if n % 16:
        return LinearChoice(
            None, "unchanged", f"dense INT8 kernel needs N_out % 16 == 0 (N_out={n})"
        )
    return LinearChoice(dense, reason="" if not sparse else f"{block} kernel can't take N_out={n}")


def _choose_fp32_block(block, n, k, threshold, target, sparsity_of_block) -> LinearChoice:
    """FP32 without a cost table: the FP32 sparse kernel whose block is sparsest (1x16, the
    16-lane kernel, on ties: a 1x16-pruned weight is as 4x1-sparse) from ``threshold`` on, else
    TVM's dense."""
    best, why = None, f"no {block} FP32 kernel for this target"
    for b in sparse_blocks("fp32"):  # "1x16" first
        kind = sparse_kind("fp32", b)
        s = sparsity_of_block(b)
        if s is None or not available(kind, target):
            continue
        spec = lookup(kind, target)
        cannot = spec.can_take(n, k)
        if cannot:
            why = cannot if b == block else why
            continue
        if best is None or s > best[1]:
            best = (spec, s)
    if best is None:
        return LinearChoice(None, "tvm_dense", why)
    spec, s = best
    if s < threshold:
        return LinearChoice(None, "tvm_dense", f"block sparsity {s:.2f} < {threshold}")
    return LinearChoice(spec, block_sparsity=None if spec.block == block else s)


def _choose_by_cost(dtype, n, k, m, threshold, target, rates, level, sparsity_of_block):
    """The candidate with the least estimated time ``2 M N K (1 - s) / rate``."""
    options = []  # (ms, label, spec or None, block sparsity)
    refused = []  # why a kernel of the table can't take the shape
    for kind in kinds():
        if kind not in rates or not available(kind, target):
            continue
        spec = lookup(kind, target)
        if spec.int8 != (dtype == "int8"):
            continue
        cannot = spec.can_take(n, k)
        if cannot is not None:
            refused.append(f"{kind} {cannot}")
            continue
        s = 0.0 if spec.block is None else sparsity_of_block(spec.block)
        if s is None or (spec.block is not None and s < threshold):
            continue
        options.append((2e-6 * m * n * k * (1 - s) / rates[kind], kind, spec, s))
    if "tvm_dense" in rates:
        options.append((2e-6 * m * n * k / rates["tvm_dense"], "tvm_dense", None, None))
    if not options:
        return LinearChoice(
            None, "unchanged", f"no kernel of {level.name} takes {n}x{k}: {'; '.join(refused)}"
        )
    options.sort(key=lambda o: o[0])
    ms, kind, spec, s = options[0]
    reason = f"cost model ({level.name}): {kind} ~{ms:.2f} ms" + "".join(
        f" < {o[1]} ~{o[0]:.2f} ms" for o in options[1:3]
    )
    if spec is None:
        return LinearChoice(None, "tvm_dense", reason)
    return LinearChoice(spec, reason=reason, block_sparsity=s if spec.block else None)


def padded_activation_shape(spec: KernelSpec, m: int, k: int) -> tuple[int, int]:
    """Shape of the activation parameter of ``spec`` for ``M`` tokens and ``K_in`` inputs."""
    return (k, padded_tokens(m)) if spec.activation == "XT" else (m, k)
