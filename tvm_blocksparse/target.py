"""This host as a TVM target (JSON dict form; TVM 0.27 refuses CLI target strings), and its threads.

Which instruction sets a target or the host has: :mod:`tvm_blocksparse.isa`."""

from __future__ import annotations

import functools
import os
import threading

from tvm.target import Target

from tvm_blocksparse.isa import (
    AMX_INT8,
    AVX512_VNNI,
    LLVM_FEATURES_ABOVE,
    by_name,
    host_has,
    host_isa_level,
    isa_level,
    max_isa_level,
    target_has,
)


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may use: its affinity mask (``taskset``, a pinned serving instance),
    bounded by a cgroup CPU quota (a container's ``--cpus``), at least 1. ``os.cpu_count()``
    sees neither."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit(cgroup_root)
    return max(1, min(n, quota) if quota else n)


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup") -> int | None:
    """CPUs a cgroup quota allows (rounded up), or None without one: cgroup v2 ``cpu.max``
    (``"<quota> <period>"`` or ``"max <period>"``), else v1 ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us`` (quota -1: none)."""

    def read(*parts):
        try:
            with open(os.path.join(root, *parts)) as f:
                return f.read().split()
        except (OSError, ValueError):
            return None

    fields = read("cpu.max")
    if fields and len(fields) == 2 and fields[0] != "max":
        quota, period = fields
    else:
        quota, period = (
            (read("cpu", "cpu.cfs_quota_us") or [None])[0],
            (read("cpu", "cpu.cfs_period_us") or [None])[0],
        )
    try:
        quota, period = int(quota), int(period)
    except (TypeError, ValueError):
        return None
    return -(-quota // period) if quota > 0 and period > 0 else None


def available_memory(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """Bytes of RAM this process may use: the machine's physical memory, bounded by a cgroup
    memory limit (a container's ``--memory``), which ``/proc/meminfo`` does not show."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    limit = cgroup_memory_limit(cgroup_root)
    return min(total, limit) if limit else total


def cgroup_memory_limit(root: str = "/sys/fs/cgroup") -> int | None:
    """A cgroup's memory limit in bytes, or None without one: cgroup v2 ``memory.max``
    (``"max"``: none), else v1 ``memory/memory.limit_in_bytes`` (a huge value: none)."""
    for parts in (("memory.max",), ("memory", "memory.limit_in_bytes")):
        try:
            with open(os.path.join(root, *parts)) as f:
                value = int(f.read().strip())
        except (OSError, ValueError):
            continue
        return value if 0 < value < 1 << 60 else None
    return None


def num_threads() -> int:
    """Threads our modules run with by default: ``TVM_NUM_THREADS``, else
    :func:`available_cpus`."""
    env = os.environ.get("TVM_NUM_THREADS")
    return int(env) if env else available_cpus()


_pool = threading.local()  # TVM's thread pool is per calling thread, and so is its size


def checked_threads(threads: int | None) -> int | None:
    """``threads`` if it is None or an int >= 1, else ``ValueError``."""
    if threads is not None and (
        not isinstance(threads, int) or isinstance(threads, bool) or threads < 1
    ):
        raise ValueError(f"threads must be an int >= 1 or None, got {threads!r}")
    return threads


#: ``runtime.config_threadpool``'s ``kSpecifyThreadShareAllCore``: every thread of the pool may
#: run on each of the given CPUs.
_SHARE_ALL_CPUS = -3
#: ``kBig``, TVM's default: the calling thread on the first CPUs, worker ``i`` on CPU ``i``.
_BIG_CORES = 1


def calling_thread_cpus() -> tuple[int, ...] | None:
    """CPUs the calling thread may run on (its affinity mask), or None where the OS has none."""
    try:
        return tuple(sorted(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return None


def use_threads(threads: int | None = None) -> int:
    """Size the TVM thread pool that this thread's calls run on (``runtime.config_threadpool``)
    to ``threads`` (None: :func:`num_threads`), its threads confined to the CPUs this thread may
    use, unless it already is; returns the count. Unlike ``TVM_NUM_THREADS``, read once when the
    pool starts, it takes effect at the next call.

    The pool shares this thread's affinity mask (``kSpecifyThreadShareAllCore``) because TVM's
    default (``kBig``) pins the calling thread to the machine's first CPUs and each worker to one
    CPU whatever the process's mask: a process pinned to CPU 1 (``taskset``, a serving instance)
    moves to CPU 0, and two 1-thread processes (instances, Ray actors) share CPU 0 while CPU 1
    idles. ``TVM_BIND_THREADS=0`` still turns TVM's affinity calls off altogether."""
    n = num_threads() if checked_threads(threads) is None else threads
    cpus = calling_thread_cpus()
    if getattr(_pool, "config", None) != (n, cpus):
        import tvm

        configure = tvm.get_global_func("runtime.config_threadpool")
        if cpus:
            # A pool first configured this way gets one worker per listed CPU and never grows:
            # list the mask round-robin up to the most threads asked for (TVM_NUM_THREADS bounds
            # a kBig pool the same way), so that more threads than CPUs stay possible.
            slots = max(n, num_threads(), len(cpus))
            configure(_SHARE_ALL_CPUS, n, [str(cpus[i % len(cpus)]) for i in range(slots)])
        else:
            configure(_BIG_CORES, n)
        _pool.config = (n, cpus)
    return n


@functools.cache
def _host_detected() -> Target:
    """LLVM's host detection (``Target.from_device("cpu")``), done once per process."""
    return Target.from_device("cpu")


def host_llvm_cpu() -> str:
    """LLVM's name for this CPU (``mcpu`` of its host detection, e.g. "znver4")."""
    return str(_host_detected().attrs.get("mcpu", "generic"))


def target_llvm_cpu(target=None) -> str:
    """``mcpu`` of ``target`` (a Target, a TVM JSON target dict or string; None: the enclosing
    target, else this CPU's)."""
    target = as_target(target) if target is not None else Target.current(allow_none=True)
    return str(target.attrs.get("mcpu", "generic")) if target is not None else host_llvm_cpu()


def _add_mattr(config: dict, features) -> None:
    """Appends to ``config``'s ``mattr`` the LLVM features (``+x`` / ``-x``) it lacks."""
    mattr = config.get("mattr", [])
    added = [f for f in features if f not in mattr]
    if added:
        config["mattr"] = [*mattr, *added]


def host_target(num_cores: int | None = None, amx: bool = True) -> Target:
    """The host as an llvm target (``mcpu`` from LLVM's host detection) with ``num-cores`` set.

    ``amx``: on a CPU with AMX INT8 whose Linux grants this process the tile state, let LLVM
    emit it (``+amx-tile,+amx-int8``: LLVM's host detection can name a CPU model without AMX
    under a hypervisor); else switch it off, so the per-layer choice never counts on tiles this
    process can't use (a sandbox). INT8 attention and dense INT8 use them behind a run-time
    check that falls back to VNNI.

    LLVM names the CPU from its family and model, and the name implies instruction sets; the
    CPU's flags say what it runs. Where they disagree (a VM that hides AVX-512 from a Zen 4 is
    still "znver4" to LLVM) the target takes the flags' level: its features on, the levels
    above off. Under a ``TVM_BLOCKSPARSE_MAX_ISA`` cap
    (:func:`~tvm_blocksparse.isa.max_isa_level`) the levels above it are switched off: the
    target of a CPU of that level."""
    from tvm_blocksparse.isa.amx import request_tiles_now

    detected = _host_detected()
    config = {"kind": "llvm", "mcpu": host_llvm_cpu()}
    if "mtriple" in detected.attrs:
        config["mtriple"] = str(detected.attrs["mtriple"])
    detected_amx = target_has(AMX_INT8, Target(config))
    usable = amx and host_has(AMX_INT8) and request_tiles_now()
    if usable and not detected_amx:
        config["mattr"] = ["+amx-tile", "+amx-int8"]
    elif detected_amx and not usable:
        config["mattr"] = ["-amx-tile", "-amx-int8"]
    flags_level = host_isa_level()
    if flags_level is AMX_INT8 and not usable:
        flags_level = AVX512_VNNI
    named = Target(config)  # what LLVM's model name (and the AMX choice) gives
    if flags_level is not None and isa_level(named) is not flags_level:
        on = [] if target_has(flags_level, named) else flags_level.llvm_features
        _add_mattr(config, [*(f"+{f}" for f in on), *LLVM_FEATURES_ABOVE[flags_level.name]])
    cap = max_isa_level()
    if cap is not None:
        _add_mattr(config, LLVM_FEATURES_ABOVE[cap.name])
    config["num-cores"] = num_cores or num_threads()
    return Target(config)


def level_target(level: str, num_cores: int | None = None) -> Target:
    """This CPU as a target of exactly ``level``: the host's ``mcpu`` with the level's LLVM
    features on and the levels above switched off, to run (and time, test) a lower level's
    kernels on a newer CPU. The level's features are named because LLVM's host detection can
    name an older model under a hypervisor (``rocketlake`` on a Sapphire Rapids VM)."""
    lvl = by_name(level)
    config = dict(host_target(num_cores, amx=False).export())
    config["mattr"] = [*(f"+{f}" for f in lvl.llvm_features), *LLVM_FEATURES_ABOVE[lvl.name]]
    target = Target(config)
    if isa_level(target) != lvl:
        raise RuntimeError(f"could not make a {level} target from this host ({target})")
    return target


def target_for_level(level: str | None = None) -> Target:
    """:func:`level_target` of ``level``, or :func:`host_target` (this CPU's best) for None: what
    a benchmark's ``--isa-level`` builds our code for."""
    return level_target(level) if level else host_target()


def as_target(target=None) -> Target:
    """A ``Target`` from a Target, a TVM JSON target dict or string; ``None`` ->
    :func:`host_target`."""
    if target is None:
        return host_target()
    return target if isinstance(target, Target) else Target(target)


def resolve_target(target=None) -> Target:
    """``target`` (see :func:`as_target`), else the enclosing ``with Target(...)``, else this
    CPU's (:func:`host_target`): what a pass or pipeline builds for."""
    current = Target.current(allow_none=True) if target is None else None
    return current if current is not None else as_target(target)


def configure_runtime_threads() -> int:
    """Make TVM's thread pool use :func:`num_threads` threads (all cores unless
    ``TVM_NUM_THREADS`` says otherwise; TVM's own default on some VMs is 1).

    TVM reads ``TVM_NUM_THREADS`` when its pool starts (at the first parallel call), so this must
    run before anything executes (:func:`tvm_blocksparse.tvm_setup.ensure_tvm_setup` does it);
    our models also size the pool per call (:func:`use_threads`)."""
    n = num_threads()
    os.environ.setdefault("TVM_NUM_THREADS", str(n))
    return n
