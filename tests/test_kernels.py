"""Kernel correctness: INT8 bit-exact on full-range data, FP32 to a stated tolerance."""

import dataclasses
import re

import numpy as np
import pytest
import tvm
from conftest import cross_target, level_target, requires_isa, requires_x86
from tvm.target import Target

from tvm_blocksparse import format as fmt
from tvm_blocksparse import linear, registry
from tvm_blocksparse.op import bsr_fp32_4x1
from tvm_blocksparse.op.bsr_int8_4x1 import bsr_dense_int8_4x1
from tvm_blocksparse.op.epilogue import Epilogue, erf_f32
from tvm_blocksparse.op.quantize import padded_tokens
from tvm_blocksparse.op.token_tiles import TokenTiles, from_token_tiles, to_token_tiles
from tvm_blocksparse.target import host_target
from tvm_blocksparse.testing import (
    fp32_linear_ref,
    int8_linear_ref,
    outlier_block_sparse,
    random_block_sparse,
    random_token_qparams,
)

INT8_BLOCKS = {"int8_4x1": "4x1", "int8_16x4": "16x4", "int8_dense": "16x4"}


def _token_params(x_q: fmt.ActivationQuant, m: int) -> dict:
    """``x_scale``/``x_zp`` kernel arguments of per-token (or per-tensor) parameters."""
    x_scale, x_zp = fmt.qparams_arrays(x_q, padded_tokens(m))
    return dict(x_scale=x_scale, x_zp=x_zp)


FP32_TOL = dict(rtol=1e-5, atol=1e-4)  # fp32 accumulation order differs from float64 numpy


def _inputs_for(kind, x_u8_or_f32, arrays, **extra):
    x_key = (
        {"XT": linear.transpose_pad_u8(x_u8_or_f32)} if kind == "int8_4x1" else {"X": x_u8_or_f32}
    )
    return {**x_key, **arrays, **extra}  # bind ignores what this kernel does not take


def _run_int8_raw(kind, m, n, k, sparsity, seed=0):
    rng = np.random.default_rng(seed)
    w = random_block_sparse(rng, n, k, 0.0 if kind == "int8_dense" else sparsity, INT8_BLOCKS[kind])
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)  # full u8 range
    kern, arrays = linear.build_linear(kind, w, m)
    y = kern(**_inputs_for(kind, x, arrays))
    return y, x.astype(np.int32) @ w.T.astype(np.int32)


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("kind", list(INT8_BLOCKS))
@pytest.mark.parametrize("m", [1, 3, 17, 128, 384])
def test_int8_bit_exact_full_range(kind, m):
    y, ref = _run_int8_raw(kind, m, 64, 96, 0.8, seed=m)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, ref)


@requires_isa("avx512_vnni")
def test_int8_4x1_split_outlier_channels_are_exact():
    """Float weights with outlier channels: the 4x1 kernel's large weights span repeated slots
    of their input channel (int16 ``q``) and it equals ``x @ q.T`` bit for bit on full-range
    activations; the 16x4 and dense layouts (no repeated slots) keep int8 weights."""
    m, n, k = 48, 64, 512
    rng = np.random.default_rng(14)
    w = outlier_block_sparse(rng, n, k, 0.7)
    wq = registry.INT8_4X1.quantized_weight(w)
    assert wq.q.dtype == np.int16 and wq.split_rows == 2
    assert registry.INT8_16X4.quantized_weight(w).q.dtype == np.int8
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)
    kern, arrays = linear.build_linear(
        "int8_4x1", w, m, Epilogue("int32"), target=level_target("avx512_vnni")
    )
    y = kern(**_inputs_for("int8_4x1", x, arrays))
    np.testing.assert_array_equal(y, x.astype(np.int32) @ wq.q.T.astype(np.int32))


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("kind", ["int8_4x1", "int8_16x4"])
@pytest.mark.parametrize("sparsity", [0.0, 0.7, 0.9, 1.0])
def test_int8_sparsity_range(kind, sparsity):
    y, ref = _run_int8_raw(kind, 40, 48, 64, sparsity)
    np.testing.assert_array_equal(y, ref)
    if sparsity == 1.0:
        assert not y.any()


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("kind", ["int8_4x1", "int8_16x4"])
def test_int8_single_nonzero_block_and_empty_rows(kind):
    rng = np.random.default_rng(7)
    n, k = 32, 64
    bs_out, bs_in = fmt.parse_block(INT8_BLOCKS[kind])
    w = np.zeros((n, k), np.int8)
    w[bs_out : 2 * bs_out, 3 * bs_in : 4 * bs_in] = rng.integers(-128, 128, (bs_out, bs_in))
    x = rng.integers(0, 256, (5, k), dtype=np.uint8)
    kern, arrays = linear.build_linear(kind, w, 5)
    y = kern(**_inputs_for(kind, x, arrays))
    np.testing.assert_array_equal(y, x.astype(np.int32) @ w.T.astype(np.int32))


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("token_chunk", [None, 1, 3])
def test_int8_4x1_tile_orders_are_bit_exact(token_chunk):
    """Token tiles outermost (chunk 1), in chunks of 3, or block rows outermost (None): same
    integers, ragged last tile included (M = 140 -> 9 tiles of 16)."""
    from tvm_blocksparse.schedules import schedule_bsr_dense_int8_4x1

    from tvm_blocksparse.linear import CompiledKernel

    rng = np.random.default_rng(9)
    w = random_block_sparse(rng, 48, 64, 0.8, "4x1")
    x = rng.integers(0, 256, (140, 64), dtype=np.uint8)
    _, _, arrays = linear.prepare_linear("int8_4x1", w, 140, Epilogue("int32"), 16)
    func = bsr_dense_int8_4x1(
        140, 48, 64, arrays["w_xt_offsets"].shape[0], Epilogue("int32"), 16, token_chunk
    )
    kern = CompiledKernel(func, schedule_bsr_dense_int8_4x1)
    np.testing.assert_array_equal(
        kern(**_inputs_for("int8_4x1", x, arrays)), x.astype(np.int32) @ w.T.astype(np.int32)
    )


def test_int8_4x1_token_chunk_must_divide_the_tiles_and_default_follows_l1():
    with pytest.raises(ValueError, match="token_chunk"):
        bsr_dense_int8_4x1(140, 48, 64, 4, Epilogue("int32"), 16, 2)  # 9 tiles
    from tvm_blocksparse.op.bsr_int8_4x1 import default_token_chunk_4x1

    assert default_token_chunk_4x1(1024, 768, 48) == 1  # XT tile 36 KB: token tiles outermost
    assert default_token_chunk_4x1(1024, 3072, 48) is None  # 144 KB: block rows outermost
    assert default_token_chunk_4x1(32, 768, 32) is None  # one tile: nothing to order
    assert default_token_chunk_4x1(128, 3072, 64) == 1  # 64-token tiles: outermost at any K
    assert default_token_chunk_4x1(64, 3072, 64) is None
    from tvm_blocksparse.op.bsr_int8_4x1 import default_token_tile_4x1

    assert [default_token_tile_4x1(m) for m in (128, 120, 384, 50, 140, 96)] == [
        64,
        64,
        64,
        64,
        48,
        48,
    ]


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("token_tile", [16, 32, 48, 64])
def test_int8_4x1_token_tiles(token_tile):
    rng = np.random.default_rng(8)
    w = random_block_sparse(rng, 32, 64, 0.85, "4x1")
    x = rng.integers(0, 256, (50, 64), dtype=np.uint8)
    kern, arrays = linear.build_linear("int8_4x1", w, 50, token_tile=token_tile)
    np.testing.assert_array_equal(
        kern(**_inputs_for("int8_4x1", x, arrays)), x.astype(np.int32) @ w.T.astype(np.int32)
    )


@requires_isa("avx512_vnni")
def test_per_layer_kernel_constructors_parse_once_per_shape():
    """The pass asks for these once per layer; each shape is parsed once and shared (a model's
    compile time was mostly TVMScript parsing)."""
    from tvm_blocksparse.op.attention import attention_int8
    from tvm_blocksparse.op.layer_norm import layer_norm_qparams
    from tvm_blocksparse.op.quantize import dynamic_qparams, quantize_transpose_u8, quantize_u8

    assert quantize_transpose_u8(64, 128) is quantize_transpose_u8(64, 128)
    assert quantize_transpose_u8(64, 128) is not quantize_transpose_u8(64, 192)
    assert dynamic_qparams(64, 128) is dynamic_qparams(64, 128)
    assert quantize_u8(64, 128) is quantize_u8(64, 128)
    assert layer_norm_qparams(64, 128, 1e-12) is layer_norm_qparams(64, 128, 1e-12)
    assert layer_norm_qparams(64, 128, 1e-12) is not layer_norm_qparams(64, 128, 1e-5)
    assert attention_int8(64, 2, 64, 0.125) is attention_int8(64, 2, 64, 0.125)


@requires_isa("avx512_vnni")
def test_int8_4x1_symbolic_group_count_serves_every_weight():
    """One compiled 4x1 kernel with a symbolic group count (what the pass builds, one per layer
    shape) runs weights of different sparsity, bit-exact on full-range data; the PrimFunc is
    parsed once per shape and epilogue; other kernels refuse a symbolic block count."""
    m, n, k = 64, 32, 96
    spec, config = (
        registry.INT8_4X1,
        linear.kernel_config("int8_4x1", m, n, k, Epilogue("int32"), 64),
    )
    func = spec.build(m, n, k, None, Epilogue("int32"), config)
    assert func is spec.build(m, n, k, None, Epilogue("int32"), config)
    kern = linear.CompiledKernel(func, spec.schedule)
    rng = np.random.default_rng(21)
    groups = set()
    for sparsity in (0.9, 0.5, 1.0):
        w = random_block_sparse(rng, n, k, sparsity, "4x1")
        x = rng.integers(0, 256, (m, k), dtype=np.uint8)
        _, _, arrays = linear.prepare_linear("int8_4x1", w, m, Epilogue("int32"), 64)
        groups.add(spec.block_count(arrays))
        y = kern(**_inputs_for("int8_4x1", x, arrays))
        np.testing.assert_array_equal(y, x.astype(np.int32) @ w.T.astype(np.int32))
    assert len(groups) == 3
    with pytest.raises(ValueError, match="symbolic"):
        registry.FP32_1X16.build(m, n, k, None, Epilogue("float32"), registry.Fp32Bsr1x16Config())


def _epilogue_case(kind, ep, m=19, n=48, k=64, seed=9):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k)).astype(np.float32)
    if kind != "int8_dense":
        w = fmt.prune_blocks(w, 0.75, INT8_BLOCKS[kind])
    wq = fmt.quantize_weight_per_channel(w)
    x_f = rng.standard_normal((m, k)).astype(np.float32)
    x_u8, x_q = fmt.quantize_activation_u8(x_f, fmt.token_qparams(x_f))
    bias = rng.standard_normal(n).astype(np.float32)
    residual = rng.standard_normal((m, n)).astype(np.float32)
    out_q = fmt.ActivationQuant(scale=0.05, zero_point=100)
    kern, arrays = linear.build_linear(kind, w, m, epilogue=ep)
    extra = dict(
        **_token_params(x_q, m),
        bias=bias,
        residual=residual,
        out_scale=np.array([out_q.scale], np.float32),
        out_zp=np.array([out_q.zero_point], np.int32),
    )
    y = kern(**_inputs_for(kind, x_u8, arrays, **extra))
    ref = int8_linear_ref(x_u8, wq, ep, x_q, bias, residual, out_q)
    return y, ref


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("kind", list(INT8_BLOCKS))
@pytest.mark.parametrize(
    "ep",
    [
        Epilogue("float32"),
        Epilogue("float32", bias=True, gelu=True),
        Epilogue("float32", bias=True, residual=True),
        Epilogue("float32", bias=True, gelu=True, residual=True),
    ],
    ids=["dequant", "bias_gelu", "bias_residual", "bias_gelu_residual"],
)
def test_int8_fused_float_epilogues(kind, ep):
    y, ref = _epilogue_case(kind, ep)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("kind", list(INT8_BLOCKS))
def test_int8_requant_u8_equal_to_rounding(kind):
    y, ref = _epilogue_case(kind, Epilogue("uint8", bias=True, gelu=True, residual=True))
    assert y.dtype == np.uint8
    diff = np.abs(y.astype(np.int32) - ref.astype(np.int32))
    assert diff.max() <= 1  # float32 contraction may flip a value sitting on a rounding boundary
    assert (diff == 0).mean() > 0.99


@pytest.mark.parametrize("m", [1, 3, 17, 128])
@pytest.mark.parametrize("sparsity", [0.0, 0.9, 1.0])
def test_fp32_1x16(m, sparsity):
    rng = np.random.default_rng(m)
    w = random_block_sparse(rng, 64, 80, sparsity, "1x16", np.float32)
    x = rng.standard_normal((m, 80)).astype(np.float32)
    kern, arrays = linear.build_linear("fp32_1x16", w, m)
    y = kern(**_inputs_for("fp32_1x16", x, arrays))
    np.testing.assert_allclose(y, fp32_linear_ref(x, w, Epilogue()), **FP32_TOL)


@pytest.mark.parametrize("k", [96, 88, 7])  # K % 16 == 8 and K < 16 take the staging tail loop
@pytest.mark.parametrize("token_tile,token_chunk", [(16, 1), (16, None), (12, None)])
def test_fp32_1x16_staged_and_direct(k, token_tile, token_chunk):
    """The staged kernel (16-token tiles over XS, either task order) and the direct one (tile
    12 over X) against numpy, on a token tail (M = 37) and K not a multiple of 16."""
    rng = np.random.default_rng(k)
    m, n = 37, 48
    w = random_block_sparse(rng, n, k, 0.7, "1x16", np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias, res = (
        rng.standard_normal(n).astype(np.float32),
        rng.standard_normal((m, n)).astype(np.float32),
    )
    ep = Epilogue("float32", bias=True, residual=True)
    spec = registry.FP32_1X16
    arrays = spec.prepare_weight(w, m)
    func = spec.build(
        m,
        n,
        k,
        spec.block_count(arrays),
        ep,
        registry.Fp32Bsr1x16Config(token_tile, token_chunk == 1),
    )
    assert ("dot_hi" in func.script()) == (token_tile == 16)
    kern = linear.CompiledKernel(func, spec.schedule)
    y = kern(**_inputs_for("fp32_1x16", x, arrays, bias=bias, residual=res))
    np.testing.assert_allclose(y, fp32_linear_ref(x, w, ep, bias, res), **FP32_TOL)


@requires_x86
def test_fp32_1x16_staged_asm_broadcasts_one_line_per_block():
    """Hot loop of the staged kernel: 16 FMAs whose activations are embedded broadcasts at
    consecutive offsets (one 64-byte XS line per block) and no gathers (the 16 x 16 transposes
    use contiguous row loads)."""
    rng = np.random.default_rng(5)
    w = random_block_sparse(rng, 64, 256, 0.9, "1x16", np.float32)
    asm = linear.build_linear("fp32_1x16", w, 64, target=cross_target("avx512_vnni"))[0].asm()
    offsets = re.findall(r"vfmadd231ps\s+(\d*)\(%\w+,%\w+,4\)\{1to16\}", asm)
    assert sorted({int(o or 0) for o in offsets}) == list(range(0, 64, 4)), offsets
    assert "vgather" not in asm


def test_fp32_1x16_bias_gelu_residual():
    rng = np.random.default_rng(11)
    m, n, k = 13, 32, 48
    w = random_block_sparse(rng, n, k, 0.8, "1x16", np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias, res = (
        rng.standard_normal(n).astype(np.float32),
        rng.standard_normal((m, n)).astype(np.float32),
    )
    ep = Epilogue("float32", bias=True, gelu=True, residual=True)
    kern, arrays = linear.build_linear("fp32_1x16", w, m, epilogue=ep)
    y = kern(**_inputs_for("fp32_1x16", x, arrays, bias=bias, residual=res))
    np.testing.assert_allclose(y, fp32_linear_ref(x, w, ep, bias, res), **FP32_TOL)


@requires_isa("avx2")
@pytest.mark.parametrize("m", [1, 17, 128])
@pytest.mark.parametrize("sparsity", [0.0, 0.9, 1.0])
def test_fp32_4x1(m, sparsity):
    rng = np.random.default_rng(m)
    w = random_block_sparse(rng, 64, 80, sparsity, "4x1", np.float32)
    x = rng.standard_normal((m, 80)).astype(np.float32)
    kern, arrays = linear.build_linear("fp32_4x1", w, m)
    assert arrays["w_data"].shape[1:] == (4,)  # a block: 4 output channels of 1 input channel
    y = kern(**_inputs_for("fp32_4x1", x, arrays))
    np.testing.assert_allclose(y, fp32_linear_ref(x, w, Epilogue()), **FP32_TOL)


@requires_isa("avx2")
@pytest.mark.parametrize("k", [96, 88, 7])  # K % 16 == 8 and K < 16 take the staging tail loop
@pytest.mark.parametrize("tiles_outer, prefetch", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("gelu", [False, True])
def test_fp32_4x1_epilogues_tails_and_walks(k, tiles_outer, prefetch, gelu):
    """Bias, exact GELU and residual on a token tail (M = 37) and K not a multiple of 16, in
    both task orders, with and without the software prefetches."""
    rng = np.random.default_rng(k)
    m, n = 37, 44
    w = random_block_sparse(rng, n, k, 0.7, "4x1", np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias, res = (
        rng.standard_normal(n).astype(np.float32),
        rng.standard_normal((m, n)).astype(np.float32),
    )
    ep = Epilogue("float32", bias=True, gelu=gelu, residual=True)
    spec = registry.FP32_4X1
    arrays = spec.prepare_weight(w, m)
    config = registry.Fp32Bsr4x1Config(tiles_outer, prefetch)
    func = spec.build(m, n, k, spec.block_count(arrays), ep, config)
    kern = linear.CompiledKernel(func, spec.schedule)
    # the weights' prefetch always, the XS line's (its index loaded ahead) with ``prefetch``
    assert kern.scheduled.script().count("llvm.prefetch") == (2 if prefetch else 1)
    assert "prefetcht0" in kern.asm()
    y = kern(**_inputs_for("fp32_4x1", x, arrays, bias=bias, residual=res))
    np.testing.assert_allclose(y, fp32_linear_ref(x, w, ep, bias, res), **FP32_TOL)


@requires_x86
def test_fp32_4x1_asm_is_ymm_fmas_on_broadcast_weights():
    """Built for an AVX2 CPU (Zen 3): the block loop is ymm ``vfmadd231ps`` on broadcast weights
    and staged token vectors, nothing above AVX2 (no zmm), no gathers."""
    rng = np.random.default_rng(5)
    w = random_block_sparse(rng, 64, 256, 0.9, "4x1", np.float32)
    asm = linear.build_linear("fp32_4x1", w, 64, target=cross_target("avx2"))[0].asm()
    assert len(re.findall(r"vfmadd\d+ps\s+[^\n]*%ymm", asm)) >= 8
    assert "vbroadcastss" in asm
    assert "zmm" not in asm and "vgather" not in asm


def test_fp32_4x1_refuses_what_it_cannot_store():
    from tvm_blocksparse.op.bsr_fp32_4x1 import bsr_dense_fp32_4x1

    with pytest.raises(ValueError, match="N_out % 4"):
        bsr_dense_fp32_4x1(16, 6, 8, 1)
    with pytest.raises(ValueError, match="transposed_out"):
        bsr_dense_fp32_4x1(16, 8, 8, 1, Epilogue("float32", residual=True, transposed_out=True))
    with pytest.raises(ValueError, match="multiple of 4"):
        bsr_dense_fp32_4x1(16, 24, 8, 1, Epilogue("float32", heads_out=4))  # 6 channels a head
    with pytest.raises(ValueError, match="no residual"):
        bsr_dense_fp32_4x1(16, 32, 8, 1, Epilogue("float32", residual=True, heads_out=4))


def test_only_the_fp32_4x1_kernel_stores_head_major():
    """The other kernels refuse ``heads_out`` instead of storing token-major under its name."""
    from tvm_blocksparse.op.bsr_fp32_1x16 import bsr_dense_fp32_1x16_staged

    with pytest.raises(ValueError, match="head-major"):
        bsr_dense_fp32_1x16_staged(16, 32, 8, 1, Epilogue("float32", heads_out=2))
    ep, int8 = Epilogue("float32", heads_out=2), registry.INT8_4X1_AVX2
    with pytest.raises(ValueError, match="head-major"):
        int8.build(16, 32, 8, 1, ep, int8.default_config(16, 32, 8, Epilogue("float32")))


@requires_isa("avx2")
@pytest.mark.parametrize("m, x_tiles", [(20, False), (32, True)])
def test_fp32_4x1_head_major_store_is_the_token_major_one_per_head(m, x_tiles):
    """``heads_out``: ``Y[H, M, N/H]`` holds exactly the token-major ``Y[M, N]``'s values per head
    (bias and GELU included), on a token tail and on staged tiles."""
    rng = np.random.default_rng(m)
    n, k, heads = 96, 48, 3
    w = random_block_sparse(rng, n, k, 0.7, "4x1", np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    spec = registry.FP32_4X1
    arrays = spec.prepare_weight(w, m)
    config = registry.Fp32Bsr4x1Config(x_tiles=x_tiles)
    x_in = to_token_tiles(x) if x_tiles else x
    outs = []
    for heads_out in (0, heads):
        ep = Epilogue("float32", bias=True, gelu=True, heads_out=heads_out)
        kern = linear.CompiledKernel(
            spec.build(m, n, k, spec.block_count(arrays), ep, config), spec.schedule
        )
        outs.append(kern(X=x_in, bias=bias, **arrays))
    token_major, head_major = outs
    assert head_major.shape == (heads, m, n // heads)
    np.testing.assert_array_equal(
        head_major, token_major.reshape(m, heads, n // heads).transpose(1, 0, 2)
    )
    ref = fp32_linear_ref(x, w, Epilogue("float32", bias=True, gelu=True), bias, None)
    np.testing.assert_allclose(token_major, ref, **FP32_TOL)


@requires_isa("avx2")
@pytest.mark.parametrize("m", [37, 64])
def test_fp32_4x1_tiles_out_and_in_keep_the_plain_kernels_bits(m):
    """FFN1 + GELU storing token tiles (``transposed_out``) gives the plain kernel's ``Y^T``
    per tile; FFN2 + residual reading them (``x_tiles``, no staging) gives the plain kernel's
    output on ``Y``, bit for bit, on a token tail too (the padded lanes are finite and unused)."""
    rng = np.random.default_rng(m)
    k, f = 48, 96
    w1 = random_block_sparse(rng, f, k, 0.7, "4x1", np.float32)
    w2 = random_block_sparse(rng, k, f, 0.7, "4x1", np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    b1, b2 = rng.standard_normal(f).astype(np.float32), rng.standard_normal(k).astype(np.float32)
    res = rng.standard_normal((m, k)).astype(np.float32)
    ffn1, ffn2 = (
        Epilogue("float32", bias=True, gelu=True),
        Epilogue("float32", bias=True, residual=True),
    )
    tiled = registry.Fp32Bsr4x1Config(x_tiles=True)
    k1, a1 = linear.build_linear("fp32_4x1", w1, m, ffn1)
    k1t, _ = linear.build_linear("fp32_4x1", w1, m, dataclasses.replace(ffn1, transposed_out=True))
    k2, a2 = linear.build_linear("fp32_4x1", w2, m, ffn2)
    k2t, _ = linear.build_linear("fp32_4x1", w2, m, ffn2, config=tiled)
    h = k1(X=x, bias=b1, **a1)
    np.testing.assert_allclose(h, fp32_linear_ref(x, w1, ffn1, b1), **FP32_TOL)
    tiles = k1t(X=x, bias=b1, **a1)
    assert tiles.shape == (TokenTiles(m).padded * f,) and np.isfinite(tiles).all()
    np.testing.assert_array_equal(from_token_tiles(tiles, m, f), h)
    np.testing.assert_array_equal(
        k2t(X=tiles, bias=b2, residual=res, **a2), k2(X=h, bias=b2, residual=res, **a2)
    )
    assert "stage_x" not in k2t.scheduled.script() and "stage_x" in k2.scheduled.script()


def _edge_qparams(rng, m: int) -> fmt.ActivationQuant:
    """Per-token parameters whose scales are powers of 2 (exact halves stay exact halves after
    ``x * (1 / scale)``) and whose zero points span 0..255."""
    return fmt.ActivationQuant(
        (2.0 ** rng.integers(-6, -2, m)).astype(np.float32),
        rng.integers(0, 256, m).astype(np.int32),
    )


def _values_at_the_rounding_and_clipping_edges(shape, rng, qp):
    """Random values plus, in every row, exact halves of that row's step (round half to even),
    both clip ends and values whose ``x / scale`` does not fit int32 (the 16-lane quantizer
    converts with ``vcvtps2dq``)."""
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    for i, scale in enumerate(np.asarray(qp.scale, np.float32)):
        edges = np.array([1e30, -1e30, np.inf, -np.inf, 3e9 * scale, -3e9 * scale], np.float32)
        halves = ((np.arange(-140, 140, 9) + 0.5) * scale).astype(np.float32)
        planted = np.concatenate([edges, halves])[: shape[1]]
        x[i, rng.choice(shape[1], planted.size, replace=False)] = planted
    return x


@requires_x86
@pytest.mark.parametrize("m, k", [(21, 32), (128, 48), (37, 208), (100, 768)])
@pytest.mark.parametrize(
    "level", [None, pytest.param("avx2", marks=requires_isa("avx2"))], ids=["host", "avx2"]
)
def test_quantize_transpose_matches_numpy(m, k, level):
    """Per-token quantize-transpose into ``XT`` (zmm conversions on AVX-512, plain vectors on an
    AVX2 target), bit for bit ``format.quantize_activation_u8``; 208 and 768 channels split into
    tasks of :data:`~tvm_blocksparse.op.quantize.TRANSPOSE_CHUNKS_PER_TASK` chunks and a short
    last one."""
    rng = np.random.default_rng(12)
    qp = _edge_qparams(rng, m)
    x = _values_at_the_rounding_and_clipping_edges((m, k), rng, qp)
    xq, _ = fmt.quantize_activation_u8(x, qp)
    assert xq.min() == 0 and xq.max() == 255
    kern = linear.build_quantize_transpose(m, k, target=level_target(level) if level else None)
    xt = kern(X=x, **_token_params(qp, m))
    np.testing.assert_array_equal(xt, linear.transpose_pad_u8(xq))


@requires_x86
@pytest.mark.parametrize("level", ["avx2", "avx_vnni"])
def test_ymm_quantize_transpose_packs_each_token_quad_once(level):
    """The ymm quantize-transpose's tile loop: per 16 x 16 tile, 16 ``vpackssdw`` and 8
    ``vpackuswb`` (4 token quads x 2 halves) and one ``vpshufb`` per quad, no zmm. With a
    constant shuffle mask LLVM folded the shuffle into every store's transpose (64 ``vpshufb``
    per tile); the 64-byte shuffles of the zmm form took 32."""
    from tvm_blocksparse.op.quantize import quantize_transpose_u8

    target = cross_target(level)
    with target:
        ex = tvm.compile(
            tvm.IRModule({"main": quantize_transpose_u8(128, 768, avx512=False)}), target=target
        )
    asm = ex.mod.inspect_source("asm")
    assert "%zmm" not in asm and "vpermb" not in asm
    loop = next(b for b in re.split(r"\n\.LBB\S*:", asm) if "vpackuswb" in b)
    counts = {op: loop.count(op) for op in ("vpackssdw", "vpackuswb", "vpshufb")}
    assert counts == {"vpackssdw": 16, "vpackuswb": 8, "vpshufb": 8}, counts


@requires_x86
@pytest.mark.parametrize("level", ["avx2", "avx_vnni"])
@pytest.mark.parametrize("kernel", ["layer_norm_qparams", "dynamic_qparams", "columns"])
def test_ymm_range_passes_keep_their_chains_in_registers(kernel, level):
    """On ymm (:func:`~tvm_blocksparse.op.quantize.range_chains`: 2 chains) no block of a range
    pass's min / max loop reads or writes the stack; with zmm's 4 chains (16 ymm) they spilled."""
    from tvm_blocksparse.op.layer_norm import layer_norm_qparams
    from tvm_blocksparse.op.quantize import dynamic_qparams, dynamic_qparams_columns

    func = {
        "layer_norm_qparams": lambda: layer_norm_qparams(128, 768, 1e-12, avx512=False),
        "dynamic_qparams": lambda: dynamic_qparams(128, 768, avx512=False),
        "columns": lambda: dynamic_qparams_columns(768, 128, avx512=False),
    }[kernel]()
    target = cross_target(level)
    with target:
        asm = tvm.compile(tvm.IRModule({"main": func}), target=target).mod.inspect_source("asm")
    blocks = [b for b in re.split(r"\n\.LBB\S*:", asm) if "vminps" in b]
    assert blocks and "%zmm" not in asm
    for block in blocks:
        assert "(%rsp)" not in block, block


@requires_x86
@pytest.mark.parametrize("m, k", [(40, 37), (64, 16)])
@pytest.mark.parametrize("zmm", [False, True], ids=["ymm", "zmm"])
def test_quantize_u8_matches_numpy_bit_exact(m, k, zmm):
    """Row-major per-token quantize (16-lane vectors plus a scalar tail when K % 16 != 0): bit
    for bit ``format.quantize_activation_u8`` (reciprocal in float32), on values that hit 0 and
    255, exact halves and values beyond int32."""
    from tvm_blocksparse.isa import AVX512_VNNI, target_has
    from tvm_blocksparse.op.quantize import quantize_u8

    if zmm and not target_has(AVX512_VNNI, host_target()):
        pytest.skip("the zmm form executes AVX-512 code")
    rng = np.random.default_rng(13)
    qp = _edge_qparams(rng, m)
    x = _values_at_the_rounding_and_clipping_edges((m, k), rng, qp)
    xq, _ = fmt.quantize_activation_u8(x, qp)
    assert xq.min() == 0 and xq.max() == 255
    kern = linear.CompiledKernel(quantize_u8(m, k, zmm), lambda sch: sch)  # written vectorized
    np.testing.assert_array_equal(kern(X=x, **_token_params(qp, m)), xq)


@requires_x86
@pytest.mark.parametrize("zmm", [False, True], ids=["ymm", "zmm"])
def test_column_qparams_and_quantize_equal_numpy_of_the_transpose(zmm):
    """A producer that stored ``X^T[K, M]``: per-token (= per-column) parameters and quantize
    equal those of ``X`` row by row, bit for bit, including all-positive and all-zero tokens."""
    from tvm_blocksparse.isa import AVX512_VNNI, target_has
    from tvm_blocksparse.op.quantize import dynamic_qparams_columns, quantize_u8_columns

    if zmm and not target_has(AVX512_VNNI, host_target()):
        pytest.skip("the zmm form executes AVX-512 code")
    rng = np.random.default_rng(5)
    m, k = 48, 70  # K % 4 != 0: the chained rows leave a tail; 2 quantize tasks, 64 + 6 rows
    x = (rng.standard_normal((m, k)) * 3).astype(np.float32)
    x[3] = np.abs(x[3]) + 1
    x[7] = 0.0
    x[9, 69] = -500.0
    qp = fmt.token_qparams(x)
    lib = tvm.compile(
        tvm.IRModule({"main": dynamic_qparams_columns(k, m, zmm)}), target=_range_target(zmm)
    )
    scale, zp = tvm.runtime.empty((m,), "float32"), tvm.runtime.empty((m,), "int32")
    lib["main"](tvm.runtime.tensor(np.ascontiguousarray(x.T)), scale, zp)
    np.testing.assert_array_equal(scale.numpy(), qp.scale)
    np.testing.assert_array_equal(zp.numpy(), qp.zero_point)
    assert qp.zero_point[3] == 0 and qp.scale[7] == 1.0
    kern = linear.CompiledKernel(quantize_u8_columns(k, m, zmm), lambda sch: sch)
    out = kern(XT=np.ascontiguousarray(x.T), x_scale=qp.scale, x_zp=qp.zero_point)
    np.testing.assert_array_equal(out, fmt.quantize_activation_u8(x, qp)[0].T)
    with pytest.raises(ValueError, match="M % 16"):
        dynamic_qparams_columns(k, 50)


@requires_isa("avx512_vnni")
@pytest.mark.parametrize(
    "m, n, k, threads",
    [(128, 256, 96, 1), (128, 512, 200, 2), (64, 72, 64, 1)],
    ids=["16_rows", "2_row_groups", "2_rows"],
)
def test_int8_4x1_token_ranges_are_each_tasks_min_and_max_of_its_y_t(m, n, k, threads):
    """``token_ranges``: the plain kernel's ``Y^T`` bit for bit, and per range part each token's
    min / max (widened to 0) over that part's ``4 range_rows_4x1`` channels; their reduction
    gives ``format.token_qparams`` of ``Y``, bit for bit (what ``dynamic_qparams_columns``
    computes from the whole ``Y^T``). 18 block rows take 2 per task."""
    from tvm_blocksparse.op.bsr_int8_4x1 import range_rows_4x1, token_range_parts
    from tvm_blocksparse.op.quantize import column_qparams_of_ranges

    spec = registry.INT8_4X1
    rng = np.random.default_rng(8)
    w = random_block_sparse(rng, n, k, 0.8, "4x1", np.float32)
    x_scale, x_zp = fmt.qparams_arrays(random_token_qparams(rng, m), padded_tokens(m))
    feeds = dict(
        XT=linear.transpose_pad_u8(rng.integers(0, 256, (m, k), dtype=np.uint8)),
        x_scale=x_scale,
        x_zp=x_zp,
        bias=rng.standard_normal(n).astype(np.float32),
    )
    outs = []
    for ranges in (False, True):
        ep = Epilogue("float32", bias=True, gelu=True, transposed_out=True, token_ranges=ranges)
        config = spec.default_config(m, n, k, ep, threads=threads)
        assert config.row_groups == threads and config.token_tile == 64
        kern, arrays = linear.build_linear(spec.kind, w, m, ep, config=config)
        outs.append(kern.outputs(**arrays, **feeds))
    y_t = outs[0]["Y"]
    np.testing.assert_array_equal(outs[1]["Y"], y_t)
    rows = range_rows_4x1(n)
    parts = token_range_parts(n, 64)
    assert rows == {256: 16, 512: 16, 72: 2}[n] and parts * rows * 4 == n
    by_part = y_t.reshape(parts, rows * 4, m)
    np.testing.assert_array_equal(outs[1]["y_min"], np.minimum(by_part.min(axis=1), 0))
    np.testing.assert_array_equal(outs[1]["y_max"], np.maximum(by_part.max(axis=1), 0))
    lib = tvm.compile(tvm.IRModule({"main": column_qparams_of_ranges(parts, m)}), host_target())
    scale, zp = tvm.runtime.empty((m,), "float32"), tvm.runtime.empty((m,), "int32")
    lib["main"](*(tvm.runtime.tensor(outs[1][name]) for name in ("y_min", "y_max")), scale, zp)
    qp = fmt.token_qparams(np.ascontiguousarray(y_t.T))
    np.testing.assert_array_equal(scale.numpy(), qp.scale)
    np.testing.assert_array_equal(zp.numpy(), qp.zero_point)


@requires_x86
@pytest.mark.parametrize("zmm", [False, True], ids=["ymm", "zmm"])
@pytest.mark.parametrize("parts", [1, 6], ids=["one_part", "parts_tail"])
def test_column_qparams_of_ranges_equal_numpy_of_the_whole_range(zmm, parts):
    """Range parts of ``X^T`` (each token's min / max over a part of its values) reduce to
    ``format.token_qparams`` of ``X``, bit for bit, including all-positive and all-zero tokens;
    6 parts leave a tail after the chained groups of 4."""
    from tvm_blocksparse.isa import AVX512_VNNI, target_has
    from tvm_blocksparse.op.quantize import column_qparams_of_ranges

    if zmm and not target_has(AVX512_VNNI, host_target()):
        pytest.skip("the zmm form executes AVX-512 code")
    rng = np.random.default_rng(9)
    m, k = 48, 12 * parts
    x = (rng.standard_normal((m, k)) * 3).astype(np.float32)
    x[3] = np.abs(x[3]) + 1
    x[7] = 0.0
    x[9, k - 1] = -500.0
    by_part = x.T.reshape(parts, 12, m)
    y_min, y_max = np.minimum(by_part.min(axis=1), 0), np.maximum(by_part.max(axis=1), 0)
    qp = fmt.token_qparams(x)
    lib = tvm.compile(
        tvm.IRModule({"main": column_qparams_of_ranges(parts, m, zmm)}), target=_range_target(zmm)
    )
    scale, zp = tvm.runtime.empty((m,), "float32"), tvm.runtime.empty((m,), "int32")
    lib["main"](tvm.runtime.tensor(y_min), tvm.runtime.tensor(y_max), scale, zp)
    np.testing.assert_array_equal(scale.numpy(), qp.scale)
    np.testing.assert_array_equal(zp.numpy(), qp.zero_point)
    assert qp.zero_point[3] == 0 and qp.scale[7] == 1.0
    with pytest.raises(ValueError, match="M % 16"):
        column_qparams_of_ranges(parts, 50)


def test_int8_4x1_token_ranges_need_the_64_token_walk_and_a_float_y_t():
    """What can return ranges: a float32 ``Y^T`` from 64-token tiles (the zmm kernel); the
    8-lane kernels requantize in the kernel instead."""
    from tvm_blocksparse.op.bsr_int8_4x1 import range_rows_4x1, token_range_parts

    ep = Epilogue("float32", bias=True, transposed_out=True, token_ranges=True)
    with pytest.raises(ValueError, match="token_ranges needs the 64-token walk"):
        bsr_dense_int8_4x1(64, 64, 96, 10, ep, token_tile=48)
    with pytest.raises(ValueError, match="float32, transposed_out"):
        Epilogue("uint8", transposed_out=True, token_ranges=True).validate(True)
    with pytest.raises(ValueError, match="float32, transposed_out"):
        Epilogue("float32", token_ranges=True).validate(True)
    assert token_range_parts(3072, 48) is None and token_range_parts(3072, 64) == 48
    assert [range_rows_4x1(n) for n in (3072, 1536, 72, 4)] == [16, 16, 2, 1]
    config = registry.Bsr4x1Config(64, 1, 2)
    assert registry.INT8_4X1.token_range_parts(1024, config) == 16
    # 18 block rows take tasks of 2: two row groups of 9 would split one, so one group
    assert registry.INT8_4X1.default_config(128, 72, 64, ep, threads=2).row_groups == 1
    with pytest.raises(ValueError, match="whole tasks"):
        bsr_dense_int8_4x1(128, 72, 64, 10, ep, token_tile=64, token_chunk=1, row_groups=2)
    assert registry.INT8_4X1_AVX2.token_range_parts is None
    assert registry.INT8_4X1_AVX_VNNI.token_range_parts is None
    assert {v.token_tile for v in registry.INT8_4X1.tuning_variants(128, 3072, 768, ep)} == {64}


def test_xt_row_offsets_scale_by_padded_tokens_and_refuse_int32_overflow():
    from tvm_blocksparse.op.bsr_int8_4x1 import xt_row_offsets

    np.testing.assert_array_equal(
        xt_row_offsets(np.array([[0, 1, 5, 9]], np.int32), 20), [[0, 32, 160, 288]]
    )
    with pytest.raises(ValueError, match="overflows int32"):
        xt_row_offsets(np.array([[70000]], np.int32), 65536)


def test_fast_gelu_is_within_its_stated_error_of_exact_gelu():
    """The INT8 epilogues' GELU (numpy twin; the kernels match the twin in the epilogue tests):
    |error| <= 2.1e-5 * max(1, |x|) (past the clip the erf error scales with x), and finite
    tails (no pole in Q)."""
    from tvm_blocksparse.testing import gelu_fast_ref, gelu_ref

    x = np.linspace(-12, 12, 24001).astype(np.float32)
    err = np.abs(gelu_fast_ref(x).astype(np.float64) - gelu_ref(x))
    assert np.all(err <= 2.1e-5 * np.maximum(1.0, np.abs(x))), (
        err / np.maximum(1.0, np.abs(x))
    ).max()
    assert np.all(np.isfinite(gelu_fast_ref(np.array([-1e30, 1e30, 0.0], np.float32))))


@requires_x86
def test_erf_approximation_accuracy():
    import math

    import tvm
    from tvm.script import tirx as T

    xs = np.linspace(-6, 6, 1001).astype(np.float32)

    @T.prim_func(s_tir=True)
    def f(X: T.Buffer((1001,), "float32"), Y: T.Buffer((1001,), "float32")):
        for i in range(1001):
            with T.sblock("e"):
                vi = T.axis.remap("S", [i])
                Y[vi] = erf_f32(X[vi], 1)

    mod = tvm.compile(f, target=Target({"kind": "llvm"})).mod
    x_t, y_t = tvm.runtime.tensor(xs), tvm.runtime.empty((1001,), "float32")
    mod["main"](x_t, y_t)
    ref = np.array([math.erf(v) for v in xs])
    assert np.abs(y_t.numpy() - ref).max() < 1e-6


@requires_x86
def test_int8_4x1_asm_has_vpdpbusd_and_no_scalar_multiply_loop():
    # compile-only: runs on any x86 host, the target names a VNNI CPU explicitly
    target = Target({"kind": "llvm", "mcpu": "cascadelake", "num-cores": 2})
    w = random_block_sparse(np.random.default_rng(0), 64, 64, 0.9, "4x1")
    kern, _ = linear.build_linear("int8_4x1", w, 128, token_tile=48, target=target)
    asm = kern.asm()
    assert asm.count("vpdpbusd") == 12  # 4 channels x 3 token vectors, one per accumulator
    # the weight dword is broadcast (embedded {1to16} on znver4, vpbroadcastd on cascadelake)
    assert "{1to16}" in asm or "vpbroadcastd" in asm
    assert "imul" not in asm.split("vpdpbusd")[1]  # no scalar multiply between the dot products
    assert "TVMBackendAllocWorkspace" not in asm  # accumulators stay on the stack -> registers


@requires_x86
def test_int8_4x1_asm_packs_token_pairs_from_32_byte_rows():
    """Tiles of whole token-vector pairs gather 32 tokens per input channel: per pair, the 4 rows
    become 2 zmm (one ymm load + one vinserti64x4 each) and 2 vpermt2b interleave them; a 48-token
    tile keeps the one-vector pack (16-byte rows, vinserti32x4)."""
    target = Target(
        {"kind": "llvm", "mcpu": "icelake-server", "num-cores": 2}
    )  # AVX-512 VBMI: vpermt2b
    w = random_block_sparse(np.random.default_rng(0), 64, 64, 0.9, "4x1")
    asm = linear.build_linear("int8_4x1", w, 128, token_tile=32, target=target)[0].asm()
    n_dot = asm.count("vpdpbusd")
    assert n_dot % 8 == 0 and asm.count("vpermt2b") == asm.count("vinserti64x4") == n_dot // 4
    assert "vinserti32x4" not in asm
    asm = linear.build_linear("int8_4x1", w, 128, token_tile=48, target=target)[0].asm()
    assert asm.count("vinserti32x4") == 6 and "vinserti64x4" not in asm


@requires_x86
def test_int8_kernels_need_their_level():
    w = np.ones((16, 16), np.int8)
    with pytest.raises(
        RuntimeError, match=r"kernel int8_16x4 needs avx512_vnni; target .* has avx2"
    ):
        linear.build_linear("int8_16x4", w, 4, target=Target({"kind": "llvm", "mcpu": "haswell"}))
    with pytest.raises(
        RuntimeError, match=r"kernel int8_4x1 needs avx2 or avx512_vnni or avx_vnni"
    ):
        linear.build_linear("int8_4x1", w, 4, target=Target({"kind": "llvm", "mcpu": "nehalem"}))


def test_bad_kernel_arguments():
    with pytest.raises(ValueError, match="unknown kernel"):
        linear.build_linear("int4", np.ones((16, 16), np.float32), 4)
    with pytest.raises(ValueError, match="N_out % 4"):
        bsr_dense_int8_4x1(4, 30, 16, 1)
    with pytest.raises(ValueError, match="token_tile"):
        bsr_dense_int8_4x1(4, 32, 16, 1, token_tile=80)
    with pytest.raises(ValueError, match=r"token_tile=64 needs .* m=72 \(Mp=80\)"):
        bsr_dense_int8_4x1(72, 32, 16, 1, token_tile=64)
    with pytest.raises(ValueError, match="takes no bias"):
        bsr_dense_int8_4x1(4, 32, 16, 1, Epilogue("int32", bias=True))


@requires_isa("avx512_vnni")
def test_wrong_input_shape_is_a_clear_error():
    kern, arrays = linear.build_linear("int8_16x4", np.ones((16, 16), np.int8), 4)
    with pytest.raises(ValueError, match=r"input X: expected \(4, 16\) uint8"):
        kern(X=np.zeros((5, 16), np.uint8), **arrays)


def _run_qparams(lib, m: int, *inputs):
    """(scale, zero point) arrays of ``Mp`` entries from a compiled per-token qparams op (the
    last two outputs)."""
    mp = padded_tokens(m)
    scale, zp = tvm.runtime.empty((mp,), "float32"), tvm.runtime.empty((mp,), "int32")
    lib["main"](*inputs, scale, zp)
    return scale.numpy(), zp.numpy()


def _assert_token_qparams(scale, zp, x):
    """Per-token parameters exactly ``format.token_qparams(x)``; padding tokens 1 and 0."""
    ref = fmt.token_qparams(x)
    m = len(ref.scale)
    np.testing.assert_array_equal(scale[:m], ref.scale)
    np.testing.assert_array_equal(zp[:m], ref.zero_point)
    assert (scale[m:] == 1).all() and (zp[m:] == 0).all()


#: The range passes' two forms: 4 chains for zmm on the host, 2 for ymm on an AVX2 target.
RANGE_CHAIN_FORMS = pytest.mark.parametrize(
    "avx512", [True, False], ids=["zmm_4_chains", "ymm_2_chains"]
)


def _range_target(avx512: bool):
    return host_target() if avx512 else level_target("avx2")


@requires_x86
@RANGE_CHAIN_FORMS
@pytest.mark.parametrize("m,k", [(128, 768), (7, 37), (1, 16), (13, 3072)])
def test_dynamic_qparams_equal_numpy(m, k, avx512):
    """Each row's range -> (scale, zero point) exactly as format.token_qparams, for
    all-positive, all-negative and mixed rows, padding tokens and K % 16 != 0."""
    from tvm_blocksparse.op.quantize import dynamic_qparams

    lib = tvm.compile(
        tvm.IRModule({"main": dynamic_qparams(m, k, avx512)}), target=_range_target(avx512)
    )
    for shift in (1.0, -50.0, 50.0):
        x = (np.random.default_rng(m).standard_normal((m, k)) * 3 + shift).astype(np.float32)
        x[m // 2] *= 40  # an outlier token: its own step, nobody else's
        scale, zp = _run_qparams(lib, m, tvm.runtime.tensor(x))
        _assert_token_qparams(scale, zp, x)
        if m > 2:
            assert len(set(scale[:m].tolist())) > 1


@requires_x86
@RANGE_CHAIN_FORMS
def test_dynamic_qparams_find_an_extreme_wherever_it_is(avx512):
    """One planted extreme in each place the range pass reads from: each of the 4 vectors of an
    unrolled step (on 4 or 2 chains), the vectors after the last group of 4, the scalar tail; it
    sets its own row's step."""
    from tvm_blocksparse.op.quantize import dynamic_qparams

    m, k = 11, 6 * 16 + 3  # 4 chained vectors + 2 more + 3 scalars per row
    lib = tvm.compile(
        tvm.IRModule({"main": dynamic_qparams(m, k, avx512)}), target=_range_target(avx512)
    )
    base = np.random.default_rng(0).uniform(-1, 1, (m, k)).astype(np.float32)
    for row, col in [
        (0, 3),
        (1, 16 + 5),
        (2, 32 + 15),
        (6, 48),
        (7, 64 + 1),
        (8, 80 + 9),
        (9, 96),
        (10, 98),
    ]:
        for value in (1000.0, -1000.0):
            x = base.copy()
            x[row, col] = value
            scale, zp = _run_qparams(lib, m, tvm.runtime.tensor(x))
            _assert_token_qparams(scale, zp, x)
            assert abs(np.float32(value) / scale[row]) > 100, (row, col, value)


@RANGE_CHAIN_FORMS
@pytest.mark.parametrize(
    "m, k, mean", [(128, 768, 0.0), (13, 64, 40.0), (64, 256, -3.0), (37, 128, 1.0)]
)
def test_layer_norm_qparams_matches_numpy_and_measures_its_output(m, k, mean, avx512):
    """LayerNorm to float32 rounding (rows with a large mean too: the variance is taken around the
    mean), and its per-token (scale, zero point) exactly those of its own output's rows. 37 rows:
    chunks of 5, so the zmm form's two-row steps end on a row of their own (and the last chunk is
    short); 13: the last chunk holds one row."""
    from tvm_blocksparse.op.layer_norm import layer_norm_qparams

    rng = np.random.default_rng(k)
    x = (rng.standard_normal((m, k)) * 2 + mean).astype(np.float32)
    gamma, beta = (
        rng.standard_normal(k).astype(np.float32),
        rng.standard_normal(k).astype(np.float32),
    )
    lib = tvm.compile(
        tvm.IRModule({"main": layer_norm_qparams(m, k, 1e-12, avx512)}),
        target=_range_target(avx512),
    )
    y = tvm.runtime.empty((m, k), "float32")
    scale, zp = _run_qparams(lib, m, *[tvm.runtime.tensor(a) for a in (x, gamma, beta)], y)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(
        x64.var(1, keepdims=True) + 1e-12
    ) * gamma + beta
    np.testing.assert_allclose(y.numpy(), ref, rtol=0, atol=2e-5 * max(1.0, abs(mean) / 2))
    _assert_token_qparams(scale, zp, y.numpy())
    with pytest.raises(ValueError, match="K % 64"):
        layer_norm_qparams(m, 48, 1e-12)


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("token_tile", [16, 32, 48])
def test_int8_4x1_transposed_out_equals_numpy(token_tile):
    """Y^T[N, M] straight from the channel-major tile (attention's K^T; as u8, the next layer's
    XT), full-range u8 inputs."""
    rng = np.random.default_rng(token_tile)
    n, k, m = 96, 64, 48
    w = random_block_sparse(rng, n, k, 0.9, "4x1", np.float32)
    wq = fmt.quantize_weight_per_channel(w)
    xq = rng.integers(0, 256, (m, k), dtype=np.uint8)
    bias = rng.standard_normal(n).astype(np.float32)
    x_q = random_token_qparams(rng, m)
    kern, arrays = linear.build_linear(
        "int8_4x1", w, m, Epilogue("float32", bias=True, transposed_out=True), token_tile=token_tile
    )
    out = kern(**arrays, XT=linear.transpose_pad_u8(xq), **_token_params(x_q, m), bias=bias)
    ref = int8_linear_ref(xq, wq, Epilogue("float32", bias=True), x_q=x_q, bias=bias)
    assert out.shape == (n, m)
    np.testing.assert_allclose(out, ref.T, rtol=1e-6, atol=1e-5)
    # uint8 Y^T (requantized + GELU): the next 4x1 kernel's XT, bit-exact
    oq = fmt.ActivationQuant(0.02, 100)
    ep_u8 = Epilogue("uint8", bias=True, gelu=True, transposed_out=True)
    kern, arrays = linear.build_linear("int8_4x1", w, m, ep_u8, token_tile=token_tile)
    out = kern(
        **arrays,
        XT=linear.transpose_pad_u8(xq),
        **_token_params(x_q, m),
        bias=bias,
        out_scale=np.array([oq.scale], np.float32),
        out_zp=np.array([oq.zero_point], np.int32),
    )
    ref = int8_linear_ref(
        xq,
        wq,
        Epilogue("uint8", bias=True, gelu=True),
        x_q=x_q,
        bias=bias,
        out_q=oq,
    )
    np.testing.assert_array_equal(out, ref.T)
    with pytest.raises(ValueError, match="M % 16"):
        bsr_dense_int8_4x1(50, n, k, 4, Epilogue("float32", transposed_out=True))
    with pytest.raises(ValueError, match="residual"):
        Epilogue("float32", residual=True, transposed_out=True).validate(int8_kernel=True)


_UNPACK_EPILOGUES = [
    Epilogue("int32"),
    Epilogue("float32"),
    Epilogue("float32", bias=True, gelu=True),
    Epilogue("float32", bias=True, gelu=True, residual=True),
    Epilogue("uint8", bias=True, gelu=True),
    Epilogue("uint8", bias=True, residual=True),
    Epilogue("float32", bias=True, transposed_out=True),
    Epilogue("uint8", bias=True, gelu=True, transposed_out=True),
]


def _int8_epilogue_feeds(rng, m: int, n: int, k: int) -> dict:
    """Full-range u8 ``XT`` and every epilogue input of the 4x1 kernel (per-token parameters)."""
    return dict(
        XT=linear.transpose_pad_u8(rng.integers(0, 256, (m, k), dtype=np.uint8)),
        **_token_params(random_token_qparams(rng, m), m),
        bias=rng.standard_normal(n).astype(np.float32),
        residual=rng.standard_normal((m, n)).astype(np.float32),
        out_scale=np.array([0.04], np.float32),
        out_zp=np.array([100], np.int32),
    )


@requires_isa("avx512_vnni")
@pytest.mark.parametrize(
    "ep",
    _UNPACK_EPILOGUES,
    ids=[
        "int32",
        "dequant",
        "bias_gelu",
        "bias_gelu_residual",
        "u8_bias_gelu",
        "u8_bias_residual",
        "t_bias",
        "t_u8_bias_gelu",
    ],
)
def test_int8_4x1_unpack_tile_gives_the_permute_tile_bits(ep):
    """64-token tiles (unpack pack, token lanes in unpack order, accumulators in two halves) give
    the 32-token tile's bits for every epilogue, on full-range u8; M = 120 leaves 8 padded tokens
    in the second tile (Y^T needs M % 16 == 0: 128)."""
    rng = np.random.default_rng(21)
    m, n, k = (128 if ep.transposed_out else 120), 96, 128
    w = random_block_sparse(rng, n, k, 0.85, "4x1", np.float32)
    feeds = _int8_epilogue_feeds(rng, m, n, k)
    ref_kern, arrays = linear.build_linear("int8_4x1", w, m, ep, token_tile=32)
    unpack_kern, _ = linear.build_linear("int8_4x1", w, m, ep, token_tile=64)
    ref, out = ref_kern(**arrays, **feeds), unpack_kern(**arrays, **feeds)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)
    if ep.out_dtype == "int32":
        x_u8 = feeds["XT"][:, :m].T
        wq = fmt.quantize_weight_per_channel(w)
        np.testing.assert_array_equal(out, x_u8.astype(np.int32) @ wq.q.T.astype(np.int32))


@requires_isa("avx512_vnni")
@pytest.mark.parametrize(
    "ep",
    _UNPACK_EPILOGUES[:6],
    ids=["int32", "dequant", "bias_gelu", "bias_gelu_residual", "u8_bias_gelu", "u8_bias_residual"],
)
@pytest.mark.parametrize("m, token_chunk, row_groups", [(120, 1, 1), (128, None, 2)])
def test_int8_4x1_staged_lines_give_the_permute_tile_bits(ep, m, token_chunk, row_groups):
    """Staged output lines (16 block rows per task for u8 lanes, 4 for 4-byte lanes; a 16 x 16
    register transpose per 16 tokens) give the 32-token tile's bits; M = 120 guards the padded
    tokens of the last tile."""
    rng = np.random.default_rng(23)
    n, k = 128, 96
    w = random_block_sparse(rng, n, k, 0.85, "4x1", np.float32)
    feeds = _int8_epilogue_feeds(rng, m, n, k)
    ref_kern, arrays = linear.build_linear("int8_4x1", w, m, ep, token_tile=32)
    func = bsr_dense_int8_4x1(
        m, n, k, arrays["w_xt_offsets"].shape[0], ep, 64, token_chunk, row_groups, 1, True
    )
    kern = linear.CompiledKernel(func, registry.INT8_4X1.schedule)
    ref = ref_kern(**arrays, **feeds)
    out = kern(**arrays, **feeds)
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


def test_int8_4x1_stage_lines_arguments():
    from tvm_blocksparse.op.bsr_int8_4x1 import default_stage_lines_4x1, line_rows_4x1

    assert (
        line_rows_4x1(Epilogue("uint8", bias=True)) == 16
        and line_rows_4x1(Epilogue("float32")) == 4
    )
    assert (
        line_rows_4x1(Epilogue("uint8", bias=True, residual=True)) == 4
    )  # float lanes until the residual
    with pytest.raises(ValueError, match="stage_lines needs"):
        bsr_dense_int8_4x1(
            128, 96, 64, 4, Epilogue("uint8"), 64, 1, 1, 1, True
        )  # 24 block rows, 16 per line
    with pytest.raises(ValueError, match="stage_lines needs"):
        bsr_dense_int8_4x1(128, 128, 64, 4, Epilogue("float32"), 64, 1, 1, 2, True)
    with pytest.raises(ValueError, match="stage_lines needs"):
        bsr_dense_int8_4x1(128, 128, 64, 4, Epilogue("float32"), 32, 1, 1, 1, True)
    assert default_stage_lines_4x1(768, 64, Epilogue("uint8", bias=True))
    assert default_stage_lines_4x1(768, 64, Epilogue("float32", bias=True, residual=True))
    assert not default_stage_lines_4x1(768, 64, Epilogue("float32", bias=True))
    assert not default_stage_lines_4x1(768, 64, Epilogue("uint8", transposed_out=True))
    assert not default_stage_lines_4x1(768, 32, Epilogue("uint8"))
    assert not default_stage_lines_4x1(96, 64, Epilogue("uint8"))


@requires_isa("avx512_vnni")
@pytest.mark.parametrize(
    "token_chunk, row_groups, rows_per_task",
    [
        (None, 1, 1),
        (1, 1, 1),
        (2, 1, 1),
        (1, 2, 1),
        (1, 24, 1),
        (None, 1, 4),
        (1, 1, 4),
        (2, 1, 4),
        (1, 2, 4),
        (1, 3, 4),
        (1, 1, 2),
        (None, 1, 2),
        (1, 12, 2),
    ],
)
def test_int8_4x1_unpack_tile_orders_are_bit_exact(token_chunk, row_groups, rows_per_task):
    """64-token tiles walked in every order, 1, 2 or 4 block rows per task (M = 250: 4 tiles, the
    last one padded)."""
    rng = np.random.default_rng(22)
    m, n, k = 250, 96, 192
    w = random_block_sparse(rng, n, k, 0.9, "4x1", np.float32)
    wq = fmt.quantize_weight_per_channel(w)
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)
    _, _, arrays = linear.prepare_linear("int8_4x1", w, m, Epilogue("int32"), 64)
    func = bsr_dense_int8_4x1(
        m,
        n,
        k,
        arrays["w_xt_offsets"].shape[0],
        Epilogue("int32"),
        64,
        token_chunk,
        row_groups,
        rows_per_task,
    )
    kern = linear.CompiledKernel(func, registry.INT8_4X1.schedule)
    out = kern(**arrays, XT=linear.transpose_pad_u8(x))
    np.testing.assert_array_equal(out, x.astype(np.int32) @ wq.q.T.astype(np.int32))


def test_int8_4x1_rows_per_task_arguments():
    from tvm_blocksparse.op.bsr_int8_4x1 import default_rows_per_task_4x1

    with pytest.raises(ValueError, match="rows_per_task=3 must be 1, 2 or 4"):
        bsr_dense_int8_4x1(128, 96, 64, 4, Epilogue("int32"), 64, 1, 1, 3)
    with pytest.raises(ValueError, match="rows_per_task=4 needs token_tile=64"):
        bsr_dense_int8_4x1(128, 96, 64, 4, Epilogue("int32"), 32, 1, 1, 4)
    with pytest.raises(ValueError, match=r"4 \| 6 block rows"):
        bsr_dense_int8_4x1(128, 96, 64, 4, Epilogue("int32"), 64, 1, 4, 4)
    with pytest.raises(ValueError, match="token-major"):
        bsr_dense_int8_4x1(128, 96, 64, 4, Epilogue("float32", transposed_out=True), 64, 1, 1, 4)
    assert default_rows_per_task_4x1(768, 64, Epilogue("float32")) == 2
    assert default_rows_per_task_4x1(768, 64, Epilogue("float32"), row_groups=2) == 2
    assert default_rows_per_task_4x1(768, 32, Epilogue("float32")) == 1
    assert default_rows_per_task_4x1(768, 64, Epilogue("float32", transposed_out=True)) == 1
    assert (
        default_rows_per_task_4x1(24, 64, Epilogue("float32"), row_groups=2) == 1
    )  # 3 block rows per group


@requires_x86
def test_int8_4x1_asm_packs_64_token_tiles_with_unpacks():
    """Per group, a 64-token tile loads 4 whole 64-byte rows and interleaves them with 2 + 2 byte
    and 2 + 2 word unpacks (no vpermt2b, no insert) for its 16 vpdpbusd; the split accumulators
    stay off the heap."""
    target = Target({"kind": "llvm", "mcpu": "icelake-server", "num-cores": 2})
    w = random_block_sparse(np.random.default_rng(0), 64, 64, 0.9, "4x1")
    asm = linear.build_linear("int8_4x1", w, 128, token_tile=64, target=target)[0].asm()
    # block rows per task (token-major output) x groups per loop iteration: copies of the group body
    copies = 2 * 2
    loop = asm[asm.index("vpunpcklbw") - 600 : asm.index("vpdpbusd") + 1500]
    assert asm.count("vpdpbusd") == 16 * copies
    for op in ("vpunpcklbw", "vpunpckhbw", "vpunpcklwd", "vpunpckhwd"):
        assert asm.count(op) == 2 * copies, op
    assert "vpermt2b" not in loop and "vinserti" not in loop
    assert "TVMBackendAllocWorkspace" not in asm


@requires_isa("avx512_vnni")
def test_int8_4x1_row_groups_change_the_walk_not_the_bits():
    """row_groups: block-row groups walked one after the other (one per thread by default when
    token tiles are outermost); same outputs, including a ragged token tile."""
    from tvm_blocksparse.schedules.bsr_dense import schedule_bsr_dense_int8_4x1

    from tvm_blocksparse.op.bsr_int8_4x1 import default_row_groups_4x1

    rng = np.random.default_rng(11)
    n, k, m = 96, 64, 48  # 24 block rows, 2 token tiles of 32 (the second ragged)
    w = random_block_sparse(rng, n, k, 0.9, "4x1", np.float32)
    ep = Epilogue("float32", bias=True, residual=True)
    plain, arrays = linear.build_linear("int8_4x1", w, m, ep, token_tile=32)
    feeds = dict(
        XT=linear.transpose_pad_u8(rng.integers(0, 256, (m, k), dtype=np.uint8)),
        **_token_params(random_token_qparams(rng, m), m),
        bias=rng.standard_normal(n).astype(np.float32),
        residual=rng.standard_normal((m, n)).astype(np.float32),
    )
    ref = plain(**arrays, **feeds)
    for groups in (2, 3, 24):
        func = bsr_dense_int8_4x1(m, n, k, arrays["w_data"].shape[0], ep, 32, 1, groups)
        kern = linear.CompiledKernel(func, schedule_bsr_dense_int8_4x1)
        np.testing.assert_array_equal(kern(**arrays, **feeds), ref)
    with pytest.raises(ValueError, match="row_groups=5 must divide the 24"):
        bsr_dense_int8_4x1(m, n, k, 4, ep, 32, 1, 5)
    assert default_row_groups_4x1(768, 1, 2) == 2 and default_row_groups_4x1(768, None, 2) == 1
    assert default_row_groups_4x1(768, 1, 1) == 1 and default_row_groups_4x1(100, 1, 2) == 1
    spec = registry.INT8_4X1
    with Target(host_target(num_cores=2)):  # a compile for 2 threads walks 2 groups
        two = spec.build(
            128, 768, 768, 40, ep, linear.kernel_config("int8_4x1", 128, 768, 768, ep, 32)
        )
    one = spec.build(128, 768, 768, 40, ep, linear.kernel_config("int8_4x1", 128, 768, 768, ep, 32))
    assert str(two.script()) != str(one.script())


def test_token_tiles_cover_every_padded_token_once_widest_first():
    """24-token tiles, then 16-token ones, over ``M`` padded to a multiple of 16: every padded
    token in exactly one tile, tiles in token order."""
    for m, wide, narrow in [(1, 0, 1), (16, 0, 1), (32, 0, 2), (37, 2, 0), (64, 2, 1), (80, 2, 2)]:
        plan = TokenTiles(m)
        assert (plan.wide, plan.narrow, plan.padded) == (wide, narrow, -(-m // 16) * 16)
    for m in range(1, 400):
        plan = TokenTiles(m)
        tokens = [plan.start(i) + j for i in range(plan.count) for j in range(plan.width(i))]
        assert tokens == list(range(plan.padded))
        assert [plan.width(i) for i in range(plan.count)] == sorted(
            (plan.width(i) for i in range(plan.count)), reverse=True
        )
    with pytest.raises(ValueError, match="M >= 1"):
        TokenTiles(0)


def test_token_tiles_are_visited_so_that_two_threads_get_equal_tokens():
    """The walk visits every tile once, and the first half of its visit order (a parallel loop's
    first thread, tile tasks split evenly by count) holds half the padded tokens."""
    from tvm.sym.analyzer import Analyzer

    from tvm_blocksparse.op.token_tiles import balanced_visit

    analyzer = Analyzer()
    for m in range(1, 600, 7):
        plan = TokenTiles(m)
        order = [
            int(analyzer.simplify(balanced_visit(plan, tvm.tirx.const(v, "int32"))))
            for v in range(plan.count)
        ]
        assert sorted(order) == list(range(plan.count))
        # a tile's tasks split between the threads: a fractional tile at the halfway point
        weights = [plan.width(t) for t in order]
        half = plan.count / 2
        first = sum(weights[: int(half)]) + (half % 1) * (weights[int(half)] if half % 1 else 0)
        assert first == plan.padded / 2


@requires_isa("avx2")
@pytest.mark.parametrize("m, k", [(37, 91), (37, 48), (80, 48), (16, 7)])
def test_stage_x_tiles_is_the_kernels_staged_layout(m, k):
    """Tile ``i`` (first token ``s``, ``w`` tokens) holds ``X[min(s + j, M - 1), c]`` at ``s * K
    + c * w + j``: what the FP32 4x1 kernels stage for themselves, as a call several of them
    share (8 x 8 transposes, and the ``K % 8`` columns one at a time)."""
    from tvm_blocksparse.schedules import OP_SCHEDULES

    from tvm_blocksparse.op.token_tiles import stage_x_tiles

    x = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
    xs = linear.CompiledKernel(stage_x_tiles(m, k), OP_SCHEDULES["stage_x_tiles"])(X=x)
    plan = TokenTiles(m)
    expected = np.empty(plan.padded * k, np.float32)
    for i in range(plan.count):
        s, w = plan.start(i), plan.width(i)
        for j in range(w):
            expected[s * k + np.arange(k) * w + j] = x[min(s + j, m - 1)]
    np.testing.assert_array_equal(xs, expected)
    np.testing.assert_array_equal(to_token_tiles(x), expected)
    np.testing.assert_array_equal(from_token_tiles(expected, m, k), x)
    # the same tiles staged from attention's output per head, [1, H, M, D] (D = 8 here)
    if k % 8 == 0:
        heads = np.ascontiguousarray(x.reshape(1, m, k // 8, 8).transpose(0, 2, 1, 3))
        stage = stage_x_tiles(m, k, head_dim=8)
        xs_heads = linear.CompiledKernel(stage, OP_SCHEDULES["stage_x_tiles"])(X=heads)
        np.testing.assert_array_equal(xs_heads, expected)


@requires_isa("avx2")
@pytest.mark.parametrize("m", [64, 80])
def test_fp32_4x1_on_tiles_of_both_widths_in_every_layout(m):
    """Token tiles of 24 and of 16 in one kernel: token-major (+ residual), tiles out, tiles in,
    head-major and ``Y^T`` rows all give the numpy reference; the other layouts keep the plain
    kernel's bits."""
    rng = np.random.default_rng(m)
    n, k = 96, 88
    w = random_block_sparse(rng, n, k, 0.7, "4x1", np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    res = rng.standard_normal((m, n)).astype(np.float32)
    spec = registry.FP32_4X1
    arrays = spec.prepare_weight(w, m)

    def run(ep, x_in, x_tiles=False, yt_rows=False):
        config = registry.Fp32Bsr4x1Config(x_tiles=x_tiles, yt_rows=yt_rows)
        func = spec.build(m, n, k, spec.block_count(arrays), ep, config)
        return linear.CompiledKernel(func, spec.schedule)(X=x_in, bias=bias, residual=res, **arrays)

    full = Epilogue("float32", bias=True, gelu=True, residual=True)
    plain = run(full, x)
    np.testing.assert_allclose(plain, fp32_linear_ref(x, w, full, bias, res), **FP32_TOL)
    np.testing.assert_array_equal(run(full, to_token_tiles(x), x_tiles=True), plain)
    gelu = Epilogue("float32", bias=True, gelu=True)
    tiles = run(dataclasses.replace(gelu, transposed_out=True), x)
    np.testing.assert_array_equal(from_token_tiles(tiles, m, n), run(gelu, x))
    heads = run(dataclasses.replace(gelu, heads_out=3), x)
    np.testing.assert_array_equal(heads, run(gelu, x).reshape(m, 3, n // 3).transpose(1, 0, 2))
    rows = run(dataclasses.replace(gelu, transposed_out=True), x, yt_rows=True)  # Y^T[N, M]
    np.testing.assert_array_equal(rows, run(gelu, x).T)
    with pytest.raises(ValueError, match="yt_rows"):  # a padded token would have no column
        bsr_fp32_4x1.bsr_dense_fp32_4x1(
            m - 8, n, k, 1, dataclasses.replace(gelu, transposed_out=True), yt_rows=True
        )


@requires_isa("avx2")
def test_fp32_gelu_epilogue_is_float32_accurate_over_its_range():
    """The FP32 kernels' exact GELU (erf form, Estrin-evaluated rational) against float64 on
    [-8, 8]: within 2 float32 ulps of |x| <= 8 (measured 7.3e-7)."""
    import math

    n, k = 64, 16
    w = np.zeros((n, k), np.float32)
    w[np.arange(n), np.arange(n) % k] = 1.0  # y[:, c] = x[:, c % 16]
    m = 512
    kern, arrays = linear.build_linear("fp32_4x1", w, m, Epilogue("float32", gelu=True))
    x = np.linspace(-8, 8, m * k).astype(np.float32).reshape(m, k)
    y = kern(**_inputs_for("fp32_4x1", x, arrays))
    xv = x.astype(np.float64)[:, np.arange(n) % k]
    ref = 0.5 * xv * (1 + np.vectorize(math.erf)(xv / math.sqrt(2)))
    assert np.abs(y - ref).max() <= 2e-6
