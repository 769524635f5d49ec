"""``FuseAttentionF32`` (FP32 mode, after
:class:`~tvm_blocksparse.relay_passes.producer_tiles.ProducerTiles`): self-attention whose Q, K
and V come from FP32 4x1 kernels -> one call of
:func:`tvm_blocksparse.op.attention_f32.attention_f32_tiles`, which writes the out-projection's
token tiles itself.

Matches, per layer (batch 1; ``qh``, ``kt``, ``vh``: reshapes of ``fp32_4x1`` calls, as
ProducerTiles leaves them)::

    qh = reshape(fp32_4x1_heads(x, Wq), [1, H, S, d])     # [H, S, d] stored by the kernel
    kt = reshape(fp32_4x1_keys(x, Wk), [1, H, d, S])      # Y^T[H*d, S] stored by the kernel
    vh = reshape(fp32_4x1_heads(x, Wv), [1, H, S, d])
    p = softmax(matmul(qh, kt) * c + mask, axis=-1)       # or / c; mask + (...); SDPA's
                                                          # prescaled Q and K^T; its NaN guard
    tiles = stage_heads_tiles(matmul(p, vh))              # the out-projection's input

and rewrites ``tiles`` into ``attention_f32_tiles(QT, Kh, Vh, mask)``, the Q kernel re-emitted
to store ``Q^T[H*d, S]`` and the K kernel to store ``[H, S, d]`` (the kernel computes ``O^T``
with tokens in lanes; the dynamo exporter's K, transposed per head from ``[H, S, d]``, is taken
as it is). The mask goes in as ``f32[S]`` when it is the same for every query, else as its
``[query, key]`` matrix transposed. Attention it cannot take (batch > 1, ``S % 16``, a mask
that differs between heads, Q/K/V from other ops, Q or K read elsewhere) stays: TVM's matmuls
and our softmax. How many layers it fused is recorded on the module (``fp32_fused`` of
:func:`~tvm_blocksparse.relay_passes.kernel_calls.attention_summary`).
"""

from __future__ import annotations

import dataclasses
import json

import tvm
from tvm import relax
from tvm.relax.dpl import is_op, is_tuple, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.fuse_attention import SoftmaxAttention, mask_floored
from tvm_blocksparse.relay_passes.kernel_calls import (
    ATTENTION_ATTR,
    ENTRY,
    NAME_ATTR,
    KernelAdder,
    attention_summary,
    call_args,
    kernel_call,
    layer_kernel_call,
    layer_report,
    static_shape,
    through_bindings,
    with_layer_report,
)
from tvm_blocksparse.relay_passes.producer_tiles import (
    TILED_KIND,
    producer_epilogue,
    sole_use,
    tiled_kind_call,
    use_counts,
)

from tvm_blocksparse.linear import kernel_config
from tvm_blocksparse.op.attention_f32 import attention_f32_tiles
from tvm_blocksparse.op.token_tiles import NARROW_TILE

_STAGE_HEADS = "stage_heads_tiles"
_PERMUTE = tvm.ir.Op.get("relax.permute_dims")


class _Bindings:
    """One function's bindings: values by var, uses by var, and vars by value (the pattern
    matcher hands over bound values, not their vars)."""

    def __init__(self, func: relax.Function):
        self.var2val = relax.analysis.get_var2val(func)
        self.users = use_counts(func)
        self.val2var = {value: var for var, value in self.var2val.items()}

    def sole_use(self, expr) -> bool:
        """Whether ``expr`` (its var, if it is bound) and what it reshapes, back to the call
        that made it, have one use each."""
        return sole_use(self.val2var.get(expr, expr), self.var2val, self.users)


@tvm.transform.module_pass(opt_level=0, name="FuseAttentionF32")
class FuseAttentionF32:
    """See the module docstring."""

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        return _Fuse(mod).run()


class _Fuse:
    """One application of :class:`FuseAttentionF32` (its working state)."""

    def __init__(self, mod: tvm.IRModule):
        self.mod = mod
        self.bb = relax.BlockBuilder(mod)
        self.kernels = KernelAdder(self.bb, mod)
        self.report = layer_report(mod)
        self.by_weights = {d.weights: d for d in self.report if d.weights}
        self.fused = 0

    def run(self) -> tvm.IRModule:
        self.q, self.kt, self.v = wildcard(), wildcard(), wildcard()
        self.att = SoftmaxAttention(self.q, self.kt, self.v)
        context = self.att.context
        staged = context | is_op("relax.reshape")(context, wildcard())
        pattern = is_op("relax.call_tir")(wildcard(), is_tuple([staged]))
        for gv, func in list(self.mod.functions_items()):
            if isinstance(func, relax.Function):

                def rewrite(expr, m, bindings=_Bindings(func)):
                    return self._rewrite(expr, m, bindings)

                self.bb.update_func(gv, rewrite_call(pattern, rewrite, func))
        mod = relax.transform.DeadCodeElimination()(self.bb.get())
        mod = with_layer_report(mod, self.report)
        if self.fused:
            summary = {**attention_summary(mod), "fp32_fused": self.fused}
            mod[ENTRY] = mod[ENTRY].with_attr(ATTENTION_ATTR, json.dumps(summary))
        return mod

    def _rewrite(self, expr, m, bindings: _Bindings):
        stage = kernel_call(expr, self.mod)
        if stage is None or not str(stage[1].attrs.get(NAME_ATTR, "")).startswith(_STAGE_HEADS):
            return expr
        shape = static_shape(m[self.q])
        if shape is None or len(shape) != 4 or static_shape(m[self.v]) != shape:
            return expr
        batch, heads, s, d = shape
        n = heads * d
        q = self._producer(m[self.q], bindings, reemitted=True)
        v = self._producer(m[self.v], bindings, reemitted=False)
        kh = self._keys_by_head(m[self.kt], bindings, heads, s, d)
        if (
            q is None
            or v is None
            or kh is None
            or batch != 1
            or s % NARROW_TILE
            or static_shape(m[self.kt]) != [1, heads, d, s]
            or q[2]["epilogue"].heads_out != heads
            or v[2]["epilogue"].heads_out != heads
            or not self.att.over_keys(m)
            or not self.att.scale_is_finite_nonzero(m)
            or not self.att.nan_rows_zeroed(m)
        ):
            return expr
        mask = self._mask(m[self.att.mask], s)
        if mask is None:
            return expr
        qt = self._reemit(*q, "keys", relax.TensorType((n, s), "float32"))
        if not isinstance(kh, relax.Expr):
            kh = self._reemit(*kh, "heads", relax.TensorType((heads, s, d), "float32"))
        gv = self.kernels.add(
            attention_f32_tiles(s, heads, d, self.att.scale(m), key_mask=mask[1]),
            f"attention_f32_s{s}_h{heads}_d{d}" + ("" if mask[1] else "_maskt"),
            "attention_f32",
        )
        self.fused += 1
        vh = relax.op.reshape(m[self.v], [heads, s, d])
        return relax.call_tir(gv, [qt, kh, vh, mask[0]], expr.ty)

    def _producer(self, view, bindings: _Bindings, reemitted: bool):
        """``(call, PrimFunc, linear meta)`` of the ``fp32_4x1`` call whose output ``view``
        reshapes (float32, no residual), else None; ``reemitted``: the call is to be emitted
        again in another layout, so nothing else may read its output (it would run twice)."""
        found = tiled_kind_call(view, self.mod, bindings.var2val)
        if found is None or (reemitted and not bindings.sole_use(view)):
            return None
        return found

    def _keys_by_head(self, kt, bindings: _Bindings, heads: int, s: int, d: int):
        """K as ``[H, S, d]``: the producer of ``kt`` (``K^T`` rows, ``yt_rows``) to re-emit, or
        already that tensor when ``kt`` transposes a head-major K per head (the dynamo exporter's
        ``[H, S, d] -> [H, d, S]``); else None."""
        keys = self._producer(kt, bindings, reemitted=True)
        if keys is not None:
            ep = keys[2]["epilogue"]
            return keys if ep.transposed_out and keys[2]["config"].get("yt_rows") else None
        per_head = through_bindings(kt, bindings.var2val)
        if not (
            isinstance(per_head, relax.Call)
            and per_head.op.same_as(_PERMUTE)
            and per_head.attrs.axes is not None
            and [int(a) for a in per_head.attrs.axes] in ([0, 2, 1], [0, 1, 3, 2])
        ):
            return None
        inner = per_head.args[0]
        found = self._producer(inner, bindings, reemitted=False)
        if found is None or found[2]["epilogue"].heads_out != heads:
            return None
        return relax.op.reshape(inner, [heads, s, d])

    def _reemit(self, call, func, meta, tag, out):
        """The projection ``call`` again, storing ``Q^T[N, S]`` (``out`` 2-D) or ``[H, S, d]``."""
        heads_major = len(out.shape) == 3
        ep = producer_epilogue(
            meta["epilogue"],
            **({"heads_out": int(out.shape[0])} if heads_major else {"transposed_out": True}),
        )
        config = dataclasses.replace(
            kernel_config(TILED_KIND, meta["m"], meta["n"], meta["k"], ep),
            yt_rows=not heads_major,
            x_tiles=bool(meta["config"].get("x_tiles")),
        )
        return layer_kernel_call(
            self.kernels, self.by_weights, call_args(call, func), meta, ep, config, tag, out
        )

    @staticmethod
    def _mask(mask, s: int):
        """``(mask for the kernel, key_mask)``: ``f32[S]`` when ``mask`` is the same for every
        query (broadcasts from ``[1, 1, 1, S]``), else its ``[query, key]`` matrix transposed,
        ``f32[S, S]``, when it is the same for every head; None when it is not float32 or
        differs between heads. ``-inf`` is raised to the lowest float (:func:`mask_floored`)."""
        shape = static_shape(mask)
        if getattr(mask.ty, "dtype", None) != "float32" or shape is None or len(shape) > 4:
            return None
        dims = ([1] * (4 - len(shape)) + shape)[::-1]  # key, query, head, batch
        if dims[0] not in (1, s) or dims[1] not in (1, s) or dims[2:] != [1, 1]:
            return None
        if dims[1] == 1:
            flat = relax.op.reshape(relax.op.broadcast_to(mask, [1, 1, 1, s]), [s])
            return mask_floored(flat), True
        square = relax.op.reshape(relax.op.broadcast_to(mask, [1, 1, s, s]), [s, s])
        return mask_floored(relax.op.permute_dims(square, [1, 0])), False
