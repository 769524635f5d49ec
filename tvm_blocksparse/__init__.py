"""tvm-blocksparse: block-sparse INT8/FP32 Transformer inference on x86 CPUs, built on TVM.

Orientation: weights are ``W[N_out, K_in]``; "4x1" = 4 output channels x 1 input channel (see
:mod:`tvm_blocksparse.format`).

The public names below are imported on first use (PEP 562): ``import tvm_blocksparse`` and the
CLI's ``--help`` don't import TVM (seconds), only what builds or runs a model does.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_PUBLIC = {
    "CompiledModel": "api",
    "LoweredModel": "api",
    "build_entries": "api",
    "compile": "api",
    "export_entries": "api",
    "inspect": "api",
    "load": "api",
    "load_entries": "api",
    "load_weights": "api",
    "lower": "api",
    "prune": "api",
    "save_weights": "api",
    "sparsify_model": "pruning",
    "SparsifyError": "pruning",
    "Epilogue": "op.epilogue",
    "TextPipeline": "text",
    "TextPipelineError": "text",
    "tune": "tuning",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:  # (``from tvm_blocksparse import <submodule>`` then imports it)
        raise AttributeError(f"module 'tvm_blocksparse' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tvm_blocksparse.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_PUBLIC])
