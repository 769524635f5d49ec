"""A peer engine in its own interpreter, driven over stdin/stdout by the benchmark.

Two peers need a process of their own:

- ``deepsparse``: DeepSparse 1.8.0 (the last wheel that installs) needs numpy<2 and onnx 1.14, so
  it lives in its own virtualenv;
- ``ort-no-amx``: ONNX Runtime with the AMX tile registers denied to the process (see
  :func:`tvm_blocksparse.isa.amx.deny_tiles`), i.e. ORT's INT8 GEMM on its AVX-512 VNNI path, as on
  a CPU without AMX
  (the Zen 4 that issue 4's bar was set on). The denial must come before any library asks the
  kernel for AMX, hence a fresh process.
- ``ours-no-amx``: our exported ``.so`` (``tvm_blocksparse.load``) with AMX denied the same way:
  its INT8 attention runs its VNNI path, as on such a CPU.

This file imports nothing from tvm_blocksparse at module level (the DeepSparse venv does not
have it; the ``-no-amx`` engines run in ours and take :func:`tvm_blocksparse.isa.amx.deny_tiles`).
It runs as::

    PYTHON _engine_worker.py ENGINE MODEL.onnx BATCH THREADS FEEDS.npz NAME,NAME

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

ENGINES = ("deepsparse", "ort-no-amx", "ours-no-amx")


def _open_engine(engine: str, path: str, batch: int, threads: int, names: list[str]):
    """-> a callable ``run(inputs) -> list of outputs``, inputs in the order of ``names``."""
    if engine == "deepsparse":
        from deepsparse import compile_model

        model = compile_model(path, batch_size=batch, num_cores=threads)
        return model.run
    if engine == "ours-no-amx":
        import os

        os.environ["TVM_NUM_THREADS"] = str(threads)  # read when TVM's pool starts
        import tvm_blocksparse

        model = tvm_blocksparse.load(path)
        return lambda inputs: model.run(dict(zip(names, inputs)))
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return lambda inputs: sess.run(None, dict(zip(names, inputs)))


def main() -> int:
    engine, path, batch, threads, feeds_path, names = sys.argv[1:7]
    if engine not in ENGINES:
        raise SystemExit(f"unknown engine {engine!r}; one of {ENGINES}")
    if engine.endswith("-no-amx"):
        from tvm_blocksparse.isa.amx import deny_tiles

        deny_tiles()
    import numpy as np

    feeds = np.load(feeds_path)
    names = names.split(",")
    inputs = [np.ascontiguousarray(feeds[n]) for n in names]
    t0 = time.perf_counter()
    run = _open_engine(engine, path, int(batch), int(threads), names)
    print("@@ready " + json.dumps({"compile_s": time.perf_counter() - t0}), flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "out":
            np.save(arg, run(inputs)[0])
            print("@@ok", flush=True)
        elif cmd == "round":
            min_time = float(arg)
            run(inputs)
            wall, cpu = [], []
            t_end = time.perf_counter() + min_time
            while len(wall) < 3 or time.perf_counter() < t_end:
                t0, c0 = time.perf_counter(), time.process_time()
                run(inputs)
                wall.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.process_time() - c0) * 1e3)
            print("@@" + json.dumps({"wall": wall, "cpu": cpu}), flush=True)
        elif cmd == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
