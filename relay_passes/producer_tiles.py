"""``ProducerTiles`` (FP32 4x1 kernels): a ``fp32_4x1`` Linear kernel whose input is the float32,
residual-free output of another ``fp32_4x1`` kernel, used by nothing else (FFN1 + GELU feeding
FFN2), gets that producer re-emitted to store its output in token tiles
(:mod:`~tvm_blocksparse.op.token_tiles`: 24 tokens, then 16), the layout the consumer stages its
input into: the producer's register tile is 4 channels x one token tile already, so its
token-major transposition and the consumer's staging copy both go away.

Before::

    h = R.call_tir(fp32_4x1_mS_nF_kH, (x, ...), R.Tensor((S, F)))       # FFN1 + GELU
    y = R.call_tir(fp32_4x1_mS_nH_kF, (h, ...), R.Tensor((S, H)))       # FFN2, stages h

After (``P``: the tiles' padded token count)::

    ht = R.call_tir(fp32_4x1_tiles_mS_nF_kH, (x, ...), R.Tensor((P * F,)))
    y = R.call_tir(fp32_4x1_xtiles_mS_nH_kF, (ht, ...), R.Tensor((S, H)))

Attention's keys (batch 1, ``S % 16 == 0``): ``K^T`` as ``[1, heads, D, S]`` from token-major
``K[S, H]`` gathers one float per token; the kernel stores ``Y^T[H, S]`` instead, each
channel's tokens as its register tile holds them (``yt_rows``)::

    k = R.call_tir(fp32_4x1_mS_nH_kH, (x, ...), R.Tensor((S, H)))
    kt = R.permute_dims(R.reshape(k, [1, S, heads, D]), [0, 2, 3, 1])

becomes::

    kt = R.reshape(R.call_tir(fp32_4x1_keys_mS_nH_kH, (x, ...), R.Tensor((H, S))),
                   [1, heads, D, S])

Queries and values (batch 1): ``permute_dims(reshape(q, [1, S, heads, D]), [0, 2, 1, 3])`` of
such an output is a transposition pass; the kernel stores ``[heads, S, D]`` instead
(``Epilogue.heads_out``: each token's 4 channels are one 16-byte store either way)::

    q = R.call_tir(fp32_4x1_heads_mS_nH_kH, (x, ...), R.Tensor((heads, S, D)))
    qh = R.reshape(q, [1, heads, S, D])

The layer report's callees follow the re-emitted kernels.
"""

from __future__ import annotations

import dataclasses

import tvm
from tvm import relax
from tvm.relax.dpl import is_op, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.kernel_calls import (
    KernelAdder,
    call_args,
    kernel_call,
    layer_kernel_call,
    layer_report,
    linear_meta,
    static_shape,
    through_bindings,
    with_layer_report,
)

from tvm_blocksparse.linear import kernel_config
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.token_tiles import NARROW_TILE, TILE_LANES, TokenTiles, stage_x_tiles

#: The kernel kind that both stores its output in token tiles and reads its input from them.
TILED_KIND = "fp32_4x1"

_RESHAPE = tvm.ir.Op.get("relax.reshape")
_PERMUTE = tvm.ir.Op.get("relax.permute_dims")


@tvm.transform.module_pass(opt_level=0, name="ProducerTiles")
class ProducerTiles:
    """See the module docstring."""

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        bb = relax.BlockBuilder(mod)
        kernels = KernelAdder(bb, mod)
        report = layer_report(mod)
        by_weights = {d.weights: d for d in report if d.weights}
        pattern = is_op("relax.call_tir")(wildcard(), wildcard()) | is_op("relax.permute_dims")(
            wildcard()
        )

        for gv, func in list(mod.functions_items()):
            if not isinstance(func, relax.Function):
                continue
            var2val = relax.analysis.get_var2val(func)
            users = use_counts(func)
            readers = tiled_kind_readers(func, mod)

            def rewrite(expr, _matches, var2val=var2val, users=users, readers=readers):
                if expr.op.same_as(_PERMUTE):
                    return self.heads_from_kernel(
                        expr, kernels, by_weights, mod, var2val, users, readers
                    )
                return self.consumer_on_tiles(
                    expr, kernels, by_weights, mod, var2val, users, readers
                )

            bb.update_func(gv, rewrite_call(pattern, rewrite, func))
        return with_layer_report(relax.transform.DeadCodeElimination()(bb.get()), report)

    def consumer_on_tiles(
        self, expr, kernels, by_weights, mod, var2val, users, readers
    ) -> relax.Expr:
        """An ``fp32_4x1`` call on another one's output (FFN2 on FFN1's): both on tiles; on
        attention's heads merged into tokens (the out-projection): on tiles staged from the
        heads directly (``stage_x_tiles`` with ``head_dim``); or on an input that other
        ``fp32_4x1`` calls read too (Q, K and V on one LayerNorm's output): on tiles staged once
        (the three identical staging calls are one after ``EliminateCommonSubexpr``)."""
        consumer = kernel_call(expr, mod)
        meta = linear_meta(consumer[1]) if consumer else None
        if meta is None or meta["kind"] != TILED_KIND or meta["config"].get("x_tiles"):
            return expr
        args = call_args(*consumer)
        m, k = meta["m"], meta["k"]
        producer = tileable_producer(args["X"], mod, var2val, users)
        if producer is not None and (producer[2]["m"], producer[2]["n"]) == (m, k):
            args["X"] = self.reemit_tiled(kernels, by_weights, *producer, readers)
        elif (heads := merged_heads(args["X"], m, k, var2val, users)) is not None:
            args["X"] = shared_staging(kernels, heads, m, k, static_shape(heads)[3])
        elif readers.get(args["X"], 0) > 1:
            args["X"] = shared_staging(kernels, args["X"], m, k)
        else:
            return expr
        config = dataclasses.replace(
            kernel_config(TILED_KIND, meta["m"], meta["n"], meta["k"], meta["epilogue"]),
            x_tiles=True,
        )
        return layer_kernel_call(
            kernels, by_weights, args, meta, meta["epilogue"], config, "xtiles", expr.ty
        )

    def heads_from_kernel(
        self, expr, kernels, by_weights, mod, var2val, users, readers
    ) -> relax.Expr:
        """Attention's per-head views of an ``fp32_4x1`` output ``Y[S, H * D]`` (batch 1,
        ``Y`` used by nothing else): ``permute_dims(reshape(Y, [1, S, H, D]), axes)``.

        - ``axes [0, 2, 3, 1]`` (``K^T``) gathers ``S`` strided floats per vector; the kernel
          stores ``Y^T[H * D, S]`` instead (``yt_rows``; ``S % 16 == 0``: no padded tokens), a
          reshape of ``K^T``.
        - ``axes [0, 2, 1, 3]`` (queries, values): the kernel stores ``[H, S, D]`` itself.
        """
        axes = [int(a) for a in expr.attrs.axes] if expr.attrs.axes is not None else None
        split = var2val.get(expr.args[0]) if isinstance(expr.args[0], relax.Var) else None
        if (
            axes not in ([0, 2, 3, 1], [0, 2, 1, 3])
            or not isinstance(split, relax.Call)
            or not split.op.same_as(_RESHAPE)
        ):
            return expr
        shape = static_shape(split)
        producer = tileable_producer(expr.args[0], mod, var2val, users)
        if producer is None or shape is None or len(shape) != 4:
            return expr
        batch, s, heads, d = shape
        meta = producer[2]
        if batch != 1 or s != meta["m"] or heads * d != meta["n"]:
            return expr
        if axes == [0, 2, 1, 3]:
            if d % 4:
                return expr
            ep_h = producer_epilogue(meta["epilogue"], heads_out=heads)
            out = relax.TensorType((heads, s, d), "float32")
            q = self.reemit(kernels, by_weights, *producer, readers, ep_h, out, "heads")
            return relax.op.reshape(q, [1, heads, s, d])
        if s % NARROW_TILE:
            return expr
        ep_t = producer_epilogue(meta["epilogue"], transposed_out=True)
        out = relax.TensorType((meta["n"], s), "float32")
        kt = self.reemit(kernels, by_weights, *producer, readers, ep_t, out, "keys", yt_rows=True)
        return relax.op.reshape(kt, [1, heads, d, s])

    @classmethod
    def reemit_tiled(
        cls, kernels: KernelAdder, by_weights: dict, call, func, meta: dict, readers: dict
    ) -> relax.Expr:
        """The producer ``call`` again, storing ``Y`` in token tiles ``f32[padded * N]``
        (:class:`~tvm_blocksparse.op.token_tiles.TokenTiles`)."""
        m, n = meta["m"], meta["n"]
        ep_t = producer_epilogue(meta["epilogue"], transposed_out=True)
        out = relax.TensorType((TokenTiles(m).padded * n,), "float32")
        return cls.reemit(kernels, by_weights, call, func, meta, readers, ep_t, out, "tiles")

    @staticmethod
    def reemit(
        kernels: KernelAdder,
        by_weights: dict,
        call,
        func,
        meta: dict,
        readers: dict,
        ep: Epilogue,
        out: relax.TensorType,
        tag: str,
        yt_rows: bool = False,
    ) -> relax.Expr:
        """The producer ``call`` again with epilogue ``ep`` (its output ``out``; ``yt_rows``:
        ``Y^T[N, M]``), reading the shared staging of its input where other kernels read it
        too."""
        m, n, k = meta["m"], meta["n"], meta["k"]
        config = dataclasses.replace(kernel_config(TILED_KIND, m, n, k, ep), yt_rows=yt_rows)
        args = call_args(call, func)
        if readers.get(args["X"], 0) > 1:
            args["X"] = shared_staging(kernels, args["X"], m, k)
            config = dataclasses.replace(config, x_tiles=True)
        return layer_kernel_call(kernels, by_weights, args, meta, ep, config, tag, out)


def producer_epilogue(ep: Epilogue, **layout) -> Epilogue:
    """A tileable producer's per-channel epilogue (float32, bias, GELU) with its output stored in
    another ``layout`` (``transposed_out`` or ``heads_out``)."""
    return Epilogue("float32", bias=ep.bias, gelu=ep.gelu, **layout)


def tiled_kind_call(expr, mod: tvm.IRModule, var2val: dict):
    """``(call, PrimFunc, linear meta)`` of the ``fp32_4x1`` call that ``expr`` is (through
    bindings and reshapes) when its epilogue has no residual (its last step is per channel: it
    can store another layout); else None."""
    producer = kernel_call(through_bindings(expr, var2val), mod)
    meta = linear_meta(producer[1]) if producer else None
    if meta is None or meta["kind"] != TILED_KIND or meta["epilogue"].residual:
        return None
    return (*producer, meta)


def tileable_producer(expr, mod: tvm.IRModule, var2val: dict, users: dict):
    """:func:`tiled_kind_call` of ``expr`` when it stores the plain ``Y[M, N]`` (float32) and
    ``expr`` is its only use: it can store tiles instead; else None."""
    found = tiled_kind_call(expr, mod, var2val)
    if found is None:
        return None
    ep = found[2]["epilogue"]
    if ep.transposed_out or ep.heads_out or not sole_use(expr, var2val, users):
        return None
    return found


def shared_staging(
    kernels: KernelAdder, x: relax.Expr, m: int, k: int, head_dim: int = 0
) -> relax.Expr:
    """``X f32[M, K]`` staged into token tiles ``f32[padded * K]`` by a call of its own (one per
    input once ``EliminateCommonSubexpr`` merged the identical ones); ``head_dim``: ``x`` is
    attention's output ``f32[1, K / D, M, D]``."""
    name = f"stage_heads_tiles_m{m}_k{k}" if head_dim else f"stage_x_tiles_m{m}_k{k}"
    stage = kernels.add(stage_x_tiles(m, k, head_dim), name, "stage_x_tiles")
    out = relax.TensorType((TokenTiles(m).padded * k,), "float32")
    return relax.call_tir(stage, [x], out)


def merged_heads(x, m: int, k: int, var2val: dict, users: dict):
    """``O f32[1, H, S, D]`` when ``x`` (a kernel's ``X f32[S, H * D]``) is attention's output
    merged into tokens, ``reshape(permute_dims(O, [0, 2, 1, 3]), [S, H * D])`` (through bindings
    and reshapes), used by nothing else, with ``D % 8 == 0``; else None."""
    merged = through_bindings(x, var2val)
    if not (
        isinstance(merged, relax.Call)
        and merged.op.same_as(_PERMUTE)
        and merged.attrs.axes is not None
        and [int(a) for a in merged.attrs.axes] == [0, 2, 1, 3]
        and sole_use(x, var2val, users)
    ):
        return None
    shape = static_shape(merged.args[0])
    if shape is None or len(shape) != 4:
        return None
    batch, heads, s, d = shape
    return merged.args[0] if (batch, s, heads * d) == (1, m, k) and d % TILE_LANES == 0 else None


def tiled_kind_readers(func: relax.Function, mod: tvm.IRModule) -> dict:
    """How many ``fp32_4x1`` calls of ``func`` take each var as their ``X``."""
    counts: dict = {}
    for block in func.body.blocks:
        for binding in block.bindings:
            call = kernel_call(binding.value, mod)
            meta = linear_meta(call[1]) if call else None
            if meta is not None and meta["kind"] == TILED_KIND:
                x = call_args(*call)["X"]
                counts[x] = counts.get(x, 0) + 1
    return counts


def use_counts(func: relax.Function) -> dict:
    """How many bindings (and the function's result) use each var of ``func``."""
    counts: dict = {}
    values = [b.value for block in func.body.blocks for b in block.bindings] + [func.body.body]
    for value in values:
        for v in relax.analysis.free_vars(value):
            counts[v] = counts.get(v, 0) + 1
    return counts


def sole_use(expr, var2val: dict, users: dict, steps: int = 6) -> bool:
    """Whether ``expr`` (a kernel's argument) and every var it is reshaped from, back to the
    call that made it, have one use each: re-emitting that call for this use alone computes
    nothing twice."""
    for _ in range(steps):
        if isinstance(expr, relax.Var):
            if users.get(expr, 0) > 1 or expr not in var2val:
                return False
            expr = var2val[expr]
        elif isinstance(expr, relax.Call) and expr.op.same_as(_RESHAPE):
            expr = expr.args[0]
        else:
            return True
    return False
