"""``SparsifyLinear``: constant-weight Linear layers of an imported BERT -> calls of our kernels
(unscheduled, tagged; the schedule phase schedules them).

Input: a Relax module from :func:`tvm_blocksparse.onnx_import.import_onnx` (weights are
constants; ONNX Linear = ``matmul(x[..., K], W[K_in, N_out]) (+ bias)``). For every
``matmul(x, W_const)`` with a static 2-D float32 ``W`` the pass measures the block sparsity of
``W^T = W[N_out, K_in]`` for the chosen block, asks the registry which kernel the layer gets
(:func:`tvm_blocksparse.registry.choose_linear_kernel`) and rewrites the matmul, with what
follows it, into one call:

- epilogues fused into the kernel: ``+ bias``, GELU (the erf orderings exporters write),
  ``+ residual``, and attention's ``K^T`` (``permute_dims(reshape(K, [1, S, H, d]), [0, 2, 3, 1])``)
  where the kernel stores ``Y^T``;
- INT8: activations quantized per token at run time (``dynamic_qparams``, or the qparams of the
  :class:`~tvm_blocksparse.relay_passes.layer_norm_qparams.LayerNormQParams` producing them) or
  per tensor with calibrated ranges (``static_ranges``), then quantize-transposed (``XT``
  kernels) or quantized; weights per output channel (symmetric s8), dequantized in the epilogue.

Before::

    lv = R.matmul(x, W)            # x: [1, S, K], W: const [K, N]
    lv1 = R.add(lv, b)
    lv2 = R.add(lv1, residual)

After (INT8, dynamic ranges, a 4x1-sparse W)::

    x2d = R.reshape(x, (S, K))
    qp = R.call_tir(dynamic_qparams_mS_kK, (x2d,), ...)
    xt = R.call_tir(quantize_transpose_u8_mS_kK, (x2d, qp[0], qp[1]), ...)
    y = R.call_tir(int8_4x1_mS_nN_kK, (xt, qp[0], qp[1], w_data, ..., b, residual2d), ...)
    lv2 = R.reshape(y, (1, S, N))

Layers it can't take (non-constant weight, another dtype, shapes no kernel tiles) stay; every
decision is recorded in the module
(:func:`~tvm_blocksparse.relay_passes.kernel_calls.layer_report`).
"""

from __future__ import annotations

import math

import numpy as np
import tvm
from tvm import relax
from tvm.relax.dpl import is_const, is_op, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.kernel_calls import (
    KernelAdder,
    LayerDecision,
    const_value,
    encode_linear_meta,
    kernel_call,
    kernel_of,
    static_shape,
    through_bindings,
    weights_id,
    with_layer_report,
)

from tvm_blocksparse import format as fmt
from tvm_blocksparse import registry
from tvm_blocksparse.linear import kernel_config
from tvm_blocksparse.onnx_import import weight_key, weight_sample_key
from tvm_blocksparse.op import quantize
from tvm_blocksparse.op.epilogue import Epilogue

MODES = ("int8", "fp32")


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
        self.pattern = (
            mul(mul(y, one_plus_erf), self.c_half)
            | mul(mul(y, self.c_half), one_plus_erf)
            | mul(y, mul(self.c_half, one_plus_erf))
        )

    def constants_ok(self, matches) -> bool:
        def close(p, want):
            v = const_value(matches[p])
            return (
                v is not None
                and v.size == 1
                and abs(float(v.reshape(())) - want) <= 1e-6 * max(1.0, abs(want))
            )

        arg_ok = (
            close(self.c_arg, math.sqrt(2.0))
            if self.div in matches
            else close(self.c_arg, 1 / math.sqrt(2.0))
        )
        return arg_ok and close(self.c_one, 1.0) and close(self.c_half, 0.5)


def measured_block_sparsity(w_out_in: np.ndarray, block: str) -> float | None:
    """``block`` sparsity of ``W[N_out, K_in]``, or None when the block does not tile it."""
    return fmt.block_sparsity(w_out_in, block) if fmt.block_tiles(w_out_in.shape, block) else None


def check_options(mode: str, block: str, threshold: float) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if block not in registry.sparse_blocks(mode):
        raise ValueError(
            f"block {block!r} has no {mode} kernel; choose one of {registry.sparse_blocks(mode)} "
            "(orientation: (out x in) of W[N_out, K_in])"
        )
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")


@tvm.transform.module_pass(opt_level=0, name="SparsifyLinear")
class SparsifyLinear:
    """See the module docstring. ``static_ranges``: ``{weight_key(W[K_in, N_out]): (min, max)}``
    of layer inputs from calibration (layers without an entry quantize at run time);
    ``token_tile``: impose one register-tile token count on every kernel (tests, experiments)."""

    def __init__(
        self,
        mode: str = "int8",
        block: str = "4x1",
        threshold: float = fmt.DEFAULT_SPARSITY_THRESHOLD,
        token_tile: int | None = None,
        static_ranges: dict[str, tuple[float, float]] | None = None,
    ):
        check_options(mode, block, threshold)
        self.mode, self.block, self.threshold, self.token_tile = mode, block, threshold, token_tile
        self.static_ranges = static_ranges or {}

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        return _Rewrite(self, mod).run()


class _Rewrite:
    """One application of :class:`SparsifyLinear` to one module (its working state)."""

    def __init__(self, options: SparsifyLinear, mod: tvm.IRModule):
        self.o, self.mod = options, mod
        self.bb = relax.BlockBuilder(mod)
        self.kernels = KernelAdder(self.bb, mod)
        self.target = tvm.target.Target.current(allow_none=True)
        self.report: list[LayerDecision] = []
        self.left_alone: dict = {}  # weight constant -> its "left to TVM" decision

    def run(self) -> tvm.IRModule:
        x, w, b, r = wildcard(), is_const(), is_const(), wildcard()
        mm = is_op("relax.matmul")(x, w)
        biased = is_op("relax.add")(mm, b) | is_op("relax.add")(b, mm)
        self.split_heads = is_op("relax.reshape")(biased, wildcard())
        self.gelu = _GeluPattern(biased)
        # Longest chains first: a rewritten chain no longer contains a matmul.
        patterns = [
            # attention's K^T: reshape to [1, S, H, d], permute to [1, H, d, S]
            (is_op("relax.permute_dims")(self.split_heads), dict(bias=True, transposed_heads=True)),
            (self.gelu.pattern, dict(bias=True, gelu=True)),
            (
                is_op("relax.add")(biased, r) | is_op("relax.add")(r, biased),
                dict(bias=True, residual=True),
            ),
            (biased, dict(bias=True)),
            (mm, {}),
        ]
        for gv, func in list(self.mod.functions_items()):
            if not isinstance(func, relax.Function):
                continue
            for pattern, ep in patterns:
                self.var2val = relax.analysis.get_var2val(func)
                func = rewrite_call(
                    pattern, lambda expr, m, ep=ep: self.rewrite(expr, m, x, w, b, r, ep), func
                )
            self.bb.update_func(gv, func)
        return with_layer_report(relax.transform.DeadCodeElimination()(self.bb.get()), self.report)

    # ------------------------------------------------------------------ one layer
    def rewrite(self, expr, matches, x_pat, w_pat, b_pat, r_pat, ep_flags):
        x, w_const = matches[x_pat], matches[w_pat]
        weight = const_value(w_const)
        x_shape = static_shape(x)
        if ep_flags.get("gelu") and not self.gelu.constants_ok(matches):
            return expr  # same shape as GELU, other constants: leave it to the plain patterns
        if (
            weight is None
            or weight.ndim != 2
            or weight.dtype != np.float32
            or x_shape is None
            or x_shape[-1] != weight.shape[0]
        ):
            return expr  # not a Linear we handle (non-2-D / non-float32 weight, dynamic shape)
        k, n = weight.shape
        m = int(np.prod(x_shape[:-1]))
        heads = (
            self.transposed_heads_shape(expr, matches, x_shape, n, m)
            if ep_flags.get("transposed_heads")
            else None
        )
        if ep_flags.get("transposed_heads") and heads is None:
            return expr  # not K^T-shaped (Q and V also match): the plain patterns take it
        w_out_in = np.ascontiguousarray(weight.T)
        sparsity = fmt.block_sparsity(w_out_in, self.o.block)
        ep_name = (
            "+".join(
                ["bias"] * ep_flags.get("bias", False)
                + ["gelu"] * ep_flags.get("gelu", False)
                + ["residual"] * ep_flags.get("residual", False)
            )
            or "none"
        )
        choice = registry.choose_linear_kernel(
            self.o.mode,
            self.o.block,
            n,
            k,
            sparsity,
            self.o.threshold,
            self.target,
            sparsity_of=lambda b: measured_block_sparsity(w_out_in, b),
            m=m,
        )
        if choice.block_sparsity is not None:
            sparsity = choice.block_sparsity
        if heads is not None:
            if choice.spec is None or not choice.spec.stores_transposed:
                return expr  # only a kernel that stores Y^T gives K^T: the plain patterns take it
            ep_name += "+transposed_out"
        decision = LayerDecision(
            len(self.report),
            n,
            k,
            m,
            sparsity,
            choice.kernel,
            ep_name,
            choice.reason,
            source=weight_sample_key(weight),
        )
        if choice.spec is None:
            return self.leave_alone(expr, w_const, decision)
        bias = const_value(matches[b_pat]) if ep_flags.get("bias") else None
        if bias is not None and bias.size != n:
            decision.kernel, decision.reason = (
                "unchanged",
                f"bias of {bias.size} values for {n} outputs",
            )
            return self.leave_alone(expr, w_const, decision)
        residual = matches[r_pat] if ep_flags.get("residual") else None
        if residual is not None and (static_shape(residual) != [*x_shape[:-1], n]):
            decision.kernel, decision.reason = "unchanged", "residual shape differs from the output"
            return self.leave_alone(expr, w_const, decision)
        # (hashing every weight is skipped when there is no calibration)
        static = (
            self.o.static_ranges.get(weight_key(weight))
            if choice.spec.int8 and self.o.static_ranges
            else None
        )
        if static is not None:
            decision.epilogue += " (static quant)"
        earlier = self.left_alone.pop(w_const, None)
        if earlier is not None:  # an outer pattern left it; this shorter one takes it
            self.report.remove(earlier)
        self.report.append(decision)
        out = self.emit(
            choice.spec, w_out_in, x, m, k, n, x_shape, bias, residual, ep_flags, static, decision
        )
        if heads is not None:
            return relax.op.reshape(out, heads)  # Y^T[N = H*d, S] is [1, H, d, S] row-major
        return out

    def leave_alone(self, expr, w_const, decision: LayerDecision):
        """Report a Linear left to TVM once, though every shorter pattern matches it again."""
        if w_const not in self.left_alone:
            self.left_alone[w_const] = decision
            self.report.append(decision)
        return expr

    def transposed_heads_shape(self, expr, matches, x_shape, n, m):
        """``[1, H, d, S]`` when ``expr`` is ``permute_dims(reshape(linear, [1, S, H, d]), [0, 2, 3,
        1])``
        on batch 1 with M % 16 == 0; else None."""
        axes = [int(a) for a in expr.attrs.axes] if expr.attrs.axes is not None else None
        split = static_shape(matches[self.split_heads])
        if axes != [0, 2, 3, 1] or m % 16 or len(x_shape) != 3 or x_shape[0] != 1:
            return None
        if split is None or len(split) != 4 or split[:2] != x_shape[:2] or split[2] * split[3] != n:
            return None
        return [1, split[2], split[3], x_shape[1]]

    def layer_norm_qparams_of(self, x):
        """``(x_scale, x_zp)`` when ``x`` is (through reshapes and bindings) the output of our
        ``layer_norm_qparams``; else None."""
        expr = through_bindings(x, self.var2val)
        if not (isinstance(expr, relax.TupleGetItem) and expr.index == 0):
            return None
        found = kernel_call(self.var2val.get(expr.tuple_value, expr.tuple_value), self.mod)
        if found is None or kernel_of(found[1]) != "layer_norm_qparams":
            return None
        return relax.TupleGetItem(expr.tuple_value, 1), relax.TupleGetItem(expr.tuple_value, 2)

    # ------------------------------------------------------------------ IR emission
    def emit(
        self, spec, w_out_in, x, m, k, n, x_shape, bias, residual, ep_flags, static_range, decision
    ):
        ep = Epilogue(
            "float32",
            bias=bias is not None,
            gelu=bool(ep_flags.get("gelu")),
            residual=residual is not None,
            transposed_out=bool(ep_flags.get("transposed_heads")),
        )
        wq = spec.quantized_weight(w_out_in) if spec.int8 else None
        arrays = spec.prepare_weight(w_out_in if wq is None else wq, m)
        decision.weight_qmax = 0 if wq is None else wq.qmax
        decision.weight_split_rows = 0 if wq is None else wq.split_rows
        blocks = spec.shared_blocks(arrays)
        config = kernel_config(spec.kind, m, n, k, ep, self.o.token_tile)
        func = spec.build(m, n, k, blocks, ep, config)
        gv = self.kernels.add(
            func,
            f"{spec.kind}_m{m}_n{n}_k{k}",
            spec.kind,
            encode_linear_meta(spec.kind, m, n, k, blocks, ep, config),
        )
        decision.callee, decision.weights = gv.name_hint, weights_id(arrays["w_data"])
        x2d = relax.op.reshape(x, (m, k)) if len(x_shape) != 2 else x
        values: dict[str, relax.Expr] = {name: relax.const(a) for name, a in arrays.items()}
        if bias is not None:
            values["bias"] = relax.const(bias.astype(np.float32))
        if residual is not None:
            values["residual"] = (
                relax.op.reshape(residual, (m, n)) if len(x_shape) != 2 else residual
            )
        zmm = spec.isa.vector_bits == 512  # quantize with AVX-512 conversions, or plain vector ops
        if not spec.int8:
            values["X"] = x2d
        else:
            if static_range is not None:
                scale, zp = fmt.qparams_arrays(
                    fmt.qparams_from_range(*static_range), quantize.padded_tokens(m)
                )
                values["x_scale"], values["x_zp"] = relax.const(scale), relax.const(zp)
            else:
                ln = self.layer_norm_qparams_of(x)
                if ln is not None:  # our LayerNorm already measured its output's range
                    values["x_scale"], values["x_zp"] = ln
                else:
                    qp = self.call_op(
                        quantize.dynamic_qparams(m, k, zmm),
                        f"dynamic_qparams_m{m}_k{k}",
                        "dynamic_qparams",
                        [x2d],
                        [
                            ((quantize.padded_tokens(m),), "float32"),
                            ((quantize.padded_tokens(m),), "int32"),
                        ],
                    )
                    values["x_scale"], values["x_zp"] = (
                        relax.TupleGetItem(qp, 0),
                        relax.TupleGetItem(qp, 1),
                    )
            if spec.activation == "XT":
                values["XT"] = self.call_op(
                    quantize.quantize_transpose_u8(m, k, zmm),
                    f"quantize_transpose_u8_m{m}_k{k}",
                    "quantize_transpose_u8",
                    [x2d, values["x_scale"], values["x_zp"]],
                    ((k, quantize.padded_tokens(m)), "uint8"),
                )
            else:
                values["X"] = self.call_op(
                    quantize.quantize_u8(m, k, zmm),
                    f"quantize_u8_m{m}_k{k}",
                    "quantize_u8",
                    [x2d, values["x_scale"], values["x_zp"]],
                    ((m, k), "uint8"),
                )
        params = [p.name for p in func.params][:-1]
        if ep.transposed_out:
            return relax.call_tir(
                gv, [values[p] for p in params], relax.TensorType((n, m), "float32")
            )
        y = relax.call_tir(gv, [values[p] for p in params], relax.TensorType((m, n), "float32"))
        return relax.op.reshape(y, [*x_shape[:-1], n]) if len(x_shape) != 2 else y

    def call_op(self, func, name: str, kernel: str, args: list, out):
        """``call_tir`` of one of our (non-Linear) ops; ``out`` one (shape, dtype) or a list."""
        gv = self.kernels.add(func, name, kernel)
        ty = (
            [relax.TensorType(s, d) for s, d in out]
            if isinstance(out, list)
            else relax.TensorType(*out)
        )
        return relax.call_tir(gv, args, ty)
