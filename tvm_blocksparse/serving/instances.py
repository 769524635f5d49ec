"""Model instances: worker processes, each with its own copy of a saved pipeline, pinned to its
cores, fed token ids by the server and answering with embeddings or labels.

Processes, not threads: an instance that crashes (or is killed) takes nothing else down, and is
restarted; each one runs its kernels with its own thread count on its own cores (the paper's
multi-instance throughput mode).

Protocol on a ``multiprocessing`` pipe, parent -> worker: ``("run", job, token_ids, type_ids)``
or ``("stop",)``; worker -> parent: ``("ready", pid)`` once loaded, ``("ok", job, result)`` or
``("fail", job, message)`` per run, ``("dead", message)`` when loading failed.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
import traceback

ENGINES = ("tvm", "onnxruntime")


class InstanceCrashed(RuntimeError):
    """The instance process died (or was killed) before answering."""


class InstanceTimeout(RuntimeError):
    """The instance did not answer within the run's time limit (it is killed and restarted)."""


class InstanceFailed(RuntimeError):
    """The run raised inside the instance (the instance keeps serving)."""


def load_engine(directory: str, engine: str, threads: int):
    """The object an instance runs: ``run_tokens(token_ids, type_ids)`` of a saved pipeline on
    our modules (``tvm``) or on ONNX Runtime INT8 (``onnxruntime``)."""
    if engine == "tvm":
        from tvm_blocksparse.text import TextPipeline

        return TextPipeline.load(directory, threads=threads)
    if engine == "onnxruntime":
        from tvm_blocksparse.serving.onnxruntime_engine import OnnxRuntimeTextEngine

        return OnnxRuntimeTextEngine(directory, threads)
    raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


def pin_process(cores: list[int]) -> None:
    """Pin every thread of this process to ``cores``, not just the calling one: threads that
    started before (numpy's BLAS pool, imported while the spawned process unpickled its
    arguments) keep the mask they were created with otherwise."""
    os.sched_setaffinity(0, cores)
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:  # no procfs: the calling thread and those it starts
        return
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), cores)
        except OSError:  # the thread has exited meanwhile
            pass


def _worker_main(conn, directory: str, engine: str, threads: int, cores: list[int] | None) -> None:
    """Entry point of an instance process (spawned: a fresh interpreter, so the thread count
    set here is the one TVM reads at import)."""
    os.environ["TVM_NUM_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    if cores:
        pin_process(cores)
    try:
        model = load_engine(directory, engine, threads)
    except Exception as err:
        conn.send(("dead", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if message[0] == "stop":
            return
        _, job, token_ids, type_ids = message
        try:
            result = model.run_tokens(token_ids, type_ids)
        except Exception as err:
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            conn.send(("fail", job, detail))
            continue
        conn.send(("ok", job, result))


@dataclasses.dataclass
class InstanceSpec:
    directory: str
    engine: str = "tvm"
    threads: int = 1
    cores: list[int] | None = None
    start_timeout_s: float = 300.0


class Instance:
    """One worker process; :meth:`run` blocks the calling thread (the server calls it from a
    thread of its own per instance) and raises :class:`InstanceCrashed`,
    :class:`InstanceTimeout` or :class:`InstanceFailed`; :meth:`restart` replaces a dead or
    hung process."""

    def __init__(self, spec: InstanceSpec, index: int):
        self.spec = spec
        self.index = index
        self.process = None
        self.conn = None
        self.restarts = 0
        self._jobs = 0
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self) -> None:
        """Spawn the process and wait until it has loaded the pipeline (``RuntimeError`` with
        the worker's message where loading failed)."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_worker_main,
            args=(child, self.spec.directory, self.spec.engine, self.spec.threads, self.spec.cores),
            name=f"tvm_blocksparse-instance-{self.index}",
            daemon=True,
        )
        process.start()
        child.close()
        deadline = time.monotonic() + self.spec.start_timeout_s
        while not parent.poll(0.05):
            if not process.is_alive() or time.monotonic() > deadline:
                process.kill()
                process.join()
                raise RuntimeError(
                    f"instance {self.index} did not start (exit code {process.exitcode})"
                )
        try:
            message = parent.recv()
        except EOFError:
            message = ("dead", f"exit code {process.join() or process.exitcode}")
        if message[0] != "ready":
            process.join(5)
            raise RuntimeError(f"instance {self.index} could not load the model: {message[1]}")
        self.process, self.conn = process, parent

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join()

    def restart(self) -> None:
        self.kill()
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None
        self.restarts += 1
        self.start()

    def run(self, token_ids, type_ids, timeout_s: float):
        """Run one batch; the result of ``run_tokens``. Not reentrant (one batch at a time)."""
        with self._lock:
            self._jobs += 1
            job = self._jobs
            if not self.alive():
                raise InstanceCrashed(f"instance {self.index} is not running")
            try:
                self.conn.send(("run", job, token_ids, type_ids))
            except (OSError, ValueError) as err:
                raise InstanceCrashed(f"instance {self.index}: {err}") from None
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    ready = self.conn.poll(0.05)
                except (OSError, ValueError):
                    ready = False
                if ready:
                    try:
                        message = self.conn.recv()
                    except (EOFError, OSError):
                        raise InstanceCrashed(f"instance {self.index} died during a run") from None
                    break
                if not self.process.is_alive():
                    raise InstanceCrashed(
                        f"instance {self.index} died during a run (exit code "
                        f"{self.process.exitcode})"
                    )
                if time.monotonic() > deadline:
                    self.kill()
                    raise InstanceTimeout(f"instance {self.index} took over {timeout_s:g} s")
            kind = message[0]
            if kind == "ok" and message[1] == job:
                return message[2]
            if kind == "fail":
                raise InstanceFailed(message[2])
            raise InstanceCrashed(f"instance {self.index} answered out of protocol: {kind}")


def instance_cores(instances: int, threads: int) -> list[list[int] | None]:
    """Cores of each instance: consecutive slices of this process' affinity set, ``threads``
    each; unpinned (the OS places them) when there are more instance threads than cores."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return [None] * instances
    if instances * threads > len(available):
        return [None] * instances
    return [available[i * threads : (i + 1) * threads] for i in range(instances)]
