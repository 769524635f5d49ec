"""numpy references, random block-sparse weights and side-by-side timing for tests and
benchmarks."""

from __future__ import annotations

import contextlib
import math
import socket
import time
from collections.abc import Callable

import numpy as np

from tvm_blocksparse import format as fmt
from tvm_blocksparse.bert_onnx import BERT_CONFIGS
from tvm_blocksparse.bert_onnx import BertConfig as BertShape
from tvm_blocksparse.op.epilogue import Epilogue


def random_block_sparse(
    rng: np.random.Generator, n: int, k: int, sparsity: float, block, dtype=np.int8
) -> np.ndarray:
    """``W[N_out, K_in]`` with exactly ``ceil(sparsity * n_blocks)`` zero blocks.

    int8: full range [-128, 127] (a test with small values hides int16 saturation); float32:
    standard normal."""
    if np.dtype(dtype) == np.int8:
        w = rng.integers(-128, 128, (n, k), dtype=np.int8)
        w[w == 0] = 1  # so a kept block is never all-zero by chance
    else:
        w = rng.standard_normal((n, k)).astype(dtype)
    return fmt.prune_blocks(w, sparsity, block)


def outlier_block_sparse(
    rng: np.random.Generator, n: int, k: int, sparsity: float, rows=(1, 6)
) -> np.ndarray:
    """A float32 :func:`random_block_sparse` ``W[N_out, K_in]`` whose ``rows`` each hold one
    weight 12x the row's largest (as real BERTs' first FFN2s have): outlier channels
    (:func:`~tvm_blocksparse.format.outlier_split_scale`) on a layer of a few thousand blocks."""
    w = random_block_sparse(rng, n, k, sparsity, "4x1", np.float32)
    for r in rows:
        c = int(np.flatnonzero(w[r])[0])
        w[r, c] = 12 * np.abs(w[r]).max()
    return w


def gelu_ref(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))).astype(np.float32)


def gelu_fast_ref(x: np.ndarray) -> np.ndarray:
    """numpy twin (float32, same operation order) of the INT8 kernels' GELU,
    :func:`tvm_blocksparse.op.epilogue.gelu_f32` with ``fast=True``."""
    from tvm_blocksparse.op.epilogue import GELU_FAST_CLIP, GELU_FAST_P, GELU_FAST_Q

    x = np.asarray(x, np.float32)
    xc = np.clip(x, np.float32(-GELU_FAST_CLIP), np.float32(GELU_FAST_CLIP))
    u = xc * xc
    p = np.float32(GELU_FAST_P[-1])
    for c in GELU_FAST_P[-2::-1]:
        p = p * u + np.float32(c)
    q = np.float32(GELU_FAST_Q[-1])
    for c in GELU_FAST_Q[-2::-1]:
        q = q * u + np.float32(c)
    return (x * (np.float32(0.5) + xc * p / q)).astype(np.float32)


def evex_twin_target():
    """This CPU at the AVX-512 VNNI level with ``avxvnni`` off: an AVX-VNNI kernel compiled for
    it runs the EVEX encoding of its ``vpdpbusd ymm`` (the same LLVM intrinsic and instruction
    semantics; LLVM may also use AVX-512 forms in its epilogue), so that kernel's TensorIR
    executes on every AVX-512 VNNI CPU, not only on AVX-VNNI ones. ``RuntimeError`` on a CPU
    without AVX-512 VNNI."""
    from tvm.target import Target

    from tvm_blocksparse.target import level_target

    config = dict(level_target("avx512_vnni").export())
    config["mattr"] = [*config.get("mattr", []), "-avxvnni"]
    return Target(config)


@contextlib.contextmanager
def avx_vnni_as_evex_twin():
    """Inside, builds take :func:`evex_twin_target` for an AVX-VNNI target: the level checks
    (``isa.target_has``, wherever this library imported it) say a target with AVX-512 VNNI and
    without ``avxvnni`` has the ``avx_vnni`` and ``avx2`` levels only, and ``isa.vector_bits``
    says 256, so a whole model takes that level's kernels, cost table, attention path and ymm
    schedules while LLVM encodes them for the twin (``vpdpbusd ymm`` in EVEX, which runs on an
    AVX-512 VNNI CPU). Yields the twin target. For tests and benchmarks: no CPU of this project's
    hosts has had AVX-VNNI; the host target of an AVX-512 VNNI CPU without AVX-VNNI (a Zen 4)
    counts as the twin too while inside."""
    import sys

    import tvm

    from tvm_blocksparse import isa
    from tvm_blocksparse.target import as_target

    twin = evex_twin_target()
    has, bits = isa.target_has, isa.vector_bits

    def is_twin(target) -> bool:
        vex_vnni = tvm.target.codegen.target_has_features("avxvnni", as_target(target))
        return has(isa.AVX512_VNNI, target) and not vex_vnni

    def twin_has(level, target):
        level = isa.by_name(level) if isinstance(level, str) else level
        return level in (isa.AVX_VNNI, isa.AVX2) if is_twin(target) else has(level, target)

    def twin_bits(target) -> int:
        return 256 if is_twin(target) else bits(target)

    def swap(old_has, new_has, old_bits, new_bits):
        # every module of the library, also those first imported inside (they bound the
        # patched functions)
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("tvm_blocksparse"):
                for name, old, new in (
                    ("target_has", old_has, new_has),
                    ("vector_bits", old_bits, new_bits),
                ):
                    if getattr(module, name, None) is old:
                        setattr(module, name, new)

    swap(has, twin_has, bits, twin_bits)
    try:
        yield twin
    finally:
        swap(twin_has, has, twin_bits, bits)


def random_feeds(model, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs for a compiled ``model`` from its signature alone: masks all ones, every other
    input random integers below ``min(1000, its index bound)`` (token ids inside the table,
    token types below their 2 rows)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in model.input_names:
        shape, dtype = model.input_shapes[name], model.input_dtypes[name]
        high = min(1000, model.index_bounds.get(name, 1000))
        feeds[name] = (
            np.ones(shape, dtype) if "mask" in name else rng.integers(0, high, shape).astype(dtype)
        )
    return feeds


def random_token_qparams(rng: np.random.Generator, m: int) -> fmt.ActivationQuant:
    """Per-token activation parameters for kernel tests: a different scale and a zero point
    anywhere in ``0..255`` for each of ``m`` tokens (a kernel mixing tokens up fails)."""
    return fmt.ActivationQuant(
        rng.uniform(0.01, 0.1, m).astype(np.float32), rng.integers(0, 256, m).astype(np.int32)
    )


def int8_linear_ref(
    x_u8: np.ndarray,
    weight_q: fmt.WeightQuant,
    ep: Epilogue,
    x_q: fmt.ActivationQuant | None = None,
    bias: np.ndarray | None = None,
    residual: np.ndarray | None = None,
    out_q: fmt.ActivationQuant | None = None,
) -> np.ndarray:
    """What our INT8 kernels compute, in numpy (float32 where the kernel uses float32)."""
    acc = x_u8.astype(np.int32) @ weight_q.q.T.astype(np.int32)
    if not ep.dequant:
        return acc
    comp = fmt.zero_point_compensation(weight_q, x_q.zero_point)
    y = (acc - comp).astype(np.float32) * (x_q.rows()[0] * weight_q.scale)
    return _float_epilogue_ref(y, ep, bias, residual, out_q, gelu=gelu_fast_ref)


def _float_epilogue_ref(y, ep, bias, residual, out_q, gelu=gelu_ref):
    if ep.bias:
        y = y + bias
    if ep.gelu:
        y = gelu(y)
    if ep.residual:
        y = y + residual
    if ep.requant:
        y, _ = fmt.quantize_activation_u8(y, out_q)
    return y


def fp32_linear_ref(x, weight, ep: Epilogue, bias=None, residual=None) -> np.ndarray:
    y = (x.astype(np.float64) @ weight.T.astype(np.float64)).astype(np.float32)
    return _float_epilogue_ref(y, ep, bias, residual, None)


def onnxruntime_outputs(model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The reference: ``model`` (a ModelProto) run by ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def min_token_cosine(out: np.ndarray, ref: np.ndarray) -> float:
    """The smallest cosine similarity between ``out`` and ``ref`` over their last axis (tokens'
    hidden states)."""
    cos = (out * ref).sum(-1) / (np.linalg.norm(out, axis=-1) * np.linalg.norm(ref, axis=-1))
    return float(cos.min())


def pin_to_first_cpus(count: int) -> list[int]:
    """Pin the calling thread, and the threads and processes it starts afterwards, to the first
    ``count`` CPUs of its affinity mask (all of them where it has no more); returns them.

    Benchmarks call it before they build anything, so that every backend they time runs on the
    same CPUs and a 1-thread run is not moved between CPUs by the OS (slower and noisier:
    bench/README.md, "Threads stay on the process's CPUs"). Where the OS has no affinity
    masks, nothing changes and the list is empty. Threads already running (numpy's BLAS pool)
    are pinned too (:func:`~tvm_blocksparse.serving.instances.pin_process`)."""
    from tvm_blocksparse.serving.instances import pin_process
    from tvm_blocksparse.target import calling_thread_cpus

    mask = calling_thread_cpus()
    if not mask:
        return []
    cpus = list(mask[: max(1, count)])
    try:
        pin_process(cpus)
    except OSError:
        return []
    return cpus


def thread_cpus(pid: int | str = "self") -> dict[int, list[int]]:
    """The CPUs each thread of process ``pid`` may run on (its affinity mask), by thread id
    (Linux: the threads listed in ``/proc/PID/task``)."""
    import os

    return {
        int(tid): sorted(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")
    }


def time_calls(
    fn: Callable[[], object], min_time: float, min_calls: int = 3
) -> tuple[list[float], list[float]]:
    """Wall and process-CPU milliseconds of each call of ``fn`` (after one warm-up call), for at
    least ``min_time`` seconds and ``min_calls`` calls. Process CPU time counts every thread of
    this process and not the time it spent descheduled."""
    fn()
    wall, cpu = [], []
    t_end = time.perf_counter() + min_time
    while len(wall) < min_calls or time.perf_counter() < t_end:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return wall, cpu


def interleaved_times(
    runners: dict[str, Callable[[], object]], rounds: int, min_time: float
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Mean wall and process-CPU milliseconds per call of each runner, one sample per round.

    The runners take turns in every round (:func:`time_calls`), so drift on a shared machine
    hits all of them alike; take medians."""
    wall = {k: [] for k in runners}
    cpu = {k: [] for k in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            w, c = time_calls(fn, min_time)
            wall[name].append(float(np.mean(w)))
            cpu[name].append(float(np.mean(c)))
    return wall, cpu


#: Standard-library modules whose docstrings give offline English text (not BERT training text).
DOCSTRING_MODULES = (
    "argparse",
    "json",
    "logging",
    "subprocess",
    "tarfile",
    "zipfile",
    "email",
    "http.client",
    "urllib.request",
    "sqlite3",
    "unittest",
    "asyncio",
    "csv",
    "collections",
    "functools",
    "pathlib",
    "shutil",
    "tempfile",
    "threading",
    "inspect",
    "typing",
    "decimal",
    "datetime",
    "random",
    "statistics",
    "textwrap",
    "string",
    "re",
    "os",
    "io",
    "socket",
    "ssl",
    "pickle",
    "configparser",
    "difflib",
    "heapq",
    "itertools",
    "enum",
    "dataclasses",
    "contextlib",
    "multiprocessing",
    "concurrent.futures",
    "fractions",
    "calendar",
    "locale",
    "gettext",
    "codecs",
    "base64",
    "hashlib",
    "secrets",
    "uuid",
    "queue",
    "sched",
    "selectors",
    "signal",
    "struct",
    "array",
    "weakref",
    "copy",
    "pprint",
    "reprlib",
    "numbers",
    "operator",
    "glob",
    "fnmatch",
    "linecache",
    "filecmp",
    "fileinput",
    "gzip",
    "bz2",
    "lzma",
    "plistlib",
    "mailbox",
    "mimetypes",
    "html.parser",
    "xml.dom.minidom",
    "xml.etree.ElementTree",
    "ftplib",
    "smtplib",
    "imaplib",
    "ipaddress",
    "doctest",
    "pdb",
    "timeit",
    "trace",
    "tracemalloc",
    "abc",
    "ast",
    "dis",
    "tokenize",
    "importlib",
    "pkgutil",
    "platform",
    "ctypes",
    "sysconfig",
    "warnings",
    "traceback",
)


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it): where a test or
    load check starts its local server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docstring_sentences(
    count: int, min_words: int = 6, max_words: int = 60, seed: int = 0, modules=DOCSTRING_MODULES
) -> list[str]:
    """Up to ``count`` distinct English sentences (``min_words``..``max_words`` words, starting
    with a capital) from the docstrings of ``modules``, in a seeded random order.

    ``dir()`` of a package lists the submodules imported so far, so the pool depends on what the
    process imported before (the benchmarks call it after importing torch and this package)."""
    import importlib
    import inspect
    import re

    out: dict[str, None] = {}
    for name in modules:
        mod = importlib.import_module(name)
        docs = [inspect.getdoc(mod) or ""] + [
            inspect.getdoc(getattr(mod, a, None)) or "" for a in sorted(dir(mod)) if a[:1] != "_"
        ]
        for doc in docs:
            for s in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                if min_words <= len(s.split()) <= max_words and s[:1].isupper():
                    out.setdefault(s)
    pool = list(out)
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.choice(len(pool), size=min(count, len(pool)), replace=False)]


def mixed_length_corpus(count: int, max_words: int = 90, seed: int = 0) -> list[str]:
    """``count`` texts of 1..~``max_words`` words: docstring sentences, some cut short and some
    joined with the next ones, so lengths spread from a few tokens to about 128."""
    sentences = docstring_sentences(10 * count, min_words=3, max_words=60, seed=seed)
    rng = np.random.default_rng(seed + 1)
    texts, i = [], 0
    while len(texts) < count and i < len(sentences):
        kind = rng.random()
        if kind < 0.25:  # a fragment: 1-5 words
            words = sentences[i].split()
            text = " ".join(words[: int(rng.integers(1, 6))])
            i += 1
        elif kind < 0.7:
            text, i = sentences[i], i + 1
        else:  # two to four sentences
            n = int(rng.integers(2, 5))
            text, i = " ".join(sentences[i : i + n]), i + n
        words = text.split()
        texts.append(" ".join(words[:max_words]))
    return texts


TINY_WORDS = (
    "the a of to and in is it that for on with as are be this by an or from at which not have "
    "file data value return name object list string time path type error set use default "
    "python function module class method call new open read write line first each one two"
).split()


def write_tiny_model_dir(path, seed: int = 3, sparsity: float = 0.9) -> str:
    """An Optimum-layout directory of ``bert_onnx``'s "tiny" model (random weights, 4x1-pruned to
    ``sparsity``): ``model.onnx``, ``tokenizer.json`` (:func:`write_tiny_tokenizer`) and a
    ``config.json`` with its positions, width and heads. Text pipeline, serving and Ray tests
    start from it (no model hub, no torch). Returns the directory."""
    import json
    import os

    import onnx

    from tvm_blocksparse.bert_onnx import BERT_CONFIGS, make_bert_onnx

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    onnx.save(
        make_bert_onnx("tiny", seed=seed, sparsity=sparsity), os.path.join(path, "model.onnx")
    )
    write_tiny_tokenizer(os.path.join(path, "tokenizer.json"))
    cfg = BERT_CONFIGS["tiny"]
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(
            {
                "max_position_embeddings": cfg.max_positions,
                "hidden_size": cfg.hidden,
                "num_attention_heads": cfg.heads,
            },
            f,
        )
    return path


def tiny_bert_config(layers: int = 2, **extra):
    """transformers ``BertConfig`` of the tiny test BERTs: vocabulary 200 (the tiny tokenizer's
    ids), width 32, 2 heads, intermediate 64, 64 positions; ``extra`` overrides or adds."""
    import transformers

    return transformers.BertConfig(
        **{
            "vocab_size": 200,
            "hidden_size": 32,
            "num_hidden_layers": layers,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 64,
            **extra,
        }
    )


def write_sentence_transformers_modules(path, pooling: dict, max_seq_len: int) -> None:
    """sentence-transformers' files around a transformer at the root of ``path``:
    ``modules.json`` (Transformer, Pooling, Normalize), ``1_Pooling/config.json`` (``pooling``:
    its ``pooling_mode_*`` keys) and ``sentence_bert_config.json``."""
    import json
    import os

    kinds = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    modules = [
        {"idx": i, "name": str(i), "path": sub, "type": f"sentence_transformers.models.{kind}"}
        for i, (sub, kind) in enumerate(kinds)
    ]
    path = os.fspath(path)
    os.makedirs(os.path.join(path, "1_Pooling"), exist_ok=True)
    with open(os.path.join(path, "modules.json"), "w") as f:
        json.dump(modules, f)
    with open(os.path.join(path, "1_Pooling", "config.json"), "w") as f:
        json.dump(pooling, f)
    with open(os.path.join(path, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": max_seq_len}, f)


def write_tiny_classifier_dir(path, layers: int = 2, labels=("neg", "neutral", "pos")):
    """A transformers directory of a random ``BertForSequenceClassification`` (width 32, 2 heads,
    seed 0, ``labels`` as id2label) with the tiny tokenizer: text-classification tests without a
    model hub. Needs torch and transformers; returns the model (eval mode)."""
    import os

    import torch
    import transformers

    cfg = tiny_bert_config(
        layers,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        architectures=["BertForSequenceClassification"],
    )
    torch.manual_seed(0)
    net = transformers.BertForSequenceClassification(cfg).eval()
    net.save_pretrained(path)
    write_tiny_tokenizer(os.path.join(os.fspath(path), "tokenizer.json"))
    return net


def write_tiny_sentence_transformers_dir(path, layers: int = 2, seed: int = 0) -> str:
    """A sentence-transformers directory (``modules.json``: Transformer at the root, mean
    ``1_Pooling``, ``2_Normalize``) of a random ``BertModel`` (width 32, 2 heads, intermediate
    64, weights of std 0.3) with the tiny tokenizer: pruning and distillation tests without a
    model hub. Needs torch and transformers; returns the directory."""
    import os

    import torch
    import transformers

    path = os.fspath(path)
    # initializer_range 0.3: at 0.02 texts get nearly equal embeddings (cosine ~0.9998)
    cfg = tiny_bert_config(layers, initializer_range=0.3, architectures=["BertModel"])
    torch.manual_seed(seed)
    transformers.BertModel(cfg).eval().save_pretrained(path)
    write_tiny_tokenizer(os.path.join(path, "tokenizer.json"))
    write_sentence_transformers_modules(path, {"pooling_mode_mean_tokens": True}, max_seq_len=64)
    return path


def write_tiny_tokenizer(path: str) -> None:
    """A BERT-style WordPiece tokenizer over :data:`TINY_WORDS` + letters (ids < tiny vocab 1000):
    text pipelines of ``bert_onnx``'s "tiny" model without a model hub."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    for w in [*TINY_WORDS, *"abcdefghijklmnopqrstuvwxyz0123456789.,!?'"]:
        vocab.setdefault(w, len(vocab))
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab.setdefault(f"##{c}", len(vocab))
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.save(path)


#: the shape :func:`export_transformers_bert` exports by default: 2 layers, hidden 128, 2 heads
TINY_EXPORT_BERT = BertShape(
    layers=2, hidden=128, heads=2, intermediate=256, vocab=1000, max_positions=128
)


def export_transformers_bert(
    path: str,
    attn_implementation: str = "sdpa",
    dynamo: bool = False,
    seed: int = 0,
    shape: BertShape | str = TINY_EXPORT_BERT,
    seq_len: int = 64,
) -> str:
    """A random-init transformers ``BertModel`` of ``shape`` (a
    :class:`tvm_blocksparse.bert_onnx.BertConfig` or a name of ``BERT_CONFIGS``, e.g.
    "bert-base") exported to ONNX the way users export it: ``attn_implementation`` "eager" or
    "sdpa" (transformers' default), by the legacy TorchScript exporter (opset 17) or the dynamo
    one (opset 18). Inputs ``input_ids``/``attention_mask`` int64 ``[1, S]``; output the last
    hidden state; the legacy exporter fixes ``S`` = ``seq_len``. Needs torch and transformers
    (the ``text`` extra)."""
    import warnings

    import torch
    from transformers import BertConfig, BertModel

    shape = BERT_CONFIGS[shape] if isinstance(shape, str) else shape
    cfg = BertConfig(**shape.transformers_kwargs())
    cfg._attn_implementation = attn_implementation
    torch.manual_seed(seed)
    bert = BertModel(cfg, add_pooling_layer=False).eval()
    vocab = shape.vocab

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = (torch.randint(0, vocab, (1, seq_len)), torch.ones(1, seq_len, dtype=torch.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(),
            example,
            path,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            opset_version=18 if dynamo else 17,
            dynamo=dynamo,
        )
    return path
