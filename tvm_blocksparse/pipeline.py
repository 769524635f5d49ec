"""The ``tvm_blocksparse`` Relax build pipeline, registered with TVM.

Usage, with TVM's own entry point::

    import tvm_blocksparse.pipeline  # registers it (a plain `import tvm_blocksparse` does not)
    pipeline = tvm.relax.get_pipeline("tvm_blocksparse", target=target, dump_dir="ir/")
    ex = tvm.compile(mod, target=target, relax_pipeline=pipeline)

    pipeline = tvm.relax.get_pipeline("tvm_blocksparse", target=target, dtype="int8")

Phases, top to bottom (each one's output IR is written to ``dump_dir/NN_<phase>.py`` when asked,
and handed to ``observe(phase, mod)``):

1. ``rewrite``   - single-purpose passes of :mod:`tvm_blocksparse.relay_passes` (skipped when
   ``dtype=None``): LayerNorm with qparams (INT8), Linear layers -> our kernels, producers storing
   their consumer's ``XT`` (INT8) or token tiles (FP32 4x1), attention fusion (INT8; FP32 on
   FP32 4x1 projections); the kernels are added unscheduled and tagged, and the per-layer
   decisions are recorded on ``main``.
2. ``legalize``  - Relax ops -> TIR PrimFuncs (TVM's legalization; softmax, erf, exp and GELU
   ours: see :func:`legalize_passes`), constant folding, operator fusion.
3. ``tune``      - :class:`~tvm_blocksparse.relay_passes.apply_tuned_kernels.ApplyTunedKernels`
   (when a tuning database is given).
4. ``schedule``  - our kernels by their registry entry / op schedule
   (:class:`~tvm_blocksparse.relay_passes.schedule_kernels.ScheduleKernels`), then
   :class:`~tvm_blocksparse.schedules.cpu_rules.ApplyScheduleRules` for the rest; constant weights
   of dense matmuls are pre-packed at compile time (layout-free buffers + FoldConstant).
5. ``lift``      - (when ``lift_weights`` is given) the constant arrays become ``main``'s last
   parameter, a tuple (:class:`~tvm_blocksparse.relay_passes.lift_weights.LiftWeights`): the
   library holds code only.
6. ``lower``     - TVM's dataflow lowering and finalization for the VM.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import tvm
from tvm import relax
from tvm.relax.backend.cpu_generic import pipeline as cpu_generic

from tvm_blocksparse.format import DEFAULT_SPARSITY_THRESHOLD
from tvm_blocksparse.schedules.cpu_rules import ApplyScheduleRules, format_listing

logger = logging.getLogger(__name__)

PIPELINE_NAME = "tvm_blocksparse"


def _dump(mod: tvm.IRModule, dump_dir: str | None, index: int, phase: str) -> None:
    if dump_dir:
        os.makedirs(dump_dir, exist_ok=True)
        with open(os.path.join(dump_dir, f"{index:02d}_{phase}.py"), "w") as f:
            f.write(mod.script(show_meta=False))


def _take_clipped(bb: relax.BlockBuilder, call: relax.Call) -> relax.Expr:
    """``relax.take`` in mode "fast" (the ONNX importer's Gather) legalized in mode "clip".

    ``CompiledModel.run`` rejects ids outside the table they index, so no accepted input changes
    result; the gather's reads become bounded, and topi's "Fast mode segfaults" warning (once per
    gather per compile) is gone."""
    from tvm import topi

    mode = "clip" if call.attrs.mode == "fast" else call.attrs.mode
    return bb.call_te(topi.take, call.args[0], call.args[1], call.attrs.axis, mode=mode)


def _softmax_last_axis(bb: relax.BlockBuilder, call: relax.Call) -> relax.Expr:
    """``softmax`` over the last axis as ``exp(x - max) * (1 / sum)``. TOPI divides every element
    by the row sum: a ``vdivps`` per 16 values, ~40 % of BERT-Base's softmax time. The
    reciprocal is one scalar per row; results differ from the division by an ulp or two. Other
    axes keep TVM's legalization."""
    from tvm import te, topi

    x = call.args[0]
    ndim = int(x.ty.ndim)
    if int(call.attrs.axis) not in (-1, ndim - 1):
        return relax.transform.legalize_ops.nn._nn_softmax(bb, call)

    def softmax(data):
        row_max = topi.max(data, axis=-1, keepdims=True)
        exp_of = _exp_of(data.dtype)
        exp = te.compute(
            data.shape, lambda *i: exp_of(data(*i) - row_max(*i[:-1], 0)), name="T_softmax_exp"
        )
        row_sum = topi.sum(exp, axis=-1, keepdims=True)
        inv = te.compute(
            row_sum.shape,
            lambda *i: tvm.tirx.const(1.0, data.dtype) / row_sum(*i),
            name="T_softmax_inv",
        )
        return te.compute(data.shape, lambda *i: exp(*i) * inv(*i[:-1], 0), name="T_softmax_norm")

    return bb.call_te(softmax, x, primfunc_name_hint="softmax")


def _exp_of(dtype: str):
    """float32: the vectorizable Cephes exp (:func:`tvm_blocksparse.op.epilogue.exp_f32`); other
    dtypes TVM's ``exp``."""
    from tvm import te

    from tvm_blocksparse.op.epilogue import exp_f32

    return (lambda x: exp_f32(x, 1)) if str(dtype) == "float32" else te.exp


def _float32_elementwise(name: str, f32):
    """Legalization of the unary elementwise op ``name``: float32 as ``f32(x)`` (one lane: the
    schedule vectorizes it), other dtypes TVM's own."""
    default = tvm.ir.Op.get(name).get_attr("FLegalize")

    def legalize(bb: relax.BlockBuilder, call: relax.Call) -> relax.Expr:
        from tvm import te

        x = call.args[0]
        if x.ty.dtype != "float32":
            return default(bb, call)
        return bb.call_te(
            lambda data: te.compute(data.shape, lambda *i: f32(data(*i)), name=f"T_{name[6:]}"),
            x,
            primfunc_name_hint=name.split(".")[-1],
        )

    return legalize


def _fast_math_legalizations() -> dict:
    """Vectorizable float32 ``erf``, ``exp`` and GELU for the modules our pipeline builds: TVM
    0.27 lowers ``erf`` to a libm ``erff`` call per lane and LLVM's x86 backend scalarizes
    ``llvm.exp`` into ``expf`` calls, so a vectorized GELU ran lane by lane (FFN1 with GELU took
    6x the same-size FFN2; bench/README.md, "Decisions"). Legalizations of our pipeline, not a
    global lowering rule: TVM's other builds in the process keep TVM's lowering."""
    from tvm_blocksparse.op.epilogue import erf_f32, exp_f32, gelu_f32

    return {
        "relax.erf": _float32_elementwise("relax.erf", lambda x: erf_f32(x, 1)),
        "relax.exp": _float32_elementwise("relax.exp", lambda x: exp_f32(x, 1)),
        "relax.nn.gelu": _float32_elementwise("relax.nn.gelu", lambda x: gelu_f32(x, 1)),
    }


def legalize_passes(target: tvm.target.Target) -> list[tvm.transform.Pass]:
    """Phase 2: TVM's CPU legalization passes, with our softmax (:func:`_softmax_last_axis`),
    bounded gathers (:func:`_take_clipped`) and vectorizable erf / exp / GELU
    (:func:`_fast_math_legalizations`)."""
    return [
        relax.transform.LegalizeOps(
            {
                "relax.nn.softmax": _softmax_last_axis,
                "relax.take": _take_clipped,
                **_fast_math_legalizations(),
            }
        ),
        *cpu_generic.legalize_passes(target)[1:],
    ]


def rewrite_passes(
    dtype: str,
    *,
    block: str = "4x1",
    threshold: float = DEFAULT_SPARSITY_THRESHOLD,
    static_ranges: dict | None = None,
    int8_attention: bool = True,
    token_tile: int | None = None,
) -> list[tvm.transform.Pass]:
    """Phase 1 for ``dtype`` ("int8" | "fp32"): see the module docstring. ``static_ranges``:
    calibrated input ranges per weight (INT8; others quantize at run time); ``token_tile``:
    impose a register tile on every kernel (experiments)."""
    from tvm_blocksparse.relay_passes import (
        FuseAttention,
        FuseAttentionF32,
        LayerNormQParams,
        ProducerTiles,
        ProducerTranspose,
        SoftmaxRows,
        SparsifyLinear,
    )

    int8 = dtype == "int8"
    return [
        LayerNormQParams(),  # (FP32 mode: its u8 parameters unused, its LayerNorm the faster)
        SparsifyLinear(dtype, block, threshold, token_tile, static_ranges),
        *([ProducerTranspose(token_tile)] if int8 else []),
        ProducerTiles(),  # (FP32 4x1 kernels: FP32 mode, or layers a cost model gave them)
        *([FuseAttention()] if int8 and int8_attention else []),
        *([] if int8 else [FuseAttentionF32()]),  # (on the FP32 4x1 kernels' Q, K, V)
        SoftmaxRows(),  # (the softmaxes attention fusion left)
        # QKV share one input: one dynamic quantization instead of three. Kernel outputs are
        # reshaped to [B, S, N] and the next kernel's input back to [B*S, K]: drop those pairs
        # so no copy is left.
        relax.transform.EliminateCommonSubexpr(),
        relax.transform.RemoveRedundantReshape(),
        relax.transform.CanonicalizeBindings(),
    ]


def schedule_passes(rules: ApplyScheduleRules) -> list[tvm.transform.Pass]:
    """Phase 4: our kernels, then our schedule rules, then fold the weight pre-packing into
    constants."""
    from tvm_blocksparse.relay_passes import ScheduleKernels

    return [
        ScheduleKernels(),
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
    dtype: str | None = None,
    block: str = "4x1",
    threshold: float = DEFAULT_SPARSITY_THRESHOLD,
    static_ranges: dict | None = None,
    int8_attention: bool = True,
    token_tile: int | None = None,
    tuned=None,
    dump_dir: str | None = None,
    rules: ApplyScheduleRules | None = None,
    observe: Callable[[str, tvm.IRModule], None] | None = None,
    lift_weights: Callable[[list[str], list], None] | None = None,
) -> tvm.transform.Pass:
    """The pipeline as one module pass. ``dtype`` None: no rewrite (dense FP32 through our
    schedule rules); else see :func:`rewrite_passes`. ``tuned``: a
    :class:`tvm_blocksparse.tuning.TunedKernels`. ``rules.listing`` (after the build) says which
    schedule rule each PrimFunc got; it is also logged at DEBUG level. ``lift_weights(keys,
    tensors)``: lift the constant arrays out of the code and hand them to this callback (see
    :class:`~tvm_blocksparse.relay_passes.lift_weights.LiftWeights`)."""
    rules = rules if rules is not None else ApplyScheduleRules()

    def phase(mod, index: int, name: str, passes) -> tvm.IRModule:
        mod = tvm.transform.Sequential(passes)(mod) if passes else mod
        _dump(mod, dump_dir, index, name)
        if observe is not None:
            observe(name, mod)
        return mod

    @tvm.transform.module_pass(opt_level=0, name=PIPELINE_NAME)
    def _pipeline(mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        from tvm_blocksparse.relay_passes import ApplyTunedKernels, LiftWeights
        from tvm_blocksparse.target import resolve_target

        tgt = resolve_target(target)
        with tgt:
            _dump(mod, dump_dir, 0, "input")
            if dtype is not None:
                mod = phase(
                    mod,
                    1,
                    "rewrite",
                    rewrite_passes(
                        dtype,
                        block=block,
                        threshold=threshold,
                        static_ranges=static_ranges,
                        int8_attention=int8_attention,
                        token_tile=token_tile,
                    ),
                )
            mod = phase(mod, 2, "legalize", legalize_passes(tgt))
            mod = phase(mod, 3, "tune", [ApplyTunedKernels(tuned)] if tuned is not None else [])
            mod = phase(mod, 4, "schedule", schedule_passes(rules))
            if dump_dir:
                with open(os.path.join(dump_dir, "schedule_rules.txt"), "w") as f:
                    f.write(format_listing(rules.listing) + "\n")
            logger.debug("schedule rules:\n%s", format_listing(rules.listing))
            mod = phase(mod, 5, "lift", [LiftWeights(lift_weights)] if lift_weights else [])
            mod = phase(
                mod,
                6,
                "lower",
                cpu_generic.dataflow_lower_passes(tgt) + cpu_generic.finalize_passes(tgt),
            )
        return mod

    return _pipeline


def _register() -> None:
    if PIPELINE_NAME not in relax.pipeline.PIPELINE_MAP:
        relax.pipeline.register_pipeline(PIPELINE_NAME)(get_pipeline)


_register()
