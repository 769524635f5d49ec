"""Dense FP32 BERT, our compiled module vs ONNX Runtime, side by side in one process.

    .venv/bin/python bench/e2e_dense.py --models bert-mini bert-base --threads 1 --profile bert-base

Models are random-init BERT encoders built by :mod:`tvm_blocksparse.bert_onnx` (batch 1, seq
128 by default). Both engines get the same ONNX model and inputs; outputs are compared; timings
alternate between the engines in rounds so drift on this shared machine hits both alike; the
figure reported is the median over all rounds (and process CPU time per call on 1 thread, which
being descheduled does not inflate). ``--profile`` prints per-PrimFunc times and the share
outside the linear layers: the ceiling on what sparsity can give.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="+", default=["bert-mini", "bert-base"])
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per engine per round")
    ap.add_argument("--profile", nargs="*", default=[], help="models to profile per PrimFunc")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    # Must be set before TVM's thread pool starts.
    os.environ["TVM_NUM_THREADS"] = str(args.threads)
    from tvm_blocksparse.testing import pin_to_first_cpus

    pin_to_first_cpus(args.threads)

    import numpy as np
    import onnxruntime as ort
    import tvm
    from primfunc_profile import format_profile, linear_layer_funcs, profile_primfuncs
    from tvm import relax
    from tvm_blocksparse.schedules.cpu_rules import ApplyScheduleRules

    import tvm_blocksparse
    from tvm_blocksparse.bert_onnx import BERT_CONFIGS, make_bert_onnx, random_inputs
    from tvm_blocksparse.onnx_import import import_onnx
    from tvm_blocksparse.testing import interleaved_times

    target = tvm_blocksparse.target.host_target(args.threads)
    print(f"target {target}  threads {args.threads}  load {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    for name in args.models:
        model = make_bert_onnx(name, seed=0)
        feeds = random_inputs(1, args.seq_len, vocab=BERT_CONFIGS[name].vocab, pad=7)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(
            model.SerializeToString(), so, providers=["CPUExecutionProvider"]
        )

        t0 = time.perf_counter()
        mod, names, _, _ = import_onnx(model, 1, args.seq_len)
        rules = ApplyScheduleRules()
        pipeline = relax.get_pipeline("tvm_blocksparse", target=target, rules=rules)
        ex = tvm.compile(mod, target=target, relax_pipeline=pipeline)
        compile_s = time.perf_counter() - t0
        vm = relax.VirtualMachine(ex, tvm.cpu())
        tvm_args = [tvm.runtime.tensor(feeds[n]) for n in names]

        ref = sess.run(None, feeds)[0]
        out = vm["main"](*tvm_args).numpy()
        rel_err = float(np.abs(out - ref).max() / np.abs(ref).max())

        engines = {
            "tvm_blocksparse": lambda: vm["main"](*tvm_args),
            "onnxruntime": lambda: sess.run(None, feeds),
        }
        wall, cpu = interleaved_times(engines, args.rounds, args.min_time)
        med = {k: float(np.median(v)) for k, v in wall.items()}
        med_cpu = {k: float(np.median(v)) for k, v in cpu.items()}
        row = {
            "model": name,
            "seq_len": args.seq_len,
            "threads": args.threads,
            "compile_s": round(compile_s, 1),
            "max_rel_err_vs_ort": rel_err,
            "tvm_ms": med["tvm_blocksparse"],
            "ort_ms": med["onnxruntime"],
            "tvm_cpu_ms": med_cpu["tvm_blocksparse"],
            "ort_cpu_ms": med_cpu["onnxruntime"],
            "tvm_over_ort": med["tvm_blocksparse"] / med["onnxruntime"],
            "fallback_primfuncs": sorted(k for k, v in rules.listing.items() if v == "fallback"),
        }
        results.append(row)
        print(
            f"{name:<11} tvm_blocksparse {row['tvm_ms']:8.2f} ms (cpu {row['tvm_cpu_ms']:8.2f})  "
            f"onnxruntime {row['ort_ms']:8.2f} ms (cpu {row['ort_cpu_ms']:8.2f})  "
            f"ratio {row['tvm_over_ort']:.3f}  rel.err {rel_err:.1e}  compile {compile_s:.1f} s  "
            f"fallback {row['fallback_primfuncs'] or 'none'}",
            flush=True,
        )
        if name in args.profile:
            # The scheduled module (before VM lowering), rebuilt for per-PrimFunc timing.
            from tvm_blocksparse.pipeline import legalize_passes, schedule_passes

            with target:
                sched = tvm.transform.Sequential(
                    legalize_passes(target) + schedule_passes(ApplyScheduleRules())
                )(mod)
            rows = profile_primfuncs(sched, target)
            print(format_profile(rows, linear_layer_funcs(sched)), flush=True)
            lin = linear_layer_funcs(sched)
            total = sum(r.total_ms for r in rows)
            row["outside_linear_share"] = 1 - sum(r.total_ms for r in rows if r.name in lin) / total
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
