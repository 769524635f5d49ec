"""``ScheduleKernels``: the schedule phase's first step. Every kernel PrimFunc our rewrite passes
added (tagged with :data:`~tvm_blocksparse.relay_passes.kernel_calls.KERNEL_ATTR`) and no tuning
record scheduled gets its schedule function: the registry entry's for Linear kernels
(:mod:`tvm_blocksparse.registry`), :data:`tvm_blocksparse.schedules.OP_SCHEDULES` for the other
ops. ``cpu_rules.ApplyScheduleRules`` then schedules what TVM legalized.

Before::

    @T.prim_func  # tvm_blocksparse.kernel = "int8_4x1"
    def int8_4x1_m128_n768_k768(...):  # loops over blocks "dot", "pack", "epilogue", ...

After::

    @T.prim_func  # tvm_blocksparse.scheduled = True, schedule_rule = "int8_4x1"
    def int8_4x1_m128_n768_k768(...):  # "dot" tensorized onto vpdpbusd, the tile unrolled
"""

from __future__ import annotations

import tvm
from tvm.s_tir import Schedule
from tvm_blocksparse.relay_passes.kernel_calls import KERNEL_ATTR, NAME_ATTR
from tvm_blocksparse.schedules import OP_SCHEDULES
from tvm_blocksparse.schedules.cpu_rules import RULE_ATTR, SCHEDULED_ATTR

from tvm_blocksparse import registry


def is_scheduled(func: tvm.tirx.PrimFunc) -> bool:
    return (
        func.attrs is not None
        and SCHEDULED_ATTR in func.attrs
        and bool(int(func.attrs[SCHEDULED_ATTR]))
    )


def finish_schedule(scheduled: tvm.tirx.PrimFunc, original: tvm.tirx.PrimFunc) -> tvm.tirx.PrimFunc:
    """``scheduled`` marked scheduled, named for the rule listing after the kernel's name, opaque
    to FuseOps (``op_pattern`` 8), with ``original``'s tags."""
    for key in (KERNEL_ATTR, NAME_ATTR, "tvm_blocksparse.linear"):
        if original.attrs is not None and key in original.attrs:
            scheduled = scheduled.with_attr(key, original.attrs[key])
    name = str(original.attrs[NAME_ATTR])
    scheduled = scheduled.with_attr(SCHEDULED_ATTR, True).with_attr(RULE_ATTR, name.split("_m")[0])
    return scheduled.with_attr("op_pattern", 8).without_attr("global_symbol")


def schedule_of(kernel: str):
    """The schedule function of a kernel tag: a registry kind or an op of OP_SCHEDULES."""
    if kernel in registry.kinds():
        return registry.lookup(kernel).schedule
    return OP_SCHEDULES[kernel]


@tvm.transform.module_pass(opt_level=0, name="ScheduleKernels")
class ScheduleKernels:
    """See the module docstring."""

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        for gv, func in list(mod.functions_items()):
            if (
                not isinstance(func, tvm.tirx.PrimFunc)
                or func.attrs is None
                or KERNEL_ATTR not in func.attrs
                or is_scheduled(func)
            ):
                continue
            sch = Schedule(func)
            schedule_of(str(func.attrs[KERNEL_ATTR]))(sch)
            mod[gv] = finish_schedule(sch.mod["main"], func)
        return mod
