"""A peer engine in its own interpreter, driven over stdin/stdout by the benchmark.

Two peers need a process of their own:

- ``deepsparse``: DeepSparse 1.8.0 (the last wheel that installs) needs numpy<2 and onnx 1.14, so
  it lives in its own virtualenv;
- ``ort-no-amx``: ONNX Runtime with the AMX tile registers denied to the process (see
  :func:`deny_amx`), i.e. ORT's INT8 GEMM on its AVX-512 VNNI path, as on a CPU without AMX
  (the Zen 4 that issue 4's bar was set on). The denial must come before any library asks the
  kernel for AMX, hence a fresh process.
- ``ours-no-amx``: our exported ``.so`` (``tvm_blocksparse.load``) with AMX denied the same way:
  its INT8 attention runs its VNNI path, as on such a CPU.

This file imports nothing from tvm_blocksparse at module level (the DeepSparse venv does not
have it). It runs as::

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

import ctypes
import json
import struct
import sys
import time

ENGINES = ("deepsparse", "ort-no-amx", "ours-no-amx")

# Linux's AMX permission interface (x86-64; also used by tvm_blocksparse.attention)
SYS_ARCH_PRCTL = 158
ARCH_GET_XCOMP_PERM = 0x1022
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18
_AUDIT_ARCH_X86_64 = 0xC000003E
_EPERM = 1


def deny_amx() -> None:
    """Make ``arch_prctl(ARCH_REQ_XCOMP_PERM, ...)`` fail with EPERM in this process and its
    children (a seccomp filter; irreversible).

    Linux hands out the AMX tile-data state only to a process that asks with that call; oneDNN
    and ORT's MLAS ask once and fall back to AVX-512 VNNI when refused. Raises OSError when the
    filter cannot be installed, or when the call still succeeds afterwards.
    """
    ld_w_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    program = [
        (ld_w_abs, 0, 0, 4), (jeq_k, 1, 0, _AUDIT_ARCH_X86_64), (ret_k, 0, 0, 0x7FFF0000),  # other ABI: allow
        (ld_w_abs, 0, 0, 0), (jeq_k, 0, 3, SYS_ARCH_PRCTL),                                  # nr
        (ld_w_abs, 0, 0, 16), (jeq_k, 0, 1, ARCH_REQ_XCOMP_PERM),                           # args[0]
        (ret_k, 0, 0, 0x00050000 | _EPERM),                                                   # SECCOMP_RET_ERRNO
        (ret_k, 0, 0, 0x7FFF0000),                                                            # SECCOMP_RET_ALLOW
    ]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) or libc.prctl(pr_set_seccomp, seccomp_mode_filter,
                                                                   ctypes.byref(prog), 0, 0):
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    if libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != -1 or ctypes.get_errno() != _EPERM:
        raise OSError("ARCH_REQ_XCOMP_PERM still succeeds after the filter")


def amx_granted() -> bool:
    """True when Linux has granted this process the AMX tile-data state (someone asked)."""
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.c_ulong()
    return libc.syscall(SYS_ARCH_PRCTL, ARCH_GET_XCOMP_PERM, ctypes.byref(mask)) == 0 and bool(
        mask.value >> XFEATURE_XTILEDATA & 1)


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
        deny_amx()
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
