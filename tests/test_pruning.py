"""Gradual block pruning with distillation (``tvm_blocksparse.pruning``) on a tiny random
sentence-transformers BERT and docstring sentences: exact block sparsity in 4x1 orientation
(4 output channels x 1 input channel of ``W[N_out, K_in]``), a teacher that never changes,
resumption, fidelity above one-shot magnitude pruning, the output layout, bad input."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tvm_blocksparse import format as fmt
from tvm_blocksparse import pruning
from tvm_blocksparse.pruning import SparsifyError, sparsify_model, target_sparsity
from tvm_blocksparse.testing import (
    docstring_sentences,
    write_tiny_classifier_dir,
    write_tiny_sentence_transformers_dir,
)

FAST = dict(batch_size=16, max_seq_len=32, threads=1, progress=False)


@pytest.fixture(scope="module")
def st_dir(tmp_path_factory):
    return write_tiny_sentence_transformers_dir(tmp_path_factory.mktemp("st"))


@pytest.fixture(scope="module")
def sentences():
    pool = docstring_sentences(400, min_words=4, max_words=30, seed=1)
    return pool[:300], pool[300:]


def _weights(directory):
    from safetensors.numpy import load_file

    return load_file(os.path.join(directory, "model.safetensors"))


def _encoder_linears(weights):
    return {
        k: v
        for k, v in weights.items()
        if k.endswith(".weight") and v.ndim == 2 and ".encoder." in f".{k}"
    }


@pytest.fixture(scope="module")
def trained(st_dir, sentences, tmp_path_factory):
    train, held = sentences
    out = str(tmp_path_factory.mktemp("out90"))
    report = sparsify_model(
        st_dir, out, sparsity=0.9, texts=train, heldout_texts=held, steps=60, lr=3e-3, **FAST
    )
    return out, report


def test_cubic_schedule_starts_dense_rises_fast_and_holds_the_target():
    s = [target_sparsity(t, 0.9, 100) for t in range(0, 120, 10)]
    assert s[0] == 0.0 and s[-1] == s[-2] == 0.9
    assert all(a < b for a, b in itertools.pairwise(s[:11]))
    assert target_sparsity(50, 0.9, 100) == pytest.approx(0.9 * (1 - 0.5**3))
    assert target_sparsity(50, 0.9, 100, "linear") == pytest.approx(0.45)
    assert pruning.mask_steps(10, 4) == [0, 4, 8, 10]


def test_masks_reach_the_target_exactly_in_4x1_blocks(trained):
    out, report = trained
    linears = _encoder_linears(_weights(out))
    assert len(linears) == 2 * 6  # q, k, v, attention output, intermediate, output per layer
    for name, w in linears.items():
        keep = fmt.block_nonzero_mask(w, "4x1")  # [N_out/4, K_in]
        want = 1 - math.ceil(0.9 * keep.size - 1e-9) / keep.size
        assert keep.mean() == pytest.approx(want), name
        # every zero is part of an all-zero 4x1 block (4 output rows of one input column)
        assert np.array_equal(w != 0, fmt.expand_block_mask(keep, "4x1")), name
        # the orientation is 4x1, not 1x4: in 1x4 blocks the same weight is far less sparse
        assert fmt.block_nonzero_mask(w, (1, 4)).mean() > keep.mean() + 0.1, name
    assert report["min_layer_sparsity"] >= 0.9 - 1e-6
    assert set(report["layer_sparsity"]) == {k.rsplit(".", 1)[0] for k in linears}


def test_embeddings_stay_the_teachers_unless_trained_and_are_never_pruned(
    trained, st_dir, sentences, tmp_path
):
    out, _ = trained
    before, after = _weights(st_dir), _weights(out)
    for name in before:
        if name.startswith("embeddings."):
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert np.count_nonzero(after["pooler.dense.weight"]) == after["pooler.dense.weight"].size
    sparsify_model(
        st_dir, tmp_path, texts=sentences[0], steps=4, lr=1e-2, train_embeddings=True, **FAST
    )
    word = _weights(tmp_path)["embeddings.word_embeddings.weight"]
    assert not np.array_equal(word, before["embeddings.word_embeddings.weight"])
    assert np.count_nonzero(word) == word.size - 32  # all but the [PAD] row (BERT's padding_idx)


def test_distillation_beats_one_shot_magnitude_pruning_on_held_out_texts(trained):
    _, report = trained
    student, oneshot = report["heldout"]["student"], report["heldout"]["oneshot_magnitude"]
    assert student["cos_mean"] > oneshot["cos_mean"] + 0.3, report["heldout"]
    assert student["cos_min"] > oneshot["cos_min"] + 0.3, report["heldout"]
    losses = [h["loss"] for h in report["history"]]
    assert min(losses[-5:]) < max(losses), losses


def test_the_output_keeps_the_sentence_transformers_layout(trained, st_dir):
    from tvm_blocksparse.text import read_model_directory

    out, report = trained
    for f in ("modules.json", "1_Pooling/config.json", "tokenizer.json", "config.json"):
        assert os.path.isfile(os.path.join(out, f)), f
    assert not os.path.exists(os.path.join(out, pruning.CHECKPOINT_FILE))
    saved = json.load(open(os.path.join(out, pruning.REPORT_FILE)))
    assert saved["history"] == report["history"] and saved["finished"]
    found = read_model_directory(out)
    assert found.layout == "transformers" and found.pooling.mode == "mean"
    assert found.pooling.normalize


def test_the_output_exports_to_onnx_with_its_4x1_zeros(trained, tmp_path):
    import onnx

    from tvm_blocksparse.onnx_import import linear_layers
    from tvm_blocksparse.text import export_transformers_onnx

    out, _ = trained
    export_transformers_onnx(out, "feature-extraction", str(tmp_path / "model.onnx"))
    layers = linear_layers(onnx.load(str(tmp_path / "model.onnx")))
    sparse = [1 - fmt.block_nonzero_mask(x.w_kn.T, "4x1").mean() for x in layers]
    assert sum(s >= 0.9 - 1e-6 for s in sparse) == 12  # the encoder's; the pooler stays dense


def test_the_teacher_is_never_updated(st_dir, sentences, tmp_path, monkeypatch):
    import torch

    loaded = []
    original = pruning._Model.load

    def remember(self):
        net = original(self)
        loaded.append(net)
        return net

    monkeypatch.setattr(pruning._Model, "load", remember)
    sparsify_model(st_dir, tmp_path, sparsity=0.8, texts=sentences[0], steps=6, lr=1e-2, **FAST)
    student, teacher = loaded[:2]
    fresh = original(pruning._Model(st_dir))
    for name, value in fresh.state_dict().items():
        assert torch.equal(teacher.state_dict()[name], value), name
    assert not all(torch.equal(student.state_dict()[n], v) for n, v in fresh.state_dict().items())


@pytest.fixture(scope="module")
def resumed_runs(st_dir, sentences, tmp_path_factory):
    """Per precision: an uninterrupted run, and the same run stopped after 3 steps and resumed."""
    runs = {}
    for precision in ("fp32", "bf16"):
        tmp = tmp_path_factory.mktemp(precision)
        args = dict(
            sparsity=0.75, texts=sentences[0], steps=8, lr=1e-3, checkpoint_every=100, **FAST
        )
        args["precision"] = precision
        whole = sparsify_model(st_dir, tmp / "whole", **args)
        stopped = sparsify_model(st_dir, tmp / "split", stop_after=3, **args)
        assert not stopped["finished"] and stopped["step"] == 3
        assert os.path.isfile(tmp / "split" / pruning.CHECKPOINT_FILE)
        resumed = sparsify_model(st_dir, tmp / "split", **args)
        runs[precision] = (tmp, whole, resumed)
    return runs


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_resumed_run_equals_an_uninterrupted_one(resumed_runs, precision):
    tmp, whole, resumed = resumed_runs[precision]
    assert whole["config"]["precision"] == precision
    assert resumed["history"] == whole["history"]
    a, b = _weights(tmp / "whole"), _weights(tmp / "split")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_bf16_runs_the_forward_passes_in_bfloat16(resumed_runs):
    fp32, bf16 = resumed_runs["fp32"][1], resumed_runs["bf16"][1]
    assert fp32["history"][0]["loss"] != bf16["history"][0]["loss"]  # autocast took effect
    assert bf16["history"][-1]["loss"] == pytest.approx(fp32["history"][-1]["loss"], rel=0.2)


def test_auto_precision_is_bf16_only_with_native_bfloat16(monkeypatch):
    import tvm_blocksparse.isa as isa

    for flags, expected in [
        ({"avx2", "fma"}, "fp32"),
        ({"avx512f", "avx512_vnni"}, "fp32"),
        ({"avx512f", "avx512_bf16"}, "bf16"),
        ({"amx_bf16", "amx_tile"}, "bf16"),
    ]:
        monkeypatch.setattr(isa, "host_cpu_flags", lambda flags=flags: frozenset(flags))
        assert pruning.training_precision() == expected


def test_the_callers_torch_thread_count_is_restored(st_dir, sentences, tmp_path):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        sparsify_model(st_dir, tmp_path, texts=sentences[0], steps=2, **FAST)  # threads=1
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_a_checkpoint_of_another_configuration_or_a_corrupt_one_is_refused(
    st_dir, sentences, tmp_path
):
    sparsify_model(
        st_dir, tmp_path, sparsity=0.5, texts=sentences[0], steps=4, stop_after=1, **FAST
    )
    with pytest.raises(SparsifyError, match="another configuration"):
        sparsify_model(st_dir, tmp_path, sparsity=0.9, texts=sentences[0], steps=4, **FAST)
    (tmp_path / pruning.CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(SparsifyError, match="not a readable checkpoint"):
        sparsify_model(st_dir, tmp_path, sparsity=0.5, texts=sentences[0], steps=4, **FAST)


def test_a_teacher_of_another_depth_distils_through_the_embeddings(st_dir, sentences, tmp_path):
    deeper = write_tiny_sentence_transformers_dir(tmp_path / "deeper", layers=3)
    report = sparsify_model(
        st_dir, tmp_path / "out", teacher=deeper, texts=sentences[0], steps=3, **FAST
    )
    assert "hidden" not in report["history"][-1] and "cos" in report["history"][-1]
    write_tiny_classifier_dir(tmp_path / "clf")
    with pytest.raises(SparsifyError, match="both be classifiers"):
        sparsify_model(st_dir, tmp_path / "o2", teacher=tmp_path / "clf", texts=sentences[0])


@pytest.mark.parametrize("with_labels", [False, True])
def test_a_classifier_distils_its_logits_with_or_without_labels(tmp_path, sentences, with_labels):
    model_dir = tmp_path / "clf"
    write_tiny_classifier_dir(model_dir)
    texts = sentences[0][:64]
    labels = [i % 3 for i in range(len(texts))] if with_labels else None
    report = sparsify_model(
        model_dir,
        tmp_path / "out",
        sparsity=0.5,
        texts=texts,
        labels=labels,
        heldout_texts=sentences[1][:32],
        steps=6,
        **FAST,
    )
    assert ("ce" in report["history"][-1]) == with_labels and "kl" in report["history"][-1]
    assert 0.0 <= report["heldout"]["student"]["label_agreement"] <= 1.0
    weights = _weights(tmp_path / "out")
    assert not np.any(weights["classifier.weight"] == 0)  # the head stays dense
    assert report["min_layer_sparsity"] >= 0.5


def test_attention_loss_is_the_kl_of_the_real_queries_attention_maps():
    """KL(teacher || student) per head and real query over the keys, averaged over layers: zero
    for equal maps, the closed form for known ones, padded queries ignored."""
    from types import SimpleNamespace

    import torch

    t = torch.tensor([[0.5, 0.5], [0.9, 0.1]]).reshape(1, 1, 2, 2)
    s = torch.tensor([[0.25, 0.75], [0.1, 0.9]]).reshape(1, 1, 2, 2)
    out = lambda a: SimpleNamespace(attentions=(a, a))  # noqa: E731 - two equal layers
    mask = torch.tensor([[1, 1]])
    assert float(pruning._attention_loss(out(t), out(t), mask)) == pytest.approx(0.0, abs=1e-7)
    kl = [
        0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75),
        0.9 * math.log(0.9 / 0.1) + 0.1 * math.log(0.1 / 0.9),
    ]
    assert float(pruning._attention_loss(out(s), out(t), mask)) == pytest.approx(np.mean(kl))
    only_first = torch.tensor([[1, 0]])  # the second query is padding
    assert float(pruning._attention_loss(out(s), out(t), only_first)) == pytest.approx(kl[0])


def test_attention_weight_adds_the_attention_term_and_its_key(st_dir, sentences, tmp_path):
    texts = sentences[0][:64]
    report = sparsify_model(
        st_dir, tmp_path / "a", texts=texts, steps=4, attention_weight=1.0, **FAST
    )
    last = report["history"][-1]
    assert "attention" in last and last["attention"] > 0 and "hidden" in last
    assert report["config"]["attention_weight"] == 1.0
    plain = sparsify_model(st_dir, tmp_path / "b", texts=texts, steps=4, **FAST)
    assert "attention" not in plain["history"][-1]
    assert "attention_weight" not in plain["config"]  # (earlier checkpoints still resume)
    with pytest.raises(SparsifyError, match="loss weights"):
        sparsify_model(st_dir, tmp_path / "c", texts=texts, attention_weight=-1.0, **FAST)


def test_bad_arguments_get_clear_errors(st_dir, sentences, tmp_path):
    texts = sentences[0][:40]
    with pytest.raises(SparsifyError, match="sparsity"):
        sparsify_model(st_dir, tmp_path / "a", sparsity=1.0, texts=texts, **FAST)
    with pytest.raises(SparsifyError, match="differ"):
        sparsify_model(st_dir, st_dir, texts=texts, **FAST)
    with pytest.raises(SparsifyError, match="list of strings"):
        sparsify_model(st_dir, tmp_path / "b", texts="one text", **FAST)
    with pytest.raises(SparsifyError, match=r"texts\[1\]"):
        sparsify_model(st_dir, tmp_path / "b", texts=["a text", ""], **FAST)
    with pytest.raises(SparsifyError, match="not a classification model"):
        sparsify_model(st_dir, tmp_path / "b", texts=texts, labels=[0] * len(texts), **FAST)
    with pytest.raises(SparsifyError, match="precision must be one of"):
        sparsify_model(st_dir, tmp_path / "b", texts=texts, precision="fp16", **FAST)
    with pytest.raises(SparsifyError, match="unknown block"):
        sparsify_model(st_dir, tmp_path / "b", texts=texts, block="3x3", **FAST)
    with pytest.raises(SparsifyError, match="nothing to prune"):
        sparsify_model(st_dir, tmp_path / "b", texts=texts, include=["*nothing*"], **FAST)
    onnx_only = tmp_path / "onnx_only"
    onnx_only.mkdir()
    (onnx_only / "model.onnx").write_bytes(b"")
    with pytest.raises(SparsifyError, match="ONNX-only"):
        sparsify_model(onnx_only, tmp_path / "c", texts=texts, **FAST)


def test_cli_sparsify_writes_the_directory_and_resumes(st_dir, sentences, tmp_path):
    texts_file = tmp_path / "texts.txt"
    texts_file.write_text("\n".join(sentences[0][:64]) + "\n\n")
    held_file = tmp_path / "held.jsonl"
    held_file.write_text("\n".join(json.dumps({"text": t}) for t in sentences[1][:20]))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tvm_blocksparse.cli", "sparsify", st_dir, str(out)]
    cmd += ["--texts", str(texts_file), "--heldout", str(held_file), "--steps", "4"]
    cmd += ["--sparsity", "0.8", "--batch-size", "8", "--max-seq-len", "24", "--threads", "1"]
    first = subprocess.run([*cmd, "--stop-after", "2"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "resume" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["min_layer_sparsity"] >= 0.8 and "cos_mean" in summary["heldout"]["student"]
    assert not summary["teacher_cached"]  # 4 steps of 8 see each of the 64 texts at most once
    # 12 steps repeat texts: the teacher is cached unless told not to
    longer = [*cmd[:6], "--texts", str(texts_file), "--steps", "12", *cmd[12:]]
    for flag, cached in (([], True), (["--no-teacher-cache"], False)):
        run = subprocess.run(
            [*longer[:5], str(tmp_path / f"c{cached}"), *longer[6:], *flag],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["teacher_cached"] is cached
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"txt": "no text key"}\n')
    wrong = subprocess.run([*cmd[:6], "--texts", str(bad)], capture_output=True, text=True)
    assert wrong.returncode == 2 and "bad.jsonl:1" in wrong.stderr


def _correlated_layer(n_out=32, k_in=48, tokens=2000, seed=0):
    """A Linear weight (torch ``W[N_out, K_in]``), inputs ``X[tokens, K_in]`` of few underlying
    factors and unequal feature scales (as hidden states are), and ``X^T X / tokens``: the case
    where which blocks to drop and how to repair the rest depend on the inputs."""
    import torch

    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((tokens, 12)) @ rng.standard_normal((12, k_in))
    x = (factors + 0.3 * rng.standard_normal((tokens, k_in))) * rng.uniform(0.2, 3.0, k_in)
    w = torch.from_numpy(rng.standard_normal((n_out, k_in)).astype(np.float32))
    return w, torch.from_numpy(x), torch.from_numpy(x.T @ x / tokens)


def test_obs_pruning_keeps_the_layer_output_closest():
    import torch

    w, x, h = _correlated_layer()
    dense_out = x @ w.double().T
    obs = w.clone()
    keep = pruning.obs_prune_layer(obs, h, 0.75, "4x1")
    assert keep.shape == (32 // 4, 48)  # 4x1: 4 output rows x 1 input column per block
    assert keep.size - keep.sum() == math.ceil(0.75 * keep.size - 1e-9)
    kept = fmt.expand_block_mask(keep, "4x1")
    assert np.array_equal(obs.numpy() != 0, kept)

    def err(v):
        return float(((x @ v.double().T - dense_out) ** 2).mean())

    # the least-squares optimum on the same mask, row by row
    optimum = torch.zeros(32, 48, dtype=torch.float64)
    for r in range(32):
        c = np.flatnonzero(kept[r])
        optimum[r, c] = torch.linalg.lstsq(x[:, c], dense_out[:, r : r + 1]).solution[:, 0]
    magnitude = torch.from_numpy(fmt.prune_blocks(w.numpy(), 0.75, "4x1"))
    mask_only = w * torch.from_numpy(kept)
    errors = err(obs), err(optimum), err(mask_only), err(magnitude)
    assert errors[0] <= 1.05 * errors[1], errors  # (the damping keeps it from the exact optimum)
    assert errors[0] < 0.3 * errors[2] and errors[2] < errors[3], errors


def test_obs_pruning_with_uncorrelated_inputs_is_weight_times_input_scale_and_moves_nothing():
    import torch

    rng = np.random.default_rng(3)
    w = torch.from_numpy(rng.standard_normal((16, 24)).astype(np.float32))
    scale = rng.uniform(0.1, 4.0, 24)
    before = w.clone()
    keep = pruning.obs_prune_layer(w, torch.diag(torch.from_numpy(scale)), 0.5, "4x1")
    # diagonal H: [H^-1]_jj = 1 / h_jj, so a block's saliency is sum_r w_rj**2 * h_jj (h damped)
    damped = scale + pruning.OBS_DAMPING * scale.mean()
    score = (before.numpy() ** 2 * damped[None, :]).reshape(4, 4, 24).sum(1)  # [N_out/4, K_in]
    assert np.array_equal(keep, fmt.block_keep_mask(score, 0.5, (1, 1)))
    kept = fmt.expand_block_mask(keep, "4x1")
    np.testing.assert_allclose(w.numpy()[kept], before.numpy()[kept], rtol=1e-6)


def test_obs_pruning_never_revives_a_pruned_block():
    w, _, h = _correlated_layer(seed=1)
    first = pruning.obs_prune_layer(w, h, 0.5, "4x1")
    second = pruning.obs_prune_layer(w, h, 0.8, "4x1")
    assert not np.any(second & ~first)


def test_obs_criterion_reaches_the_target_and_keys_its_checkpoints(st_dir, sentences, tmp_path):
    texts = sentences[0][:96]
    report = sparsify_model(
        st_dir, tmp_path / "o", sparsity=0.8, texts=texts, steps=6, criterion="obs", **FAST
    )
    assert report["config"]["criterion"] == "obs"
    assert report["min_layer_sparsity"] >= 0.8 - 1e-6
    for name, w in _encoder_linears(_weights(tmp_path / "o")).items():
        keep = fmt.block_nonzero_mask(w, "4x1")
        assert np.array_equal(w != 0, fmt.expand_block_mask(keep, "4x1")), name
    plain = sparsify_model(st_dir, tmp_path / "m", sparsity=0.8, texts=texts, steps=6, **FAST)
    assert "criterion" not in plain["config"]  # (magnitude: earlier checkpoints still resume)
    with pytest.raises(SparsifyError, match="criterion must be one of"):
        sparsify_model(st_dir, tmp_path / "c", texts=texts, criterion="random", **FAST)


@pytest.mark.parametrize("hidden_weight", [0.0, 0.3])
def test_a_run_that_repeats_its_texts_runs_the_teacher_once_per_text_not_per_step(
    st_dir, sentences, tmp_path, monkeypatch, hidden_weight
):
    texts = sentences[0][:96]
    args = dict(
        sparsity=0.8, texts=texts, steps=12, hidden_weight=hidden_weight, precision="fp32", **FAST
    )
    calls = []
    original = pruning._Model.load

    def counted(self):
        net = original(self)
        net.register_forward_hook(lambda module, inputs, out: calls.append(len(calls)))
        return net

    monkeypatch.setattr(pruning._Model, "load", counted)
    cached = sparsify_model(st_dir, tmp_path / "cached", **args)
    assert cached["teacher_cached"]
    teacher_calls = len(calls) - 12  # the student's forward passes: one per step
    assert teacher_calls == math.ceil(96 / (2 * FAST["batch_size"]))  # texts / the cache's batch
    # the same run with the teacher run every step: the same targets, so the same losses
    per_step = sparsify_model(st_dir, tmp_path / "per_step", teacher_cache=False, **args)
    assert not per_step["teacher_cached"]
    for got, want in zip(cached["history"], per_step["history"], strict=True):
        assert got.keys() == want.keys()
        assert ("hidden" in got) == (hidden_weight > 0)
        for k in got:
            assert got[k] == pytest.approx(want[k], rel=1e-4, abs=1e-6), k
    # a run that sees each text at most once runs the teacher per step (no pass over all texts)
    calls.clear()
    short = sparsify_model(st_dir, tmp_path / "short", **{**args, "steps": 4})
    assert len(calls) == 2 * 4 and not short["teacher_cached"]


def test_hidden_states_that_would_not_fit_in_memory_are_not_cached(
    st_dir, sentences, tmp_path, monkeypatch
):
    args = dict(sparsity=0.8, texts=sentences[0][:96], steps=8, precision="fp32", **FAST)
    monkeypatch.setattr(pruning, "TEACHER_CACHE_MEMORY_SHARE", 1e-12)
    assert not sparsify_model(st_dir, tmp_path / "hidden", **args)["teacher_cached"]
    # outputs only: a few floats per text, cached whatever the share
    outputs = sparsify_model(st_dir, tmp_path / "outputs", hidden_weight=0.0, **args)
    assert outputs["teacher_cached"]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_teacher_cache_gives_each_batch_the_teachers_own_states(st_dir, sentences, precision):
    import torch

    from tvm_blocksparse.text import load_tokenizer

    model = pruning._Model(st_dir)
    net = model.load()
    batches = pruning._Batches(
        load_tokenizer(model.tokenizer_file), sentences[0][:50], None, 8, 32, 0
    )
    cache = pruning._TeacherCache(net, model, batches, precision, hidden=True)
    index = batches.indices(3)
    feeds, _ = batches.collate(index)
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
        direct = pruning._Teacher.of(model, pruning._forward(net, feeds), feeds["attention_mask"])
    got = cache.batch(index)
    m = feeds["attention_mask"].bool()
    assert len(got.hidden_states) == net.config.num_hidden_layers
    tol = dict(rtol=1e-5, atol=1e-5) if precision == "fp32" else dict(rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(got.target, direct.target, **tol)
    for a, b in zip(got.hidden_states, direct.hidden_states, strict=True):
        assert a.shape == b.shape  # padded to the batch's longest text, as collate pads
        torch.testing.assert_close(a[m], b[m].float(), **tol)
        assert not a[~m].any()  # padding rows are zeros (the loss masks them)
    assert cache.hidden.dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
    assert pruning._TeacherCache.hidden_bytes(net.config, batches, precision) == (
        cache.hidden.numel() * cache.hidden.element_size()
    )


@pytest.mark.parametrize("hidden_weight", [0.0, 0.3])
def test_a_cached_teacher_run_resumes_to_the_uninterrupted_run(
    st_dir, sentences, tmp_path, hidden_weight
):
    args = dict(sparsity=0.8, texts=sentences[0][:96], steps=8, hidden_weight=hidden_weight, **FAST)
    whole = sparsify_model(st_dir, tmp_path / "whole", checkpoint_every=100, **args)
    assert whole["teacher_cached"]
    sparsify_model(st_dir, tmp_path / "split", stop_after=3, checkpoint_every=100, **args)
    resumed = sparsify_model(st_dir, tmp_path / "split", checkpoint_every=100, **args)
    assert resumed["history"] == whole["history"]
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
