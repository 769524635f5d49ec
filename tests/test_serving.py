"""tvm_blocksparse.serving: the HTTP server on localhost, run as users run it (the CLI in a
subprocess, real uvicorn, real instance processes), against the pipeline it serves."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from tvm_blocksparse.serving.metrics import Counter, Gauge, Histogram, Registry
from tvm_blocksparse.serving.server import ServerConfig, parse_models
from tvm_blocksparse.testing import (
    free_local_port,
    thread_cpus,
    write_tiny_classifier_dir,
    write_tiny_model_dir,
)
from tvm_blocksparse.text import TextPipeline

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

TEXTS = ["", "the file", "read each line of the file and write it", "Naïve café 🚀 " * 5]


# ----------------------------------------------------------------------------- units


def test_metrics_render_the_prometheus_text_format():
    r = Registry()
    c = r.add(Counter("requests", "HTTP requests", ("path", "code")))
    h = r.add(Histogram("seconds", "latency", (0.1, 1.0), ("path",)))
    r.add(Gauge("depth", "queue", ("model",), read=lambda: {("m",): 3}))
    c.inc("/a", "200")
    c.inc("/a", "200")
    h.observe(0.05, "/a")
    h.observe(0.5, "/a")
    h.observe(5.0, "/a")
    text = r.render()
    assert 'tvmbs_requests_total{path="/a",code="200"} 2' in text
    assert 'tvmbs_seconds_bucket{path="/a",le="0.1"} 1' in text
    assert 'tvmbs_seconds_bucket{path="/a",le="1"} 2' in text
    assert 'tvmbs_seconds_bucket{path="/a",le="+Inf"} 3' in text
    assert 'tvmbs_seconds_count{path="/a"} 3' in text
    assert 'tvmbs_depth{model="m"} 3' in text
    assert "# TYPE tvmbs_seconds histogram" in text


def test_config_and_model_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="instances must be an int >= 1"):
        ServerConfig(instances=0)
    with pytest.raises(ValueError, match="engine must be one of"):
        ServerConfig(engine="gpu")
    with pytest.raises(ValueError, match="not a saved TextPipeline"):
        parse_models([str(tmp_path)], [])
    with pytest.raises(ValueError, match="name=DIR"):
        parse_models([], ["nodir"])


# ----------------------------------------------------------------------------- a real server


def request(url, body=None, *, raw=None, content_type="application/json", method=None):
    """(status, parsed JSON or text) of one HTTP request to the test server."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, payload, kind = r.status, r.read(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        status, payload, kind = err.code, err.read(), err.headers.get("content-type", "")
    return status, (json.loads(payload) if "json" in kind else payload.decode())


class ServerProcess:
    """``tvm-blocksparse serve ...`` on a free localhost port, until :meth:`stop`."""

    def __init__(self, args: list[str], env: dict | None = None):
        self.port = free_local_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tvm_blocksparse.cli", "serve", *args, "--port", str(self.port)],
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited during startup"
            try:
                if request(self.url + "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError("the server did not become healthy in 180 s")

    def pids(self, model: str) -> list[int]:
        return request(self.url + "/health")[1]["models"][model]["pids"]

    def wait_replaced(self, model: str, old_pid: int, timeout: float = 120) -> None:
        """Until ``old_pid`` is gone from ``model``'s instances and the server is healthy."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = request(self.url + "/health")
            state = body["models"][model]
            if (
                status == 200
                and old_pid not in state["pids"]
                and state["alive"] == state["instances"]
            ):
                return
            assert time.monotonic() < deadline, "the instance was not replaced"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def saved_pipes(tmp_path_factory):
    """An INT8 embedding pipeline of the tiny BERT and an FP32 classifier (transformers)."""
    root = tmp_path_factory.mktemp("serving")
    src = write_tiny_model_dir(root / "tiny")
    embed = TextPipeline.from_pretrained(src, dtype="int8", seq_buckets=(16,), max_seq_len=32)
    embed.save(root / "embed")
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    write_tiny_classifier_dir(root / "cls_src")
    cls = TextPipeline.from_pretrained(
        root / "cls_src", task="text-classification", dtype="fp32", seq_buckets=(16,)
    )
    cls.save(root / "cls")
    return {"embed": str(root / "embed"), "cls": str(root / "cls")}


@pytest.fixture(scope="module")
def server(saved_pipes):
    """Two models, two instances, batches merged within 50 ms, small limits to test."""
    s = ServerProcess(
        [
            "--model",
            f"embed={saved_pipes['embed']}",
            "--model",
            f"cls={saved_pipes['cls']}",
            "--instances",
            "2",
            "--batch-wait-ms",
            "50",
            "--max-texts-per-request",
            "8",
            "--max-chars-per-text",
            "2000",
            "--max-body-bytes",
            "100000",
        ]
    )
    yield s
    s.stop()


def test_admission_by_expected_wait(saved_pipes):
    """429 once the admitted tokens x measured s/token pass the limit; never with nothing
    admitted (an inflated estimate must not lock the server out)."""
    from tvm_blocksparse.serving.server import HTTPError, Server

    server = Server({"embed": saved_pipes["embed"]}, ServerConfig(max_queue_wait_ms=100))
    model = server.models["embed"]
    server._refuse_if_slow(model)  # no estimate yet
    model.seconds_per_token = 10.0
    server._refuse_if_slow(model)  # nothing admitted: no wait, whatever the estimate
    model.seconds_per_token = 0.001
    model.pending_tokens = 90
    server._refuse_if_slow(model)  # 90 ms
    model.pending_tokens = 110
    with pytest.raises(HTTPError, match="expected wait 110 ms exceeds 100 ms") as err:
        server._refuse_if_slow(model)
    assert err.value.status == 429


def test_embeddings_equal_the_pipeline_float_and_base64(server, saved_pipes):
    ref = TextPipeline.load(saved_pipes["embed"])
    want = ref(TEXTS)
    status, body = request(server.url + "/v1/embeddings", {"input": TEXTS, "model": "embed"})
    assert status == 200, body
    got = np.array([d["embedding"] for d in body["data"]], np.float32)
    np.testing.assert_array_equal(got, want)
    assert [d["index"] for d in body["data"]] == list(range(len(TEXTS)))
    assert body["object"] == "list" and body["model"] == "embed"
    assert body["usage"]["prompt_tokens"] == sum(ref.token_counts(TEXTS))
    status, body = request(
        server.url + "/v1/embeddings",
        {"input": TEXTS[2], "model": "embed", "encoding_format": "base64"},
    )
    assert status == 200, body
    got = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), "<f4")
    np.testing.assert_array_equal(got, want[2])


def test_classify_equals_the_pipeline(server, saved_pipes):
    want = TextPipeline.load(saved_pipes["cls"])(TEXTS)
    status, body = request(server.url + "/classify", {"input": TEXTS, "model": "cls"})
    assert status == 200, body
    for got, ref in zip(body["data"], want, strict=True):
        assert got["label"] == ref["label"] and abs(got["score"] - ref["score"]) < 1e-6


def test_concurrent_requests_are_merged_into_batches(server, saved_pipes):
    def metric(text: str, name: str) -> float:
        return sum(
            float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + "{")
        )

    before = request(server.url + "/metrics")[1]
    texts = [f"the file {i} and a path" for i in range(12)]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(
            pool.map(
                lambda t: request(server.url + "/v1/embeddings", {"input": t, "model": "embed"}),
                texts,
            )
        )
    assert all(status == 200 for status, _ in results)
    ref = TextPipeline.load(saved_pipes["embed"])(texts)
    got = np.array([body["data"][0]["embedding"] for _, body in results], np.float32)
    np.testing.assert_array_equal(got, ref)
    after = request(server.url + "/metrics")[1]
    runs = metric(after, "tvmbs_batch_requests_count") - metric(
        before, "tvmbs_batch_requests_count"
    )
    merged = metric(after, "tvmbs_batch_requests_sum") - metric(before, "tvmbs_batch_requests_sum")
    assert merged == 12 and runs < 12, (runs, merged)
    assert 'tvmbs_requests_total{path="/v1/embeddings",code="200"}' in after
    assert "tvmbs_queue_depth" in after and "tvmbs_request_seconds_bucket" in after


MALFORMED = [
    ("bad json", dict(raw=b'{"input": ['), 400),
    ("invalid utf-8", dict(raw=b'{"input": "\xff\xfe"}'), 400),
    ("json array", dict(body=[1, 2]), 422),
    ("json string", dict(body="hello"), 422),
    ("no input", dict(body={"model": "embed"}), 422),
    ("input null", dict(body={"input": None, "model": "embed"}), 422),
    ("input number", dict(body={"input": 5, "model": "embed"}), 422),
    ("input object", dict(body={"input": {"a": 1}, "model": "embed"}), 422),
    ("empty list", dict(body={"input": [], "model": "embed"}), 422),
    ("token ids", dict(body={"input": [101, 2023], "model": "embed"}), 422),
    ("null item", dict(body={"input": ["a", None], "model": "embed"}), 422),
    ("nested list", dict(body={"input": [["a"]], "model": "embed"}), 422),
    ("too many texts", dict(body={"input": ["a"] * 9, "model": "embed"}), 413),
    ("text too long", dict(body={"input": "a" * 2001, "model": "embed"}), 413),
    ("body too large", dict(raw=json.dumps({"input": ["a" * 1500] * 80}).encode()), 413),
    ("text/plain", dict(body={"input": "a"}, content_type="text/plain"), 415),
    ("no content type", dict(body={"input": "a"}, content_type=None), 415),
    ("unknown model", dict(body={"input": "a", "model": "nope"}), 404),
    ("model not a string", dict(body={"input": "a", "model": 3}), 422),
    ("no model with two served", dict(body={"input": "a"}), 422),
    (
        "bad encoding_format",
        dict(body={"input": "a", "model": "embed", "encoding_format": "hex"}),
        422,
    ),
    ("bad dimensions", dict(body={"input": "a", "model": "embed", "dimensions": 7}), 422),
    ("classifier on embeddings", dict(body={"input": "a", "model": "cls"}), 400),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_requests_get_a_4xx_with_a_message(server, case):
    _, kwargs, expected = case
    status, body = request(server.url + "/v1/embeddings", **kwargs)
    assert status == expected, body
    assert body["error"]["message"], body
    assert request(server.url + "/v1/embeddings", {"input": "ok", "model": "embed"})[0] == 200


def test_wrong_paths_and_methods(server):
    assert request(server.url + "/v2/nothing")[0] == 404
    assert request(server.url + "/v1/embeddings", method="GET")[0] == 405
    status, body = request(server.url + "/classify", {"input": "a", "model": "embed"})
    assert status == 400 and "use /v1/embeddings" in body["error"]["message"]
    status, body = request(server.url + "/v1/models")
    assert status == 200 and {m["id"] for m in body["data"]} == {"embed", "cls"}


def test_an_idle_instance_that_dies_is_restarted_and_the_server_stays_up(server):
    """Killed while idle: /health says degraded (still 200: the other instance serves) and the
    watchdog restarts it before any request is sent to it."""
    pid = server.pids("embed")[0]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    status, body = request(server.url + "/health")
    assert status == 200 and body["status"] == "degraded", body
    server.wait_replaced("embed", pid)
    assert request(server.url + "/health")[1]["status"] == "ok"
    assert request(server.url + "/v1/embeddings", {"input": "after", "model": "embed"})[0] == 200


@pytest.fixture(scope="module")
def small_server(saved_pipes):
    """One instance, one text per run, a queue of two, a 5-second request timeout."""
    s = ServerProcess(
        [
            saved_pipes["embed"],
            "--instances",
            "1",
            "--max-batch-size",
            "1",
            "--max-queue",
            "2",
            "--request-timeout-s",
            "5",
        ]
    )
    yield s
    s.stop()


def _post_later(url, text, delay):
    time.sleep(delay)
    t0 = time.monotonic()
    status, _ = request(url + "/v1/embeddings", {"input": text})
    return status, time.monotonic() - t0


def test_a_full_queue_answers_429_at_once_and_recovers(small_server):
    (pid,) = small_server.pids("embed")
    os.kill(pid, signal.SIGSTOP)  # the instance stalls: requests pile up
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            # one in the instance, two queued, three refused
            futures = [
                pool.submit(_post_later, small_server.url, f"text {i}", 0.3 * i) for i in range(6)
            ]
            time.sleep(0.3 * 6 + 0.5)
            os.kill(pid, signal.SIGCONT)
            results = [f.result() for f in futures]
    finally:
        os.kill(pid, signal.SIGCONT)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 200, 429, 429, 429], results
    assert all(seconds < 1.0 for status, seconds in results if status == 429), results
    assert request(small_server.url + "/v1/embeddings", {"input": "after"})[0] == 200


def test_a_killed_instance_fails_its_request_and_is_restarted(small_server):
    (pid,) = small_server.pids("embed")
    os.kill(pid, signal.SIGSTOP)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(_post_later, small_server.url, "in flight", 0.0)
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        status, seconds = future.result(timeout=30)
    assert status == 503 and seconds < 5, (status, seconds)
    small_server.wait_replaced("embed", pid)
    assert request(small_server.url + "/v1/embeddings", {"input": "after"})[0] == 200
    metrics = request(small_server.url + "/metrics")[1]
    assert 'tvmbs_instance_restarts_total{model="embed"}' in metrics


def test_a_hung_instance_times_out_and_is_replaced(small_server):
    (pid,) = small_server.pids("embed")
    os.kill(pid, signal.SIGSTOP)  # stays stopped: the server must kill it
    try:
        status, seconds = _post_later(small_server.url, "stuck", 0.0)
        assert status == 504 and 4.5 < seconds < 10, (status, seconds)
        small_server.wait_replaced("embed", pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert request(small_server.url + "/v1/embeddings", {"input": "after"})[0] == 200


def test_the_onnxruntime_engine_serves_the_same_pipeline(saved_pipes, tmp_path):
    pytest.importorskip("onnxruntime")
    s = ServerProcess(
        [saved_pipes["embed"], "--engine", "onnxruntime"], env={"XDG_CACHE_HOME": str(tmp_path)}
    )
    try:
        status, body = request(s.url + "/v1/embeddings", {"input": TEXTS})
    finally:
        s.stop()
    assert status == 200, body
    got = np.array([d["embedding"] for d in body["data"]], np.float32)
    ref = TextPipeline.load(saved_pipes["embed"])(TEXTS)
    cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    assert cos.min() > 0.95, cos
    assert os.listdir(tmp_path / "tvm_blocksparse" / "onnxruntime_int8")


def test_an_instance_stays_on_its_core_after_it_runs(saved_pipes):
    """An instance pinned to the last CPU keeps every thread there after running a batch: TVM's
    default pool configuration had moved it to CPU 0 (two instances shared one core), and a
    thread numpy started before the pinning had kept every CPU."""
    from tvm_blocksparse.serving.instances import Instance, InstanceSpec

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs 2 CPUs: with one, no placement can be wrong")
    pipe = TextPipeline.load(saved_pipes["embed"])
    enc = pipe._encode(TEXTS[:3])
    instance = Instance(InstanceSpec(saved_pipes["embed"], cores=[cpus[-1]]), 0)
    instance.start()
    try:
        got = instance.run([e.ids for e in enc], [e.type_ids for e in enc], 120.0)
        np.testing.assert_array_equal(np.asarray(got, np.float32), pipe(TEXTS[:3]))
        masks = list(thread_cpus(instance.pid).values())
        assert all(mask == [cpus[-1]] for mask in masks), masks
    finally:
        instance.stop()
