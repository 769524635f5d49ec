"""Run a command on this CPU as it would look with the ISA levels above one hidden, the way a
hypervisor hides them: ``/proc/cpuinfo`` without their flags (a private mount namespace) and
CPUID without their bits (:func:`tvm_blocksparse.isa.peers.cpuid_cap_env`). Family and model
stay, so LLVM still names this CPU's model.

    python -m tvm_blocksparse.isa.hide avx2 -- .venv/bin/python -m pytest -q
    python -m tvm_blocksparse.isa.hide --or-skip avx2 -- COMMAND   # CI: only where it can hide

Why: every decision made from the CPU (our levels, kernels, test skips and refusals; LLVM's host
features; the peers' kernels) then is the one an AVX2-only host makes, on any newer machine.
It only hides: an instruction of a hidden level still executes if something runs it anyway,
so the assembly tests, not this, show that none is emitted. ``TVM_BLOCKSPARSE_MAX_ISA`` caps
only this library's view, inside the process.

Needs Linux with mount namespaces for this user (root, or unprivileged user namespaces) and
CPUID faulting (the ``cpuid_fault`` flag); :class:`HideUnavailable` says which is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from tvm_blocksparse.isa import (
    _CPU_FLAGS_ABOVE,
    LEVELS,
    MAX_ISA_ENV,
    by_name,
    uncapped_host_isa_level,
)
from tvm_blocksparse.isa.peers import (
    CPUID_CAP_ENV,
    CpuidCapUnavailable,
    cpuid_cap_env,
    cpuid_capped_level,
)

#: Set in the hidden command's environment: the level everything above is hidden from.
HIDE_ENV = "TVM_BLOCKSPARSE_HIDDEN_ABOVE"


class HideUnavailable(RuntimeError):
    """This machine can't hide levels from a command (no mount namespace, no CPUID faulting)."""


def hidden_cpuinfo(level: str, cpuinfo: str = "/proc/cpuinfo") -> str:
    """``cpuinfo``'s text with the flags of every level above ``level`` dropped from each
    ``flags`` line (``isa._CPU_FLAGS_ABOVE``); every other line as it is."""
    above = _CPU_FLAGS_ABOVE[by_name(level).name]
    lines = []
    with open(cpuinfo) as f:
        for line in f:
            if line.startswith("flags") and above:
                key, value = line.split(":", 1)
                kept = [flag for flag in value.split() if not flag.startswith(above)]
                line = f"{key}: {' '.join(kept)}\n"
            lines.append(line)
    return "".join(lines)


def _unshare() -> list[str]:
    """``unshare`` for a private mount namespace: root's own, else one in a user namespace."""
    user = [] if os.geteuid() == 0 else ["-r"]
    return ["unshare", *user, "-m", "--propagation", "private"]


def hide_command(
    level: str, argv: list[str], workdir: str, environ: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """(command, environment) that run ``argv`` with the levels above ``level`` hidden; the
    hidden ``/proc/cpuinfo`` is written to ``workdir``. ``TVM_BLOCKSPARSE_MAX_ISA`` is dropped:
    the command sees the hidden CPU whole. Raises :class:`HideUnavailable` with the reason."""
    environ = dict(os.environ if environ is None else environ)
    try:
        env = cpuid_cap_env(level, environ=environ)
    except CpuidCapUnavailable as e:
        raise HideUnavailable(str(e)) from None
    try:
        probe = subprocess.run([*_unshare(), "true"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HideUnavailable(f"no unshare: {e}") from None
    if probe.returncode != 0:
        raise HideUnavailable(f"no private mount namespace here: {probe.stderr.strip()[:300]}")
    cpuinfo = os.path.join(workdir, "cpuinfo")
    with open(cpuinfo, "w") as f:
        f.write(hidden_cpuinfo(level))
    # sh -c 'mount ... && exec "$0" "$@"' argv...: the command's words stay as they are
    script = f'mount --bind \'{cpuinfo}\' /proc/cpuinfo && exec "$0" "$@"'
    env = {k: v for k, v in {**environ, **env, HIDE_ENV: level}.items() if k != MAX_ISA_ENV}
    return [*_unshare(), "sh", "-c", script, *argv], env


def hidden_level() -> str | None:
    """The level this process runs hidden above (:func:`hide_command`: its flags and, where
    there was anything to hide, its CPUID show that level), or None."""
    level = os.environ.get(HIDE_ENV)
    if not level or getattr(uncapped_host_isa_level(), "name", None) != level:
        return None
    if os.environ.get(CPUID_CAP_ENV) and cpuid_capped_level() != level:
        return None
    return level


def main(argv: list[str] | None = None) -> int:
    """Runs the command hidden and returns its exit status; 2 on a usage error or where this
    machine can't hide. ``--or-skip``: where there is nothing to hide (the CPU is at or below the
    level) or the machine can't hide, say why and return 0 without running the command (CI's
    check of the tests on a lower level's view, on every host)."""
    argv = sys.argv[1:] if argv is None else argv
    names = [level.name for level in LEVELS]
    or_skip = argv[:1] == ["--or-skip"]
    argv = argv[1:] if or_skip else argv
    if len(argv) < 3 or argv[0] not in names or argv[1] != "--":
        print(
            f"usage: python -m tvm_blocksparse.isa.hide [--or-skip] {{{','.join(names)}}} -- "
            "COMMAND...",
            file=sys.stderr,
        )
        return 2
    level, host = argv[0], uncapped_host_isa_level()
    # LEVELS runs from the highest: nothing to hide unless the CPU's level comes first
    if or_skip and (host is None or LEVELS.index(host) >= LEVELS.index(by_name(level))):
        print(
            f"nothing above {level} to hide on this CPU (its level: "
            f"{host.name if host else 'below avx2'}); not run: {' '.join(argv[2:])}",
            file=sys.stderr,
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="tvm_blocksparse_hide_") as workdir:
        try:
            cmd, env = hide_command(level, argv[2:], workdir)
        except HideUnavailable as e:
            print(f"can't hide the levels above {level} here: {e}", file=sys.stderr)
            if or_skip:
                print(f"not run: {' '.join(argv[2:])}", file=sys.stderr)
                return 0
            return 2
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
