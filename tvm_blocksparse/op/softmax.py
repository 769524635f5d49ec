"""Softmax over the last axis of float32 rows (attention scores in FP32 mode), vectorized."""

from __future__ import annotations

import functools

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa.common import allreduce, fconst
from tvm_blocksparse.op.epilogue import exp_f32

#: Longest row (in vectors) the kernel keeps as unrolled trees; longer rows stay with TVM.
MAX_ROW_VECTORS = 64


def _tree(values: list, op):
    """``op`` over ``values`` as a balanced tree (depth log2 n, not a chain of n)."""
    while len(values) > 1:
        values = [op(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)] + (
            [values[-1]] if len(values) % 2 else []
        )
    return values[0]


@functools.cache
def softmax_rows(rows: int, n: int, lanes: int) -> tvm.tirx.PrimFunc:
    """``Y[r] = exp(X[r] - max X[r]) / sum exp(..)`` for ``X f32[rows, n]`` -> ``Y f32[rows, n]``,
    ``n % lanes == 0`` (``lanes``: 8 on ymm, 16 on zmm), ``n / lanes <= MAX_ROW_VECTORS``.

    Rows in parallel; per row a tree of ``vmaxps`` and a butterfly for the maximum, one
    :func:`~tvm_blocksparse.op.epilogue.exp_f32` per vector (scores 87 below the maximum, the
    mask's, give exactly 0), a tree of adds, then one reciprocal and a multiply per vector:
    TVM's own softmax reduced through a serial chain of scalars and divided every element."""
    if n % lanes or n // lanes > MAX_ROW_VECTORS:
        raise ValueError(f"softmax_rows needs n % {lanes} == 0 and n <= {MAX_ROW_VECTORS * lanes}")
    nv = n // lanes

    def vec(buf, r, v):
        return buf[r, T.ramp(v * lanes, 1, lanes)]

    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((rows, n), "float32"), Y: T.Buffer((rows, n), "float32")):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for r in T.parallel(rows):
                with T.sblock("row"):
                    vr = T.axis.spatial(rows, r)
                    T.reads(X[vr, 0:n])
                    T.writes(Y[vr, 0:n])
                    stat = T.alloc_buffer((2, lanes), "float32")  # the row's max, 1 / sum
                    stat[0, T.ramp(0, 1, lanes)] = allreduce(
                        _tree([vec(X, vr, v) for v in range(nv)], T.max), T.max, lanes
                    )
                    for v in T.unroll(nv):
                        Y[vr, T.ramp(v * lanes, 1, lanes)] = exp_f32(
                            vec(X, vr, v) - stat[0, T.ramp(0, 1, lanes)], lanes
                        )
                    stat[1, T.ramp(0, 1, lanes)] = fconst(1.0, lanes) / allreduce(
                        _tree([vec(Y, vr, v) for v in range(nv)], lambda a, b: a + b),
                        lambda a, b: a + b,
                        lanes,
                    )
                    for v in T.unroll(nv):
                        Y[vr, T.ramp(v * lanes, 1, lanes)] = (
                            vec(Y, vr, v) * stat[1, T.ramp(0, 1, lanes)]
                        )

    return main
