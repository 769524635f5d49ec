"""``SparsifyDense``: constant-weight Linear layers of an imported BERT -> our fused kernels.

Input: a Relax module from :func:`tvm_blocksparse.onnx_import.import_onnx` (weights are
constants; ONNX Linear = ``matmul(x[..., K], W[K_in, N_out]) (+ bias)``). For every
``matmul(x, W_const)`` with a static 2-D float32 ``W`` the pass measures the block sparsity of
``W^T = W[N_out, K_in]`` for the chosen block and rewrites the matmul, together with what follows
it, into one ``call_tir`` of our kernel:

- epilogues fused into the kernel: ``+ bias``, GELU (erf form ``x * (erf(x / sqrt 2) + 1) * 0.5``
  and the ``x * 0.5 * (1 + erf(x * (1/sqrt 2)))`` orderings), ``+ residual``; and attention's
  ``K^T`` (``permute_dims(reshape(K, [1, S, H, d]), [0, 2, 3, 1])``), which the 4x1 kernel
  stores transposed for free;
- ``mode="int8"``: activations quantized per tensor, at run time (``dynamic_qparams``) or with
  calibrated ranges (``static_ranges``), then ``quantize_transpose_u8`` / ``quantize_u8``;
  weights per output channel (symmetric s8),
  dequantized in the kernel epilogue; sparsity >= threshold -> ``int8_4x1`` (block "4x1" =
  4 out x 1 in, the paper's kernel) or ``int8_16x4``; below -> our dense VNNI kernel;
- ``mode="fp32"``: sparsity >= threshold (block "1x16" = 16 out x 1 in) -> ``fp32_1x16``;
  below -> left to TVM (our Matmul schedule rule, weights pre-packed).

Layers the pass can't take (non-constant weight, dtype other than float32, shapes the kernel
can't tile) stay unchanged; every decision is recorded in ``report`` with its reason.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tvm
from tvm import relax
from tvm.relax.dpl import is_const, is_op, rewrite_call, wildcard
from tvm.s_tir import Schedule

from tvm_blocksparse import format as fmt
from tvm_blocksparse.op import bsr_int8_4x1
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op import layer_norm
from tvm_blocksparse.op import quantize
from tvm_blocksparse import registry
from tvm_blocksparse.linear import kernel_config, prepare_linear
from tvm_blocksparse.onnx_import import weight_key
from tvm_blocksparse.relay_passes.attention import FuseAttentionInt8
from tvm_blocksparse.schedules import (
    schedule_bsr_dense_int8_4x1,
    schedule_quantize_transpose_u8,
)
from tvm_blocksparse.schedules.cpu_rules import RULE_ATTR, SCHEDULED_ATTR

MODES = ("int8", "fp32")


@dataclasses.dataclass
class LayerDecision:
    """What the pass did with one Linear layer (``W[N_out, K_in]``)."""

    index: int
    n_out: int
    k_in: int
    tokens: int
    sparsity: float
    kernel: str  # int8_4x1 | int8_16x4 | int8_dense | fp32_1x16 | tvm_dense | unchanged
    epilogue: str
    reason: str = ""
    schedule: str = "default"  # or the tuning record applied ("tuned: token tile 32, ...")


@dataclasses.dataclass
class KernelUse:
    """One call of one of our Linear kernels, for tuning-task extraction: ``W[N_out, K_in]``
    prepared as ``arrays`` (the kernel's weight parameters), ``m`` tokens."""

    kind: str
    m: int
    n: int
    k: int
    epilogue: Epilogue
    arrays: dict


class _GeluPattern:
    """GELU(y), erf form, in the orderings exporters write: ``(y * (1 + erf)) * 0.5``,
    ``(y * 0.5) * (1 + erf)``, ``y * (0.5 * (1 + erf))`` (torch dynamo), with ``erf(y / sqrt 2)``
    or ``erf(y * (1 / sqrt 2))``. The constants are checked after matching: another value is not
    GELU and stays as Relax ops."""

    def __init__(self, y):
        self.c_arg, self.c_one, self.c_half = is_const(), is_const(), is_const()
        self.div = is_op("relax.divide")(y, self.c_arg)
        self.mul = is_op("relax.multiply")(y, self.c_arg)
        erf = is_op("relax.erf")(self.div | self.mul)
        one_plus_erf = is_op("relax.add")(erf, self.c_one) | is_op("relax.add")(self.c_one, erf)
        mul = lambda a, b: is_op("relax.multiply")(a, b) | is_op("relax.multiply")(b, a)  # noqa: E731
        self.pattern = (mul(mul(y, one_plus_erf), self.c_half) | mul(mul(y, self.c_half), one_plus_erf)
                        | mul(y, mul(self.c_half, one_plus_erf)))

    def constants_ok(self, matches) -> bool:
        def close(p, want):
            v = _const_value(matches[p])
            return v is not None and v.size == 1 and abs(float(v.reshape(())) - want) <= 1e-6 * max(1.0, abs(want))

        arg_ok = close(self.c_arg, math.sqrt(2.0)) if self.div in matches else close(self.c_arg, 1 / math.sqrt(2.0))
        return arg_ok and close(self.c_one, 1.0) and close(self.c_half, 0.5)


def _const_value(expr) -> np.ndarray | None:
    return expr.value.numpy() if isinstance(expr, tvm.ir.expr.Constant) else None


def _static_shape(expr) -> list[int] | None:
    ty = expr.ty if hasattr(expr, "ty") else None
    shape = getattr(ty, "shape", None)
    if shape is None:
        return None
    try:
        return [int(d) for d in shape]
    except (TypeError, ValueError):
        return None


@tvm.transform.module_pass(opt_level=0, name="tvm_blocksparse.SparsifyDense")
class SparsifyDense:
    """See the module docstring. ``self.report`` lists one :class:`LayerDecision` per Linear."""

    def __init__(self, mode: str = "int8", block: str = "4x1", threshold: float = 0.7, token_tile: int | None = None,
                 static_ranges: dict[str, tuple[float, float]] | None = None, tuned=None, int8_attention: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if block not in registry.sparse_blocks(mode):
            raise ValueError(
                f"block {block!r} has no {mode} kernel; choose one of {registry.sparse_blocks(mode)} "
                "(orientation: (out x in) of W[N_out, K_in])"
            )
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.mode, self.block, self.threshold, self.token_tile = mode, block, threshold, token_tile
        # Static quantization: {weight_key(W[K_in, N_out]): (min, max) of the layer's input}, from
        # calibration; layers without an entry quantize dynamically.
        self.static_ranges = static_ranges or {}
        # A tuning database (tvm_blocksparse.tuning.TunedKernels) or None: default schedules.
        self.tuned = tuned
        self.report: list[LayerDecision] = []
        self.kernel_uses: list[KernelUse] = []
        # INT8 mode: self-attention blocks -> attention_int8 (relay_passes.attention)
        self.int8_attention = int8_attention and mode == "int8"
        self.attention_fused = 0
        self.attention_skipped: list[str] = []

    # ------------------------------------------------------------------ pass body
    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        self._bb = relax.BlockBuilder(mod)
        self._funcs: dict[str, tvm.ir.GlobalVar] = {}
        self._by_object: dict[tuple, tvm.ir.GlobalVar] = {}  # (name, PrimFunc object, schedule) -> its GlobalVar
        # kernel GlobalVar name -> (kind, M, N, K, Epilogue, input names, weight arrays)
        self._kernel_meta: dict[str, tuple] = {}
        # w_data constant of an emitted 4x1 call -> its layer's decision: a re-emitted producer
        # (transposed output) runs another kernel, whose schedule the report must show
        self._decision_of_weights: dict[relax.Constant, LayerDecision] = {}
        self._left_alone: dict = {}  # weight constant -> its "left to TVM" decision
        x, w, b, r = wildcard(), is_const(), is_const(), wildcard()
        mm = is_op("relax.matmul")(x, w)
        biased = is_op("relax.add")(mm, b) | is_op("relax.add")(b, mm)
        # Longest chains first: a rewritten chain no longer contains a matmul.
        heads_shape = wildcard()
        split_heads = is_op("relax.reshape")(biased, heads_shape)
        self._gelu = _GeluPattern(biased)
        patterns = [
            # attention's K^T: reshape to [1, S, H, d], permute to [1, H, d, S]
            (is_op("relax.permute_dims")(split_heads), dict(bias=True, transposed_heads=True)),
            (self._gelu.pattern, dict(bias=True, gelu=True)),
            (is_op("relax.add")(biased, r) | is_op("relax.add")(r, biased), dict(bias=True, residual=True)),
            (biased, dict(bias=True)),
            (mm, {}),
        ]
        self._split_heads = split_heads
        layer_norm = is_op("relax.nn.layer_norm")(wildcard(), wildcard(), wildcard())
        for gv, func in list(mod.functions_items()):
            if not isinstance(func, relax.Function):
                continue
            if self.mode == "int8":
                func = rewrite_call(layer_norm, self._rewrite_layer_norm, func)
            for pattern, ep in patterns:
                self._var2val = relax.analysis.get_var2val(func)
                func = rewrite_call(pattern, lambda expr, m, ep=ep: self._rewrite(expr, m, x, w, b, r, ep), func)
            self._bb.update_func(gv, func)
        for i, d in enumerate(self.report):
            d.index = i
        if self.int8_attention:
            fuse = FuseAttentionInt8(lambda func, name: self._add_kernel(func, _no_schedule, name))
            for gv, func in fuse.apply(self._bb.get()):
                self._bb.update_func(gv, func)
            self.attention_fused, self.attention_skipped = fuse.fused, fuse.skipped
        return relax.transform.DeadCodeElimination()(self._bb.get())

    # ------------------------------------------------------------------ one layer
    def _rewrite(self, expr, matches, x_pat, w_pat, b_pat, r_pat, ep_flags):
        x, w_const = matches[x_pat], matches[w_pat]
        weight = _const_value(w_const)
        x_shape = _static_shape(x)
        index = len(self.report)
        if ep_flags.get("gelu") and not self._gelu.constants_ok(matches):
            return expr  # same shape as GELU, other constants: leave it to the plain patterns
        if weight is None or weight.ndim != 2 or weight.dtype != np.float32 or x_shape is None or x_shape[-1] != weight.shape[0]:
            return expr  # not a Linear we handle (non-2-D / non-float32 weight, dynamic shape)
        k, n = weight.shape
        m = int(np.prod(x_shape[:-1]))
        heads = self._transposed_heads_shape(expr, matches, x_shape, n, m) if ep_flags.get("transposed_heads") else None
        if ep_flags.get("transposed_heads") and heads is None:
            return expr  # not K^T-shaped (Q and V also match): the plain patterns take it
        w_out_in = np.ascontiguousarray(weight.T)
        sparsity = fmt.block_sparsity(w_out_in, self.block)
        ep_name = "+".join(["bias"] * ep_flags.get("bias", False) + ["gelu"] * ep_flags.get("gelu", False)
                           + ["residual"] * ep_flags.get("residual", False)) or "none"
        kernel, reason = self._choose_kernel(n, k, sparsity)
        if heads is not None:
            if kernel != "int8_4x1":
                return expr  # only the 4x1 kernel stores K^T: the plain patterns take it
            ep_name += "+transposed_out"
        decision = LayerDecision(index, n, k, m, sparsity, kernel, ep_name, reason)
        if kernel in ("tvm_dense", "unchanged"):
            return self._leave_alone(expr, w_const, decision)
        bias = _const_value(matches[b_pat]) if ep_flags.get("bias") else None
        if bias is not None and bias.size != n:
            decision.kernel, decision.reason = "unchanged", f"bias of {bias.size} values for {n} outputs"
            return self._leave_alone(expr, w_const, decision)
        residual = matches[r_pat] if ep_flags.get("residual") else None
        if residual is not None and (_static_shape(residual) != x_shape[:-1] + [n]):
            decision.kernel, decision.reason = "unchanged", "residual shape differs from the output"
            return self._leave_alone(expr, w_const, decision)
        # (hashing every weight is skipped when there is no calibration)
        static = self.static_ranges.get(weight_key(weight)) if kernel.startswith("int8") and self.static_ranges else None
        if static is not None:
            decision.epilogue += " (static quant)"
        earlier = self._left_alone.pop(w_const, None)
        if earlier is not None:  # an outer pattern left it; this shorter one takes it
            self.report.remove(earlier)
        self.report.append(decision)
        out = self._emit(kernel, w_out_in, x, m, k, n, x_shape, bias, residual, ep_flags, static)
        if heads is not None:
            return relax.op.reshape(out, heads)  # Y^T[N = H*d, S] is [1, H, d, S] row-major
        return out

    def _leave_alone(self, expr, w_const, decision: LayerDecision):
        """Report a Linear left to TVM once, though every shorter pattern matches it again."""
        if w_const not in self._left_alone:
            self._left_alone[w_const] = decision
            self.report.append(decision)
        return expr

    def _rewrite_layer_norm(self, expr, _matches):
        """INT8 mode: a last-axis float32 LayerNorm (K % 64 == 0) -> our ``layer_norm_qparams``,
        which also yields its output's u8 parameters (see :meth:`_layer_norm_qparams_of`)."""
        x, gamma, beta = expr.args
        shape = _static_shape(x)
        axes = [int(a) for a in expr.attrs.axes]
        if (shape is None or x.ty.dtype != "float32" or axes not in ([-1], [len(shape) - 1]) or shape[-1] % 64
                or not (expr.attrs.center and expr.attrs.scale)
                or any(_static_shape(p) != [shape[-1]] for p in (gamma, beta))):
            return expr
        k = shape[-1]
        m = int(np.prod(shape[:-1]))
        gv = self._add_kernel(layer_norm.layer_norm_qparams(m, k, float(expr.attrs.epsilon)), _no_schedule,
                              f"layer_norm_qparams_m{m}_k{k}")
        x2d = relax.op.reshape(x, (m, k)) if len(shape) != 2 else x
        out = relax.call_tir(gv, [x2d, gamma, beta], [relax.TensorType((m, k), "float32"),
                                                      relax.TensorType((1,), "float32"), relax.TensorType((1,), "int32")])
        y = relax.TupleGetItem(out, 0)
        return relax.op.reshape(y, shape) if len(shape) != 2 else y

    def _layer_norm_qparams_of(self, x):
        """``(x_scale, x_zp)`` when ``x`` is (through reshapes and bindings) the output of our
        ``layer_norm_qparams``; else None."""
        expr = x
        for _ in range(6):
            if isinstance(expr, relax.Var) and expr in self._var2val:
                expr = self._var2val[expr]
            elif isinstance(expr, relax.Call) and expr.op.same_as(tvm.ir.Op.get("relax.reshape")):
                expr = expr.args[0]
            else:
                break
        if not (isinstance(expr, relax.TupleGetItem) and expr.index == 0):
            return None
        call = self._var2val.get(expr.tuple_value, expr.tuple_value)
        if not (isinstance(call, relax.Call) and call.op.same_as(tvm.ir.Op.get("relax.call_tir"))
                and call.args[0].name_hint.startswith("layer_norm_qparams")):
            return None
        return relax.TupleGetItem(expr.tuple_value, 1), relax.TupleGetItem(expr.tuple_value, 2)

    def _fusable_producer(self, x, m, k):
        """``(call, meta)`` of the 4x1 kernel whose float32, token-major, residual-free output is
        ``x`` (through a reshape and var bindings), e.g. FFN1 + GELU feeding FFN2; None if ``x``
        is anything else. Such a producer can be re-emitted to store this layer's input
        transposed, which the 4x1 kernel does at no cost (its tile is channel-major)."""
        expr = x
        for _ in range(4):  # through the reshape and its var bindings
            if isinstance(expr, relax.Var) and expr in self._var2val:
                expr = self._var2val[expr]
            elif isinstance(expr, relax.Call) and expr.op.same_as(tvm.ir.Op.get("relax.reshape")):
                expr = expr.args[0]
            else:
                break
        if not (isinstance(expr, relax.Call) and expr.op.same_as(tvm.ir.Op.get("relax.call_tir"))):
            return None
        meta = self._kernel_meta.get(expr.args[0].name_hint)
        if meta is None:
            return None
        kernel, pm, pn, _, ep, _, _ = meta
        if kernel != "int8_4x1" or ep.out_dtype != "float32" or ep.residual or ep.transposed_out or pm != m \
                or pn != k or m % 16:
            return None
        return expr, meta

    def _reemit_producer(self, call, meta, out_dtype: str, extra_args: dict) -> relax.Expr:
        """``call`` (see :meth:`_fusable_producer`) again, storing ``Y^T[N, M]`` of ``out_dtype``
        (uint8: requantized with ``extra_args``' ``out_scale``/``out_zp``)."""
        kernel, pm, pn, pk, ep, names, arrays = meta
        ep_t = Epilogue(out_dtype, bias=ep.bias, gelu=ep.gelu, transposed_out=True)
        spec = registry.lookup(kernel)
        func = spec.build(pm, pn, pk, spec.shared_blocks(arrays), ep_t, kernel_config(kernel, pm, pn, pk, ep_t,
                                                                                      self.token_tile))
        args = dict(zip(names, call.args[1].fields, strict=True))
        decision = self._decision_of_weights.get(args["w_data"])
        if decision is not None:
            decision.schedule = "default"  # the token-major kernel's label no longer applies
        func, schedule = self._tuned_or_default(KernelUse(kernel, pm, pn, pk, ep_t, arrays), func,
                                                schedule_bsr_dense_int8_4x1, decision)
        tag = "u8t" if out_dtype == "uint8" else "f32t"
        gv = self._add_kernel(func, schedule, f"int8_4x1_{tag}_m{pm}_n{pn}_k{pk}")
        args.update(extra_args)
        params = [p.name for p in func.params][:-1]
        return relax.call_tir(gv, [args[p] for p in params], relax.TensorType((pn, pm), out_dtype))

    def _transposed_heads_shape(self, expr, matches, x_shape, n, m):
        """``[1, H, d, S]`` when ``expr`` is ``permute_dims(reshape(linear, [1, S, H, d]), [0, 2, 3, 1])``
        on batch 1 with M % 16 == 0; else None."""
        axes = [int(a) for a in expr.attrs.axes] if expr.attrs.axes is not None else None
        split = _static_shape(matches[self._split_heads])
        if axes != [0, 2, 3, 1] or m % 16 or len(x_shape) != 3 or x_shape[0] != 1:
            return None
        if split is None or len(split) != 4 or split[:2] != x_shape[:2] or split[2] * split[3] != n:
            return None
        return [1, split[2], split[3], x_shape[1]]

    def _choose_kernel(self, n: int, k: int, sparsity: float) -> tuple[str, str]:
        choice = registry.choose_linear_kernel(self.mode, self.block, n, k, sparsity, self.threshold,
                                               tvm.target.Target.current(allow_none=True))
        return choice.kernel, choice.reason

    # ------------------------------------------------------------------ IR emission
    def _tuned_or_default(self, use: KernelUse, func, schedule, decision: LayerDecision | None):
        """The tuned (PrimFunc, schedule) for this kernel use when the database has a record, else
        the defaults given; records every use for task extraction."""
        self.kernel_uses.append(use)
        if self.tuned is None or self.token_tile is not None:
            return func, schedule
        choice = self.tuned.choose(use)
        if choice is None:
            return func, schedule
        config, tuned_schedule, label = choice
        if decision is not None:
            decision.schedule = label
        spec = registry.lookup(use.kind)
        return spec.build(use.m, use.n, use.k, spec.shared_blocks(use.arrays), use.epilogue, config), tuned_schedule

    def _add_kernel(self, func: tvm.tirx.PrimFunc, schedule, name: str) -> tvm.ir.GlobalVar:
        # the kernel constructors are cached, so layers of one shape hand over the same PrimFunc
        # object: schedule and script it once (both cost more than the rest of the pass)
        seen = self._by_object.get((name, func, schedule))
        if seen is not None:
            return seen
        sch = Schedule(func)
        schedule(sch)
        # op_pattern 8 (kOpaque): FuseOps must not fuse a reshape into our scheduled kernels (FuseTIR
        # then mapped one Relax var to two buffers and failed on mixed sparse/dense static models).
        scheduled = sch.mod["main"].with_attr(SCHEDULED_ATTR, True).with_attr(RULE_ATTR, name.split("_m")[0])
        scheduled = scheduled.with_attr("op_pattern", 8)
        scheduled = scheduled.without_attr("global_symbol")
        key = hash(scheduled.script())  # same shapes + epilogue + nnz -> one PrimFunc
        gv = self._funcs.get((name, key))
        if gv is None:
            gv = self._bb.add_func(scheduled, name)
            self._funcs[(name, key)] = gv
        self._by_object[(name, func, schedule)] = gv
        return gv

    def _emit(self, kernel, w_out_in, x, m, k, n, x_shape, bias, residual, ep_flags, static_range=None):
        int8 = kernel.startswith("int8")
        ep = Epilogue("float32", bias=bias is not None, gelu=bool(ep_flags.get("gelu")),
                              residual=residual is not None, transposed_out=bool(ep_flags.get("transposed_heads")))
        func, schedule, arrays = prepare_linear(kernel, w_out_in, m, ep, self.token_tile, shared_groups=True)
        func, schedule = self._tuned_or_default(KernelUse(kernel, m, n, k, ep, arrays), func, schedule, self.report[-1])
        gv = self._add_kernel(func, schedule, f"{kernel}_m{m}_n{n}_k{k}")
        self._kernel_meta[gv.name_hint] = (kernel, m, n, k, ep, [p.name for p in func.params][:-1], arrays)
        x2d = relax.op.reshape(x, (m, k)) if len(x_shape) != 2 else x
        values: dict[str, relax.Expr] = {name: relax.const(a) for name, a in arrays.items()}
        if kernel == "int8_4x1":
            self._decision_of_weights[values["w_data"]] = self.report[-1]
        if bias is not None:
            values["bias"] = relax.const(bias.astype(np.float32))
        if residual is not None:
            values["residual"] = relax.op.reshape(residual, (m, n)) if len(x_shape) != 2 else residual
        if not int8:
            values["X"] = x2d
        else:
            producer = self._fusable_producer(x, m, k) if kernel == "int8_4x1" else None
            if static_range is not None:
                q = fmt.qparams_from_range(*static_range)
                values["x_scale"] = relax.const(np.array([q.scale], np.float32))
                values["x_zp"] = relax.const(np.array([q.zero_point], np.int32))
                if producer is not None:
                    # the producer requantizes into this layer's XT: no float round trip
                    values["XT"] = self._reemit_producer(*producer, "uint8", {
                        "out_scale": values["x_scale"], "out_zp": values["x_zp"]})
            else:
                # dynamic: the producer stores X^T (float32); its range, then a plain
                # (non-transposing) quantize gives XT: the token-major store and the
                # quantize-transpose of X (~0.1 ms per BERT-Base FFN, 1 thread) are gone
                x_in = self._reemit_producer(*producer, "float32", {}) if producer is not None else x2d
                rows, cols = (k, m) if producer is not None else (m, k)
                ln = self._layer_norm_qparams_of(x) if producer is None else None
                if ln is not None:  # our LayerNorm already measured its output's range
                    values["x_scale"], values["x_zp"] = ln
                else:
                    qp_gv = self._add_kernel(quantize.dynamic_qparams(rows, cols), _no_schedule,
                                             f"dynamic_qparams_m{rows}_k{cols}")
                    qp = relax.call_tir(qp_gv, [x_in], [relax.TensorType((1,), "float32"),
                                                        relax.TensorType((1,), "int32")])
                    values["x_scale"], values["x_zp"] = relax.TupleGetItem(qp, 0), relax.TupleGetItem(qp, 1)
                if producer is not None:
                    q_gv = self._add_kernel(quantize.quantize_u8(k, m), _no_schedule, f"quantize_u8_m{k}_k{m}")
                    values["XT"] = relax.call_tir(q_gv, [x_in, values["x_scale"], values["x_zp"]],
                                                  relax.TensorType((k, m), "uint8"))
            if kernel != "int8_4x1":
                q_gv = self._add_kernel(quantize.quantize_u8(m, k), _no_schedule, f"quantize_u8_m{m}_k{k}")
                values["X"] = relax.call_tir(q_gv, [x2d, values["x_scale"], values["x_zp"]],
                                             relax.TensorType((m, k), "uint8"))
            elif "XT" not in values:  # no producer stored it transposed
                qt_gv = self._add_kernel(quantize.quantize_transpose_u8(m, k), schedule_quantize_transpose_u8,
                                         f"quantize_transpose_u8_m{m}_k{k}")
                values["XT"] = relax.call_tir(qt_gv, [x2d, values["x_scale"], values["x_zp"]],
                                              relax.TensorType((k, quantize.padded_tokens(m)), "uint8"))
        params = [p.name for p in func.params][:-1]
        if ep.transposed_out:
            return relax.call_tir(gv, [values[p] for p in params], relax.TensorType((n, m), "float32"))
        y = relax.call_tir(gv, [values[p] for p in params], relax.TensorType((m, n), "float32"))
        return relax.op.reshape(y, [*x_shape[:-1], n]) if len(x_shape) != 2 else y


def _no_schedule(sch: Schedule) -> Schedule:
    """For kernels written already parallel and vectorized (range pass, row-major quantize)."""
    return sch


def sparsity_report_table(report: list[LayerDecision]) -> str:
    lines = [f"{'#':>3} {'N_out x K_in':>12} {'tokens':>6} {'sparsity':>8}  {'kernel':<11} {'epilogue':<18} note"]
    for d in report:
        lines.append(f"{d.index:>3} {f'{d.n_out}x{d.k_in}':>12} {d.tokens:>6} {d.sparsity:>8.3f}  {d.kernel:<11} "
                     f"{d.epilogue:<18} {d.reason}")
    return "\n".join(lines)

