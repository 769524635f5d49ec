"""The ISA layer: level descriptors, which level a target or this CPU has, and each level's
u8 x s8 -> s32 dot step (assembly for every level on any host; executed where the CPU has it,
bit-exact on full-range data, or shown to saturate where the instruction does)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tvm
from conftest import (
    AVX_VNNI_RUNS,
    CROSS_TARGETS,
    avx_vnni_run_target,
    cross_target,
    evex_twin_target,
    level_target,
    requires_isa,
    requires_x86,
)
from tvm.s_tir import Schedule
from tvm.script import tirx as T

from tvm_blocksparse import isa
from tvm_blocksparse.isa import avx2
from tvm_blocksparse.isa.avx2 import AVX2_TOKEN8_W4_INTRIN, dot_u8s8_ref
from tvm_blocksparse.isa.avx512 import VNNI_TOKEN16_W4_INTRIN
from tvm_blocksparse.isa.avx_vnni import AVX_VNNI_TOKEN8_W4_INTRIN

TOKEN_DOT = {
    "avx2": (AVX2_TOKEN8_W4_INTRIN, 8),
    "avx_vnni": (AVX_VNNI_TOKEN8_W4_INTRIN, 8),
    "avx512_vnni": (VNNI_TOKEN16_W4_INTRIN, 16),
}


def test_levels_are_described_once_and_found_by_name():
    assert [lvl.name for lvl in isa.LEVELS] == ["amx_int8", "avx512_vnni", "avx_vnni", "avx2"]
    assert isa.AVX2.lanes == isa.AVX_VNNI.lanes == 8 and isa.AVX512_VNNI.lanes == 16
    assert isa.by_name("avx_vnni") is isa.AVX_VNNI
    with pytest.raises(ValueError, match="unknown ISA level 'sse2'; known"):
        isa.by_name("sse2")


@requires_x86
@pytest.mark.parametrize(
    "mcpu, level",
    [
        ("haswell", "avx2"),
        ("znver3", "avx2"),
        ("alderlake", "avx_vnni"),
        ("icelake-server", "avx512_vnni"),
        ("znver4", "avx512_vnni"),
        ("sapphirerapids", "amx_int8"),
        ("nehalem", None),
    ],
)
def test_isa_level_of_a_target(mcpu, level):
    got = isa.isa_level({"kind": "llvm", "mcpu": mcpu})
    assert (got.name if got else None) == level


def test_cross_targets_are_the_levels_they_stand_for():
    for name, target in CROSS_TARGETS.items():
        assert isa.isa_level(target).name == name


def test_host_level_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset({"sse4_2", "avx", "avx2", "fma"}))
    assert isa.host_isa_level() is isa.AVX2 and not isa.host_has("avx512_vnni")
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset({"avx2", "fma", "avx_vnni"}))
    assert isa.host_isa_level() is isa.AVX_VNNI
    monkeypatch.setattr(
        isa, "host_cpu_flags", lambda: frozenset(isa.AMX_INT8.cpu_flags) | {"avx2", "fma"}
    )
    assert isa.host_isa_level() is isa.AMX_INT8 and isa.host_has(isa.AVX512_VNNI)
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset({"sse2"}))
    assert isa.host_isa_level() is None


#: /proc/cpuinfo flags of a Sapphire Rapids (AMX, AVX-512 VNNI, AVX-VNNI, AVX-512 BF16), trimmed
_SPR_FLAGS = frozenset(
    "sse4_2 avx avx2 fma avx_vnni avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni "
    "avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8".split()
)


@pytest.mark.parametrize(
    "cap, level, kept, hidden",
    [
        ("", "amx_int8", {"amx_int8", "avx_vnni"}, set()),
        ("amx_int8", "amx_int8", {"amx_int8"}, set()),
        ("avx512_vnni", "avx512_vnni", {"avx512_vnni", "avx512_bf16", "avx_vnni"}, {"amx_tile"}),
        ("avx_vnni", "avx_vnni", {"avx_vnni", "avx2"}, {"avx512f", "avx512_bf16", "amx_int8"}),
        ("avx2", "avx2", {"avx2", "fma"}, {"avx_vnni", "avx512f", "avx512_fp16", "amx_bf16"}),
    ],
)
def test_max_isa_cap_hides_the_levels_above_it(monkeypatch, cap, level, kept, hidden):
    """TVM_BLOCKSPARSE_MAX_ISA: the CPU's flags above the cap are gone, so its level, what it
    can run and what it refuses are those of a CPU of that level."""
    monkeypatch.setattr(isa, "_cpuinfo_flags", lambda: _SPR_FLAGS)
    monkeypatch.setenv(isa.MAX_ISA_ENV, cap)
    flags = isa.host_cpu_flags()
    assert isa.host_isa_level().name == level
    assert kept <= flags and not hidden & flags
    assert isa.host_has("avx2") and isa.host_has(level)
    assert isa.uncapped_host_isa_level() is isa.AMX_INT8  # what a library with no cap runs


def test_max_isa_cap_above_the_cpu_changes_nothing_and_a_bad_one_is_refused(monkeypatch):
    zen3 = frozenset({"sse4_2", "avx", "avx2", "fma"})
    monkeypatch.setattr(isa, "_cpuinfo_flags", lambda: zen3)
    monkeypatch.setenv(isa.MAX_ISA_ENV, "avx512_vnni")
    assert isa.host_cpu_flags() == zen3 and isa.host_isa_level() is isa.AVX2
    monkeypatch.setenv(isa.MAX_ISA_ENV, "avx512")
    with pytest.raises(
        ValueError, match=r"TVM_BLOCKSPARSE_MAX_ISA='avx512': choose one of avx2, avx_vnni, "
    ):
        isa.host_cpu_flags()


@requires_x86
def test_max_isa_cap_makes_the_host_target_that_level(monkeypatch):
    """The host target of a capped process switches off every level above the cap (what
    ``tb.compile`` builds for), and refuses code of those levels (as that CPU would)."""
    from tvm_blocksparse.target import host_target

    monkeypatch.delenv(isa.MAX_ISA_ENV, raising=False)  # whatever the run's own cap
    best = isa.host_isa_level()
    monkeypatch.setenv(isa.MAX_ISA_ENV, "avx2")
    capped = host_target()
    assert isa.isa_level(capped) is (isa.AVX2 if best else None)
    assert not any(isa.target_has(lvl, capped) for lvl in isa.LEVELS if lvl is not isa.AVX2)
    with pytest.raises(RuntimeError, match=r"avx512vnni.*this CPU lacks them"):
        isa.check_host_can_run(CROSS_TARGETS["avx512_vnni"])
    monkeypatch.delenv(isa.MAX_ISA_ENV)
    assert isa.isa_level(host_target()) is best


@requires_x86
def test_check_host_can_run_names_what_the_cpu_lacks(monkeypatch):
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: frozenset({"avx", "avx2", "fma"}))
    isa.check_host_can_run(CROSS_TARGETS["avx2"])
    with pytest.raises(RuntimeError, match=r"uses avxvnni; this CPU lacks it"):
        isa.check_host_can_run(CROSS_TARGETS["avx_vnni"])
    with pytest.raises(
        RuntimeError, match=r"avx512vnni.*this CPU lacks them, so running it would stop"
    ):
        isa.check_host_can_run(CROSS_TARGETS["avx512_vnni"])


# ----------------------------------------------------------------------------- dot steps


def _token_dot_kernel(level: str, m: int = 32, k: int = 64):
    """``C[t] = sum_g sum_c A[g, t, c] * B[g, c]`` (``A u8[K/4, M, 4]``, ``B s8[K/4, 4]``) with the
    level's token dot step tensorized: the 4x1 kernel's inner step in isolation."""
    intrin, lanes = TOKEN_DOT[level]

    @T.prim_func(s_tir=True)
    def main(
        A: T.Buffer((k // 4, m, 4), "uint8"),
        B: T.Buffer((k // 4, 4), "int8"),
        C: T.Buffer((m,), "int32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for to in range(m // lanes):
            for t in range(lanes):
                with T.sblock("init"):
                    vt = T.axis.spatial(m, to * lanes + t)
                    C[vt] = 0
            for g in range(k // 4):
                for t, c in T.grid(lanes, 4):
                    with T.sblock("dot"):
                        vt = T.axis.spatial(m, to * lanes + t)
                        vg, vc = T.axis.remap("RR", [g, c])
                        C[vt] = C[vt] + T.cast(A[vg, vt, vc], "int32") * T.cast(B[vg, vc], "int32")

    sch = Schedule(main)
    sch.tensorize(sch.get_loops(sch.get_sblock("dot"))[-2], intrin)
    return sch.mod


def _asm(level: str) -> str:
    target = cross_target(level)
    return tvm.compile(_token_dot_kernel(level), target=target).mod.inspect_source("asm")


@requires_x86
def test_avx2_dot_step_is_maddubs_maddwd_on_ymm():
    asm = _asm("avx2")
    assert "vpmaddubsw" in asm and "vpmaddwd" in asm and "%ymm" in asm
    assert "%zmm" not in asm and "vpdpbusd" not in asm


@requires_x86
def test_avx_vnni_dot_step_is_the_vex_vpdpbusd_on_ymm():
    asm = _asm("avx_vnni")
    assert "vpdpbusd" in asm and "%ymm" in asm and "%zmm" not in asm and "vpmaddubsw" not in asm
    # without AVX-512 VL the only encoding of vpdpbusd ymm is the VEX one (AVX-VNNI)
    assert not tvm.target.codegen.target_has_features("avx512vl", cross_target("avx_vnni"))


@requires_x86
def test_avx512_dot_step_is_vpdpbusd_on_zmm():
    asm = _asm("avx512_vnni")
    assert "vpdpbusd" in asm and "%zmm" in asm and "vpmaddubsw" not in asm


def _run(level: str, a: np.ndarray, b: np.ndarray, target=None) -> np.ndarray:
    kernel = _token_dot_kernel(level, a.shape[1], a.shape[0] * 4)
    lib = tvm.compile(kernel, target=target or level_target(level))
    c = tvm.runtime.empty((a.shape[1],), "int32")
    lib["main"](tvm.runtime.tensor(a), tvm.runtime.tensor(b), c)
    return c.numpy()


def _exact(a, b):
    return np.einsum("gtc,gc->t", a.astype(np.int64), b.astype(np.int64)).astype(np.int32)


@requires_isa("avx2")
def test_avx2_dot_step_is_exact_with_7_bit_weights_and_saturates_on_full_range():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (16, 32, 4), dtype=np.uint8)  # full-range u8
    a[:, :, :2] = 255  # pairs of the largest activations: the worst case for the s16 pair sums
    b7 = rng.integers(-64, 65, (16, 4)).astype(np.int8)
    b7[0] = (64, 64, -64, -64)
    np.testing.assert_array_equal(_run("avx2", a, b7), _exact(a, b7))
    b = rng.integers(-128, 128, (16, 4), dtype=np.int8)  # full-range s8: 255 * 127 * 2 > 32767
    b[0] = (127, 127, -128, -128)
    twin = sum(dot_u8s8_ref(a[g], np.broadcast_to(b[g], (32, 4))) for g in range(16))
    out = _run("avx2", a, b)
    np.testing.assert_array_equal(out, twin)
    assert (out != _exact(a, b)).any()  # the naive sequence saturated on this data


def _two_steps_kernel():
    """``C = dot_u8s8_two_steps(0, A[0], W[0], A[1], W[1])`` on one ymm."""

    @T.prim_func(s_tir=True)
    def main(
        A: T.Buffer((2, 32), "uint8"), W: T.Buffer((2, 32), "int8"), C: T.Buffer((8,), "int32")
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        C[T.ramp(0, 1, 8)] = avx2.dot_u8s8_two_steps(
            T.broadcast(T.int32(0), 8),
            A[0, T.ramp(0, 1, 32)],
            W[0, T.ramp(0, 1, 32)],
            A[1, T.ramp(0, 1, 32)],
            W[1, T.ramp(0, 1, 32)],
        )

    return tvm.compile(tvm.IRModule({"main": main}), target=level_target("avx2"))


@requires_isa("avx2")
def test_avx2_two_dot_steps_are_exact_in_7_bits_and_wrap_beyond():
    """Two steps' pair sums are added in s16 before one ``vpmaddwd``: exact for u8 in [0, 127]
    x s8 in [-64, 64] at the extremes; with full-range u8 the s16 sum wraps."""
    lib = _two_steps_kernel()
    asm = lib.mod.inspect_source("asm")
    assert asm.count("vpmaddubsw") == 2 and asm.count("vpmaddwd") == 1 and "vpaddw" in asm

    def run(a, w):
        c = tvm.runtime.empty((8,), "int32")
        lib["main"](tvm.runtime.tensor(a), tvm.runtime.tensor(w), c)
        return c.numpy()

    def exact(a, w):
        return (a.astype(np.int64) * w).reshape(2, 8, 4).sum(axis=(0, 2)).astype(np.int32)

    rng = np.random.default_rng(3)
    a = rng.integers(0, 128, (2, 32), dtype=np.uint8)
    w = rng.integers(-64, 65, (2, 32)).astype(np.int8)
    a[:, :8], w[:, :4], w[:, 4:8] = 127, 64, -64  # lanes 0 and 1 at +-2 x 2 x 127 x 64
    np.testing.assert_array_equal(run(a, w), exact(a, w))
    a[:, :8] = 255  # 8-bit activations: 4 x 255 x 64 > 32767
    assert (run(a, w)[:2] != exact(a, w)[:2]).all()


@pytest.mark.parametrize("run", AVX_VNNI_RUNS)
def test_avx_vnni_dot_step_is_exact_on_full_range(run):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (16, 32, 4), dtype=np.uint8)
    b = rng.integers(-128, 128, (16, 4), dtype=np.int8)
    np.testing.assert_array_equal(_run("avx_vnni", a, b, avx_vnni_run_target(run)), _exact(a, b))


@requires_x86
def test_avx_vnni_evex_twin_is_the_same_instruction_in_its_evex_form():
    """The twin target compiles the AVX-VNNI dot step to ``vpdpbusd`` on ymm without the ``{vex}``
    prefix (the EVEX form an AVX-512 VNNI CPU runs); the AVX-VNNI cross-target to the VEX one.
    Compiled only: any x86 host."""
    twin = tvm.compile(_token_dot_kernel("avx_vnni"), target=evex_twin_target())
    twin_dots = [ln for ln in twin.mod.inspect_source("asm").splitlines() if "vpdpbusd" in ln]
    vex_dots = [ln for ln in _asm("avx_vnni").splitlines() if "vpdpbusd" in ln]
    assert twin_dots and all("%ymm" in ln and "{vex}" not in ln for ln in twin_dots)
    assert vex_dots and all("{vex}" in ln for ln in vex_dots)


@requires_isa("avx512_vnni")
def test_avx512_dot_step_is_exact_on_full_range():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (16, 32, 4), dtype=np.uint8)
    b = rng.integers(-128, 128, (16, 4), dtype=np.int8)
    np.testing.assert_array_equal(_run("avx512_vnni", a, b), _exact(a, b))


def test_deny_tiles_refuses_only_the_amx_permission_request():
    # In a child: the filter is irreversible. ARCH_GET_FS (0x1003) must still work, the AMX
    # request must fail with EPERM, and the denial must reach children of the process.
    code = textwrap.dedent("""
        import ctypes, os, subprocess, sys
        from tvm_blocksparse.isa.amx import deny_tiles
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            deny_tiles()
        except OSError as e:
            if "refused" in str(e):
                print("NO-SECCOMP", e); sys.exit(0)
            raise
        fs = ctypes.c_ulong()
        assert libc.syscall(158, 0x1003, ctypes.byref(fs)) == 0 and fs.value != 0
        assert libc.syscall(158, 0x1023, 18) == -1 and ctypes.get_errno() == 1
        child = ("import ctypes; lib = ctypes.CDLL(None, use_errno=True); "
                 "print(lib.syscall(158, 0x1023, 18), ctypes.get_errno())")
        run = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
        print("CHILD", run.stdout.strip())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    if out.stdout.startswith("NO-SECCOMP"):
        pytest.skip(f"seccomp filters not allowed here: {out.stdout.strip()}")
    assert "CHILD -1 1" in out.stdout


def test_host_cpu_name_is_cpuinfos_model_name():
    from tvm_blocksparse.isa import host_cpu_name

    with open("/proc/cpuinfo") as f:
        names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
    assert host_cpu_name() == (names[0] if names else "unknown")
