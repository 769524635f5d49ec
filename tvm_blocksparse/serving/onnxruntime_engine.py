"""ONNX Runtime INT8 behind the same pipeline: the server's ``--engine onnxruntime``, for
side-by-side figures against our modules.

Same saved pipeline directory, same tokenizer, same pooling / label head; the model is the
directory's ``model.onnx`` (the source our modules were compiled from) through ORT's strongest
INT8 setup on CPU: the BERT-optimized graph, then ``quantize_dynamic`` with s8 weights.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import numpy as np


def quantize_dynamic_int8(src: str, path: str, heads: int = 0, hidden: int = 0) -> str:
    """Write ORT's INT8 setup of ``src`` to ``path``: ``optimize_model(model_type="bert")``
    (fused Gelu / LayerNorm / attention; ``heads`` / ``hidden`` 0 = detected from the graph),
    then ``quantize_dynamic`` (s8 weights, u8 dynamic activations). Returns a note: "" or why
    the graph stayed unoptimized."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    note = ""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            opt = optimize_model(src, model_type="bert", num_heads=heads, hidden_size=hidden)
            opt.save_model_to_file(os.path.join(tmp, "opt.onnx"))
            src = os.path.join(tmp, "opt.onnx")
        except Exception as e:  # the optimizer rejects graphs it doesn't know: keep the source
            note = f"unoptimized graph ({type(e).__name__})"
        quantize_dynamic(
            src,
            path,
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return note


def cached_int8_model(src: str, heads: int = 0, hidden: int = 0) -> str:
    """:func:`quantize_dynamic_int8` of ``src``, made once per source content in the user's
    cache directory (a saved pipeline directory may be read-only)."""
    digest = hashlib.sha256()
    with open(src, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    cache = os.path.join(root, "tvm_blocksparse", "onnxruntime_int8")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, digest.hexdigest()[:24] + ".onnx")
    if not os.path.isfile(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        quantize_dynamic_int8(src, tmp, heads, hidden)
        os.replace(tmp, path)  # atomic: concurrent instances never read half a file
    return path


class OnnxRuntimeTextEngine:
    """``run_tokens`` of :class:`tvm_blocksparse.TextPipeline` on ORT INT8 (dynamic shapes).

    Texts run length-sorted in groups padded to their longest, a group closed when padding
    would exceed a quarter of its tokens (ORT gains from batching; padding is wasted work)."""

    def __init__(self, directory: str, threads: int = 1):
        import onnxruntime as ort

        from tvm_blocksparse.text import Pooling, read_pipeline_info

        self.info = read_pipeline_info(directory)
        source = os.path.join(directory, "model.onnx")
        if not os.path.isfile(source):
            raise FileNotFoundError(
                f"{directory} keeps no model.onnx: the onnxruntime engine needs it"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        path = cached_int8_model(
            source, int(self.info.get("heads") or 0), int(self.info.get("hidden") or 0)
        )
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.task = self.info["task"]
        self.pooling = Pooling(**self.info["pooling"])
        self.output_index = int(self.info["output_index"])
        self.pad_id = int(self.info["pad_id"])

    def _groups(self, order: list[int], lengths: list[int], max_waste: float = 0.25):
        group: list[int] = []
        for i in order:  # ascending length: the newest text is the longest of its group
            if group:
                padded = (len(group) + 1) * lengths[i]
                real = sum(lengths[j] for j in group) + lengths[i]
                if padded - real > max_waste * padded or len(group) >= 64:
                    yield group
                    group = []
            group.append(i)
        if group:
            yield group

    def run_tokens(self, token_ids, type_ids=None):
        from tvm_blocksparse.text import label_scores

        lengths = [len(t) for t in token_ids]
        order = sorted(range(len(token_ids)), key=lengths.__getitem__)
        rows: list = [None] * len(token_ids)
        for group in self._groups(order, lengths):
            n = max(lengths[group[-1]], 1)
            ids = np.full((len(group), n), self.pad_id, np.int64)
            mask = np.zeros((len(group), n), np.int64)
            types = np.zeros((len(group), n), np.int64)
            for r, i in enumerate(group):
                ids[r, : lengths[i]] = token_ids[i]
                mask[r, : lengths[i]] = 1
                if type_ids is not None:
                    types[r, : lengths[i]] = type_ids[i]
            every = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            out = self.session.run(None, {k: every[k] for k in self.input_names})[self.output_index]
            for r, i in enumerate(group):
                if self.task == "feature-extraction":
                    rows[i] = self.pooling(out[r], mask[r])
                else:
                    rows[i] = np.asarray(out[r], np.float32)
        if self.task == "text-classification":
            return [label_scores(r, self.info) for r in rows]
        if not rows:
            return np.zeros((0, int(self.info.get("hidden") or 0)), np.float32)
        return np.stack(rows).astype(np.float32)
