"""The 8-lane (ymm) 4x1 kernel: AVX2 (vpmaddubsw + vpmaddwd, input channels paired within the
s16 pair sum) and AVX-VNNI
(vpdpbusd ymm): bit-exact against numpy on full-range u8 activations with per-token
parameters, every epilogue and tile,
executed where the host has the level (AVX-VNNI's also as its EVEX twin on AVX-512 VNNI hosts);
assembly of both levels on any host."""

import re

import numpy as np
import pytest
from conftest import (
    AVX_VNNI_RUNS,
    avx_vnni_run_target,
    build_level_kernel,
    cross_target,
    level_target,
    requires_isa,
    requires_x86,
)

from tvm_blocksparse import format as fmt
from tvm_blocksparse import linear, registry
from tvm_blocksparse.op import bsr_int8_4x1
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.quantize import padded_tokens
from tvm_blocksparse.testing import (
    int8_linear_ref,
    outlier_block_sparse,
    random_block_sparse,
    random_token_qparams,
)

EPILOGUES = [
    Epilogue("int32"),
    Epilogue("float32"),
    Epilogue("float32", bias=True, gelu=True),
    Epilogue("float32", bias=True, residual=True),
    Epilogue("uint8", bias=True, gelu=True),
    Epilogue("uint8", bias=True, residual=True),
    Epilogue("float32", bias=True, transposed_out=True),
    Epilogue("uint8", bias=True, gelu=True, transposed_out=True),
]
IDS = ["int32", "f32", "bias_gelu", "bias_residual", "u8_gelu", "u8_residual", "t_bias", "t_u8"]


def _case(
    spec,
    m,
    n,
    k,
    ep,
    tile,
    chunk,
    seed=0,
    groups_outer=False,
    slab=False,
    row_groups=1,
    target=None,
):
    """``spec``'s kernel (compiled for ``target``, default its own level on this CPU) on full-range
    u8 activations, and the numpy twin's output."""
    rng = np.random.default_rng(seed)
    w = random_block_sparse(rng, n, k, 0.8, "4x1", np.float32)
    wq = spec.quantized_weight(w)
    x_u8 = rng.integers(0, 256, (m, k), dtype=np.uint8)  # full u8 range
    x_q, out_q = random_token_qparams(rng, m), fmt.ActivationQuant(0.04, 100)
    x_scale, x_zp = fmt.qparams_arrays(x_q, padded_tokens(m))
    bias = rng.standard_normal(n).astype(np.float32)
    residual = rng.standard_normal((m, n)).astype(np.float32)
    kern, arrays = build_level_kernel(  # this level's kernel, not the host's best one
        spec,
        w,
        m,
        ep,
        registry.Bsr4x1Config(tile, chunk, row_groups, groups_outer=groups_outer, slab=slab),
        target,
    )
    feeds = dict(
        XT=linear.transpose_pad_u8(x_u8),
        x_scale=x_scale,
        x_zp=x_zp,
        bias=bias,
        residual=residual,
        out_scale=np.array([out_q.scale], np.float32),
        out_zp=np.array([out_q.zero_point], np.int32),
    )
    ref = int8_linear_ref(x_u8, wq, ep, x_q, bias, residual, out_q)
    return kern(**arrays, **feeds), ref.T if ep.transposed_out else ref


def _ymm_runs(avx2_spec, vnni_spec, name: str) -> list:
    """``(spec, target run)`` params: the AVX2 kernel on this CPU's AVX2 level, the AVX-VNNI one
    in its VEX encoding and as its EVEX twin (``conftest.AVX_VNNI_RUNS``)."""
    return [
        pytest.param(avx2_spec, None, marks=requires_isa("avx2"), id=f"avx2_{name}"),
        *(
            pytest.param(vnni_spec, run.values[0], marks=run.marks, id=f"avx_vnni_{name}_{run.id}")
            for run in AVX_VNNI_RUNS
        ),
    ]


def _run_target(spec, run):
    return avx_vnni_run_target(run) if run else level_target(spec.isa.name)


def _check(y, ref, ep):
    assert y.shape == ref.shape and y.dtype == ref.dtype
    if ep.out_dtype == "float32":  # float epilogue: FMA contraction may round differently
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    else:  # integer sums and the u8 requantization: bit for bit
        np.testing.assert_array_equal(y, ref)


@requires_isa("avx2")
@pytest.mark.parametrize("ep", EPILOGUES, ids=IDS)
@pytest.mark.parametrize("tile, chunk", [(8, None), (16, None), (16, 1), (24, None), (32, 1)])
def test_avx2_4x1_equals_numpy_on_full_range_data(ep, tile, chunk):
    m = 48 if ep.transposed_out else 37  # Y^T needs M % 16 == 0; 37 leaves a ragged tail
    y, ref = _case(registry.INT8_4X1_AVX2, m, 64, 96, ep, tile, chunk)
    _check(y, ref, ep)


@requires_isa("avx2")
@pytest.mark.parametrize("ep", EPILOGUES, ids=IDS)
def test_avx2_4x1_groups_outer_equals_numpy_on_full_range_data(ep):
    """Groups outermost, the block row's accumulators of 4 token tiles in memory: the same bits
    (float outputs within FMA rounding)."""
    m = 64 if ep.transposed_out else 53  # 4 tiles; 53 leaves a ragged last tile
    y, ref = _case(registry.INT8_4X1_AVX2, m, 64, 96, ep, 16, None, groups_outer=True)
    _check(y, ref, ep)


def test_groups_outer_refuses_what_it_does_not_walk():
    ep = Epilogue("uint8", bias=True)
    for kwargs in (dict(lanes=16), dict(token_tile=8, lanes=8), dict(token_chunk=1, lanes=8)):
        args = {"token_tile": 16, **kwargs}
        with pytest.raises(ValueError, match="groups_outer needs lanes=8, token_tile=16"):
            bsr_int8_4x1.bsr_dense_int8_4x1(64, 64, 96, 10, ep, groups_outer=True, **args)


@requires_isa("avx2")
@pytest.mark.parametrize("ep", EPILOGUES, ids=IDS)
@pytest.mark.parametrize("row_groups", [1, 2])
@pytest.mark.parametrize("k", [97, 2056], ids=["paired", "split"])
def test_avx2_4x1_slab_equals_numpy_on_full_range_data(ep, row_groups, k):
    """The slab-staged walk: each task's 16-token ``XT`` columns copied into a contiguous slab,
    rows gathered by ``w_slab_offsets``: the same bits (float outputs within FMA rounding), with
    one or two row groups per tile, in both slab layouts (97 channels: paired, the last block
    half filled; 2056: split)."""
    assert bsr_int8_4x1.slab_paired(k) == (k == 97)
    m = 48 if ep.transposed_out else 37  # 3 tiles; 37 leaves a ragged last tile
    y, ref = _case(registry.INT8_4X1_AVX2, m, 64, k, ep, 16, 1, slab=True, row_groups=row_groups)
    _check(y, ref, ep)


@pytest.mark.parametrize(
    "spec, run", _ymm_runs(registry.INT8_4X1_AVX2, registry.INT8_4X1_AVX_VNNI, "4x1")
)
@pytest.mark.parametrize("k", [97, 2056], ids=["paired", "split"])
def test_ymm_4x1_dynamic_requant_equals_the_range_and_quantize_of_its_float_output(spec, run, k):
    """``dynamic_requant``: each token's u8 parameters from the range of its float outputs
    (bias + GELU) over all channels, and ``Y^T`` requantized by them (in 16-token tiles), bit
    for bit what ``format.token_qparams`` and ``quantize_activation_u8`` give on the float
    kernel's ``Y^T`` (the passes it replaces); full-range activations, 3 token tiles, both slab
    layouts."""
    m, n = 48, 132
    ep_f = Epilogue("float32", bias=True, gelu=True, transposed_out=True)
    ep_d = Epilogue("uint8", bias=True, gelu=True, transposed_out=True, dynamic_requant=True)
    rng = np.random.default_rng(4)
    w = random_block_sparse(rng, n, k, 0.8, "4x1", np.float32)
    x_q = random_token_qparams(rng, m)
    x_scale, x_zp = fmt.qparams_arrays(x_q, padded_tokens(m))
    feeds = dict(
        XT=linear.transpose_pad_u8(rng.integers(0, 256, (m, k), dtype=np.uint8)),
        x_scale=x_scale,
        x_zp=x_zp,
        bias=rng.standard_normal(n).astype(np.float32),
    )
    outs = {}
    for ep in (ep_f, ep_d):
        config = spec.default_config(m, n, k, ep)
        kern, arrays = build_level_kernel(spec, w, m, ep, config, _run_target(spec, run))
        outs[ep.out_dtype] = kern.outputs(**arrays, **feeds)
    y_t = outs["float32"]["Y"]
    qp = fmt.token_qparams(np.ascontiguousarray(y_t.T))
    fused = outs["uint8"]
    np.testing.assert_array_equal(fused["y_scale"], qp.scale)
    np.testing.assert_array_equal(fused["y_zp"], qp.zero_point)
    y_q = fmt.quantize_activation_u8(y_t.T, qp)[0].T  # [N, M]
    np.testing.assert_array_equal(fused["Y"], y_q.reshape(n, m // 16, 16).transpose(1, 0, 2))
    assert fused["Y"].min() == 0 and fused["Y"].max() == 255


@requires_isa("avx2")
@pytest.mark.parametrize("k", [97, 2056], ids=["paired", "split"])
def test_avx2_4x1_slab_reads_xt_in_16_token_tiles(k):
    """``xt_tiles``: the slab walk given ``XT`` as ``u8[Mp / 16, K, 16]`` (a ``dynamic_requant``
    producer's layout) gives the bits it gives on ``XT[K, Mp]``."""
    spec, m, n, ep = registry.INT8_4X1_AVX2, 48, 64, Epilogue("uint8", bias=True, residual=True)
    rng = np.random.default_rng(6)
    w = random_block_sparse(rng, n, k, 0.8, "4x1", np.float32)
    x_scale, x_zp = fmt.qparams_arrays(random_token_qparams(rng, m), padded_tokens(m))
    xt = linear.transpose_pad_u8(rng.integers(0, 256, (m, k), dtype=np.uint8))
    feeds = dict(
        x_scale=x_scale,
        x_zp=x_zp,
        bias=rng.standard_normal(n).astype(np.float32),
        residual=rng.standard_normal((m, n)).astype(np.float32),
        out_scale=np.array([0.04], np.float32),
        out_zp=np.array([100], np.int32),
    )
    ys = []
    for tiles in (False, True):
        kern, arrays = linear.build_linear(
            spec.kind,
            w,
            m,
            ep,
            config=registry.Bsr4x1Config(16, 1, slab=True, xt_tiles=tiles),
            target=level_target("avx2"),
        )
        x_in = xt.reshape(k, m // 16, 16).transpose(1, 0, 2) if tiles else xt
        ys.append(kern(XT=np.ascontiguousarray(x_in), **arrays, **feeds))
    np.testing.assert_array_equal(ys[1], ys[0])


def test_dynamic_requant_needs_the_slab_walk_with_one_row_group():
    ep = Epilogue("uint8", bias=True, transposed_out=True, dynamic_requant=True)
    build = bsr_int8_4x1.bsr_dense_int8_4x1
    with pytest.raises(ValueError, match="dynamic_requant needs the slab walk"):
        build(64, 64, 96, 10, ep, token_tile=16, lanes=8)
    with pytest.raises(ValueError, match="dynamic_requant needs the slab walk"):
        build(64, 64, 96, 10, ep, token_tile=16, token_chunk=1, row_groups=2, lanes=8, slab=True)
    with pytest.raises(ValueError, match="uint8, transposed_out"):
        Epilogue("float32", transposed_out=True, dynamic_requant=True).validate(True)
    with pytest.raises(ValueError, match="xt_tiles"):
        build(64, 64, 96, 10, Epilogue("float32"), token_tile=16, lanes=8, xt_tiles=True)
    with pytest.raises(ValueError, match="16-token tiles"):
        registry.INT8_4X1_AVX2.default_config(64, 64, 96, ep, token_tile=8)
    assert registry.INT8_4X1_AVX2.default_config(64, 64, 96, ep, threads=2).row_groups == 1
    assert registry.INT8_4X1_AVX2.dynamic_requant and not registry.INT8_4X1.dynamic_requant


def test_slab_row_offsets_address_each_channels_window():
    """Paired: channels 2j, 2j+1 in 32-byte block j, 8 bytes apart; split: 32 bytes a channel."""
    cols = np.array([[0, 1, 2, 3], [5, 6, 95, 96]])
    paired = bsr_int8_4x1.slab_row_offsets(cols, 97)
    assert paired.tolist() == [[0, 8, 32, 40], [72, 96, 1512, 1536]]
    split = bsr_int8_4x1.slab_row_offsets(cols, 4096)
    assert split.tolist() == [[0, 32, 64, 96], [160, 192, 3040, 3072]]
    assert paired.dtype == split.dtype == np.int32
    with pytest.raises(ValueError, match="overflows int32 slab offsets"):
        bsr_int8_4x1.slab_row_offsets(cols, 2**26)


def test_slab_refuses_what_it_does_not_walk():
    ep = Epilogue("uint8", bias=True)
    for kwargs in (
        dict(lanes=16),
        dict(token_tile=8, lanes=8),
        dict(token_chunk=3, lanes=8),
        dict(groups_outer=True, lanes=8),
    ):
        args = {"token_tile": 16, **kwargs}
        with pytest.raises(ValueError, match="slab needs lanes=8, token_tile=16"):
            bsr_int8_4x1.bsr_dense_int8_4x1(96, 64, 96, 10, ep, slab=True, **args)


@pytest.mark.parametrize("run", AVX_VNNI_RUNS)
@pytest.mark.parametrize("ep", EPILOGUES, ids=IDS)
@pytest.mark.parametrize(
    "chunk, slab, k",
    [(None, False, 96), (1, True, 97), (1, True, 2056)],
    ids=["rows", "paired", "split"],
)
def test_avx_vnni_4x1_equals_numpy_on_full_range_data(ep, run, chunk, slab, k):
    """The AVX-VNNI kernel (``vpdpbusd ymm`` on unpaired full-range s8 weights) block rows
    outermost and in the slab walk, both slab layouts: numpy's bits."""
    m = 48 if ep.transposed_out else 37
    target = avx_vnni_run_target(run)
    y, ref = _case(registry.INT8_4X1_AVX_VNNI, m, 64, k, ep, 16, chunk, slab=slab, target=target)
    _check(y, ref, ep)


@requires_isa("avx2")
def test_avx2_dense_int8_is_the_4x1_kernel_over_every_group():
    rng = np.random.default_rng(3)
    m, n, k = 20, 32, 64
    # 75 % of the 4x1 blocks are zero: the dense kernel must still do (and be timed on) them all
    w = fmt.prune_blocks(rng.standard_normal((n, k)).astype(np.float32), 0.75, "4x1")
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)
    kern, arrays = linear.build_linear("int8_dense", w, m, target=level_target("avx2"))
    assert registry.INT8_DENSE_AVX2.block_count(arrays) == n // 4 * k // 4
    sparse_groups = registry.INT8_4X1_AVX2.block_count(registry.INT8_4X1_AVX2.prepare_weight(w, m))
    assert sparse_groups < n // 4 * k // 4 // 2  # the sparse kernel skips them (groups pad to 4)
    wq = registry.INT8_DENSE_AVX2.quantized_weight(w)
    np.testing.assert_array_equal(
        kern(XT=linear.transpose_pad_u8(x), **arrays), x.astype(np.int32) @ wq.q.T.astype(np.int32)
    )


def _vpmaddubsw_sums(grouped: fmt.VNNIGroupedBSR, x_u8: np.ndarray) -> np.ndarray:
    """``int32[G, 4, M, 2]``: the s16 pair sums ``vpmaddubsw`` forms for every group, row, token
    and slot pair (slots 0-1, 2-3) before it saturates."""
    x = x_u8.astype(np.int32)[:, grouped.cols]  # [M, G, 4]
    prods = x.transpose(1, 0, 2)[:, None] * grouped.data.astype(np.int32)[:, :, None, :]
    return prods[..., 0::2] + prods[..., 1::2]


@requires_isa("avx2")
@pytest.mark.parametrize(
    "spec", [registry.INT8_4X1_AVX2, registry.INT8_DENSE_AVX2], ids=["4x1", "dense"]
)
def test_avx2_4x1_is_exact_on_full_range_int8_weights_that_column_order_would_saturate(spec):
    """s8 weights in [-128, 127] and u8 activations at the range's ends: in column order some
    ``vpmaddubsw`` pair sums would pass 32767 (and saturate); the AVX2 layouts (sparse and
    dense) pair the input channels so that none does, and the kernel equals the int32 product
    bit for bit."""
    m, n, k = 32, 64, 96
    rng = np.random.default_rng(11)
    w = random_block_sparse(rng, n, k, 0.5, "4x1", np.int8)
    w[0, w[0] != 0] = -128  # the range's ends
    w[1, w[1] != 0] = 127
    x = rng.choice(np.array([0, 1, 254, 255], np.uint8), (m, k))
    every = spec.block is None
    naive = np.abs(_vpmaddubsw_sums(fmt.to_vnni_grouped_4x1(w, every), x)).max()
    paired = fmt.to_vnni_grouped_4x1(w, every, pair_bound=fmt.PAIR_SUM_BOUND)
    assert naive > 32767 >= np.abs(_vpmaddubsw_sums(paired, x)).max()
    kern, arrays = linear.build_linear(
        spec.kind, w, m, Epilogue("int32"), target=level_target("avx2")
    )
    np.testing.assert_array_equal(arrays["w_data"], paired.data)
    y = kern(XT=linear.transpose_pad_u8(x), **arrays)
    np.testing.assert_array_equal(y, x.astype(np.int32) @ w.T.astype(np.int32))


@pytest.mark.parametrize(
    "spec, run",
    [
        *_ymm_runs(registry.INT8_4X1_AVX2, registry.INT8_4X1_AVX_VNNI, "4x1"),
        *_ymm_runs(registry.INT8_DENSE_AVX2, registry.INT8_DENSE_AVX_VNNI, "dense"),
    ],
)
def test_split_outlier_channels_are_exact(spec, run):
    """Float weights with outlier channels: their large weights exceed the slot (int16 ``q``) and
    span repeated slots of their input channel; on u8 activations at the range's ends the kernel
    equals ``x @ q.T`` bit for bit (on AVX2 no ``vpmaddubsw`` pair sum saturates), and its
    dequantizing epilogue equals the numpy twin."""
    m, n, k = 32, 64, 512
    rng = np.random.default_rng(13)
    w = outlier_block_sparse(rng, n, k, 0.0 if spec.block is None else 0.7)
    wq = spec.quantized_weight(w)
    assert wq.q.dtype == np.int16 and wq.split_rows == 2
    x = rng.choice(np.array([0, 1, 254, 255], np.uint8), (m, k))
    target = _run_target(spec, run)
    kern, arrays = build_level_kernel(spec, w, m, Epilogue("int32"), target=target)
    assert np.abs(arrays["w_data"].astype(int)).max() <= wq.qmax
    y = kern(XT=linear.transpose_pad_u8(x), **arrays)
    np.testing.assert_array_equal(y, x.astype(np.int32) @ wq.q.T.astype(np.int32))
    ep = Epilogue("float32", bias=True)
    x_q = random_token_qparams(rng, m)
    x_scale, x_zp = fmt.qparams_arrays(x_q, padded_tokens(m))
    bias = rng.standard_normal(n).astype(np.float32)
    kern, arrays = build_level_kernel(spec, w, m, ep, target=target)
    y = kern(XT=linear.transpose_pad_u8(x), x_scale=x_scale, x_zp=x_zp, bias=bias, **arrays)
    np.testing.assert_allclose(y, int8_linear_ref(x, wq, ep, x_q, bias), rtol=1e-5, atol=1e-4)


@requires_x86
@pytest.mark.parametrize(
    "ep",
    [
        Epilogue("float32", bias=True),
        Epilogue("float32", bias=True, transposed_out=True),
        Epilogue("uint8", bias=True, residual=True),
        Epilogue("uint8", bias=True, gelu=True, transposed_out=True, dynamic_requant=True),
    ],
    ids=["f32", "t_f32", "u8_residual", "dynamic_requant"],
)
def test_avx2_slab_group_loop_keeps_its_operands_in_registers(ep):
    """The slab walk's group loop (8 accumulators, 2 packed vectors, the ``vpmaddwd`` ones and
    temporaries: all 16 ymm) reads only the slab and the group's weights and offsets: no
    constant-pool or stack operand, whatever the epilogue keeps per token tile
    (``row_opaque_zero`` keeps its per-token parameters out of the loop's registers)."""
    w = random_block_sparse(np.random.default_rng(0), 64, 96, 0.8, "4x1", np.float32)
    kern, _ = linear.build_linear("int8_4x1", w, 48, ep, target=cross_target("avx2"))
    loop = next(b for b in re.split(r"\n\.LBB\S*:", kern.asm()) if "vpmaddubsw" in b)
    assert loop.count("vpmaddubsw") == 8 and loop.count("vpmaddwd") == 8
    for operand in ("(%rip)", "(%rsp)"):
        assert operand not in loop, operand


def test_avx2_weights_take_the_finest_range_whose_pairs_fit():
    """Float weights: a per-layer range of ``PAIR_BOUNDED_QMAX`` (127 when nothing needs a zero
    partner; 64 when every finer range would add more than 1 % of groups); VNNI levels keep 127
    for every layer."""
    spec = registry.INT8_4X1_AVX2
    rng = np.random.default_rng(12)
    w = random_block_sparse(rng, 64, 256, 0.9, "4x1", np.float32)
    assert spec.quantized_weight(w).qmax in fmt.PAIR_BOUNDED_QMAX
    one_big = np.zeros((8, 64), np.float32)
    one_big[:, 0] = 100.0  # one large weight per row, the others <= 1 at 127 levels: all pair
    one_big[:, 1:] = rng.uniform(-1, 1, (8, 63))
    assert spec.quantized_weight(one_big).qmax == 127
    crowded = np.full((8, 64), 3.0, np.float32)  # every weight the row's largest: none pair
    assert spec.quantized_weight(crowded).qmax == 64
    assert registry.INT8_4X1_AVX_VNNI.quantized_weight(crowded).qmax == 127
    assert spec.prepare_weight(crowded, 4)["w_data"].max() == 64


@requires_x86
@pytest.mark.parametrize(
    "level, dot, not_there",
    [
        ("avx2", ["vpmaddubsw", "vpmaddwd"], ["vpdpbusd", "%zmm"]),
        ("avx_vnni", ["vpdpbusd"], ["vpmaddubsw", "%zmm"]),
    ],
)
@pytest.mark.parametrize(
    "config, unpacks",
    [
        # 16-byte XT rows: byte and word unpacks of xmm halves, two vinserti128
        (
            registry.Bsr4x1Config(16, None),
            {"vpunpcklbw": 2, "vpunpckhbw": 2, "vpunpcklwd": 2, "vpunpckhwd": 2},
        ),
        # 32-byte slab windows: 2 byte + 2 word unpacks in ymm lanes, nothing crossing lanes
        (
            registry.Bsr4x1Config(16, 1, slab=True),
            {"vpunpcklbw": 2, "vpunpckhbw": 0, "vpunpcklwd": 1, "vpunpckhwd": 1, "vinserti": 0},
        ),
    ],
    ids=["rows_outer", "slab"],
)
def test_ymm_4x1_asm_has_the_levels_dot_step_in_its_group_loop(
    level, dot, not_there, config, unpacks
):
    spec = registry.lookup("int8_4x1", cross_target(level))
    assert spec.isa.name == level
    w = random_block_sparse(np.random.default_rng(0), 64, 96, 0.8, "4x1", np.float32)
    kern, _ = linear.build_linear(
        "int8_4x1",
        w,
        64,
        Epilogue("float32", bias=True),
        target=cross_target(level),
        config=config,
    )
    asm = kern.asm()
    for instr in dot:
        # 4 channels x 2 token vectors per group: at least 8 dot steps in the unrolled loop
        assert asm.count(instr) >= 8, (instr, asm.count(instr))
    for instr in not_there:
        assert instr not in asm
    assert "%ymm" in asm
    # the group loop packs its 16 tokens x 4 channels with in-lane unpacks, no mask shuffles
    loop = next(b for b in re.split(r"\n\.LBB\S*:", asm) if dot[0] in b)
    for instr, count in unpacks.items():
        assert loop.count(instr) == count, (instr, loop.count(instr))
    # ... and takes its row offsets as loaded (no vector arithmetic on them, no extracts)
    for instr in ("vpshufb", "vpermq", "vpblendw", "(%rsp)", "vpextrd", "vpsrad"):
        assert instr not in loop, instr
