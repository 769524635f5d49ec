"""bench/primfunc_profile.py's model with its kernels emptied: what the VM costs on its own."""

import dataclasses
import os
import sys

import numpy as np
import tvm
from tvm import tirx

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
)
import primfunc_profile

import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx
from tvm_blocksparse.testing import random_feeds


def test_emptied_kernels_keep_signatures_and_calls_and_lose_their_work():
    lowered = tb.lower(make_bert_onnx("tiny", seed=1, sparsity=0.9), seq_len=16)
    emptied = primfunc_profile.kernels_emptied(lowered.mod)
    kernels = {
        gv.name_hint: f for gv, f in lowered.mod.functions.items() if isinstance(f, tirx.PrimFunc)
    }
    assert kernels and {gv.name_hint for gv in emptied.get_global_vars()} == {
        gv.name_hint for gv in lowered.mod.get_global_vars()
    }
    for name, f in kernels.items():
        hollow = emptied[name]
        assert isinstance(hollow.body, tirx.Evaluate), name
        # the same buffer parameters (shapes, dtypes): the same argument checks at every call
        assert [p.name for p in hollow.params] == [p.name for p in f.params]
        for p, q in zip(hollow.params, f.params):
            tvm.ir.assert_structural_equal(p.ty, q.ty)
    tvm.ir.assert_structural_equal(emptied["main"], lowered.mod["main"])

    model = lowered.build()
    vm_only = dataclasses.replace(lowered, mod=emptied).build()
    feeds = random_feeds(model)
    out, hollow_out = model.run(feeds)[0], vm_only.run(feeds)[0]
    assert hollow_out.shape == out.shape and np.isfinite(out).all()
