"""Our INT8 models at the AVX-VNNI level (Alder Lake and later clients), run on an AVX-512 VNNI
host as their EVEX twin, side by side with our AVX2 code and this host's own level; on a host
that also has AVX-VNNI (AMD Zen 5), the level's own VEX build beside its twin.

    TVM_NUM_THREADS=1 .venv/bin/python bench/avx_vnni_twin.py --models bert-mini bert-base

The twin (:func:`tvm_blocksparse.testing.avx_vnni_as_evex_twin`) compiles the AVX-VNNI level's
kernels, cost table, attention and ymm schedules with ``avxvnni`` off and AVX-512 VL on, so LLVM
encodes the level's ``vpdpbusd ymm`` in EVEX: the same instructions, executable here. Its times
are this core's, not an AVX-VNNI CPU's; the VEX row, where the host has ``avx_vnni``, shows
whether the encoding changes them. Random-init BERTs pruned to 90 % 4x1 (4 output channels
x 1 input channel), batch 1 x ``--seq-len`` tokens, 1 thread; every build checked against ONNX
Runtime FP32 (per-token cosine) before the interleaved rounds; median process CPU ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="+", default=["bert-mini"])
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per build per round")
    args = ap.parse_args(argv)
    os.environ.setdefault("TVM_NUM_THREADS", "1")  # before TVM's pool starts
    from tvm_blocksparse.testing import pin_to_first_cpus

    pin_to_first_cpus(int(os.environ["TVM_NUM_THREADS"]))

    import numpy as np

    import tvm_blocksparse as tb
    from tvm_blocksparse import isa
    from tvm_blocksparse.bert_onnx import make_bert_onnx
    from tvm_blocksparse.target import level_target
    from tvm_blocksparse.testing import (
        avx_vnni_as_evex_twin,
        interleaved_times,
        min_token_cosine,
        onnxruntime_outputs,
        random_feeds,
    )

    if not isa.host_has(isa.AVX512_VNNI):
        level = isa.host_isa_level()
        print(
            "the EVEX twin needs a CPU with AVX-512 VNNI; this one's level is "
            f"{level.name if level else 'none'}",
            file=sys.stderr,
        )
        return 2
    warnings.simplefilter("ignore")
    print(f"# {isa.host_cpu_name()}, TVM_NUM_THREADS={os.environ['TVM_NUM_THREADS']}")
    for name in args.models:
        model = make_bert_onnx(name, seed=0, sparsity=0.9)
        opts = dict(seq_len=args.seq_len, dtype="int8")
        builds = {
            "avx2": tb.compile(model, target=level_target("avx2"), **opts),
            "avx512_vnni": tb.compile(model, target=level_target("avx512_vnni"), **opts),
        }
        if isa.host_has(isa.AVX_VNNI):
            builds["avx_vnni (VEX)"] = tb.compile(model, target=level_target("avx_vnni"), **opts)
        with avx_vnni_as_evex_twin() as twin:
            builds["avx_vnni (EVEX twin)"] = tb.compile(model, target=twin, **opts)
        feeds = random_feeds(builds["avx2"])
        ref = onnxruntime_outputs(model, feeds)[0]
        cos = {k: min_token_cosine(m.run(feeds)[0], ref) for k, m in builds.items()}
        _, cpu = interleaved_times(
            {k: (lambda m=m: m.run(feeds)) for k, m in builds.items()}, args.rounds, args.min_time
        )
        med = {k: float(np.median(v)) for k, v in cpu.items()}
        print(f"\n{name}, 90 % 4x1, {args.seq_len} tokens, {args.rounds} rounds")
        print(f"  {'build':<22} {'level':<12} {'CPU ms':>8} {'vs avx2':>8} {'min cos':>8}")
        for k, m in builds.items():
            print(
                f"  {k:<22} {m.metadata['isa_level']:<12} {med[k]:>8.3f} "
                f"{med[k] / med['avx2']:>7.3f}x {cos[k]:>8.5f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
