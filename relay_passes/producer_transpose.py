"""``ProducerTranspose`` (INT8 mode): a Linear kernel that reads ``XT`` (the 4x1 kernel) and
whose input is the float32, token-major, residual-free output of another kernel that can store
``Y^T`` (FFN1 + GELU feeding FFN2) gets that producer re-emitted to store its input transposed:
the producer's tile is channel-major already, so ``Y^T`` costs nothing, and the token-major
stores and the quantize-transpose of the consumer's input go away.

Before (dynamic ranges)::

    h = R.call_tir(int8_4x1_mS_nF_kH, (...), R.Tensor((S, F)))          # FFN1 + GELU
    qp = R.call_tir(dynamic_qparams_mS_kF, (h,), ...)
    xt = R.call_tir(quantize_transpose_u8_mS_kF, (h, qp[0], qp[1]), ...)
    y = R.call_tir(int8_4x1_mS_nH_kF, (xt, qp[0], qp[1], ...), ...)      # FFN2

After::

    ht = R.call_tir(int8_4x1_f32t_mS_nF_kH, (...), R.Tensor((F, S)))     # stores h^T
    qp = R.call_tir(dynamic_qparams_columns_kF_mS, (ht,), ...)          # per token = column
    xt = R.call_tir(quantize_u8_columns_kF_mS, (ht, qp[0], qp[1]), ...)  # no transpose
    y = R.call_tir(int8_4x1_mS_nH_kF, (xt, qp[0], qp[1], ...), ...)

Where the producer's kernel can return its tokens' ranges with ``h^T``
(``KernelSpec.token_range_parts``: the zmm walk over 64-token tiles), the range pass reads those
parts (each task's tokens' min / max over its block rows) instead of the float ``h^T``::

    r = R.call_tir(int8_4x1_f32tr_mS_nF_kH, (...), [R.Tensor((P, S)), R.Tensor((P, S)),
                                                   R.Tensor((F, S))])   # y_min, y_max, h^T
    qp = R.call_tir(column_qparams_of_ranges_pP_mS, (r[0], r[1]), ...)   # the same bits
    xt = R.call_tir(quantize_u8_columns_kF_mS, (r[2], qp[0], qp[1]), ...)

Where the producer's kernel can requantize by its own output's range
(``KernelSpec.dynamic_requant``: the 8-lane slab walk, AVX2 and AVX-VNNI), those three calls are
one: it returns ``XT`` and its per-token parameters, the same bits, with no float ``h^T`` in
memory::

    qp_xt = R.call_tir(int8_4x1_u8dt_mS_nF_kH, (...), [R.Tensor((S,)), R.Tensor((S,)),
                                                       R.Tensor((F, S), "uint8")])
    y = R.call_tir(int8_4x1_mS_nH_kF, (qp_xt[2], qp_xt[0], qp_xt[1], ...), ...)

With static ranges the producer requantizes into the consumer's ``XT`` itself
(``int8_4x1_u8t_...``, out_scale/out_zp = the consumer's x_scale/x_zp). The layer report's
callee of the re-emitted layer follows.
"""

from __future__ import annotations

import dataclasses

import tvm
from tvm import relax
from tvm.relax.dpl import is_op, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.kernel_calls import (
    KernelAdder,
    call_args,
    const_value,
    kernel_call,
    kernel_of,
    layer_kernel_call,
    layer_report,
    linear_meta,
    through_bindings,
    with_layer_report,
)

from tvm_blocksparse import registry
from tvm_blocksparse.linear import kernel_config, threads_of_current_target
from tvm_blocksparse.op import quantize
from tvm_blocksparse.op.epilogue import Epilogue


@tvm.transform.module_pass(opt_level=0, name="ProducerTranspose")
class ProducerTranspose:
    """See the module docstring. ``token_tile``: as :class:`SparsifyLinear`'s."""

    def __init__(self, token_tile: int | None = None):
        self.token_tile = token_tile

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        bb = relax.BlockBuilder(mod)
        kernels = KernelAdder(bb, mod)
        report = layer_report(mod)
        by_weights = {d.weights: d for d in report if d.weights}
        pattern = is_op("relax.call_tir")(wildcard(), wildcard())

        for gv, func in list(mod.functions_items()):
            if not isinstance(func, relax.Function):
                continue
            var2val = relax.analysis.get_var2val(func)

            def rewrite(expr, _matches, var2val=var2val):
                consumer = kernel_call(expr, mod)
                meta = linear_meta(consumer[1]) if consumer else None
                if meta is None or registry.lookup(meta["kind"]).activation != "XT":
                    return expr
                args = call_args(*consumer)
                xt = kernel_call(through_bindings(args["XT"], var2val), mod)
                if xt is None or kernel_of(xt[1]) != "quantize_transpose_u8":
                    return expr
                producer = kernel_call(through_bindings(call_args(*xt)["X"], var2val), mod)
                pmeta = linear_meta(producer[1]) if producer else None
                m, k = meta["m"], meta["k"]
                if pmeta is None or not registry.lookup(pmeta["kind"]).stores_transposed:
                    return expr
                ep = pmeta["epilogue"]
                if (
                    ep.out_dtype != "float32"
                    or ep.residual
                    or ep.transposed_out
                    or pmeta["m"] != m
                    or pmeta["n"] != k
                    or m % 16
                ):
                    return expr
                static = isinstance(args["x_scale"], tvm.ir.expr.Constant)
                callee, params = expr.args[0], [p.name for p in consumer[1].params][:-1]
                zmm = registry.lookup(meta["kind"]).isa.vector_bits == 512
                if static:  # the producer requantizes into this layer's XT: no float round trip
                    args["XT"] = self.reemit(
                        kernels,
                        by_weights,
                        *producer,
                        pmeta,
                        "uint8",
                        {  # (the consumer's static parameters repeat one pair per token)
                            "out_scale": relax.const(const_value(args["x_scale"])[:1]),
                            "out_zp": relax.const(const_value(args["x_zp"])[:1]),
                        },
                    )
                elif (tiles_config := self.xt_tiles_config(pmeta, meta)) is not None:
                    # the producer requantizes its own X^T by each token's range: XT (in 16-token
                    # tiles, which this layer's slab walk then reads) and its parameters, one call
                    fused = self.reemit(kernels, by_weights, *producer, pmeta, "uint8", {}, True)
                    args["x_scale"], args["x_zp"], args["XT"] = (
                        relax.TupleGetItem(fused, i) for i in range(3)
                    )
                    return layer_kernel_call(
                        kernels,
                        by_weights,
                        args,
                        meta,
                        meta["epilogue"],
                        tiles_config,
                        "xtt",
                        expr.ty,
                    )
                else:
                    # the producer stores X^T (float32); its range (from the parts the producer
                    # returns with it, where it can), then a plain (non-transposing) quantize
                    # gives XT
                    parts = self.token_range_parts(pmeta)
                    if parts is None:
                        x_in = self.reemit(kernels, by_weights, *producer, pmeta, "float32", {})
                        qp_kernel, qp_args = "dynamic_qparams_columns", [x_in]
                        qp_func = quantize.dynamic_qparams_columns(k, m, zmm)
                        qp_name = f"{qp_kernel}_k{k}_m{m}"
                    else:  # (y_min, y_max, X^T)
                        ranged = self.reemit(
                            kernels, by_weights, *producer, pmeta, "float32", {}, parts=parts
                        )
                        x_in = relax.TupleGetItem(ranged, 2)
                        qp_kernel = "column_qparams_of_ranges"
                        qp_args = [relax.TupleGetItem(ranged, i) for i in (0, 1)]
                        qp_func = quantize.column_qparams_of_ranges(parts, m, zmm)
                        qp_name = f"{qp_kernel}_p{parts}_m{m}"
                    qp = relax.call_tir(
                        kernels.add(qp_func, qp_name, qp_kernel),
                        qp_args,
                        [relax.TensorType((m,), "float32"), relax.TensorType((m,), "int32")],
                    )
                    args["x_scale"], args["x_zp"] = (
                        relax.TupleGetItem(qp, 0),
                        relax.TupleGetItem(qp, 1),
                    )
                    args["XT"] = relax.call_tir(
                        kernels.add(
                            quantize.quantize_u8_columns(k, m, zmm),
                            f"quantize_u8_columns_k{k}_m{m}",
                            "quantize_u8_columns",
                        ),
                        [x_in, args["x_scale"], args["x_zp"]],
                        relax.TensorType((k, m), "uint8"),
                    )
                return relax.call_tir(callee, [args[p] for p in params], expr.ty)

            bb.update_func(gv, rewrite_call(pattern, rewrite, func))
        return with_layer_report(relax.transform.DeadCodeElimination()(bb.get()), report)

    def xt_tiles_config(self, pmeta: dict, meta: dict):
        """The consumer's default config reading ``XT`` in 16-token tiles where the producer can
        requantize by its own output's range (``KernelSpec.dynamic_requant``, 16-token tiles), or
        None: where it cannot, where its tasks, one per 16-token tile, would not split evenly
        between the target's threads, or where the consumer's walk cannot read tiles (only the
        slab walk can)."""
        if not registry.lookup(pmeta["kind"]).dynamic_requant or self.token_tile not in (None, 16):
            return None
        if (quantize.padded_tokens(meta["m"]) // 16) % threads_of_current_target():
            return None
        config = kernel_config(
            meta["kind"], meta["m"], meta["n"], meta["k"], meta["epilogue"], self.token_tile
        )
        return (
            dataclasses.replace(config, xt_tiles=True) if getattr(config, "slab", False) else None
        )

    def token_range_parts(self, pmeta: dict) -> int | None:
        """The range parts per token the producer's kernel returns with a float ``Y^T``
        (``KernelSpec.token_range_parts``, ``Epilogue.token_ranges``) at its default config,
        or None where it can't."""
        parts_of = registry.lookup(pmeta["kind"]).token_range_parts
        if parts_of is None:
            return None
        ep = pmeta["epilogue"]
        ep_r = Epilogue(
            "float32", bias=ep.bias, gelu=ep.gelu, transposed_out=True, token_ranges=True
        )
        config = kernel_config(
            pmeta["kind"], pmeta["m"], pmeta["n"], pmeta["k"], ep_r, self.token_tile
        )
        return parts_of(pmeta["n"], config)

    def reemit(
        self,
        kernels: KernelAdder,
        by_weights: dict,
        call,
        func,
        meta: dict,
        out_dtype: str,
        extra_args: dict,
        dynamic: bool = False,
        parts: int | None = None,
    ) -> relax.Expr:
        """The producer ``call`` again, storing ``Y^T[N, M]`` of ``out_dtype`` (uint8: requantized
        with ``extra_args``' ``out_scale``/``out_zp``; ``dynamic``: with each token's parameters
        from its range, returned with it, ``Y^T`` in 16-token tiles: ``(y_scale, y_zp, Y^T)``;
        ``parts`` (float32): with its tokens' ranges in that many parts, ``(y_min, y_max,
        Y^T)``)."""
        kind, m, n, k, ep = meta["kind"], meta["m"], meta["n"], meta["k"], meta["epilogue"]
        ep_t = Epilogue(
            out_dtype,
            bias=ep.bias,
            gelu=ep.gelu,
            transposed_out=True,
            dynamic_requant=dynamic,
            token_ranges=parts is not None,
        )
        config = kernel_config(kind, m, n, k, ep_t, self.token_tile)
        tag = "u8dt" if dynamic else "u8t" if out_dtype == "uint8" else "f32t"
        args = {**call_args(call, func), **extra_args}
        if dynamic:  # (y_scale, y_zp, Y^T in 16-token tiles)
            out = [
                relax.TensorType((m,), "float32"),
                relax.TensorType((m,), "int32"),
                relax.TensorType((m // 16, n, 16), out_dtype),
            ]
        elif parts is not None:  # (y_min, y_max, Y^T)
            tag = "f32tr"
            out = [
                relax.TensorType((parts, m), "float32"),
                relax.TensorType((parts, m), "float32"),
                relax.TensorType((n, m), out_dtype),
            ]
        else:
            out = relax.TensorType((n, m), out_dtype)
        return layer_kernel_call(kernels, by_weights, args, meta, ep_t, config, tag, out)
