"""``tvm-blocksparse``: compile, run, inspect and prune ONNX BERT models from the shell.

Examples::

    tvm-blocksparse inspect bert.onnx                       # is it sparse enough? in which blocks?
    tvm-blocksparse prune bert.onnx bert90.onnx --sparsity 0.9 --block 4x1
    tvm-blocksparse sparsify MODEL_DIR OUT_DIR --sparsity 0.9 --texts lines.txt   # + distillation
    tvm-blocksparse compile bert90.onnx -o bert90.so --dtype int8 --seq-len 128
    tvm-blocksparse run bert90.so --repeat 20               # random token ids, prints latency
    tvm-blocksparse demo                                    # prune, compile, compare (BERT-Mini)
    tvm-blocksparse tune bert90.onnx --work-dir tune_dir --trials 64   # MetaSchedule (resumable)
    tvm-blocksparse compile bert90.onnx -o bert90.so --tuning-db tune_dir
    tvm-blocksparse bench --models bert-base --threads 1    # vs ORT, PyTorch, OpenVINO, DeepSparse
    tvm-blocksparse pipeline compile MODEL_DIR -o pipe_dir --task feature-extraction
    tvm-blocksparse pipeline run pipe_dir --text "a sentence" --file lines.txt
    tvm-blocksparse serve pipe_dir --instances 2 --port 8000    # /v1/embeddings, /metrics ...

Environment: TVM_NUM_THREADS (threads; default: the cores this process may use),
TVM_BLOCKSPARSE_MAX_ISA=avx2|avx_vnni|avx512_vnni (build, run and refuse as a CPU of that level).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time


def _progress(msg: str) -> None:
    from tvm_blocksparse.progress import logger

    logger.info(msg)


@contextlib.contextmanager
def _progress_on_stderr():
    """The library's progress records (INFO on the ``tvm_blocksparse`` logger) on stderr as
    ``[tvm-blocksparse] msg`` while a command runs; the logger is as before afterwards (a
    process that calls :func:`main` stays as quiet as it was)."""
    from tvm_blocksparse.progress import logger

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[tvm-blocksparse] %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _cmd_inspect(args) -> int:
    from tvm_blocksparse.api import inspect

    target = args.target
    if target and target.lstrip().startswith("{"):
        import json

        target = json.loads(target)
    report = inspect(args.model, block=args.block, threshold=args.threshold, target=target)
    if args.json:
        import json

        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(report)
    return 0


def _cmd_prune(args) -> int:
    from tvm_blocksparse.api import prune

    names = prune(
        args.model,
        args.output,
        sparsity=args.sparsity,
        block=args.block,
        include=args.include,
        exclude=args.exclude,
    )
    print(
        f"pruned {len(names)} weights to {args.sparsity:.0%} {args.block} block sparsity -> "
        f"{args.output}"
    )
    print(
        "note: no fine-tuning was done; use the pruned model for speed, not for its accuracy "
        "(tvm-blocksparse sparsify prunes a transformers directory with distillation)"
    )
    return 0


def layer_table(report: list[dict]) -> str:
    """The compile report (``CompiledModel.report``) as a table, one line per Linear layer;
    ``s8 weights``: the INT8 kernels' per-channel range (``[-qmax, qmax]``) and the channels
    whose large weights span repeated slots (``split``)."""
    lines = [
        f"{'#':>3} {'N_out x K_in':>12} {'tokens':>6} {'sparsity':>8}  {'kernel':<11} "
        f"{'epilogue':<18} {'s8 weights':<14} {'layer':<40} note"
    ]
    for d in report:
        shape = f"{d['n_out']}x{d['k_in']}"
        qmax, split = d.get("weight_qmax", 0), d.get("weight_split_rows", 0)
        weights = f"+-{qmax}" if qmax else "-"
        weights += f", {split} split" if split else ""
        lines.append(
            f"{d['index']:>3} {shape:>12} {d['tokens']:>6} {d['sparsity']:>8.3f}  "
            f"{d['kernel']:<11} {d['epilogue']:<18} {weights:<14} "
            f"{(d.get('name') or '-')[-40:]:<40} {d['reason']}"
        )
    return "\n".join(lines)


def _calibration_feeds(path: str) -> list[dict]:
    """Calibration samples from an ``.npz`` holding one array per ONNX input name: either one
    sample of the compiled shape, or several stacked on a new first axis (``[samples, batch,
    seq]``, told apart by rank: 3 dims for 2-D inputs)."""
    import numpy as np

    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    if not arrays:
        raise ValueError(f"{path} holds no arrays")
    ranks = {a.ndim for a in arrays.values()}
    if ranks == {3}:
        counts = {len(a) for a in arrays.values()}
        if len(counts) != 1:
            raise ValueError(f"{path}: inputs have different sample counts {sorted(counts)}")
        return [{k: a[i] for k, a in arrays.items()} for i in range(counts.pop())]
    if ranks == {2}:
        return [arrays]
    raise ValueError(
        f"{path}: expected [batch, seq] arrays or [samples, batch, seq], got ranks {sorted(ranks)}"
    )


def read_texts_file(path: str) -> tuple[list[str], list[int] | None]:
    """Texts (and labels) of a file: its non-blank lines (as ``pipeline run --file`` reads
    them), or for ``.jsonl`` JSON lines with ``"text"`` and an optional integer ``"label"`` (all
    lines or none)."""
    if not path.endswith(".jsonl"):
        texts, labels = _read_lines(path), []
    else:
        import json

        texts, labels = [], []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    texts.append(row["text"])
                except (ValueError, KeyError, TypeError) as err:
                    raise ValueError(
                        f"{path}:{n}: expected a JSON object with a 'text' ({err})"
                    ) from err
                if "label" in row:
                    labels.append(row["label"])
    if labels and len(labels) != len(texts):
        raise ValueError(f"{path}: {len(labels)} of {len(texts)} lines have a 'label'")
    if not texts:
        raise ValueError(f"{path} holds no text")
    return texts, (labels or None)


def _cmd_sparsify(args) -> int:
    import json

    from tvm_blocksparse.pruning import sparsify_model

    texts, labels = read_texts_file(args.texts)
    heldout = read_texts_file(args.heldout)[0] if args.heldout else None
    tuned = (
        *("sparsity", "block", "steps", "batch_size", "schedule", "lr", "max_seq_len", "seed"),
        *("precision", "hidden_weight", "attention_weight", "criterion", "teacher_cache"),
    )
    report = sparsify_model(
        args.model_dir,
        args.out_dir,
        texts=texts,
        labels=labels,
        teacher=args.teacher,
        heldout_texts=heldout,
        include=args.include,
        exclude=args.exclude,
        threads=args.threads,
        stop_after=args.stop_after,
        # the function's defaults, unless given: one place for them
        **{k: getattr(args, k) for k in tuned if getattr(args, k) is not None},
    )
    if not report["finished"]:
        print(f"stopped at step {report['step']}; run the same command again to resume")
        return 0
    summary = {
        "out_dir": args.out_dir,
        "min_layer_sparsity": report["min_layer_sparsity"],
        "train_seconds": report["train_seconds"],
        "teacher_cached": report["teacher_cached"],
        "final_loss": report["history"][-1]["loss"],
        **({"heldout": report["heldout"]} if "heldout" in report else {}),
    }
    print(json.dumps(summary, indent=1))
    return 0


def _cmd_compile(args) -> int:
    from tvm_blocksparse.api import compile as compile_model

    target = args.target
    if target and target.lstrip().startswith("{"):
        import json

        target = json.loads(target)
    model = compile_model(
        args.model,
        calibration=_calibration_feeds(args.calibration) if args.calibration else None,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        dtype=args.dtype,
        sparsity_threshold=args.threshold,
        block=args.block,
        target=target,
        dump_dir=args.dump_ir,
        tuning_db=args.tuning_db,
        int8_attention=not args.fp32_attention,
        threads=args.threads,
    )
    print(layer_table(model.report))
    att = model.metadata.get("attention", {})
    if att.get("int8_fused") or att.get("left_fp32"):
        print(
            f"attention: {att['int8_fused']} layer(s) INT8"
            + "".join(f"; FP32: {why}" for why in att["left_fp32"])
        )
    if att.get("fp32_fused"):
        print(f"attention: {att['fp32_fused']} layer(s) fused FP32 (one kernel, tiles out)")
    for note in model.metadata.get("notes", []):
        print("note:", note)
    path = model.export(args.output)
    print(f"wrote {path} and {path}.json")
    return 0


def _cmd_run(args) -> int:
    import numpy as np

    from tvm_blocksparse.api import load
    from tvm_blocksparse.target import num_threads

    model = load(args.module, threads=args.threads)
    _progress(
        f"running on {args.threads or num_threads()} threads; "
        f"compiled for {model.metadata.get('target', '?')}"
    )
    if args.inputs:
        data = np.load(args.inputs)
        missing = [n for n in model.input_names if n not in data.files]
        if missing:
            raise ValueError(
                f"{args.inputs} has no array for input(s) {missing} (it holds {data.files})"
            )
        feeds = {n: data[n] for n in model.input_names}
    else:
        from tvm_blocksparse.testing import random_feeds

        feeds = random_feeds(model)
        _progress(
            "no --inputs: random token ids, all-ones masks "
            f"{[model.input_shapes[n] for n in model.input_names]}"
        )
    outs = model.run(feeds)
    for name, o in zip(model.output_names, outs, strict=False):
        print(
            f"{name}: shape {list(o.shape)} {o.dtype} mean {float(o.mean()):.5f} std "
            f"{float(o.std()):.5f}"
        )
    if args.repeat:
        ms = model.time_ms(feeds, number=1, repeat=args.repeat)
        print(
            f"latency: median {np.median(ms):.3f} ms, p10 {np.percentile(ms, 10):.3f}, p90 "
            f"{np.percentile(ms, 90):.3f} "
            f"over {args.repeat} runs"
        )
    if args.save:
        np.savez(args.save, **dict(zip(model.output_names, outs, strict=False)))
    return 0


def _cmd_tune(args) -> int:
    from tvm_blocksparse.tuning import tune

    rows = tune(
        args.model,
        args.work_dir,
        trials=args.trials,
        rpc=args.rpc,
        num_trials_per_iter=args.per_batch,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        dtype=args.dtype,
        sparsity_threshold=args.threshold,
        block=args.block,
    )
    print(f"{'kernel':<44} {'layers':>6} {'default ms':>10} {'tuned ms':>9} {'gain':>6}  variant")
    for r in rows:
        print(
            f"{r['kernel']:<44} {r['layers']:>6} {r['default_ms']:>10.4f} {r['best_ms']:>9.4f} "
            f"{r['default_ms'] / r['best_ms']:>5.2f}x  {r['default_variant']} -> {r['variant']}"
        )
    print(f"records in {args.work_dir}; compile with --tuning-db {args.work_dir}")
    return 0


def _cmd_pipeline_compile(args) -> int:
    from tvm_blocksparse.text import TextPipeline

    calibration = _read_lines(args.calibration) if args.calibration else None
    buckets = [int(b) for b in args.buckets.split(",")] if args.buckets else None
    pipe = TextPipeline.from_pretrained(
        args.model,
        task=args.task,
        dtype=args.dtype,
        sparsity_threshold=args.threshold,
        block=args.block,
        max_seq_len=args.max_seq_len,
        max_batch_size=args.max_batch_size,
        calibration_texts=calibration,
        seq_buckets=buckets,
        jobs=args.jobs,
    )
    first = next(iter(pipe.modules.values()))
    print(layer_table(first.report))
    print(
        f"{args.task}, {args.dtype}, buckets {pipe.seq_buckets} (batch 1 each), "
        f"max {pipe.max_len} tokens"
    )
    print(f"wrote {pipe.save(args.output)}")
    return 0


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    return [line for line in lines if line.strip()]


def _cmd_pipeline_run(args) -> int:
    import numpy as np

    from tvm_blocksparse.text import TextPipeline

    texts = list(args.text or []) + (_read_lines(args.file) if args.file else [])
    if not texts:
        raise ValueError("give texts with --text and/or --file")
    pipe = TextPipeline.load(args.pipeline, threads=args.threads)
    out = pipe(texts)
    stats = pipe.throughput(texts, repeat=args.repeat) if args.repeat else None
    for i, text in enumerate(texts[: args.show]):
        shown = text if len(text) <= 60 else text[:57] + "..."
        if pipe.task == "text-classification":
            print(f"{i:>4} {out[i]['label']} {out[i]['score']:.4f}  {shown!r}")
        else:
            v = out[i]
            print(f"{i:>4} [{v.shape[0]}] norm {np.linalg.norm(v):.4f} {v[:3].round(4)}  {shown!r}")
    if len(texts) > args.show:
        print(f"... {len(texts) - args.show} more")
    if pipe.task == "feature-extraction":
        print(f"embeddings: {out.shape} {out.dtype}")
    if stats:
        print(
            f"{stats['texts']} texts, {stats['tokens']} tokens in {stats['seconds'] * 1e3:.1f} ms "
            f"(median of {args.repeat}): "
            f"{stats['texts_per_s']:.1f} texts/s, {stats['tokens_per_s']:.0f} tokens/s"
        )
    if args.save:
        np.save(args.save, out if pipe.task == "feature-extraction" else np.array(out, object))
    return 0


def _server_defaults() -> dict:
    import dataclasses

    from tvm_blocksparse.serving.server import ServerConfig

    return {f.name: f.default for f in dataclasses.fields(ServerConfig)}


def _cmd_serve(args) -> int:
    import dataclasses

    from tvm_blocksparse.serving.server import ServerConfig, parse_models, serve

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise RuntimeError(
            f"serving needs the 'serve' extra ({err}): pip install 'tvm-blocksparse[serve]'"
        ) from None
    models = parse_models(args.pipelines, args.model)
    config = ServerConfig(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(ServerConfig)}
    )
    _progress(
        f"serving {sorted(models)} on http://{args.host}:{args.port} ({config.engine}, "
        f"{config.instances} instance(s) x {config.threads_per_instance} thread(s))"
    )
    serve(models, config, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _cmd_demo(args) -> int:
    from tvm_blocksparse import demo

    keep = ["--keep", args.keep] if args.keep else []
    return demo.main(["--model", args.model, "--seq-len", str(args.seq_len), *keep])


def _launch_bench(args: list[str]) -> int:
    """Run ``bench/e2e.py`` of the source checkout this package is installed from (the benchmark
    and its peers are not part of the installed package)."""
    import os
    import subprocess

    script = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "e2e.py"
    )
    if not os.path.isfile(script):
        print(
            "tvm-blocksparse bench: error: the benchmark lives in bench/e2e.py of a source "
            "checkout "
            "(pip install -e .); this installation has none",
            file=sys.stderr,
        )
        return 2
    return subprocess.call([sys.executable, script, *args])


def _version() -> str:
    """The installed distribution's version (the package's own where it isn't installed)."""
    from importlib import metadata

    try:
        return metadata.version("tvm-blocksparse")
    except metadata.PackageNotFoundError:
        from tvm_blocksparse import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    # numpy only, both: the CLI stays quick to start
    from tvm_blocksparse.format import DEFAULT_SPARSITY_THRESHOLD
    from tvm_blocksparse.text import TASKS

    ap = argparse.ArgumentParser(
        prog="tvm-blocksparse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = ap.add_subparsers(dest="command", required=True)
    block_help = (
        'block shape "OUTxIN" of W[N_out, K_in]: 4x1 (INT8, the paper\'s), 16x4 (INT8), 1x16 (FP32)'
    )

    p = sub.add_parser("inspect", help="per-layer block sparsity and what would go sparse")
    p.add_argument("model", help="ONNX file")
    p.add_argument("--block", default="4x1", help=block_help)
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_SPARSITY_THRESHOLD,
        help="block sparsity from which a layer goes sparse",
    )
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument(
        "--target",
        help='estimate for this TVM target (JSON, e.g. \'{"kind": "llvm", "mcpu": '
        '"icelake-server"}\'; default: this CPU)',
    )
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser(
        "prune", help="magnitude block pruning of every Linear weight (no fine-tuning)"
    )
    p.add_argument("model")
    p.add_argument("output")
    p.add_argument("--sparsity", type=float, default=0.9)
    p.add_argument("--block", default="4x1", help=block_help)
    p.add_argument(
        "--include",
        action="append",
        metavar="PATTERN",
        help="prune only layers whose node or weight name matches (fnmatch; repeatable)",
    )
    p.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="leave matching layers dense (repeatable; default: *pooler* *classifier* "
        "*qa_outputs* *score*, the task heads; --exclude '' prunes them too)",
    )
    p.set_defaults(func=_cmd_prune)

    p = sub.add_parser(
        "sparsify",
        help="gradual block pruning with distillation of a transformers / sentence-transformers "
        "directory (needs the 'train' extra)",
    )
    p.add_argument("model_dir")
    p.add_argument("out_dir", help="written in the layout of model_dir, + sparsify_report.json")
    p.add_argument("--texts", required=True, help="training texts: one per line, or .jsonl")
    p.add_argument("--heldout", help="texts to measure fidelity to the dense model on")
    p.add_argument("--teacher", help="model directory to distil from (default: model_dir)")
    p.add_argument("--sparsity", type=float, help="default 0.9")
    p.add_argument("--block", help="default 4x1; " + block_help)
    p.add_argument("--steps", type=int, help="optimizer steps (default: sparsify_model's)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--schedule", choices=("cubic", "linear"))
    p.add_argument(
        "--criterion",
        choices=("magnitude", "obs"),
        help="how blocks are chosen: block magnitude (default), or Optimal Brain Surgeon "
        "saliency on the inputs' second moments with the kept weights repaired",
    )
    p.add_argument("--lr", type=float)
    p.add_argument("--max-seq-len", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--hidden-weight", type=float, help="weight of the hidden-state loss")
    p.add_argument(
        "--attention-weight", type=float, help="weight of the attention-map KL (default 0: off)"
    )
    p.add_argument("--threads", type=int, help="torch threads (default: the CPUs this may use)")
    p.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        help="forward passes in bfloat16 autocast or float32 (default auto: bf16 where the CPU "
        "has AMX-BF16 / AVX512-BF16)",
    )
    p.add_argument(
        "--no-teacher-cache",
        dest="teacher_cache",
        action="store_false",
        default=None,
        help="run the teacher every step instead of once per text (by default its outputs and "
        "hidden states are kept in memory when texts repeat and they fit in a quarter of the RAM)",
    )
    p.add_argument(
        "--stop-after", type=int, help="run this many steps, checkpoint, stop (run again: resume)"
    )
    p.add_argument("--include", action="append", metavar="PATTERN")
    p.add_argument("--exclude", action="append", metavar="PATTERN")
    p.set_defaults(func=_cmd_sparsify)

    p = sub.add_parser("compile", help="ONNX -> .so (manifest inside, + a readable .so.json copy)")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True, help="path of the .so to write")
    p.add_argument(
        "--dtype",
        choices=["int8", "fp32"],
        default="int8",
        help="int8: u8 x s8 kernels (AVX-512 VNNI, AVX-VNNI or AVX2), activations quantized "
        "per token at run time (fp32 below AVX2); fp32: 4x1 or 1x16 sparse kernels, per layer",
    )
    p.add_argument("--block", default="4x1", help=block_help)
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_SPARSITY_THRESHOLD,
        help="a Linear goes sparse from this block sparsity on; below it runs our dense kernel",
    )
    p.add_argument(
        "--batch-size", type=int, default=1, help="static batch the dynamic axis 0 is bound to"
    )
    p.add_argument(
        "--seq-len", type=int, default=128, help="static sequence length bound to axis 1"
    )
    p.add_argument(
        "--target",
        help='TVM target as JSON, e.g. \'{"kind": "llvm", "mcpu": "cascadelake"}\' '
        "(default: this CPU)",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="cores the schedules are built for (default: the CPUs this process may use)",
    )
    p.add_argument(
        "--calibration",
        metavar="FILE.npz",
        help="INT8 static ranges from these inputs: one array per ONNX input, [batch, seq] or "
        "[samples, batch, seq] (default: ranges measured per token at run time)",
    )
    p.add_argument("--dump-ir", metavar="DIR", help="write the IR after each pipeline phase here")
    p.add_argument(
        "--tuning-db",
        metavar="DIR",
        help="apply the records of `tvm-blocksparse tune --work-dir DIR`",
    )
    p.add_argument(
        "--fp32-attention",
        action="store_true",
        help="INT8 mode: keep softmax(Q K^T) V in FP32 (default: one INT8 VNNI kernel per layer)",
    )
    p.set_defaults(func=_cmd_compile)

    p = sub.add_parser(
        "tune",
        help="MetaSchedule-tune our kernels for this model (resumable)",
        description="Tune every distinct kernel shape the model compiles to (XGBoost cost model, "
        "JSON database in --work-dir; run again to continue). Measure on other machines "
        "with --rpc HOST:PORT:KEY (a TVM RPC tracker; see the README).",
    )
    p.add_argument("model")
    p.add_argument(
        "--work-dir", required=True, help="database directory (created; reused to resume)"
    )
    p.add_argument(
        "--trials",
        type=int,
        default=64,
        help="measurements in all, on top of each default schedule",
    )
    p.add_argument(
        "--per-batch", type=int, default=8, help="candidates measured per search iteration"
    )
    p.add_argument(
        "--rpc",
        metavar="HOST:PORT:KEY",
        help="measure through a TVM RPC tracker instead of locally",
    )
    p.add_argument("--dtype", choices=["int8", "fp32"], default="int8")
    p.add_argument("--block", default="4x1", help=block_help)
    p.add_argument("--threshold", type=float, default=DEFAULT_SPARSITY_THRESHOLD)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--seq-len", type=int, default=128)
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser(
        "run", help="run a compiled .so (its manifest is inside; load only trusted files)"
    )
    p.add_argument("module")
    p.add_argument("--inputs", help=".npz with one array per ONNX input name (default: random ids)")
    p.add_argument("--repeat", type=int, default=10, help="timed runs (0: none)")
    p.add_argument("--save", help="write the outputs to this .npz")
    p.add_argument(
        "--threads",
        type=int,
        help="threads to run with (default: the CPUs this process may use: affinity mask and "
        "cgroup quota; TVM_NUM_THREADS overrides)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "demo", help="prune a BERT-shaped model to 90%% 4x1, compile sparse and dense, compare"
    )
    p.add_argument("--model", default="bert-mini")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument(
        "--keep", metavar="DIR", help="keep the demo's ONNX files in DIR (default: removed)"
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("pipeline", help="text in: tokenizer + compiled buckets + task head")
    psub = p.add_subparsers(dest="pipeline_command", required=True)
    q = psub.add_parser(
        "compile",
        help="model directory -> pipeline directory",
        description="MODEL: a transformers / sentence-transformers directory (exported to ONNX "
        "with torch) or a directory with model.onnx + tokenizer.json (Optimum's layout).",
    )
    q.add_argument("model")
    q.add_argument("-o", "--output", required=True, help="pipeline directory to write")
    q.add_argument("--task", choices=TASKS, default=TASKS[0])
    q.add_argument("--dtype", choices=["int8", "fp32"], default="int8")
    q.add_argument("--block", default="4x1", help=block_help)
    q.add_argument("--threshold", type=float, default=DEFAULT_SPARSITY_THRESHOLD)
    q.add_argument("--max-seq-len", type=int, help="cap on tokens per text (default: the model's)")
    q.add_argument("--max-batch-size", type=int, default=32, help="texts tokenized per step")
    q.add_argument("--buckets", help="sequence-length buckets, e.g. 16,32,64,128 (+ the maximum)")
    q.add_argument("--calibration", metavar="FILE", help="texts, one per line: INT8 static ranges")
    q.add_argument(
        "--jobs", type=int, help="buckets compiled at once, one process each (default: the cores)"
    )
    q.set_defaults(func=_cmd_pipeline_compile)
    q = psub.add_parser("run", help="embed or classify texts with a saved pipeline")
    q.add_argument("pipeline", help="directory written by `pipeline compile`")
    q.add_argument("--text", action="append", help="a text (repeatable)")
    q.add_argument("--file", help="texts, one per line")
    q.add_argument("--show", type=int, default=10, help="results to print")
    q.add_argument("--repeat", type=int, default=1, help="timed passes over the texts (0: none)")
    q.add_argument("--save", help="write embeddings (or labels) to this .npy")
    q.add_argument(
        "--threads",
        type=int,
        help="threads to run with (default: the CPUs this process may use: affinity mask and "
        "cgroup quota; TVM_NUM_THREADS overrides)",
    )
    q.set_defaults(func=_cmd_pipeline_run)

    p = sub.add_parser(
        "serve",
        help="HTTP server: /v1/embeddings, /classify, /health, /metrics over saved pipelines",
        description="Serve saved TextPipeline directories over HTTP with dynamic batching and "
        "multi-instance workers (the `serve` extra: starlette, uvicorn).",
    )
    p.add_argument("pipelines", nargs="*", metavar="DIR", help="a saved pipeline (named after DIR)")
    p.add_argument(
        "--model", action="append", default=[], metavar="NAME=DIR", help="a named pipeline"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--engine", choices=["tvm", "onnxruntime"], default="tvm")
    defaults = _server_defaults()
    for flag, kind, text in (
        ("instances", int, "model instances (processes), each pinned to its cores"),
        ("threads-per-instance", int, "kernel threads per instance"),
        ("max-batch-size", int, "texts merged into one instance run"),
        ("max-batch-tokens", int, "tokens merged into one instance run"),
        ("batch-wait-ms", float, "longest wait for more requests to merge"),
        ("max-queue", int, "queued requests per model; beyond: 429"),
        ("max-texts-per-request", int, "beyond: 413"),
        ("max-chars-per-text", int, "beyond: 413"),
        ("max-body-bytes", int, "beyond: 413"),
        ("request-timeout-s", float, "queued + running; beyond: 504"),
        ("max-queue-wait-ms", float, "expected wait beyond which a request gets 429 (0: off)"),
    ):
        name = flag.replace("-", "_")
        p.add_argument(
            f"--{flag}", type=kind, default=defaults[name], help=f"{text} (default %(default)s)"
        )
    p.add_argument("--log-level", default="warning", help="uvicorn's log level")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser(
        "bench",
        add_help=False,
        help="end-to-end benchmark vs ONNX Runtime, PyTorch, OpenVINO, DeepSparse (bench --help)",
    )
    p.add_argument("args", nargs=argparse.REMAINDER)  # handled in main()
    return ap


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # argparse's REMAINDER would not pass on options such as --help
        return _launch_bench(argv[1:])
    args = build_parser().parse_args(argv)
    with _progress_on_stderr():
        return _run_command(args)


def _run_command(args) -> int:
    from tvm_blocksparse.onnx_import import OnnxImportError
    from tvm_blocksparse.text import TextPipelineError

    t0 = time.perf_counter()
    try:
        rc = args.func(args)
    except (
        OnnxImportError,
        TextPipelineError,
        FileNotFoundError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        ImportError,  # an optional extra missing (e.g. tune's): the message names it
    ) as err:
        print(f"tvm-blocksparse {args.command}: error: {err}", file=sys.stderr)
        return 2
    _progress(f"{args.command} done in {time.perf_counter() - t0:.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
