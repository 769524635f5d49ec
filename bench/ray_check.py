"""Ray on the real pipeline: Ray Data embeds a corpus row for row like ``TextPipeline``, and a
two-replica Ray Serve deployment answers the same requests as ``tvm-blocksparse serve``.

Local Ray (``ray.init(num_cpus=2)``), the saved pruned-MiniLM INT8 pipeline of
``serve_load.py`` (made there once), docstring sentences of 4-128 tokens. Reports wall seconds
and texts/s of each path and the largest absolute difference to ``TextPipeline`` (0 = equal).

    .venv/bin/python bench/ray_check.py --texts 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.request

import numpy as np


def _say(msg: str) -> None:
    print(f"[ray_check {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _post(url: str, texts: list[str]) -> np.ndarray:
    req = urllib.request.Request(
        url, json.dumps({"input": texts}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        body = json.loads(r.read())
    return np.array([d["embedding"] for d in body["data"]], np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=50, help="requests to compare Serve vs server")
    ap.add_argument("--work-dir", default=os.path.join("bench", "results", "serve_load"))
    args = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ray
    from ray import serve
    from serve_load import corpus, make_pipeline

    from tvm_blocksparse.ray import EmbedBatch, pipeline_deployment
    from tvm_blocksparse.testing import free_local_port
    from tvm_blocksparse.text import TextPipeline

    path = os.path.abspath(make_pipeline(args.work_dir, 0.9, 128))
    pool = corpus(path, 2000, 4, 128)
    rng = random.Random(0)
    texts = [rng.choice(pool) for _ in range(args.texts)]
    os.environ["TVM_NUM_THREADS"] = "1"
    pipe = TextPipeline.load(path)
    t0 = time.perf_counter()
    want = pipe(texts)
    t_pipe = time.perf_counter() - t0
    _say(f"TextPipeline (1 thread, this process): {len(texts)} texts in {t_pipe:.1f} s")

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
        t0 = time.perf_counter()
        rows = ds.map_batches(
            EmbedBatch,
            fn_constructor_kwargs={"path": path},
            concurrency=2,
            num_cpus=1,
            batch_size=256,
        ).take_all()
        t_data = time.perf_counter() - t0
        rows.sort(key=lambda r: r["id"])
        got = np.stack([r["embedding"] for r in rows])
        data_diff = float(np.abs(got - want).max())
        _say(f"Ray Data (2 actors x 1 CPU): {t_data:.1f} s, max |diff| {data_diff}")

        port = free_local_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(
            pipeline_deployment(path, num_replicas=2, num_cpus=1), route_prefix="/v1/embeddings"
        )
        server_port = free_local_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "tvm_blocksparse.cli", "serve", path, "--port", str(server_port)]
        )
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{server_port}/health") as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.5)
            requests = [
                [rng.choice(pool) for _ in range(rng.randint(1, 8))] for _ in range(args.requests)
            ]
            serve_diff = 0.0
            for req in requests:
                a = _post(f"http://127.0.0.1:{port}/v1/embeddings", req)
                b = _post(f"http://127.0.0.1:{server_port}/v1/embeddings", req)
                serve_diff = max(serve_diff, float(np.abs(a - b).max()))
            _say(
                f"Ray Serve (2 replicas) vs tvm-blocksparse serve: {len(requests)} requests, "
                f"max |diff| {serve_diff}"
            )
        finally:
            server.terminate()
            server.wait(30)
            serve.shutdown()
    finally:
        ray.shutdown()
    print(
        "\n| path | texts | wall s | texts/s | max abs diff to TextPipeline |\n"
        "|---|---|---|---|---|\n"
        f"| TextPipeline, 1 thread | {len(texts)} | {t_pipe:.1f} | "
        f"{len(texts) / t_pipe:.0f} | 0 |\n"
        f"| Ray Data, 2 actors x 1 CPU | {len(texts)} | {t_data:.1f} | "
        f"{len(texts) / t_data:.0f} | {data_diff} |\n"
        f"| Ray Serve 2 replicas vs `serve` | {sum(map(len, requests))} in {len(requests)} "
        f"requests | | | {serve_diff} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
