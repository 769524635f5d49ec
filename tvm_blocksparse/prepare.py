"""From an ONNX model and compile options to the Relax module and settings the pipeline gets:
what :func:`tvm_blocksparse.compile` and :func:`tvm_blocksparse.tune` share."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from tvm_blocksparse import format as fmt
from tvm_blocksparse.onnx_import import (
    OnnxImportError,
    calibrate_linear_inputs,
    import_onnx,
    index_input_bounds,
    linear_layers,
    load_onnx,
    weight_sample_key,
)
from tvm_blocksparse.progress import reporter

DTYPES = ("int8", "fp32")


@dataclasses.dataclass
class PreparedModel:
    """An imported model (shapes bound) and the settings of its rewrite.

    ``dtype`` is what the target can run (INT8 falls back to FP32 where no INT8 kernel is
    registered at the target's ISA level; ``notes`` says so); FP32 reads 16x4 as "4x1".
    ``static_ranges``: calibrated per-weight input ranges (INT8 with ``calibration``), else None.
    """

    mod: object
    target: object
    dtype: str
    block: str
    threshold: float
    static_ranges: dict | None
    int8_attention: bool
    input_names: list[str]
    input_shapes: dict[str, list[int]]
    input_dtypes: dict[str, str]
    output_names: list[str]
    index_bounds: dict[str, int]
    notes: list[str]
    #: ``{weight_sample_key: (name, weight name)}`` of the ONNX Linear layers (name: the
    #: MatMul/Gemm node's, else the weight's; as :func:`tvm_blocksparse.inspect` names them)
    layer_names: dict = dataclasses.field(default_factory=dict)

    def pipeline_options(self) -> dict:
        """The rewrite options of :func:`tvm_blocksparse.pipeline.get_pipeline`."""
        return dict(
            dtype=self.dtype,
            block=self.block,
            threshold=self.threshold,
            static_ranges=self.static_ranges,
            int8_attention=self.int8_attention,
        )


def int8_fallback_note(target) -> str | None:
    """Why INT8 can't be compiled for ``target`` (no INT8 kernel at its ISA level), else None."""
    from tvm_blocksparse import registry
    from tvm_blocksparse.isa import isa_level, target_has

    int8 = [s for s in registry.specs() if s.int8]
    if any(target_has(s.isa, target) for s in int8):
        return None
    level = isa_level(target)
    needs = " or ".join(sorted({s.isa.name for s in int8}))
    return (
        f"target {target} ({level.name if level else 'no listed ISA level'}) has no INT8 kernel "
        f"(they need {needs}): compiling FP32 instead of INT8"
    )


def prepare_model(
    onnx_path_or_model,
    *,
    batch_size: int = 1,
    seq_len: int = 128,
    dtype: str = "int8",
    sparsity_threshold: float = fmt.DEFAULT_SPARSITY_THRESHOLD,
    block: str = "4x1",
    target=None,
    calibration: list[dict[str, np.ndarray]] | None = None,
    progress=None,
    int8_attention: bool = True,
) -> PreparedModel:
    """Validate the options, import the model with its shapes bound and calibrate (INT8 with
    ``calibration``). Raises ``ValueError`` / ``OnnxImportError`` with what is wrong."""
    from tvm_blocksparse.relay_passes.sparsify_linear import check_options
    from tvm_blocksparse.target import as_target

    say = reporter(progress)
    notes: list[str] = []
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if not isinstance(batch_size, int) or not isinstance(seq_len, int):
        raise ValueError(
            f"batch_size and seq_len must be ints, got {batch_size!r}, {seq_len!r}: a compiled "
            "module is static; for texts of any length use tvm_blocksparse.TextPipeline (one "
            "module per length bucket, padding masked)"
        )
    if batch_size < 1 or seq_len < 1:
        raise ValueError(f"batch_size and seq_len must be >= 1, got {batch_size}, {seq_len}")
    fmt.parse_block(block)  # a clear error for a malformed block string
    tgt = as_target(target)
    note = int8_fallback_note(tgt) if dtype == "int8" else None
    if note:
        warnings.warn(note, stacklevel=3)
        notes.append(note)
        dtype = "fp32"
    if dtype == "fp32" and block == "16x4":
        block = "4x1"  # a zero 16x4 block is 16 zero 4x1 blocks; the pass measures 1x16 too
    check_options(dtype, block, sparsity_threshold)
    say("importing ONNX")
    model = load_onnx(onnx_path_or_model)
    mod, input_names, shapes, dtypes = import_onnx(model, batch_size, seq_len)
    if not _has_linear(mod):
        raise OnnxImportError(
            "no MatMul with a constant weight found: not a BERT-like model, nothing to sparsify"
        )
    static_ranges = None
    if calibration is not None and dtype == "int8":
        if not calibration:
            raise ValueError("calibration: pass at least one feed dict")
        say(f"calibrating activation ranges on {len(calibration)} sample(s)")
        static_ranges = calibrate_linear_inputs(model, calibration, batch_size, seq_len)
    return PreparedModel(
        mod,
        tgt,
        dtype,
        block,
        sparsity_threshold,
        static_ranges,
        int8_attention and dtype == "int8",
        input_names,
        shapes,
        dtypes,
        [o.name for o in model.graph.output],
        index_input_bounds(model),
        notes,
        {weight_sample_key(ly.w_kn): (ly.name, ly.weight_name) for ly in linear_layers(model)},
    )


def _has_linear(mod) -> bool:
    import tvm
    from tvm import relax

    found = []
    matmul = tvm.ir.Op.get("relax.matmul")

    def visit(expr):
        if isinstance(expr, relax.Call) and expr.op.same_as(matmul):
            found.append(expr)

    for _, f in mod.functions_items():
        if isinstance(f, relax.Function):
            relax.analysis.post_order_visit(f, visit)
    return bool(found)
