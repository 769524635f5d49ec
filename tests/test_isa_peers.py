"""The peer ISA caps of ``bench/spmm.py --isa-level`` / ``bench/e2e.py --isa-level``: one entry
per level of ours, and the variables reach the libraries they name (run in a fresh interpreter,
since each library reads them when it loads); the CPUID cap answers as the lower level would,
in every thread, and leaves real crashes alone."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from tvm_blocksparse import isa
from tvm_blocksparse.isa import peers
from tvm_blocksparse.isa.peers import PEER_ISA_CAPS, peer_isa_env


def test_every_level_of_ours_has_its_caps():
    assert set(PEER_ISA_CAPS) == {level.name for level in isa.LEVELS}
    assert peer_isa_env("avx2")["NM_ARCH"] == "avx2"
    peer_isa_env("avx2")["NM_ARCH"] = "changed"  # a copy: the table stays as it is
    assert PEER_ISA_CAPS["avx2"]["NM_ARCH"] == "avx2"
    with pytest.raises(ValueError, match="no peer caps for ISA level 'sse2'"):
        peer_isa_env("sse2")


def _run_capped(level: str, code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PEER_ISA_CAPS["avx2"]}
    env.update(peer_isa_env(level), ONEDNN_VERBOSE="1")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    result = json.loads(out.splitlines()[-1])
    result["onednn_isa"] = [line for line in out.splitlines() if ",cpu,isa:" in line]
    return result


@pytest.mark.skipif(not isa.host_has("avx2"), reason="needs an AVX2 CPU")
def test_avx2_caps_reach_aten_onednn_and_openblas():
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    got = _run_capped(
        "avx2",
        """
        import json, numpy, threadpoolctl, torch, torch.utils.mkldnn
        conv = torch.utils.mkldnn.to_mkldnn(torch.nn.Conv2d(3, 8, 3))
        with torch.no_grad():
            conv(torch.randn(1, 3, 16, 16).to_mkldnn())  # a oneDNN primitive: it logs its ISA
        blas = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"]
        print(json.dumps({"aten": torch.backends.cpu.get_cpu_capability(),
                          "openblas": [i.get("architecture") for i in blas]}))
        """,
    )
    assert got["aten"] == "AVX2"
    assert got["onednn_isa"] and all(line.endswith("isa:Intel AVX2") for line in got["onednn_isa"])
    assert all(arch == "Haswell" for arch in got["openblas"])


def _isa_level_parser():
    import argparse

    from tvm_blocksparse.isa.peers import add_isa_level_option

    parser = argparse.ArgumentParser()
    add_isa_level_option(parser)
    parser.exit = parser.error = lambda *a, **k: (_ for _ in ()).throw(ValueError(a))
    return parser


def test_isa_level_option_refuses_what_this_cpu_cant_run(monkeypatch):
    monkeypatch.delenv(isa.MAX_ISA_ENV, raising=False)
    parser = _isa_level_parser()
    assert parser.parse_args([]).isa_level is None  # the host's best, peers uncapped
    runnable = [lvl.name for lvl in isa.LEVELS if isa.host_has(lvl)]
    for name in runnable:
        assert parser.parse_args(["--isa-level", name]).isa_level == name
    with pytest.raises(ValueError, match="choose from"):
        parser.parse_args(["--isa-level", "sse2"])
    for name in {lvl.name for lvl in isa.LEVELS} - set(runnable):
        with pytest.raises(ValueError, match=f"this CPU can't run {name} code"):
            parser.parse_args(["--isa-level", name])


@pytest.mark.skipif(not isa.host_has("avx2"), reason="needs a CPU that runs avx2 code")
def test_isa_level_option_defaults_to_the_capped_level(monkeypatch):
    """Under TVM_BLOCKSPARSE_MAX_ISA the benchmarks build ours and cap the peers at the capped
    CPU's level without being told."""
    monkeypatch.setenv(isa.MAX_ISA_ENV, "avx2")
    assert _isa_level_parser().parse_args([]).isa_level == "avx2"
    monkeypatch.setenv(isa.MAX_ISA_ENV, "amx_int8")  # above this CPU: its own best level
    assert _isa_level_parser().parse_args([]).isa_level == isa.host_isa_level().name


# ----------------------------------------------------------------------------- CPUID cap

#: (leaf, subleaf, register, bit) of features whose presence tells the levels apart
AVX2_BIT = (7, 0, "ebx", 5)
AVX512F_BIT = (7, 0, "ebx", 16)
AVX512_VNNI_BIT = (7, 0, "ecx", 11)
AMX_INT8_BIT = (7, 0, "edx", 25)
AVX_VNNI_BIT = (7, 1, "eax", 4)
_HAS_CPUID_FAULTING = "cpuid_fault" in isa._cpuinfo_flags() and bool(shutil.which("cc"))

# Prints CPUID leaf 7 subleaves 0 and 1 as JSON, from the main thread and from a new one.
_LEAF7_PROBE = r"""
#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
static unsigned r[2][2][4];
static void *leaf7(void *slot) {
  unsigned *out = slot;
  for (unsigned sub = 0; sub < 2; sub++)
    __cpuid_count(7, sub, out[4 * sub], out[4 * sub + 1], out[4 * sub + 2], out[4 * sub + 3]);
  return NULL;
}
int main(void) {
  pthread_t t;
  leaf7(r[0]);
  pthread_create(&t, NULL, leaf7, r[1]);
  pthread_join(t, NULL);
  for (int th = 0; th < 2; th++)
    printf("%s[[%u,%u,%u,%u],[%u,%u,%u,%u]]", th ? "," : "[", r[th][0][0], r[th][0][1],
           r[th][0][2], r[th][0][3], r[th][1][0], r[th][1][1], r[th][1][2], r[th][1][3]);
  printf("]\n");
  return 0;
}
"""


def _leaf7(probe: str, env: dict[str, str]) -> list[dict]:
    """Per thread (main, new): {(leaf, subleaf, register, bit): set?} of the bits above."""
    out = subprocess.run([probe], env=env, capture_output=True, text=True, check=True).stdout
    names = ("eax", "ebx", "ecx", "edx")

    def has(regs, leaf, sub, reg, bit):
        return bool(regs[sub][names.index(reg)] >> bit & 1)

    bits = (AVX2_BIT, AVX512F_BIT, AVX512_VNNI_BIT, AMX_INT8_BIT, AVX_VNNI_BIT)
    return [{b: has(regs, *b) for b in bits} for regs in json.loads(out)]


def _levels_below_this_cpu() -> list[str]:
    host = isa.uncapped_host_isa_level()
    if host is None:
        return []
    below = isa.LEVELS[isa.LEVELS.index(host) + 1 :]
    return [lvl.name for lvl in below if set(lvl.cpu_flags) <= isa._cpuinfo_flags()]


def test_cpuid_cap_env_is_empty_at_and_above_this_cpu_and_refuses_other_names():
    host = isa.uncapped_host_isa_level()
    for level in isa.LEVELS[: isa.LEVELS.index(host) + 1] if host else isa.LEVELS:
        assert peers.cpuid_cap_env(level.name) == {}
    with pytest.raises(ValueError, match="no peer caps for ISA level 'sse2'"):
        peers.cpuid_cap_env("sse2")
    # the variable alone is no capped CPUID: the library must have loaded and turned it on
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env[peers.CPUID_CAP_ENV] = "avx2"
    code = "from tvm_blocksparse.isa.peers import cpuid_capped_level; print(cpuid_capped_level())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "None", done.stderr


@pytest.mark.skipif(not _levels_below_this_cpu(), reason="no lower level this CPU also runs")
def test_cpuid_cap_env_says_why_without_cpuid_faulting(monkeypatch):
    level = _levels_below_this_cpu()[0]
    flags = isa._cpuinfo_flags() - {"cpuid_fault"}
    monkeypatch.setattr(isa, "_cpuinfo_flags", lambda: flags)
    with pytest.raises(peers.CpuidCapUnavailable, match="no CPUID faulting"):
        peers.cpuid_cap_env(level)
    env, uncapped = peers.peer_caps_env(level)
    assert env == peer_isa_env(level)
    assert len(uncapped) == len(peers.UNCAPPED_PEERS)
    assert all("no CPUID faulting" in line for line in uncapped)


@pytest.mark.skipif(not _HAS_CPUID_FAULTING, reason="needs CPUID faulting and a C compiler")
@pytest.mark.skipif(not _levels_below_this_cpu(), reason="no lower level this CPU also runs")
@pytest.mark.parametrize("level", ["avx2", "avx_vnni", "avx512_vnni"])
def test_cpuid_answers_as_the_lower_level_in_every_thread(level, tmp_path):
    if level not in _levels_below_this_cpu():
        pytest.skip(f"this CPU is not above {level} or doesn't run it")
    probe = tmp_path / "leaf7"
    (tmp_path / "leaf7.c").write_text(_LEAF7_PROBE)
    subprocess.run(["cc", "-O2", "-pthread", "-o", probe, tmp_path / "leaf7.c"], check=True)
    plain = _leaf7(str(probe), dict(os.environ))
    env = {**os.environ, **peers.cpuid_cap_env(level, environ=dict(os.environ))}
    capped = _leaf7(str(probe), env)
    assert plain[0] == plain[1]
    expected = {
        AVX2_BIT: True,
        AVX512F_BIT: level == "avx512_vnni",
        AVX512_VNNI_BIT: level == "avx512_vnni",
        AMX_INT8_BIT: False,
        AVX_VNNI_BIT: level == "avx_vnni",
    }
    for thread in capped:  # the main thread and one it started
        assert thread == {b: plain[0][b] and on for b, on in expected.items()}
    assert capped != plain  # something above the level was there to hide


@pytest.mark.skipif(not _HAS_CPUID_FAULTING, reason="needs CPUID faulting and a C compiler")
@pytest.mark.skipif("avx2" not in _levels_below_this_cpu(), reason="this CPU is not above avx2")
def test_python_libraries_see_the_capped_cpu_and_crashes_still_crash():
    env = {**os.environ, **peers.cpuid_cap_env("avx2", environ=dict(os.environ))}
    code = textwrap.dedent(
        """
        import json, sys
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as f
        except ImportError:  # numpy < 2
            from numpy.core._multiarray_umath import __cpu_features__ as f
        from tvm_blocksparse.isa.peers import cpuid_capped_level
        print(json.dumps([cpuid_capped_level(), f["AVX512F"], f["AVX2"]]), flush=True)
        if sys.argv[1:] == ["crash"]:
            import ctypes
            ctypes.string_at(0)
        """
    )
    run = [sys.executable, "-X", "faulthandler", "-c", code]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == ["avx2", False, True]
    # faulthandler's SIGSEGV handler, installed after ours, still reports a real fault, and
    # the process dies of it instead of hanging in the handler
    crash = subprocess.run([*run, "crash"], env=env, capture_output=True, text=True, timeout=120)
    assert crash.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in crash.stderr
