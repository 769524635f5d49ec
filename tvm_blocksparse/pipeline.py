"""The ``tvm_blocksparse`` Relax build pipeline, registered with TVM.

Usage, with TVM's own entry point::

    import tvm_blocksparse  # registers the pipeline
    pipeline = tvm.relax.get_pipeline("tvm_blocksparse", target=target, dump_dir="ir/")
    ex = tvm.compile(mod, target=target, relax_pipeline=pipeline)

Phases, top to bottom (each one's output IR is written to ``dump_dir/NN_<phase>.py`` when asked):

1. ``sparsify``  - :mod:`tvm_blocksparse.relay_passes` rewrites constant-weight Linear layers into
   our fused block-sparse / dense kernels (skipped when ``sparsify=None``).
2. ``legalize``  - Relax ops -> TIR PrimFuncs (TVM's legalization, softmax ours: see
   :func:`legalize_passes`), constant folding, operator fusion.
3. ``schedule``  - :class:`~tvm_blocksparse.schedules.cpu_rules.ApplyScheduleRules`; constant
   weights of dense matmuls are pre-packed at compile time (layout-free buffers + FoldConstant).
4. ``lower``     - TVM's dataflow lowering and finalization for the VM.
"""

from __future__ import annotations

import logging
import os

import tvm
from tvm import relax
from tvm.relax.backend.cpu_generic import pipeline as cpu_generic

from tvm_blocksparse.schedules.cpu_rules import ApplyScheduleRules, format_listing

logger = logging.getLogger(__name__)

PIPELINE_NAME = "tvm_blocksparse"


def _dump(mod: tvm.IRModule, dump_dir: str | None, index: int, phase: str) -> None:
    if dump_dir:
        os.makedirs(dump_dir, exist_ok=True)
        with open(os.path.join(dump_dir, f"{index:02d}_{phase}.py"), "w") as f:
            f.write(mod.script(show_meta=False))


def _softmax_last_axis(bb: relax.BlockBuilder, call: relax.Call) -> relax.Expr:
    """``softmax`` over the last axis as ``exp(x - max) * (1 / sum)``. TOPI divides every element
    by the row sum: a ``vdivps`` per 16 values, ~40 % of BERT-Base's softmax time (1 thread). The
    reciprocal is one scalar per row; results differ from the division by an ulp or two. Other
    axes keep TVM's legalization."""
    from tvm import te, topi

    x = call.args[0]
    ndim = int(x.ty.ndim)
    if int(call.attrs.axis) not in (-1, ndim - 1):
        return relax.transform.legalize_ops.nn._nn_softmax(bb, call)

    def softmax(data):
        row_max = topi.max(data, axis=-1, keepdims=True)
        exp = te.compute(data.shape, lambda *i: te.exp(data(*i) - row_max(*i[:-1], 0)), name="T_softmax_exp")
        row_sum = topi.sum(exp, axis=-1, keepdims=True)
        inv = te.compute(row_sum.shape, lambda *i: tvm.tirx.const(1.0, data.dtype) / row_sum(*i), name="T_softmax_inv")
        return te.compute(data.shape, lambda *i: exp(*i) * inv(*i[:-1], 0), name="T_softmax_norm")

    return bb.call_te(softmax, x, primfunc_name_hint="softmax")


def legalize_passes(target: tvm.target.Target) -> list[tvm.transform.Pass]:
    """Phase 2: TVM's CPU legalization passes, with our softmax (:func:`_softmax_last_axis`)."""
    return [
        relax.transform.LegalizeOps({"relax.nn.softmax": _softmax_last_axis}),
        *cpu_generic.legalize_passes(target)[1:],
    ]


def schedule_passes(rules: ApplyScheduleRules) -> list[tvm.transform.Pass]:
    """Phase 3: apply our schedule rules, then fold the weight pre-packing into constants."""
    return [
        # Reshape-only PrimFuncs become views (no copy) before our rules schedule them, after
        # which TVM would no longer recognize them as reshapes.
        relax.transform.RewriteDataflowReshape(),
        relax.transform.AttachAttrLayoutFreeBuffers(),
        rules,
        relax.transform.SplitLayoutRewritePreproc(),
        relax.transform.FoldConstant(),
        relax.transform.DeadCodeElimination(),
    ]


def get_pipeline(
    target: tvm.target.Target | dict | str | None = None,
    *,
    sparsify: tvm.transform.Pass | None = None,
    dump_dir: str | None = None,
    rules: ApplyScheduleRules | None = None,
) -> tvm.transform.Pass:
    """The pipeline as one module pass. ``rules.listing`` (after the build) says which schedule
    rule each PrimFunc got; it is also logged at DEBUG level."""
    rules = rules if rules is not None else ApplyScheduleRules()

    @tvm.transform.module_pass(opt_level=0, name=PIPELINE_NAME)
    def _pipeline(mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        tgt = _resolve_target(target)
        with tgt:
            _dump(mod, dump_dir, 0, "input")
            if sparsify is not None:
                # QKV share one input: one dynamic quantization instead of three.
                # Kernel outputs are reshaped to [B, S, N] and the next kernel's input back to
                # [B*S, K]: drop those pairs so no copy is left.
                mod = tvm.transform.Sequential([
                    sparsify, relax.transform.EliminateCommonSubexpr(), relax.transform.RemoveRedundantReshape(),
                    relax.transform.CanonicalizeBindings(),
                ])(mod)
                _dump(mod, dump_dir, 1, "sparsify")
            mod = tvm.transform.Sequential(legalize_passes(tgt))(mod)
            _dump(mod, dump_dir, 2, "legalize")
            mod = tvm.transform.Sequential(schedule_passes(rules))(mod)
            _dump(mod, dump_dir, 3, "schedule")
            if dump_dir:
                with open(os.path.join(dump_dir, "schedule_rules.txt"), "w") as f:
                    f.write(format_listing(rules.listing) + "\n")
            logger.debug("schedule rules:\n%s", format_listing(rules.listing))
            mod = tvm.transform.Sequential(
                cpu_generic.dataflow_lower_passes(tgt) + cpu_generic.finalize_passes(tgt)
            )(mod)
            _dump(mod, dump_dir, 4, "lower")
        return mod

    return _pipeline


def _resolve_target(target) -> tvm.target.Target:
    """``target``, else the enclosing ``with Target(...)``, else the host."""
    from tvm_blocksparse.target import as_target

    current = tvm.target.Target.current(allow_none=True) if target is None else None
    return current if current is not None else as_target(target)


def _register() -> None:
    if PIPELINE_NAME not in relax.pipeline.PIPELINE_MAP:
        relax.pipeline.register_pipeline(PIPELINE_NAME)(get_pipeline)


_register()
