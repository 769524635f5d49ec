"""ONNX -> Relax import with the fixes BERT exports need in TVM 0.27.

``tvm.relax.frontend.onnx.from_onnx`` rejects graphs whose shape arithmetic is left as ops
(``Shape -> Gather -> Range``, ``ConstantOfShape`` in the legacy TorchScript exporter's mask code,
``Reshape`` with 0 entries on a tensor of unknown shape). We therefore bind the dynamic input axes
to the static batch x sequence the user asks for and fold every node whose inputs are then known
(``Shape`` of a static tensor, ops on initializers, ``Identity`` of a deduplicated initializer) with
onnx's reference evaluator before handing the graph to TVM.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import NamedTuple

import numpy as np
import onnx
from onnx import numpy_helper


class OnnxImportError(ValueError):
    """The ONNX input can't be used (file missing, not ONNX, unsupported op, bad shapes)."""


def load_onnx(model: str | os.PathLike | onnx.ModelProto) -> onnx.ModelProto:
    """Load a model from a path (external data included) or pass a ModelProto through."""
    if isinstance(model, onnx.ModelProto):
        return model
    path = os.fspath(model)
    if not os.path.isfile(path):
        raise OnnxImportError(f"ONNX file not found: {path}")
    try:
        loaded = onnx.load(path)
    except Exception as err:  # onnx raises DecodeError, google.protobuf errors, ...
        raise OnnxImportError(f"{path} is not a readable ONNX model: {err}") from err
    if not loaded.graph.node:
        raise OnnxImportError(f"{path} has no graph nodes (not an ONNX model?)")
    return loaded


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The real inputs (old exporters also list initializers as graph inputs)."""
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def bind_input_shapes(
    model: onnx.ModelProto, batch_size: int, seq_len: int
) -> dict[str, list[int]]:
    """Static shape per input: symbolic/unknown axis 0 -> batch, axis 1 -> sequence."""
    shapes = {}
    for inp in graph_inputs(model):
        dims = inp.type.tensor_type.shape.dim
        shape = []
        for axis, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            elif axis == 0:
                shape.append(batch_size)
            elif axis == 1:
                shape.append(seq_len)
            else:
                raise OnnxImportError(
                    f"input {inp.name!r}: can't bind dynamic axis {axis} ({d.dim_param!r})"
                )
        shapes[inp.name] = shape
    return shapes


#: Initializers above this many elements are weights: they never decide a shape, so shape
#: inference and shape evaluation run on a skeleton of the graph that takes them as inputs.
_LARGE_INITIALIZER = 1 << 14


def _bound_inputs(model: onnx.ModelProto, input_shapes: dict | None) -> list:
    """Copies of the real graph inputs, dims fixed to ``input_shapes`` where given."""
    inputs = []
    for inp in graph_inputs(model):
        copy = onnx.ValueInfoProto()
        copy.CopyFrom(inp)
        if input_shapes is not None:
            dims = copy.type.tensor_type.shape.dim
            for d, v in zip(dims, input_shapes[inp.name], strict=True):
                d.Clear()
                d.dim_value = v
        inputs.append(copy)
    return inputs


def _new_model_like(model: onnx.ModelProto) -> onnx.ModelProto:
    """An empty model with ``model``'s header (IR version, opsets, functions, metadata)."""
    out = onnx.ModelProto()
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version"):
        setattr(out, field, getattr(model, field))
    out.doc_string = model.doc_string
    out.opset_import.extend(model.opset_import)
    out.functions.extend(model.functions)
    out.metadata_props.extend(model.metadata_props)
    out.graph.name = model.graph.name
    return out


def _skeleton(model: onnx.ModelProto, input_shapes: dict | None = None):
    """(``model`` with its large initializers turned into graph inputs of the same type and
    shape, the names of those) -- serializing a BERT-Base skeleton costs milliseconds instead of
    the ~0.8 s of its 440 MB of weights, and shape inference / ORT session creation with it."""
    g = model.graph
    large = [t for t in g.initializer if int(np.prod(t.dims)) > _LARGE_INITIALIZER]
    names = {t.name for t in large}
    skeleton = _new_model_like(model)
    sg = skeleton.graph
    sg.node.extend(g.node)
    sg.input.extend(_bound_inputs(model, input_shapes))
    sg.input.extend(
        onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in large
    )
    sg.output.extend(g.output)
    sg.initializer.extend(t for t in g.initializer if t.name not in names)
    sg.value_info.extend(g.value_info)
    return skeleton, [t.name for t in large]


def fold_constants(model: onnx.ModelProto, input_shapes: dict[str, list[int]]) -> onnx.ModelProto:
    """Fix input shapes and fold every node computable at compile time into an initializer.
    Returns a new model (``model`` is not changed)."""
    from onnx.reference import ReferenceEvaluator

    skeleton, _ = _skeleton(model, input_shapes)
    try:
        inferred = onnx.shape_inference.infer_shapes(skeleton)
    except Exception:  # shape inference is best effort; folding just finds fewer Shape ops
        inferred = skeleton
    static_shapes = {}
    for vi in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            static_shapes[vi.name] = [d.dim_value for d in dims]
        elif vi.type.tensor_type.HasField("shape") and not dims:
            static_shapes[vi.name] = []

    if any(o for n in model.graph.node for o in n.output if o and o not in static_shapes):
        # onnx's shape inference gives up inside transformers' mask and attention code; running
        # the graph once on dummy inputs of the bound shapes gives every tensor's static shape.
        static_shapes.update(_shapes_by_evaluation(model, input_shapes))

    known = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    kept = []
    for node in model.graph.node:
        value = None
        if node.op_type == "Constant":
            value = _run_node(ReferenceEvaluator, node, [])
        elif node.op_type == "Shape" and node.input[0] in static_shapes:
            attrs = {a.name: a.i for a in node.attribute}
            full = static_shapes[node.input[0]]
            start, end = attrs.get("start", 0), attrs.get("end", len(full))  # opset 15 slicing
            value = [np.array(full[start:end], np.int64)]
        elif (
            node.domain in ("", "ai.onnx")
            and all(i == "" or i in known for i in node.input)
            and node.input
        ):
            if node.op_type == "Gather":
                _check_constant_gather(
                    node, known[node.input[0]], known[node.input[1]], input_shapes
                )
            try:
                value = _run_node(ReferenceEvaluator, node, [known.get(i) for i in node.input])
            except Exception:
                value = None  # leave it to the frontend
        if value is None:
            kept.append(node)
            continue
        for name, v in zip(node.output, value, strict=False):
            known[name] = np.asarray(v)

    used = {i for n in kept for i in n.input} | {o.name for o in model.graph.output}
    # An output that folded to a constant leaves nothing to compile (TVM's importer can't take it).
    for out in model.graph.output:
        if out.name in known:
            raise OnnxImportError(f"output {out.name!r} is a constant; nothing to compile")
    folded = _new_model_like(model)
    folded.graph.node.extend(kept)
    folded.graph.input.extend(i for i in _bound_inputs(model, input_shapes) if i.name not in known)
    folded.graph.output.extend(model.graph.output)
    folded.graph.initializer.extend(
        numpy_helper.from_array(v, k) for k, v in known.items() if k in used
    )
    return folded


def _gather_axis(node, ndim: int) -> int:
    """A Gather node's ``axis`` attribute (default 0), made non-negative for a table of ``ndim``."""
    return next((a.i for a in node.attribute if a.name == "axis"), 0) % max(ndim, 1)


def _check_constant_gather(node, table: np.ndarray, indices: np.ndarray, input_shapes) -> None:
    """A Gather whose table and indices are both known once the inputs are bound (position
    embeddings: ``range(seq_len)``) must stay inside the table, else the user asked for a longer
    sequence than the model has positions for; say so instead of failing inside TVM's frontend."""
    rows = table.shape[_gather_axis(node, table.ndim)] if table.ndim else 0
    if indices.size and (int(indices.max()) >= rows or int(indices.min()) < -rows):
        wanted = int(indices.max()) if int(indices.max()) >= rows else int(indices.min())
        raise OnnxImportError(
            f"Gather of {node.input[0]!r} ({rows} rows) needs row {wanted} with the input shapes "
            f"{input_shapes}: the sequence is longer than the model's table (position "
            "embeddings?); "
            f"use seq_len <= {rows}"
        )


def _shapes_by_evaluation(
    model: onnx.ModelProto, input_shapes: dict[str, list[int]]
) -> dict[str, list[int]]:
    """Static shape of every node output, by running the graph once on zeros (token ids) and
    ones (masks) of the bound input shapes."""
    outputs = [o for n in model.graph.node for o in n.output if o]
    feeds = {}
    for inp in graph_inputs(model):
        dtype = onnx.helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type)
        fill = np.ones if "mask" in inp.name.lower() else np.zeros
        feeds[inp.name] = fill(input_shapes[inp.name], dtype)
    try:
        values = _graph_runner(model, outputs)(feeds)
    except Exception:  # nothing can run it: keep what shape inference found
        return {}
    return {
        name: list(np.shape(v)) for name, v in zip(outputs, values, strict=True) if v is not None
    }


def _graph_runner(model: onnx.ModelProto, outputs: list[str]):
    """``feeds -> [values of outputs]`` for any tensors of the graph: onnxruntime when it can run
    the model (faster, more complete), else onnx's reference evaluator (no extra dependency;
    also takes IR versions newer than onnxruntime's)."""
    probe, large = _skeleton(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_empty_tensor_value_info(o) for o in outputs)
    weights = {t.name: t for t in model.graph.initializer if t.name in set(large)}
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # values of every node are outputs here: optimizers that fuse nodes away failed on them
        # (onnxruntime 1.23: "Failed to find node output"), then ORT printed an "EP Error"
        # banner to stdout and retried
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        with contextlib.redirect_stdout(io.StringIO()):
            sess = ort.InferenceSession(
                probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
    except Exception:
        sess = None
    reference = []
    arrays: dict = {}

    def run(feeds):
        if not arrays and weights:
            arrays.update({k: numpy_helper.to_array(t) for k, t in weights.items()})
        feeds = {**feeds, **arrays}
        if sess is not None:
            try:
                return sess.run(outputs, feeds)
            except Exception:
                pass
        if not reference:
            from onnx.reference import ReferenceEvaluator

            reference.append(ReferenceEvaluator(probe))
        return reference[0].run(outputs, feeds)

    return run


class LinearLayer(NamedTuple):
    """A MatMul/Gemm whose weight is a float32 2-D initializer (found through Identity nodes, as
    deduplicated exports have)."""

    activation: str  # the input tensor multiplied by the weight
    weight_name: str  # the initializer
    w_kn: np.ndarray  # the weight as ``[K_in, N_out]``
    stored_transposed: bool  # Gemm transB: the initializer holds ``[N_out, K_in]``
    node_name: str = ""  # the MatMul/Gemm node (exporters name it after the module path)

    @property
    def name(self) -> str:
        """What reports call the layer: its node name, else its weight's name."""
        return self.node_name or self.weight_name


def linear_layers(model: onnx.ModelProto) -> list[LinearLayer]:
    inits = {t.name: t for t in model.graph.initializer}
    alias = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"}
    out = []
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            continue
        name = node.input[1]
        while name in alias:
            name = alias[name]
        if name not in inits:
            continue
        w = numpy_helper.to_array(inits[name])
        if w.ndim != 2 or w.dtype != np.float32:
            continue
        trans_b = node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute)
        out.append(LinearLayer(node.input[0], name, w.T if trans_b else w, trans_b, node.name))
    return out


#: Ops that pass index values through unchanged (shape or dtype only) between a graph input and
#: the Gather that uses it as indices.
_INDEX_PRESERVING_OPS = ("Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Expand")


def index_input_bounds(model: onnx.ModelProto) -> dict[str, int]:
    """``{input name: rows}`` for each graph input that indexes a constant table: the indices of a
    ``Gather`` (directly or through Cast/Reshape/Unsqueeze/...) whose data is an initializer or
    ``Constant`` (through Identity), e.g. ``input_ids`` -> vocabulary size, ``token_type_ids`` -> 2.
    The smallest table wins when an input indexes several.

    TVM lowers the gather to an unchecked load (``take`` in "fast" mode), so an id outside
    ``[0, rows)`` reads outside the table: :meth:`tvm_blocksparse.api.CompiledModel.run` checks
    these bounds first (ONNX would also accept ``[-rows, 0)``, counting from the end; we reject
    it)."""
    inputs = {i.name for i in graph_inputs(model)}
    shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}

    def table_shape(name: str, depth: int = 0):
        if name in shapes:
            return shapes[name]
        node = producer.get(name)
        if node is None or depth > 8:
            return None
        if node.op_type == "Identity":
            return table_shape(node.input[0], depth + 1)
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            return list(value.dims) if value is not None else None
        return None

    def source_input(name: str, depth: int = 0):
        if name in inputs:
            return name
        node = producer.get(name)
        if node is None or depth > 8 or node.op_type not in _INDEX_PRESERVING_OPS:
            return None
        return source_input(node.input[0], depth + 1)

    bounds: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type != "Gather" or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        shape, src = table_shape(node.input[0]), source_input(node.input[1])
        if not shape or src is None:
            continue
        rows = int(shape[_gather_axis(node, len(shape))])
        bounds[src] = min(bounds.get(src, rows), rows)
    return bounds


def _run_node(evaluator_cls, node, values):
    inputs = [f"in{i}" for i in range(len(values))]
    renamed = onnx.helper.make_node(
        node.op_type,
        [n if n == "" else inputs[i] for i, n in enumerate(node.input)],
        [f"out{i}" for i in range(len(node.output))],
        domain=node.domain,
    )
    renamed.attribute.extend(node.attribute)
    ev = evaluator_cls(renamed)
    feeds = {inputs[i]: v for i, v in enumerate(values) if node.input[i] != ""}
    return ev.run(None, feeds)


def import_onnx(model, batch_size: int = 1, seq_len: int = 128):
    """ONNX (path or ModelProto) -> (Relax IRModule with weights as constants, input names, input
    shapes)."""
    from tvm.relax.frontend.onnx import from_onnx

    model = load_onnx(model)
    shapes = bind_input_shapes(model, batch_size, seq_len)
    folded = fold_constants(model, shapes)
    dtypes = {}
    for inp in graph_inputs(folded):
        elem = inp.type.tensor_type.elem_type
        dtypes[inp.name] = str(onnx.helper.tensor_dtype_to_np_dtype(elem))
    opset = max(
        (o.version for o in folded.opset_import if o.domain in ("", "ai.onnx")), default=None
    )
    try:
        mod = from_onnx(
            folded, shape_dict=shapes, dtype_dict=dtypes, opset=opset, keep_params_in_input=False
        )
    except Exception as err:
        raise OnnxImportError(
            f"TVM's ONNX frontend could not import the model: {err}"
            f"{_position_table_hint(model, seq_len)}"
        ) from err
    return mod, list(shapes), shapes, dtypes


def _position_table_hint(model: onnx.ModelProto, seq_len: int) -> str:
    """A hint for the error above when a position-embedding table is shorter than ``seq_len``
    (transformers exports slice a position buffer, so the frontend fails on a broadcast)."""
    floats = (
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.BFLOAT16,
        onnx.TensorProto.DOUBLE,
    )
    short = [
        (t.name, t.dims[0])
        for t in model.graph.initializer  # embedding weights, not position-id buffers
        if "position" in t.name.lower()
        and t.data_type in floats
        and len(t.dims) == 2
        and t.dims[0] < seq_len
    ]
    if not short:
        return ""
    name, rows = short[0]
    return f" (seq_len={seq_len} but {name!r} has {rows} positions: use seq_len <= {rows})"


def weight_key(w_kn: np.ndarray) -> str:
    """Identity of a Linear weight ``[K_in, N_out]`` across ONNX and Relax (content hash)."""
    return _weight_hash(w_kn, 1)


def weight_sample_key(w_kn: np.ndarray) -> str:
    """A cheap identity of a Linear weight ``[K_in, N_out]`` across ONNX and Relax: its shape and
    a hash of at most ~4096 evenly strided values (naming layers must not hash a whole BERT's
    weights on every compile; :func:`weight_key` hashes everything, for calibration)."""
    return _weight_hash(w_kn, max(1, np.size(w_kn) // 4096))


def _weight_hash(w_kn: np.ndarray, step: int) -> str:
    import hashlib

    w = np.ascontiguousarray(w_kn, np.float32)
    return f"{w.shape[0]}x{w.shape[1]}:" + hashlib.sha1(w.ravel()[::step].tobytes()).hexdigest()


def calibrate_linear_inputs(
    model, feeds_list, batch_size: int, seq_len: int
) -> dict[str, tuple[float, float]]:
    """Static quantization ranges: ``{weight_key(W): (min, max)}`` of every Linear's input over
    the calibration feeds (run on the bound, folded graph; onnxruntime when installed, else
    onnx's reference evaluator)."""
    model = load_onnx(model)
    folded = fold_constants(model, bind_input_shapes(model, batch_size, seq_len))
    taps: dict[str, list[str]] = {}  # activation tensor -> weight keys (Q, K, V share one input)
    for layer in linear_layers(folded):
        taps.setdefault(layer.activation, []).append(weight_key(layer.w_kn))
    if not taps:
        raise OnnxImportError("no Linear layer to calibrate")
    names = list(taps)
    run = _graph_runner(folded, names)
    ranges: dict[str, tuple[float, float]] = {}
    for feeds in feeds_list:
        for name, value in zip(names, run(feeds), strict=True):
            lo, hi = float(np.min(value)), float(np.max(value))
            for key in taps[name]:
                old = ranges.get(key)
                ranges[key] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    return ranges
