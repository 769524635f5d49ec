"""The HTTP server: OpenAI-compatible embeddings, classification, health and Prometheus metrics
in front of model instances, with dynamic batching and back-pressure.

    tvm-blocksparse serve minilm_pipe/ --instances 2 --threads-per-instance 1
    curl -s localhost:8000/v1/embeddings -H 'Content-Type: application/json' \\
        -d '{"input": ["a sentence", "another one"]}'

Flow: the handler validates the body (4xx with a message for anything malformed), tokenizes with
the pipeline's own tokenizer (so ``usage.prompt_tokens`` and the batch token budget are exact)
and puts the request on its model's bounded queue (full: 429 at once). One dispatcher per
instance takes the oldest request, adds queued requests until ``max_batch_size`` texts or
``max_batch_tokens`` tokens or ``batch_wait_ms`` after the first arrived, and sends the batch to
its instance process; results go back to each request. An instance that dies or overruns
``request_timeout_s`` is restarted; its requests get 503 / 504, never an endless wait.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import sys
import time

import numpy as np

from tvm_blocksparse.serving.instances import (
    ENGINES,
    Instance,
    InstanceCrashed,
    InstanceFailed,
    InstanceSpec,
    InstanceTimeout,
    instance_cores,
)
from tvm_blocksparse.serving.metrics import (
    BATCH_BUCKETS,
    LATENCY_BUCKETS,
    Counter,
    Gauge,
    Histogram,
    Registry,
)


@dataclasses.dataclass
class ServerConfig:
    """Limits and knobs of :class:`Server` (the CLI's flags of the same names)."""

    engine: str = "tvm"
    instances: int = 1
    threads_per_instance: int = 1
    max_batch_size: int = 32  # texts per instance run
    max_batch_tokens: int = 4096  # tokens per instance run (after truncation)
    batch_wait_ms: float = 2.0  # longest wait for more requests after the first of a batch
    max_queue: int = 64  # queued requests per model; beyond: 429
    max_texts_per_request: int = 64  # beyond: 413
    max_chars_per_text: int = 20000  # beyond: 413
    max_body_bytes: int = 4 << 20  # beyond: 413
    request_timeout_s: float = 30.0  # queued + running; beyond: 504 (a hung instance restarts)
    max_queue_wait_ms: float = 500.0  # expected wait (queued tokens x measured s/token); 0: off

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        for name in (
            "instances",
            "threads_per_instance",
            "max_batch_size",
            "max_batch_tokens",
            "max_queue",
            "max_texts_per_request",
            "max_chars_per_text",
            "max_body_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.batch_wait_ms < 0 or self.max_queue_wait_ms < 0 or self.request_timeout_s <= 0:
            raise ValueError(
                "batch_wait_ms and max_queue_wait_ms must be >= 0, request_timeout_s > 0"
            )


class HTTPError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


@dataclasses.dataclass
class _Request:
    token_ids: list
    type_ids: list
    tokens: int
    future: asyncio.Future
    arrived: float


class ServedModel:
    """A saved pipeline behind its queue and instances."""

    def __init__(self, name: str, directory: str, config: ServerConfig, first_core: int = 0):
        from tvm_blocksparse.text import load_tokenizer, read_pipeline_info

        self.name = name
        self.directory = os.path.abspath(directory)
        self.info = read_pipeline_info(self.directory)
        self.task = self.info["task"]
        self.max_len = int(self.info["max_len"])
        self.tokenizer = load_tokenizer(os.path.join(self.directory, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_len)
        self.config = config
        cores = instance_cores(config.instances, config.threads_per_instance)
        self.instances = [
            Instance(
                InstanceSpec(self.directory, config.engine, config.threads_per_instance, cores[i]),
                i,
            )
            for i in range(config.instances)
        ]
        self.queue: asyncio.Queue | None = None
        self.pending_tokens = 0  # admitted, not yet answered
        self.seconds_per_token: float | None = None  # moving average of instance runs

    def tokenize(self, texts: list[str]) -> tuple[list, list, list[int]]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = [np.asarray(e.ids, np.int32) for e in encodings]
        types = [np.asarray(e.type_ids, np.int32) for e in encodings]
        return ids, types, [len(e.ids) for e in encodings]


class Server:
    """The ASGI application (:attr:`app`) over one or more saved pipelines."""

    def __init__(self, models: dict[str, str], config: ServerConfig | None = None):
        if not models:
            raise ValueError("serve at least one model directory")
        self.config = config or ServerConfig()
        self.models = {name: ServedModel(name, d, self.config) for name, d in models.items()}
        self.started = time.time()
        self.ready = False
        self._tasks: list[asyncio.Task] = []
        self._restarting: set[tuple[str, int]] = set()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=sum(len(m.instances) for m in self.models.values()) + 2,
            thread_name_prefix="tvm_blocksparse-instance-io",
        )
        self.metrics = Registry()
        m = self.metrics
        self.requests = m.add(
            Counter("requests", "HTTP requests by path and status", ("path", "code"))
        )
        self.latency = m.add(
            Histogram(
                "request_seconds",
                "request latency, arrival to response",
                LATENCY_BUCKETS,
                ("path",),
            )
        )
        self.texts = m.add(Counter("texts", "texts run", ("model",)))
        self.tokens = m.add(Counter("tokens", "tokens run (after truncation)", ("model",)))
        self.batch_texts = m.add(
            Histogram("batch_texts", "texts per instance run", BATCH_BUCKETS, ("model",))
        )
        self.batch_requests = m.add(
            Histogram(
                "batch_requests", "requests merged per instance run", BATCH_BUCKETS, ("model",)
            )
        )
        self.run_seconds = m.add(
            Histogram("run_seconds", "instance run time per batch", LATENCY_BUCKETS, ("model",))
        )
        self.rejected = m.add(Counter("rejected", "requests refused before running", ("reason",)))
        self.instance_failures = m.add(
            Counter(
                "instance_failures", "instance crashes, timeouts and run errors", ("model", "kind")
            )
        )
        self.restarts = m.add(
            Counter("instance_restarts", "instance processes restarted", ("model",))
        )
        m.add(
            Gauge(
                "queue_depth",
                "requests waiting for an instance",
                ("model",),
                read=lambda: {
                    (n,): s.queue.qsize() if s.queue else 0 for n, s in self.models.items()
                },
            )
        )
        m.add(
            Gauge(
                "instances_alive",
                "instance processes running",
                ("model",),
                read=lambda: {
                    (n,): sum(i.alive() for i in s.instances) for n, s in self.models.items()
                },
            )
        )
        self.app = self._make_app()

    # ---------------------------------------------------------------- lifecycle

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        starts = [
            loop.run_in_executor(self._executor, instance.start)
            for model in self.models.values()
            for instance in model.instances
        ]
        await asyncio.gather(*starts)
        for model in self.models.values():
            model.queue = asyncio.Queue(self.config.max_queue)
            for instance in model.instances:
                self._tasks.append(asyncio.create_task(self._dispatch(model, instance)))
        self._tasks.append(asyncio.create_task(self._watchdog()))
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for model in self.models.values():
            for instance in model.instances:
                instance.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- batching

    async def _collect(self, model: ServedModel, carry: list) -> list[_Request]:
        """The next batch: the oldest request, then whatever arrives within ``batch_wait_ms``
        of it, within the text and token budgets (a request is never split; one that doesn't
        fit opens the next batch)."""
        cfg = self.config
        first = carry.pop() if carry else await model.queue.get()
        batch, texts, tokens = [first], len(first.token_ids), first.tokens
        deadline = first.arrived + cfg.batch_wait_ms / 1000
        while texts < cfg.max_batch_size and tokens < cfg.max_batch_tokens:
            try:
                item = model.queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(model.queue.get(), remaining)
                except asyncio.TimeoutError:  # 3.10: not the builtin TimeoutError yet
                    break
            if item.future.done():  # its client timed out or went away
                continue
            if (
                texts + len(item.token_ids) > cfg.max_batch_size
                or tokens + item.tokens > cfg.max_batch_tokens
            ):
                carry.append(item)
                break
            batch.append(item)
            texts += len(item.token_ids)
            tokens += item.tokens
        return [r for r in batch if not r.future.done()]

    async def _dispatch(self, model: ServedModel, instance: Instance) -> None:
        loop = asyncio.get_running_loop()
        carry: list[_Request] = []
        while True:
            if not instance.alive():
                await self._restart(model, instance)
            batch = await self._collect(model, carry)
            if not batch:
                continue
            ids = [t for r in batch for t in r.token_ids]
            types = [t for r in batch for t in r.type_ids]
            started = time.monotonic()
            try:
                result = await loop.run_in_executor(
                    self._executor, instance.run, ids, types, self.config.request_timeout_s
                )
            except (InstanceCrashed, InstanceTimeout) as err:
                kind = "crash" if isinstance(err, InstanceCrashed) else "timeout"
                self.instance_failures.inc(model.name, kind)
                status = 503 if kind == "crash" else 504
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(HTTPError(status, f"{err}; retry", "server_error"))
                await self._restart(model, instance)
                continue
            except InstanceFailed as err:
                self.instance_failures.inc(model.name, "error")
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(
                            HTTPError(500, f"inference failed: {err}", "server_error")
                        )
                continue
            seconds = time.monotonic() - started
            self.run_seconds.observe(seconds, model.name)
            per_token = seconds / max(sum(r.tokens for r in batch), 1)
            previous = model.seconds_per_token
            model.seconds_per_token = (
                per_token if previous is None else 0.8 * previous + 0.2 * per_token
            )
            self.batch_texts.observe(len(ids), model.name)
            self.batch_requests.observe(len(batch), model.name)
            self.texts.inc(model.name, amount=len(ids))
            self.tokens.inc(model.name, amount=sum(r.tokens for r in batch))
            start = 0
            for r in batch:
                n = len(r.token_ids)
                if not r.future.done():
                    r.future.set_result(result[start : start + n])
                start += n

    async def _restart(self, model: ServedModel, instance: Instance) -> None:
        """Replace a dead or hung instance process (once, however many callers ask)."""
        key = (model.name, instance.index)
        if key in self._restarting:  # the watchdog or the dispatcher is at it already
            while key in self._restarting:
                await asyncio.sleep(0.05)
            return
        self._restarting.add(key)
        loop = asyncio.get_running_loop()
        delay = 0.5
        try:
            while True:
                try:
                    await loop.run_in_executor(self._executor, instance.restart)
                    self.restarts.inc(model.name)
                    return
                except Exception as err:  # keep trying: the other instances still serve
                    print(
                        f"tvm-blocksparse serve: restarting instance failed: {err}",
                        file=sys.stderr,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        finally:
            self._restarting.discard(key)

    async def _watchdog(self) -> None:
        """Restart instances that died while idle, before a batch is sent to them."""
        while True:
            await asyncio.sleep(1.0)
            for model in self.models.values():
                for instance in model.instances:
                    key = (model.name, instance.index)
                    if not instance.alive() and key not in self._restarting:
                        asyncio.get_running_loop().create_task(self._restart(model, instance))

    # ---------------------------------------------------------------- requests

    def _model_for(self, body: dict) -> ServedModel:
        name = body.get("model")
        if name is None:
            if len(self.models) == 1:
                return next(iter(self.models.values()))
            raise HTTPError(422, f"'model' is required: this server serves {sorted(self.models)}")
        if not isinstance(name, str):
            raise HTTPError(422, f"'model' must be a string, got {type(name).__name__}")
        if name not in self.models:
            raise HTTPError(
                404,
                f"model {name!r} is not served here (served: {sorted(self.models)})",
                "model_not_found",
            )
        return self.models[name]

    def _texts(self, body: dict) -> list[str]:
        if "input" not in body:
            raise HTTPError(422, "'input' is required: a string or a list of strings")
        texts = body["input"]
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list):
            raise HTTPError(
                422, f"'input' must be a string or a list of strings, got {type(texts).__name__}"
            )
        if not texts:
            raise HTTPError(422, "'input' is an empty list")
        if len(texts) > self.config.max_texts_per_request:
            raise HTTPError(
                413,
                f"'input' has {len(texts)} texts; at most {self.config.max_texts_per_request} "
                "per request",
            )
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                hint = (
                    " (token arrays are not accepted: send text)"
                    if isinstance(t, int | list)
                    else ""
                )
                raise HTTPError(422, f"'input'[{i}] must be a string, got {type(t).__name__}{hint}")
            if len(t) > self.config.max_chars_per_text:
                raise HTTPError(
                    413,
                    f"'input'[{i}] has {len(t)} characters; at most "
                    f"{self.config.max_chars_per_text} per text",
                )
        return texts

    async def _infer(self, model: ServedModel, texts: list[str]) -> tuple[list, int]:
        if not self.ready:
            raise HTTPError(503, "the server is starting or stopping", "server_error")
        if not any(i.alive() for i in model.instances):
            raise HTTPError(503, "no instance is running (restarting); retry", "server_error")
        self._refuse_if_full(model)
        ids, types, counts = model.tokenize(texts)
        tokens = sum(counts)
        self._refuse_if_slow(model)
        future = asyncio.get_running_loop().create_future()
        model.queue.put_nowait(_Request(ids, types, tokens, future, time.monotonic()))
        model.pending_tokens += tokens
        try:
            result = await asyncio.wait_for(asyncio.shield(future), self.config.request_timeout_s)
        except asyncio.TimeoutError:  # 3.10: not the builtin TimeoutError yet
            future.cancel()  # the dispatcher skips it
            raise HTTPError(
                504, f"no result within {self.config.request_timeout_s:g} s", "server_error"
            ) from None
        finally:
            model.pending_tokens -= tokens
        return result, tokens

    def _refuse_if_slow(self, model: ServedModel) -> None:
        """429 when the tokens already admitted (queued or running), at the measured seconds
        per token over the running instances, would keep a new request waiting past
        ``max_queue_wait_ms``: a request count alone lets a queue of long requests wait for
        seconds. Nothing admitted means no wait: the estimate can't lock the server out (a
        stalled run inflates it; the next runs bring it back)."""
        limit = self.config.max_queue_wait_ms / 1000
        if not limit or model.seconds_per_token is None or model.pending_tokens == 0:
            return
        alive = max(sum(i.alive() for i in model.instances), 1)
        wait = model.pending_tokens * model.seconds_per_token / alive
        if wait > limit:
            self.rejected.inc("expected_wait")
            raise HTTPError(
                429,
                f"expected wait {wait * 1000:.0f} ms exceeds {limit * 1000:g} ms; retry",
                "rate_limit_error",
            )

    def _refuse_if_full(self, model: ServedModel | None = None) -> None:
        """429 at once when the queue is full: checked before the body is parsed (one model
        served) and again before tokenizing, so refusing costs little under overload."""
        if model is None:
            if len(self.models) != 1:
                return
            model = next(iter(self.models.values()))
        if model.queue is not None and model.queue.full():
            self.rejected.inc("queue_full")
            raise HTTPError(
                429,
                f"the queue is full ({self.config.max_queue} requests); retry",
                "rate_limit_error",
            )

    async def _read_json(self, request) -> dict:
        self._refuse_if_full()
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise HTTPError(415, f"Content-Type must be application/json, got {content_type!r}")
        declared = request.headers.get("content-length")
        limit = self.config.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPError(413, f"body of {declared} bytes; at most {limit}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"body over {limit} bytes")
            chunks.append(chunk)
        try:
            body = json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as err:
            raise HTTPError(400, f"body is not valid JSON: {err}") from None
        if not isinstance(body, dict):
            raise HTTPError(422, f"body must be a JSON object, got {type(body).__name__}")
        return body

    async def embeddings(self, request):
        body = await self._read_json(request)
        model = self._model_for(body)
        if model.task != "feature-extraction":
            raise HTTPError(400, f"model {model.name!r} is a {model.task} model: use /classify")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise HTTPError(422, f"'encoding_format' must be 'float' or 'base64', got {encoding!r}")
        dims = body.get("dimensions")
        hidden = model.info.get("hidden")
        if dims is not None and (
            not isinstance(dims, int) or isinstance(dims, bool) or dims != hidden
        ):
            raise HTTPError(422, f"'dimensions' must be {hidden} for {model.name!r} (no reduction)")
        texts = self._texts(body)
        vectors, tokens = await self._infer(model, texts)
        vectors = np.asarray(vectors, np.float32)
        if encoding == "base64":
            data = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors]
        else:
            data = vectors.tolist()
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(data)
            ],
            "model": model.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def classify(self, request):
        body = await self._read_json(request)
        model = self._model_for(body)
        if model.task != "text-classification":
            raise HTTPError(
                400, f"model {model.name!r} is a {model.task} model: use /v1/embeddings"
            )
        texts = self._texts(body)
        labels, tokens = await self._infer(model, texts)
        return {
            "object": "list",
            "data": [dict(label, index=i) for i, label in enumerate(labels)],
            "model": model.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def health(self) -> tuple[int, dict]:
        models = {
            name: {
                "task": m.task,
                "engine": self.config.engine,
                "instances": len(m.instances),
                "alive": sum(i.alive() for i in m.instances),
                "pids": [i.pid for i in m.instances if i.alive()],
                "restarts": sum(i.restarts for i in m.instances),
                "queue": m.queue.qsize() if m.queue else 0,
            }
            for name, m in self.models.items()
        }
        serving = self.ready and all(v["alive"] for v in models.values())
        complete = all(v["alive"] == v["instances"] for v in models.values())
        status = ("ok" if complete else "degraded") if serving else "unavailable"
        return (200 if serving else 503), {"status": status, "models": models}

    # ---------------------------------------------------------------- ASGI

    def _make_app(self):
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException as StarletteHTTPException
        from starlette.responses import JSONResponse, PlainTextResponse
        from starlette.routing import Route

        def error_response(status: int, message: str, kind: str, headers=None):
            return JSONResponse(
                {"error": {"message": message, "type": kind, "code": status}},
                status,
                headers=headers,
            )

        def endpoint(handler, path):
            async def route(request):
                started = time.monotonic()
                try:
                    payload = await handler(request)
                    response = JSONResponse(payload)
                except HTTPError as err:
                    headers = {"Retry-After": "1"} if err.status in (429, 503) else None
                    response = error_response(err.status, err.message, err.kind, headers)
                except Exception as err:  # never let a request take the server down
                    response = error_response(
                        500, f"internal error: {type(err).__name__}: {err}", "server_error"
                    )
                self.requests.inc(path, str(response.status_code))
                self.latency.observe(time.monotonic() - started, path)
                return response

            return route

        async def health(request):
            status, payload = self.health()
            self.requests.inc("/health", str(status))
            return JSONResponse(payload, status)

        async def metrics(request):
            self.requests.inc("/metrics", "200")
            return PlainTextResponse(self.metrics.render(), media_type=self.metrics.content_type)

        async def models(request):
            return JSONResponse(
                {
                    "object": "list",
                    "data": [
                        {"id": n, "object": "model", "owned_by": "tvm-blocksparse", "task": m.task}
                        for n, m in self.models.items()
                    ],
                }
            )

        async def http_error(request, exc):
            self.requests.inc("other", str(exc.status_code))
            return error_response(exc.status_code, exc.detail, "invalid_request_error")

        @contextlib.asynccontextmanager
        async def lifespan(app):
            await self.startup()
            try:
                yield
            finally:
                await self.shutdown()

        routes = [
            Route("/v1/embeddings", endpoint(self.embeddings, "/v1/embeddings"), methods=["POST"]),
            Route("/classify", endpoint(self.classify, "/classify"), methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
        return Starlette(
            routes=routes,
            lifespan=lifespan,
            exception_handlers={StarletteHTTPException: http_error},
        )


def parse_models(directories: list[str], named: list[str]) -> dict[str, str]:
    """``DIR`` (named after its directory) and ``name=DIR`` arguments -> {name: directory};
    ``ValueError`` for duplicates or a missing directory."""
    models: dict[str, str] = {}
    pairs = [(os.path.basename(os.path.normpath(d)), d) for d in directories]
    for item in named:
        name, sep, directory = item.partition("=")
        if not sep or not name or not directory:
            raise ValueError(f"--model takes name=DIR, got {item!r}")
        pairs.append((name, directory))
    for name, directory in pairs:
        if name in models:
            raise ValueError(f"model name {name!r} given twice")
        if not os.path.isfile(os.path.join(directory, "pipeline.json")):
            raise ValueError(f"{directory} is not a saved TextPipeline (no pipeline.json)")
        models[name] = directory
    return models


def serve(
    models: dict[str, str],
    config: ServerConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
) -> None:
    """Run the server until interrupted (uvicorn; SIGINT / SIGTERM stop it and its instances)."""
    import uvicorn

    server = Server(models, config)
    uvicorn.run(
        server.app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False
    )
