"""A/B of two or more source trees of tvm_blocksparse on the same ONNX files, timed in one process.

Three steps (each tree's modules are compiled by that tree, then every exported ``.so`` is loaded
into one process and timed in rotated rounds, so the host's per-process variance drops out)::

    python bench/ab_versions.py models DIR            # random BERT-Mini / BERT-Base, 90 % 4x1
                                                      # (+ e2e.py's real MiniLM where cached)
    PYTHONPATH=TREE python bench/ab_versions.py build DIR OUT [--jobs mini_int8_dyn,...]
        [--isa-level avx2]                            # that level's code (an older CPU's)
    TVM_NUM_THREADS=1 python bench/ab_versions.py time DIR NAME OUT1 OUT2 [...]

``TREE``: a checkout (``git worktree add TREE COMMIT``) with ``TREE/tvm_blocksparse/relay_passes``
and ``TREE/tvm_blocksparse/schedules`` linked to ``../relay_passes`` and ``../schedules`` (the
editable install maps those two packages to this checkout's directories otherwise). ``time``
checks each loaded module gives the output its build recorded and says whether the trees' outputs
are bit-identical to the first's.
"""

import argparse
import json
import os
import time

import numpy as np

JOBS = {
    "mini_int8_dyn": ("bert-mini", {"dtype": "int8"}),
    "mini_int8_static": ("bert-mini", {"dtype": "int8", "calibrate": True}),
    "mini_fp32": ("bert-mini", {"dtype": "fp32"}),
    "base_int8_dyn": ("bert-base", {"dtype": "int8"}),
    "base_fp32": ("bert-base", {"dtype": "fp32"}),
    # INT8 mode with every Linear below the threshold: each takes the cost model's dense kernel
    "mini_int8_dense": ("bert-mini", {"dtype": "int8", "sparsity_threshold": 1.0}),
    "base_int8_dense": ("bert-base", {"dtype": "int8", "sparsity_threshold": 1.0}),
    # the real all-MiniLM-L6-v2 at 90 % 4x1: e2e.py's cached file, linked by `models`
    "minilm_int8_dyn": ("minilm-l6-real", {"dtype": "int8"}),
}
E2E_MINILM = "/tmp/tvm_blocksparse_bench/minilm-l6-real_s90_4x1_p2.onnx"


def make_models(model_dir: str) -> None:
    import onnx

    from tvm_blocksparse.bert_onnx import make_bert_onnx

    os.makedirs(model_dir, exist_ok=True)
    for name in ("bert-mini", "bert-base"):
        onnx.save(
            make_bert_onnx(name, seed=0, sparsity=0.9, block="4x1"), f"{model_dir}/{name}-90.onnx"
        )
    if os.path.exists(E2E_MINILM):  # written by bench/e2e.py --models minilm-l6-real
        link = f"{model_dir}/minilm-l6-real-90.onnx"
        if not os.path.lexists(link):
            os.symlink(E2E_MINILM, link)


def build(model_dir: str, out: str, jobs: list[str], isa_level: str | None = None) -> None:
    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import random_inputs
    from tvm_blocksparse.target import target_for_level

    os.makedirs(out, exist_ok=True)
    print("tvm_blocksparse from", os.path.dirname(tb.__file__), flush=True)
    feeds = random_inputs(1, 128, seed=1, pad=9)
    calibration = [random_inputs(1, 128, seed=2, pad=0)]
    summary = {}
    for name in jobs:
        model, options = JOBS[name]
        options = dict(options)
        if options.pop("calibrate", False):
            options["calibration"] = calibration
        if isa_level:
            options["target"] = target_for_level(isa_level)
        t0 = time.perf_counter()
        m = tb.compile(f"{model_dir}/{model}-90.onnx", seq_len=128, **options)
        compile_s = time.perf_counter() - t0
        np.save(f"{out}/{name}.npy", m.run(feeds)[0])
        m.export(f"{out}/{name}.so")
        kernels: dict[str, int] = {}
        for layer in m.report:
            kernels[str(layer.get("kernel"))] = kernels.get(str(layer.get("kernel")), 0) + 1
        summary[name] = {"compile_s": round(compile_s, 1), "kernels": kernels}
        print(name, summary[name], flush=True)
    with open(f"{out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    np.savez(f"{out}/feeds.npz", **feeds)


def time_trees(name: str, outs: list[str], rounds: int, calls: int, wall: bool = False) -> None:
    import tvm
    from tvm import relax

    feeds = dict(np.load(f"{outs[0]}/feeds.npz"))
    mods = []
    for out in outs:
        path = f"{out}/{name}.so"
        with open(path + ".json") as f:
            meta = json.load(f)
        vm = relax.VirtualMachine(tvm.runtime.load_module(path), tvm.cpu())
        args = []
        for n in meta["input_names"]:
            a = np.ascontiguousarray(feeds[n].astype(meta["input_dtypes"][n]))
            t = tvm.runtime.empty(a.shape, a.dtype, tvm.cpu())
            t.copyfrom(a)
            args.append(t)
        main = vm["main"]
        y = main(*args)
        y = (y if hasattr(y, "numpy") else y[0]).numpy()
        if not np.array_equal(y, np.load(f"{out}/{name}.npy")):
            raise SystemExit(f"{out}: the loaded module's output differs from its build's")
        for _ in range(5):
            main(*args)
        mods.append((out, main, args, y))
    for out, _, _, y in mods[1:]:
        same, diff = np.array_equal(y, mods[0][3]), float(np.abs(y - mods[0][3]).max())
        print(f"{out} vs {outs[0]}: bit-identical={same} max|diff|={diff:.3g}")
    times: dict[str, list[float]] = {out: [] for out in outs}
    clock = time.perf_counter if wall else time.process_time
    for r in range(rounds):
        for out, main, args, _ in mods[r % len(mods) :] + mods[: r % len(mods)]:
            t0 = clock()
            for _ in range(calls):
                main(*args)
            times[out].append((clock() - t0) / calls * 1e3)
    first = float(np.median(times[outs[0]]))
    for out in outs:
        med = float(np.median(times[out]))
        # each round's trees ran back to back: their ratio drops the host's slower spells
        paired = float(np.median(np.asarray(times[out]) / np.asarray(times[outs[0]])))
        print(
            f"{name} {out}: median {med:.3f} ms (p10 {np.percentile(times[out], 10):.3f}, "
            f"p90 {np.percentile(times[out], 90):.3f}), {med / first:.3f}x the first "
            f"(median of the rounds' ratios {paired:.3f})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("models").add_argument("dir")
    b = sub.add_parser("build")
    b.add_argument("dir")
    b.add_argument("out")
    b.add_argument("--jobs", default=",".join(JOBS))
    b.add_argument("--isa-level", help="build that ISA level's code (not above this CPU's)")
    t = sub.add_parser("time")
    t.add_argument("dir")
    t.add_argument("name", choices=sorted(JOBS))
    t.add_argument("outs", nargs="+")
    t.add_argument("--rounds", type=int, default=31)
    t.add_argument("--calls", type=int, default=20)
    t.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="process CPU time (1 thread) or wall time (with TVM_NUM_THREADS > 1: CPU time also "
        "counts the threads' waits for each other)",
    )
    args = ap.parse_args()
    if args.cmd == "models":
        make_models(args.dir)
    elif args.cmd == "build":
        build(args.dir, args.out, args.jobs.split(","), args.isa_level)
    else:
        time_trees(args.name, args.outs, args.rounds, args.calls, args.clock == "wall")


if __name__ == "__main__":
    main()
