"""tvm_blocksparse.ray on a local Ray instance (``ray.init(num_cpus=2)``): Ray Data batch
inference and a Ray Serve deployment with two replicas, against the pipeline they load."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

from tvm_blocksparse.testing import docstring_sentences, write_tiny_model_dir
from tvm_blocksparse.text import TextPipeline

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved_pipe(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    src = write_tiny_model_dir(root / "tiny")
    pipe = TextPipeline.from_pretrained(src, dtype="int8", seq_buckets=(16,), max_seq_len=32)
    return pipe.save(root / "pipe")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_data_embeds_a_corpus_row_for_row(local_ray, saved_pipe):
    from tvm_blocksparse.ray import EmbedBatch

    texts = docstring_sentences(2000, seed=5)
    ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
    out = ds.map_batches(
        EmbedBatch,
        fn_constructor_kwargs={"path": saved_pipe},
        concurrency=2,
        num_cpus=1,
        batch_size=128,
    )
    rows = sorted(out.take_all(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(len(texts)))
    got = np.stack([r["embedding"] for r in rows])
    want = TextPipeline.load(saved_pipe)(texts)
    np.testing.assert_array_equal(got, want)


def _post(url: str, body) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_ray_serve_with_two_replicas_answers_like_the_pipeline(local_ray, saved_pipe):
    from ray import serve

    from tvm_blocksparse.ray import pipeline_deployment

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(
            pipeline_deployment(saved_pipe, num_replicas=2, num_cpus=1),
            route_prefix="/v1/embeddings",
        )
        texts = ["the file", "", "read each line of the file and write it " * 3]
        status, body = _post(f"http://127.0.0.1:{port}/v1/embeddings", {"input": texts})
        assert status == 200, body
        got = np.array([d["embedding"] for d in body["data"]], np.float32)
        pipe = TextPipeline.load(saved_pipe)
        np.testing.assert_array_equal(got, pipe(texts))
        assert body["usage"]["prompt_tokens"] == sum(pipe.token_counts(texts))
        status, body = _post(f"http://127.0.0.1:{port}/v1/embeddings", {"input": [3]})
        assert status == 422 and body["error"]["message"]
    finally:
        serve.shutdown()
