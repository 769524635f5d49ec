"""Kernel benchmark: our block-sparse kernels beside dense and sparse peers, in one process.

    python bench/spmm.py --threads 1 --json bench/results/spmm_1t.json \
        --plot bench/results/spmm_1t.png

Shapes are the paper's kernel CI (``N_out x K_in x tokens``). Every backend's output is checked
against a reference before it is timed. Figures: median and p10/p90 ms over many repeats,
effective (dense-equivalent ``2*M*N*K``) GOP/s, and the speedup over the best dense INT8 backend
of the same shape. INT8 backends take u8 activations and produce u8 (bias + requantize fused);
``ours_int8_4x1`` takes the activations transposed (``XT[K, M]``, made by our quantize-transpose
op, timed separately as ``ours_quantize_transpose``).
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import os
import sys
import time

from tvm_blocksparse.isa.peers import (
    add_isa_level_option,
    cpuid_capped_level,
    peer_isa_env,
    rerun_with_peer_caps,
)


def _parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--threads", type=int, default=1, help="threads for every backend (default 1)")
    p.add_argument("--json", help="write the records here")
    p.add_argument("--plot", help="write a PNG of speedup vs sparsity here")
    p.add_argument(
        "--shapes", default="all", help="'all', 'bert-large', or comma list like 1024x4096x128"
    )
    p.add_argument("--sparsities", default="0.7,0.75,0.8,0.85,0.9")
    p.add_argument("--backends", default="all", help="comma list of backend names (default all)")
    p.add_argument("--min-time", type=float, default=0.4, help="seconds of timing per backend")
    add_isa_level_option(p)
    return p.parse_args(argv)


ARGS = _parse_args()
# Thread pools read these at import time: set them before numpy/torch/TVM load.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TVM_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# read when each library loads, like the thread counts; a capped CPUID needs a fresh process:
# this script runs again under it (ONNX Runtime, FBGEMM, OpenVINO read nothing else)
UNCAPPED = rerun_with_peer_caps(ARGS.isa_level) if ARGS.isa_level else []
if "MKL_RT" not in os.environ:  # sparse_dot_mkl can't find pip's mkl without it
    found = glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*"))
    if found:
        os.environ["MKL_RT"] = sorted(found)[0]

import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")

from tvm_blocksparse import format as fmt  # noqa: E402
from tvm_blocksparse import linear, registry  # noqa: E402
from tvm_blocksparse.isa import host_cpu_name  # noqa: E402
from tvm_blocksparse.op.epilogue import Epilogue  # noqa: E402
from tvm_blocksparse.op.quantize import padded_tokens  # noqa: E402
from tvm_blocksparse.testing import int8_linear_ref  # noqa: E402

SHAPES = {
    "bert-mini": ["256x256x128", "256x1024x128", "1024x256x128"],
    "distilbert": ["768x768x256", "768x3072x256", "3072x768x256"],
    "bert-large": [
        "1024x1024x128",
        "1024x4096x128",
        "4096x1024x128",
        "1024x1024x384",
        "1024x4096x384",
        "4096x1024x384",
    ],
}
INT8_EPILOGUE = Epilogue("uint8", bias=True)  # u8 in, u8 out, bias fused: every INT8 backend
DENSE_INT8 = ("ours_int8_dense", "torch_int8_dense")  # best dense INT8, AMX included if present
DENSE_INT8_VNNI = ("ours_int8_dense", "torch_int8_dense_vnni")  # AVX-512 VNNI only, no AMX
SPARSE_BACKENDS = (
    "ours_int8_4x1",
    "ours_fp32_1x16",
    "ours_fp32_4x1",
    "scipy_csr",
    "mkl_csr",
    "torch_csr",
)
TORCH_INT8_ENGINES = ("x86", "onednn", "fbgemm")
TORCH_INT8_VNNI_ENGINES = ("x86", "fbgemm")  # never AMX
DENSE_BACKENDS = (
    "ours_int8_dense",
    "torch_int8_dense",
    "torch_int8_dense_vnni",
    "torch_fp32_dense",
    "numpy_fp32_dense",
    "ours_quantize_transpose",
)


def _time_python(fn, min_time: float) -> np.ndarray:
    """Per-call ms of >= 30 repeats, each long enough (>= ~2 ms) to be above timer noise."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-6)
    number = max(1, int(0.002 / once))
    repeat = max(30, int(min_time / (once * number)))
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number * 1e3)
    return np.asarray(out)


def _time_tvm(kern, args, min_time: float) -> np.ndarray:
    once = kern.time_ms(args, number=1, repeat=3).min() / 1e3
    number = max(1, int(0.002 / max(once, 1e-6)))
    repeat = max(30, int(min_time / (once * number)))
    return kern.time_ms(args, number=number, repeat=repeat)


class Case:
    """Inputs of one shape x sparsity, quantized the same way for every INT8 backend."""

    def __init__(self, n, k, m, sparsity, rng):
        self.n, self.k, self.m, self.sparsity = n, k, m, sparsity
        self.x = rng.standard_normal((m, k)).astype(np.float32)
        self.bias = rng.standard_normal(n).astype(np.float32) * 0.1
        self.x_u8, self.x_q = fmt.quantize_activation_u8(self.x)
        self.out_q = fmt.ActivationQuant(scale=0.05, zero_point=128)

    def weight(self, block, rng):
        w = (rng.standard_normal((self.n, self.k)) / np.sqrt(self.k)).astype(np.float32)
        return fmt.prune_blocks(w, self.sparsity, block) if block else w

    def int8_reference(self, wq: fmt.WeightQuant):
        """u8 output of ``requant(dequant(xq @ wq^T) + bias)``: the INT8 backends' contract
        (``wq``: the weight as the kernel quantizes it, ``KernelSpec.quantized_weight``)."""
        return int8_linear_ref(self.x_u8, wq, INT8_EPILOGUE, self.x_q, self.bias, out_q=self.out_q)

    def int8_extra(self):
        # our kernels take per-token parameters: the per-tensor pair of the other backends,
        # repeated (the same results, the same epilogue work as a model's per-token ones)
        x_scale, x_zp = fmt.qparams_arrays(self.x_q, padded_tokens(self.m))
        return dict(
            x_scale=x_scale,
            x_zp=x_zp,
            bias=self.bias,
            out_scale=np.array([self.out_q.scale], np.float32),
            out_zp=np.array([self.out_q.zero_point], np.int32),
        )


def _check_u8(name, y, ref):
    diff = np.abs(y.astype(np.int32) - ref.astype(np.int32))
    if diff.max() > 1 or (diff != 0).mean() > 0.01:
        raise AssertionError(f"{name}: u8 output differs from reference (max {diff.max()})")


def _check_f32(name, y, ref):
    err = np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-6)
    if err > 1e-4:
        raise AssertionError(f"{name}: relative error {err:.2e} vs reference")


# ----------------------------------------------------------------------------- backends


@functools.cache
def bench_target():
    """What our kernels are built for: ``--isa-level`` on this CPU, else this CPU's best."""
    from tvm_blocksparse.target import target_for_level

    return target_for_level(ARGS.isa_level)


def bench_ours_int8(kind, case, w, min_time):
    kern, arrays = linear.build_linear(
        kind, w, case.m, epilogue=INT8_EPILOGUE, target=bench_target()
    )
    spec = registry.lookup(kind, kern.target)
    xt = spec.activation == "XT"
    x_in = {"XT": linear.transpose_pad_u8(case.x_u8)} if xt else {"X": case.x_u8}
    args = kern.bind({**x_in, **arrays, **case.int8_extra()})  # bind takes only its parameters
    kern.module["main"](*args)
    _check_u8(kind, args[-1].numpy(), case.int8_reference(spec.quantized_weight(w)))
    return _time_tvm(kern, args, min_time), ""


def bench_ours_fp32(kind, case, w, min_time):
    ep = Epilogue("float32", bias=True)
    kern, arrays = linear.build_linear(kind, w, case.m, epilogue=ep, target=bench_target())
    args = kern.bind({"X": case.x, "bias": case.bias, **arrays})
    kern.module["main"](*args)
    _check_f32(kind, args[-1].numpy(), case.x @ w.T + case.bias)
    return _time_tvm(kern, args, min_time), ""


def bench_quantize_transpose(case, min_time):
    kern = linear.build_quantize_transpose(case.m, case.k, target=bench_target())
    args = kern.bind({"X": case.x, **case.int8_extra()})
    kern.module["main"](*args)
    if not np.array_equal(args[-1].numpy(), linear.transpose_pad_u8(case.x_u8)):
        raise AssertionError("quantize_transpose differs from numpy")
    return _time_tvm(kern, args, min_time), ""


def bench_torch_int8(case, w, min_time) -> dict[str, np.ndarray]:
    """Static quantized ``Linear`` (u8 in, u8 out, bias) per quantized engine: per-call ms.

    On a CPU with AMX, oneDNN runs it on AMX tiles (``brg_matmul:*_amx``); x86/fbgemm use
    AVX-512 VNNI. At the AVX2 level the weights take 7 bits: fbgemm's ``vpmaddubsw`` path does
    not pair its input channels as ours does and saturates on wider weights (measured: outputs off
    by up to 8)."""
    import torch
    from torch.ao.nn.quantized import Linear as QLinear

    avx2 = registry.lookup("int8_4x1", bench_target()).isa.name == "avx2"
    wq = fmt.quantize_weight_per_channel(w, 64 if avx2 else 127)
    ref = case.int8_reference(wq)
    results = {}
    for engine in TORCH_INT8_ENGINES:
        if engine not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = engine
        qw = torch.quantize_per_channel(
            torch.from_numpy(wq.q.astype(np.float32) * wq.scale[:, None]),
            torch.from_numpy(wq.scale.astype(np.float64)),
            torch.zeros(case.n, dtype=torch.int64),
            0,
            torch.qint8,
        )
        lin = QLinear(case.k, case.n, dtype=torch.qint8)
        lin.set_weight_bias(qw, torch.from_numpy(case.bias))
        lin.scale, lin.zero_point = case.out_q.scale, case.out_q.zero_point
        qx = torch.quantize_per_tensor(
            torch.from_numpy(case.x), case.x_q.scale, case.x_q.zero_point, torch.quint8
        )
        with torch.inference_mode():
            y = lin(qx).int_repr().numpy()
            _check_u8(f"torch_int8_dense[{engine}]", y, ref)
            results[engine] = _time_python(lambda: lin(qx), min_time)
    return results


def best_torch_int8(results: dict[str, np.ndarray], engines) -> tuple[np.ndarray, str] | None:
    """The fastest of ``engines`` among the timed ones, with every engine's median as a note."""
    timed = [e for e in engines if e in results]
    if not timed:
        return None
    best = min(timed, key=lambda e: np.median(results[e]))
    note = f"best engine={best}; " + ", ".join(f"{e}={np.median(results[e]):.4f}ms" for e in timed)
    return results[best], note


def bench_torch_fp32(case, w, min_time):
    import torch

    x, wt, b = torch.from_numpy(case.x), torch.from_numpy(w), torch.from_numpy(case.bias)
    with torch.inference_mode():
        _check_f32(
            "torch_fp32_dense",
            torch.nn.functional.linear(x, wt, b).numpy(),
            case.x @ w.T + case.bias,
        )
        return _time_python(lambda: torch.nn.functional.linear(x, wt, b), min_time), ""


def bench_numpy_fp32(case, w, min_time):
    wt = np.ascontiguousarray(w.T)
    _check_f32("numpy_fp32_dense", case.x @ wt + case.bias, case.x @ w.T + case.bias)
    return _time_python(lambda: case.x @ wt + case.bias, min_time), ""


def bench_scipy_csr(case, w, min_time):
    import scipy.sparse as sp

    csr, xt = sp.csr_matrix(w), np.ascontiguousarray(case.x.T)
    _check_f32("scipy_csr", (csr @ xt).T, case.x @ w.T)
    return _time_python(lambda: csr @ xt, min_time), "Y^T = W_csr @ X^T"


def bench_mkl_csr(case, w, min_time):
    import scipy.sparse as sp
    from sparse_dot_mkl import dot_product_mkl

    csr, xt = sp.csr_matrix(w), np.ascontiguousarray(case.x.T)
    _check_f32("mkl_csr", dot_product_mkl(csr, xt).T, case.x @ w.T)
    return _time_python(lambda: dot_product_mkl(csr, xt), min_time), "Y^T = W_csr @ X^T"


def bench_torch_csr(case, w, min_time):
    import torch

    wc, xt = torch.from_numpy(w).to_sparse_csr(), torch.from_numpy(np.ascontiguousarray(case.x.T))
    with torch.inference_mode():
        _check_f32("torch_csr", torch.sparse.mm(wc, xt).numpy().T, case.x @ w.T)
        return _time_python(lambda: torch.sparse.mm(wc, xt), min_time), "Y^T = W_csr @ X^T"


# ----------------------------------------------------------------------------- driver


def _cpu_flags() -> set[str]:
    from tvm_blocksparse.isa import host_cpu_flags

    return set(host_cpu_flags())


def _host_cannot_run() -> dict[str, str]:
    """Our backends this CPU (or ``--isa-level``) can't execute (no kernel registered at its ISA
    level), with why."""
    from tvm_blocksparse import isa, registry

    target = bench_target()
    level = isa.isa_level(target)
    out = {}
    for name, kind in (
        ("ours_int8_dense", "int8_dense"),
        ("ours_int8_4x1", "int8_4x1"),
        ("ours_fp32_1x16", "fp32_1x16"),
        ("ours_fp32_4x1", "fp32_4x1"),
    ):
        if not registry.available(kind, target):
            needs = registry.lookup(kind).isa.name
            here = level.name if level else "no listed ISA level"
            out[name] = f"this CPU ({here}) can't run it (needs {needs})"
    return out


def _record(shape, sparsity, backend, times, threads, m, n, k, note):
    med = float(np.median(times))
    return {
        "shape": shape,
        "sparsity": sparsity,
        "backend": backend,
        "threads": threads,
        "median_ms": med,
        "p10_ms": float(np.percentile(times, 10)),
        "p90_ms": float(np.percentile(times, 90)),
        "repeats": len(times),
        "gops": 2.0 * m * n * k / (med * 1e-3) / 1e9,
        "note": note,
        "isa_level": ARGS.isa_level,
        "load_avg_1min": os.getloadavg()[0],
    }


def run(args) -> list[dict]:
    shapes = (
        [s for v in SHAPES.values() for s in v]
        if args.shapes == "all"
        else SHAPES[args.shapes]
        if args.shapes in SHAPES
        else args.shapes.split(",")
    )
    sparsities = [float(s) for s in args.sparsities.split(",")]
    wanted = (
        set(SPARSE_BACKENDS + DENSE_BACKENDS)
        if args.backends == "all"
        else set(args.backends.split(","))
    )
    skipped = set()
    for name, reason in _host_cannot_run().items():
        if name in wanted:
            print(f"# skipping {name}: {reason}", flush=True)
            skipped.add(name)
    records = []
    print(
        f"# cpu={host_cpu_name()} amx={'amx_int8' in _cpu_flags()} "
        f"vnni={'avx512_vnni' in _cpu_flags()}"
    )
    if args.isa_level:
        caps = " ".join(f"{k}={v}" for k, v in peer_isa_env(args.isa_level).items())
        cpuid = cpuid_capped_level()
        print(
            f"# --isa-level {args.isa_level}: ours built for {bench_target()}; peers capped by "
            f"{caps or 'nothing (the top level)'}"
            + (f"; CPUID answers as {cpuid}" if cpuid else "")
            + (f"; not capped: {'; '.join(UNCAPPED)}" if UNCAPPED else "")
        )
    print(
        f"# threads={args.threads} load_avg(1 min)={os.getloadavg()[0]:.2f} "
        f"(other processes on a 2-core machine distort timings)",
        flush=True,
    )

    def attempt(names, fn, *a):
        """Run ``fn`` unless none of ``names`` is wanted or its peer is missing."""
        if not any(name in wanted and name not in skipped for name in names):
            return None
        try:
            return fn(*a)
        except ImportError as e:
            print(f"# skipping {', '.join(names)}: not installed ({e.name})", flush=True)
            skipped.update(names)
            return None

    def measure(name, sparsity, fn, *a):
        res = attempt((name,), fn, *a)
        if res:
            records.append(_record(shape, sparsity, name, res[0], args.threads, m, n, k, res[1]))

    for shape in shapes:
        n, k, m = (int(v) for v in shape.split("x"))
        rng = np.random.default_rng(0)
        dense_case = Case(n, k, m, 0.0, rng)
        w_dense = dense_case.weight(None, rng)
        measure(
            "ours_int8_dense",
            0.0,
            bench_ours_int8,
            "int8_dense",
            dense_case,
            w_dense,
            args.min_time,
        )
        # every torch engine is timed once; the two rows are the best of all / of the VNNI ones
        engines = (
            attempt(
                ("torch_int8_dense", "torch_int8_dense_vnni"),
                bench_torch_int8,
                dense_case,
                w_dense,
                args.min_time,
            )
            or {}
        )
        for name, group in (
            ("torch_int8_dense", TORCH_INT8_ENGINES),
            ("torch_int8_dense_vnni", TORCH_INT8_VNNI_ENGINES),
        ):
            best = best_torch_int8(engines, group)
            if name in wanted and best:
                records.append(_record(shape, 0.0, name, best[0], args.threads, m, n, k, best[1]))
        measure("torch_fp32_dense", 0.0, bench_torch_fp32, dense_case, w_dense, args.min_time)
        measure("numpy_fp32_dense", 0.0, bench_numpy_fp32, dense_case, w_dense, args.min_time)
        measure("ours_quantize_transpose", 0.0, bench_quantize_transpose, dense_case, args.min_time)
        for sparsity in sparsities:
            case = Case(n, k, m, sparsity, rng)
            w4 = case.weight("4x1", np.random.default_rng(1))
            w16 = case.weight("1x16", np.random.default_rng(1))
            measure("ours_int8_4x1", sparsity, bench_ours_int8, "int8_4x1", case, w4, args.min_time)
            measure(
                "ours_fp32_1x16", sparsity, bench_ours_fp32, "fp32_1x16", case, w16, args.min_time
            )
            measure("ours_fp32_4x1", sparsity, bench_ours_fp32, "fp32_4x1", case, w4, args.min_time)
            measure("scipy_csr", sparsity, bench_scipy_csr, case, w4, args.min_time)
            measure("mkl_csr", sparsity, bench_mkl_csr, case, w4, args.min_time)
            measure("torch_csr", sparsity, bench_torch_csr, case, w4, args.min_time)
        _print_shape(records, shape)
    return records


def add_ratios(records: list[dict]) -> None:
    """``vs_best_dense_int8``: best dense INT8 median of the shape / this median (AMX included
    where the CPU has it); ``vs_best_dense_int8_vnni``: the same against VNNI-only dense INT8."""
    for key, group in (
        ("vs_best_dense_int8", DENSE_INT8),
        ("vs_best_dense_int8_vnni", DENSE_INT8_VNNI),
    ):
        for shape in {r["shape"] for r in records}:
            dense = [
                r["median_ms"] for r in records if r["shape"] == shape and r["backend"] in group
            ]
            for r in records:
                if r["shape"] == shape and dense:
                    r[key] = min(dense) / r["median_ms"]


def _print_shape(records, shape):
    rows = [r for r in records if r["shape"] == shape]
    add_ratios(rows)
    print(f"\n## {shape} (N_out x K_in x tokens)")
    print(
        f"{'backend':<24}{'sparsity':>9}{'median ms':>11}{'p10':>9}{'p90':>9}{'GOP/s':>9}"
        f"{'vs dense int8':>15}{'vs VNNI dense':>15}"
    )
    for r in rows:
        print(
            f"{r['backend']:<24}{r['sparsity']:>9.2f}{r['median_ms']:>11.4f}{r['p10_ms']:>9.4f}"
            f"{r['p90_ms']:>9.4f}{r['gops']:>9.0f}"
            f"{r.get('vs_best_dense_int8', float('nan')):>14.2f}x"
            f"{r.get('vs_best_dense_int8_vnni', float('nan')):>14.2f}x  {r['note']}",
            flush=True,
        )


def plot(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = sorted({r["shape"] for r in records})
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, backend, base in [
        (axes[0], "ours_int8_4x1", "best VNNI dense INT8"),
        (axes[1], "ours_fp32_1x16", "torch FP32 dense"),
    ]:
        for shape in shapes:
            rows = sorted(
                (r for r in records if r["shape"] == shape and r["backend"] == backend),
                key=lambda r: r["sparsity"],
            )
            if backend == "ours_int8_4x1":
                ys = [r.get("vs_best_dense_int8_vnni", np.nan) for r in rows]
            else:
                ref = [
                    r["median_ms"]
                    for r in records
                    if r["shape"] == shape and r["backend"] == "torch_fp32_dense"
                ]
                ys = [ref[0] / r["median_ms"] if ref else np.nan for r in rows]
            ax.plot([100 * r["sparsity"] for r in rows], ys, marker="o", label=shape)
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.set_xlabel("block sparsity (%)")
        ax.set_ylabel(f"speedup over {base}")
        ax.set_title(f"{backend} ({records[0]['threads']} thread(s))")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    t0 = time.time()
    records = run(ARGS)
    add_ratios(records)
    if ARGS.json:
        os.makedirs(os.path.dirname(os.path.abspath(ARGS.json)), exist_ok=True)
        with open(ARGS.json, "w") as f:
            json.dump(records, f, indent=1)
    if ARGS.plot:
        os.makedirs(os.path.dirname(os.path.abspath(ARGS.plot)), exist_ok=True)
        plot(records, ARGS.plot)
    print(f"\n# done in {time.time() - t0:.0f} s, load_avg(1 min)={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
