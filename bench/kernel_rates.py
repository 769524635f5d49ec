"""Calibrate the per-layer cost model (``tvm_blocksparse.registry.KERNEL_GOPS``) for one ISA level.

    TVM_NUM_THREADS=1 python bench/kernel_rates.py --level amx_int8

Times each Linear kernel of the level's cost table on BERT-Base's three Linear shapes at 128
tokens, float32 output with bias (the epilogue most layers get), 1 thread: our registry's
``int8_4x1`` and ``int8_dense`` at that level; at ``avx2``, whose table also costs FP32 layers,
``fp32_4x1``, ``fp32_1x16`` and TVM's FP32 matmul under our schedule rules (``tvm_dense``: one
Relax ``matmul + add`` through the pipeline). Sparse kernels run at 50-90 % block sparsity of
their block (4x1: 4 output channels x 1 input channel; 1x16: 1 output channel x 16 inputs). The
rate is GOP/s (GFLOP/s for FP32) on the kernel's nonzero work, ``2 M N K (1 - block sparsity)``,
what the cost model divides by; the table prints every rate and the median per kernel (the
figure to put in ``KERNEL_GOPS``). A lower level runs on a newer CPU (``--level avx2`` on an AMX
host times the AVX2 kernels); ``--mcpu`` builds for another CPU model of that level (its
scheduling model and the CPU-keyed defaults, e.g. ``znver1``'s half-width tile).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import tvm

from tvm_blocksparse import isa, linear, registry
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.quantize import padded_tokens
from tvm_blocksparse.target import level_target
from tvm_blocksparse.testing import random_block_sparse

SHAPES = [(768, 768), (3072, 768), (768, 3072)]  # (N_out, K_in): BERT-Base
SPARSITIES = [0.5, 0.6, 0.7, 0.8, 0.9]


#: What a level without a cost table gets timed on: its INT8 kernels.
INT8_KINDS = ("int8_4x1", "int8_dense")


def _time(kind, w, m, target) -> float:
    """Median ms of one call of ``kind`` (the level's kernel) for ``W`` and ``M`` tokens."""
    rng = np.random.default_rng(1)
    n, k = w.shape
    kern, arrays = linear.build_linear(kind, w, m, Epilogue("float32", bias=True), target=target)
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)
    mp = padded_tokens(m)
    feeds = dict(
        X=x
        if registry.lookup(kind, target).int8
        else rng.standard_normal((m, k)).astype(np.float32),
        XT=linear.transpose_pad_u8(x),
        x_scale=np.full(mp, 0.02, np.float32),
        x_zp=np.full(mp, 100, np.int32),
        bias=np.zeros(n, np.float32),
    )
    return float(np.median(kern.time_ms(kern.bind({**feeds, **arrays}), number=10, repeat=30)))


def _time_tvm_dense(n, k, m, target) -> float:
    """Median ms of TVM's FP32 ``x[1, M, K] @ W[K, N] + bias`` built by our pipeline (its
    schedule rules, no rewrite), one VM call."""
    from tvm import relax

    from tvm_blocksparse.pipeline import get_pipeline

    rng = np.random.default_rng(1)
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, m, k), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            y = bb.emit(relax.op.matmul(x, relax.const(rng.standard_normal((k, n)), "float32")))
            y = bb.emit_output(relax.op.add(y, relax.const(np.zeros(n, np.float32))))
        bb.emit_func_output(y)
    ex = tvm.compile(bb.get(), target=target, relax_pipeline=get_pipeline(target))
    vm = relax.VirtualMachine(ex, tvm.cpu())
    feed = tvm.runtime.tensor(rng.standard_normal((1, m, k)).astype(np.float32))
    timer = vm.time_evaluator("main", tvm.cpu(), number=10, repeat=30)
    return 1e3 * float(np.median(timer(feed).results))


def _rate_ms(kind, n, k, s, m, target, rng) -> float:
    """ms of ``kind`` on an ``N x K`` layer at block sparsity ``s`` (dense kinds: 0)."""
    if kind == "tvm_dense":
        return _time_tvm_dense(n, k, m, target)
    spec = registry.lookup(kind, target)
    if spec.block is None:
        return _time(kind, rng.standard_normal((n, k)).astype(np.float32), m, target)
    return _time(kind, random_block_sparse(rng, n, k, s, spec.block, np.float32), m, target)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--level", default="amx_int8", help="avx2, avx_vnni, avx512_vnni, amx_int8")
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--mcpu", help="LLVM CPU model to build for (default: this host's)")
    p.add_argument("--json", help="write every time and the medians here")
    args = p.parse_args(argv)
    target = level_target(args.level, num_cores=1)
    if args.mcpu:
        target = tvm.target.Target({**target.export(), "mcpu": args.mcpu})
    m = args.tokens
    rng = np.random.default_rng(0)
    table = registry.level_kernel_rates(isa.by_name(args.level), target)
    kinds = tuple(table) if table is not None else INT8_KINDS
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    rows = []
    print(f"level {args.level} ({target}), {m} tokens, 1 thread; ms and GOP/s on nonzero work")
    for n, k in SHAPES:
        for kind in kinds:
            dense = kind == "tvm_dense" or registry.lookup(kind, target).block is None
            for s in [0.0] if dense else SPARSITIES:
                ms = _rate_ms(kind, n, k, s, m, target, rng)
                rate = 2e-6 * m * n * k * (1 - s) / ms
                rates[kind].append(rate)
                rows.append(dict(kind=kind, n=n, k=k, m=m, sparsity=s, ms=ms, gops=rate))
                where = "dense" if dense else f"{s:.0%}"
                print(
                    f"  {n}x{k}x{m}  {kind:12s} {where:>5s} {ms:8.3f} ms  {rate:7.1f} GOP/s",
                    flush=True,
                )
    medians = {kind: round(float(np.median(r)), 1) for kind, r in rates.items()}
    print("medians (KERNEL_GOPS):", medians)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(level=args.level, target=str(target), rows=rows, medians=medians), f, indent=1
            )


if __name__ == "__main__":
    main()
