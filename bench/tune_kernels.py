"""MetaSchedule tuning of the BERT-Large kernel shapes (issue 5's bar): tune, then time the
default and the tuned kernel of every shape side by side.

    .venv/bin/python bench/tune_kernels.py --trials 64 --work-dir bench/results/tune_bert_large

The shapes come from a one-layer BERT-Large-shaped model (hidden 1024, 16 heads, FFN 4096) pruned
to ``--sparsity`` 4x1 blocks, compiled INT8 at ``--seq-len`` tokens: Q/V (bias), K (bias, stored
transposed for attention), attention output and FFN2 (bias + residual), FFN1 (bias + GELU): the
same kernel calls every BERT-Large layer makes. The database is resumable: run again to continue.
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
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--work-dir", default="bench/results/tune_bert_large")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--json", help="write the table here")
    args = ap.parse_args(argv)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # before TVM's pool starts

    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import BertConfig, make_bert_onnx
    from tvm_blocksparse.target import host_target
    from tvm_blocksparse.tuning import default_vs_tuned, extract_tasks

    t0 = time.perf_counter()
    model = make_bert_onnx(
        BertConfig(layers=1, hidden=1024, heads=16, intermediate=4096),
        seed=0,
        sparsity=args.sparsity,
    )
    opts = dict(seq_len=args.seq_len, dtype="int8")
    tb.tune(model, args.work_dir, trials=args.trials, **opts)
    tune_s = time.perf_counter() - t0
    tasks = extract_tasks(model, **opts)
    print(
        f"\ntiming default vs tuned side by side ({args.rounds} rounds, {args.threads} thread(s), "
        f"load avg {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    rows = default_vs_tuned(tasks, args.work_dir, host_target(args.threads), rounds=args.rounds)
    print(
        f"\n{'kernel (4x1 INT8, ' + str(int(args.sparsity * 100)) + ' %)':<46} {'layers':>6} "
        f"{'default ms':>10} "
        f"{'tuned ms':>9} {'gain':>6} {'equal':>5}  choice"
    )
    for r in rows:
        print(
            f"{r['kernel']:<46} {r['layers']:>6} {r['default_ms']:>10.4f} {r['tuned_ms']:>9.4f} "
            f"{r['gain']:>5.2f}x "
            f"{'yes' if r['outputs_equal'] else 'NO':>5}  {r['choice']}"
        )
    print(f"trial budget {args.trials} (on top of each task's default), tuning took {tune_s:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"trials": args.trials, "tune_seconds": tune_s, "rows": rows}, f, indent=1)
    return 0 if all(r["outputs_equal"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
