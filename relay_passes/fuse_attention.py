"""``FuseAttention`` (INT8 mode): self-attention of an imported BERT -> one call of
:func:`tvm_blocksparse.op.attention.attention_int8`.

Matches, per layer (batch 1, after
:class:`~tvm_blocksparse.relay_passes.sparsify_linear.SparsifyLinear`
made the K projection store ``K^T``)::

    q = permute_dims(reshape(Q, [1, S, H, d]), [0, 2, 1, 3])
    k = reshape(KT[H*d, S], [1, H, d, S])  # or permute_dims(reshape(K, [1, S, H, d]), [0, 2, 3, 1])
    p = softmax(matmul(q, k) * c + mask, axis=-1)          # or / c; mask + (...)
    v = permute_dims(reshape(V, [1, S, H, d]), [0, 2, 1, 3])
    o = permute_dims(matmul(p, v), [0, 2, 1, 3])            # [1, S, H, d]

and rewrites ``o`` into ``reshape(attention_int8(Q2d, KT, V2d, mask2d), [1, S, H, d])``. When the K
projection did not store ``K^T`` (a dense or FP32 layer, not our 4x1 kernel), ``K^T`` is a plain
``[S, H*d] -> [H*d, S]`` transpose in front of the kernel. Anything
else (another scale form, a non-float32 or non-broadcastable mask, batch > 1, S or d not a
multiple of 16, K^T not 2-D) stays as it was: FP32 attention through TVM.

On a target with AVX-512 VNNI the kernel runs on zmm (``vpdpbusd``); with AVX-VNNI, on ymm with
the VEX ``vpdpbusd`` (name suffix ``_ymm_vnni``; the same ranges and bits as zmm); with AVX2 only,
on ymm with Q, K, V and the probabilities in 7 bits (``vpmaddubsw``, two steps per ``vpmaddwd``;
suffix ``_ymm``). On a target
with AMX INT8 (:data:`tvm_blocksparse.isa.AMX_INT8`; the host target has it
on a CPU that does) and shapes :func:`~tvm_blocksparse.op.attention.amx_supported` tiles, the kernel
also carries its AMX path (name suffix ``_amx``), taken when Linux grants the tiles at run time.
How many layers it fused and why others stay FP32 is recorded on the module
(:func:`~tvm_blocksparse.relay_passes.kernel_calls.attention_summary`).
"""

from __future__ import annotations

import json

import numpy as np
import tvm
from tvm import relax
from tvm.relax.dpl import is_const, is_op, rewrite_call, wildcard
from tvm_blocksparse.relay_passes.kernel_calls import (
    ATTENTION_ATTR,
    ENTRY,
    KernelAdder,
    static_shape,
)

from tvm_blocksparse.isa import AMX_INT8, AVX2, AVX512_VNNI, AVX_VNNI, isa_level, target_has
from tvm_blocksparse.op.attention import ROWS_PER_TASK, amx_supported, attention_int8
from tvm_blocksparse.target import resolve_target


def mask_floored(mask: relax.Expr) -> relax.Expr:
    """``mask`` with ``-inf`` raised to the lowest float. SDPA's boolean masks become
    ``where(keep, 0, -inf)``: an attention kernel's exp takes -inf, but a query whose keys are all
    masked would get max = -inf and NaN; with the lowest float it gets what eager exports give
    (their mask is the lowest float): the average of the values."""
    return relax.op.maximum(mask, relax.const(np.finfo(np.float32).min, "float32"))


#: The kernel name's suffix per vector path (:func:`attention_level`).
_NAME_SUFFIX = {"avx512_vnni": "", "avx_vnni": "_ymm_vnni", "avx2": "_ymm"}


def attention_level(target) -> str:
    """The vector path of the INT8 attention kernel on ``target`` (one with AVX2 at least):
    the best of ``avx512_vnni`` (AMX targets too: their kernel keeps it beside the tiles),
    ``avx_vnni`` and ``avx2`` it has (:data:`tvm_blocksparse.op.attention.LEVEL_OPS`)."""
    return next(lvl.name for lvl in (AVX512_VNNI, AVX_VNNI, AVX2) if target_has(lvl, target))


class SoftmaxAttention:
    """``matmul(softmax(Q K^T * c + mask), V)`` as a pattern over the patterns ``q``, ``k``, ``v``,
    in the forms exporters write: the scores times or over a constant ``c`` (eager exports), or
    Q and K^T each times a constant (SDPA exports: ``sqrt(scale)`` each); the mask added on
    either side; SDPA's ``where(isnan(p), 0, p)`` after the softmax. The INT8 and the FP32
    attention fusions match it and read a match (``m``) through its methods."""

    def __init__(self, q, k, v):
        times = lambda x, c: is_op("relax.multiply")(x, c) | is_op("relax.multiply")(c, x)  # noqa: E731
        self.mask, self.c, self.cq, self.ck = wildcard(), is_const(), is_const(), is_const()
        self.nan_zero = is_const()
        scores = is_op("relax.matmul")(q, k)
        self.prescaled = is_op("relax.matmul")(times(q, self.cq), times(k, self.ck))
        self.mul = times(scores, self.c)
        scaled = self.mul | is_op("relax.divide")(scores, self.c) | self.prescaled
        masked = is_op("relax.add")(scaled, self.mask) | is_op("relax.add")(self.mask, scaled)
        self.probs = is_op("relax.nn.softmax")(masked)
        self.nan_guard = is_op("relax.where")(
            is_op("relax.isnan")(self.probs), self.nan_zero, self.probs
        )
        self.context = is_op("relax.matmul")(self.probs | self.nan_guard, v)

    def scale_is_finite_nonzero(self, m) -> bool:
        """Whether the scale's constants are finite, non-zero scalars."""
        consts = [self.cq, self.ck] if self.prescaled in m else [self.c]
        for c in (m[x].value.numpy() for x in consts):
            if c.size != 1 or not np.isfinite(c).all() or float(c.reshape(())) == 0.0:
                return False
        return True

    def scale(self, m) -> float:
        """The factor on ``Q K^T``: the eager exports' multiplier or divisor, or the product of
        the SDPA exports' two ``sqrt(scale)`` factors on Q and K^T."""
        value = lambda c: float(m[c].value.numpy().reshape(()))  # noqa: E731
        if self.prescaled in m:
            return value(self.cq) * value(self.ck)
        return value(self.c) if self.mul in m else 1.0 / value(self.c)

    def nan_rows_zeroed(self, m) -> bool:
        """Whether NaN probabilities, where the export guards them, become 0 (what a kernel that
        never makes NaN gives)."""
        return self.nan_guard not in m or float(np.abs(m[self.nan_zero].value.numpy()).max()) == 0

    def over_keys(self, m) -> bool:
        """Whether the softmax runs over the key axis."""
        return int(m[self.probs].attrs.axis) in (-1, 3)


@tvm.transform.module_pass(opt_level=0, name="FuseAttention")
class FuseAttention:
    """See the module docstring."""

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        return _Fuse(mod).run()


class _Fuse:
    """One application of :class:`FuseAttention` (its working state): ``fused`` counts the
    attention blocks rewritten, ``skipped`` gives the reason for each matched block left in FP32."""

    def __init__(self, mod: tvm.IRModule):
        self.mod = mod
        self.bb = relax.BlockBuilder(mod)
        self.kernels = KernelAdder(self.bb, mod)
        self.fused = 0
        self.skipped: list[str] = []

    def run(self) -> tvm.IRModule:
        self.q_in, self.kt, self.v_in, self.k_in = wildcard(), wildcard(), wildcard(), wildcard()
        self.q_shape, self.k_shape, self.v_shape = wildcard(), wildcard(), wildcard()
        perm = lambda x: is_op("relax.permute_dims")(x)  # noqa: E731
        reshape = lambda x, shape=None: is_op("relax.reshape")(x, shape or wildcard())  # noqa: E731
        self.q_perm = q = perm(reshape(self.q_in, self.q_shape))
        self.k_perm = perm(reshape(self.k_in))
        # the dynamo exporter's K^T: per-head [H, S, d] transposed to [H, d, S]
        self.k_heads = perm(reshape(self.k_in))
        self.k_heads_t = perm(reshape(self.k_heads))
        # (the dynamo form first: a K^T wildcard would take its per-head [H, d, S] too)
        k = reshape(self.k_heads_t) | reshape(self.kt, self.k_shape) | self.k_perm
        self.v_perm = v = perm(reshape(self.v_in, self.v_shape))
        self.att = SoftmaxAttention(q, k, v)
        self.context = self.att.context
        pattern = perm(self.context | reshape(self.context))
        for gv, func in list(self.mod.functions_items()):
            if isinstance(func, relax.Function):
                self.bb.update_func(gv, rewrite_call(pattern, self._rewrite, func))
        mod = self.bb.get()
        self._explain_unmatched(mod)
        summary = json.dumps({"int8_fused": self.fused, "left_fp32": self.skipped})
        mod[ENTRY] = mod[ENTRY].with_attr(ATTENTION_ATTR, summary)
        return mod

    def _rewrite(self, expr, m):
        why = self._why_not(expr, m)
        if why:
            self.skipped.append(why)
            return expr
        _, s, heads, d = static_shape(expr)
        n = heads * d
        scale = self.att.scale(m)
        mask = m[self.att.mask]
        if static_shape(mask) != [s, s]:
            mask = relax.op.reshape(relax.op.broadcast_to(mask, [1, 1, s, s]), [s, s])
        mask = mask_floored(mask)
        kt = (
            m[self.kt]
            if self.kt in m
            else relax.op.permute_dims(relax.op.reshape(m[self.k_in], [s, n]), [1, 0])
        )
        target = resolve_target()  # which vector path the kernel takes
        level = attention_level(target)
        amx = level == "avx512_vnni" and target_has(AMX_INT8, target) and amx_supported(s, d)
        gv = self.kernels.add(
            attention_int8(s, heads, d, scale, amx=amx, level=level),
            f"attention_int8_s{s}_h{heads}_d{d}" + ("_amx" if amx else "") + _NAME_SUFFIX[level],
            "attention_int8",
        )
        call = relax.call_tir(
            gv,
            [
                relax.op.reshape(m[self.q_in], [s, n]),
                kt,
                relax.op.reshape(m[self.v_in], [s, n]),
                mask,
            ],
            relax.TensorType((s, n), "float32"),
        )
        self.fused += 1
        return relax.op.reshape(call, [1, s, heads, d])

    def _explain_unmatched(self, mod: tvm.IRModule) -> None:
        """A softmax left in the graph that no attention pattern matched gets a reason too."""
        left = []

        def visit(expr):
            if isinstance(expr, relax.Call) and getattr(expr.op, "name", "") == "relax.nn.softmax":
                left.append(static_shape(expr))

        for _, func in mod.functions_items():
            if isinstance(func, relax.Function):
                relax.analysis.post_order_visit(func.body, visit)
        for shape in left[len(self.skipped) :]:
            self.skipped.append(
                f"softmax of shape {shape} is not in an attention graph we recognise "
                "(eager, SDPA or dynamo exports of BERT-family self-attention)"
            )

    def _why_not(self, expr, m) -> str:
        target = resolve_target()
        if not target_has(AVX2, target):
            level = getattr(isa_level(target), "name", "none")
            return f"the INT8 attention kernel needs avx2 at least (this target: {level})"
        out = static_shape(expr)
        if out is None or len(out) != 4 or out[0] != 1:
            return f"attention output {out}: batch 1 only"
        _, s, heads, d = out
        axes = [
            [int(a) for a in e.attrs.axes] if e.attrs.axes is not None else None
            for e in (expr, m[self.q_perm], m[self.v_perm])
        ]
        if any(a != [0, 2, 1, 3] for a in axes):
            return "head permutations other than [0, 2, 1, 3]"
        if s % 16 or d % 16 or s % ROWS_PER_TASK:
            return f"S={s}, d={d}: INT8 attention needs multiples of 16"
        if self.kt in m and static_shape(m[self.kt]) != [heads * d, s]:
            return f"K^T of shape {static_shape(m[self.kt])}, not [{heads * d}, {s}]"
        if self.k_perm in m and _axes(m[self.k_perm]) != [0, 2, 3, 1]:
            return "K permutation other than [0, 2, 3, 1]"
        if self.k_heads_t in m and (
            _axes(m[self.k_heads]) != [0, 2, 1, 3] or _axes(m[self.k_heads_t]) != [0, 2, 1]
        ):
            return "K^T per head by permutations other than [0, 2, 1, 3] then [0, 2, 1]"
        if not self.att.nan_rows_zeroed(m):
            return "NaN probabilities replaced by a value other than 0"
        for x in [m[self.q_in], m[self.v_in]] + ([m[self.k_in]] if self.k_in in m else []):
            shp = static_shape(x)
            if shp is None or int(np.prod(shp)) != s * heads * d or x.ty.dtype != "float32":
                return f"Q/K/V of shape {shp}"
        if not self.att.scale_is_finite_nonzero(m):
            return "scale is not a finite non-zero scalar"
        mask = m[self.att.mask]
        shp = static_shape(mask)
        if (
            mask.ty.dtype != "float32"
            or shp is None
            or len(shp) > 4
            or any(a not in (1, b) for a, b in zip(shp[::-1], [s, s, 1, 1]))
        ):
            dtype = getattr(mask.ty, "dtype", "?")
            return f"mask of shape {shp} ({dtype}) does not broadcast to [1, 1, {s}, {s}]"
        if not self.att.over_keys(m):
            return "softmax not over the key axis"
        return ""


def _axes(permute) -> list[int] | None:
    return None if permute.attrs.axes is None else [int(a) for a in permute.attrs.axes]
