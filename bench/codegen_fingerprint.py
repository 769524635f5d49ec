"""Fingerprint the code we generate for x86 levels this host may not be able to run.

Why: a refactor of the kernels, the passes or the pipeline must leave the code for every ISA
level as it was, and only some levels execute on a given machine. This hashes, for explicit
(cross-)targets:

- the assembly of every kernel configuration in :data:`KERNEL_CASES` (each compiled alone);
- the exported ``.so`` of BERT-Mini (90 % 4x1, 64 tokens) in INT8 dynamic, INT8 static and
  FP32, debug sections stripped: code and constants (byte-deterministic for a given input).

Equal hashes before and after a change mean identical machine code and weights, hence
identical outputs and speed on any CPU of that level. Usage::

    python bench/codegen_fingerprint.py --json before.json
    python bench/codegen_fingerprint.py --compare before.json     # exit 1 on a difference
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

#: Cross-targets whose code is fingerprinted: the project's reference Zen 4 (AVX-512 VNNI), a
#: Sapphire Rapids (AMX INT8 too) and a Zen 3 (AVX2 + FMA).
TARGETS = {
    "znver3": {"kind": "llvm", "mcpu": "znver3", "num-cores": 2},
    "znver4": {"kind": "llvm", "mcpu": "znver4", "num-cores": 2},
    "sapphirerapids": {"kind": "llvm", "mcpu": "sapphirerapids", "num-cores": 2},
}


def _epilogues():
    from tvm_blocksparse.op.epilogue import Epilogue

    return {
        "i32": Epilogue("int32"),
        "f32": Epilogue("float32"),
        "f32_bias_gelu": Epilogue("float32", bias=True, gelu=True),
        "f32_bias_res": Epilogue("float32", bias=True, residual=True),
        "u8_bias_gelu": Epilogue("uint8", bias=True, gelu=True),
        "u8_bias_res": Epilogue("uint8", bias=True, residual=True),
        "f32t_bias": Epilogue("float32", bias=True, transposed_out=True),
        "u8t_bias_gelu": Epilogue("uint8", bias=True, gelu=True, transposed_out=True),
    }


def kernel_cases():
    """(name, PrimFunc, schedule function) of every kernel configuration fingerprinted."""
    from tvm_blocksparse.schedules import schedule_quantize_transpose_u8

    from tvm_blocksparse import linear, registry
    from tvm_blocksparse.op import bsr_int8_4x1, layer_norm, quantize
    from tvm_blocksparse.op.attention import attention_int8

    eps = _epilogues()
    cases = []

    def add_4x1(name, m, n, k, ep, tile, chunk="default", **kw):
        spec = registry.INT8_4X1
        func = (
            bsr_int8_4x1.bsr_dense_int8_4x1(m, n, k, None, eps[ep], tile, **kw)
            if kw
            else spec.build(
                m,
                n,
                k,
                None,
                eps[ep],
                spec.default_config(m, n, k, eps[ep], token_tile=tile, token_chunk=chunk),
            )
        )
        cases.append((name, func, spec.schedule))

    for ep in eps:
        add_4x1(f"4x1_m128_n768_k768_tt64_{ep}", 128, 768, 768, ep, 64)
        add_4x1(f"4x1_m48_n256_k128_tt48_{ep}", 48, 256, 128, ep, 48)
    for tile in (16, 32):
        add_4x1(f"4x1_m128_n256_k256_tt{tile}_f32", 128, 256, 256, "f32_bias_gelu", tile)
    add_4x1(
        "4x1_m120_n256_k256_tt64_u8res_staged",
        128,
        256,
        256,
        "u8_bias_res",
        64,
        token_chunk=1,
        row_groups=1,
        rows_per_task=1,
        stage_lines=True,
    )
    add_4x1(
        "4x1_m128_n256_k256_tt64_rows4",
        128,
        256,
        256,
        "f32_bias_res",
        64,
        token_chunk=None,
        row_groups=2,
        rows_per_task=4,
    )
    add_4x1("4x1_m384_n768_k3072_rowsouter", 384, 768, 3072, "f32_bias_res", 64, chunk=None)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((256, 128)).astype(np.float32)
    w[rng.random(w.shape) < 0.8] = 0
    for kind, tiles in (("int8_16x4", (12,)), ("int8_dense", (12, 4)), ("fp32_1x16", (12, 16))):
        for tile in tiles:
            for ep in ("f32_bias_gelu", "f32_bias_res") + (
                ("u8_bias_gelu", "i32") if kind != "fp32_1x16" else ()
            ):
                func, sched, _ = linear.prepare_linear(kind, w, 37, eps[ep], token_tile=tile)
                cases.append((f"{kind}_m37_tt{tile}_{ep}", func, sched))
    none = lambda s: s  # noqa: E731
    cases += [
        (
            "quantize_transpose_u8_m128_k768",
            quantize.quantize_transpose_u8(128, 768),
            schedule_quantize_transpose_u8,
        ),
        (
            "quantize_transpose_u8_m21_k37",
            quantize.quantize_transpose_u8(21, 37),
            schedule_quantize_transpose_u8,
        ),
        ("quantize_u8_m64_k768", quantize.quantize_u8(64, 768), none),
        ("dynamic_qparams_m128_k768", quantize.dynamic_qparams(128, 768), none),
        ("layer_norm_qparams_m128_k768", layer_norm.layer_norm_qparams(128, 768, 1e-12), none),
        ("attention_int8_s128_h4_d64", attention_int8(128, 4, 64, 0.125), none),
        ("attention_int8_amx_s128_h4_d64", attention_int8(128, 4, 64, 0.125, amx=True), none),
    ]
    return cases


#: Cases whose code is plain LLVM vectors (any x86-64 level); the others use AVX-512 intrinsics.
FP32_CASES = ("fp32_", "dynamic_qparams", "layer_norm_qparams")


def kernel_fingerprints(target) -> dict[str, str]:
    import tvm
    from tvm.s_tir import Schedule

    from tvm_blocksparse import isa

    out = {}
    for name, func, schedule in kernel_cases():
        # LLVM aborts the process on an intrinsic of a level the target lacks
        needs = (
            isa.AMX_INT8
            if "amx" in name
            else None
            if name.startswith(FP32_CASES)
            else isa.AVX512_VNNI
        )
        if needs is not None and not isa.target_has(needs, target):
            continue
        sch = Schedule(func)
        schedule(sch)
        with target:
            asm = tvm.compile(sch.mod, target=target).mod.inspect_source("asm")
        out[name] = hashlib.sha256(_without_debug_lines(asm).encode()).hexdigest()[:20]
    return out


def _without_debug_lines(asm: str) -> str:
    """The assembly without debug information: source-position directives (``.loc``/``.file``:
    TVMScript line numbers of a few nodes, which move when a file is edited) and the ``.debug_*``
    sections (variable names); not code."""
    kept, in_debug = [], False
    for line in asm.splitlines():
        stripped = line.lstrip()
        if stripped.startswith((".section", ".text", ".data", ".bss")):
            in_debug = ".debug" in stripped
        if not in_debug and not stripped.startswith((".loc", ".file")):
            kept.append(line)
    return "\n".join(kept)


def model_fingerprints(target) -> dict[str, str]:
    import tvm_blocksparse as tb
    from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs

    model = make_bert_onnx("bert-mini", seed=5, sparsity=0.9, block="4x1")
    calib = [random_inputs(1, 64, seed=s, pad=3) for s in range(2)]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in (
            ("int8_dynamic", dict(dtype="int8")),
            ("int8_static", dict(dtype="int8", calibration=calib)),
            ("fp32", dict(dtype="fp32")),
        ):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compiled = tb.compile(model, seq_len=64, target=target, **options)
            path = os.path.join(tmp, f"{name}.so")
            compiled.executable.export_library(
                path
            )  # the compiled module, without export()'s manifest
            # code and constants, not the debug sections (TVMScript source lines of a few nodes)
            # nor the build id (a hash of the file with them)
            subprocess.run(
                ["strip", "--strip-debug", "--remove-section=.note.gnu.build-id", path], check=True
            )
            with open(path, "rb") as f:
                out[f"bert_mini_{name}"] = hashlib.sha256(f.read()).hexdigest()[:20]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    p.add_argument("--skip-models", action="store_true")
    p.add_argument("--json", help="write the fingerprints here")
    p.add_argument(
        "--compare", help="a --json file of an earlier run: report differences, exit 1 on any"
    )
    args = p.parse_args(argv)

    import tvm

    result = {}
    for t in args.targets:
        t0 = time.perf_counter()
        target = tvm.target.Target(TARGETS[t])
        result[t] = kernel_fingerprints(target)
        if not args.skip_models:
            result[t].update(model_fingerprints(target))
        print(
            f"{t}: {len(result[t])} fingerprints in {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        diffs = [
            (t, k, before.get(t, {}).get(k), v)
            for t in result
            for k, v in result[t].items()
            if before.get(t, {}).get(k) != v
        ]
        missing = [(t, k) for t in result for k in before.get(t, {}) if k not in result[t]]
        for t, k, old, new in diffs:
            print(f"DIFFERENT {t} {k}: {old} -> {new}")
        for t, k in missing:
            print(f"MISSING {t} {k}")
        same = sum(len(v) for v in result.values()) - len(diffs)
        print(f"{same} identical, {len(diffs)} different, {len(missing)} missing")
        return 1 if diffs or missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
