"""What our rewrite passes share: how a kernel PrimFunc enters a module and what it is tagged
with, the per-layer report kept on the Relax ``main``, and small IR queries.

A kernel is added unscheduled (:class:`KernelAdder`) and tagged:

- :data:`KERNEL_ATTR`: which schedule it gets in the schedule phase: a registry kind
  (``"int8_4x1"``) or one of :data:`tvm_blocksparse.schedules.OP_SCHEDULES`;
- :data:`LINEAR_ATTR` (Linear kernels): JSON ``{"kind", "m", "n", "k", "blocks", "epilogue",
  "config"}``, what tuning and the tuned-record pass need to rebuild it;
- ``op_pattern`` 8 (opaque): FuseOps must not fuse anything into our kernels (FuseTIR then
  mapped one Relax var to two buffers and failed on mixed sparse/dense static models).

The layer report (:data:`LAYERS_ATTR`, JSON list of :class:`LayerDecision`) and the attention
summary (:data:`ATTENTION_ATTR`) live on the module's ``main`` function, so every pass reads and
updates the module, not a pass instance.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import tvm
from tvm import relax

from tvm_blocksparse import registry
from tvm_blocksparse.op.epilogue import Epilogue

KERNEL_ATTR = "tvm_blocksparse.kernel"
LINEAR_ATTR = "tvm_blocksparse.linear"
NAME_ATTR = "tvm_blocksparse.name"  # the name asked for (BlockBuilder appends digits on a clash)
LAYERS_ATTR = "tvm_blocksparse.layers"
ATTENTION_ATTR = "tvm_blocksparse.attention"
ENTRY = "main"


@dataclasses.dataclass
class LayerDecision:
    """What the rewrite did with one Linear layer (``W[N_out, K_in]``).

    kernel:   a registry kind, or ``"tvm_dense"`` / ``"unchanged"`` (left to TVM).
    callee:   the kernel PrimFunc the layer calls (empty when left to TVM).
    weights:  a short hash of the layer's first kernel weight array: finds the layer's call again.
    schedule: "default" or the tuning record applied.
    source:   :func:`~tvm_blocksparse.onnx_import.weight_sample_key` of ``W[K_in, N_out]``: finds
              the ONNX layer (``name``: its MatMul/Gemm node, ``weight``: its initializer, filled
              in by :func:`tvm_blocksparse.compile`, as :func:`tvm_blocksparse.inspect` names it).
    weight_qmax: INT8 kernels: the per-channel weight range ``[-qmax, qmax]`` (on AVX2 chosen per
              layer, :func:`~tvm_blocksparse.format.quantize_weight_pair_bounded`); 0 otherwise.
    weight_split_rows: INT8 kernels: output channels whose largest weights exceed ``weight_qmax``
              and span repeated slots (:func:`~tvm_blocksparse.format.outlier_split_scale`).
    """

    index: int
    n_out: int
    k_in: int
    tokens: int
    sparsity: float
    kernel: str
    epilogue: str
    reason: str = ""
    schedule: str = "default"
    callee: str = ""
    weights: str = ""
    source: str = ""
    name: str = ""
    weight: str = ""
    weight_qmax: int = 0
    weight_split_rows: int = 0


def weights_id(array: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def layer_report(mod: tvm.IRModule) -> list[LayerDecision]:
    """The per-layer decisions recorded on ``mod``'s main (empty before the rewrite)."""
    attrs = mod[ENTRY].attrs if ENTRY in [gv.name_hint for gv in mod.get_global_vars()] else None
    if attrs is None or LAYERS_ATTR not in attrs:
        return []
    return [LayerDecision(**d) for d in json.loads(str(attrs[LAYERS_ATTR]))]


def with_layer_report(mod: tvm.IRModule, report: list[LayerDecision]) -> tvm.IRModule:
    for i, d in enumerate(report):
        d.index = i
    mod[ENTRY] = mod[ENTRY].with_attr(
        LAYERS_ATTR, json.dumps([dataclasses.asdict(d) for d in report])
    )
    return mod


def attention_summary(mod: tvm.IRModule) -> dict:
    """``{"int8_fused": n, "left_fp32": [reasons]}`` recorded by the attention rewrite."""
    attrs = mod[ENTRY].attrs
    if attrs is None or ATTENTION_ATTR not in attrs:
        return {"int8_fused": 0, "left_fp32": []}
    return json.loads(str(attrs[ATTENTION_ATTR]))


def linear_meta(func: tvm.tirx.PrimFunc) -> dict | None:
    """The :data:`LINEAR_ATTR` of a Linear kernel PrimFunc (epilogue as an :class:`Epilogue`),
    else None."""
    if func.attrs is None or LINEAR_ATTR not in func.attrs:
        return None
    meta = json.loads(str(func.attrs[LINEAR_ATTR]))
    meta["epilogue"] = Epilogue(**meta["epilogue"])
    return meta


def encode_linear_meta(
    kind: str, m: int, n: int, k: int, blocks: int | None, epilogue: Epilogue, config
) -> str:
    return json.dumps(
        {
            "kind": kind,
            "m": m,
            "n": n,
            "k": k,
            "blocks": blocks,
            "epilogue": dataclasses.asdict(epilogue),
            "config": dataclasses.asdict(config),
        }
    )


class KernelAdder:
    """Adds kernel PrimFuncs to the module a BlockBuilder builds, once per (name, content):
    layers of one shape share one function. The constructors are cached, so layers of one shape
    hand over the same PrimFunc object, and scripting it (to compare contents) is done once."""

    def __init__(self, bb: relax.BlockBuilder, mod: tvm.IRModule):
        self.bb = bb
        self._by_object: dict[tuple, tvm.ir.GlobalVar] = {}
        self._by_content: dict[tuple, tvm.ir.GlobalVar] = {}
        for gv, func in mod.functions_items():
            if (
                isinstance(func, tvm.tirx.PrimFunc)
                and func.attrs is not None
                and NAME_ATTR in func.attrs
            ):
                self._by_content[(str(func.attrs[NAME_ATTR]), hash(func.script()))] = gv

    def add(
        self, func: tvm.tirx.PrimFunc, name: str, kernel: str, linear: str | None = None
    ) -> tvm.ir.GlobalVar:
        seen = self._by_object.get((name, func, linear))
        if seen is not None:
            return seen
        tagged = (
            func.without_attr("global_symbol")
            .with_attr("op_pattern", 8)
            .with_attr(KERNEL_ATTR, kernel)
        )
        tagged = tagged.with_attr(NAME_ATTR, name)
        if linear is not None:
            tagged = tagged.with_attr(LINEAR_ATTR, linear)
        key = (name, hash(tagged.script()))
        gv = self._by_content.get(key)
        if gv is None:
            gv = self.bb.add_func(tagged, name)
            self._by_content[key] = gv
        self._by_object[(name, func, linear)] = gv
        return gv


def const_value(expr) -> np.ndarray | None:
    return expr.value.numpy() if isinstance(expr, tvm.ir.expr.Constant) else None


def static_shape(expr) -> list[int] | None:
    shape = getattr(getattr(expr, "ty", None), "shape", None)
    if shape is None:
        return None
    try:
        return [int(d) for d in shape]
    except (TypeError, ValueError):
        return None


_CALL_TIR = tvm.ir.Op.get("relax.call_tir")
_RESHAPE = tvm.ir.Op.get("relax.reshape")


def through_bindings(expr, var2val: dict, steps: int = 6):
    """``expr`` followed through var bindings and reshapes (at most ``steps`` hops)."""
    for _ in range(steps):
        if isinstance(expr, relax.Var) and expr in var2val:
            expr = var2val[expr]
        elif isinstance(expr, relax.Call) and expr.op.same_as(_RESHAPE):
            expr = expr.args[0]
        else:
            break
    return expr


def kernel_call(expr, mod: tvm.IRModule):
    """(call, callee PrimFunc) when ``expr`` is a ``call_tir`` of one of our kernels, else None."""
    if not (isinstance(expr, relax.Call) and expr.op.same_as(_CALL_TIR)):
        return None
    gv = expr.args[0]
    if not isinstance(gv, tvm.ir.GlobalVar) or gv not in mod.get_global_vars():
        return None  # (a function a running pass has only just added)
    func = mod[gv]
    if (
        not isinstance(func, tvm.tirx.PrimFunc)
        or func.attrs is None
        or KERNEL_ATTR not in func.attrs
    ):
        return None
    return expr, func


def kernel_of(func: tvm.tirx.PrimFunc) -> str:
    return str(func.attrs[KERNEL_ATTR])


def call_args(call: relax.Call, func: tvm.tirx.PrimFunc) -> dict[str, relax.Expr]:
    """A kernel call's arguments by parameter name."""
    return dict(zip([p.name for p in func.params][:-1], call.args[1].fields, strict=True))


def add_layer_kernel(
    kernels: KernelAdder, by_weights: dict, args: dict, meta: dict, ep: Epilogue, config, tag
) -> tuple[tvm.ir.GlobalVar, tvm.tirx.PrimFunc]:
    """A layer's kernel (``meta``'s kind and shape) built with ``ep`` and ``config``, added as
    ``<kind>_<tag>_m.._n.._k..``; the layer report's callee of the layer whose weights ``args``
    pass (``by_weights``: the report's decisions by :func:`weights_id`) follows it."""
    kind, m, n, k = meta["kind"], meta["m"], meta["n"], meta["k"]
    built = registry.lookup(kind).build(m, n, k, meta["blocks"], ep, config)
    gv = kernels.add(
        built,
        f"{kind}_{tag}_m{m}_n{n}_k{k}",
        kind,
        encode_linear_meta(kind, m, n, k, meta["blocks"], ep, config),
    )
    decision = by_weights.get(weights_id(const_value(args["w_data"])))
    if decision is not None:
        decision.callee = gv.name_hint
    return gv, built


def layer_kernel_call(
    kernels: KernelAdder, by_weights: dict, args: dict, meta: dict, ep: Epilogue, config, tag, out
) -> relax.Call:
    """``call_tir`` of :func:`add_layer_kernel`'s kernel on ``args`` (by parameter name); the
    kernel's last parameters are its outputs, typed ``out`` (one type, or a list of them)."""
    gv, built = add_layer_kernel(kernels, by_weights, args, meta, ep, config, tag)
    n_out = len(out) if isinstance(out, list) else 1
    return relax.call_tir(gv, [args[p.name] for p in built.params[:-n_out]], out)
