"""The x86 instruction-set levels this project generates code for, and which one a target or
this CPU has.

One :class:`IsaLevel` per level: its vector width, the u8 x s8 -> s32 dot step it offers, the
LLVM target features code of that level needs and the ``/proc/cpuinfo`` flags that prove a CPU
can run it. A build picks its level once from the target (:func:`isa_level`), records it in the
compiled module, and the runtime compares it with the host (:func:`missing_host_features`).
The vector helpers of each level live in this package's modules (``avx2``, ``avx_vnni``,
``avx512``, ``amx``; ``common`` for width-generic ones).

Levels are not nested: a Zen 4 has AVX-512 VNNI but no AVX-VNNI, an Alder Lake the reverse.
:data:`LEVELS` lists them best first; a target's level is the first it has.

``TVM_BLOCKSPARSE_MAX_ISA=<level>`` caps this library's view of the CPU at that level, as
``ONEDNN_MAX_CPU_ISA`` caps oneDNN (:func:`max_isa_level`): the host then compiles, picks
kernels, skips tests and refuses modules as a CPU of that level would, so an AVX-512 or AMX
machine can run what an AVX2-only one runs (``make demo``, the test suite, ``tb.compile``).
"""

from __future__ import annotations

import dataclasses
import functools
import os


@dataclasses.dataclass(frozen=True)
class IsaLevel:
    """One x86 code level.

    name:          stable identifier (metadata, test markers, registry keys).
    vector_bits:   width of the vectors our kernels of this level use.
    int8_dot:      the u8 x s8 -> s32 dot step our INT8 kernels use at this level.
    llvm_features: LLVM features a target must have to emit this level's code.
    cpu_flags:     ``/proc/cpuinfo`` flags a CPU must show to run it.
    """

    name: str
    vector_bits: int
    int8_dot: str
    llvm_features: tuple[str, ...]
    cpu_flags: tuple[str, ...]

    @property
    def lanes(self) -> int:
        """32-bit lanes per vector (int32 accumulators or float32 values)."""
        return self.vector_bits // 32

    def __str__(self) -> str:
        return self.name


AVX2 = IsaLevel(
    "avx2",
    256,
    "vpmaddubsw + vpmaddwd + vpaddd (ymm; exact while a weight pair's magnitudes sum to <= 128)",
    ("avx2", "fma"),
    ("avx2", "fma"),
)
AVX_VNNI = IsaLevel(
    "avx_vnni",
    256,
    "{vex} vpdpbusd (ymm)",
    ("avx2", "fma", "avxvnni"),
    ("avx2", "fma", "avx_vnni"),
)
AVX512_VNNI = IsaLevel(
    "avx512_vnni",
    512,
    "vpdpbusd (zmm)",
    ("avx512f", "avx512bw", "avx512vl", "avx512vnni"),
    ("avx512f", "avx512bw", "avx512vl", "avx512_vnni"),
)
#: AMX INT8 on top of AVX-512 VNNI (Sapphire Rapids and later). Linux must also grant the tile
#: state per process (:func:`tvm_blocksparse.isa.amx.request_tiles_now`): AMX code is guarded
#: at run time and keeps an AVX-512 VNNI path, so a module of this level runs on any AVX-512
#: VNNI CPU.
AMX_INT8 = IsaLevel(
    "amx_int8",
    512,
    "tdpbusd (16 x 64 u8 x 16 x 64 s8 tiles), else vpdpbusd (zmm)",
    (*AVX512_VNNI.llvm_features, "amx-tile", "amx-int8"),
    (*AVX512_VNNI.cpu_flags, "amx_tile", "amx_int8"),
)

#: Best first: the level of a target (or CPU) is the first of these it has.
LEVELS: tuple[IsaLevel, ...] = (AMX_INT8, AVX512_VNNI, AVX_VNNI, AVX2)
_BY_NAME = {level.name: level for level in LEVELS}


def by_name(name: str) -> IsaLevel:
    """The level called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown ISA level {name!r}; known: {sorted(_BY_NAME)}") from None


# ----------------------------------------------------------------------------- this CPU

#: The environment variable of :func:`max_isa_level`.
MAX_ISA_ENV = "TVM_BLOCKSPARSE_MAX_ISA"

#: Per level, what a CPU or target capped there loses (every instruction set of the levels above
#: it): ``/proc/cpuinfo`` flag prefixes, and the LLVM features that switch it off (``-avx512f``
#: takes all of AVX-512 with it).
_CPU_FLAGS_ABOVE = {
    "avx2": ("avx512", "avx_vnni", "amx"),
    "avx_vnni": ("avx512", "amx"),
    "avx512_vnni": ("amx",),
    "amx_int8": (),
}
LLVM_FEATURES_ABOVE = {
    "avx2": ("-avx512f", "-avxvnni", "-amx-tile", "-amx-int8"),
    "avx_vnni": ("-avx512f", "-amx-tile", "-amx-int8"),
    "avx512_vnni": ("-amx-tile", "-amx-int8"),
    "amx_int8": (),
}


def max_isa_level() -> IsaLevel | None:
    """The level ``TVM_BLOCKSPARSE_MAX_ISA`` caps this CPU at (None when unset or empty), read on
    every call; ``ValueError`` naming the levels for another value. Levels rank avx2 < avx_vnni <
    avx512_vnni < amx_int8 (oneDNN's order); a cap above the CPU's own level changes nothing."""
    name = os.environ.get(MAX_ISA_ENV, "").strip()
    if not name:
        return None
    if name not in _BY_NAME:
        raise ValueError(f"{MAX_ISA_ENV}={name!r}: choose one of {', '.join(reversed(_BY_NAME))}")
    return _BY_NAME[name]


@functools.cache
def _cpuinfo_flags() -> frozenset[str]:
    """Flags from /proc/cpuinfo (empty on systems without it)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def host_cpu_flags() -> frozenset[str]:
    """This CPU's /proc/cpuinfo flags (empty on systems without it), less those of the
    instruction sets above the :func:`max_isa_level` cap."""
    flags, cap = _cpuinfo_flags(), max_isa_level()
    if cap is None:
        return flags
    return frozenset(f for f in flags if not f.startswith(_CPU_FLAGS_ABOVE[cap.name]))


@functools.cache
def host_cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" without it): benchmarks name their
    host with it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def host_has(level: IsaLevel | str) -> bool:
    """True when this CPU shows every flag ``level`` needs (AMX: the OS must still grant it)."""
    level = by_name(level) if isinstance(level, str) else level
    return set(level.cpu_flags) <= host_cpu_flags()


def _best_level(flags: frozenset[str]) -> IsaLevel | None:
    """The best level whose every flag is in ``flags``, or None."""
    return next((level for level in LEVELS if set(level.cpu_flags) <= flags), None)


def host_isa_level() -> IsaLevel | None:
    """The best level this CPU can run, or None (not x86-64 with AVX2 + FMA, or no cpuinfo)."""
    return _best_level(host_cpu_flags())


def uncapped_host_isa_level() -> IsaLevel | None:
    """:func:`host_isa_level` without the :func:`max_isa_level` cap: the level a library that
    takes no cap (ONNX Runtime's MLAS) runs here."""
    return _best_level(_cpuinfo_flags())


# ----------------------------------------------------------------------------- targets


def target_has(level: IsaLevel | str, target) -> bool:
    """True when ``target`` (a Target, JSON dict or string) lets LLVM emit ``level``'s code."""
    import tvm

    from tvm_blocksparse.target import as_target

    level = by_name(level) if isinstance(level, str) else level
    target = as_target(target)
    has = tvm.target.codegen.target_has_features
    return all(has(feature, target) for feature in level.llvm_features)


def isa_level(target) -> IsaLevel | None:
    """The best level ``target`` has, or None (not x86, or below AVX2 + FMA). Chosen once per
    build and recorded in the module's metadata."""
    return next((level for level in LEVELS if target_has(level, target)), None)


def vector_bits(target) -> int:
    """Widest vector register ``target`` has: 512 (AVX-512F), 256 (AVX), else 128 (SSE, or not
    x86). LLVM's own ``llvm_get_vector_width`` answers 512 for every x86 CPU in TVM 0.27
    (znver1 and haswell included): a 16-lane tile on ymm spills half its accumulators."""
    import tvm

    from tvm_blocksparse.target import as_target

    target = as_target(target)
    has = tvm.target.codegen.target_has_features
    return 512 if has("avx512f", target) else 256 if has("avx", target) else 128


#: LLVM feature -> /proc/cpuinfo flag, for the instruction sets LLVM may emit anywhere in a
#: module. Not AMX: our only AMX code runs after the OS granted the tiles, which it refuses
#: without them.
_FEATURE_FLAGS = {
    "avx2": "avx2",
    "fma": "fma",
    "avxvnni": "avx_vnni",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512dq": "avx512dq",
    "avx512vl": "avx512vl",
    "avx512vnni": "avx512_vnni",
    "avx512vbmi": "avx512vbmi",
    "avx512bf16": "avx512_bf16",
    "avx512fp16": "avx512_fp16",
}


def missing_host_features(target) -> list[str]:
    """The instruction sets ``target`` (a Target, JSON dict or string) lets LLVM use that this
    CPU lacks: code built for it may stop with an illegal instruction here. Empty when the host's
    flags are unknown (no /proc/cpuinfo) or the target is not x86."""
    import tvm

    from tvm_blocksparse.target import as_target

    flags = host_cpu_flags()
    if not flags:
        return []
    target = as_target(target)
    has = tvm.target.codegen.target_has_features
    return [
        feature
        for feature, flag in _FEATURE_FLAGS.items()
        if has(feature, target) and flag not in flags
    ]


def check_host_can_run(target, what: str = "this code") -> None:
    """Raise ``RuntimeError`` when ``target``'s code would use an instruction set this CPU lacks
    (it would die with SIGILL instead)."""
    missing = missing_host_features(target)
    if missing:
        raise RuntimeError(
            f"{what} was compiled for {target}, which uses {', '.join(missing)}; this CPU lacks "
            f"{'it' if len(missing) == 1 else 'them'}, so running it would stop with an illegal "
            "instruction. "
            "Compile again for this machine (or for a target it supports); compiling and "
            "exporting still work."
        )
