"""INT8 self-attention: the kernel against its numpy twin and a float reference, its assembly,
and the Relax rewrite that uses it."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tvm
from conftest import (
    AVX_VNNI_RUNS,
    avx_vnni_run_target,
    bert_mini_90_with_reference,
    cross_target,
    level_target,
    requires_isa,
    requires_x86,
)
from tvm.target import Target

import tvm_blocksparse as tb
from tvm_blocksparse import isa
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.isa import AMX_INT8, target_has
from tvm_blocksparse.isa.amx import amx_granted
from tvm_blocksparse.op.attention import attention_f32_ref, attention_int8, attention_int8_ref
from tvm_blocksparse.target import host_target
from tvm_blocksparse.testing import min_token_cosine, onnxruntime_outputs

MASKED = np.finfo(np.float32).min  # what BERT exporters add for a padded key


def _inputs(s, heads, d, seed, spread=1.0, pad=0):
    rng = np.random.default_rng(seed)
    n = heads * d
    q = rng.uniform(-spread, spread, (s, n)).astype(np.float32)
    kt = rng.uniform(-spread, spread, (n, s)).astype(np.float32)
    v = rng.standard_normal((s, n)).astype(np.float32)
    mask = np.zeros((s, s), np.float32)
    if pad:
        mask[:, s - pad :] = MASKED
    return q, kt, v, mask


def _run(s, heads, d, scale, arrays, target=None, amx=False, level="avx512_vnni"):
    target = target or host_target(amx=False)
    with target:
        ex = tvm.compile(
            tvm.IRModule({"main": attention_int8(s, heads, d, scale, amx=amx, level=level)}),
            target=target,
        )
    out = tvm.runtime.empty((s, heads * d), "float32")
    ex["main"](*[tvm.runtime.tensor(a) for a in arrays], out)
    return out.numpy()


@requires_isa("avx512_vnni")
@pytest.mark.parametrize("s, heads, d, pad", [(32, 2, 16, 0), (128, 4, 64, 7), (48, 1, 32, 47)])
def test_attention_int8_equals_its_numpy_twin(s, heads, d, pad):
    # uniform Q/K fill the s8 range; the twin quantizes and sums in the same float32/int32 steps.
    # Only numpy's exp may differ from the kernel's by an ulp, moving a probability by one step
    # of 1/255 (that changes its row by at most max|v| / sum(u) <= max|v| / 255).
    q, kt, v, mask = _inputs(s, heads, d, seed=s + pad, spread=3.0, pad=pad)
    scale = 1 / np.sqrt(d)
    out = _run(s, heads, d, scale, (q, kt, v, mask))
    twin = attention_int8_ref(q, kt, v, mask, heads, scale)
    assert np.mean(out == twin) >= 0.99
    assert np.abs(out - twin).max() <= np.abs(v).max() / 255 * 1.01


@requires_isa("avx512_vnni")
def test_attention_int8_is_close_to_float_attention():
    s, heads, d = 128, 4, 64
    q, kt, v, mask = _inputs(s, heads, d, seed=1, spread=1.5, pad=5)
    out = _run(s, heads, d, 0.125, (q, kt, v, mask))
    ref = attention_f32_ref(q, kt, v, mask, heads, 0.125)
    assert min_token_cosine(out, ref) >= 0.999
    # a masked key gets no weight: swapping the masked rows of V (same per-head range) changes
    # nothing
    v2 = v.copy()
    v2[-5:] = v[-5:][::-1]
    np.testing.assert_array_equal(_run(s, heads, d, 0.125, (q, kt, v2, mask))[:, :], out)


@requires_isa("avx512_vnni")
def test_all_keys_masked_gives_the_uniform_average_like_softmax():
    s, heads, d = 32, 1, 16
    q, kt, v, mask = _inputs(s, heads, d, seed=2)
    mask[3, :] = MASKED  # query row 3 sees no key: softmax of equal scores is uniform
    out = _run(s, heads, d, 0.25, (q, kt, v, mask))
    ref = attention_f32_ref(q, kt, v, mask, heads, 0.25)
    np.testing.assert_allclose(out[3], ref[3], atol=0.02)


@requires_x86
def test_attention_int8_asm_uses_vpdpbusd():
    target = cross_target("avx512_vnni")
    with target:
        ex = tvm.compile(tvm.IRModule({"main": attention_int8(128, 2, 64, 0.125)}), target=target)
    asm = ex.mod.inspect_source("asm")
    # Q K^T: 2 rows x 8 key vectors; P V: 2 rows x 4 head-dim vectors, all unrolled
    assert asm.count("vpdpbusd") >= 16 + 8


@requires_isa("avx2")
@pytest.mark.parametrize("s, heads, d, pad", [(32, 2, 16, 0), (128, 4, 64, 7), (48, 1, 32, 47)])
def test_attention_int8_ymm_equals_its_numpy_twin(s, heads, d, pad):
    """The AVX2 path (8 lanes, ``vpmaddubsw``): Q, K, V and the probabilities in 7 bits, so two
    steps' u8 x s8 pair sums (at most 2 x 2 x 127 x 64) add in s16 exactly; the ymm twin gives
    its bits (up to numpy's exp, as on zmm), the 8-bit twin does not."""
    q, kt, v, mask = _inputs(s, heads, d, seed=s + pad, spread=3.0, pad=pad)
    scale = 1 / np.sqrt(d)
    out = _run(s, heads, d, scale, (q, kt, v, mask), target=level_target("avx2"), level="avx2")
    twin = attention_int8_ref(q, kt, v, mask, heads, scale, level="avx2")
    assert np.mean(out == twin) >= 0.99
    assert np.abs(out - twin).max() <= np.abs(v).max() / 255 * 1.01
    assert np.mean(out == attention_int8_ref(q, kt, v, mask, heads, scale)) < 0.5
    ref = attention_f32_ref(q, kt, v, mask, heads, scale)
    assert min_token_cosine(out, ref) >= 0.998  # 7-bit K and V, scores spread wide


@requires_x86
def test_attention_int8_ymm_asm_has_the_avx2_dot_step_and_no_zmm():
    target = cross_target("avx2")
    with target:
        ex = tvm.compile(
            tvm.IRModule({"main": attention_int8(128, 2, 64, 0.125, level="avx2")}), target=target
        )
    asm = ex.mod.inspect_source("asm")
    # Q K^T: 2 rows x 4 key vectors; P V: 2 rows x 4 head-dim vectors, two steps each with one
    # vpmaddwd (their s16 pair sums added by vpaddw)
    assert asm.count("vpmaddubsw") >= 2 * (8 + 8), asm.count("vpmaddubsw")
    assert asm.count("vpmaddwd") >= 8 + 8 and asm.count("vpaddw") >= 8 + 8
    for instr in ("%zmm", "vpdpbusd", "vscalefps"):
        assert instr not in asm, instr
    # K and V to s8 by vcvtps2dq and signed packs (avx2.saturate_s8), not round, truncate, mask
    packing = [b for b in re.split(r"\n\.LBB\S*:", asm) if "vpacksswb" in b]
    assert packing and all("vroundps" not in b and "vpand" not in b for b in packing)


@pytest.mark.parametrize("run", AVX_VNNI_RUNS)
@pytest.mark.parametrize("s, heads, d, pad", [(32, 2, 16, 0), (128, 4, 64, 7), (48, 1, 32, 47)])
def test_attention_int8_avx_vnni_gives_the_8_bit_twins_bits(s, heads, d, pad, run):
    """The AVX-VNNI path (8 lanes, the ymm ``vpdpbusd``) keeps zmm's 8-bit ranges: its twin is
    the zmm one (up to numpy's exp), not the 7-bit AVX2 one, and where this CPU also runs zmm it
    gives the zmm kernel's bits exactly."""
    q, kt, v, mask = _inputs(s, heads, d, seed=s + pad, spread=3.0, pad=pad)
    scale = 1 / np.sqrt(d)
    target = avx_vnni_run_target(run)
    out = _run(s, heads, d, scale, (q, kt, v, mask), target=target, level="avx_vnni")
    twin = attention_int8_ref(q, kt, v, mask, heads, scale, level="avx_vnni")
    np.testing.assert_array_equal(twin, attention_int8_ref(q, kt, v, mask, heads, scale))
    assert np.mean(out == twin) >= 0.99
    assert np.abs(out - twin).max() <= np.abs(v).max() / 255 * 1.01
    assert np.mean(out == attention_int8_ref(q, kt, v, mask, heads, scale, level="avx2")) < 0.5
    if isa.host_has("avx512_vnni"):
        np.testing.assert_array_equal(out, _run(s, heads, d, scale, (q, kt, v, mask)))


@requires_x86
def test_attention_int8_avx_vnni_asm_has_the_vex_dot_step_and_no_zmm():
    target = cross_target("avx_vnni")
    with target:
        ex = tvm.compile(
            tvm.IRModule({"main": attention_int8(128, 2, 64, 0.125, level="avx_vnni")}),
            target=target,
        )
    asm = ex.mod.inspect_source("asm")
    dots = [ln for ln in asm.splitlines() if "vpdpbusd" in ln]
    # Q K^T: 2 rows x 4 key vectors, P V: 2 rows x 4 head-dim vectors, two steps each
    assert len(dots) >= 2 * (8 + 8), len(dots)
    assert all("{vex}" in ln and "%ymm" in ln for ln in dots), dots[:4]
    for instr in ("%zmm", "vpmaddubsw", "vscalefps"):
        assert instr not in asm, instr


def test_attention_int8_refuses_shapes_it_cannot_tile():
    with pytest.raises(ValueError, match=r"multiples of 16|S % 16"):
        attention_int8(20, 2, 16, 0.25)
    with pytest.raises(ValueError, match="d % 16"):
        attention_int8(32, 2, 24, 0.25)
    with pytest.raises(ValueError, match="no path for level 'avx512'; choose one of avx512_vnni"):
        attention_int8(32, 2, 16, 0.25, level="avx512")
    for level in ("avx_vnni", "avx2"):
        with pytest.raises(ValueError, match="AMX path comes with the AVX-512 VNNI"):
            attention_int8(64, 2, 64, 0.25, amx=True, level=level)


@requires_isa("avx512_vnni")
def test_bert_mini_attention_runs_int8_and_stays_accurate():
    model, feeds, ref = bert_mini_90_with_reference()
    fused = tb.compile(model, seq_len=64, dtype="int8")
    fp32_attention = tb.compile(model, seq_len=64, dtype="int8", int8_attention=False)
    assert fused.metadata["attention"] == {"int8_fused": 4, "left_fp32": []}
    assert fp32_attention.metadata["attention"]["int8_fused"] == 0
    rules = fused.metadata["schedule_rules"]
    kernels = [name for name in rules if name.startswith("attention_int8_s64_h4_d64")]
    # the host target has AMX where the CPU does, and S = d = 64 is an AMX shape
    assert kernels and all(
        ("_amx" in name) == target_has(AMX_INT8, host_target()) for name in kernels
    ), rules
    if target_has(
        AMX_INT8, host_target()
    ):  # a target without AMX gets the VNNI-only kernel: same bits
        vnni = tb.compile(model, seq_len=64, dtype="int8", target=host_target(amx=False))
        assert not any("_amx" in name for name in vnni.metadata["schedule_rules"])
        np.testing.assert_array_equal(vnni.run(feeds)[0], fused.run(feeds)[0])
    assert not any(name.startswith("softmax") for name in rules)  # no FP32 softmax left
    outs = [m.run(feeds)[0] for m in (fused, fp32_attention)]
    for out in outs:
        assert min_token_cosine(out, ref) >= 0.99
    assert not np.array_equal(outs[0], outs[1])  # the switch really changes the attention path


@requires_isa("avx2")
def test_avx2_target_runs_int8_attention_on_ymm():
    """Compiled for AVX2 (whatever the host), every layer's attention is the ymm INT8 kernel, and
    the model stays accurate."""
    model, feeds, ref = bert_mini_90_with_reference()
    compiled = tb.compile(model, seq_len=64, dtype="int8", target=level_target("avx2"))
    assert compiled.metadata["attention"] == {"int8_fused": 4, "left_fp32": []}
    kernels = [n for n in compiled.metadata["schedule_rules"] if n.startswith("attention_int8")]
    assert kernels and all("_ymm" in n and "_vnni" not in n for n in kernels), kernels
    assert min_token_cosine(compiled.run(feeds)[0], ref) >= 0.99


@requires_isa("avx512_vnni")
def test_dense_k_projection_still_gets_int8_attention():
    """Below the threshold the K projection is our dense kernel, which stores K token-major:
    the rewrite then transposes K in front of the kernel instead of giving up."""
    pytest.importorskip("onnxruntime")
    model = make_bert_onnx("tiny", seed=3, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 32, pad=3, seed=4)
    ref = onnxruntime_outputs(model, feeds)[0]
    compiled = tb.compile(model, seq_len=32, dtype="int8", sparsity_threshold=0.95)
    assert {d["kernel"] for d in compiled.report} == {"int8_dense"}
    assert compiled.metadata["attention"] == {"int8_fused": 2, "left_fp32": []}
    out = compiled.run(feeds)[0]
    assert min_token_cosine(out, ref) >= 0.99


@requires_isa("avx512_vnni")
def test_batch_2_keeps_fp32_attention_with_a_reason():
    model = make_bert_onnx("tiny", seed=1, sparsity=0.9, block="4x1")
    compiled = tb.compile(model, batch_size=2, seq_len=32, dtype="int8")
    att = compiled.metadata["attention"]
    assert att["int8_fused"] == 0
    assert att["left_fp32"] == ["attention output [2, 32, 2, 64]: batch 1 only"] * 2


def test_probability_polynomial_is_within_rounding_of_255_exp():
    from tvm_blocksparse.op.attention import _prob_ref

    x = np.concatenate([np.linspace(-25, 0, 200001), [np.finfo(np.float32).min, -1e30]]).astype(
        np.float32
    )
    u = _prob_ref(x)
    exact = 255 * np.exp(x.astype(np.float64))
    assert np.abs(u - exact).max() <= 0.5 + 1e-3  # rint of 255 exp(x), up to the polynomial's 7e-4
    assert u[-1] == 0 and u[-2] == 0 and _prob_ref(np.zeros(1, np.float32))[0] == 255


AMX_TARGET = {"kind": "llvm", "mcpu": "sapphirerapids", "num-cores": 2}


@requires_isa("amx_int8")
@pytest.mark.parametrize("s, heads, d, pad", [(128, 3, 64, 7), (64, 2, 32, 0), (192, 1, 64, 61)])
def test_attention_int8_amx_path_gives_the_vnni_paths_bits(s, heads, d, pad):
    # Full-range s8 Q/K/V and u8 probabilities; the integer sums are exact on both paths.
    q, kt, v, mask = _inputs(s, heads, d, seed=d + pad, spread=3.0, pad=pad)
    scale = 1 / np.sqrt(d)
    vnni = _run(s, heads, d, scale, (q, kt, v, mask))
    amx = _run(s, heads, d, scale, (q, kt, v, mask), target=host_target(), amx=True)
    assert amx_granted()  # the kernel asked Linux for the tiles and got them: it ran its AMX path
    np.testing.assert_array_equal(amx, vnni)
    twin = attention_int8_ref(q, kt, v, mask, heads, scale)
    assert np.mean(amx == twin) >= 0.99


@requires_isa("avx512_vnni")
def test_attention_int8_amx_module_runs_its_vnni_path_when_linux_refuses_the_tiles():
    # A child denied AMX (the seccomp filter of the no-AMX ORT benchmark) is a CPU without it
    # to the kernel: the AMX-built module must give the VNNI module's bits, without SIGILL.
    code = textwrap.dedent("""
        import sys, numpy as np, tvm
        sys.path.insert(0, "tests")
        from tvm_blocksparse.isa.amx import amx_granted, deny_tiles
        try:
            deny_tiles()
        except OSError as e:
            print("NO-SECCOMP", e); sys.exit(0)
        from test_attention import AMX_TARGET, _inputs, _run
        arrays = _inputs(128, 2, 64, seed=3, spread=3.0, pad=9)
        vnni = _run(128, 2, 64, 0.125, arrays)
        amx = _run(128, 2, 64, 0.125, arrays, target=tvm.target.Target(AMX_TARGET), amx=True)
        assert not amx_granted()
        print("EQUAL", np.array_equal(amx, vnni))
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
def test_attention_int8_amx_asm_has_tile_ops_and_the_vnni_fallback():
    target = Target(AMX_TARGET)
    assert target_has(AMX_INT8, target) and not target_has(AMX_INT8, cross_target("avx512_vnni"))
    with target:
        ex = tvm.compile(
            tvm.IRModule({"main": attention_int8(128, 2, 64, 0.125, amx=True)}), target=target
        )
    asm = ex.mod.inspect_source("asm")
    # Q K^T: 2 key steps x 4 tiles; P V: 2 key steps x 4 tiles; the VNNI path is still there
    assert asm.count("tdpbusd") >= 16 and "ldtilecfg" in asm and "tilerelease" in asm
    assert asm.count("vpdpbusd") >= 16 + 8
    with pytest.raises(ValueError, match="AMX path needs"):
        attention_int8(96, 2, 64, 0.125, amx=True)


def test_host_target_lets_llvm_emit_amx_only_where_the_cpu_has_it_and_linux_grants_it(monkeypatch):
    def amx_tiles(target):
        return bool(tvm.target.codegen.target_has_features("amx-int8", target))

    from tvm_blocksparse.isa import amx

    monkeypatch.delenv(isa.MAX_ISA_ENV, raising=False)  # this CPU is faked: whatever the run's cap
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset(AMX_INT8.cpu_flags))
    monkeypatch.setattr(amx, "request_tiles_now", lambda: True)
    assert amx_tiles(host_target())
    assert not amx_tiles(host_target(amx=False))
    monkeypatch.setenv(isa.MAX_ISA_ENV, "avx512_vnni")  # capped below AMX: no tiles
    assert not amx_tiles(host_target())
    monkeypatch.delenv(isa.MAX_ISA_ENV)
    # Linux refuses this process the tiles (a sandbox): no AMX, whatever LLVM detected
    monkeypatch.setattr(amx, "request_tiles_now", lambda: False)
    assert not amx_tiles(host_target())
    monkeypatch.setattr(amx, "request_tiles_now", lambda: True)
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset(isa.AVX512_VNNI.cpu_flags))
    assert not amx_tiles(host_target())
