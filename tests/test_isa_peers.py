"""The peer ISA caps of ``bench/spmm.py --isa-level`` / ``bench/e2e.py --isa-level``: one entry
per level of ours, and the variables reach the libraries they name (run in a fresh interpreter,
since each library reads them when it loads)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tvm_blocksparse import isa
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
