"""The FP32 attention kernel (transposed, token tiles out): float64 numpy's attention to float32
rounding on both mask forms and every tile mix, masked keys exactly out; ymm FMAs in its loops."""

import numpy as np
import pytest
import tvm
from conftest import cross_target, level_target, requires_isa, requires_x86
from tvm_blocksparse.schedules import OP_SCHEDULES

from tvm_blocksparse.linear import CompiledKernel
from tvm_blocksparse.op.attention_f32 import attention_f32_tiles, attention_f32_tiles_ref
from tvm_blocksparse.op.token_tiles import TokenTiles, from_token_tiles

MASKED = np.finfo(np.float32).min  # what the pass raises -inf to, and eager exports add


def _inputs(s, heads, d, seed, key_mask=True, pad=0):
    rng = np.random.default_rng(seed)
    qt = rng.standard_normal((heads * d, s)).astype(np.float32)
    k = rng.standard_normal((heads, s, d)).astype(np.float32)
    v = rng.standard_normal((heads, s, d)).astype(np.float32)
    mask = np.zeros(s if key_mask else (s, s), np.float32)  # [key] or maskT[key, query]
    mask[s - pad :] = MASKED  # the last keys, for every query
    if not key_mask:
        mask[: s // 2, : s // 4] = -3.0  # a bias on some keys for some queries only
    return qt, k, v, mask


def _run(s, heads, d, scale, arrays, key_mask=True):
    kernel = CompiledKernel(
        attention_f32_tiles(s, heads, d, scale, key_mask),
        OP_SCHEDULES["attention_f32"],
        level_target("avx2"),
    )
    qt, k, v, mask = arrays
    tensors = kernel.bind(dict(QT=qt, K=k, V=v, mask=mask))
    kernel.module(*tensors)
    return from_token_tiles(tensors[-1].numpy(), s, heads * d)


@requires_isa("avx2")
@pytest.mark.parametrize(
    "s, heads, d, pad",
    [(16, 2, 16, 0), (48, 3, 8, 5), (80, 2, 64, 17), (128, 4, 64, 9)],
    ids=["one-narrow", "two-wide", "wide-and-narrow", "bert-128"],
)
@pytest.mark.parametrize("key_mask", [True, False], ids=["key-mask", "query-key-mask"])
def test_attention_f32_equals_float64_attention(s, heads, d, pad, key_mask):
    arrays = _inputs(s, heads, d, seed=s + d, key_mask=key_mask, pad=pad)
    out = _run(s, heads, d, 1 / np.sqrt(d), arrays, key_mask)
    ref = attention_f32_tiles_ref(*arrays, 1 / np.sqrt(d))
    np.testing.assert_allclose(out, ref, rtol=0, atol=4e-6 * np.abs(ref).max())
    # masked keys weigh exactly 0: changing their values changes nothing
    qt, k, v, mask = arrays
    if pad:
        v2 = v.copy()
        v2[:, s - pad :] = 1e3
        assert np.array_equal(_run(s, heads, d, 1 / np.sqrt(d), (qt, k, v2, mask), key_mask), out)


@requires_isa("avx2")
def test_all_keys_masked_gives_the_uniform_average_like_softmax():
    s, heads, d = 32, 1, 16
    qt, k, v, mask = _inputs(s, heads, d, seed=3, pad=s)
    out = _run(s, heads, d, 0.25, (qt, k, v, mask))
    np.testing.assert_allclose(out, np.tile(v[0].mean(axis=0), (s, 1)), atol=1e-5)


@requires_x86
def test_attention_f32_asm_has_12_fma_chains_on_ymm_and_no_zmm():
    target = cross_target("avx2")
    with target:
        ex = tvm.compile(tvm.IRModule({"main": attention_f32_tiles(128, 2, 64, 0.125)}), target)
    asm = ex.mod.inspect_source("asm")
    # scores and O^T on a wide tile: 4 rows x 3 token vectors each, unrolled
    assert len([x for x in asm.splitlines() if "vfmadd231ps" in x and "%ymm" in x]) >= 2 * 12
    for instr in ("%zmm", "vfmadd231ss", "vfmadd213ss", "expf"):
        assert instr not in asm, instr


def test_attention_f32_refuses_shapes_it_cannot_tile():
    assert TokenTiles(48).padded == 48  # S % 16 == 0: no padded tokens in the tiles
    with pytest.raises(ValueError, match="S % 16"):
        attention_f32_tiles(20, 2, 16, 0.25)
    with pytest.raises(ValueError, match="d % 4"):
        attention_f32_tiles(32, 2, 6, 0.25)
