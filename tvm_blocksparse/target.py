"""Host CPU features -> TVM target (JSON dict form; TVM 0.27 refuses CLI target strings)."""

from __future__ import annotations

import functools
import os

import tvm
from tvm.target import Target


@functools.cache
def host_cpu_flags() -> frozenset[str]:
    """Flags from /proc/cpuinfo (empty on systems without it)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def host_has_vnni() -> bool:
    """True when this CPU can execute AVX-512 VNNI (``vpdpbusd`` on zmm)."""
    flags = host_cpu_flags()
    return "avx512_vnni" in flags and "avx512bw" in flags


def host_has_avx512() -> bool:
    return "avx512f" in host_cpu_flags()


def num_threads() -> int:
    """Threads our modules run with: ``TVM_NUM_THREADS`` or every core of the host."""
    env = os.environ.get("TVM_NUM_THREADS")
    return int(env) if env else (os.cpu_count() or 1)


def host_has_amx() -> bool:
    """True when this CPU has AMX tiles with INT8 (``tdpbusd``); the OS must still grant them."""
    flags = host_cpu_flags()
    return "amx_tile" in flags and "amx_int8" in flags


def host_target(num_cores: int | None = None, amx: bool = True) -> Target:
    """The host as an llvm target (``mcpu`` from LLVM's host detection) with ``num-cores`` set.

    ``amx``: on a CPU with AMX INT8, let LLVM emit it (``+amx-tile,+amx-int8``: LLVM's host
    detection can name a CPU model without AMX under a hypervisor); only INT8 attention uses it,
    behind a run-time check (:func:`tvm_blocksparse.attention.attention_int8`)."""
    detected = Target.from_device("cpu")
    config = {"kind": "llvm", "mcpu": str(detected.attrs.get("mcpu", "generic"))}
    if "mtriple" in detected.attrs:
        config["mtriple"] = str(detected.attrs["mtriple"])
    if amx and host_has_amx() and not target_has_amx(Target(config)):
        config["mattr"] = ["+amx-tile", "+amx-int8"]
    config["num-cores"] = num_cores or num_threads()
    return Target(config)


def as_target(target=None) -> Target:
    """A ``Target`` from a Target, a TVM JSON target dict or string; ``None`` -> :func:`host_target`."""
    if target is None:
        return host_target()
    return target if isinstance(target, Target) else Target(target)


def target_has_vnni(target: Target) -> bool:
    """True when ``target`` lets LLVM emit ``vpdpbusd`` on zmm (avx512vnni + avx512bw)."""
    has = tvm.target.codegen.target_has_features
    return bool(has("avx512vnni", target) and has("avx512bw", target))


def target_has_amx(target: Target) -> bool:
    """True when ``target`` lets LLVM emit AMX INT8 tile instructions."""
    has = tvm.target.codegen.target_has_features
    return bool(has("amx-tile", target) and has("amx-int8", target))


#: LLVM feature -> /proc/cpuinfo flag, for the instruction sets LLVM may emit anywhere in a module.
#: Not AMX: our only AMX code runs after the OS granted the tiles, which it refuses without them.
_FEATURE_FLAGS = {
    "avx2": "avx2", "fma": "fma", "avx512f": "avx512f", "avx512bw": "avx512bw", "avx512dq": "avx512dq",
    "avx512vl": "avx512vl", "avx512vnni": "avx512_vnni", "avx512vbmi": "avx512vbmi",
    "avx512bf16": "avx512_bf16", "avx512fp16": "avx512_fp16",
}


def missing_host_features(target) -> list[str]:
    """The instruction sets ``target`` (a Target, JSON dict or string) lets LLVM use that this
    CPU lacks: code built for it may stop with an illegal instruction here. Empty when the host's
    flags are unknown (no /proc/cpuinfo) or the target is not x86."""
    flags = host_cpu_flags()
    if not flags:
        return []
    target = as_target(target)
    has = tvm.target.codegen.target_has_features
    return [feature for feature, flag in _FEATURE_FLAGS.items() if has(feature, target) and flag not in flags]


def configure_runtime_threads() -> int:
    """Make TVM's thread pool use :func:`num_threads` threads (all cores unless
    ``TVM_NUM_THREADS`` says otherwise; TVM's own default on some VMs is 1).

    TVM reads ``TVM_NUM_THREADS`` when its pool starts (at the first parallel call), so this must
    run before anything executes; ``import tvm_blocksparse`` does it."""
    n = num_threads()
    os.environ.setdefault("TVM_NUM_THREADS", str(n))
    return n
