"""Dense INT8 on AMX tiles (op/amx_dense.py): bit-exact against numpy on full-range data, every
task shape, token and input tails and epilogue; the vpdpbusd path where Linux refuses the tiles
gives the same bits; the assembly has both paths on any x86 host."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import cross_target, requires_isa, requires_x86

from tvm_blocksparse import format as fmt
from tvm_blocksparse import linear, registry
from tvm_blocksparse.op.amx_dense import dense_int8_amx
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.quantize import padded_tokens
from tvm_blocksparse.testing import int8_linear_ref, random_token_qparams

EPILOGUES = {
    "int32": Epilogue("int32"),
    "f32_bias_gelu": Epilogue("float32", bias=True, gelu=True),
    "f32_bias_residual": Epilogue("float32", bias=True, residual=True),
    "u8_bias_gelu": Epilogue("uint8", bias=True, gelu=True),
}


def run_case(m, n, k, ep, rows, cols, seed=0, target=None):
    """Our AMX kernel and numpy on full-range u8 activations (per-token scales and zero
    points) and full-range s8 weights."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    wq = fmt.WeightQuant(w, rng.uniform(0.001, 0.01, n).astype(np.float32), w.sum(1, np.int32))
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)
    x_q, out_q = random_token_qparams(rng, m), fmt.ActivationQuant(0.04, 100)
    x_scale, x_zp = fmt.qparams_arrays(x_q, padded_tokens(m))
    bias = rng.standard_normal(n).astype(np.float32)
    residual = rng.standard_normal((m, n)).astype(np.float32)
    arrays = registry.INT8_DENSE_AMX.prepare_weight(w, m)
    arrays["w_scale"] = wq.scale
    kern = linear.CompiledKernel(
        dense_int8_amx(m, n, k, ep, rows, cols), registry.INT8_DENSE_AMX.schedule, target
    )
    y = kern(
        X=x,
        x_scale=x_scale,
        x_zp=x_zp,
        bias=bias,
        residual=residual,
        out_scale=np.array([out_q.scale], np.float32),
        out_zp=np.array([out_q.zero_point], np.int32),
        **arrays,
    )
    return y, int8_linear_ref(x, wq, ep, x_q, bias, residual, out_q)


def check(y, ref, ep):
    assert y.shape == ref.shape and y.dtype == ref.dtype
    if ep.out_dtype == "float32":  # FMA contraction may round the float epilogue differently
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    else:  # integer sums and the u8 requantization: bit for bit
        np.testing.assert_array_equal(y, ref)


@requires_isa("amx_int8")
@pytest.mark.parametrize("rows, cols", [(2, 2), (1, 2), (2, 1), (1, 1)])
@pytest.mark.parametrize("m, k", [(64, 128), (37, 200), (16, 68), (5, 64)])
def test_amx_dense_int32_equals_numpy_on_full_range_data(rows, cols, m, k):
    """Full tiles, a ragged token block (37: the vpdpbusd path for its last block), an input
    tail (200 = 3 x 64 + 8, 68) and fewer tokens than one tile (5)."""
    from tvm_blocksparse.isa.amx import amx_granted

    y, ref = run_case(m, 64, k, EPILOGUES["int32"], rows, cols, seed=m + k)
    check(y, ref, EPILOGUES["int32"])
    assert amx_granted()  # the kernel asked Linux for the tiles and got them


@requires_isa("amx_int8")
@pytest.mark.parametrize("name", list(EPILOGUES))
def test_amx_dense_epilogues_equal_numpy(name):
    ep = EPILOGUES[name]
    y, ref = run_case(48, 96, 192, ep, 2, 2, seed=7)
    check(y, ref, ep)


@requires_isa("avx512_vnni")
def test_amx_dense_runs_its_vnni_path_when_linux_refuses_the_tiles():
    """A process denied AMX (the no-AMX benchmarks' seccomp filter) is a CPU without it to the
    kernel: same bits from the vpdpbusd path, no SIGILL. Built for this CPU with AMX added (an
    AMX module runs on any AVX-512 VNNI CPU), not for Sapphire Rapids, whose other extensions
    (AVX512-FP16, AVX-VNNI) a Zen 4 lacks."""
    code = textwrap.dedent("""
        import sys, numpy as np, tvm
        sys.path.insert(0, "tests")
        from tvm_blocksparse.isa.amx import amx_granted, deny_tiles
        try:
            deny_tiles()
        except OSError as e:
            print("NO-SECCOMP", e); sys.exit(0)
        from conftest import level_target
        from test_amx_dense import EPILOGUES, run_case
        target = level_target("amx_int8")
        for name in ("int32", "u8_bias_gelu"):
            y, ref = run_case(64, 64, 136, EPILOGUES[name], 2, 2, seed=3, target=target)
            assert np.array_equal(y, ref), name
        assert not amx_granted()
        print("EQUAL True")
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    if out.stdout.startswith("NO-SECCOMP"):
        pytest.skip(f"seccomp filters not allowed here: {out.stdout.strip()}")
    assert "EQUAL True" in out.stdout


@requires_x86
def test_amx_dense_asm_has_tile_steps_and_the_vnni_path():
    func = dense_int8_amx(128, 64, 768, Epilogue("float32", bias=True), 2, 2)
    kern = linear.CompiledKernel(func, registry.INT8_DENSE_AMX.schedule, cross_target("amx_int8"))
    asm = kern.asm()
    # 2 x 2 accumulator tiles: 4 tdpbusd, 2 A + 2 B tile loads per 64-input step
    assert asm.count("tdpbusd") >= 4 and asm.count("tileloadd") >= 4
    assert "ldtilecfg" in asm and "tilerelease" in asm
    assert "vpdpbusd" in asm and "%zmm" in asm  # the path for refused tiles and partial blocks


def test_amx_dense_refuses_task_shapes_it_cannot_tile():
    with pytest.raises(ValueError, match="N_out % 32"):
        dense_int8_amx(16, 48, 64, Epilogue("int32"), 2, 2)
    with pytest.raises(ValueError, match="K_in % 4"):
        dense_int8_amx(16, 32, 66, Epilogue("int32"), 1, 1)
