"""INT8 attention on real transformers exports: BERT-Base exported with SDPA attention
(transformers' default) against the eager export of the same weights, both pruned to 90 % 4x1
and compiled INT8; which layers fuse the INT8 attention and what each costs, side by side.

    TVM_NUM_THREADS=1 .venv/bin/python bench/attention_exports.py --seq-len 128 --threads 1

Random-init ``BertModel`` (BERT-Base: 12 layers, hidden 768, 12 heads, FFN 3072, vocab 30522),
exported by the legacy TorchScript exporter (``--dynamo``: also the dynamo exporter), pruned with
``tb.prune`` (4x1 = 4 output channels x 1 input channel of ``W[N_out, K_in]``), batch 1, 8
padded positions; outputs of every export are checked against the eager one before timing;
medians of ``--rounds`` interleaved rounds, process CPU ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import warnings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per export per round")
    ap.add_argument("--dynamo", action="store_true", help="also the dynamo exporter's forms")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)  # before TVM's pool starts
    from tvm_blocksparse.testing import pin_to_first_cpus

    pin_to_first_cpus(args.threads)

    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import BERT_CONFIGS, random_inputs
    from tvm_blocksparse.isa import host_cpu_name, host_isa_level
    from tvm_blocksparse.testing import (
        export_transformers_bert,
        interleaved_times,
        min_token_cosine,
    )

    forms = [("eager", False), ("sdpa", False)]
    if args.dynamo:
        forms += [("eager", True), ("sdpa", True)]
    scratch = tempfile.TemporaryDirectory(prefix="attention_exports_")  # removed when main returns
    work = scratch.name
    real = args.seq_len - 8
    feeds = random_inputs(1, args.seq_len, vocab=BERT_CONFIGS["bert-base"].vocab, pad=8)
    models, outputs, fused = {}, {}, {}
    for attn, dynamo in forms:
        name = f"{attn}-{'dynamo' if dynamo else 'legacy'}"
        dense = os.path.join(work, f"{name}.onnx")
        export_transformers_bert(dense, attn, dynamo, shape="bert-base", seq_len=args.seq_len)
        pruned = os.path.join(work, f"{name}_90.onnx")
        tb.prune(dense, pruned, sparsity=args.sparsity, block="4x1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = tb.compile(pruned, seq_len=args.seq_len, dtype="int8", threads=args.threads)
        models[name] = model
        fused[name] = model.metadata["attention"]
        outputs[name] = model.run(feeds)[0][:, :real]
        print(f"{name}: attention {fused[name]}", file=sys.stderr, flush=True)
    ref = outputs["eager-legacy"]
    cosine = {name: min_token_cosine(out, ref) for name, out in outputs.items()}
    _, cpu = interleaved_times(
        {name: (lambda m=m: m.run(feeds)) for name, m in models.items()},
        args.rounds,
        args.min_time,
    )
    ms = {name: statistics.median(v) for name, v in cpu.items()}
    level = host_isa_level()
    print(
        f"\nBERT-Base {args.sparsity:.0%} 4x1 INT8, 1 x {args.seq_len} tokens (8 padded), "
        f"{args.threads} thread(s); host {host_cpu_name()} ({level.name if level else 'none'}); "
        f"median of {args.rounds} interleaved rounds, process CPU ms"
    )
    print("| export | INT8 attention layers | left FP32 | min cosine to eager | ms | vs eager |")
    print("|---|---|---|---|---|---|")
    for name in models:
        f = fused[name]
        print(
            f"| {name} | {f['int8_fused']} | {len(f['left_fp32'])} | {cosine[name]:.6f} | "
            f"{ms[name]:.2f} | {ms[name] / ms['eager-legacy']:.3f}x |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"attention": fused, "cosine": cosine, "ms": ms, "cpu_rounds": cpu}, fh, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
