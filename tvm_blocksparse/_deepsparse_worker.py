"""DeepSparse engine in its own interpreter, driven over stdin/stdout by the benchmark.

DeepSparse 1.8.0 (the last wheel that installs) needs numpy<2 and onnx 1.14, so it lives in its
own virtualenv and this file imports nothing from tvm_blocksparse. It runs as::

    <deepsparse venv>/bin/python _deepsparse_worker.py MODEL.onnx BATCH THREADS FEEDS.npz NAME,NAME

``FEEDS.npz`` holds the inputs, ``NAME,NAME`` their graph order. Protocol lines start with
``@@`` (DeepSparse prints its own banner on stdout):

- worker -> ``@@ready {"compile_s": ...}`` once the engine is compiled;
- ``out PATH`` -> the first output saved with ``np.save`` to PATH, then ``@@ok``;
- ``round MIN_TIME`` -> one warm-up call, then per-call timing for at least MIN_TIME seconds
  and 3 calls: ``@@{"wall": [ms...], "cpu": [ms...]}`` (the same contract as
  ``tvm_blocksparse.testing.time_calls``, which this file cannot import);
- ``quit``.

While the worker runs a round, the benchmark process blocks on the pipe, so the engines still
take turns as in one process.
"""

import json
import sys
import time


def main() -> int:
    import numpy as np
    from deepsparse import compile_model

    path, batch, threads, feeds_path, names = sys.argv[1:6]
    feeds = np.load(feeds_path)
    inputs = [np.ascontiguousarray(feeds[n]) for n in names.split(",")]
    t0 = time.perf_counter()
    engine = compile_model(path, batch_size=int(batch), num_cores=int(threads))
    print("@@ready " + json.dumps({"compile_s": time.perf_counter() - t0}), flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "out":
            np.save(arg, engine.run(inputs)[0])
            print("@@ok", flush=True)
        elif cmd == "round":
            min_time = float(arg)
            engine.run(inputs)
            wall, cpu = [], []
            t_end = time.perf_counter() + min_time
            while len(wall) < 3 or time.perf_counter() < t_end:
                t0, c0 = time.perf_counter(), time.process_time()
                engine.run(inputs)
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.process_time() - c0) * 1e3)
            print("@@" + json.dumps({"wall": wall, "cpu": cpu}), flush=True)
        elif cmd == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
