"""Gradual block pruning with knowledge distillation: a dense transformers / sentence-transformers
model becomes one whose encoder Linear weights are ``sparsity`` zeros in ``block`` blocks, and
still does its job.

Orientation: weights are ``W[N_out, K_in]`` (``torch.nn.Linear.weight``); "4x1" = 4 output
channels x 1 input channel, the blocks our kernels skip (see :mod:`tvm_blocksparse.format`).

How (Zhu & Gupta's gradual magnitude pruning, distilled as in Intel's "Prune Once For All"):
the student starts as the dense model; every ``mask_every`` steps until ``prune_end`` of the run
the target sparsity rises on a cubic (or linear) schedule and each layer's mask is re-chosen by
block L1 magnitude (:func:`tvm_blocksparse.format.block_keep_mask`, the one-shot ``prune``'s
choice), or with ``criterion="obs"`` by Optimal Brain Surgeon saliency with the kept weights
repaired (:func:`obs_prune_layer`); after every optimizer step the pruned blocks are zeroed
again, and the rest of the run fine-tunes with the final masks. The loss distils the dense
teacher on the user's unlabelled texts: the pooled sentence embedding (1 - cosine) and every
layer's hidden states (MSE relative to the teacher's) for encoders; the logits (KL at
temperature 2) and hidden states for classification models, plus cross-entropy where labels are
given.

Trains in torch (``pip install 'tvm-blocksparse[train]'``: torch and transformers).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import sys
import time

import numpy as np

from tvm_blocksparse import format as fmt
from tvm_blocksparse.text import (
    WEIGHT_FILES,
    TextPipelineError,
    load_tokenizer,
    pad_id,
    read_model_directory,
    sentence_transformers_modules,
)

#: weight files not copied to the output: the student's ``model.safetensors`` replaces them all.
_REPLACED_WEIGHT_FILES = (*WEIGHT_FILES, "tf_model.h5", "flax_model.msgpack")
CHECKPOINT_FILE = "sparsify_checkpoint.pt"
REPORT_FILE = "sparsify_report.json"
SCHEDULES = ("cubic", "linear")


class SparsifyError(ValueError):
    """A sparsify_model argument or model directory that can't be used (the message says why)."""


PRECISIONS = ("auto", "fp32", "bf16")
#: CPU flags (/proc/cpuinfo) of native bfloat16 dot products: bf16 autocast pays off only there
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def training_precision() -> str:
    """What ``precision="auto"`` trains in on this CPU: "bf16" with native bfloat16 dot products
    (AMX-BF16, AVX512-BF16), else "fp32" (emulated bfloat16 would be slower than float32)."""
    from tvm_blocksparse.isa import host_cpu_flags

    flags = host_cpu_flags()
    return "bf16" if any(f in flags for f in _BF16_FLAGS) else "fp32"


def target_sparsity(step: int, final: float, prune_end: int, schedule: str = "cubic") -> float:
    """Sparsity the masks hold from ``step`` on: 0 at step 0, ``final`` from ``prune_end`` on;
    cubic: ``final * (1 - (1 - step / prune_end) ** 3)`` (fast early, while the weights are still
    redundant, slow near the target)."""
    if schedule not in SCHEDULES:
        raise SparsifyError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if prune_end <= 0 or step >= prune_end:
        return final
    frac = step / prune_end
    return final * (1.0 - (1.0 - frac) ** 3) if schedule == "cubic" else final * frac


def mask_steps(prune_end: int, mask_every: int) -> list[int]:
    """The steps at which masks are re-chosen: every ``mask_every`` steps, and ``prune_end``."""
    return sorted(set(range(0, prune_end, max(1, mask_every))) | {prune_end})


def prunable_linears(model, block, include=None, exclude=None) -> dict:
    """``{name: nn.Linear}`` of the layers to prune: every ``nn.Linear`` whose weight ``block``
    tiles, whose module name matches ``include`` (None: all) and not ``exclude`` (None:
    :data:`tvm_blocksparse.format.PRUNE_EXCLUDE_DEFAULT`, the task heads, as ``prune``)."""
    import torch

    exclude = fmt.PRUNE_EXCLUDE_DEFAULT if exclude is None else exclude
    out = {}
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if include is not None and not fmt.name_matches(name, include):
            continue
        if fmt.name_matches(name, exclude) or not fmt.block_tiles(
            tuple(module.weight.shape), block
        ):
            continue
        out[name] = module
    return out


def _pool(hidden, mask, mode: str):
    """Sentence vectors ``[B, H]`` from token states ``[B, L, H]``: the torch twin of
    :class:`tvm_blocksparse.text.Pooling` (gradients flow through it)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return hidden.masked_fill(m == 0, -1e9).max(dim=1).values
    total = (hidden * m).sum(dim=1)
    n = m.sum(dim=1).clamp(min=1.0)
    return total / (n.sqrt() if mode == "mean_sqrt_len" else n)


class _Model:
    """A transformers / sentence-transformers directory: where the transformer lives, its
    pooling, task and tokenizer."""

    def __init__(self, path: str):
        if not os.path.isdir(path):
            raise SparsifyError(f"model directory not found: {path}")
        try:
            self.transformer_dir = sentence_transformers_modules(path)[0]
            if not os.path.isfile(os.path.join(self.transformer_dir, "config.json")) or not any(
                os.path.isfile(os.path.join(self.transformer_dir, w)) for w in WEIGHT_FILES
            ):
                raise SparsifyError(
                    f"{path} is not a transformers / sentence-transformers model directory "
                    f"(config.json + {' or '.join(WEIGHT_FILES)}); ONNX-only directories "
                    "can't be trained"
                )
            found = read_model_directory(path)  # the tokenizer, config and pooling it declares
        except TextPipelineError as err:
            raise SparsifyError(str(err)) from err
        self.path = path
        self.pooling = found.pooling
        self.config = found.config
        self.tokenizer_file = found.tokenizer_file
        archs = self.config.get("architectures") or []
        self.classifier = any(a.endswith("ForSequenceClassification") for a in archs)

    def load(self):
        import transformers

        cls = (
            transformers.AutoModelForSequenceClassification
            if self.classifier
            else transformers.AutoModel
        )
        net = cls.from_pretrained(self.transformer_dir, attn_implementation="eager")
        net.eval()  # no dropout: distillation targets stay deterministic and resumable
        return net


class _Batches:
    """Deterministic batches for step ``i``: each epoch a seeded permutation, cut in chunks of
    ``50 * batch_size`` sorted by length (less padding), batches shuffled again. Tokenized once."""

    def __init__(self, tokenizer, texts, labels, batch_size, max_len, seed):
        tokenizer.enable_truncation(max_len)
        tokenizer.no_padding()
        enc = tokenizer.encode_batch(list(texts))
        self.ids = [np.asarray(e.ids, np.int64) for e in enc]
        self.type_ids = [np.asarray(e.type_ids, np.int64) for e in enc]
        self.labels = None if labels is None else np.asarray(labels, np.int64)
        self.pad = pad_id(tokenizer)
        self.batch_size = min(batch_size, len(texts))
        self.seed = seed
        self._epochs: dict[int, list[np.ndarray]] = {}

    def _epoch(self, e: int) -> list[np.ndarray]:
        if e not in self._epochs:
            rng = np.random.default_rng([self.seed, e])
            order = rng.permutation(len(self.ids))
            chunk = 50 * self.batch_size
            batches = []
            for c in range(0, len(order), chunk):
                part = sorted(order[c : c + chunk], key=lambda i: len(self.ids[i]))
                batches += [
                    np.asarray(part[b : b + self.batch_size])
                    for b in range(0, len(part) - self.batch_size + 1, self.batch_size)
                ]
            self._epochs = {e: [batches[i] for i in rng.permutation(len(batches))]}
        return self._epochs[e]

    def per_epoch(self) -> int:
        """Batches per epoch: every chunk's full batches (a chunk's last partial one is left)."""
        n, chunk = len(self.ids), 50 * self.batch_size
        return (n // chunk) * 50 + (n % chunk) // self.batch_size

    def indices(self, step: int) -> np.ndarray:
        """The texts of step ``step``'s batch (indices into ``texts``)."""
        e, i = divmod(step, self.per_epoch())
        return self._epoch(e)[i]

    def __call__(self, step: int):
        return self.collate(self.indices(step))

    def collate(self, index):
        import torch

        n = max(len(self.ids[i]) for i in index)
        ids = np.full((len(index), n), self.pad, np.int64)
        types = np.zeros((len(index), n), np.int64)
        mask = np.zeros((len(index), n), np.int64)
        for r, i in enumerate(index):
            ids[r, : len(self.ids[i])] = self.ids[i]
            types[r, : len(self.ids[i])] = self.type_ids[i]
            mask[r, : len(self.ids[i])] = 1
        out = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "token_type_ids": torch.from_numpy(types),
        }
        labels = None if self.labels is None else torch.from_numpy(self.labels[index])
        return out, labels


@functools.cache
def _forward_inputs(model_class) -> frozenset[str]:
    """The keyword inputs ``model_class.forward`` takes (read once per class, not per step)."""
    import inspect as pyinspect

    return frozenset(pyinspect.signature(model_class.forward).parameters)


def _forward(net, feeds, attentions: bool = False):
    accepted = _forward_inputs(type(net))
    feeds = {k: v for k, v in feeds.items() if k in accepted}
    return net(**feeds, output_hidden_states=True, output_attentions=attentions, return_dict=True)


def _hidden_loss(student_hidden, teacher_hidden, mask):
    """Mean over layers 1..L of the masked MSE of hidden states (``[B, T, D]`` each), relative to
    the teacher's mean square (so layers of different scale weigh alike). In float32 whatever
    the forward ran in."""
    m = mask.unsqueeze(-1).float()
    n = m.sum() * student_hidden[-1].shape[-1]
    losses = []
    for hs, ht in zip(student_hidden, teacher_hidden, strict=True):
        hs, ht = hs.float(), ht.float()
        err = ((hs - ht) ** 2 * m).sum() / n
        scale = (ht**2 * m).sum() / n
        losses.append(err / scale.clamp(min=1e-12))
    return sum(losses) / len(losses)


def _attention_loss(student_out, teacher_out, mask):
    """Mean over layers of KL(teacher || student) between the attention distributions (each head,
    each real query token, over the keys): MiniLM's self-attention transfer, which tells the
    student where to look, not only what to output. In float32 whatever the forward ran in."""
    import torch

    q = mask.float()[:, None, :, None]  # [batch, 1, query, 1]: padded queries don't count
    n = q.sum() * student_out.attentions[0].shape[1]
    losses = []
    for a_s, a_t in zip(student_out.attentions, teacher_out.attentions, strict=True):
        a_s, a_t = a_s.float(), a_t.float()
        log_ratio = torch.log(a_t.clamp(min=1e-12)) - torch.log(a_s.clamp(min=1e-12))
        losses.append(((a_t * log_ratio).sum(-1, keepdim=True) * q).sum() / n)
    return sum(losses) / len(losses)


def _output_target(model: _Model, out, mask):
    """What the output loss compares, float32: the logits (classifiers) or the pooled sentence
    embedding ``[batch, D]`` (encoders)."""
    if model.classifier:
        return out.logits.float()
    return _pool(out.last_hidden_state.float(), mask, model.pooling.mode)


class _Teacher:
    """What the loss takes of the teacher on one batch: ``target`` (:func:`_output_target`),
    ``hidden_states`` (layers 1..L, ``[B, T, D]`` each; None when not needed) and
    ``attentions`` (None when not asked for)."""

    def __init__(self, target, hidden_states=None, attentions=None):
        self.target, self.hidden_states, self.attentions = target, hidden_states, attentions

    @classmethod
    def of(cls, model: _Model, out, mask) -> _Teacher:
        """From the teacher's forward pass on the batch."""
        return cls(_output_target(model, out, mask), out.hidden_states[1:], out.attentions)


#: the teacher's pass over all texts is kept in memory only if it needs at most this share of
#: the RAM the process may use (:func:`tvm_blocksparse.target.available_memory`)
TEACHER_CACHE_MEMORY_SHARE = 0.25


class _TeacherCache:
    """The teacher's :class:`_Teacher` parts of every training text, computed once in batches of
    similar length, so that no training step runs the teacher: the output target
    ``[n_texts, D]`` (float32) and, with ``hidden``, the hidden states of layers 1..L of every
    real token, ``[n_tokens + 1, L, D]`` (the last row: zeros for padding) in bfloat16 when the
    forward passes run in it, else float32. Attention maps are not kept (a run that matches
    them runs the teacher every step)."""

    def __init__(self, net, model: _Model, batches: _Batches, precision: str, hidden: bool):
        import torch

        lengths = np.array([len(ids) for ids in batches.ids], np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.hidden = None
        if hidden:
            shape = (int(self.offsets[-1]) + 1, *self.hidden_shape(net.config))
            self.hidden = torch.zeros(shape, dtype=self.hidden_dtype(precision))
        order = np.argsort(lengths, kind="stable")
        chunk = 2 * batches.batch_size
        rows = [None] * len(order)
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
            for b in range(0, len(order), chunk):
                index = order[b : b + chunk]
                feeds, _ = batches.collate(index)
                out = _forward(net, feeds)
                target = _output_target(model, out, feeds["attention_mask"])
                states = torch.stack(out.hidden_states[1:], dim=2) if hidden else None
                for r, i in enumerate(index):
                    rows[i] = target[r]
                    if hidden:
                        self.hidden[self.offsets[i] : self.offsets[i + 1]] = states[r, : lengths[i]]
        self.target = torch.stack(rows)

    @staticmethod
    def hidden_shape(config) -> tuple[int, int]:
        return (config.num_hidden_layers, config.hidden_size)

    @staticmethod
    def hidden_dtype(precision: str):
        import torch

        return torch.bfloat16 if precision == "bf16" else torch.float32

    @classmethod
    def hidden_bytes(cls, config, batches: _Batches, precision: str) -> int:
        """Memory the hidden states of every text would take."""
        layers, width = cls.hidden_shape(config)
        tokens = sum(len(ids) for ids in batches.ids) + 1
        return tokens * layers * width * cls.hidden_dtype(precision).itemsize

    def batch(self, index) -> _Teacher:
        """The teacher's parts for the texts ``index``, padded as :meth:`_Batches.collate` pads
        them (to the longest of them)."""
        import torch

        target = self.target[index]
        if self.hidden is None:
            return _Teacher(target)
        lengths = self.offsets[np.asarray(index) + 1] - self.offsets[index]
        pad_row = len(self.hidden) - 1
        rows = np.full((len(index), int(lengths.max())), pad_row, np.int64)
        for r, (i, n) in enumerate(zip(index, lengths, strict=True)):
            rows[r, :n] = np.arange(self.offsets[i], self.offsets[i] + n)
        states = self.hidden[torch.from_numpy(rows)].float()  # [B, T, L, D]
        return _Teacher(target, states.unbind(dim=2))


def _distill_loss(
    model: _Model,
    student_out,
    teacher: _Teacher,
    feeds,
    labels,
    hidden_weight: float,
    attention_weight: float = 0.0,
):
    """The loss and its parts; the hidden-state and attention terms only where ``teacher`` has
    them in the student's shapes (a teacher of another depth or width distils its outputs)."""
    import torch
    import torch.nn.functional as F

    mask = feeds["attention_mask"]
    parts = {}
    if model.classifier:
        t = 2.0
        parts["kl"] = (
            F.kl_div(
                F.log_softmax(student_out.logits.float() / t, -1),
                F.log_softmax(teacher.target / t, -1),
                log_target=True,
                reduction="batchmean",
            )
            * t
            * t
        )
        if labels is not None:
            parts["ce"] = F.cross_entropy(student_out.logits.float(), labels)
    else:
        es = _output_target(model, student_out, mask)
        parts["cos"] = (1.0 - F.cosine_similarity(es, teacher.target, dim=-1)).mean()
    student_hidden = student_out.hidden_states[1:]
    same_shape = teacher.hidden_states is not None and [h.shape for h in student_hidden] == [
        h.shape for h in teacher.hidden_states
    ]
    if hidden_weight > 0 and same_shape:
        parts["hidden"] = hidden_weight * _hidden_loss(student_hidden, teacher.hidden_states, mask)
    if attention_weight > 0 and same_shape and teacher.attentions is not None:
        if [a.shape for a in student_out.attentions] == [a.shape for a in teacher.attentions]:
            parts["attention"] = attention_weight * _attention_loss(student_out, teacher, mask)
    total = sum(parts.values(), torch.zeros(()))
    return total, {k: float(v.detach()) for k, v in parts.items()}


def _distill_step(
    model: _Model,
    student,
    teacher_net,
    cache: _TeacherCache | None,
    batches: _Batches,
    index,
    opt,
    layers: dict,
    masks: dict | None,
    *,
    precision: str,
    hidden_weight: float,
    attention_weight: float,
):
    """One optimizer step of ``student`` on the texts ``index``: the teacher's parts from
    ``cache`` (None: its forward pass now), the student's forward pass (bfloat16 autocast for
    ``precision="bf16"``), :func:`_distill_loss`, the update at ``opt``'s learning rate, and the
    pruned blocks zeroed again. Returns the loss and its parts."""
    import torch

    attentions = attention_weight > 0
    feeds, labels = batches.collate(index)
    with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
        if cache is None:
            with torch.no_grad():
                out = _forward(teacher_net, feeds, attentions)
            teacher = _Teacher.of(model, out, feeds["attention_mask"])
        else:
            teacher = cache.batch(index)
        student_out = _forward(student, feeds, attentions)
    loss, parts = _distill_loss(
        model, student_out, teacher, feeds, labels, hidden_weight, attention_weight
    )
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if masks is not None:
        _apply_masks(layers, masks)
    return loss, parts


CRITERIA = ("magnitude", "obs")
#: calibration batches (of the run's batch size) whose real tokens give each layer's input
#: second moments ``X^T X`` for ``criterion="obs"``
OBS_CALIBRATION_BATCHES = 8
#: diagonal damping of ``X^T X`` for ``criterion="obs"``, relative to its mean diagonal
#: (SparseGPT's)
OBS_DAMPING = 0.01


def input_second_moments(net, layers: dict, batches: list) -> dict:
    """``{name: X^T X / T}`` (float64 ``[K_in, K_in]``) of each layer's input over the real
    (unpadded) tokens of ``batches`` (a list of feeds), the student run in float32: the Hessian
    of the layer's squared output error that :func:`obs_prune_layer` uses."""
    import torch

    acc: dict = {}
    count: dict = {}
    real: dict = {}

    def hook(name):
        def pre(module, inputs):
            x = inputs[0].detach()
            x = x[real["mask"]].double()  # [tokens, K_in]
            acc[name] = acc.get(name, 0) + x.T @ x
            count[name] = count.get(name, 0) + x.shape[0]

        return pre

    handles = [layer.register_forward_pre_hook(hook(n)) for n, layer in layers.items()]
    try:
        with torch.no_grad():
            for feeds in batches:
                real["mask"] = feeds["attention_mask"].bool()
                _forward(net, feeds)
    finally:
        for h in handles:
            h.remove()
    return {n: acc[n] / max(1, count[n]) for n in layers}


def obs_prune_layer(weight, hessian, sparsity: float, block) -> np.ndarray:
    """Prune ``weight`` (a float32 torch ``W[N_out, K_in]``, changed in place) to ``sparsity`` in
    ``block`` blocks by Optimal Brain Surgeon saliency, and update the kept weights so the
    layer's output on inputs of second moment ``hessian`` changes least; returns the block keep
    mask ``[N_out/bs_out, K_in/bs_in]``.

    Saliency of a block: the sum over its weights of ``w_ij**2 / [H^-1]_jj`` (exact for "4x1",
    whose block is one input column; the diagonal approximation across columns otherwise). The
    update then solves each block row's least squares on its kept columns exactly (``H`` damped
    by ``OBS_DAMPING``), not SparseGPT's one-pass column sweep (Frantar & Alistarh 2023), which
    only repairs columns right of each pruned one. Blocks already zero have saliency 0, so a
    pruned block stays pruned as the sparsity rises.
    """
    import torch

    bs_out, bs_in = fmt.parse_block(block)
    w = weight.detach().double()
    n_out, k_in = w.shape
    h = hessian.double().clone()
    dead = torch.diag(h) == 0  # inputs that never fired: keep H invertible (as SparseGPT)
    h[dead, dead] = 1.0
    h += OBS_DAMPING * torch.diag(h).mean() * torch.eye(k_in, dtype=h.dtype)
    h_inv = torch.cholesky_inverse(torch.linalg.cholesky(h))
    saliency = (w**2 / torch.diag(h_inv)[None, :]).numpy()
    scores = saliency.reshape(n_out // bs_out, bs_out, k_in // bs_in, bs_in).sum(axis=(1, 3))
    n_zero = math.ceil(sparsity * scores.size - 1e-9)
    keep = np.ones(scores.size, bool)
    keep[np.argsort(scores.ravel(), kind="stable")[:n_zero]] = False
    keep = keep.reshape(scores.shape)
    # each block row's kept weights: argmin (w' - w)^T H (w' - w) with w' zero off the kept
    # columns c, i.e. H[c, c] w'[c] = (H w)[c] (its rows share c, so one solve per block row)
    hw = h @ w.T  # [K_in, N_out]
    cols = np.repeat(keep, bs_in, axis=1)  # [N_out/bs_out, K_in]
    repaired = torch.zeros_like(w)
    for g in range(n_out // bs_out):
        c = torch.from_numpy(np.flatnonzero(cols[g]))
        if len(c):
            rows = slice(g * bs_out, (g + 1) * bs_out)
            repaired[rows, c] = torch.linalg.solve(h[c][:, c], hw[c, rows]).T
    with torch.no_grad():
        weight.copy_(repaired.to(weight.dtype))
    return keep


def _apply_masks(layers: dict, masks: dict) -> None:
    import torch

    with torch.no_grad():
        for name, layer in layers.items():
            layer.weight.mul_(masks[name])


def _choose_masks(layers: dict, sparsity: float, block) -> dict:
    import torch

    masks = {}
    for name, layer in layers.items():
        w = layer.weight.detach().numpy()
        keep = fmt.expand_block_mask(fmt.block_keep_mask(w, sparsity, block), block)
        masks[name] = torch.from_numpy(keep.astype(np.float32))
    return masks


def layer_sparsity(layers: dict, block) -> dict[str, float]:
    """Measured ``block`` sparsity (fraction of all-zero blocks) of each layer's weight."""
    out = {}
    for name, layer in layers.items():
        nz = fmt.block_nonzero_mask(layer.weight.detach().numpy(), block)
        out[name] = round(1.0 - float(nz.mean()), 6)
    return out


def _embed(net, model: _Model, batches: _Batches, index_all) -> np.ndarray:
    """Normalized sentence embeddings (encoders) or softmax probabilities (classifiers), in
    batches of ``batches.batch_size``."""
    import torch

    outs = []
    with torch.no_grad():
        for b in range(0, len(index_all), batches.batch_size):
            feeds, _ = batches.collate(index_all[b : b + batches.batch_size])
            out = _forward(net, feeds)
            if model.classifier:
                outs.append(torch.softmax(out.logits, -1).numpy())
            else:
                e = _pool(out.last_hidden_state, feeds["attention_mask"], model.pooling.mode)
                outs.append(torch.nn.functional.normalize(e, dim=-1).numpy())
    return np.concatenate(outs).astype(np.float64)


def fidelity(student: np.ndarray, teacher: np.ndarray, classifier: bool = False) -> dict:
    """How close the student's outputs on held-out texts are to the teacher's. Encoders: cosine
    of the (normalized) embeddings, and nearest-neighbour agreement among the texts (top-1: the
    same nearest neighbour; top-5: mean overlap of the 5 nearest). Classifiers: label agreement
    and the mean total-variation distance of the probabilities."""
    if classifier:
        return {
            "label_agreement": float((student.argmax(1) == teacher.argmax(1)).mean()),
            "prob_tv_mean": float(0.5 * np.abs(student - teacher).sum(1).mean()),
        }
    cos = (student * teacher).sum(1) / (
        np.linalg.norm(student, axis=1) * np.linalg.norm(teacher, axis=1) + 1e-12
    )
    out = {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()), "n": len(cos)}
    if len(cos) > 5:
        ss, tt = student @ student.T, teacher @ teacher.T
        np.fill_diagonal(ss, -np.inf)
        np.fill_diagonal(tt, -np.inf)
        s_rank, t_rank = np.argsort(-ss, 1), np.argsort(-tt, 1)
        out["nn_top1"] = float((s_rank[:, 0] == t_rank[:, 0]).mean())
        out["nn_top5"] = float(
            np.mean([len(set(a[:5]) & set(b[:5])) / 5 for a, b in zip(s_rank, t_rank)])
        )
    return out


def _config_key(cfg: dict) -> str:
    return hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()


def _texts_key(texts, labels) -> str:
    h = hashlib.sha1()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    if labels is not None:
        h.update(np.asarray(labels, np.int64).tobytes())
    return h.hexdigest()


def _check_texts(texts, what: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise SparsifyError(f"{what} must be a list of strings, got {type(texts).__name__}")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise SparsifyError(f"{what}[{bad[0]}] is not a non-empty string ({len(bad)} such)")
    return list(texts)


def _write_model_dir(model: _Model, student, out_dir: str) -> None:
    """``out_dir`` in the layout of ``model.path``: every file but the weights (and ONNX
    exports, which no longer match) copied, the student saved as ``model.safetensors``."""
    rel = os.path.relpath(model.transformer_dir, model.path)

    def skip(directory, names):
        drop = {
            n for n in names if n in _REPLACED_WEIGHT_FILES or n.endswith(".onnx") or n == "onnx"
        }
        return drop | {CHECKPOINT_FILE, REPORT_FILE}

    shutil.copytree(model.path, out_dir, ignore=skip, dirs_exist_ok=True)
    student.save_pretrained(os.path.join(out_dir, rel), safe_serialization=True)


def sparsify_model(
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    sparsity: float = 0.9,
    block: str = "4x1",
    texts: list[str],
    labels: list[int] | None = None,
    teacher: str | os.PathLike | None = None,
    steps: int = 5000,
    batch_size: int = 32,
    schedule: str = "cubic",
    criterion: str = "magnitude",
    prune_end: float = 0.5,
    mask_every: int | None = None,
    lr: float = 3e-3,
    warmup: float = 0.05,
    hidden_weight: float = 0.3,
    attention_weight: float = 0.0,
    train_embeddings: bool = False,
    max_seq_len: int = 128,
    heldout_texts: list[str] | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    seed: int = 0,
    threads: int | None = None,
    precision: str = "auto",
    teacher_cache: bool = True,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> dict:
    """Prune ``model_dir``'s encoder Linear weights to ``sparsity`` in ``block`` blocks
    (``W[N_out, K_in]``; "4x1" = 4 output channels x 1 input channel) while distilling the dense
    model, and write ``out_dir`` in the same layout (sentence-transformers or transformers; the
    weights as ``model.safetensors`` with exact block zeros) plus ``sparsify_report.json``.

    ``texts``: unlabelled training texts (``labels``: optional class ids for a classification
    model, one per text). ``teacher``: a model directory to distil from (None: ``model_dir``
    itself, dense). ``steps`` optimizer steps of ``batch_size`` texts (truncated to
    ``max_seq_len`` tokens); masks re-chosen every ``mask_every`` steps (None: 40 times) until
    ``prune_end`` (a fraction of ``steps``) on the ``schedule``, by ``criterion``: "magnitude"
    (block L1 norm) or "obs" (:func:`obs_prune_layer` on the second moments of each layer's
    inputs over the next ``OBS_CALIBRATION_BATCHES`` batches: the blocks whose loss the layer's
    output feels least, the kept weights repaired); AdamW at ``lr`` with linear
    warm-up over ``warmup`` and linear decay; the embeddings stay the teacher's unless
    ``train_embeddings`` (they are never pruned, and a small corpus would pull the words it
    holds away from the rest). Loss: the output's (pooled-embedding cosine, or logit KL and
    labels), + ``hidden_weight`` x the hidden states' relative MSE, + ``attention_weight`` x the
    KL of the attention maps (both for a teacher of the student's shape). ``teacher_cache``:
    when the run sees each text more than once, the teacher's outputs and hidden states of every
    text are computed once, not every step (:class:`_TeacherCache`), if they fit in
    ``TEACHER_CACHE_MEMORY_SHARE`` of the memory the process may use (and no attention term
    asks for its maps); the report's ``teacher_cached`` says whether they did. ``heldout_texts``:
    texts the report measures fidelity to the teacher on, for the result and for one-shot
    magnitude pruning of the teacher.
    ``include`` / ``exclude``: fnmatch patterns on module names (default: every Linear but the
    pooler and task heads). ``precision``: "fp32", or "bf16" (the forward passes under torch's
    bfloat16 autocast, weights and optimizer state stay float32: faster where the CPU multiplies
    bfloat16 natively); "auto": "bf16" on CPUs with AMX-BF16 or AVX512-BF16, else "fp32" (the
    report's config says which ran). Deterministic for a ``seed``, thread count, precision and
    ``teacher_cached`` (bf16 runs keep the cached hidden states in bfloat16).
    The defaults are the settings that met 0.90 held-out cosine at 90 % 4x1 on all-MiniLM-L6-v2
    within 30 minutes on 2 cores (figures: bench/README).

    Resumable: a checkpoint is written to ``out_dir`` every ``checkpoint_every`` steps (None: 10
    times a run) and when ``stop_after`` steps of this call have run; calling again with the same
    arguments continues from it (another configuration is refused), and the finished run equals
    an uninterrupted one. Returns the report (also while stopped: ``"finished": False``).
    """
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        raise SparsifyError(
            "sparsify_model trains with torch and transformers: pip install "
            f"'tvm-blocksparse[train]' ({err})"
        ) from err
    from tvm_blocksparse.target import available_cpus, available_memory

    model_dir, out_dir = os.fspath(model_dir), os.fspath(out_dir)
    if not 0.0 <= sparsity < 1.0:
        raise SparsifyError(f"sparsity must be in [0, 1), got {sparsity}")
    try:
        fmt.parse_block(block)
    except ValueError as err:
        raise SparsifyError(str(err)) from err
    if schedule not in SCHEDULES:
        raise SparsifyError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if criterion not in CRITERIA:
        raise SparsifyError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if precision not in PRECISIONS:
        raise SparsifyError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    precision = training_precision() if precision == "auto" else precision
    if steps < 1 or batch_size < 1 or max_seq_len < 2:
        raise SparsifyError(
            f"need steps >= 1, batch_size >= 1, max_seq_len >= 2: {steps=}, "
            f"{batch_size=}, {max_seq_len=}"
        )
    if hidden_weight < 0 or attention_weight < 0:
        raise SparsifyError(f"loss weights must be >= 0: {hidden_weight=}, {attention_weight=}")
    if not 0.0 < prune_end <= 1.0 or not 0.0 <= warmup < 1.0:
        raise SparsifyError(
            f"prune_end must be in (0, 1], warmup in [0, 1): {prune_end=}, {warmup=}"
        )
    texts = _check_texts(texts, "texts")
    if labels is not None and len(labels) != len(texts):
        raise SparsifyError(f"{len(labels)} labels for {len(texts)} texts")
    heldout = None if heldout_texts is None else _check_texts(heldout_texts, "heldout_texts")
    if os.path.abspath(model_dir) == os.path.abspath(out_dir):
        raise SparsifyError("out_dir must differ from model_dir (the dense model is the teacher)")

    model = _Model(model_dir)
    teacher_model = model if teacher is None else _Model(os.fspath(teacher))
    if teacher_model.classifier != model.classifier:
        raise SparsifyError(
            f"the teacher {teacher_model.path} and the model must both be classifiers or both "
            "encoders"
        )
    if labels is not None and not model.classifier:
        raise SparsifyError(f"labels given, but {model_dir} is not a classification model")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or available_cpus())
    try:
        torch.manual_seed(seed)
        student = model.load()
        teacher_net = teacher_model.load()
        for p in teacher_net.parameters():
            p.requires_grad_(False)
        if not train_embeddings:
            embeddings = getattr(student.base_model, "embeddings", None)
            for p in (embeddings or student.get_input_embeddings()).parameters():
                p.requires_grad_(False)
        layers = prunable_linears(student, block, include, exclude)
        if not layers:
            raise SparsifyError(
                f"no Linear layer matched include={include} exclude={exclude} and "
                f"divides into {block} blocks: nothing to prune"
            )
        batches = _Batches(
            load_tokenizer(model.tokenizer_file), texts, labels, batch_size, max_seq_len, seed
        )
        end_step = max(1, round(prune_end * steps))
        mask_every = mask_every or max(1, end_step // 40)
        changes = set(mask_steps(end_step, mask_every))
        warm = round(warmup * steps)

        def held_sparsity(at: int) -> float:  # what the masks hold at step ``at``
            return target_sparsity(max(c for c in changes if c <= at), sparsity, end_step, schedule)

        checkpoint_every = checkpoint_every or max(1, steps // 10)

        def _choose_masks_at(at: int) -> dict:
            target = target_sparsity(at, sparsity, end_step, schedule)
            if criterion == "magnitude" or target == 0.0:
                return _choose_masks(layers, target, block)
            # obs: second moments of the inputs on the batches the run trains on next
            calib = [batches(at + j)[0] for j in range(OBS_CALIBRATION_BATCHES)]
            moments = input_second_moments(student, layers, calib)
            return {
                name: torch.from_numpy(
                    fmt.expand_block_mask(
                        obs_prune_layer(layer.weight, moments[name], target, block), block
                    ).astype(np.float32)
                )
                for name, layer in layers.items()
            }

        config = {
            "model_dir": os.path.abspath(model_dir),
            "teacher": os.path.abspath(teacher_model.path),
            "sparsity": sparsity,
            "block": block,
            "steps": steps,
            "batch_size": batch_size,
            "schedule": schedule,
            **({"criterion": criterion} if criterion != "magnitude" else {}),
            "prune_end_step": end_step,
            "mask_every": mask_every,
            "lr": lr,
            "warmup_steps": warm,
            "hidden_weight": hidden_weight,
            **({"attention_weight": attention_weight} if attention_weight else {}),
            "train_embeddings": train_embeddings,
            "max_seq_len": max_seq_len,
            "seed": seed,
            "precision": precision,
            "layers": sorted(layers),
            "texts": len(texts),
            "texts_sha1": _texts_key(texts, labels),
        }
        key = _config_key(config)
        trained = [p for p in student.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(trained, lr=lr, weight_decay=0.0, fused=True)  # one CPU kernel

        def lr_at(step: int) -> float:
            if step < warm:
                return lr * (step + 1) / warm
            return lr * max(0.0, (steps - step) / max(1, steps - warm))

        os.makedirs(out_dir, exist_ok=True)
        ckpt_path = os.path.join(out_dir, CHECKPOINT_FILE)
        step, history, masks, seconds = 0, [], None, 0.0
        if os.path.isfile(ckpt_path):
            try:  # tensors, numbers and strings only: no pickled code runs
                state = torch.load(ckpt_path, weights_only=True)
            except Exception as err:
                raise SparsifyError(
                    f"{ckpt_path} is not a readable checkpoint ({err}); remove it to start over"
                ) from err
            if state["config_key"] != key:
                raise SparsifyError(
                    f"{ckpt_path} is a checkpoint of another configuration; remove it or use "
                    "another out_dir"
                )
            student.load_state_dict(state["student"])
            opt.load_state_dict(state["optimizer"])
            step, history, masks = state["step"], state["history"], state["masks"]
            seconds = state["seconds"]

        def save_checkpoint():
            tmp = ckpt_path + ".tmp"
            torch.save(
                {
                    "config_key": key,
                    "student": student.state_dict(),
                    "optimizer": opt.state_dict(),
                    "step": step,
                    "history": history,
                    "masks": masks,
                    "seconds": seconds + time.perf_counter() - t0,
                },
                tmp,
            )
            os.replace(tmp, ckpt_path)

        bar = None
        if progress:
            try:
                from tqdm.auto import tqdm

                bar = tqdm(
                    total=steps,
                    initial=step,
                    desc="sparsify",
                    unit="step",
                    mininterval=0.2 if sys.stderr.isatty() else 30.0,  # (a log file: every 30 s)
                )
            except ImportError:
                bar = None
        t0 = time.perf_counter()
        # texts seen more than once: the teacher runs once per text, not per step, when what
        # the loss needs of it fits in memory (the loaded configs: transformers maps each
        # family's own key names onto these)
        same_shape = all(
            getattr(teacher_net.config, k) == getattr(student.config, k)
            for k in ("num_hidden_layers", "hidden_size")
        )
        same_heads = same_shape and (
            teacher_net.config.num_attention_heads == student.config.num_attention_heads
        )
        needs_hidden = hidden_weight > 0 and same_shape
        cached = (
            teacher_cache
            and not (attention_weight > 0 and same_heads)  # attention maps: every step
            and steps * batches.batch_size > len(texts)  # texts seen more than once
            and step < steps
            and (
                not needs_hidden
                or _TeacherCache.hidden_bytes(teacher_net.config, batches, precision)
                <= TEACHER_CACHE_MEMORY_SHARE * available_memory()
            )
        )
        cache = (
            _TeacherCache(teacher_net, model, batches, precision, needs_hidden) if cached else None
        )
        ran, log_every = 0, max(1, steps // 100)
        window: list[dict] = []
        try:
            while step < steps:
                if stop_after is not None and ran >= stop_after:
                    save_checkpoint()
                    if bar is not None:
                        bar.close()
                    return {"finished": False, "step": step, "config": config, "history": history}
                if step in changes:
                    masks = _choose_masks_at(step)
                    _apply_masks(layers, masks)
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
                loss, parts = _distill_step(
                    model,
                    student,
                    teacher_net,
                    cache,
                    batches,
                    batches.indices(step),
                    opt,
                    layers,
                    masks,
                    precision=precision,
                    hidden_weight=hidden_weight,
                    attention_weight=attention_weight,
                )
                step, ran = step + 1, ran + 1
                window.append({"loss": float(loss.detach()), **parts})
                if step % log_every == 0 or step == steps:
                    history.append(
                        {
                            "step": step,
                            "sparsity": round(held_sparsity(step - 1), 6),
                            "lr": lr_at(step - 1),
                            **{k: float(np.mean([w[k] for w in window])) for k in window[0]},
                        }
                    )
                    window = []
                    if bar is not None:
                        bar.set_postfix(
                            loss=f"{history[-1]['loss']:.4f}",
                            sparsity=f"{history[-1]['sparsity']:.3f}",
                        )
                if bar is not None:
                    bar.update(1)
                if step % checkpoint_every == 0 and step < steps:
                    save_checkpoint()
        except KeyboardInterrupt:  # Ctrl-C: keep what ran, the same call resumes it
            save_checkpoint()
            raise
        if bar is not None:
            bar.close()
        seconds += time.perf_counter() - t0

        measured = layer_sparsity(layers, block)
        report = {
            "finished": True,
            "config": config,
            "train_seconds": round(seconds, 1),
            "threads": torch.get_num_threads(),
            "history": history,
            "layer_sparsity": measured,
            "min_layer_sparsity": min(measured.values()),
            "teacher_cached": cache is not None,
        }
        if heldout is not None:
            ev = _Batches(
                load_tokenizer(model.tokenizer_file), heldout, None, batch_size, max_seq_len, seed
            )
            index = np.arange(len(heldout))
            ref = _embed(teacher_net, model, ev, index)
            report["heldout"] = {
                "student": fidelity(_embed(student, model, ev, index), ref, model.classifier)
            }
            oneshot = model.load()
            one_layers = prunable_linears(oneshot, block, include, exclude)
            _apply_masks(one_layers, _choose_masks(one_layers, sparsity, block))
            report["heldout"]["oneshot_magnitude"] = fidelity(
                _embed(oneshot, model, ev, index), ref, model.classifier
            )
        _write_model_dir(model, student, out_dir)
        with open(os.path.join(out_dir, REPORT_FILE), "w") as f:
            json.dump(report, f, indent=1)
        if os.path.isfile(ckpt_path):
            os.remove(ckpt_path)
        return report
    finally:  # the caller keeps its torch thread count
        torch.set_num_threads(previous_threads)


__all__ = [
    "CRITERIA",
    "SparsifyError",
    "fidelity",
    "input_second_moments",
    "layer_sparsity",
    "mask_steps",
    "obs_prune_layer",
    "prunable_linears",
    "sparsify_model",
    "target_sparsity",
]
