"""``ApplyTunedKernels``: our Linear kernels whose shape has a record in a tuning database
(:func:`tvm_blocksparse.tune`) that beat the default get that record: the PrimFunc rebuilt with
the record's config (token tile, tile order) and scheduled by its trace. Kernels without one are
left for the schedule phase. The layer report says which record each layer got.

Before::

    @T.prim_func  # tvm_blocksparse.kernel = "int8_4x1", default config, unscheduled
    def int8_4x1_m128_n768_k768(...): ...

After::

    @T.prim_func  # the record's config, its trace applied, tvm_blocksparse.scheduled = True
    def int8_4x1_m128_n768_k768(...): ...
"""

from __future__ import annotations

import dataclasses

import tvm
from tvm_blocksparse.relay_passes.kernel_calls import layer_report, linear_meta, with_layer_report
from tvm_blocksparse.relay_passes.schedule_kernels import finish_schedule, is_scheduled

from tvm_blocksparse import registry


@tvm.transform.module_pass(opt_level=0, name="ApplyTunedKernels")
class ApplyTunedKernels:
    """``tuned``: a :class:`tvm_blocksparse.tuning.TunedKernels` (the database's best record per
    kernel shape, or None where the default stays)."""

    def __init__(self, tuned):
        self.tuned = tuned

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        from tvm.s_tir import Schedule

        from tvm_blocksparse.tuning import KernelTask, KernelUse

        report = layer_report(mod)
        for gv, func in list(mod.functions_items()):
            meta = linear_meta(func) if isinstance(func, tvm.tirx.PrimFunc) else None
            if meta is None or is_scheduled(func):
                continue
            choice = self.tuned.choose(
                KernelUse(meta["kind"], meta["m"], meta["n"], meta["k"], meta["epilogue"], {})
            )
            if choice is None:
                continue
            config, schedule, label = choice
            if meta["config"].get("xt_tiles"):  # XT in 16-token tiles: only the slab walk reads it
                if not getattr(config, "slab", False):
                    applied = getattr(self.tuned, "applied", None)
                    if applied is not None:
                        task = KernelTask(
                            meta["kind"], meta["m"], meta["n"], meta["k"], meta["epilogue"], 0, {}
                        )
                        applied[task.key] = (
                            "default kept: the record's walk cannot read XT in 16-token tiles"
                        )
                    continue
                config = dataclasses.replace(config, xt_tiles=True)
            if meta["config"].get("x_tiles"):  # FP32 4x1 on a producer's tiles: every walk reads
                config = dataclasses.replace(config, x_tiles=True)
            if meta["config"].get("yt_rows"):  # FP32 4x1 storing K^T: a layout, every walk has it
                config = dataclasses.replace(config, yt_rows=True)
            spec = registry.lookup(meta["kind"])
            tuned = spec.build(
                meta["m"], meta["n"], meta["k"], meta["blocks"], meta["epilogue"], config
            )
            sch = Schedule(tuned.without_attr("global_symbol"))
            schedule(sch)
            mod[gv] = finish_schedule(sch.mod["main"], func)
            for d in report:
                if d.callee == gv.name_hint:
                    d.schedule = label
        return with_layer_report(mod, report)
