"""MetaSchedule tuning of our Linear kernels (INT8 4x1, INT8 16x4, dense INT8, FP32 1x16).

    import tvm_blocksparse as tb
    tb.tune("bert90.onnx", "tune_dir", trials=64)            # resumable: run again to continue
    model = tb.compile("bert90.onnx", tuning_db="tune_dir")   # applies the best records

**Tasks.** One task per distinct kernel *shape*: (kernel, tokens, N_out, K_in, epilogue) and
compute variant: a config of the kernel's registry entry (register-tile token count, and for the
4x1 kernel the tile order: token tiles outermost or block rows outermost;
:attr:`tvm_blocksparse.registry.KernelSpec.tuning_variants`). Layers with the same shape share the
task and its records, whatever their non-zero pattern: the first such layer's weight arrays are
the ones measured. The token tile is a compute argument (it sets the accumulator tile's buffer
shape), so each variant is its own task of the shape, and MetaSchedule's gradient task scheduler
spends trials where they pay.

**Design space.** The schedule function the default build uses (the registry entry's
``schedule``), called from a ``ScheduleFn`` with the knobs
sampled: the parallel split of the (block row x token tile) loop (``sample_perfect_tile``: how
many consecutive tiles one parallel task runs). Knobs that decide Python control flow
(``unroll``) can't be sampled in a MetaSchedule trace (a replayed trace re-runs instructions, not
Python), so they keep their default. No TVM schedule rules or postprocessors run (TVM's x86 VNNI
rule looks up the stock intrinsic, which does not build with this wheel's LLVM).

**The default schedule is always a candidate.** Before searching, each task's default trace
(split [tiles, 1], the default token tile or not) is measured and committed to the database, so
``compile(tuning_db=...)``, which takes the record with the lowest measured time across a shape's
tasks, can never pick something measured slower than the default.

**Measuring with real indices.** MetaSchedule fills arguments with random data, which for
``w_group_ptr``/``w_xt_offsets``/``w_indices``/``w_indptr`` means reads out of bounds. The runner's
``f_alloc_argument`` is :class:`RealWeightArguments`: every weight parameter (``w_*``) gets the
real array of the layer the task came from, matched by the argument signature; a signature it
does not know raises instead of falling back to random data.

**Distributed measuring.** Pass ``rpc="HOST:PORT:KEY"`` to measure on the machines registered
with a TVM RPC tracker (``python -m tvm.exec.rpc_tracker``, then on each measuring machine
``python -m tvm.exec.rpc_server --tracker HOST:PORT --key KEY``); builds stay local. See the
README's tuning section.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable

import numpy as np
import tvm
from tvm.ir.utils import derived_object
from tvm.s_tir import Schedule
from tvm.s_tir import meta_schedule as ms

from tvm_blocksparse import registry
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.progress import reporter
from tvm_blocksparse.tvm_setup import ensure_tvm_setup

ensure_tvm_setup()

#: A compute-level variant of a kernel: its registry entry's config dataclass (frozen, hashable).
Variant = object

TASKS_FILE = "tvm_blocksparse_tasks.json"
#: The most consecutive tiles one parallel task may run (the parallel-split knob's range).
MAX_TILES_PER_TASK = 16
#: A record replaces the default schedule only when measured this much faster than it.
MIN_GAIN = 0.03


# ----------------------------------------------------------------------------- tasks


def epilogue_tag(ep: Epilogue) -> str:
    flags = (
        [f for f in ("bias", "gelu", "residual") if getattr(ep, f)]
        + (["t"] if ep.transposed_out else [])
        + (["dyn"] if ep.dynamic_requant else [])
        + (["ranges"] if ep.token_ranges else [])
        + ([f"h{ep.heads_out}"] if ep.heads_out else [])
    )
    return "_".join([ep.out_dtype, *flags])


@dataclasses.dataclass
class KernelUse:
    """One call of one of our Linear kernels: ``W[N_out, K_in]`` prepared as ``arrays`` (the
    kernel's weight parameters), ``m`` tokens."""

    kind: str
    m: int
    n: int
    k: int
    epilogue: Epilogue
    arrays: dict


def kernel_uses(mod: tvm.IRModule) -> list[KernelUse]:
    """Every call of our Linear kernels in ``mod`` after the rewrite phase, with the real weight
    arrays it passes (its constant ``w_*`` arguments)."""
    from tvm import relax

    from tvm_blocksparse.relay_passes.kernel_calls import call_args, kernel_call, linear_meta

    uses = []

    def visit(expr):
        found = kernel_call(expr, mod)
        meta = linear_meta(found[1]) if found else None
        if meta is not None:
            arrays = {
                name: a.value.numpy()
                for name, a in call_args(*found).items()
                if name.startswith("w_") and isinstance(a, tvm.ir.expr.Constant)
            }
            uses.append(
                KernelUse(meta["kind"], meta["m"], meta["n"], meta["k"], meta["epilogue"], arrays)
            )

    for _, func in mod.functions_items():
        if isinstance(func, relax.Function):
            relax.analysis.post_order_visit(func, visit)
    return uses


@dataclasses.dataclass
class KernelTask:
    """A distinct kernel shape: what one or more layers call."""

    kind: str
    m: int
    n: int
    k: int
    epilogue: Epilogue
    blocks: int  # stored blocks of the representative layer (shapes its PrimFunc)
    arrays: dict  # the representative layer's weight arrays (measured with)
    layers: int = 1
    #: ISA level (``isa.IsaLevel.name``) of the kernel the target runs: the registry entry
    #: ``kind/level`` builds and schedules the task, not the highest level registered.
    level: str = ""

    @property
    def spec(self) -> registry.KernelSpec:
        return registry.get(f"{self.kind}/{self.level}")

    @property
    def key(self) -> str:
        return f"{self.kind}_m{self.m}_n{self.n}_k{self.k}_{epilogue_tag(self.epilogue)}"

    def func(self, variant: Variant) -> tvm.tirx.PrimFunc:
        """The task's PrimFunc. ``estimated_flops`` (dense-equivalent 2*M*N*K, the paper's
        convention) spares MetaSchedule's FLOP counter, which can't read our vector code."""
        func = self.spec.build(self.m, self.n, self.k, self.blocks, self.epilogue, variant)
        return func.with_attr("estimated_flops", 2 * self.m * self.n * self.k)

    def default_variant(self) -> Variant:
        return self.spec.tuning_variants(self.m, self.n, self.k, self.epilogue)[0]

    def variants(self) -> list[Variant]:
        """The registry entry's tuning variants this shape can take, the default first."""
        out = [self.default_variant()]
        for variant in self.spec.tuning_variants(self.m, self.n, self.k, self.epilogue)[1:]:
            if variant in out:
                continue
            try:
                self.func(variant)
            except ValueError:
                continue  # a tile/chunk this shape can't take
            out.append(variant)
        return out

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "m": self.m,
            "n": self.n,
            "k": self.k,
            "blocks": self.blocks,
            "layers": self.layers,
            "epilogue": dataclasses.asdict(self.epilogue),
            "level": self.level,
        }

    @staticmethod
    def from_json(d: dict, target) -> KernelTask:
        """The task as ``target`` runs it: its level's kernel (records are keyed by the PrimFunc,
        so those of another level's kernel never match it)."""
        return KernelTask(
            d["kind"],
            d["m"],
            d["n"],
            d["k"],
            Epilogue(**d["epilogue"]),
            d["blocks"],
            {},
            d["layers"],
            registry.lookup(d["kind"], target).isa.name,
        )


def variant_tag(variant: Variant) -> str:
    return variant.tag


def tasks_from_uses(uses, target) -> list[KernelTask]:
    """One :class:`KernelTask` per distinct shape among ``uses`` (:func:`kernel_uses`), each
    with the registry entry ``target`` runs."""
    tasks: dict[str, KernelTask] = {}
    for u in uses:
        spec = registry.lookup(u.kind, target)
        t = KernelTask(
            u.kind,
            u.m,
            u.n,
            u.k,
            u.epilogue,
            spec.block_count(u.arrays),
            u.arrays,
            level=spec.isa.name,
        )
        if t.key in tasks:
            tasks[t.key].layers += 1
        else:
            tasks[t.key] = t
    return list(tasks.values())


# ----------------------------------------------------------------------------- design space


def sample_schedule(
    spec: registry.KernelSpec, sch: Schedule, parallel_split_decision: list[int] | None = None
) -> Schedule:
    """The default schedule function of ``spec`` with its sampled knobs (the ``ScheduleFn``
    body). ``parallel_split_decision`` forces the sample (``[tiles, 1]`` = the default
    schedule)."""
    loop = sch.get_loops(sch.get_sblock("tile"))[0]
    factors = sch.sample_perfect_tile(
        loop, n=2, max_innermost_factor=MAX_TILES_PER_TASK, decision=parallel_split_decision
    )
    return spec.schedule(sch, parallel_split=factors)


def default_trace_schedule(spec: registry.KernelSpec, func: tvm.tirx.PrimFunc) -> Schedule:
    sch = Schedule(func)
    extent = int(sch.get(sch.get_loops(sch.get_sblock("tile"))[0]).extent)
    return sample_schedule(spec, sch, [extent, 1])


def space_generator(spec: registry.KernelSpec) -> ms.space_generator.ScheduleFn:
    return ms.space_generator.ScheduleFn(
        lambda sch: sample_schedule(spec, sch),
        sch_rules=[],
        postprocs=[],
        mutator_probs={ms.mutator.MutateTileSize(): 1.0},
    )


# ----------------------------------------------------------------------------- measuring


def _signature(args_info) -> tuple:
    """Hashable (dtype, shape) per tensor argument, from ArgInfo JSON (``["TENSOR", dtype,
    shape]``)."""
    return tuple((str(a[1]), tuple(int(d) for d in a[2])) for a in args_info)


def args_info(func: tvm.tirx.PrimFunc) -> list:
    """``func``'s parameters as the runner describes them to :class:`RealWeightArguments`
    (ArgInfo JSON: ``["TENSOR", dtype, shape]`` each)."""
    return [["TENSOR", str(p.dtype), [int(d) for d in p.shape]] for p in func.params]


class RealWeightArguments:
    """``f_alloc_argument`` for MetaSchedule runners (local and RPC): the weight parameters
    (``w_*``) get the real arrays of the task's representative layer; activations, scales and
    the output get random data of their dtype (u8/s8 over their full range)."""

    def __init__(self):
        self.table: dict[tuple, dict[int, np.ndarray]] = {}

    def add(self, func: tvm.tirx.PrimFunc, arrays: dict[str, np.ndarray]) -> None:
        real = {
            i: np.ascontiguousarray(arrays[p.name])
            for i, p in enumerate(func.params)
            if p.name.startswith("w_")
        }
        self.table[_signature(args_info(func))] = real

    def arrays_for(self, args_info) -> list[np.ndarray]:
        sig = _signature(args_info)
        if sig not in self.table:
            raise KeyError(
                f"no real weight arrays for argument signature {sig}: refusing random BSR indices"
            )
        rng = np.random.default_rng(0)
        out = []
        for i, (dtype, shape) in enumerate(sig):
            if i in self.table[sig]:
                out.append(self.table[sig][i])
            elif dtype in ("uint8", "int8"):
                info = np.iinfo(dtype)
                out.append(rng.integers(info.min, info.max + 1, shape, dtype=dtype))
            elif dtype == "int32":
                out.append(rng.integers(0, 128, shape, dtype=np.int32))
            else:
                out.append(rng.uniform(0.5, 1.5, shape).astype(dtype))
        return out

    def __call__(self, *args):
        # local: (dev, info, n); RPC: (sess, dev, info, n)
        *_session, device, args_info, alloc_repeat = args
        arrays = self.arrays_for(args_info)
        return [[tvm.runtime.tensor(a, device) for a in arrays] for _ in range(alloc_repeat)]


def import_ours() -> None:
    """Builder/runner worker initializer: our vectorized erf/exp lowering and intrinsics must be
    registered in the worker, or the worker would build GELU epilogues with scalar libm calls."""
    ensure_tvm_setup()


def build_candidate(mod: tvm.IRModule, target, _params) -> tvm.runtime.Module:
    """Builder worker build: MetaSchedule's ``default_build`` less its import of
    ``tvm.s_tir.tensor_intrin``, which TVMScript-parses some 300 CUDA / Arm / x86 intrinsics of
    TVM's own, none of which our kernels use; LocalBuilder starts fresh worker processes for
    every batch of candidates, so each batch paid that import in each worker (bench/README.md,
    "Tuning and the test suite"). Our intrinsics are registered by :func:`import_ours`."""
    from tvm.driver import build
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock

    mod = RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod)
    return build(mod, target=target)


def _runner(alloc: RealWeightArguments, rpc: str | None):
    evaluator = ms.runner.EvaluatorConfig(
        number=10, repeat=5, min_repeat_ms=40, enable_cpu_cache_flush=False
    )
    if rpc:
        host, port, key = _parse_rpc(rpc)
        config = ms.runner.RPCConfig(
            tracker_host=host, tracker_port=port, tracker_key=key, session_timeout_sec=120
        )
        return ms.runner.RPCRunner(
            config, evaluator, f_alloc_argument=alloc, initializer=import_ours
        )
    return ms.runner.LocalRunner(
        timeout_sec=60, evaluator_config=evaluator, f_alloc_argument=alloc, initializer=import_ours
    )


def _parse_rpc(rpc: str) -> tuple[str, int, str]:
    try:
        host, port, key = rpc.rsplit(":", 2)
        return host, int(port), key
    except ValueError as e:
        raise ValueError(
            f"rpc must be 'HOST:PORT:KEY' (the tracker and the servers' key), got {rpc!r}"
        ) from e


@derived_object
class _Progress(ms.measure_callback.PyMeasureCallback):
    """Prints trials done and the best time so far per task."""

    def __init__(self, names: list[str], say: Callable[[str], None]):
        self.names, self.say = names, say
        self.trials = [0] * len(names)
        self.best = [float("inf")] * len(names)
        self.total = 0

    def apply(self, task_scheduler, task_id, measure_candidates, builder_results, runner_results):
        for b, r in zip(builder_results, runner_results, strict=True):
            self.trials[task_id] += 1
            self.total += 1
            if b.error_msg is None and r.error_msg is None and r.run_secs:
                self.best[task_id] = min(self.best[task_id], _record_ms(r.run_secs))
        best = (
            f"{self.best[task_id]:.4f} ms"
            if np.isfinite(self.best[task_id])
            else "no valid run yet"
        )
        self.say(
            f"task {task_id + 1}/{len(self.names)} {self.names[task_id]}: {self.trials[task_id]} "
            "trials, "
            f"best {best}  ({self.total} trials this run)"
        )


def _commit_defaults(
    db, builder, runner, contexts: list, specs: list[registry.KernelSpec], target, say
) -> None:
    """Measure each task's default schedule (one batch of builds, one of runs) and commit it as a
    tuning record, unless an earlier run did."""
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo
    from tvm.s_tir.meta_schedule.builder import BuilderInput
    from tvm.s_tir.meta_schedule.database import TuningRecord
    from tvm.s_tir.meta_schedule.runner import RunnerInput

    todo = []
    for ctx, spec in zip(contexts, specs, strict=True):
        sch = default_trace_schedule(spec, ctx.mod["main"])
        workload = db.commit_workload(ctx.mod)
        if not any(str(r.trace) == str(sch.trace) for r in db.get_top_k(workload, 1 << 20)):
            todo.append((ctx, sch, workload))
    if not todo:
        say("default schedules: all measured by an earlier run")
        return
    say(f"measuring the default schedule of {len(todo)} tasks")
    built = builder.build([BuilderInput(sch.mod, target) for _, sch, _ in todo])
    try:
        for (ctx, _, _), b in zip(todo, built, strict=True):
            if b.error_msg:
                raise RuntimeError(
                    f"default schedule of {ctx.task_name} does not build: {b.error_msg[:2000]}"
                )
        infos = [ArgInfo.from_prim_func(ctx.mod["main"]) for ctx, _, _ in todo]
        futures = runner.run(
            [
                RunnerInput(b.artifact_path, "cpu", info)
                for b, info in zip(built, infos, strict=True)
            ]
        )
        for (ctx, sch, workload), info, future in zip(todo, infos, futures, strict=True):
            result = future.result()
            if result.error_msg:
                raise RuntimeError(
                    f"default schedule of {ctx.task_name} failed to run: {result.error_msg[:2000]}"
                )
            db.commit_tuning_record(
                TuningRecord(sch.trace, workload, result.run_secs, target, info)
            )
            say(f"default {ctx.task_name}: {_record_ms(result.run_secs):.4f} ms")
    finally:  # the builder exported each module to a temp directory of its own (the search's
        # task scheduler removes those of its candidates; these are ours to remove)
        for b in built:
            if b.artifact_path:
                ms.utils.remove_build_dir(b.artifact_path)


def _record_ms(run_secs) -> float:
    """A record's time: the median of its repeats (the first repeat can include thread-pool
    start)."""
    return float(np.median([float(s) for s in run_secs])) * 1e3


# ----------------------------------------------------------------------------- tuning


#: What MetaSchedule's search needs beyond TVM (the XGBoost cost model; its popen workers need
#: the other three): the ``tune`` extra, so that a base install stays small.
TUNE_MODULES = ("xgboost", "cloudpickle", "psutil", "tornado")


def require_tune_extra() -> None:
    """``ImportError`` naming what to install when the ``tune`` extra is missing (else tuning
    would fail minutes in, inside a worker process)."""
    import importlib

    missing = []
    for name in TUNE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # absent, or installed but broken
            missing.append(name)
    if missing:
        raise ImportError(
            f"tuning needs {', '.join(missing)}: pip install 'tvm-blocksparse[tune]' "
            "(compiling and running models do not)"
        )


def tune_kernel_tasks(
    tasks: list[KernelTask],
    work_dir: str,
    trials: int,
    target,
    *,
    rpc: str | None = None,
    num_trials_per_iter: int = 8,
    say: Callable[[str], None] = print,
) -> ms.database.Database:
    """Tune ``tasks`` (every token-tile variant of each) into the JSON database in ``work_dir``,
    spending ``trials`` measurements in all on top of each variant's default schedule. A second
    call with the same ``work_dir`` continues from the records there."""
    require_tune_extra()
    os.makedirs(work_dir, exist_ok=True)
    _merge_tasks_file(work_dir, tasks)
    db = ms.database.JSONDatabase(work_dir=work_dir)
    alloc = RealWeightArguments()
    contexts, weights, names, specs = [], [], [], []
    for task in tasks:
        for variant in task.variants():
            func = task.func(variant)
            alloc.add(func, task.arrays)
            name = f"{task.key}_{variant_tag(variant)}"
            contexts.append(
                ms.TuneContext(
                    tvm.IRModule({"main": func}),
                    target=target,
                    space_generator=space_generator(task.spec),
                    search_strategy=ms.search_strategy.EvolutionarySearch(
                        population_size=64, init_min_unmeasured=8
                    ),
                    task_name=name,
                    num_threads=os.cpu_count() or 1,
                )
            )
            weights.append(float(task.layers))
            names.append(name)
            specs.append(task.spec)
    builder = ms.builder.LocalBuilder(
        timeout_sec=300, f_build=build_candidate, initializer=import_ours
    )
    runner = _runner(alloc, rpc)
    say(f"{len(tasks)} kernel shapes -> {len(contexts)} tasks (token tile x tile order variants)")
    _commit_defaults(db, builder, runner, contexts, specs, target, say)
    if trials > 0:
        say(f"searching: {trials} trials, {num_trials_per_iter} per batch, XGBoost cost model")
        ms.tune.tune_tasks(
            tasks=contexts,
            task_weights=weights,
            work_dir=work_dir,
            max_trials_global=trials,
            num_trials_per_iter=num_trials_per_iter,
            builder=builder,
            runner=runner,
            database=db,
            cost_model="xgb",
            measure_callbacks=[
                *ms.measure_callback.MeasureCallback.create("default"),
                _Progress(names, say),
            ],
            task_scheduler="gradient",
        )
    return db


def _merge_tasks_file(work_dir: str, tasks: list[KernelTask]) -> None:
    path = os.path.join(work_dir, TASKS_FILE)
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            known = json.load(f)
    for t in tasks:
        known.setdefault(t.key, t.to_json())
    with open(path, "w") as f:
        json.dump(known, f, indent=1)


class TunedKernels:
    """Reads a tuning work directory; :meth:`choose` gives a layer its best measured variant.
    ``use_verdicts=False`` ignores the side-by-side verdicts :func:`tune` wrote (to re-check)."""

    def __init__(self, work_dir: str, target, use_verdicts: bool = True):
        path = os.path.join(work_dir, TASKS_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{work_dir} is not a tvm_blocksparse tuning directory (no {TASKS_FILE}); "
                "run tvm_blocksparse.tune first"
            )
        with open(path) as f:
            raw = json.load(f)
        self.tasks = {k: KernelTask.from_json(v, target) for k, v in raw.items()}
        self.keep_default = {k for k, v in raw.items() if use_verdicts and v.get("keep_default")}
        self.db = ms.database.JSONDatabase(work_dir=work_dir)
        self.target = target
        self.applied: dict[str, str] = {}
        # task key -> choose()'s answer: every layer of a shape gets the same one, and working it
        # out builds every variant's PrimFunc and schedules the default (BERT-Large: 144 layers).
        self._chosen: dict[str, tuple | None] = {}

    def _records(self, func) -> list:
        """Every record of one variant's workload (empty when it was never tuned)."""
        mod = tvm.IRModule({"main": func})
        if not self.db.has_workload(mod):
            return []
        return list(self.db.get_top_k(self.db.commit_workload(mod), 1 << 20))

    def best(self, task: KernelTask) -> tuple[Variant, object, float] | None:
        """(variant, tuning record, ms) of the fastest record over the task's variants. The database
        orders records by their mean, we rank by :func:`_record_ms` (the median), so every record
        is looked at, not the database's top 1."""
        best = None
        for variant in task.variants():
            for rec in self._records(task.func(variant)):
                t = _record_ms(rec.run_secs)
                if best is None or t < best[2]:
                    best = (variant, rec, t)
        return best

    def default_ms(self, task: KernelTask) -> float | None:
        """The measured time of the task's default schedule (committed before every search; the
        search may measure the same trace again, and the fastest measurement counts)."""
        variant = task.default_variant()
        records = self._records(task.func(variant))
        if not records:
            return None
        default_trace = str(default_trace_schedule(task.spec, task.func(variant)).trace)
        return min(
            (_record_ms(r.run_secs) for r in records if str(r.trace) == default_trace), default=None
        )

    def choose(self, use) -> tuple[Variant, Callable[[Schedule], Schedule], str] | None:
        """The best record for this kernel use, or None (default schedule) when there is none or
        it is not :data:`MIN_GAIN` faster than the default's own measurement: MetaSchedule
        measures next to its builders, and a 1 % "win" is noise."""
        key = KernelTask(use.kind, use.m, use.n, use.k, use.epilogue, 0, {}).key
        if key not in self._chosen:
            self._chosen[key] = self._choose(key)
        return self._chosen[key]

    def _choose(self, key: str):
        known = self.tasks.get(key)
        if known is None:
            return None
        if key in self.keep_default:
            self.applied[key] = "default kept: the best record lost the side-by-side check"
            return None
        found = self.best(known)
        if found is None:
            return None
        variant, rec, t = found
        default = self.default_ms(known)
        if default is not None and t * (1 + MIN_GAIN) > default:
            self.applied[key] = f"default kept: best record {t:.4f} ms vs default {default:.4f} ms"
            return None
        trace = rec.trace

        def schedule(sch: Schedule) -> Schedule:
            trace.apply_to_schedule(sch, remove_postproc=False)
            return sch

        label = f"tuned: {variant_tag(variant)}, {t:.4f} ms measured" + (
            f" (default {default:.4f} ms)" if default is not None else ""
        )
        self.applied[key] = label
        return variant, schedule, label


def default_vs_tuned(
    tasks: list[KernelTask],
    work_dir: str,
    target,
    rounds: int = 7,
    number: int = 50,
    use_verdicts: bool = True,
) -> list[dict]:
    """Build each task's default and tuned kernel, check they give identical outputs on the real
    weights, and time them side by side (alternating, ``rounds`` x ``number`` calls; medians)."""
    tuned = TunedKernels(work_dir, target, use_verdicts=use_verdicts)
    rows = []
    for task in tasks:
        candidates = {"default": (task.func(task.default_variant()), task.spec.schedule)}
        choice = tuned.choose(
            KernelUse(task.kind, task.m, task.n, task.k, task.epilogue, task.arrays)
        )
        label = tuned.applied.get(task.key, "default (no record)")
        if choice is not None:
            variant, schedule, label = choice
            candidates["tuned"] = (task.func(variant), schedule)
        alloc = RealWeightArguments()
        built, args, outs = {}, {}, {}
        for name, (func, schedule) in candidates.items():
            sch = Schedule(func)
            schedule(sch)
            built[name] = tvm.compile(sch.mod, target=target).mod
            alloc.add(func, task.arrays)
            args[name] = [tvm.runtime.tensor(a) for a in alloc.arrays_for(args_info(func))]
            built[name]["main"](*args[name])
            outs[name] = args[name][-1].numpy()
        same = "tuned" not in outs or np.array_equal(outs["default"], outs["tuned"])
        times = {name: [] for name in built}
        for _ in range(rounds):
            for name, mod in built.items():
                timer = mod.time_evaluator("main", tvm.cpu(), number=number, repeat=1)
                times[name].append(timer(*args[name]).mean * 1e3)
        d = float(np.median(times["default"]))
        t = float(np.median(times["tuned"])) if "tuned" in times else d
        rows.append(
            dict(
                kernel=task.key,
                layers=task.layers,
                default_ms=d,
                tuned_ms=t,
                gain=d / t,
                outputs_equal=same,
                choice=label,
            )
        )
    return rows


def extract_tasks(onnx_path_or_model, **compile_options) -> list[KernelTask]:
    """The distinct kernel shapes a ``compile(onnx, **compile_options)`` would call."""
    return _extract(onnx_path_or_model, **compile_options)[0]


def _extract(onnx_path_or_model, **compile_options):
    """(tasks, number of kernel calls, target) of ``compile(onnx, **compile_options)``: the
    kernels in its IR after the rewrite phase."""
    from tvm_blocksparse.pipeline import rewrite_passes
    from tvm_blocksparse.prepare import prepare_model

    prepared = prepare_model(onnx_path_or_model, **compile_options)
    with prepared.target:
        mod = tvm.transform.Sequential(rewrite_passes(**prepared.pipeline_options()))(prepared.mod)
    uses = kernel_uses(mod)
    return tasks_from_uses(uses, prepared.target), len(uses), prepared.target


def tune(
    onnx_path_or_model,
    work_dir: str,
    trials: int = 64,
    *,
    rpc: str | None = None,
    num_trials_per_iter: int = 8,
    progress: Callable[[str], None] | None = None,
    **compile_options,
) -> list[dict]:
    """Tune the kernels ``compile(onnx, **compile_options)`` would use; records go to the JSON
    database in ``work_dir`` (resumable: a second call continues). Returns one row per kernel
    shape: its default and best measured time and the token tile chosen. Needs the ``tune``
    extra (:func:`require_tune_extra`)."""
    require_tune_extra()
    say = reporter(progress)
    t0 = time.perf_counter()
    tasks, n_calls, target = _extract(onnx_path_or_model, **compile_options)
    if not tasks:
        raise ValueError("the model calls none of our Linear kernels: nothing to tune")
    say(f"{n_calls} kernel calls, {len(tasks)} distinct shapes")
    tune_kernel_tasks(
        tasks, work_dir, trials, target, rpc=rpc, num_trials_per_iter=num_trials_per_iter, say=say
    )
    # The search measured next to its own builders: check each winner against the default side
    # by side before compile may use it, and record the verdict in the work dir.
    say("checking each shape's best record against its default, side by side")
    checked = {
        r["kernel"]: r for r in default_vs_tuned(tasks, work_dir, target, use_verdicts=False)
    }
    path = os.path.join(work_dir, TASKS_FILE)
    with open(path) as f:
        raw = json.load(f)
    for key, r in checked.items():
        raw[key]["keep_default"] = bool(r["tuned_ms"] * (1 + MIN_GAIN) > r["default_ms"])
    with open(path, "w") as f:
        json.dump(raw, f, indent=1)
    tuned = TunedKernels(work_dir, target)
    rows = []
    for task in tasks:
        default = task.default_variant()
        default_ms = tuned.default_ms(task) or float("nan")
        variant, _, best_ms = tuned.best(task)
        keep = raw[task.key]["keep_default"]
        rows.append(
            dict(
                kernel=task.key,
                layers=task.layers,
                default_ms=default_ms,
                best_ms=best_ms,
                variant=variant_tag(default if keep else variant),
                default_variant=variant_tag(default),
                side_by_side_gain=checked[task.key]["gain"],
                keep_default=keep,
            )
        )
        say(
            f"{task.key}: default {default_ms:.4f} ms -> best record {best_ms:.4f} ms "
            f"({variant_tag(variant)}); "
            f"side by side {checked[task.key]['gain']:.2f}x -> "
            + ("default kept" if keep else "tuned record used")
        )
    say(f"tuning done in {time.perf_counter() - t0:.0f} s; compile with tuning_db={work_dir!r}")
    return rows
