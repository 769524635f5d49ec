"""This host as a TVM target (JSON dict form; TVM 0.27 refuses CLI target strings), and its threads.

Which instruction sets a target or the host has: :mod:`tvm_blocksparse.isa`."""

from __future__ import annotations

import os

from tvm.target import Target

from tvm_blocksparse.isa import AMX_INT8, host_has, target_has


def num_threads() -> int:
    """Threads our modules run with: ``TVM_NUM_THREADS`` or every core of the host."""
    env = os.environ.get("TVM_NUM_THREADS")
    return int(env) if env else (os.cpu_count() or 1)


def host_target(num_cores: int | None = None, amx: bool = True) -> Target:
    """The host as an llvm target (``mcpu`` from LLVM's host detection) with ``num-cores`` set.

    ``amx``: on a CPU with AMX INT8, let LLVM emit it (``+amx-tile,+amx-int8``: LLVM's host
    detection can name a CPU model without AMX under a hypervisor); only INT8 attention uses it,
    behind a run-time check (:func:`tvm_blocksparse.op.attention.attention_int8`)."""
    detected = Target.from_device("cpu")
    config = {"kind": "llvm", "mcpu": str(detected.attrs.get("mcpu", "generic"))}
    if "mtriple" in detected.attrs:
        config["mtriple"] = str(detected.attrs["mtriple"])
    if amx and host_has(AMX_INT8) and not target_has(AMX_INT8, Target(config)):
        config["mattr"] = ["+amx-tile", "+amx-int8"]
    config["num-cores"] = num_cores or num_threads()
    return Target(config)


def as_target(target=None) -> Target:
    """A ``Target`` from a Target, a TVM JSON target dict or string; ``None`` ->
    :func:`host_target`."""
    if target is None:
        return host_target()
    return target if isinstance(target, Target) else Target(target)


def configure_runtime_threads() -> int:
    """Make TVM's thread pool use :func:`num_threads` threads (all cores unless
    ``TVM_NUM_THREADS`` says otherwise; TVM's own default on some VMs is 1).

    TVM reads ``TVM_NUM_THREADS`` when its pool starts (at the first parallel call), so this must
    run before anything executes; ``import tvm_blocksparse`` does it."""
    n = num_threads()
    os.environ.setdefault("TVM_NUM_THREADS", str(n))
    return n
