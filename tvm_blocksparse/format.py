"""Block-sparse weight formats, block pruning and INT8 quantization (numpy only, no TVM).

Orientation contract (the paper's, used everywhere in this package)
-------------------------------------------------------------------
A weight is ``W[N_out, K_in]`` (PyTorch ``nn.Linear.weight`` layout) and a layer computes
``Y[M, N_out] = X[M, K_in] @ W.T`` with ``M = batch x tokens``. A block shape is the pair
``(bs_out, bs_in)``: ``bs_out`` consecutive output channels x ``bs_in`` consecutive input channels.

ONNX ``MatMul(x, B)`` stores its constant as ``B[K_in, N_out]``; pass ``B.T`` to this module.

Named patterns (strings), each resolved to an explicit ``(bs_out, bs_in)``:

=========  ==========  ===============================================================
name       (out, in)   meaning
=========  ==========  ===============================================================
``4x1``    (4, 1)      the paper's INT8 pattern: 4 output channels x 1 input channel.
                       Intel's Hugging Face models call the same zeros "1x4" because
                       they name blocks in the ``[K_in, N_out]`` ONNX/TF layout.
``16x4``   (16, 4)     INT8: 16 output channels x 4 input channels, one VNNI tile.
``1x16``   (16, 1)     FP32 (ITREX's name, given in ``[K_in, N_out]`` order): 1 input
                       channel x 16 output channels, one AVX-512 FMA.
=========  ==========  ===============================================================

Generic BSR takes an explicit tuple, never a string, so "1x16" is never ambiguous.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import threading
from typing import NamedTuple

import numpy as np

NAMED_BLOCKS: dict[str, tuple[int, int]] = {"4x1": (4, 1), "16x4": (16, 4), "1x16": (16, 1)}

#: Block sparsity from which a Linear layer may take a sparse kernel: ``sparsity_threshold``'s
#: default everywhere (API, CLI, pipeline). 0.5 is the lowest sparsity the per-layer cost tables
#: were calibrated at (``registry.KERNEL_GOPS``: medians over 50-90 %); at 50 % 4x1 each sparse
#: kernel beat dense end to end on BERT-Base (bench/README.md, "Sparse from 50 %"). Where a
#: level's cost model estimates dense faster (AMX tiles below ~85 %), the layer still runs dense.
DEFAULT_SPARSITY_THRESHOLD = 0.5


def parse_block(block: str | tuple[int, int]) -> tuple[int, int]:
    """Resolve a block name or an explicit ``(bs_out, bs_in)`` tuple to ``(bs_out, bs_in)``."""
    if isinstance(block, str):
        if block not in NAMED_BLOCKS:
            raise ValueError(
                f"unknown block pattern {block=}; choose one of {sorted(NAMED_BLOCKS)}"
            )
        return NAMED_BLOCKS[block]
    if (
        not isinstance(block, tuple | list)
        or len(block) != 2
        or not all(isinstance(b, int | np.integer) and b > 0 for b in block)
    ):
        raise ValueError(f"{block=} must be a named pattern or a (bs_out, bs_in) tuple of ints > 0")
    return int(block[0]), int(block[1])


def block_tiles(shape: tuple[int, ...], block: str | tuple[int, int]) -> bool:
    """Whether ``block`` tiles a weight ``W[N_out, K_in]`` of ``shape`` exactly."""
    bs_out, bs_in = parse_block(block)
    return shape[0] % bs_out == 0 and shape[1] % bs_in == 0


def _check_divisible(shape: tuple[int, ...], block: tuple[int, int]) -> None:
    if len(shape) != 2:
        raise ValueError(f"weight must be 2-D W[N_out, K_in], got {shape=}")
    n_out, k_in = shape
    bs_out, bs_in = block
    if n_out % bs_out or k_in % bs_in:
        raise ValueError(
            f"weight {shape=} is not a multiple of the block (bs_out, bs_in)={block}: "
            f"{n_out=} % {bs_out=} = {n_out % bs_out}, {k_in=} % {bs_in=} = {k_in % bs_in}"
        )


def _block_view(weight: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """View ``W[N, K]`` as ``[N/bs_out, K/bs_in, bs_out, bs_in]`` (a copy)."""
    n_out, k_in = weight.shape
    bs_out, bs_in = block
    return weight.reshape(n_out // bs_out, bs_out, k_in // bs_in, bs_in).transpose(0, 2, 1, 3)


def block_nonzero_mask(weight: np.ndarray, block: str | tuple[int, int]) -> np.ndarray:
    """Boolean ``[N/bs_out, K/bs_in]``: True where the block holds at least one non-zero."""
    blk = parse_block(block)
    _check_divisible(weight.shape, blk)
    return np.any(_block_view(weight, blk) != 0, axis=(2, 3))


def block_sparsity(weight: np.ndarray, block: str | tuple[int, int]) -> float:
    """Fraction of ``block``-shaped tiles of ``W[N_out, K_in]`` that are entirely zero."""
    mask = block_nonzero_mask(weight, block)
    return 1.0 - float(mask.sum()) / mask.size


class BSRWeight(NamedTuple):
    """A weight ``W[N_out, K_in]`` in block-compressed-row form.

    data:    ``[nnzb, bs_out, bs_in]`` non-zero blocks, block-row major, same dtype as W.
    indices: ``int32[nnzb]`` block-column index of each block (input channel / bs_in).
    indptr:  ``int32[N_out / bs_out + 1]`` blocks of block row r are ``indptr[r]:indptr[r+1]``.
    shape:   ``(N_out, K_in)`` of the dense weight.
    block:   ``(bs_out, bs_in)``.

    Identical to ``scipy.sparse.bsr_matrix(W, blocksize=block)`` with all-zero blocks dropped.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]
    block: tuple[int, int]

    @property
    def nnzb(self) -> int:
        return int(self.indices.shape[0])

    @property
    def density(self) -> float:
        bs_out, bs_in = self.block
        return self.nnzb * bs_out * bs_in / (self.shape[0] * self.shape[1])

    def to_dense(self) -> np.ndarray:
        """Back to ``W[N_out, K_in]``."""
        bs_out, bs_in = self.block
        n_out, k_in = self.shape
        dense = np.zeros((n_out // bs_out, k_in // bs_in, bs_out, bs_in), self.data.dtype)
        rows = np.repeat(np.arange(n_out // bs_out), np.diff(self.indptr))
        dense[rows, self.indices] = self.data
        return dense.transpose(0, 2, 1, 3).reshape(n_out, k_in)


def to_bsr(weight: np.ndarray, block: str | tuple[int, int]) -> BSRWeight:
    """Compress ``W[N_out, K_in]`` to BSR with ``(bs_out, bs_in)`` blocks, dropping zero blocks."""
    blk = parse_block(block)
    _check_divisible(weight.shape, blk)
    blocks = _block_view(weight, blk)
    mask = np.any(blocks != 0, axis=(2, 3))
    rows, cols = np.nonzero(mask)  # row-major order: block rows ascending, columns ascending
    indptr = np.zeros(mask.shape[0] + 1, np.int32)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    return BSRWeight(
        data=np.ascontiguousarray(blocks[rows, cols]),
        indices=cols.astype(np.int32),
        indptr=indptr,
        shape=(int(weight.shape[0]), int(weight.shape[1])),
        block=blk,
    )


class VNNIGroupedBSR(NamedTuple):
    """The paper's INT8 layout for 4x1 blocks, ready for ``vpdpbusd``.

    The non-zero 4x1 blocks (4 output channels x 1 input channel) of each block row are taken in
    column order, 4 at a time; a group is one 4x4 tile whose row ``r`` holds output channel
    ``4*block_row + r`` at the group's 4 input channels. One 32-bit broadcast of ``data[g, r]``
    feeds those 4 weights of one output row into ``vpdpbusd``, against 16 tokens x 4 gathered
    activations. A short last group is padded with zero blocks whose column repeats the row's last
    real column (an in-bounds load that contributes 0).

    data:      ``int8[G, 4, 4]``  ``data[g, r, c] = W[4*br + r, cols[g, c]]``.
    cols:      ``int32[G, 4]``    input channel of slot c of group g.
    group_ptr: ``int32[N_out/4 + 1]`` groups of block row br are ``group_ptr[br]:group_ptr[br+1]``.
    shape:     ``(N_out, K_in)``.
    """

    data: np.ndarray
    cols: np.ndarray
    group_ptr: np.ndarray
    shape: tuple[int, int]

    @property
    def num_groups(self) -> int:
        return int(self.cols.shape[0])

    def to_dense(self) -> np.ndarray:
        """``W[N_out, K_in]``: int8, or int16 where split weights sum beyond the int8 range."""
        n_out, k_in = self.shape
        dense = np.zeros((n_out, k_in), np.int32)
        rows = np.repeat(np.arange(n_out // 4), np.diff(self.group_ptr))
        for r in range(4):
            # np.add.at: padded slots repeat a column with weight 0 and the parts of a split
            # weight repeat theirs, so accumulating gives the weight.
            np.add.at(dense, (4 * rows[:, None] + r, self.cols), self.data[:, r, :])
        fits = dense.size == 0 or (dense.min() >= -128 and dense.max() <= 127)
        return dense.astype(np.int8 if fits else np.int16)


def to_vnni_grouped_4x1(
    weight: np.ndarray,
    keep_zero_blocks: bool = False,
    pair_bound: int | None = None,
    slot_max: int = 127,
) -> VNNIGroupedBSR:
    """Convert an integer ``W[N_out, K_in]`` (N_out % 4 == 0) to the paper's grouped 4x1 layout.

    ``weight``: int8, taken as it is; or int16 (:func:`quantize_weight_per_channel` with
    ``split_outliers``), whose blocks holding a weight beyond ``slot_max`` are split over repeated
    slots of their input channel (:func:`split_wide_blocks`).
    ``keep_zero_blocks``: store every 4x1 block, zero or not (the layout of a dense kernel that
    shares the sparse kernel's code: it must do the dense work, not skip the model's zeros).
    ``pair_bound``: slots 0-1 and 2-3 of every group (the input channels ``vpmaddubsw`` adds into
    one s16) hold weights with ``|w_a| + |w_b| <= pair_bound`` in each of the 4 rows, by
    :func:`pair_columns` (a channel no other one fits beside gets a zero partner); without it the
    row's blocks go in column order."""
    if weight.dtype not in (np.int8, np.int16):
        raise ValueError(f"VNNI grouping needs an int8 or int16 weight, got {weight.dtype=}")
    bsr = to_bsr(weight, (4, 1))
    if keep_zero_blocks:
        n_out, k_in = weight.shape
        bsr = BSRWeight(
            data=np.ascontiguousarray(
                weight.reshape(n_out // 4, 4, k_in).transpose(0, 2, 1)
            ).reshape(-1, 4, 1),
            indices=np.tile(np.arange(k_in, dtype=np.int32), n_out // 4),
            indptr=(np.arange(n_out // 4 + 1) * k_in).astype(np.int32),
            block=(4, 1),
            shape=tuple(weight.shape),
        )
    if weight.dtype != np.int8:
        bsr = split_wide_blocks(bsr, slot_max)
    n_block_rows = weight.shape[0] // 4
    widest = int(np.abs(bsr.data.astype(np.int16)).max(initial=0))
    if pair_bound is not None and 2 * widest <= pair_bound:
        pair_bound = None  # any two weights fit: :func:`pair_columns` would keep column order
    paired = _paired_rows(bsr, pair_bound) if pair_bound is not None else None
    rows_cols, rows_data = [], []  # per block row: slot columns and their [slot, r] weights
    for br in range(n_block_rows):
        lo, hi = bsr.indptr[br], bsr.indptr[br + 1]
        row_cols, row_data = bsr.indices[lo:hi], bsr.data[lo:hi, :, 0]  # [n], [n, 4]
        if paired is not None and hi > lo:
            slots = paired[br].reshape(-1)
            partner = slots.reshape(-1, 2)[:, ::-1].reshape(-1)  # a zero slot's partner is real
            real = np.where(slots >= 0, slots, partner)
            row_cols = row_cols[real]
            row_data = np.where((slots >= 0)[:, None], row_data[real], 0).astype(np.int8)
        rows_cols.append(row_cols)
        rows_data.append(row_data)
    groups_per_row = np.array([(len(c) + 3) // 4 for c in rows_cols], np.int64)
    group_ptr = np.zeros(n_block_rows + 1, np.int32)
    np.cumsum(groups_per_row, out=group_ptr[1:])
    total = int(group_ptr[-1])
    data = np.zeros((total, 4, 4), np.int8)
    cols = np.zeros((total, 4), np.int32)
    for br, (row_cols, row_data) in enumerate(zip(rows_cols, rows_data, strict=True)):
        n = len(row_cols)
        if n == 0:
            continue
        pad = groups_per_row[br] * 4 - n
        row_cols = np.concatenate([row_cols, np.full(pad, row_cols[-1])])
        row_data = np.concatenate([row_data, np.zeros((pad, 4), np.int8)])  # [n, 4]
        g0, g1 = group_ptr[br], group_ptr[br + 1]
        cols[g0:g1] = row_cols.reshape(-1, 4)
        data[g0:g1] = row_data.reshape(-1, 4, 4).transpose(0, 2, 1)  # [g, slot, r] -> [g, r, slot]
    return VNNIGroupedBSR(data=data, cols=cols, group_ptr=group_ptr, shape=tuple(weight.shape))


def split_wide_blocks(bsr: BSRWeight, slot_max: int = 127) -> BSRWeight:
    """A 4x1 ``bsr`` of integer weights as int8 blocks of at most ``slot_max``: a block whose
    largest ``|w|`` exceeds it becomes ``n = ceil(max |w| / slot_max)`` consecutive blocks of the
    same input channel, each of its 4 weights split into ``n`` parts that differ by at most 1
    (``floor((|w| + i) / n)``, ``i < n``, with ``w``'s sign: they sum to ``w``). Why: the kernels
    multiply s8 weights, and ``sum_k x_k w_k`` is the same with a channel repeated."""
    if not 1 <= slot_max <= 127:
        raise ValueError(f"slot_max must be in 1..127, got {slot_max}")
    if bsr.block != (4, 1):
        raise ValueError(f"splitting needs 4x1 blocks, got {bsr.block}")
    data = bsr.data.astype(np.int32)
    parts = np.maximum(1, -(-np.abs(data).max(axis=(1, 2), initial=0) // slot_max))
    if (parts == 1).all():
        return bsr._replace(data=data.astype(np.int8))
    source = np.repeat(np.arange(bsr.nnzb), parts)  # each new block's original block
    part = np.arange(len(source)) - np.repeat(np.cumsum(parts) - parts, parts)
    n = parts[source][:, None, None]
    mag = np.abs(data[source])
    split = np.sign(data[source]) * ((mag + part[:, None, None]) // n)
    rows = np.repeat(np.arange(len(bsr.indptr) - 1), np.diff(bsr.indptr))
    per_row = np.bincount(rows, weights=parts, minlength=len(bsr.indptr) - 1).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)
    return bsr._replace(data=split.astype(np.int8), indices=bsr.indices[source], indptr=indptr)


#: AVX2's u8 x s8 step (``vpmaddubsw``) adds two products into an s16 and saturates; on u8
#: activations (up to 255) a pair of weights is exact when ``|w_a| + |w_b| <= 128``: 255 x 128 =
#: 32640 <= 32767.
PAIR_SUM_BOUND = 128


def pair_columns(mags: np.ndarray, bound: int = PAIR_SUM_BOUND) -> np.ndarray:
    """One 4x1 block row's input channels in pairs that stay within ``bound``: ``mags[c, r]`` is
    ``|w|`` (int) of the row's column ``c`` in output row ``r``; returns ``int[P, 2]`` column
    indices, ``-1`` for a zero partner, ``mags[a, r] + mags[b, r] <= bound`` for every pair and
    row. A column whose largest ``|w|`` exceeds ``bound / 2`` takes, largest first, the largest
    unpaired column that fits it in all 4 rows (else a zero partner); the others, any two of
    which fit, pair in column order. Why: the AVX2 kernel then runs weights up to 127 exactly,
    at the price of the zero partners (:func:`quantize_weight_pair_bounded` bounds it)."""
    mags = np.asarray(mags, np.int32)
    n = len(mags)
    largest = mags.max(axis=1) if n else np.zeros(0, np.int32)
    by_size = np.argsort(-largest, kind="stable")  # position i: the i-th largest column
    big = int((2 * largest > bound).sum())
    sized = mags[by_size].astype(np.int16)
    # fits[i, j]: the i-th and j-th largest fit together; as bit sets, bit j <-> j-th largest
    fits = np.ones((big, n), bool)
    for r in range(mags.shape[1]):
        fits &= sized[:big, None, r] + sized[None, :, r] <= bound
    packed = np.packbits(fits, 1, "little")
    free, pairs = (1 << n) - 1, []
    todo = free & ((1 << big) - 1)  # the free big columns, largest first
    while todo:
        first = todo & -todo
        i = first.bit_length() - 1
        free ^= first
        fitting = int.from_bytes(packed[i].tobytes(), "little") & free
        lowest = fitting & -fitting  # the largest column that fits
        free ^= lowest
        pairs.append((int(by_size[i]), int(by_size[lowest.bit_length() - 1]) if lowest else -1))
        todo = free & ((1 << big) - 1)
    free_bits = np.frombuffer(free.to_bytes((n + 7) // 8, "little"), np.uint8)
    rest = np.sort(by_size[np.unpackbits(free_bits, count=n, bitorder="little").astype(bool)])
    if len(rest) % 2:
        rest = np.append(rest, -1)
    return np.array(pairs + rest.reshape(-1, 2).tolist(), np.int32).reshape(-1, 2)


def pack_dense_vnni(weight: np.ndarray) -> np.ndarray:
    """Pack an INT8 ``W[N_out, K_in]`` (N_out % 16 == 0, K_in % 4 == 0) as ``[N/16, K/4, 16, 4]``.

    ``packed[j, k, jj, kk] = W[16*j + jj, 4*k + kk]``: one 64-byte tile per (16 outputs, 4 inputs),
    the s8 operand of ``vpdpbusd`` for the dense kernel.
    """
    if weight.dtype != np.int8:
        raise ValueError(f"dense VNNI packing needs an int8 weight, got {weight.dtype=}")
    _check_divisible(weight.shape, (16, 4))
    return np.ascontiguousarray(_block_view(weight, (16, 4)))


# --------------------------------------------------------------------------- pruning

#: layers pruning leaves dense by default: the task heads (pooler, classifier, QA, score) run
#: once per sequence (a sliver of the time) and carry the task's decision.
PRUNE_EXCLUDE_DEFAULT = ("*pooler*", "*classifier*", "*qa_outputs*", "*score*")


def name_matches(name: str, patterns) -> bool:
    """Whether ``name`` matches one of the ``fnmatch`` ``patterns`` (case-insensitive): how
    ``prune`` and ``sparsify_model`` pick layers by name."""
    return any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns)


def block_keep_mask(
    weight: np.ndarray, sparsity: float, block: str | tuple[int, int]
) -> np.ndarray:
    """Boolean ``[N_out/bs_out, K_in/bs_in]`` of the ``W[N_out, K_in]`` blocks that magnitude
    pruning keeps: False for the ``ceil(sparsity * n_blocks)`` blocks of smallest L1 norm.

    Ties break by position so the choice is deterministic; one-shot pruning (:func:`prune_blocks`)
    and gradual pruning (:func:`tvm_blocksparse.pruning.sparsify_model`) both choose with it.
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"{sparsity=} must be in [0, 1]")
    blk = parse_block(block)
    _check_divisible(weight.shape, blk)
    blocks = _block_view(weight, blk)
    norms = np.abs(blocks).sum(axis=(2, 3), dtype=np.float64).ravel()
    # ceil: "pruned to 70 %" must measure >= 0.7 (round() left 768x768 at 0.699998, below a 0.7
    # threshold)
    n_zero = math.ceil(sparsity * norms.size - 1e-9)
    keep = np.ones(norms.size, bool)
    keep[np.argsort(norms, kind="stable")[:n_zero]] = False
    return keep.reshape(blocks.shape[:2])


def expand_block_mask(mask: np.ndarray, block: str | tuple[int, int]) -> np.ndarray:
    """A block mask ``[N_out/bs_out, K_in/bs_in]`` as the element mask ``[N_out, K_in]``."""
    bs_out, bs_in = parse_block(block)
    return np.repeat(np.repeat(mask, bs_out, axis=0), bs_in, axis=1)


def prune_blocks(weight: np.ndarray, sparsity: float, block: str | tuple[int, int]) -> np.ndarray:
    """Magnitude block pruning: zero the ``ceil(sparsity * n_blocks)`` blocks of smallest L1 norm.

    Returns a pruned copy of ``W[N_out, K_in]``; the block sparsity of the result is at least
    ``sparsity`` (exactly it, unless some blocks were already zero). Ties break by position so the
    result is deterministic.
    """
    elem_mask = expand_block_mask(block_keep_mask(weight, sparsity, block), block)
    return np.where(elem_mask, weight, 0).astype(weight.dtype)


# --------------------------------------------------------------------------- quantization


class WeightQuant(NamedTuple):
    """Per-output-channel symmetric INT8 weight: ``W ~= q * scale[:, None]``.

    q:       ``int8[N_out, K_in]`` in ``[-qmax, qmax]``; or ``int16`` where ``split_outliers``
             (:func:`quantize_weight_per_channel`) let a few channels' largest weights exceed
             ``qmax``: the 4x1 layout splits each over repeated slots (:func:`split_wide_blocks`).
    scale:   ``float32[N_out]`` (1.0 for an all-zero channel).
    row_sum: ``int32[N_out]`` = ``q.sum(axis=1)``, for the activation zero-point compensation.
    qmax:    the largest ``|q|`` of one kernel slot.
    """

    q: np.ndarray
    scale: np.ndarray
    row_sum: np.ndarray
    qmax: int = 127

    @property
    def split_rows(self) -> int:
        """Output channels with a weight beyond ``qmax`` (split over several slots)."""
        return int((np.abs(self.q.astype(np.int32)).max(axis=1, initial=0) > self.qmax).sum())


#: A channel whose step (``max |w| / qmax``) is at least this many times the layer's median step
#: is an outlier channel: :func:`outlier_split_scale` gives it a finer step.
OUTLIER_STEP_RATIO = 4.0

#: An outlier channel takes a finer step only if it is at least this many times finer.
OUTLIER_MIN_GAIN = 2.0

#: Slots one outlier channel may add for its split weights (each a 4x1 block more to multiply).
OUTLIER_MAX_EXTRA_SLOTS = 32

#: Slots all outlier channels of a layer may add, as a fraction of its non-zero 4x1 blocks.
OUTLIER_MAX_EXTRA_BLOCKS = 0.01

_OUTLIER_STEP_CANDIDATES = 8  # a channel's largest weights, each a candidate for its new max


def outlier_split_scale(weight: np.ndarray, qmax: int = 127) -> np.ndarray:
    """``float32[N_out]`` per-channel steps of ``W[N_out, K_in]`` for the 4x1 kernels. Each
    channel's step is ``max |w| / qmax``, except outlier channels (step at least
    :data:`OUTLIER_STEP_RATIO` x the layer's median): there the step is ``|w|_(j) / qmax`` of the
    channel's ``j``-th largest weight, the first (``j = 2, 3, ...``) that brings it to the ratio
    or the last whose larger weights fit :data:`OUTLIER_MAX_EXTRA_SLOTS` extra slots, taken if
    :data:`OUTLIER_MIN_GAIN` x finer and within the layer's :data:`OUTLIER_MAX_EXTRA_BLOCKS`
    (coarsest channels first). Why: one large weight (real BERTs have them, e.g. the first
    layers' FFN2) set its channel's step so coarse that its other weights rounded to 0."""
    weight = np.asarray(weight, np.float32)
    mags = np.abs(weight)
    amax = mags.max(axis=1, initial=0.0)
    scale = np.where(amax > 0, amax / np.float32(qmax), 1.0).astype(np.float32)
    if not (amax > 0).any() or weight.shape[0] % 4:
        return scale
    limit = OUTLIER_STEP_RATIO * float(np.median(scale[amax > 0]))
    outliers = np.flatnonzero((amax > 0) & (scale >= limit))
    budget = OUTLIER_MAX_EXTRA_BLOCKS * int(block_nonzero_mask(weight, (4, 1)).sum())
    top = -np.sort(-mags[outliers], axis=1)[:, :_OUTLIER_STEP_CANDIDATES]
    for i in np.argsort(-scale[outliers], kind="stable"):
        best = None
        for j in range(1, top.shape[1]):
            if top[i, j] == 0:
                break
            step = np.float32(top[i, j] / np.float32(qmax))
            slots = -(-np.rint(top[i, :j] / step).astype(np.int64) // qmax)
            extra = int((slots - 1).sum())
            if extra > OUTLIER_MAX_EXTRA_SLOTS:
                break
            best = (step, extra)
            if step <= limit:
                break
        row = outliers[i]
        if best is not None and scale[row] >= OUTLIER_MIN_GAIN * best[0] and best[1] <= budget:
            scale[row], budget = best[0], budget - best[1]
    return scale


def quantize_weight_per_channel(
    weight: np.ndarray, qmax: int = 127, split_outliers: bool = False
) -> WeightQuant:
    """Symmetric per-output-channel quantization of ``W[N_out, K_in]`` to int8 in
    ``[-qmax, qmax]``. ``split_outliers`` (4x1 kernels): outlier channels take the finer steps
    of :func:`outlier_split_scale`, their largest weights beyond ``qmax`` (int16 ``q``). Raises
    on NaN or infinite weights: no integer stands for them (casting gave arbitrary values)."""
    weight = np.asarray(weight, np.float32)
    if weight.ndim != 2:
        raise ValueError(f"weight must be 2-D W[N_out, K_in], got shape={weight.shape}")
    if not 1 <= qmax <= 127:
        raise ValueError(f"qmax must be in 1..127, got {qmax}")
    bad = np.flatnonzero(~np.isfinite(weight).all(axis=1))
    if bad.size:
        raise ValueError(
            f"weight W[N_out, K_in] of shape {weight.shape} has NaN or infinite values in output "
            f"channel(s) {bad[:8].tolist()}{' ...' if bad.size > 8 else ''}: INT8 cannot "
            "quantize them (dtype='fp32' keeps them as they are)"
        )
    amax = np.abs(weight).max(axis=1, initial=0.0)
    scale = np.where(amax > 0, amax / np.float32(qmax), 1.0).astype(np.float32)
    if split_outliers:
        scale = outlier_split_scale(weight, qmax)
    widest = np.where(scale < amax / np.float32(qmax), qmax * (OUTLIER_MAX_EXTRA_SLOTS + 1), qmax)
    q = np.clip(np.rint(weight / scale[:, None]), -widest[:, None], widest[:, None])
    q = q.astype(np.int8 if (widest == qmax).all() else np.int16)
    return WeightQuant(q=q, scale=scale, row_sum=q.sum(axis=1, dtype=np.int32), qmax=qmax)


#: Weight ranges :func:`quantize_weight_pair_bounded` tries, finest first; at 64 any two weights
#: fit :data:`PAIR_SUM_BOUND`, so no channel needs a zero partner.
PAIR_BOUNDED_QMAX = (127, 112, 96, 80, 64)

#: Zero partners :func:`quantize_weight_pair_bounded` accepts for a finer weight range, as a
#: fraction of the layer's groups (the work they add).
PAIR_BOUNDED_MAX_EXTRA_GROUPS = 0.01


def quantize_weight_pair_bounded(
    weight: np.ndarray,
    bound: int = PAIR_SUM_BOUND,
    max_extra_groups: float = PAIR_BOUNDED_MAX_EXTRA_GROUPS,
) -> WeightQuant:
    """Per-output-channel quantization of ``W[N_out, K_in]`` for AVX2's 4x1 kernels: the
    largest ``qmax`` of :data:`PAIR_BOUNDED_QMAX` whose pairs within ``bound``
    (:func:`to_vnni_grouped_4x1` with ``pair_bound``) take at most ``max_extra_groups`` more
    4x1 groups than the column order; 64 (every pair fits) otherwise; outlier channels split
    (:func:`outlier_split_scale`). Why: one 7-bit range for
    every layer (64) lost the most accuracy on real weights, while most layers keep a finer range
    for under 1 % more work (bench/README.md, "8-bit weights on AVX2")."""
    weight = np.asarray(weight, np.float32)
    for qmax in PAIR_BOUNDED_QMAX:
        wq = quantize_weight_per_channel(weight, qmax, split_outliers=True)
        if 2 * qmax <= bound or _pairs_cost_within(wq, bound, max_extra_groups):
            return wq
    return quantize_weight_per_channel(weight, min(PAIR_BOUNDED_QMAX), split_outliers=True)


def _pairs_cost_within(wq: WeightQuant, bound: int, max_extra_groups: float) -> bool:
    """Whether pairing ``wq``'s block rows (split, :func:`split_wide_blocks`) within ``bound``
    adds at most ``max_extra_groups`` of their column-order groups."""
    bsr = to_bsr(wq.q, (4, 1))
    if wq.q.dtype != np.int8:
        bsr = split_wide_blocks(bsr, wq.qmax)
    budget = max_extra_groups * int(((np.diff(bsr.indptr) + 3) // 4).sum())
    return _paired_rows(bsr, bound, budget) is not None


_PAIRED_ROWS_CACHE: dict[tuple[bytes, int], list[np.ndarray]] = {}
_PAIRED_ROWS_LOCK = threading.Lock()  # compiles may run in threads (serving, buckets)


def _paired_rows(bsr: BSRWeight, bound: int, budget: float = math.inf) -> list[np.ndarray] | None:
    """:func:`pair_columns` of every block row of a 4x1 ``bsr``; None as soon as the zero
    partners add more than ``budget`` groups. The last few results are kept: the range check of
    :func:`quantize_weight_pair_bounded` and the layout that follows pair the same rows."""
    content = b"".join(a.tobytes() for a in (bsr.data, bsr.indices, bsr.indptr))
    key = (hashlib.blake2b(content).digest(), bound)
    with _PAIRED_ROWS_LOCK:
        cached = _PAIRED_ROWS_CACHE.get(key)
    if cached is not None:
        return cached
    rows, extra = [], 0
    for lo, hi in zip(bsr.indptr[:-1], bsr.indptr[1:], strict=True):
        pairs = pair_columns(np.abs(bsr.data[lo:hi, :, 0].astype(np.int32)), bound)
        extra += (len(pairs) + 1) // 2 - (hi - lo + 3) // 4
        if extra > budget:
            return None
        rows.append(pairs)
    with _PAIRED_ROWS_LOCK:
        while len(_PAIRED_ROWS_CACHE) >= 4:
            _PAIRED_ROWS_CACHE.pop(next(iter(_PAIRED_ROWS_CACHE)))
        _PAIRED_ROWS_CACHE[key] = rows
    return rows


class ActivationQuant(NamedTuple):
    """Asymmetric u8 activation: ``x ~= (q - zero_point) * scale``. Per tensor (``scale`` a float,
    ``zero_point`` an int: static, calibrated ranges) or per token (``scale f32[M]``,
    ``zero_point i32[M]``, one per row of ``x[M, K]``: dynamic ranges, see
    :func:`token_qparams`)."""

    scale: float | np.ndarray
    zero_point: int | np.ndarray

    @property
    def per_token(self) -> bool:
        return np.ndim(self.scale) == 1

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, zero_point)`` shaped to broadcast against ``[M, ...]`` (per token: a column;
        per tensor: scalars), float32 / int32."""
        scale = np.asarray(self.scale, np.float32)
        zp = np.asarray(self.zero_point, np.int32)
        return (scale[:, None], zp[:, None]) if self.per_token else (scale, zp)


def activation_qparams(x_min: float, x_max: float) -> ActivationQuant:
    """u8 parameters covering ``[min(x_min, 0), max(x_max, 0)]`` (0 stays exactly representable)."""
    lo, hi = min(float(x_min), 0.0), max(float(x_max), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero_point = int(np.clip(np.rint(-lo / scale), 0, 255))
    return ActivationQuant(scale=float(np.float32(scale)), zero_point=zero_point)


def quantize_activation_u8(x: np.ndarray, qparams: ActivationQuant | None = None):
    """Quantize ``x`` to u8; the parameters come from its range unless given (dynamic quant, per
    tensor). Per-token ``qparams`` quantize each row of ``x[M, ...]`` with its own.

    ``q = clip(rint(x * (1 / scale)) + zero_point, 0, 255)`` with the reciprocal taken in float32,
    bit for bit what our kernels compute (a multiply: a vector divide bounded their quantize
    passes). Returns ``(q uint8, ActivationQuant)``; rounding is round-half-to-even, as ``np.rint``.
    """
    x = np.asarray(x, np.float32)
    if qparams is None:
        qparams = activation_qparams(x.min(initial=0.0), x.max(initial=0.0))
    scale, zp = qparams.rows()
    q = np.clip(np.rint(x * (np.float32(1) / scale)) + zp, 0, 255)
    return q.astype(np.uint8), qparams


def zero_point_compensation(weight_q: WeightQuant, zero_point) -> np.ndarray:
    """``int32[N_out]`` term to subtract from the u8 x s8 accumulator: ``zp * sum_k q[n, k]``.

    Because ``sum_k (xq - zp) * wq = sum_k xq * wq - zp * row_sum``. Per-token zero points
    (``i32[M]``) give ``int32[M, N_out]``.
    """
    zp = np.asarray(zero_point, np.int32)
    return (zp[:, None] * weight_q.row_sum if zp.ndim else zp * weight_q.row_sum).astype(np.int32)


def qparams_from_range(x_min: float, x_max: float) -> ActivationQuant:
    """u8 parameters covering ``[min(x_min, 0), max(x_max, 0)]`` in float32 arithmetic, exactly
    as our compiled models take them from calibration (static ranges, per tensor) and compute
    them per token at run time (:func:`token_qparams`)."""
    lo = np.float32(min(np.float32(x_min), np.float32(0.0)))
    hi = np.float32(max(np.float32(x_max), np.float32(0.0)))
    scale = np.float32((hi - lo) / np.float32(255)) if hi > lo else np.float32(1)
    zero_point = int(np.clip(np.rint(np.float32(-lo) / scale), 0, 255))
    return ActivationQuant(scale=float(scale), zero_point=zero_point)


def token_qparams(x: np.ndarray) -> ActivationQuant:
    """Per-token u8 parameters of ``x[M, K]`` (each row's :func:`qparams_from_range`, in float32
    arithmetic), exactly what our compiled models compute at run time
    (:func:`tvm_blocksparse.op.quantize.dynamic_qparams`). Why per token: one outlier token no
    longer coarsens every other token's step, and padding tokens don't touch real ones."""
    x = np.asarray(x, np.float32)
    x = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    lo = np.minimum(x.min(axis=1, initial=0.0), np.float32(0)).astype(np.float32)
    hi = np.maximum(x.max(axis=1, initial=0.0), np.float32(0)).astype(np.float32)
    wide = hi > lo
    scale = np.where(wide, (hi - lo) / np.float32(255), np.float32(1)).astype(np.float32)
    zero_point = np.clip(np.rint(-lo / scale), 0, 255).astype(np.int32)
    return ActivationQuant(scale=scale, zero_point=zero_point)


def qparams_arrays(q: ActivationQuant, mp: int) -> tuple[np.ndarray, np.ndarray]:
    """Our INT8 kernels' ``x_scale f32[Mp]`` and ``x_zp i32[Mp]`` arguments: per-token
    parameters padded to ``Mp`` tokens (scale 1, zero point 0), or per-tensor ones repeated."""
    scale = np.ones(mp, np.float32)
    zp = np.zeros(mp, np.int32)
    if q.per_token:
        scale[: len(q.scale)] = q.scale
        zp[: len(q.zero_point)] = q.zero_point
    else:
        scale[:] = np.float32(q.scale)
        zp[:] = q.zero_point
    return scale, zp
