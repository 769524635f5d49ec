"""Scale-out on Ray: a Ray Serve deployment and a Ray Data batch-inference class, both loading a
saved :class:`tvm_blocksparse.TextPipeline` directory in each replica / worker (the ``ray``
extra).

Ray Serve, OpenAI-style embeddings over HTTP, requests merged with ``@serve.batch``::

    from ray import serve
    from tvm_blocksparse.ray import pipeline_deployment
    serve.run(pipeline_deployment("minilm_pipe/", num_replicas=2), route_prefix="/v1/embeddings")
    # POST {"input": ["a sentence", ...]} -> {"data": [{"embedding": [...]}, ...], ...}

Ray Data, a corpus on every core of the cluster::

    import ray
    from tvm_blocksparse.ray import EmbedBatch
    ds = ray.data.from_items([{"text": t} for t in texts])
    out = ds.map_batches(EmbedBatch, fn_constructor_kwargs={"path": "minilm_pipe/"},
                         concurrency=2, num_cpus=1, batch_size=64)

Each replica / actor runs its kernels with ``num_cpus`` threads (``TVM_NUM_THREADS`` in its
runtime environment, read when the process imports TVM). The directory must be readable from
every node (a shared filesystem, or the same path on each).
"""

from __future__ import annotations

import os

import numpy as np


def _thread_env(num_cpus: float) -> dict:
    threads = str(max(int(num_cpus), 1))
    return {"env_vars": {"TVM_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}}


class EmbedBatch:
    """``map_batches`` callable: ``batch[text_column]`` (strings) -> ``batch[output_column]``,
    float32 ``[n, hidden]`` embeddings (feature-extraction) or label strings and scores
    (text-classification, in ``output_column`` and ``output_column + "_score"``)."""

    def __init__(self, path: str, text_column: str = "text", output_column: str | None = None):
        from tvm_blocksparse.text import TextPipeline

        self.pipe = TextPipeline.load(path)
        self.text_column = text_column
        default = "embedding" if self.pipe.task == "feature-extraction" else "label"
        self.output_column = output_column or default

    def __call__(self, batch: dict) -> dict:
        if self.text_column not in batch:
            raise KeyError(f"no column {self.text_column!r} in the batch ({sorted(batch)})")
        texts = [str(t) for t in batch[self.text_column]]
        out = dict(batch)
        result = self.pipe(texts)
        if self.pipe.task == "feature-extraction":
            out[self.output_column] = np.asarray(result, np.float32)
        else:
            out[self.output_column] = np.array([r["label"] for r in result])
            out[self.output_column + "_score"] = np.array([r["score"] for r in result], np.float32)
        return out


def pipeline_deployment(
    path: str,
    *,
    num_replicas: int | str = 1,
    num_cpus: float = 1,
    autoscaling_config: dict | None = None,
    max_batch_size: int = 32,
    batch_wait_timeout_s: float = 0.005,
    max_ongoing_requests: int = 64,
    name: str = "TextPipeline",
):
    """A bound Ray Serve application serving the saved pipeline at ``path``: POST JSON
    ``{"input": str | [str, ...]}`` -> the server's ``/v1/embeddings`` (feature-extraction) or
    ``/classify`` (text-classification) response body. Requests are merged with
    ``@serve.batch`` (``max_batch_size`` texts' requests, ``batch_wait_timeout_s``);
    ``num_replicas`` or ``autoscaling_config`` and ``num_cpus`` per replica as in Ray Serve.
    Malformed bodies get a 400 / 422 with a message."""
    from ray import serve
    from starlette.responses import JSONResponse

    from tvm_blocksparse.text import read_pipeline_info

    task = read_pipeline_info(path)["task"]
    options = {
        "name": name,
        "ray_actor_options": {"num_cpus": num_cpus, "runtime_env": _thread_env(num_cpus)},
        "max_ongoing_requests": max_ongoing_requests,
    }
    if autoscaling_config is not None:
        options["autoscaling_config"] = autoscaling_config
    else:
        options["num_replicas"] = num_replicas

    @serve.deployment(**options)
    class TextPipelineDeployment:
        def __init__(self, directory: str):
            from tvm_blocksparse.text import TextPipeline

            self.pipe = TextPipeline.load(directory)
            self.name = os.path.basename(os.path.normpath(directory))

        @serve.batch(max_batch_size=max_batch_size, batch_wait_timeout_s=batch_wait_timeout_s)
        async def run(self, requests: list[list[str]]) -> list:
            texts = [t for r in requests for t in r]
            result = self.pipe(texts)
            tokens = self.pipe.token_counts(texts)
            out, start = [], 0
            for r in requests:
                n = len(r)
                out.append((result[start : start + n], sum(tokens[start : start + n])))
                start += n
            return out

        async def __call__(self, request):
            try:
                body = await request.json()
            except ValueError as err:
                return _error(JSONResponse, 400, f"body is not valid JSON: {err}")
            texts = body.get("input") if isinstance(body, dict) else None
            if isinstance(texts, str):
                texts = [texts]
            if (
                not isinstance(texts, list)
                or not texts
                or not all(isinstance(t, str) for t in texts)
            ):
                return _error(
                    JSONResponse, 422, "'input' must be a string or a non-empty list of strings"
                )
            result, tokens = await self.run(texts)
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            if task == "feature-extraction":
                data = [
                    {"object": "embedding", "index": i, "embedding": e}
                    for i, e in enumerate(np.asarray(result, np.float32).tolist())
                ]
            else:
                data = [dict(label, index=i) for i, label in enumerate(result)]
            return {"object": "list", "data": data, "model": self.name, "usage": usage}

    return TextPipelineDeployment.bind(path)


def _error(response_cls, status: int, message: str):
    return response_cls(
        {"error": {"message": message, "type": "invalid_request_error", "code": status}}, status
    )
