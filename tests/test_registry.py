"""The kernel registry: one spec per (kind, ISA level), lookups by target, the per-layer choice."""

import numpy as np
import pytest
import tvm

from tvm_blocksparse import isa, registry
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.testing import outlier_block_sparse

ZEN3 = {"kind": "llvm", "mcpu": "znver3"}
ICX = {"kind": "llvm", "mcpu": "icelake-server"}


def test_every_kind_is_registered_once_per_level():
    assert registry.kinds() == ["fp32_1x16", "fp32_4x1", "int8_16x4", "int8_4x1", "int8_dense"]
    assert {s.key for s in registry.specs()} == {
        "int8_4x1/avx512_vnni",
        "int8_16x4/avx512_vnni",
        "int8_dense/avx512_vnni",
        "fp32_1x16/avx2",
        "fp32_4x1/avx2",
        "int8_4x1/avx2",
        "int8_dense/avx2",
        "int8_4x1/avx_vnni",
        "int8_dense/avx_vnni",
        "int8_dense/amx_int8",
    }
    assert registry.get("int8_4x1/avx2") is registry.INT8_4X1_AVX2
    with pytest.raises(ValueError, match="no kernel 'int8_16x4/avx2' registered"):
        registry.get("int8_16x4/avx2")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.INT8_4X1)
    with pytest.raises(ValueError, match="unknown kernel kind='int4'"):
        registry.lookup("int4")


def test_lookup_by_target_and_the_level_it_needs():
    assert registry.lookup("int8_4x1", ICX) is registry.INT8_4X1
    assert registry.lookup("int8_4x1", ZEN3) is registry.INT8_4X1_AVX2
    assert (
        registry.lookup("int8_4x1", {"kind": "llvm", "mcpu": "alderlake"})
        is registry.INT8_4X1_AVX_VNNI
    )
    assert (
        registry.lookup("int8_4x1", {"kind": "llvm", "mcpu": "sapphirerapids"}) is registry.INT8_4X1
    )
    assert registry.lookup("fp32_1x16", ZEN3) is registry.FP32_1X16  # 16-lane FP32 runs on AVX2
    with pytest.raises(
        RuntimeError, match=r"kernel int8_16x4 needs avx512_vnni; target .* has avx2"
    ):
        registry.lookup("int8_16x4", ZEN3)
    assert registry.available("int8_dense", ZEN3) and not registry.available("int8_16x4", ZEN3)
    with tvm.target.Target(ZEN3):  # no target given: the enclosing one's level
        assert registry.lookup("int8_dense") is registry.INT8_DENSE_AVX2
    assert (
        registry.sparse_kind("int8", "4x1") == "int8_4x1"
        and registry.sparse_kind("fp32", "4x1") == "fp32_4x1"
    )
    assert registry.sparse_blocks("int8") == ["16x4", "4x1"]
    assert registry.sparse_blocks("fp32") == ["1x16", "4x1"]
    assert registry.sparse_kinds() == {"int8_4x1", "int8_16x4", "fp32_1x16", "fp32_4x1"}


@pytest.mark.parametrize(
    "dtype, block, n, k, sparsity, kernel, reason",
    [
        (
            "int8",
            "4x1",
            768,
            768,
            0.9,
            "int8_4x1",
            "cost model (avx512_vnni): int8_4x1 ~0.04 ms <...",
        ),
        (
            "int8",
            "4x1",
            768,
            768,
            0.5,
            "int8_dense",
            "cost model (avx512_vnni): int8_dense ~0.35...",
        ),
        (
            "int8",
            "4x1",
            768,
            30,
            0.9,
            "unchanged",
            "no kernel of avx512_vnni takes 768x30: int8_4x1 4x1 INT8 needs N_out % 4 == 0 and K_in"
            " % 4 == 0 (N_out=768, K_in=30); int8_dense needs N_out % 16 == 0 and K_in % 4 == 0 "
            "(N_out=768, K_in=30)",
        ),
        (
            "int8",
            "16x4",
            40,
            64,
            0.9,
            "unchanged",
            "dense INT8 kernel needs N_out % 16 == 0 (N_out=40)",
        ),
        (
            "int8",
            "16x4",
            36,
            64,
            0.9,
            "unchanged",
            "dense INT8 kernel needs N_out % 16 == 0 (N_out=36)",
        ),
        ("fp32", "1x16", 768, 768, 0.5, "tvm_dense", "block sparsity 0.50 < 0.7"),
        ("fp32", "1x16", 40, 64, 0.9, "tvm_dense", "fp32_1x16 needs N_out % 16 == 0 (N_out=40)"),
        ("fp32", "1x16", 768, 768, 0.9, "fp32_1x16", ""),
    ],
)
def test_choose_linear_kernel(dtype, block, n, k, sparsity, kernel, reason):
    """AVX-512 VNNI: INT8 4x1 by the level's cost table (16x4 and FP32 have none there: the
    threshold rule). A reason ending in ``...`` is a prefix."""
    choice = registry.choose_linear_kernel(dtype, block, n, k, sparsity, 0.7, ICX)
    assert choice.kernel == kernel
    if reason.endswith("..."):
        assert choice.reason.startswith(reason[:-3]), choice.reason
    else:
        assert choice.reason == reason


def test_amx_cost_model_gives_the_dense_tiles_the_layers_they_run_faster():
    """On AMX the dense INT8 kernel (16 x 16 x 64 per tdpbusd) beats the 4x1 VNNI kernel below
    ~85 % block sparsity (rates measured with bench/kernel_rates.py); above, the 4x1 kernel wins.
    An AVX-512 VNNI target keeps the 4x1 kernel at 70 %."""
    spr = {"kind": "llvm", "mcpu": "sapphirerapids"}
    rates = registry.KERNEL_GOPS["amx_int8"]
    crossover = 1 - rates["int8_4x1"] / rates["int8_dense"]
    assert 0.75 < crossover < 0.9
    for sparsity, key in [
        (0.5, "int8_dense/amx_int8"),
        (0.7, "int8_dense/amx_int8"),
        (0.8, "int8_dense/amx_int8"),
        (0.9, "int8_4x1/avx512_vnni"),
    ]:
        choice = registry.choose_linear_kernel("int8", "4x1", 768, 768, sparsity, 0.7, spr)
        assert choice.spec.key == key, (sparsity, choice.reason)
        assert choice.reason.startswith("cost model (amx_int8): ")
    choice = registry.choose_linear_kernel("int8", "4x1", 768, 768, 0.7, 0.7, ICX)
    assert choice.spec.key == "int8_4x1/avx512_vnni"
    # FP32 has no entry in the AMX table: the threshold rule, as before
    choice = registry.choose_linear_kernel("fp32", "1x16", 768, 768, 0.9, 0.7, spr)
    assert (choice.kernel, choice.reason) == ("fp32_1x16", "")


def test_default_config_and_tuning_variants_come_from_the_spec():
    ep = Epilogue("float32", bias=True, residual=True)
    spec = registry.INT8_4X1
    one, two = (
        spec.default_config(128, 768, 768, ep),
        spec.default_config(128, 768, 768, ep, threads=2),
    )
    assert (one.token_tile, one.token_chunk, one.row_groups) == (64, 1, 1) and two.row_groups == 2
    assert one.stage_lines and one.rows_per_task == 1  # residual: staged output lines
    variants = spec.tuning_variants(128, 768, 768, ep)
    assert variants[0].row_groups == 1 and {v.token_tile for v in variants} == {16, 32, 48, 64}
    assert registry.FP32_1X16.default_config(37, 64, 64, Epilogue()).staged
    arrays = registry.INT8_16X4.prepare_weight(
        np.zeros((32, 16), np.int8), 4
    )  # all-zero: one zero block
    assert registry.INT8_16X4.block_count(arrays) == 1 and not arrays["w_data"].any()


@pytest.mark.parametrize(
    "mcpu, tile", [("znver1", 8), ("znver2", 16), ("znver3", 16), ("znver4", 16), ("haswell", 16)]
)
def test_ymm_4x1_token_tile_follows_the_cores_vector_width(mcpu, tile):
    """16 tokens on cores with 256-bit vector units, 8 where every ymm operation runs as two
    128-bit halves (Zen 1): the enclosing target's CPU decides, whatever the host is."""
    ep = Epilogue("uint8", bias=True)
    with tvm.target.Target({"kind": "llvm", "mcpu": mcpu, "mattr": ["+avx2", "+fma"]}):
        for spec in (registry.INT8_4X1_AVX2, registry.INT8_DENSE_AVX2, registry.INT8_4X1_AVX_VNNI):
            assert spec.default_config(128, 768, 768, ep).token_tile == tile
            assert spec.default_config(128, 768, 768, ep, token_tile=24).token_tile == 24
        assert registry.ymm_token_tile() == tile


@pytest.mark.parametrize(
    "mcpu, prefetch",
    [("znver1", True), ("znver3", True), ("znver4", False), ("znver5", False), ("haswell", True)],
)
def test_fp32_4x1_prefetches_except_where_measured_faster_without(mcpu, prefetch):
    """The FP32 4x1 default keeps its ``XS`` line prefetch except on the CPUs measured faster
    without it (Zen 4, Zen 5); the tuning space has both, in both walks."""
    ep = Epilogue("float32", bias=True)
    with tvm.target.Target({"kind": "llvm", "mcpu": mcpu, "mattr": ["+avx2", "+fma"]}):
        assert registry.FP32_4X1.default_config(128, 768, 768, ep).prefetch is prefetch
    variants = registry.FP32_4X1.tuning_variants(128, 768, 768, ep)
    assert {(c.tiles_outer, c.prefetch) for c in variants} == {
        (True, True),
        (True, False),
        (False, True),
        (False, False),
    }


def test_ymm_4x1_takes_the_slab_walk_with_16_token_tiles():
    """16-token tiles: the slab-staged walk at every length (token tiles outermost; one row group
    per thread where the tiles don't split evenly and the block rows do); a chunk or another tile
    imposed, or a half-width core's 8-token tile, walks block rows outermost. Tuning has every
    walk to measure."""
    ep = Epilogue("float32", bias=True)
    spec = registry.INT8_4X1_AVX2
    with tvm.target.Target({"kind": "llvm", "mcpu": "znver3", "mattr": ["+avx2", "+fma"]}):
        for m in (16, 128, 384, 512):
            assert spec.default_config(m, 768, 768, ep) == registry.Bsr4x1Config(16, 1, slab=True)
        assert spec.default_config(128, 768, 768, ep, threads=2).row_groups == 1  # 8 tiles
        assert spec.default_config(48, 768, 768, ep, threads=2).row_groups == 2  # 3 tiles
        assert spec.default_config(48, 12, 768, ep, threads=2).row_groups == 1  # 3 block rows
        assert spec.default_config(128, 768, 768, ep, token_tile=24) == registry.Bsr4x1Config(24)
        assert spec.default_config(128, 768, 768, ep, token_chunk=None) == registry.Bsr4x1Config(16)
        variants = spec.tuning_variants(128, 768, 768, ep)
        assert len(variants) == len(set(variants))
        for walk in (
            registry.Bsr4x1Config(16, 1, slab=True),
            registry.Bsr4x1Config(16, None, groups_outer=True),
            registry.Bsr4x1Config(16, None),
            registry.Bsr4x1Config(16, 1),
        ):
            assert walk in variants
    with tvm.target.Target({"kind": "llvm", "mcpu": "znver1", "mattr": ["+avx2", "+fma"]}):
        assert spec.default_config(512, 768, 768, ep) == registry.Bsr4x1Config(8)


def test_fp32_without_a_cost_table_takes_the_sparsest_fp32_block():
    """AVX-512 (no table): a 4x1-pruned layer in FP32 mode goes 4x1 sparse, a 1x16-pruned one
    1x16 (its 16-lane kernel, as before); below the threshold in every block TVM's dense."""
    sparsities = {"4x1": 0.9, "1x16": 0.05}
    choice = registry.choose_linear_kernel(
        "fp32", "4x1", 768, 768, 0.9, 0.7, ICX, sparsity_of=sparsities.get
    )
    assert choice.kernel == "fp32_4x1" and choice.block_sparsity is None
    choice = registry.choose_linear_kernel(  # a 1x16-pruned weight: as sparse in 4x1 blocks
        "fp32", "4x1", 768, 768, 0.9, 0.7, ICX, sparsity_of={"1x16": 0.9}.get
    )
    assert choice.kernel == "fp32_1x16"
    sparsities = {"4x1": 0.1, "1x16": 0.9}
    choice = registry.choose_linear_kernel(
        "fp32", "4x1", 768, 768, 0.1, 0.7, ICX, sparsity_of=sparsities.get
    )
    assert (choice.kernel, choice.block_sparsity) == ("fp32_1x16", 0.9)
    choice = registry.choose_linear_kernel(
        "fp32", "4x1", 768, 768, 0.5, 0.7, ICX, sparsity_of={"1x16": 0.3}.get
    )
    assert (choice.kernel, choice.reason) == ("tvm_dense", "block sparsity 0.50 < 0.7")


@pytest.mark.parametrize(
    "mcpu, table, reason, dense",
    [
        # full-width core (table measured on Zen 4's AVX2 code): dense INT8 beats TVM's FP32
        ("znver3", "KERNEL_GOPS", "int8_4x1 ~0.39 ms < int8_dense ~3.18 ms", "int8_dense"),
        # Zen 1, 128-bit units (INT8 only ~1.3x FP32): TVM's FP32 matmul beats dense INT8
        (
            "znver1",
            "HALF_WIDTH_YMM_KERNEL_GOPS",
            "int8_4x1 ~2.01 ms < tvm_dense ~17.26 ms",
            "tvm_dense",
        ),
    ],
)
def test_avx2_cost_model_picks_the_least_estimated_time_and_says_why(mcpu, table, reason, dense):
    """AVX2, per CPU class (its own table): sparse beats dense from the threshold on; a dense
    INT8 layer takes the faster of dense INT8 and TVM's FP32 matmul on that core; a mode's sparse
    kernels are its dtype's only, and FP32 takes the block whose kernel is estimated fastest."""
    cpu = {"kind": "llvm", "mcpu": mcpu}
    rates = (
        registry.KERNEL_GOPS["avx2"]
        if table == "KERNEL_GOPS"
        else registry.HALF_WIDTH_YMM_KERNEL_GOPS
    )
    assert registry.level_kernel_rates(isa.by_name("avx2"), cpu) is rates
    both = {"4x1": 0.9, "1x16": 0.9}.get
    choice = registry.choose_linear_kernel("int8", "4x1", 3072, 768, 0.9, 0.7, cpu, both)
    assert choice.kernel == "int8_4x1", choice.reason
    assert choice.reason.startswith(f"cost model (avx2): {reason}"), choice.reason
    choice = registry.choose_linear_kernel("int8", "4x1", 768, 768, 0.5, 0.7, cpu, both)
    assert choice.kernel == dense == max(("int8_dense", "tvm_dense"), key=rates.get)
    choice = registry.choose_linear_kernel("fp32", "4x1", 768, 768, 0.9, 0.7, cpu, both)
    assert choice.kernel == "fp32_4x1" and rates["fp32_4x1"] > rates["fp32_1x16"]
    choice = registry.choose_linear_kernel(
        "fp32", "4x1", 768, 768, 0.0, 0.7, cpu, {"1x16": 0.95}.get
    )
    assert (choice.kernel, choice.block_sparsity) == ("fp32_1x16", 0.95)


def test_the_half_width_table_decides_dense_layers():
    """With Zen 1's dense INT8 made faster than TVM's matmul in its table, a dense layer takes
    it: the choice follows the table, not a rule."""
    zen1 = {"kind": "llvm", "mcpu": "znver1"}
    rates = registry.HALF_WIDTH_YMM_KERNEL_GOPS
    registry.HALF_WIDTH_YMM_KERNEL_GOPS = {**rates, "int8_dense": 2 * rates["tvm_dense"]}
    try:
        choice = registry.choose_linear_kernel("int8", "4x1", 768, 768, 0.5, 0.7, zen1, None)
    finally:
        registry.HALF_WIDTH_YMM_KERNEL_GOPS = rates
    assert choice.kernel == "int8_dense"


@pytest.mark.parametrize(
    "ep",
    [
        Epilogue("int32"),
        Epilogue("float32", bias=True, residual=True),
        Epilogue("uint8", bias=True, gelu=True, transposed_out=True),
    ],
    ids=["int32", "f32_residual", "u8_gelu_t"],
)
def test_every_tuning_variant_takes_the_defaults_parameters(ep):
    """ApplyTunedKernels swaps a layer's PrimFunc for a tuned record's and keeps the call's
    arguments: every variant of a kind must take the default's parameters, name for name (the
    slab walk gathers by ``w_slab_offsets``, the other 8-lane walks by ``w_xt_offsets``: both
    take both)."""
    m, n, k = 128, 64, 96
    checked = []
    for spec in registry.specs():
        blocks = None if spec.symbolic_blocks else 24

        def params(config, spec=spec, blocks=blocks):
            return [p.name for p in spec.build(m, n, k, blocks, ep, config).params]

        try:
            default = params(spec.default_config(m, n, k, ep))
        except ValueError:  # an epilogue this kind doesn't take (FP32 kernels: no u8 / int32)
            continue
        checked.append(spec.kind)
        for config in spec.tuning_variants(m, n, k, ep):
            assert params(config) == default, (spec.kind, spec.isa.name, config)
    assert {"int8_4x1", "int8_dense"} <= set(checked)


def test_layouts_without_repeated_slots_refuse_split_weights():
    """The 4x1 kernels' outlier channels (int16 ``q``) fit only layouts that repeat an input
    channel's slot; the 16x4 and dense VNNI layouts say so rather than truncate them."""
    w = outlier_block_sparse(np.random.default_rng(16), 64, 512, 0.7)
    wq = registry.INT8_4X1.quantized_weight(w)
    assert wq.split_rows == 2
    with pytest.raises(ValueError, match="16x4 blocks take int8 weights"):
        registry.INT8_16X4.prepare_weight(wq, 16)
    with pytest.raises(ValueError, match="needs an int8 weight"):
        registry.INT8_DENSE.prepare_weight(wq, 16)
