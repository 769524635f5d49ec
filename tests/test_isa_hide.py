"""tvm_blocksparse.isa.hide: a command run with the levels above one hidden sees a CPU of that
level in /proc/cpuinfo and in CPUID; where the machine can't, the reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tvm_blocksparse import isa
from tvm_blocksparse.isa import hide

_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile avx_vnni
model name\t: A CPU

processor\t: 1
flags\t\t: fpu avx2 fma avx512f
"""


def test_hidden_cpuinfo_drops_the_flags_above_the_level_and_keeps_the_rest(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(_CPUINFO)
    text = hide.hidden_cpuinfo("avx2", str(path))
    flags = [ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")]
    assert flags == [["fpu", "sse2", "avx", "avx2", "fma"], ["fpu", "avx2", "fma"]]
    assert "model name\t: A CPU" in text and text.count("processor") == 2
    kept = hide.hidden_cpuinfo("avx512_vnni", str(path)).splitlines()[2].split(":", 1)[1].split()
    assert "avx512_vnni" in kept and "avx_vnni" in kept and "amx_tile" not in kept
    assert hide.hidden_cpuinfo("amx_int8", str(path)) == _CPUINFO
    with pytest.raises(ValueError, match="unknown ISA level"):
        hide.hidden_cpuinfo("sse2", str(path))


def test_usage_errors_exit_2(capsys):
    assert hide.main(["avx2"]) == 2
    assert hide.main(["sse2", "--", "true"]) == 2
    assert hide.main(["avx2", "true"]) == 2
    assert "usage: python -m tvm_blocksparse.isa.hide" in capsys.readouterr().err


def test_or_skip_runs_nothing_where_there_is_nothing_to_hide_or_no_way_to(
    tmp_path, monkeypatch, capsys
):
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    # at or above this CPU's own level there is nothing to hide: exit 0, command not run
    monkeypatch.setattr(hide, "uncapped_host_isa_level", lambda: isa.AVX_VNNI)
    for level in ("avx_vnni", "avx512_vnni", "amx_int8"):
        assert hide.main(["--or-skip", level, "--", *command]) == 0
    assert (
        "nothing above amx_int8 to hide on this CPU (its level: avx_vnni)"
        in capsys.readouterr().err
    )
    monkeypatch.setattr(hide, "uncapped_host_isa_level", lambda: None)
    assert hide.main(["--or-skip", "avx2", "--", *command]) == 0
    assert "its level: below avx2" in capsys.readouterr().err
    # a level to hide, but no way to: 0 with the reason; without --or-skip that is an error (2)
    monkeypatch.setattr(hide, "uncapped_host_isa_level", lambda: isa.AVX512_VNNI)

    def unavailable(*_args, **_kwargs):
        raise hide.HideUnavailable("no CPUID faulting (test)")

    monkeypatch.setattr(hide, "hide_command", unavailable)
    assert hide.main(["--or-skip", "avx2", "--", *command]) == 0
    err = capsys.readouterr().err
    assert "no CPUID faulting (test)" in err and "not run: " in err
    assert hide.main(["avx2", "--", *command]) == 2
    assert not marker.exists()
    assert hide.main(["--or-skip", "avx2", *command]) == 2  # usage errors stay errors


def test_a_command_sees_the_hidden_cpu_in_its_flags_and_its_cpuid(tmp_path):
    if isa.uncapped_host_isa_level() in (None, isa.AVX2):
        pytest.skip("needs a CPU above AVX2 to hide levels from")
    code = (
        "import json; from tvm_blocksparse import isa; "
        "from tvm_blocksparse.isa.hide import hidden_level; "
        "from tvm_blocksparse.isa.peers import cpuid_capped_level; "
        "print(json.dumps([str(isa.host_isa_level()), str(isa.uncapped_host_isa_level()), "
        "cpuid_capped_level(), hidden_level(), 'avx512f' in open('/proc/cpuinfo').read()]))"
    )
    hidden_here = hide.hidden_level()  # not None where the whole suite runs hidden (make test-as-L)
    try:
        cmd, env = hide.hide_command("avx2", [sys.executable, "-c", code], str(tmp_path))
    except hide.HideUnavailable as e:
        pytest.skip(str(e))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["avx2", "avx2", "avx2", "avx2", False]
    assert hide.hidden_level() == hidden_here  # this process: hidden as before
    # the CLI passes the command's exit status through
    cli = [sys.executable, "-m", "tvm_blocksparse.isa.hide", "avx2", "--", sys.executable, "-c"]
    assert subprocess.run([*cli, "raise SystemExit(3)"], timeout=300).returncode == 3
    # --or-skip on a CPU with a level to hide runs the command hidden, status passed through
    skip_cli = [*cli[:3], "--or-skip", *cli[3:]]
    assert subprocess.run([*skip_cli, "raise SystemExit(3)"], timeout=300).returncode == 3
