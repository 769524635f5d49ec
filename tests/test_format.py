import numpy as np
import pytest
import scipy.sparse as sp

from tvm_blocksparse import format as fmt
from tvm_blocksparse.testing import random_block_sparse


@pytest.mark.parametrize("block", [(4, 1), (16, 4), (16, 1), (2, 8)])
@pytest.mark.parametrize("sparsity", [0.0, 0.7, 0.9, 1.0])
def test_bsr_matches_scipy(block, sparsity):
    rng = np.random.default_rng(1)
    w = random_block_sparse(rng, 64, 48, sparsity, block, np.float32)
    ours = fmt.to_bsr(w, block)
    ref = sp.bsr_matrix(w, blocksize=block)
    ref.eliminate_zeros()
    keep = np.any(ref.data != 0, axis=(1, 2))  # scipy may keep explicit zero blocks
    ref_rows = np.repeat(np.arange(64 // block[0]), np.diff(ref.indptr))
    assert np.array_equal(ours.data, ref.data[keep])
    assert np.array_equal(ours.indices, ref.indices[keep])
    assert np.array_equal(
        np.repeat(np.arange(64 // block[0]), np.diff(ours.indptr)), ref_rows[keep]
    )
    assert np.array_equal(ours.to_dense(), w)
    assert fmt.block_sparsity(w, block) == pytest.approx(sparsity, abs=1 / ours.indptr.size)


def test_named_blocks_state_orientation():
    assert fmt.parse_block("4x1") == (4, 1)  # 4 output channels x 1 input channel
    assert fmt.parse_block("1x16") == (16, 1)  # ITREX name: 1 input channel x 16 output channels
    assert fmt.parse_block((2, 8)) == (2, 8)
    with pytest.raises(ValueError, match="unknown block pattern"):
        fmt.parse_block("3x3")
    with pytest.raises(ValueError, match="tuple"):
        fmt.parse_block((0, 4))


def test_4x1_zeros_are_runs_of_4_output_channels():
    rng = np.random.default_rng(2)
    w = random_block_sparse(rng, 32, 32, 0.75, "4x1", np.float32)
    zero_cols_per_block = (w.reshape(8, 4, 32) == 0).all(axis=1)
    assert zero_cols_per_block.sum() == round(0.75 * 8 * 32)
    assert fmt.block_sparsity(w, "4x1") == 0.75


def test_invalid_shapes_name_the_values():
    with pytest.raises(ValueError, match=r"n_out=30 % bs_out=4"):
        fmt.to_bsr(np.ones((30, 8), np.float32), "4x1")
    with pytest.raises(ValueError, match="2-D"):
        fmt.block_sparsity(np.ones(8, np.float32), "4x1")
    with pytest.raises(ValueError, match="sparsity"):
        fmt.prune_blocks(np.ones((8, 8), np.float32), 1.5, "4x1")
    with pytest.raises(ValueError, match="int8"):
        fmt.to_vnni_grouped_4x1(np.ones((8, 8), np.float32))


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 1.0])
def test_vnni_grouping_roundtrip_and_padding(sparsity):
    rng = np.random.default_rng(3)
    w = random_block_sparse(rng, 32, 40, sparsity, "4x1", np.int8)
    g = fmt.to_vnni_grouped_4x1(w)
    assert np.array_equal(g.to_dense(), w)
    nnz_per_row = np.diff(fmt.to_bsr(w, "4x1").indptr)
    assert np.array_equal(np.diff(g.group_ptr), (nnz_per_row + 3) // 4)
    # each group's tile row r holds output channel 4*br + r at the group's 4 columns
    for br in range(8):
        for gi in range(g.group_ptr[br], g.group_ptr[br + 1]):
            for r in range(4):
                assert np.array_equal(
                    g.data[gi, r], w[4 * br + r, g.cols[gi]] * (g.data[gi, r] != 0)
                )
    assert (g.cols >= 0).all() and (g.cols < 40).all()  # padded slots stay in bounds


@pytest.mark.parametrize("sparsity", [0.0, 0.9, 1.0])
def test_vnni_grouping_can_keep_every_zero_block(sparsity):
    rng = np.random.default_rng(4)
    w = random_block_sparse(rng, 32, 40, sparsity, "4x1", np.int8)
    g = fmt.to_vnni_grouped_4x1(w, keep_zero_blocks=True)
    assert np.array_equal(g.to_dense(), w)
    assert np.array_equal(np.diff(g.group_ptr), np.full(8, 40 // 4))  # every block, zero or not
    assert np.array_equal(g.cols[:10].ravel(), np.arange(40))


@pytest.mark.parametrize("keep_zero_blocks", [False, True])
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 1.0])
def test_paired_grouping_keeps_every_pair_within_the_bound(sparsity, keep_zero_blocks):
    """``pair_bound``: the same weight (round trip), every block once, and slots 0-1 / 2-3 of
    each group within ``|w_a| + |w_b| <= 128`` in every row, on full-range s8 weights."""
    rng = np.random.default_rng(5)
    w = random_block_sparse(rng, 32, 40, sparsity, "4x1", np.int8)
    g = fmt.to_vnni_grouped_4x1(w, keep_zero_blocks, pair_bound=fmt.PAIR_SUM_BOUND)
    assert np.array_equal(g.to_dense(), w)
    mags = np.abs(g.data.astype(np.int32))
    assert (mags[..., 0::2] + mags[..., 1::2]).max(initial=0) <= fmt.PAIR_SUM_BOUND
    plain = fmt.to_vnni_grouped_4x1(w, keep_zero_blocks)
    nonzero = (g.data != 0).any(axis=1)
    assert nonzero.sum() == (plain.data != 0).any(axis=1).sum()  # no block lost or doubled
    assert (g.cols >= 0).all() and (g.cols < 40).all()


def test_pair_columns_pairs_big_columns_with_those_that_fit():
    rng = np.random.default_rng(6)
    mags = rng.integers(0, 129, (60, 4))
    pairs = fmt.pair_columns(mags)
    cols = pairs[pairs >= 0]
    assert sorted(cols.tolist()) == list(range(60))  # each column once
    padded = np.where(pairs >= 0, pairs, pairs[:, ::-1])  # a zero partner adds nothing
    sums = mags[padded[:, 0]] + np.where((pairs[:, 1] >= 0)[:, None], mags[padded[:, 1]], 0)
    assert sums.max() <= 128
    # two columns large in different rows share a pair; two large in the same row can't
    mags = np.array([[100, 0, 0, 0], [0, 100, 0, 0], [100, 0, 0, 0]])
    assert sorted(map(tuple, fmt.pair_columns(mags).tolist())) == [(0, 1), (2, -1)]
    assert fmt.pair_columns(np.zeros((0, 4), int)).shape == (0, 2)
    # no weight above bound / 2: column order, as the layout then takes without pairing
    small = rng.integers(0, 65, (7, 4))
    assert fmt.pair_columns(small).tolist() == [[0, 1], [2, 3], [4, 5], [6, -1]]


def test_split_wide_blocks_repeats_the_channel_in_parts_within_the_slot():
    """A block with a weight beyond the slot becomes ``ceil(max |w| / slot)`` blocks of its input
    channel, each weight in parts that differ by at most 1 and sum to it; int8 weights (even
    -128) are taken as they are."""
    rng = np.random.default_rng(9)
    w = random_block_sparse(rng, 32, 40, 0.6, "4x1", np.int8).astype(np.int16)
    c = int(np.flatnonzero(w[1])[0])
    w[0:4, c] = (5, 1000, -300, 0)  # one block, 8 parts at 127
    w[17, int(np.flatnonzero(w[17])[-1])] = -128  # the last block of its row, 2 parts
    bsr = fmt.to_bsr(w, (4, 1))
    split = fmt.split_wide_blocks(bsr, 127)
    assert split.data.dtype == np.int8 and np.abs(split.data.astype(int)).max() <= 127
    assert split.nnzb == bsr.nnzb + 7 + 1
    first = np.flatnonzero(split.indices[: split.indptr[1]] == c)
    assert len(first) == 8 and np.array_equal(np.diff(first), np.ones(7))  # consecutive
    parts = split.data[first, :, 0].astype(int)
    assert parts.sum(0).tolist() == [5, 1000, -300, 0]
    assert (parts.max(0) - parts.min(0) <= 1).all()
    for slot_max in (127, 64):
        g = fmt.to_vnni_grouped_4x1(w, slot_max=slot_max)
        assert np.abs(g.data.astype(int)).max() <= slot_max
        assert g.to_dense().dtype == np.int16 and np.array_equal(g.to_dense(), w)
        paired = fmt.to_vnni_grouped_4x1(w, pair_bound=fmt.PAIR_SUM_BOUND, slot_max=slot_max)
        assert np.array_equal(paired.to_dense(), w)
        mags = np.abs(paired.data.astype(np.int32))
        assert (mags[..., 0::2] + mags[..., 1::2]).max() <= fmt.PAIR_SUM_BOUND
    as_int8 = random_block_sparse(rng, 8, 12, 0.5, "4x1", np.int8)
    as_int8[0, as_int8[0] != 0] = -128
    assert fmt.to_vnni_grouped_4x1(as_int8).data.min() == -128  # not split
    with pytest.raises(ValueError, match="slot_max"):
        fmt.split_wide_blocks(bsr, 128)


def test_outlier_channels_take_a_finer_step_within_the_slot_budget():
    """Gaussian rows: no channel is an outlier, ``split_outliers`` changes nothing. One large
    weight in a row: that row's step falls to its next weight's (its other weights no longer
    round to 0), the large one spans several slots (int16 ``q``), the other rows are as before.
    Many outlier rows: the coarsest split within 1 % more blocks."""
    rng = np.random.default_rng(8)
    w = fmt.prune_blocks(rng.standard_normal((64, 512)).astype(np.float32), 0.7, "4x1")
    plain = fmt.quantize_weight_per_channel(w)
    same = fmt.quantize_weight_per_channel(w, split_outliers=True)
    assert same.q.dtype == np.int8 and np.array_equal(same.q, plain.q) and same.split_rows == 0
    big = w.copy()
    big[5, np.flatnonzero(big[5])[0]] = 40.0
    wq = fmt.quantize_weight_per_channel(big, split_outliers=True)
    coarse = fmt.quantize_weight_per_channel(big)
    assert wq.q.dtype == np.int16 and wq.split_rows == 1 and np.abs(wq.q[5]).max() > 127
    assert wq.scale[5] == np.float32(np.sort(np.abs(big[5]))[-2] / np.float32(127))
    others = np.arange(64) != 5
    assert np.array_equal(wq.q[others], coarse.q[others])
    assert np.array_equal(wq.scale[others], coarse.scale[others])
    assert np.array_equal(wq.row_sum, wq.q.astype(np.int32).sum(1))
    err = np.abs(wq.q[5] * wq.scale[5] - big[5]).max()
    assert err <= wq.scale[5] / 2 + 1e-6 < np.abs(coarse.q[5] * coarse.scale[5] - big[5]).max() / 8
    many = w.copy()
    many[::8, 0] = 40.0  # 8 outlier rows, ~12 extra slots each: more than 1 % of the blocks
    wq = fmt.quantize_weight_per_channel(many, split_outliers=True)
    extra = (-(-np.abs(wq.q.astype(int)) // 127) - 1).clip(0).sum()
    blocks = fmt.block_nonzero_mask(many, "4x1").sum()
    assert 0 < wq.split_rows < 8 and extra <= fmt.OUTLIER_MAX_EXTRA_BLOCKS * blocks
    small = fmt.quantize_weight_per_channel(big[:8, :64], split_outliers=True)
    assert small.split_rows == 0  # 1 % of a small layer's blocks is less than the split needs


def test_dense_vnni_packing():
    w = np.arange(32 * 8, dtype=np.int64).reshape(32, 8).astype(np.int8)
    p = fmt.pack_dense_vnni(w)
    assert p.shape == (2, 2, 16, 4)
    assert p[1, 1, 3, 2] == w[16 + 3, 4 + 2]


def test_prune_is_magnitude_based_and_exact():
    w = np.ones((8, 8), np.float32)
    w[:4, :] = 10.0  # block row 0 (4x1 blocks) has the large magnitudes
    pruned = fmt.prune_blocks(w, 0.5, "4x1")
    assert (pruned[:4] == 10).all() and (pruned[4:] == 0).all()


def test_prune_reaches_at_least_the_requested_sparsity():
    """round() once left a 768x768 weight "pruned to 70 %" at 0.699998, below a 0.7 threshold."""
    w = np.random.default_rng(0).standard_normal((768, 768)).astype(np.float32)
    for sparsity in (0.7, 0.8, 0.9):
        assert fmt.block_sparsity(fmt.prune_blocks(w, sparsity, "4x1"), "4x1") >= sparsity


def test_weight_quantization_twin():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((16, 32)).astype(np.float32)
    w[3] = 0.0
    wq = fmt.quantize_weight_per_channel(w)
    scale = np.abs(w).max(axis=1) / 127
    scale[3] = 1.0
    assert np.allclose(wq.scale, scale)
    assert np.array_equal(wq.q, np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8))
    assert np.abs(wq.q.astype(np.float32) * wq.scale[:, None] - w).max() <= scale.max() / 2 + 1e-6
    assert np.array_equal(wq.row_sum, wq.q.astype(np.int32).sum(1))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_weight_quantization_refuses_non_finite_weights(bad):
    """Casting NaN / inf to int8 gives arbitrary values (a compiled model then ran on silently):
    every INT8 weight path raises and names the channel."""
    w = np.ones((8, 16), np.float32)
    w[5, 3] = bad
    names_channel_5 = r"NaN or infinite values in output channel\(s\) \[5\]"
    for quantize in (
        fmt.quantize_weight_per_channel,
        lambda w: fmt.quantize_weight_per_channel(w, split_outliers=True),
        fmt.quantize_weight_pair_bounded,
    ):
        with pytest.raises(ValueError, match=names_channel_5):
            quantize(w)


def test_activation_quantization_and_zero_point_compensation():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((8, 32)) * 3 + 1).astype(np.float32)
    xq, qp = fmt.quantize_activation_u8(x)
    assert 0 <= qp.zero_point <= 255
    assert (
        np.abs((xq.astype(np.float32) - qp.zero_point) * qp.scale - x).max() <= qp.scale / 2 + 1e-5
    )
    wq = fmt.quantize_weight_per_channel(rng.standard_normal((16, 32)).astype(np.float32))
    acc = xq.astype(np.int32) @ wq.q.T.astype(np.int32)
    lhs = acc - fmt.zero_point_compensation(wq, qp.zero_point)
    rhs = (xq.astype(np.int32) - qp.zero_point) @ wq.q.T.astype(np.int32)
    assert np.array_equal(lhs, rhs)
    # all-positive input: zero stays exactly representable
    assert fmt.activation_qparams(1.0, 3.0).zero_point == 0
