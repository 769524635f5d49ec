"""Calibrate the per-layer cost model (``tvm_blocksparse.registry.KERNEL_GOPS``) for one ISA level.

    TVM_NUM_THREADS=1 python bench/kernel_rates.py --level amx_int8

Times each INT8 Linear kernel of the level (our registry's ``int8_4x1`` and ``int8_dense`` at
that level, float32 output with bias: the epilogue most layers get) on BERT-Base's three Linear
shapes at 128 tokens, the sparse kernel at 50-90 % 4x1 block sparsity, 1 thread. The rate is GOP/s
on the kernel's nonzero work, ``2 M N K (1 - block sparsity)``, what the cost model divides by;
the table prints every rate and the median per kernel (the figure to put in ``KERNEL_GOPS``).
A lower level runs on a newer CPU (``--level avx2`` on an AMX host times the AVX2 kernels).
"""

from __future__ import annotations

import argparse

import numpy as np

from tvm_blocksparse import linear, registry
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op.quantize import padded_tokens
from tvm_blocksparse.target import level_target
from tvm_blocksparse.testing import random_block_sparse

SHAPES = [(768, 768), (3072, 768), (768, 3072)]  # (N_out, K_in): BERT-Base
SPARSITIES = [0.5, 0.6, 0.7, 0.8, 0.9]


def _time(kind, w, m, target) -> float:
    """Median ms of one call of ``kind`` (the level's kernel) for ``W`` and ``M`` tokens."""
    rng = np.random.default_rng(1)
    n, k = w.shape
    kern, arrays = linear.build_linear(kind, w, m, Epilogue("float32", bias=True), target=target)
    x = rng.integers(0, 256, (m, k), dtype=np.uint8)
    mp = padded_tokens(m)
    feeds = dict(
        X=x,
        XT=linear.transpose_pad_u8(x),
        x_scale=np.full(mp, 0.02, np.float32),
        x_zp=np.full(mp, 100, np.int32),
        bias=np.zeros(n, np.float32),
    )
    return float(np.median(kern.time_ms(kern.bind({**feeds, **arrays}), number=10, repeat=30)))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--level", default="amx_int8", help="avx2, avx_vnni, avx512_vnni, amx_int8")
    p.add_argument("--tokens", type=int, default=128)
    args = p.parse_args(argv)
    target = level_target(args.level, num_cores=1)
    m = args.tokens
    rng = np.random.default_rng(0)
    rates: dict[str, list[float]] = {"int8_4x1": [], "int8_dense": []}
    print(f"level {args.level} ({target}), {m} tokens, 1 thread; ms and GOP/s on nonzero work")
    for n, k in SHAPES:
        dense_ms = _time("int8_dense", rng.standard_normal((n, k)).astype(np.float32), m, target)
        rate = 2e-6 * m * n * k / dense_ms
        rates["int8_dense"].append(rate)
        spec = registry.lookup("int8_dense", target)
        print(f"  {n}x{k}x{m}  {spec.key:24s} dense   {dense_ms:8.3f} ms  {rate:7.0f} GOP/s")
        for s in SPARSITIES:
            w = random_block_sparse(rng, n, k, s, "4x1", np.float32)
            ms = _time("int8_4x1", w, m, target)
            rate = 2e-6 * m * n * k * (1 - s) / ms
            rates["int8_4x1"].append(rate)
            spec = registry.lookup("int8_4x1", target)
            print(f"  {n}x{k}x{m}  {spec.key:24s} {s:.0%} 4x1 {ms:8.3f} ms  {rate:7.0f} GOP/s")
    print(
        "medians (KERNEL_GOPS):", {kind: round(float(np.median(r)), 1) for kind, r in rates.items()}
    )


if __name__ == "__main__":
    main()
