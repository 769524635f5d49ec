"""Environment variables that cap peer libraries at one of our ISA levels: how a newer CPU times
the peers as a CPU of that level would run them, beside our kernels built for that level
(:func:`tvm_blocksparse.target.level_target`), in ``bench/spmm.py --isa-level`` and
``bench/e2e.py --isa-level``.

Two kinds: the variables some libraries read (:data:`PEER_ISA_CAPS`: oneDNN, oneMKL, ATen,
OpenBLAS, DeepSparse), and a CPUID that answers as a CPU of that level would
(:func:`cpuid_cap_env`, ``cpuid_cap.c``) for those that read CPUID and nothing else (ONNX
Runtime, FBGEMM, OpenVINO).

Imports nothing heavy: the variables must be set before numpy, torch or DeepSparse load.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: ISA level name -> the variables that cap each peer there, read when the library loads: oneDNN
#: (torch's "onednn" INT8 engine and its FP32 primitives), oneMKL (torch's FP32 GEMM,
#: sparse_dot_mkl's CSR; it takes no AVX-512 path on AMD CPUs anyway), ATen's vectorized kernels,
#: OpenBLAS (numpy), DeepSparse (which engine build it loads). MKL's AVX-VNNI cap is AVX2: it runs
#: FP32 only here, where the two levels are the same.
PEER_ISA_CAPS: dict[str, dict[str, str]] = {
    "avx2": {
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NM_ARCH": "avx2",
    },
    "avx_vnni": {
        "ONEDNN_MAX_CPU_ISA": "AVX2_VNNI",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NM_ARCH": "avx2",
    },
    "avx512_vnni": {
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI",
        "MKL_ENABLE_INSTRUCTIONS": "AVX512_E1",
        "ATEN_CPU_CAPABILITY": "avx512",
        "OPENBLAS_CORETYPE": "SkylakeX",
        "NM_ARCH": "avx512",
    },
    "amx_int8": {},  # the highest level: nothing above it to cap
}
#: peers that no variable caps, only :func:`cpuid_cap_env`: without it they run at the host's own
#: level, so a ratio against them is conservative (they are faster than at the capped level).
UNCAPPED_PEERS = (
    "ONNX Runtime (MLAS dispatches on CPUID)",
    "FBGEMM (torch's x86 and fbgemm INT8 engines)",
    "OpenVINO",
)


def peer_isa_env(level: str) -> dict[str, str]:
    """The variables of :data:`PEER_ISA_CAPS` for ``level`` (an ISA level name of
    :mod:`tvm_blocksparse.isa`); ``ValueError`` for another name."""
    if level not in PEER_ISA_CAPS:
        raise ValueError(f"no peer caps for ISA level {level!r}; levels: {sorted(PEER_ISA_CAPS)}")
    return dict(PEER_ISA_CAPS[level])


def add_isa_level_option(parser) -> None:
    """The benchmarks' ``--isa-level`` (argparse): our code built for that level of this CPU, the
    peers capped at it; a level this CPU can't run is refused when parsed. Under a
    ``TVM_BLOCKSPARSE_MAX_ISA`` cap it defaults to the capped CPU's level, so the peers are
    capped with our code (else None: the host's best, peers uncapped)."""
    from tvm_blocksparse.isa import by_name, host_has, host_isa_level, max_isa_level

    def level(name: str) -> str:
        if name not in PEER_ISA_CAPS:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(sorted(PEER_ISA_CAPS))}")
        if not host_has(by_name(name)):
            raise argparse.ArgumentTypeError(f"this CPU can't run {name} code")
        return name

    capped = host_isa_level() if max_isa_level() is not None else None
    parser.add_argument(
        "--isa-level",
        type=level,
        default=capped.name if capped is not None else None,
        metavar="{" + ",".join(sorted(PEER_ISA_CAPS)) + "}",
        help="build our code for this ISA level (not above this CPU's) and cap the peers that "
        "can be capped at it (tvm_blocksparse.isa.peers; ONNX Runtime, FBGEMM and OpenVINO "
        "through a capped CPUID, where Linux offers CPUID faulting): an older CPU's run on a "
        "newer one",
    )


# ----------------------------------------------------------------------------- CPUID

#: The variable ``cpuid_cap.c`` reads: the level whose CPUID it answers with.
CPUID_CAP_ENV = "TVM_BLOCKSPARSE_CPUID_CAP"
_CPUID_CAP_SOURCE = Path(__file__).with_name("cpuid_cap.c")
#: glibc reads CPUID before LD_PRELOAD's constructor runs: its tunables drop, per level, the
#: AVX-512 versions of its string functions as well (names glibc doesn't know are ignored).
_GLIBC_HWCAPS_ABOVE = {
    "avx2": "-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL",
    "avx_vnni": "-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL",
    "avx512_vnni": "",
}
_ARCH_GET_CPUID = 0x1011
_SYS_ARCH_PRCTL_X86_64 = 158


class CpuidCapUnavailable(RuntimeError):
    """This machine can't answer CPUID as a lower level (no CPUID faulting, no C compiler)."""


def _below_this_cpu(level: str) -> bool:
    from tvm_blocksparse.isa import LEVELS, by_name, uncapped_host_isa_level

    host = uncapped_host_isa_level()
    return host is not None and LEVELS.index(by_name(level)) > LEVELS.index(host)


def _build_cpuid_cap() -> str:
    """``cpuid_cap.c`` compiled once per source into the user's cache (``$XDG_CACHE_HOME`` or
    ``~/.cache``)/tvm_blocksparse; its path."""
    source = _CPUID_CAP_SOURCE.read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tvm_blocksparse"
    lib = cache / f"cpuid_cap-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if lib.exists():
        return str(lib)
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise CpuidCapUnavailable("no C compiler (cc, gcc or $CC) to build cpuid_cap.c")
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
    os.close(fd)
    try:
        done = subprocess.run(
            [cc, "-O2", "-shared", "-fPIC", "-o", tmp, str(_CPUID_CAP_SOURCE), "-ldl"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CpuidCapUnavailable(f"{cc} failed on cpuid_cap.c: {done.stderr.strip()[:500]}")
        os.replace(tmp, lib)  # atomic: a concurrent build leaves one whole library
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(lib)


def cpuid_cap_env(level: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables under which a new process sees this CPU's CPUID as a CPU of ``level``
    would answer it: ``cpuid_cap.c`` preloaded (``LD_PRELOAD``, ahead of any library already
    there) clears the feature bits of every level above ``level``, and glibc's tunables do the
    same for glibc. ``{}`` where this CPU is not above ``level``. Raises
    :class:`CpuidCapUnavailable` with the reason where this machine can't (no ``cpuid_fault``:
    not Linux on x86, or a hypervisor without it; no C compiler); ``ValueError`` for a name
    that is no level.

    Why: ONNX Runtime's MLAS, FBGEMM and OpenVINO choose their kernels from CPUID alone."""
    from tvm_blocksparse.isa import _cpuinfo_flags

    if level not in PEER_ISA_CAPS:
        raise ValueError(f"no peer caps for ISA level {level!r}; levels: {sorted(PEER_ISA_CAPS)}")
    if not _below_this_cpu(level):
        return {}
    if "cpuid_fault" not in _cpuinfo_flags():
        raise CpuidCapUnavailable("no CPUID faulting here (no cpuid_fault flag in /proc/cpuinfo)")
    environ = os.environ if environ is None else environ
    lib, preloaded = _build_cpuid_cap(), environ.get("LD_PRELOAD", "")
    env = {CPUID_CAP_ENV: level, "LD_PRELOAD": preloaded}
    if lib not in preloaded.replace(":", " ").split():
        env["LD_PRELOAD"] = " ".join(filter(None, [lib, preloaded]))
    tunables, hwcaps = environ.get("GLIBC_TUNABLES", ""), _GLIBC_HWCAPS_ABOVE[level]
    if hwcaps and f"glibc.cpu.hwcaps={hwcaps}" not in tunables.split(":"):
        env["GLIBC_TUNABLES"] = ":".join(filter(None, [tunables, f"glibc.cpu.hwcaps={hwcaps}"]))
    return env


def cpuid_capped_level() -> str | None:
    """The level this process's CPUID answers as (``cpuid_cap.c`` loaded and CPUID faulting on
    in the calling thread), or None."""
    level = os.environ.get(CPUID_CAP_ENV)
    if not level or not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.syscall(_SYS_ARCH_PRCTL_X86_64, _ARCH_GET_CPUID, 0)
    except (OSError, AttributeError):
        return None
    # ARCH_GET_CPUID returns the setting: 0 when CPUID faults (ours answers it), 1 when not.
    return level if rc == 0 else None


def peer_caps_env(level: str) -> tuple[dict[str, str], list[str]]:
    """Everything that caps the peers at ``level`` for a new process: the variables of
    :func:`peer_isa_env` and, where this machine allows it, those of :func:`cpuid_cap_env`;
    and what stays uncapped (each of :data:`UNCAPPED_PEERS` with the reason, or nothing)."""
    env = peer_isa_env(level)
    try:
        env.update(cpuid_cap_env(level))
    except CpuidCapUnavailable as e:
        return env, [f"{peer}: {e}" for peer in UNCAPPED_PEERS]
    return env, []


def rerun_with_peer_caps(level: str) -> list[str]:
    """Re-executes this Python program (``sys.argv``) under :func:`peer_caps_env` unless it runs
    under them already; returns what stays uncapped. For scripts whose peers load in-process
    (``bench/spmm.py``): a preloaded library takes effect only when a process starts."""
    env, uncapped = peer_caps_env(level)
    if CPUID_CAP_ENV in env and os.environ.get(CPUID_CAP_ENV) != level:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **env})
    os.environ.update(env)
    if CPUID_CAP_ENV in env and cpuid_capped_level() != level:
        return [f"{peer}: cpuid_cap.c did not load" for peer in UNCAPPED_PEERS]
    return uncapped
