"""LiftWeights: constant arrays become ``main``'s last (tuple) parameter, equal arrays once."""

import json

import numpy as np
import pytest
import tvm
from tvm import relax
from tvm.script import relax as R
from tvm_blocksparse.relay_passes import LiftWeights
from tvm_blocksparse.relay_passes.lift_weights import (
    MIN_LIFTED_BYTES,
    WEIGHTS_ATTR,
    lifted_weight_keys,
    weight_key,
)


def _two_layer_module(w: np.ndarray, small: np.ndarray):
    """x @ w + small, then @ (an equal copy of w), then * 2: three constants, two equal."""
    bb = relax.BlockBuilder()
    x = relax.Var("x", R.Tensor((8, w.shape[0]), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            y = bb.emit(relax.op.matmul(x, relax.const(w)))
            y = bb.emit(relax.op.add(y, relax.const(small)))
            y = bb.emit(relax.op.matmul(y, relax.const(w.copy())))
            out = bb.emit_output(relax.op.multiply(y, relax.const(np.float32(2))))
        bb.emit_func_output(out)
    return bb.get()


def _run(mod, *args):
    vm = relax.VirtualMachine(relax.build(mod, target="llvm"), tvm.cpu())
    return vm["main"](*args).numpy()


def test_equal_arrays_share_one_entry_and_small_constants_stay():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((128, 128)).astype("float32")  # 64 KiB: lifted
    small = rng.standard_normal(128).astype("float32")  # 512 B: stays in the code
    assert w.nbytes >= MIN_LIFTED_BYTES > small.nbytes
    mod = _two_layer_module(w, small)
    got = {}
    lifted = LiftWeights(lambda keys, arrays: got.update(keys=keys, arrays=arrays))(mod)

    assert got["keys"] == [weight_key(w)] and lifted_weight_keys(lifted) == got["keys"]
    assert json.loads(str(lifted["main"].attrs[WEIGHTS_ATTR])) == got["keys"]
    params = lifted["main"].params
    assert [p.name for p in params] == ["x", "weights"]
    np.testing.assert_array_equal(got["arrays"][0].numpy(), w)
    assert lifted_weight_keys(mod) is None

    x = rng.standard_normal((8, 128)).astype("float32")
    want = _run(mod, tvm.runtime.tensor(x))
    have = _run(lifted, tvm.runtime.tensor(x), tvm.runtime.convert(got["arrays"]))
    np.testing.assert_array_equal(have, want)


def test_a_lower_bound_lifts_the_small_constants_too():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((128, 128)).astype("float32")
    small = rng.standard_normal(128).astype("float32")
    got = {}
    LiftWeights(lambda keys, arrays: got.update(keys=keys), min_bytes=64)(
        _two_layer_module(w, small)
    )
    assert got["keys"] == [weight_key(w), weight_key(small)]  # first-use order; the scalar stays


@pytest.mark.parametrize(
    "other",
    [
        lambda a: a.view(np.int32),  # same bytes, another dtype
        lambda a: a.reshape(4, 2),  # same bytes, another shape
        lambda a: a + 1,  # other bytes
    ],
)
def test_weight_keys_tell_dtype_shape_and_bytes_apart(other):
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert weight_key(a) == weight_key(a.copy())
    assert weight_key(other(a)) != weight_key(a)
