"""Per-PrimFunc time of a lowered Relax module: where does a model's time go?

TVM 0.27's Relax VM has no profiling mode, so each scheduled PrimFunc is compiled on its own,
timed with ``time_evaluator`` and multiplied by how often ``main`` calls it. Arguments: the
constants of its first call site (weights, sparse indices: zeros there would make a sparse kernel
skip all its work), synthetic data for the rest (zeros for integer buffers so gathers stay in
bounds, random floats otherwise). Caches are warm: end to end, weights come from memory, so
the sum is a lower bound of the model's latency.

    python bench/primfunc_profile.py model.onnx --dtype int8 --seq-len 128 --isa-level avx2

profiles one compiled model (our pipeline's module after scheduling); run it with
``TVM_NUM_THREADS=1`` for single-thread figures. ``--in-model`` times every call inside the
running model instead (:meth:`tvm_blocksparse.CompiledModel.call_times`: the VM interprets its
instructions and an instrument times each call, kernels and VM builtins alike), with the data,
cache state and order of a real run; each figure then includes the instrument's own cost, which
the no-op builtin ``vm.builtin.null_value`` shows, and the run takes its bytecode-mode time.
Beside the uninstrumented runs it times the same model with every kernel's body emptied
(:func:`kernels_emptied`): what the VM itself costs per run (dispatch, argument checks,
allocations), with no instrument in the way.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tvm
from tvm import relax, tirx


@dataclasses.dataclass
class FuncTime:
    name: str
    calls: int
    ms_per_call: float
    rule: str

    @property
    def total_ms(self) -> float:
        return self.calls * self.ms_per_call


def call_tir_sites(mod: tvm.IRModule, entry: str = "main") -> list[tuple[str, list]]:
    """``(primfunc name, argument list)`` of every ``call_tir`` in ``entry``, in visit order."""
    sites = []
    call_tir = tvm.ir.Op.get("relax.call_tir")

    def visit(expr):
        if isinstance(expr, relax.Call) and expr.op.same_as(call_tir):
            args = expr.args[1].fields if isinstance(expr.args[1], relax.Tuple) else [expr.args[1]]
            sites.append((expr.args[0].name_hint, list(args)))

    relax.analysis.post_order_visit(mod[entry], visit)
    return sites


def call_counts(mod: tvm.IRModule, entry: str = "main") -> dict[str, int]:
    """How many times ``entry`` calls each PrimFunc through ``call_tir``."""
    counts: dict[str, int] = {}
    for name, _ in call_tir_sites(mod, entry):
        counts[name] = counts.get(name, 0) + 1
    return counts


def first_call_constants(
    mod: tvm.IRModule, entry: str = "main"
) -> dict[str, dict[int, np.ndarray]]:
    """For each PrimFunc called by ``entry``: argument position -> constant value at its first
    call."""
    found: dict[str, dict[int, np.ndarray]] = {}
    for name, args in call_tir_sites(mod, entry):
        if name not in found:
            found[name] = {
                i: a.value.numpy()
                for i, a in enumerate(args)
                if isinstance(a, tvm.ir.expr.Constant)
            }
    return found


def _synthetic(buf: tirx.Buffer, rng) -> tvm.runtime.Tensor:
    shape = [int(s) for s in buf.shape]
    dtype = str(buf.dtype)
    if dtype.startswith(("int", "uint")):
        arr = np.zeros(shape, dtype)
    else:
        arr = rng.standard_normal(shape).astype(dtype)
    return tvm.runtime.tensor(arr)


def profile_primfuncs(
    mod: tvm.IRModule, target, entry: str = "main", number: int = 10, repeat: int = 5
) -> list[FuncTime]:
    """Time every PrimFunc ``entry`` calls, slowest total first. ``mod`` is the module after
    fusion and scheduling, before the VM lowering passes."""
    from tvm_blocksparse.schedules.cpu_rules import RULE_ATTR

    rng = np.random.default_rng(0)
    counts = call_counts(mod, entry)
    constants = first_call_constants(mod, entry)
    rows = []
    for gv, func in mod.functions_items():
        name = gv.name_hint
        if not isinstance(func, tirx.PrimFunc) or name not in counts:
            continue
        consts = constants.get(name, {})
        if any(
            not isinstance(s, tirx.IntImm)
            for i, b in enumerate(func.params)
            if i not in consts
            for s in b.shape
        ):
            continue  # a symbolic shape no constant binds (sparse kernels' nnz come with theirs)
        lib = tvm.compile(
            tvm.IRModule({"main": func.with_attr("global_symbol", "main")}), target=target
        )
        args = [
            tvm.runtime.tensor(consts[i]) if i in consts else _synthetic(b, rng)
            for i, b in enumerate(func.params)
        ]
        timer = lib.mod.time_evaluator("main", tvm.cpu(), number=number, repeat=repeat)
        ms = float(np.median(timer(*args).results)) * 1e3
        rule = str(func.attrs.get(RULE_ATTR, "fallback")) if func.attrs is not None else "fallback"
        rows.append(FuncTime(name, counts[name], ms, rule))
    return sorted(rows, key=lambda r: -r.total_ms)


def linear_layer_funcs(mod: tvm.IRModule, entry: str = "main") -> set[str]:
    """PrimFuncs that compute a Linear layer: called with a constant weight of 2+ dims
    (attention batch matmuls multiply two activations and are not counted)."""
    names = {
        name
        for name, args in call_tir_sites(mod, entry)
        if any(
            isinstance(a, tvm.ir.expr.Constant) and len(a.value.shape) >= 2 and a.value.shape[0] > 1
            for a in args
        )
    }
    return {n for n in names if "take" not in n}  # embedding gathers also read a 2-D table


def format_profile(rows: list[FuncTime], linear: set[str] | None = None) -> str:
    total = sum(r.total_ms for r in rows) or 1.0
    lines = [
        f"{'primfunc':<58} {'rule':<13} {'calls':>5} {'ms/call':>9} {'total ms':>9} {'share':>6}"
    ]
    for r in rows:
        lines.append(
            f"{r.name[:58]:<58} {r.rule:<13} {r.calls:>5} {r.ms_per_call:>9.4f} "
            f"{r.total_ms:>9.3f} {100 * r.total_ms / total:>5.1f}%"
        )
    lines.append(f"{'sum':<58} {'':<13} {'':>5} {'':>9} {total:>9.3f}")
    if linear is not None:
        lin = sum(r.total_ms for r in rows if r.name in linear)
        lines.append(
            f"linear layers: {lin:.3f} ms ({100 * lin / total:.1f}%), everything else: "
            f"{total - lin:.3f} ms ({100 * (total - lin) / total:.1f}%)"
        )
    return "\n".join(lines)


def kernels_emptied(mod: tvm.IRModule) -> tvm.IRModule:
    """``mod`` with every PrimFunc's body a no-op: the same signatures (so the same argument
    checks), the same Relax code, allocations and calls; what a run of it costs is the VM's own
    work. Its outputs are meaningless."""
    return tvm.IRModule(
        {
            gv: f.with_body(tirx.Evaluate(0)) if isinstance(f, tirx.PrimFunc) else f
            for gv, f in mod.functions.items()
        },
        attrs=mod.attrs,
    )


def scheduled_module(onnx_path: str, target, **options) -> tvm.IRModule:
    """``onnx_path`` through our pipeline (``tvm_blocksparse.lower``'s options), taken after its
    schedule phase: the module :func:`profile_primfuncs` times."""
    from tvm_blocksparse.pipeline import get_pipeline
    from tvm_blocksparse.prepare import prepare_model

    prepared = prepare_model(onnx_path, target=target, **options)
    seen = {}
    with prepared.target:
        get_pipeline(
            prepared.target,
            **prepared.pipeline_options(),
            observe=lambda phase, mod: seen.setdefault(phase, mod),
        )(prepared.mod)
    return seen["schedule"]


def in_model_profile(onnx_path: str, target, runs: int = 200, **options):
    """``(rows, per-run ms)``: every function ``main`` calls, timed inside the running model
    (bytecode VM, :meth:`~tvm_blocksparse.CompiledModel.call_times`), as :class:`FuncTime` rows
    (``calls``: per run; rule: the kernel's schedule rule, ``vm`` for the VM's builtins), and the
    median run of the same model uninstrumented, bytecode and compiled, and compiled with its
    kernels emptied (:func:`kernels_emptied`; interleaved rounds)."""
    import tvm_blocksparse as tb
    from tvm_blocksparse.testing import interleaved_times, random_feeds

    lowered = tb.lower(onnx_path, target=target, **options)
    rules = lowered.metadata.get("schedule_rules", {})
    bytecode = lowered.build(exec_mode="bytecode")
    compiled = lowered.build()
    vm_only = dataclasses.replace(lowered, mod=kernels_emptied(lowered.mod)).build()
    feeds = random_feeds(bytecode)
    times = bytecode.call_times(feeds, runs)
    rows = [
        FuncTime(
            name,
            len(samples) // runs,
            float(np.median(samples)) * 1e3,
            "vm" if name.startswith("vm.builtin") else rules.get(name, "kernel"),
        )
        for name, samples in times.items()
    ]
    _, cpu = interleaved_times(
        {
            "bytecode": lambda: bytecode.run(feeds),
            "compiled": lambda: compiled.run(feeds),
            "compiled, kernels emptied": lambda: vm_only.run(feeds),
        },
        9,
        0.3,
    )
    run_ms = {mode: float(np.median(samples)) for mode, samples in cpu.items()}
    return sorted(rows, key=lambda r: -r.total_ms), run_ms


def main(argv=None) -> None:
    import argparse

    from tvm_blocksparse.isa.peers import add_isa_level_option
    from tvm_blocksparse.target import target_for_level

    ap = argparse.ArgumentParser(description="Per-PrimFunc time of one compiled ONNX model.")
    ap.add_argument("onnx")
    ap.add_argument("--dtype", default="int8", choices=("int8", "fp32"))
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument(
        "--in-model",
        action="store_true",
        help="time each call inside the running model (bytecode VM with an instrument)",
    )
    ap.add_argument("--runs", type=int, default=200, help="model runs timed with --in-model")
    add_isa_level_option(ap)
    args = ap.parse_args(argv)
    from tvm_blocksparse.target import num_threads
    from tvm_blocksparse.testing import pin_to_first_cpus

    pin_to_first_cpus(num_threads())
    target = target_for_level(args.isa_level)
    print(f"{args.onnx}, {args.dtype}, {args.seq_len} tokens, target {target}")
    if args.in_model:
        rows, run_ms = in_model_profile(
            args.onnx, target, args.runs, dtype=args.dtype, seq_len=args.seq_len
        )
        print(format_profile(rows))
        floor = next((r.ms_per_call for r in rows if r.name == "vm.builtin.null_value"), None)
        if floor is not None:
            print(f"instrument cost per call (vm.builtin.null_value): {floor * 1e3:.2f} us")
        print(
            "model per run, uninstrumented: "
            + ", ".join(f"{mode} {ms:.3f} ms" for mode, ms in run_ms.items())
        )
        return
    mod = scheduled_module(args.onnx, target, dtype=args.dtype, seq_len=args.seq_len)
    print(format_profile(profile_primfuncs(mod, target), linear_layer_funcs(mod)))


if __name__ == "__main__":
    main()
