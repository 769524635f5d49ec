"""Environment variables that cap peer libraries (oneDNN, oneMKL, ATen, OpenBLAS, DeepSparse) at
one of our ISA levels: how a newer CPU times the peers as a CPU of that level would run them,
beside our kernels built for that level (:func:`tvm_blocksparse.target.level_target`), in
``bench/spmm.py --isa-level`` and ``bench/e2e.py --isa-level``.

Imports nothing heavy: the variables must be set before numpy, torch or DeepSparse load.
"""

from __future__ import annotations

import argparse

#: ISA level name -> the variables that cap each peer there, read when the library loads: oneDNN
#: (torch's "onednn" INT8 engine and its FP32 primitives), oneMKL (torch's FP32 GEMM,
#: sparse_dot_mkl's CSR; it takes no AVX-512 path on AMD CPUs anyway), ATen's vectorized kernels,
#: OpenBLAS (numpy), DeepSparse (which engine build it loads). MKL's AVX-VNNI cap is AVX2: it runs
#: FP32 only here, where the two levels are the same.
PEER_ISA_CAPS: dict[str, dict[str, str]] = {
    "avx2": {
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NM_ARCH": "avx2",
    },
    "avx_vnni": {
        "ONEDNN_MAX_CPU_ISA": "AVX2_VNNI",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NM_ARCH": "avx2",
    },
    "avx512_vnni": {
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI",
        "MKL_ENABLE_INSTRUCTIONS": "AVX512_E1",
        "ATEN_CPU_CAPABILITY": "avx512",
        "OPENBLAS_CORETYPE": "SkylakeX",
        "NM_ARCH": "avx512",
    },
    "amx_int8": {},  # the highest level: nothing above it to cap
}
#: peers that no variable caps: at a lower ``PEER_ISA_CAPS`` level they still run at the host's
#: own, so a ratio against them is conservative (they are faster than at the capped level).
UNCAPPED_PEERS = (
    "ONNX Runtime (MLAS dispatches on CPUID)",
    "FBGEMM (torch's x86 and fbgemm INT8 engines)",
    "OpenVINO",
)


def peer_isa_env(level: str) -> dict[str, str]:
    """The variables of :data:`PEER_ISA_CAPS` for ``level`` (an ISA level name of
    :mod:`tvm_blocksparse.isa`); ``ValueError`` for another name."""
    if level not in PEER_ISA_CAPS:
        raise ValueError(f"no peer caps for ISA level {level!r}; levels: {sorted(PEER_ISA_CAPS)}")
    return dict(PEER_ISA_CAPS[level])


def add_isa_level_option(parser) -> None:
    """The benchmarks' ``--isa-level`` (argparse): our code built for that level of this CPU, the
    peers capped at it; a level this CPU can't run is refused when parsed. Under a
    ``TVM_BLOCKSPARSE_MAX_ISA`` cap it defaults to the capped CPU's level, so the peers are
    capped with our code (else None: the host's best, peers uncapped)."""
    from tvm_blocksparse.isa import by_name, host_has, host_isa_level, max_isa_level

    def level(name: str) -> str:
        if name not in PEER_ISA_CAPS:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(sorted(PEER_ISA_CAPS))}")
        if not host_has(by_name(name)):
            raise argparse.ArgumentTypeError(f"this CPU can't run {name} code")
        return name

    capped = host_isa_level() if max_isa_level() is not None else None
    parser.add_argument(
        "--isa-level",
        type=level,
        default=capped.name if capped is not None else None,
        metavar="{" + ",".join(sorted(PEER_ISA_CAPS)) + "}",
        help="build our code for this ISA level (not above this CPU's) and cap the peers that "
        "can be capped at it (tvm_blocksparse.isa.peers; not ONNX Runtime, FBGEMM, OpenVINO): "
        "an older CPU's run on a newer one",
    )
