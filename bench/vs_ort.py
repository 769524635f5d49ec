"""Ours against ONNX Runtime on the torch-free BERT models of ``tvm_blocksparse.bert_onnx``: a
quick side-by-side where the bench extras (torch, transformers, peers) are not installed.

    .venv/bin/python bench/vs_ort.py --models bert-mini bert-base --threads 1

90 % 4x1 (our FP32 sparse runs it and a copy pruned to 1x16), batch 1 x ``--seq-len`` tokens;
every engine is checked against ORT FP32 on the same file (cosine) before the interleaved
rounds; median process CPU ms and the ratio to ours INT8 sparse.
``bench/e2e.py`` is the full benchmark.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="+", default=["bert-mini"])
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per engine per round")
    ap.add_argument("--static", action="store_true", help="also ours INT8 with calibrated ranges")
    args = ap.parse_args(argv)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # before TVM's pool starts
    from tvm_blocksparse.testing import pin_to_first_cpus

    pin_to_first_cpus(args.threads)

    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
    from tvm_blocksparse.isa import host_isa_level
    from tvm_blocksparse.testing import interleaved_times, min_token_cosine

    warnings.simplefilter("ignore")
    scratch = tempfile.TemporaryDirectory(prefix="vs_ort_")  # removed when main returns
    work = scratch.name
    level = host_isa_level()
    print(
        f"# host ISA level {level.name if level else 'none'}, {args.threads} thread(s)", flush=True
    )
    for name in args.models:
        paths = {}
        for block in ("4x1", "1x16"):
            paths[block] = os.path.join(work, f"{name}_{block}.onnx")
            onnx.save(make_bert_onnx(name, seed=5, sparsity=0.9, block=block), paths[block])
        quantized = os.path.join(work, f"{name}_q.onnx")
        quantize_dynamic(paths["4x1"], quantized, weight_type=QuantType.QInt8)
        feeds = random_inputs(1, args.seq_len, seed=1)
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
        ort_fp32 = ort.InferenceSession(paths["4x1"], so, providers=["CPUExecutionProvider"])
        ort_int8 = ort.InferenceSession(quantized, so, providers=["CPUExecutionProvider"])
        ref = ort_fp32.run(None, feeds)[0]
        # the 1x16 copy is pruned differently: its reference is ORT FP32 on that same file
        ref_1x16 = ort.InferenceSession(paths["1x16"], so, providers=["CPUExecutionProvider"]).run(
            None, feeds
        )[0]
        t0 = time.perf_counter()
        ours = {"tvm_int8_sparse": tb.compile(paths["4x1"], seq_len=args.seq_len, dtype="int8")}
        compile_s = time.perf_counter() - t0
        if args.static:
            calib = [random_inputs(1, args.seq_len, pad=p, seed=s) for s, p in ((10, 0), (11, 6))]
            ours["tvm_int8_sparse_static"] = tb.compile(
                paths["4x1"], seq_len=args.seq_len, dtype="int8", calibration=calib
            )
        ours["tvm_fp32_sparse"] = tb.compile(paths["4x1"], seq_len=args.seq_len, dtype="fp32")
        ours["tvm_fp32_sparse_1x16"] = tb.compile(paths["1x16"], seq_len=args.seq_len, dtype="fp32")
        int8 = ours["tvm_int8_sparse"]
        kernels = sorted({d["kernel"] for d in int8.report})
        print(
            f"\n{name} (ours INT8: {kernels}, compiled in {compile_s:.1f} s, "
            f"{int8.metadata['attention']['int8_fused']} layers of INT8 attention)"
        )
        runners = {k: (lambda m=m: m.run(feeds)) for k, m in ours.items()}
        runners["ort_int8_dynamic"] = lambda: ort_int8.run(None, feeds)
        runners["ort_fp32"] = lambda: ort_fp32.run(None, feeds)
        for k, run in runners.items():
            cos = min_token_cosine(run()[0], ref_1x16 if k.endswith("1x16") else ref)
            print(f"  check {k:<24} cosine {cos:.5f}" + ("" if cos >= 0.99 else "  LOW"))
        _, cpu = interleaved_times(runners, args.rounds, args.min_time)
        base = float(np.median(cpu["tvm_int8_sparse"]))
        for k in runners:
            med = float(np.median(cpu[k]))
            print(f"  {k:<24} {med:9.2f} ms CPU  ({med / base:.2f}x ours INT8)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
