"""How far the INT8 4x1 kernel could go on this core, against the peers of a ``bench/spmm.py`` run.

    cc -O2 -march=native bench/vnni_floor.c -o /tmp/vnni_floor
    floor=$(/tmp/vnni_floor | awk '/group_iteration_ns/{print $2}')
    python bench/spmm_bounds.py bench/results/spmm_1t.json --floor-ns "$floor"

The kernel's time can't go below ``group iterations x floor``: a group iteration (4 input
channels x 64 tokens x 4 output channels) issues 16 ``vpdpbusd`` and 8 unpacks, whose issue
time ``bench/vnni_floor.c`` measures (1 thread; no loads, no epilogue). Group counts come from
the weights ``bench/spmm.py`` times (same seed, same pruning). Per shape this prints the
kernel's measured time, the floor, its efficiency (floor / measured), and for each peer the
measured speedup beside the largest one the floor allows.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from tvm_blocksparse import format as fmt
from tvm_blocksparse.op.quantize import padded_tokens

PEERS = ("torch_int8_dense", "torch_int8_dense_vnni", "ours_int8_dense", "mkl_csr")


def group_iterations(n: int, k: int, m: int, sparsity: float) -> int:
    """Group-loop iterations of ``ours_int8_4x1`` on bench/spmm.py's weight of this case."""
    rng = np.random.default_rng(1)  # bench/spmm.py: case.weight("4x1", np.random.default_rng(1))
    w = fmt.prune_blocks(
        (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32), sparsity, "4x1"
    )
    groups = fmt.to_vnni_grouped_4x1(fmt.quantize_weight_per_channel(w).q).data.shape[0]
    return (
        groups * padded_tokens(m) // 64
    )  # 64-token tiles (every bench shape pads to a multiple of 64)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("json", help="records of bench/spmm.py --json")
    p.add_argument(
        "--floor-ns", type=float, required=True, help="group_iteration_ns of bench/vnni_floor.c"
    )
    p.add_argument("--sparsity", type=float, default=0.9)
    args = p.parse_args(argv)
    records = [
        r
        for r in json.load(open(args.json))
        if abs(r["sparsity"] - args.sparsity) < 1e-9 or r["backend"] in PEERS[:3]
    ]
    shapes = sorted({r["shape"] for r in records}, key=lambda s: [int(v) for v in s.split("x")])
    peers = [b for b in PEERS if any(r["backend"] == b for r in records)]
    print(f"sparsity {args.sparsity:.0%}, floor {args.floor_ns:.2f} ns per group iteration")
    print(
        "| shape | ours ms | floor ms | efficiency | "
        + " | ".join(f"vs {b} (bound)" for b in peers)
        + " |"
    )
    print("|---" * (4 + len(peers)) + "|")
    for shape in shapes:
        ms = {
            r["backend"]: r["median_ms"]
            for r in records
            if r["shape"] == shape and r.get("median_ms")
        }
        if "ours_int8_4x1" not in ms:
            continue
        n, k, m = (int(v) for v in shape.split("x"))
        floor = group_iterations(n, k, m, args.sparsity) * args.floor_ns * 1e-6
        ours = ms["ours_int8_4x1"]
        cells = [f"{ms[b] / ours:.2f}x ({ms[b] / floor:.1f}x)" if b in ms else "-" for b in peers]
        print(
            f"| {shape} | {ours:.3f} | {floor:.3f} | {floor / ours:.0%} | "
            + " | ".join(cells)
            + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
