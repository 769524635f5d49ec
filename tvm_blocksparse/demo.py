"""The main demo: a BERT-shaped model pruned to 90 % 4x1 blocks, compiled INT8 block-sparse and
dense, outputs checked, latencies compared side by side.

    python -m tvm_blocksparse.demo [--model bert-mini] [--seq-len 128]

Engines (same pruned model, same inputs, timed in interleaved rounds, medians):
- ``tvm_int8_sparse``: our pipeline, Linear layers on the INT8 4x1 kernel (block "4x1" = 4 output
  channels x 1 input channel of W[N_out, K_in]), activation ranges computed at run time;
- ``tvm_int8_sparse_static``: the same with activation ranges calibrated on ``--calibrate``
  random samples (fused requantization between chained layers);
- ``tvm_int8_dense``: our pipeline with every Linear on our dense INT8 kernel of this CPU's
  level (AVX2, AVX-VNNI, AVX-512 VNNI or AMX tiles);
- ``tvm_fp32_dense``: our pipeline, FP32, TVM matmuls with our schedules;
- ``onnxruntime_fp32`` / ``onnxruntime_int8_dynamic`` when onnxruntime is installed.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time


def _kernels(model) -> str:
    """What the Linear layers of ``model`` run, e.g. "24/24 Linear layers on int8_4x1"; with the
    cost model's reason where it chose across kinds (e.g. TVM's FP32 matmul for the dense layers
    of an INT8 model on Zen 1, where it is faster than dense INT8)."""
    counts = collections.Counter(d["kernel"] for d in model.report)
    text = ", ".join(f"{n}/{len(model.report)} Linear layers on {k}" for k, n in counts.items())
    reasons = {d["reason"].split(":")[0] for d in model.report if d["reason"].startswith("cost")}
    return text + (f"; {', '.join(sorted(reasons))}" if reasons else "")


def _than(other_ms: float, ours_ms: float) -> str:
    """``1.23x faster than`` / ``1.05x slower than``: a ratio a reader needn't invert."""
    ratio = other_ms / ours_ms
    return f"{ratio:.2f}x faster than" if ratio >= 1 else f"{1 / ratio:.2f}x slower than"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model",
        default="bert-mini",
        help="bert-mini | minilm-l6 | distilbert | bert-base | bert-large",
    )
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per engine per round")
    ap.add_argument(
        "--calibrate", type=int, default=2, help="samples for the static INT8 engine (0: skip it)"
    )
    ap.add_argument(
        "--keep",
        metavar="DIR",
        help="write the ONNX files (dense, pruned, ONNX Runtime INT8) to DIR and keep them "
        "(default: a temporary directory, removed at the end)",
    )
    args = ap.parse_args(argv)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return _demo(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="tvm_blocksparse_demo_") as workdir:
        return _demo(args, workdir)


def _demo(args, workdir: str) -> int:
    """The demo of :func:`main`'s ``args``, its files in ``workdir``."""
    import numpy as np
    import onnx

    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import BERT_CONFIGS, make_bert_onnx, random_inputs
    from tvm_blocksparse.prepare import int8_fallback_note
    from tvm_blocksparse.target import host_target, num_threads
    from tvm_blocksparse.testing import interleaved_times

    t_start = time.perf_counter()
    say = lambda msg: print(f"[demo {time.perf_counter() - t_start:6.1f}s] {msg}", flush=True)  # noqa: E731
    cfg = BERT_CONFIGS[args.model]
    say(
        f"{args.model}: {cfg.layers} layers, hidden {cfg.hidden}, {cfg.heads} heads, FFN "
        f"{cfg.intermediate}; "
        f"batch 1 x {args.seq_len} tokens; {num_threads()} threads"
    )
    dense_path = os.path.join(workdir, f"{args.model}.onnx")
    pruned_path = os.path.join(workdir, f"{args.model}_{int(args.sparsity * 100)}.onnx")
    onnx.save(make_bert_onnx(cfg, seed=0), dense_path)
    tb.prune(dense_path, pruned_path, sparsity=args.sparsity, block="4x1")
    say(
        f"pruned every Linear to {args.sparsity:.0%} 4x1 block sparsity (no fine-tuning) -> "
        + (pruned_path if args.keep else "a temporary file (--keep DIR keeps the files)")
    )
    feeds = random_inputs(1, args.seq_len, vocab=cfg.vocab, pad=min(5, args.seq_len - 1), seed=1)

    engines: dict[str, object] = {}
    no_int8 = int8_fallback_note(host_target())
    if no_int8:
        say(f"INT8 engines skipped (FP32 only): {no_int8}")
    int8 = [] if no_int8 else ["int8"]
    for dtype in int8:
        sparse = tb.compile(pruned_path, seq_len=args.seq_len, dtype=dtype, block="4x1")
        say(f"compiled INT8 sparse in {sparse.metadata['compile_seconds']} s ({_kernels(sparse)})")
        engines["tvm_int8_sparse"] = sparse
        if args.calibrate:
            calib = [
                random_inputs(1, args.seq_len, vocab=cfg.vocab, pad=3 * i, seed=100 + i)
                for i in range(args.calibrate)
            ]
            static = tb.compile(
                pruned_path, seq_len=args.seq_len, dtype=dtype, block="4x1", calibration=calib
            )
            say(
                f"compiled INT8 sparse static in {static.metadata['compile_seconds']} s "
                f"({args.calibrate} calibration samples)"
            )
            engines["tvm_int8_sparse_static"] = static
        dense = tb.compile(pruned_path, seq_len=args.seq_len, dtype=dtype, sparsity_threshold=1.0)
        say(f"compiled INT8 dense in {dense.metadata['compile_seconds']} s ({_kernels(dense)})")
        engines["tvm_int8_dense"] = dense
    fp32 = tb.compile(pruned_path, seq_len=args.seq_len, dtype="fp32", sparsity_threshold=1.0)
    say(f"compiled FP32 dense in {fp32.metadata['compile_seconds']} s")
    engines["tvm_fp32_dense"] = fp32
    runners = {name: (lambda m=m: m.run(feeds)) for name, m in engines.items()}
    reference = fp32.run(feeds)[0]

    try:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = num_threads()
        sess = ort.InferenceSession(pruned_path, so, providers=["CPUExecutionProvider"])
        reference = sess.run(None, feeds)[0]
        runners["onnxruntime_fp32"] = lambda: sess.run(None, feeds)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        q_path = os.path.join(workdir, "ort_int8.onnx")
        quantize_dynamic(pruned_path, q_path, weight_type=QuantType.QInt8)
        qsess = ort.InferenceSession(q_path, so, providers=["CPUExecutionProvider"])
        runners["onnxruntime_int8_dynamic"] = lambda: qsess.run(None, feeds)
    except ImportError:
        say("onnxruntime not installed: comparing our engines only (reference = our FP32)")

    say(
        "checking outputs against the FP32 reference ("
        + ("onnxruntime" if "onnxruntime_fp32" in runners else "ours")
        + ")"
    )
    ok = True
    for name, m in engines.items():
        out = m.run(feeds)[0]
        cos = (out * reference).sum(-1) / (
            np.linalg.norm(out, axis=-1) * np.linalg.norm(reference, axis=-1)
        )
        rel = float(np.abs(out - reference).max() / np.abs(reference).max())
        good = cos.min() >= 0.99 if "int8" in name else rel <= 1e-4
        ok &= bool(good)
        print(
            f"  {name:<26} min cosine/token {cos.min():.5f}  max rel. error {rel:.2e}  "
            f"{'OK' if good else 'MISMATCH'}"
        )

    say(f"timing {len(runners)} engines, {args.rounds} interleaved rounds")
    times, _ = interleaved_times(runners, args.rounds, args.min_time)
    med = {k: float(np.median(v)) for k, v in times.items()}
    base = med.get("tvm_int8_sparse")
    print(
        f"\n{'engine':<26} {'median ms':>10} {'p10':>8} {'p90':>8}  {'tvm_int8_sparse speedup':>24}"
    )
    for name, v in times.items():
        sp = f"{med[name] / base:.2f}x" if base else "-"
        print(
            f"{name:<26} {med[name]:>10.3f} {np.percentile(v, 10):>8.3f} "
            f"{np.percentile(v, 90):>8.3f}  {sp:>24}"
        )
    if base:
        print(
            f"\n{args.model} at {args.sparsity:.0%} 4x1 sparsity: INT8 sparse is "
            f"{_than(med['tvm_int8_dense'], base)} our dense INT8 mode and "
            f"{_than(med['tvm_fp32_dense'], base)} our dense FP32"
            + (
                f", {_than(med['onnxruntime_int8_dynamic'], base)} ONNX Runtime INT8 dynamic"
                if "onnxruntime_int8_dynamic" in med
                else ""
            )
            + "."
        )
        if "tvm_int8_sparse_static" in med and "onnxruntime_int8_dynamic" in med:
            print(
                f"With calibrated (static) activation ranges: {med['tvm_int8_sparse_static']:.3f} "
                f"ms, {_than(med['onnxruntime_int8_dynamic'], med['tvm_int8_sparse_static'])} "
                "ONNX Runtime INT8 dynamic."
            )
    say("done" if ok else "done, WITH OUTPUT MISMATCHES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
