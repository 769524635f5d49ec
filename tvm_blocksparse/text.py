"""Text in, embeddings or labels out: the model's tokenizer, compiled length buckets, a task head.

    pipe = TextPipeline.from_pretrained("all-MiniLM-L6-v2/", task="feature-extraction")
    emb = pipe(["a sentence", "another one"])        # float32 [2, hidden], as the model declares
    pipe.save("minilm_pipe/"); pipe = TextPipeline.load("minilm_pipe/")   # no torch needed

Shapes: our compiled modules are static, so a pipeline holds one module per sequence-length
bucket (``seq_buckets``, e.g. 16, 32, ..., the model's maximum), each for batch 1, and runs every
text in the smallest bucket that holds its tokens, the padding masked out by the attention mask.
The buckets are entries of one library and run with one store of weight arrays
(:func:`tvm_blocksparse.api.build_entries`, ``weights="separate"``).
Batch 1 because the INT8 attention kernel is per sequence and because a batch of texts would pad
each to the longest; ``max_batch_size`` bounds how many texts are tokenized and held at a time.
Texts run in length order (sentence-transformers' ``encode`` order); results come back in the
caller's order.

Padding is exact in FP32 (masked keys add exact zeros to the softmax); in INT8 with run-time
(dynamic) activation ranges the padded positions take part in each tensor's range, so outputs for
the real tokens can differ in the last quantization step from an unpadded run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

from tvm_blocksparse.format import DEFAULT_SPARSITY_THRESHOLD
from tvm_blocksparse.progress import reporter

TASKS = ("feature-extraction", "text-classification")
#: Candidate bucket lengths, steps of ~1.5x (a text pays for at most ~1.5x its tokens); the
#: model's maximum is always added (bench/README.md, "Text pipelines").
DEFAULT_SEQ_BUCKETS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
_FORMAT_VERSION = 1
_PIPELINE_FILE = "pipeline.json"
_TOKENIZER_FILE = "tokenizer.json"
_WEIGHTS_FILE = "weights.params"  # every bucket's weight arrays, each once
_LIBRARY_FILE = "buckets.so"  # every bucket's code, an entry each
_ONNX_FILE = "model.onnx"
#: Weight files a transformers model directory may hold (what ``read_model_directory`` and
#: ``sparsify_model`` look for).
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
#: sentence-transformers' ``1_Pooling/config.json`` key of each pooling mode.
_POOLING_KEYS = {
    "cls": "pooling_mode_cls_token",
    "mean": "pooling_mode_mean_tokens",
    "max": "pooling_mode_max_tokens",
    "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens",
}


class TextPipelineError(ValueError):
    """The model directory, the task or the texts can't be used (the message says why)."""


# ----------------------------------------------------------------------------- the model directory


@dataclasses.dataclass(frozen=True)
class Pooling:
    """How token states ``[n, L, H]`` become one vector per text (sentence-transformers'
    ``Pooling`` + optional ``Normalize``); padded positions (mask 0) never take part."""

    mode: str = "mean"
    normalize: bool = False

    def __call__(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``hidden`` float32 ``[L, H]`` of one text, ``mask`` ``[L]`` (1 = real token) ->
        float32 ``[H]``."""
        real = hidden[mask.astype(bool)]
        if self.mode == "cls":
            out = hidden[0]
        elif self.mode == "max":
            out = real.max(axis=0)
        else:
            total = real.sum(axis=0, dtype=np.float64)
            n = max(len(real), 1)
            out = total / (np.sqrt(n) if self.mode == "mean_sqrt_len" else n)
        out = np.asarray(out, np.float32)
        if self.normalize:
            out = out / max(float(np.linalg.norm(out)), 1e-12)
        return out


@dataclasses.dataclass
class ModelDirectory:
    """What :meth:`TextPipeline.from_pretrained` found in ``path``.

    ``layout``: "onnx" (``model.onnx`` + ``tokenizer.json``, Optimum's export layout) or
    "transformers" (``config.json`` + weights + ``tokenizer.json``; sentence-transformers
    directories too, whose ``modules.json`` names the transformer, pooling and normalize)."""

    path: str
    layout: str
    model_dir: str  # where config.json / weights / model.onnx live
    tokenizer_file: str
    config: dict
    pooling: Pooling
    max_len: int


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise TextPipelineError(f"can't read {path}: {err}") from err


def sentence_transformers_modules(path: str) -> tuple[str, Pooling | None, int | None]:
    """(transformer directory, declared pooling, ``max_seq_length``) of a sentence-transformers
    directory; (path, None, None) when ``modules.json`` is absent."""
    modules_file = os.path.join(path, "modules.json")
    if not os.path.isfile(modules_file):
        return path, None, None
    modules = _read_json(modules_file)
    transformer_dir, pooling, normalize = path, None, False
    for m in modules if isinstance(modules, list) else []:
        kind = str(m.get("type", "")).rsplit(".", 1)[-1]
        sub = os.path.join(path, m.get("path", ""))
        if kind == "Transformer":
            transformer_dir = sub
        elif kind == "Pooling":
            cfg = _read_json(os.path.join(sub, "config.json"))
            modes = [mode for mode, key in _POOLING_KEYS.items() if cfg.get(key)]
            if len(modes) != 1:
                raise TextPipelineError(
                    f"{sub}/config.json: exactly one pooling mode is supported (cls, mean, max, "
                    f"mean_sqrt_len), this declares {sorted(modes) or 'none'}"
                )
            pooling = modes[0]
        elif kind == "Normalize":
            normalize = True
        else:
            raise TextPipelineError(
                f"{modules_file}: module type {m.get('type')!r} is not supported (Transformer, "
                "Pooling and Normalize are)"
            )
    st_config = os.path.join(transformer_dir, "sentence_bert_config.json")
    max_seq = _read_json(st_config).get("max_seq_length") if os.path.isfile(st_config) else None
    declared = Pooling(pooling or "mean", normalize) if (pooling or normalize) else None
    return transformer_dir, declared, max_seq


def read_model_directory(path: str | os.PathLike, max_seq_len: int | None = None) -> ModelDirectory:
    """Find the layout, tokenizer, config, pooling and maximum length of a model directory."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise TextPipelineError(f"model directory not found: {path}")
    model_dir, pooling, st_max = sentence_transformers_modules(path)
    onnx_dir = next(
        (
            d
            for d in (model_dir, os.path.join(model_dir, "onnx"))
            if os.path.isfile(os.path.join(d, _ONNX_FILE))
        ),
        None,
    )
    has_config = os.path.isfile(os.path.join(model_dir, "config.json"))
    has_weights = any(os.path.isfile(os.path.join(model_dir, w)) for w in WEIGHT_FILES)
    if onnx_dir is not None:
        layout = "onnx"
    elif has_config and has_weights:
        layout = "transformers"
    else:
        raise TextPipelineError(
            f"{path} is neither a transformers / sentence-transformers model directory "
            f"(config.json + {' or '.join(WEIGHT_FILES)} + tokenizer.json) nor an ONNX export "
            f"directory ({_ONNX_FILE} + tokenizer.json)"
        )
    tokenizer_file = next(
        (
            os.path.join(d, _TOKENIZER_FILE)
            for d in (model_dir, onnx_dir or model_dir, path)
            if os.path.isfile(os.path.join(d, _TOKENIZER_FILE))
        ),
        None,
    )
    if tokenizer_file is None:
        raise TextPipelineError(
            f"no {_TOKENIZER_FILE} in {path}: the pipeline needs the model's fast tokenizer file "
            "(transformers writes it with tokenizer.save_pretrained(dir))"
        )
    config = {}
    for d in (model_dir, onnx_dir):
        if d and os.path.isfile(os.path.join(d, "config.json")):
            config = _read_json(os.path.join(d, "config.json"))
            break
    limits = [st_max, config.get("max_position_embeddings"), max_seq_len]
    tok_config = os.path.join(os.path.dirname(tokenizer_file), "tokenizer_config.json")
    if os.path.isfile(tok_config):
        limits.append(_read_json(tok_config).get("model_max_length"))
    limits = [int(x) for x in limits if isinstance(x, int | float) and 0 < x < 1_000_000]
    if max_seq_len is not None and max_seq_len < 2:
        raise TextPipelineError(f"max_seq_len must be >= 2 ([CLS] + [SEP]), got {max_seq_len}")
    return ModelDirectory(
        path=path,
        layout=layout,
        model_dir=onnx_dir or model_dir,
        tokenizer_file=tokenizer_file,
        config=config,
        pooling=pooling or Pooling("mean", False),
        max_len=min(limits) if limits else 512,
    )


def seq_buckets_for(max_len: int, seq_buckets=None) -> list[int]:
    """Sorted bucket lengths <= ``max_len``, ``max_len`` always among them."""
    wanted = DEFAULT_SEQ_BUCKETS if seq_buckets is None else seq_buckets
    buckets = sorted({int(b) for b in wanted if 2 <= int(b) <= max_len} | {int(max_len)})
    if seq_buckets is not None and any(int(b) < 2 for b in seq_buckets):
        raise TextPipelineError(f"seq_buckets must be >= 2, got {list(seq_buckets)}")
    return buckets


# ----------------------------------------------------------------------------- ONNX export


def export_transformers_onnx(model_dir: str, task: str, out_path: str) -> list[str]:
    """Export a transformers model directory to ONNX (torch's TorchScript exporter, eager
    attention: the form our INT8 attention rewrite recognises), batch and sequence dynamic.
    Returns the input names. ``feature-extraction`` outputs ``last_hidden_state [B, L, H]``,
    ``text-classification`` ``logits [B, labels]``."""
    try:
        import torch
        import transformers
    except ImportError as err:
        raise TextPipelineError(
            "exporting a transformers directory to ONNX needs torch and transformers "
            "(pip install 'tvm-blocksparse[text]'), or give a directory with model.onnx and "
            f"tokenizer.json instead ({err})"
        ) from err
    import inspect as pyinspect

    if task == "text-classification":
        archs = _read_json(os.path.join(model_dir, "config.json")).get("architectures") or []
        if not any(a.endswith("ForSequenceClassification") for a in archs):
            raise TextPipelineError(
                f"{model_dir}: task 'text-classification' needs a sequence-classification model "
                f"(config.json architectures: {archs or 'none'}); use task='feature-extraction'"
            )
        net = transformers.AutoModelForSequenceClassification.from_pretrained(
            model_dir, attn_implementation="eager"
        )
        output = "logits"
    else:
        net = transformers.AutoModel.from_pretrained(model_dir, attn_implementation="eager")
        output = "last_hidden_state"
    net.eval()
    accepted = pyinspect.signature(net.forward).parameters
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in accepted and getattr(net.config, "type_vocab_size", 0):
        names.append("token_type_ids")

    class Wrapped(torch.nn.Module):  # keyword call: transformers 5 changed positional order
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            return getattr(self.m(**dict(zip(names, args, strict=True))), output)

    sample = torch.zeros(1, 8, dtype=torch.int64)
    feeds = tuple(torch.ones_like(sample) if n == "attention_mask" else sample for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes[output] = {0: "batch", 1: "sequence"} if output == "last_hidden_state" else {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapped(net).eval(),
            feeds,
            out_path,
            dynamo=False,
            opset_version=17,
            input_names=names,
            output_names=[output],
            dynamic_axes=axes,
        )
    return names


def _pick_output(output_names: list[str], task: str, path: str) -> int:
    """Index of the output the task head reads."""
    wanted = "logits" if task == "text-classification" else "last_hidden_state"
    if wanted in output_names:
        return output_names.index(wanted)
    if task == "feature-extraction" and output_names:
        return 0
    raise TextPipelineError(
        f"{path}: task {task!r} needs an output named {wanted!r}; the model has {output_names}"
    )


# ----------------------------------------------------------------------------- the pipeline


class TextPipeline:
    """Tokenizer + one compiled module per length bucket + the task head.

    ``pipe(texts)``: ``feature-extraction`` -> float32 ``[n, hidden]`` (pooling and
    normalisation as the model directory declares; mean over the real tokens otherwise);
    ``text-classification`` -> ``[{"label": str, "score": float}]`` per text (softmax, or sigmoid
    for ``problem_type == "multi_label_classification"``, over ``config.json``'s ``id2label``)."""

    def __init__(self, tokenizer, modules: dict[int, object], info: dict, onnx_path: str | None):
        self.tokenizer = tokenizer
        self.modules = dict(sorted(modules.items()))
        self.info = info
        self.onnx_path = onnx_path
        self.task = info["task"]
        self.max_len = int(info["max_len"])
        self.max_batch_size = int(info["max_batch_size"])
        self.pooling = Pooling(**info["pooling"])
        self._output_index = int(info["output_index"])
        self.pad_id = int(info["pad_id"])
        #: ``{key: tvm.runtime.Tensor}``: the weight arrays every bucket runs with, each once
        self.weight_store: dict = {}
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_len)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        task: str = "feature-extraction",
        dtype: str = "int8",
        sparsity_threshold: float = DEFAULT_SPARSITY_THRESHOLD,
        block: str = "4x1",
        max_seq_len: int | None = None,
        max_batch_size: int = 32,
        calibration_texts: list[str] | None = None,
        *,
        seq_buckets=None,
        target=None,
        progress=None,
        jobs: int | None = None,
        threads: int | None = None,
    ) -> TextPipeline:
        """Compile a model directory (see :class:`ModelDirectory` for the two layouts) into a
        pipeline: one module per bucket of ``seq_buckets`` (default
        :data:`DEFAULT_SEQ_BUCKETS`) up to the model's maximum length (``max_seq_len``, the
        position table, sentence-transformers' ``max_seq_length`` and the tokenizer's
        ``model_max_length``, the smallest wins). The other arguments are
        :func:`tvm_blocksparse.compile`'s; ``calibration_texts`` gives INT8 static ranges
        observed on those texts (per bucket) instead of run-time ranges. ``jobs``: buckets
        compiled at once, each in its own process (default :func:`compile_jobs`: the usable
        cores, bounded by free memory); 1 compiles in this process. ``threads``: the threads
        every bucket runs with (:attr:`threads`)."""
        from tvm_blocksparse.api import build_entries, lower
        from tvm_blocksparse.onnx_import import graph_inputs, load_onnx

        if task not in TASKS:
            raise TextPipelineError(f"task must be one of {TASKS}, got {task!r}")
        if not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise TextPipelineError(f"max_batch_size must be an int >= 1, got {max_batch_size!r}")
        found = read_model_directory(path, max_seq_len)
        say = reporter(progress)
        tokenizer = load_tokenizer(found.tokenizer_file)
        labels = found.config.get("id2label") or {}
        if task == "text-classification" and found.layout == "onnx" and not labels:
            raise TextPipelineError(
                f"{found.path}: task 'text-classification' needs id2label in config.json"
            )
        # the export lives as long as the pipeline: save() copies it beside the modules
        workdir = tempfile.TemporaryDirectory(prefix="tvm_blocksparse_text_")
        if found.layout == "transformers":
            onnx_path = os.path.join(workdir.name, _ONNX_FILE)
            say(f"exporting {found.model_dir} to ONNX")
            export_transformers_onnx(found.model_dir, task, onnx_path)
        else:
            onnx_path = os.path.join(found.model_dir, _ONNX_FILE)
        model = load_onnx(onnx_path)
        input_names = [i.name for i in graph_inputs(model)]
        unknown = set(input_names) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown or "input_ids" not in input_names:
            raise TextPipelineError(
                f"{onnx_path}: inputs {input_names}; a text pipeline feeds input_ids, "
                "attention_mask and token_type_ids"
            )
        output_names = [o.name for o in model.graph.output]
        output_index = _pick_output(output_names, task, onnx_path)
        buckets = seq_buckets_for(found.max_len, seq_buckets)
        info = {
            "format_version": _FORMAT_VERSION,
            "task": task,
            "dtype": dtype,
            "block": block,
            "sparsity_threshold": sparsity_threshold,
            "max_len": found.max_len,
            "max_batch_size": max_batch_size,
            "seq_buckets": buckets,
            "pooling": dataclasses.asdict(found.pooling),
            "output_index": output_index,
            "pad_id": pad_id(tokenizer),
            "id2label": {str(k): v for k, v in labels.items()},
            "problem_type": found.config.get("problem_type"),
            "hidden": _hidden_size(model, output_index, found.config),
            "heads": found.config.get("num_attention_heads") or found.config.get("n_heads"),
            "source": {"path": os.path.abspath(found.path), "layout": found.layout},
        }
        pipe = cls(tokenizer, {}, info, None)
        calibration = None
        if calibration_texts is not None:
            calibration = pipe._encode(_check_texts(calibration_texts))
        options = dict(
            dtype=dtype,
            sparsity_threshold=sparsity_threshold,
            block=block,
            target=target,
            weights="separate",
        )
        if threads is not None:
            options["threads"] = threads
        feeds = {
            length: None
            if calibration is None
            else [pipe._feeds(e, length, input_names) for e in calibration]
            for length in buckets
        }
        jobs = compile_jobs(len(buckets), os.path.getsize(onnx_path)) if jobs is None else jobs
        if not isinstance(jobs, int) or jobs < 1:
            raise TextPipelineError(f"jobs must be an int >= 1, got {jobs!r}")
        if jobs == 1 or len(buckets) == 1:
            lowered = {}
            for length in buckets:
                say(f"lowering the {length}-token bucket")
                lowered[length] = lower(model, seq_len=length, calibration=feeds[length], **options)
        else:
            lowered = _lower_buckets_in_processes(
                onnx_path, buckets, feeds, options, jobs, workdir.name, say
            )
        say(f"linking {len(lowered)} buckets into one library")
        built = build_entries({_entry(length): m for length, m in lowered.items()})
        pipe.modules = {length: built[_entry(length)] for length in sorted(lowered)}
        pipe.weight_store = next(iter(built.values())).weight_store or {}  # one, shared
        pipe.threads = threads
        pipe.onnx_path = onnx_path
        pipe._workdir = workdir
        return pipe

    # ------------------------------------------------------------------ save / load

    def save(self, directory: str | os.PathLike) -> str:
        """Write the pipeline to ``directory``: ``pipeline.json``, ``tokenizer.json``,
        ``buckets.so`` (every bucket's code, an entry each, manifests inside), ``weights.params``
        (every bucket's weight arrays, each once) and the source ``model.onnx`` (for peers and
        ``serve --engine onnxruntime``). :meth:`load` needs neither torch nor the original
        model."""
        from tvm_blocksparse.api import export_entries, save_weights

        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        export_entries(
            {_entry(length): m for length, m in self.modules.items()},
            os.path.join(directory, _LIBRARY_FILE),
        )
        info = dict(
            self.info,
            library=_LIBRARY_FILE,
            entries={str(length): m.entry for length, m in self.modules.items()},
        )
        info.pop("modules", None)
        if self.weight_store:
            save_weights(os.path.join(directory, _WEIGHTS_FILE), self.weight_store)
            info["weights"] = _WEIGHTS_FILE
        self.tokenizer.save(os.path.join(directory, _TOKENIZER_FILE))
        if self.onnx_path and os.path.abspath(self.onnx_path) != os.path.abspath(
            os.path.join(directory, _ONNX_FILE)
        ):
            shutil.copyfile(self.onnx_path, os.path.join(directory, _ONNX_FILE))
        with open(os.path.join(directory, _PIPELINE_FILE), "w") as f:
            json.dump(info, f, indent=1)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike, threads: int | None = None) -> TextPipeline:
        """Load a directory written by :meth:`save` (its ``.so`` files run native code: load
        trusted directories only). ``threads``: as :attr:`threads`."""
        from tvm_blocksparse.api import load as load_module
        from tvm_blocksparse.api import load_entries, load_weights

        directory = os.fspath(directory)
        info = read_pipeline_info(directory)
        meta_file = os.path.join(directory, _PIPELINE_FILE)
        tokenizer_file = os.path.join(directory, _TOKENIZER_FILE)
        if not os.path.isfile(tokenizer_file):
            raise TextPipelineError(f"no {_TOKENIZER_FILE} in {directory}")
        store = {}
        if info.get("weights"):
            store = load_weights(os.path.join(directory, info["weights"]))
        if info.get("library"):  # one library, an entry per bucket
            found = load_entries(os.path.join(directory, info["library"]), threads, store)
            modules = {int(length): found[entry] for length, entry in info["entries"].items()}
        else:  # a library per bucket (saved before the buckets shared one)
            modules = {
                int(length): load_module(
                    os.path.join(directory, name), threads=threads, weights=store
                )
                for length, name in info.get("modules", {}).items()
            }
        if not modules:
            raise TextPipelineError(f"{meta_file} lists no compiled modules")
        onnx_path = os.path.join(directory, _ONNX_FILE)
        pipe = cls(
            load_tokenizer(tokenizer_file),
            modules,
            info,
            onnx_path if os.path.isfile(onnx_path) else None,
        )
        pipe.weight_store = store
        return pipe

    @property
    def threads(self) -> int | None:
        """Threads the pipeline's modules run with (None: the CPUs this process may use)."""
        return next(iter(self.modules.values())).threads if self.modules else None

    @threads.setter
    def threads(self, value: int | None) -> None:
        from tvm_blocksparse.target import checked_threads

        value = checked_threads(value)
        for module in self.modules.values():
            module.threads = value

    # ------------------------------------------------------------------ running

    @property
    def seq_buckets(self) -> list[int]:
        return list(self.modules)

    def _encode(self, texts: list[str], warn: bool = True) -> list:
        encodings = self.tokenizer.encode_batch(texts)
        cut = sum(1 for e in encodings if e.overflowing)
        if cut and warn:
            warnings.warn(
                f"{cut} text(s) longer than {self.max_len} tokens were truncated to "
                f"{self.max_len} (the model's maximum length)",
                stacklevel=3,
            )
        return encodings

    def _feeds(self, encoding, length: int, names: list[str]) -> dict[str, np.ndarray]:
        """One text padded (or, for calibration, cut) to ``length`` tokens, batch 1."""
        return self._feeds_of(encoding.ids, encoding.type_ids, length, names)

    def _feeds_of(self, token_ids, type_ids, length: int, names: list[str]):
        n = min(len(token_ids), length)
        ids = np.full((1, length), self.pad_id, np.int64)
        ids[0, :n] = token_ids[:n]
        mask = np.zeros((1, length), np.int64)
        mask[0, :n] = 1
        types = np.zeros((1, length), np.int64)
        if type_ids is not None:
            types[0, :n] = type_ids[:n]
        every = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: every[name] for name in names}

    def bucket_for(self, n_tokens: int) -> int:
        """The smallest bucket holding ``n_tokens`` (the tokenizer truncates to the largest)."""
        for length in self.modules:
            if length >= n_tokens:
                return length
        raise TextPipelineError(f"{n_tokens} tokens exceed the largest bucket {self.seq_buckets}")

    def token_counts(self, texts: str | list[str]) -> list[int]:
        """Tokens per text after truncation ([CLS] and [SEP] included)."""
        texts = _check_texts(texts)
        return [len(e.ids) for e in self._encode(texts, warn=False)]

    def _run_one(self, ids, type_ids) -> np.ndarray:
        n = len(ids)
        length = self.bucket_for(n)
        module = self.modules[length]
        out = module.run(self._feeds_of(ids, type_ids, length, module.input_names))
        result = out[self._output_index][0]
        if self.task == "feature-extraction":
            mask = np.zeros(result.shape[0], np.int64)
            mask[:n] = 1
            return self.pooling(result, mask)
        return np.asarray(result, np.float32)

    def __call__(self, texts: str | list[str]):
        single = isinstance(texts, str)
        texts = _check_texts(texts)
        results: list = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.max_batch_size):
            chunk = order[start : start + self.max_batch_size]
            encodings = self._encode([texts[i] for i in chunk])
            ranked = sorted(zip(chunk, encodings, strict=True), key=lambda p: len(p[1].ids))
            for i, enc in ranked:
                results[i] = self._run_one(enc.ids, enc.type_ids)
        out = self._head(results)
        return out[0] if single else out

    def run_tokens(self, token_ids, type_ids=None):
        """Run texts already tokenized by this pipeline's tokenizer (truncated to
        :attr:`max_len`): ``token_ids[i]`` (and ``type_ids[i]``, zeros when None) a sequence of
        ints per text. Same results as ``pipe(texts)``; the server tokenizes in its own process
        and sends ids to the instances."""
        if type_ids is not None and len(type_ids) != len(token_ids):
            raise TextPipelineError(f"{len(token_ids)} token_ids but {len(type_ids)} type_ids")
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        results: list = [None] * len(token_ids)
        for i in order:
            results[i] = self._run_one(token_ids[i], None if type_ids is None else type_ids[i])
        return self._head(results)

    def _head(self, results: list):
        """Pooled rows -> ``[n, hidden]``; logits -> label dicts."""
        if self.task == "text-classification":
            return [label_scores(r, self.info) for r in results]
        if not results:
            return np.zeros((0, self.info.get("hidden") or 0), np.float32)
        return np.stack(results)

    def throughput(self, texts: list[str], repeat: int = 1) -> dict:
        """Median wall seconds of ``repeat`` passes over ``texts``, texts/s and tokens/s."""
        tokens = sum(self.token_counts(texts))
        walls = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation was reported by the first call
            for _ in range(max(repeat, 1)):
                t0 = time.perf_counter()
                self(texts)
                walls.append(time.perf_counter() - t0)
        wall = float(np.median(walls))
        return {
            "texts": len(texts),
            "tokens": tokens,
            "seconds": wall,
            "texts_per_s": len(texts) / wall,
            "tokens_per_s": tokens / wall,
        }


def compile_jobs(buckets: int, model_bytes: int) -> int:
    """Default number of bucket compiles at once: the cores this process may use, at most one
    per bucket, and at most one per ``8 x model_bytes`` of available memory (a compile holds the
    model, its folded copy and the prepared weights)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    by_memory = max(1, available // max(8 * model_bytes, 1)) if available else cores
    return max(1, min(cores, buckets, by_memory))


def _entry(length: int) -> str:
    """The library entry of the ``length``-token bucket."""
    return f"seq{length}"


def _lower_bucket_to_files(onnx_path: str, length: int, feeds, options: dict, workdir: str):
    """Worker of :func:`_lower_buckets_in_processes`: lower one bucket, write its module
    (``seq{L}.json``) and its weight arrays (``weights/<key>``, skipping those another bucket
    wrote); returns the rest of its :class:`~tvm_blocksparse.api.LoweredModel`."""
    import tvm

    from tvm_blocksparse.api import lower, save_weights

    lowered = lower(onnx_path, seq_len=length, calibration=feeds, **options)
    path = os.path.join(workdir, f"{_entry(length)}.json")
    with open(path, "w") as f:
        f.write(tvm.ir.save_json(lowered.mod))
    folder = os.path.join(workdir, "weights")
    os.makedirs(folder, exist_ok=True)
    for key in lowered.weight_store or {}:
        if not os.path.exists(os.path.join(folder, key)):
            save_weights(os.path.join(folder, key), lowered.weight_store, [key])  # atomic
    fields = dataclasses.asdict(
        dataclasses.replace(lowered, mod=None, target=None, weight_store=None)
    )
    fields["target"] = dict(lowered.target.export())
    return path, fields, list(lowered.weight_store or {})


def _lower_buckets_in_processes(
    onnx_path: str, buckets: list[int], feeds: dict, options: dict, jobs: int, workdir: str, say
) -> dict:
    """Lower each bucket in a spawned process, ``jobs`` at a time (the passes are single-threaded
    Python), and read the lowered modules back here, each weight array once."""
    import concurrent.futures
    import multiprocessing

    import tvm

    from tvm_blocksparse.api import LoweredModel, load_weights

    options = dict(options)
    target = options.get("target")
    if target is not None and not isinstance(target, str | dict):
        options["target"] = dict(target.export())  # a tvm.target.Target: send its JSON form
    context = multiprocessing.get_context("spawn")  # TVM's threads make fork unsafe
    say(f"lowering {len(buckets)} buckets, {jobs} at a time")
    lowered, store = {}, {}
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        pending = {
            pool.submit(
                _lower_bucket_to_files, onnx_path, length, feeds[length], options, workdir
            ): length
            for length in sorted(buckets, reverse=True)  # the longest first: they take longest
        }
        for done in concurrent.futures.as_completed(pending):
            length = pending[done]
            path, fields, keys = done.result()
            for key in keys:
                if key not in store:
                    store.update(load_weights(os.path.join(workdir, "weights", key)))
            with open(path) as f:
                fields["mod"] = tvm.ir.load_json(f.read())
            fields["target"] = tvm.target.Target(fields["target"])
            fields["weight_store"] = {k: store[k] for k in keys} if keys else None
            lowered[length] = LoweredModel(**fields)
            say(f"lowered the {length}-token bucket")
    return lowered


def label_scores(logits: np.ndarray, info: dict) -> dict:
    """``{"label", "score"}`` of a classifier's logits: softmax, or sigmoid where
    ``info["problem_type"]`` is ``multi_label_classification``; labels from ``info["id2label"]``."""
    logits = np.asarray(logits, np.float64)
    if info.get("problem_type") == "multi_label_classification":
        scores = 1.0 / (1.0 + np.exp(-logits))
    else:
        e = np.exp(logits - logits.max())
        scores = e / e.sum()
    best = int(np.argmax(scores))
    label = info.get("id2label", {}).get(str(best), f"LABEL_{best}")
    return {"label": label, "score": float(scores[best])}


def read_pipeline_info(directory: str | os.PathLike) -> dict:
    """The ``pipeline.json`` of a directory written by :meth:`TextPipeline.save` (task, lengths,
    pooling, labels, bucket files), checked for its format version."""
    directory = os.fspath(directory)
    meta_file = os.path.join(directory, _PIPELINE_FILE)
    if not os.path.isfile(meta_file):
        raise TextPipelineError(f"{directory} is not a saved TextPipeline (no {_PIPELINE_FILE})")
    info = _read_json(meta_file)
    if info.get("format_version") != _FORMAT_VERSION:
        raise TextPipelineError(
            f"{meta_file}: format_version {info.get('format_version')!r}, this version reads "
            f"{_FORMAT_VERSION}"
        )
    return info


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, list | tuple):
        raise TypeError(f"texts must be a str or a list of str, got {type(texts).__name__}")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            f"texts must be strings; item {bad[0]} is {type(texts[bad[0]]).__name__}"
            + (f" ({len(bad)} non-strings in all)" if len(bad) > 1 else "")
        )
    return list(texts)


def load_tokenizer(path: str):
    """The fast tokenizer of a ``tokenizer.json``; ``TextPipelineError`` when it can't be read."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(path)
    except Exception as err:  # tokenizers raises its own Exception subclass on bad JSON
        raise TextPipelineError(f"{path} is not a readable tokenizers file: {err}") from err


def _hidden_size(model, output_index: int, config: dict) -> int | None:
    """The last dimension of the head's output (None where neither the graph nor the config
    says)."""
    dims = model.graph.output[output_index].type.tensor_type.shape.dim
    if dims and dims[-1].HasField("dim_value"):
        return int(dims[-1].dim_value)
    return config.get("hidden_size") or config.get("dim")


def pad_id(tokenizer) -> int:
    """The tokenizer's padding id (``[PAD]`` or ``<pad>``, else 0)."""
    for token in ("[PAD]", "<pad>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0
