"""LiftWeights: the model's constant arrays become one trailing tuple parameter of ``main``.

Why: length buckets of one model are separate programs over the same weights. Compiled with the
weights as constants, every bucket's library holds its own copy (BERT-Base: ~113 MB each); lifted,
the libraries hold code only and one store of the arrays, keyed by content, serves them all
(:func:`tvm_blocksparse.api.compile` with ``weights="separate"``).

Runs after the schedule phase (the weight pre-packing is folded into constants by then) and before
lowering. Every constant of at least ``min_bytes`` that ``main`` uses becomes
``weights[i]`` (``R.TupleGetItem`` of a new last parameter ``weights``); equal arrays (the same
bytes, dtype and shape) share one entry. Smaller constants (biases, scales, LayerNorm parameters)
stay in the code: each lifted array costs a tuple read per call (~0.1 us in the VM), and the small
ones are ~1 % of the bytes.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import tvm
from tvm import relax
from tvm.relax.expr_functor import PyExprMutator, PyExprVisitor, mutator, visitor

from .kernel_calls import ENTRY

WEIGHTS_ATTR = "tvm_blocksparse.weights"  # JSON list of the keys of ``main``'s weights tuple
WEIGHTS_PARAM = "weights"
#: constants below this stay in the code (see the module docstring)
MIN_LIFTED_BYTES = 16 * 1024


def weight_key(array: np.ndarray) -> str:
    """Content key of a weight array: its dtype, shape and bytes (equal keys, equal arrays)."""
    h = hashlib.sha1(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:20]


def lifted_weight_keys(mod: tvm.IRModule) -> list[str] | None:
    """Keys of ``main``'s weights tuple, in parameter order (None: the weights are constants)."""
    attrs = mod[ENTRY].attrs
    if attrs is None or WEIGHTS_ATTR not in attrs:
        return None
    return json.loads(str(attrs[WEIGHTS_ATTR]))


def _liftable(op, min_bytes: int):
    """``(key, tensor)`` of a constant worth lifting, else None."""
    data = op.value
    if not isinstance(data, tvm.runtime.Tensor):
        return None
    nbytes = int(np.prod(data.shape, dtype=np.int64)) * np.dtype(data.dtype).itemsize
    return (weight_key(data.numpy()), data) if nbytes >= min_bytes else None


@visitor
class _CollectWeights(PyExprVisitor):
    """The liftable constants of a function, each content once, in first-use order."""

    def __init__(self, min_bytes: int):
        super().__init__()
        self.min_bytes = min_bytes
        self.index_of: dict[str, int] = {}
        self.keys: list[str] = []
        self.arrays: list = []

    def visit_generic_const_(self, op):
        found = _liftable(op, self.min_bytes)
        if found is not None and found[0] not in self.index_of:
            self.index_of[found[0]] = len(self.keys)
            self.keys.append(found[0])
            self.arrays.append(found[1])


@mutator
class _WeightsFromParam(PyExprMutator):
    """Each liftable constant becomes ``param[index_of[key]]``."""

    def __init__(self, mod: tvm.IRModule, param: relax.Var, index_of: dict, min_bytes: int):
        super().__init__(mod)
        self.param, self.index_of, self.min_bytes = param, index_of, min_bytes

    def visit_generic_const_(self, op):
        found = _liftable(op, self.min_bytes)
        if found is None:
            return op
        return self.builder_.emit(relax.TupleGetItem(self.param, self.index_of[found[0]]))


@tvm.transform.module_pass(opt_level=0, name="LiftWeights")
class LiftWeights:
    """See the module docstring. ``on_weights(keys, tensors)`` receives the lifted arrays (the
    ``tvm.runtime.Tensor`` objects of the constants, in the tuple's order)."""

    def __init__(self, on_weights, min_bytes: int | None = None):
        self.on_weights = on_weights
        self.min_bytes = MIN_LIFTED_BYTES if min_bytes is None else min_bytes

    def transform_module(self, mod: tvm.IRModule, _ctx=None) -> tvm.IRModule:
        func = mod[ENTRY]
        found = _CollectWeights(self.min_bytes)
        found.visit_expr(func)
        types = [relax.TensorType(list(a.shape), str(a.dtype)) for a in found.arrays]
        param = relax.Var(WEIGHTS_PARAM, relax.TupleType(types))
        body = _WeightsFromParam(mod, param, found.index_of, self.min_bytes).visit_expr(func.body)
        mod = mod.clone()  # the input module stays as it was
        mod[ENTRY] = relax.Function(
            [*func.params, param], body, func.ret_ty, func.is_pure, func.attrs, func.span
        ).with_attr(WEIGHTS_ATTR, json.dumps(found.keys))
        self.on_weights(list(found.keys), list(found.arrays))
        return mod
