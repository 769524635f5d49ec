"""Markers that keep every test from executing an instruction set this CPU lacks.

``@requires_isa("avx512_vnni")`` (any name of :data:`tvm_blocksparse.isa.LEVELS`) goes on every
test that *executes* code of that level; code generation of every level is checked on any x86
host by compiling for explicit cross-targets (``CROSS_TARGETS``) and reading the assembly. The
AVX-VNNI kernels also execute as their EVEX twins on AVX-512 VNNI hosts (``AVX_VNNI_RUNS``). The
run's summary says how many tests this host's ISA skipped, per level.
"""

import platform

import pytest
from tvm.target import Target

from tvm_blocksparse import isa
from tvm_blocksparse.testing import avx_vnni_as_evex_twin, evex_twin_target

IS_X86 = platform.machine() in ("x86_64", "AMD64", "amd64")

#: One LLVM cross-target per level, for assembly checks on any host (never executed).
CROSS_TARGETS = {
    "avx2": {"kind": "llvm", "mcpu": "znver3", "num-cores": 2},
    "avx_vnni": {"kind": "llvm", "mcpu": "alderlake", "num-cores": 2},
    "avx512_vnni": {"kind": "llvm", "mcpu": "icelake-server", "num-cores": 2},
    "amx_int8": {"kind": "llvm", "mcpu": "sapphirerapids", "num-cores": 2},
}
_ISA_SKIP_PREFIX = "executes "


def cross_target(level: str) -> Target:
    return Target(CROSS_TARGETS[level])


def requires_isa(level: str):
    """Skip unless this CPU runs ``level``'s code (reason: ``executes <level> code ...``)."""
    lvl = isa.by_name(level)
    host = isa.host_isa_level()
    return pytest.mark.skipif(
        not (IS_X86 and isa.host_has(lvl)),
        reason=f"{_ISA_SKIP_PREFIX}{lvl.name} code; this CPU's best level is "
        f"{host.name if host else 'none'}",
    )


def level_target(level: str) -> Target:
    """This CPU as a target of exactly ``level`` (:func:`tvm_blocksparse.target.level_target`):
    a test executes that level's kernel (say the AVX2 one on an AMX host) instead of the best one
    the host has. Pair it with ``@requires_isa(level)``."""
    from tvm_blocksparse.target import level_target as host_at_level

    return host_at_level(level)


def bert_mini_90_with_reference():
    """BERT-Mini pruned to 90 % 4x1 blocks (seed 5), 64 tokens of which 6 padded (seed 6), and
    ONNX Runtime's output on them (the reference): what the whole-model INT8 tests compile."""
    pytest.importorskip("onnxruntime")
    from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
    from tvm_blocksparse.testing import onnxruntime_outputs

    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    feeds = random_inputs(1, 64, pad=6, seed=6)
    return model, feeds, onnxruntime_outputs(model, feeds)[0]


requires_x86 = pytest.mark.skipif(not IS_X86, reason="x86 code generation checks")


#: Where an AVX-VNNI kernel's execution test runs: in its own (VEX) encoding on an AVX-VNNI CPU,
#: and as its EVEX twin (:func:`evex_twin_target`) on an AVX-512 VNNI one.
AVX_VNNI_RUNS = [
    pytest.param("vex", marks=requires_isa("avx_vnni"), id="vex"),
    pytest.param("evex_twin", marks=requires_isa("avx512_vnni"), id="evex_twin"),
]


def avx_vnni_run_target(run: str) -> Target:
    """The target of an :data:`AVX_VNNI_RUNS` entry."""
    return level_target("avx_vnni") if run == "vex" else evex_twin_target()


@pytest.fixture
def avx_vnni_twin_builds():
    """Builds of this test take the EVEX twin for an AVX-VNNI target
    (:func:`tvm_blocksparse.testing.avx_vnni_as_evex_twin`); yields the twin target. Pair it with
    ``@requires_isa("avx512_vnni")``."""
    with avx_vnni_as_evex_twin() as twin:
        yield twin


def build_level_kernel(spec, weight, m: int, epilogue, config=None, target=None):
    """``spec``'s own kernel (not the best one ``target`` has, as ``linear.build_linear`` looks
    up) for ``W[N_out, K_in]`` and ``M`` tokens, compiled for ``target`` (default:
    :func:`level_target` of the spec's level), and its weight arrays."""
    from tvm_blocksparse.linear import CompiledKernel

    n, k = weight.shape
    arrays = spec.prepare_weight(weight, m)
    config = config or spec.default_config(m, n, k, epilogue)
    func = spec.build(m, n, k, spec.block_count(arrays), epilogue, config)
    return CompiledKernel(func, spec.schedule, target or level_target(spec.isa.name)), arrays


def pytest_collection_modifyitems(session, config, items):
    """Import ``tvm.s_tir.tensor_intrin`` now when a tuning test is selected. MetaSchedule's
    ``TuneContext`` imports it, and it TVMScript-parses ~300 of TVM's own intrinsics, each parse
    calling ``inspect.stack()``, whose module lookup walks every loaded module per frame: right
    after collection that costs a fraction of what it does once the Ray, serving and text tests
    have loaded their modules (bench/README.md, "Tuning and the test suite")."""
    if any(item.path.name == "test_tuning.py" for item in items):
        import tvm.s_tir.tensor_intrin  # noqa: F401


def pytest_terminal_summary(terminalreporter):
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(_ISA_SKIP_PREFIX):
            level = reason[len(_ISA_SKIP_PREFIX) :].split()[0]
            counts[level] = counts.get(level, 0) + 1
    host, cap = isa.host_isa_level(), isa.max_isa_level()
    line = ", ".join(f"{n} need {level}" for level, n in sorted(counts.items())) or "none"
    capped = f" ({isa.MAX_ISA_ENV}={cap.name})" if cap else ""
    terminalreporter.write_line(
        f"ISA: this CPU runs {host.name if host else 'no listed level'}{capped}; skipped for the "
        f"host's ISA: {sum(counts.values())} ({line})"
    )
