"""Python API: ONNX BERT -> compiled (block-sparse) module -> run / export / load.

    import tvm_blocksparse as tb
    model = tb.compile("bert.onnx", seq_len=128, dtype="int8")        # 4x1 INT8 where sparse
    outputs = model.run({"input_ids": ids, "attention_mask": mask})   # ONNX output order
    model.export("bert.so")             # writes bert.so and bert.so.json (metadata, beside it)
    model = tb.load("bert.so")
    print(tb.inspect("bert.onnx"))      # per-layer sparsity, what would go sparse, est. speedup
    tb.prune("bert.onnx", "bert90.onnx", sparsity=0.9, block="4x1")

Block orientation everywhere: ``(out, in)`` of ``W[N_out, K_in]``; "4x1" = 4 output channels x
1 input channel (the paper's INT8 pattern), "1x16" = 16 output channels x 1 input (FP32).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from inspect import signature as _signature  # this module defines inspect()

import numpy as np
import onnx

from tvm_blocksparse import format as fmt
from tvm_blocksparse.onnx_import import OnnxImportError, graph_inputs, linear_layers, load_onnx
from tvm_blocksparse.progress import reporter
from tvm_blocksparse.target import checked_threads
from tvm_blocksparse.tvm_setup import ensure_tvm_setup

ensure_tvm_setup()

_METADATA_SUFFIX = ".json"
_FORMAT_VERSION = 2  # 2: the manifest is compiled into the .so
# TVM 0.27's VM executable logs this, with nothing after the colon, once per constant when it is
# exported and again when it is loaded: hundreds of lines for a BERT.
_TVM_SCOPE_WARNING = re.compile(rb"executable\.cc:\d+: Warning: Scope (Saving|Loaded):\s*$")


#: one capture of file descriptor 2 at a time: two threads exporting or loading at once would
#: otherwise restore each other's descriptor
_FD2_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_tvm_scope_warnings():
    """Capture file descriptor 2 (TVM logs from C++) and pass on every line but
    :data:`_TVM_SCOPE_WARNING`, in order, when the block ends.

    Why a descriptor: TVM 0.27 writes these from ``VMExecutable::SaveMemoryScopeSection`` and its
    loader straight to ``std::cerr`` (one per entry of the executable's memory-scope table, 148
    for BERT-Mini), with no log hook or level to turn them off."""
    with _FD2_LOCK:
        with _capture_fd2_without_scope_warnings():
            yield


@contextlib.contextmanager
def _capture_fd2_without_scope_warnings():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().splitlines(keepends=True)
                if not _TVM_SCOPE_WARNING.search(line)
            ]
            if kept:
                os.write(2, b"".join(kept))


@dataclasses.dataclass
class CompiledModel:
    """A compiled model bound to the static batch x sequence it was compiled for.

    ``run`` takes the ONNX input names and returns outputs in ONNX output order. A model compiled
    with ``weights="separate"`` lists its weight keys in ``metadata["weights"]`` and runs with
    the arrays of ``weight_store`` (``{key: tvm.runtime.Tensor}``; one store can serve several
    models, e.g. the length buckets of one model)."""

    executable: object  # tvm.relax.VMExecutable or a loaded runtime.Module
    input_names: list[str]
    input_shapes: dict[str, list[int]]
    input_dtypes: dict[str, str]
    output_names: list[str]
    metadata: dict
    #: the exported library this model was loaded from (None: compiled in this process)
    source_path: str | None = None
    #: threads each call runs on (TVM's pool for the calling thread, sized before the call);
    #: None: :func:`tvm_blocksparse.target.num_threads` (the CPUs this process may use)
    threads: int | None = None
    #: ``{key: tvm.runtime.Tensor}`` holding at least :attr:`weight_keys` (separate weights)
    weight_store: dict | None = None
    #: the executable's function this model calls (a library of several buckets has one each)
    entry: str = "main"

    def __post_init__(self):
        import tvm
        from tvm import relax

        self._device = tvm.cpu()
        self._vm = relax.VirtualMachine(self.executable, self._device)
        self._main = self._vm[self.entry]
        self._index_bounds = {k: int(v) for k, v in self.metadata.get("index_bounds", {}).items()}
        self._host_checked = False
        # per-thread input tensors, refilled by copy: allocating them took ~10 us each per run
        self._inputs = threading.local()
        self._weights = None
        if self.weight_keys is not None:
            self.share_weights(self.weight_store or {})

    def share_weights(self, store: dict) -> None:
        """Run with the arrays of ``store`` (``{key: tvm.runtime.Tensor}``, a superset of
        :attr:`weight_keys`; a key names one content), so that models of one source, e.g. its
        length buckets, hold one copy. ``ValueError`` where a key is missing."""
        import tvm

        keys = self.weight_keys
        if keys is None:
            raise ValueError("this model's weights are constants in its library (embedded)")
        missing = [k for k in keys if k not in store]
        if missing:
            raise ValueError(
                f"this model runs with {len(keys)} separate weight arrays and {len(missing)} of "
                f"them are missing from its weight store (first: {missing[0]}): load it with the "
                "weights it was exported with"
            )
        self.weight_store = store
        self._weights = tvm.runtime.convert([store[k] for k in keys])
        self._inputs = threading.local()  # the held argument lists end with the old tuple

    def _check_host_can_run(self) -> None:
        """Refuse to run code built for instruction sets this CPU lacks (it would die with SIGILL);
        building and exporting for another CPU (``target=``) stays allowed."""
        from tvm_blocksparse.isa import check_host_can_run

        if self._host_checked:
            return
        target = self.metadata.get("target")
        if target:
            check_host_can_run(target, "this module")
        self._host_checked = True

    def _args(self, feeds: dict[str, np.ndarray]) -> list:
        """``main``'s arguments: this thread's held input tensors, refilled from ``feeds`` (checked
        against the compiled names, shapes, dtypes and index bounds), then the weights tuple.
        Each is filled through a numpy view of its memory (``np.copyto``): ``Tensor.copyfrom``
        costs many times that on every call (bench/README.md, "Decisions")."""
        from tvm_blocksparse.target import use_threads

        self._check_host_can_run()
        use_threads(self.threads)
        if len(feeds) != len(self.input_names) or any(n not in feeds for n in self.input_names):
            missing = [n for n in self.input_names if n not in feeds]
            unknown = [n for n in feeds if n not in self.input_names]
            raise ValueError(
                f"inputs must be exactly {self.input_names}; missing {missing}, unknown {unknown}"
            )
        held, views = self._held_inputs()
        for name, view in zip(self.input_names, views):
            a = feeds[name]
            if not (isinstance(a, np.ndarray) and a.shape == view.shape and a.dtype == view.dtype):
                a = self._coerced_input(name, a)
            rows = self._index_bounds.get(name)
            if rows is not None and a.size and (a.min() < 0 or a.max() >= rows):
                bad = np.flatnonzero((a.ravel() < 0) | (a.ravel() >= rows))
                raise ValueError(
                    f"input {name!r}: {a.ravel()[bad[0]]} at position "
                    f"{[int(i) for i in np.unravel_index(bad[0], a.shape)]} "
                    f"({bad.size} value(s) in all) is outside [0, {rows}): it indexes a table of "
                    f"{rows} rows "
                    "(e.g. the vocabulary), and an id outside it would read outside the table"
                )
            np.copyto(view, a)
        return held

    def _coerced_input(self, name: str, value) -> np.ndarray:
        """``value`` as the compiled shape and dtype of input ``name`` (a dtype of the same kind is
        converted), else ``ValueError``."""
        a = np.asarray(value)
        want_shape, want_dtype = self.input_shapes[name], np.dtype(self.input_dtypes[name])
        if list(a.shape) != list(want_shape):
            raise ValueError(
                f"input {name!r}: shape {list(a.shape)} but the model was compiled for "
                f"{want_shape} "
                "(batch_size x seq_len are static; compile again for another shape)"
            )
        if a.dtype != want_dtype:
            if a.dtype.kind != want_dtype.kind:
                raise ValueError(f"input {name!r}: dtype {a.dtype}, expected {want_dtype}")
            a = a.astype(want_dtype)
        return a

    def _held_inputs(self) -> tuple[list, list[np.ndarray]]:
        """This thread's argument list (input tensors, then the weights tuple if separate) and
        numpy views of its input tensors, made at its first call (``CompiledModel`` may run on
        several threads at once: each fills its own)."""
        import tvm

        held = getattr(self._inputs, "tensors", None)
        if held is None:
            tensors = [
                tvm.runtime.empty(self.input_shapes[n], self.input_dtypes[n], self._device)
                for n in self.input_names
            ]
            self._inputs.views = [np.from_dlpack(t) for t in tensors]
            if self._weights is not None:  # main's last parameter: the weights tuple
                tensors.append(self._weights)
            held = self._inputs.tensors = tensors
        return held, self._inputs.views

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        out = self._main(*self._args(feeds))
        outs = [out] if hasattr(out, "numpy") else list(out)
        # copied through DLPack: cheaper than Tensor.numpy() (bench/README.md, "Decisions")
        return [np.from_dlpack(o).copy() for o in outs]

    def call_times(self, feeds: dict[str, np.ndarray], runs: int = 100) -> dict[str, list[float]]:
        """Seconds of every call the entry makes (its kernels and the VM's builtins) over ``runs``
        runs of ``feeds``, by function name, in call order: where a model's time goes with its own
        data, cache state and call order (TVM 0.27's Relax VM has no profiler; isolated kernels
        see neither). Needs a model built with ``exec_mode="bytecode"``: compiled code calls its
        functions past the VM's instrument. Every figure includes the instrument's own cost, which
        ``vm.builtin.null_value`` (a no-op) shows."""
        import time

        if self.metadata.get("vm_exec_mode") != "bytecode":
            raise ValueError(
                "call_times needs a model built with exec_mode='bytecode' (this one is "
                f"{self.metadata.get('vm_exec_mode')!r}: its compiled code calls kernels past "
                "the VM's instrument); build it with lower(...).build(exec_mode='bytecode')"
            )
        if runs < 1:
            raise ValueError(f"runs must be >= 1, got {runs}")
        args = self._args(feeds)
        times: dict[str, list[float]] = {}
        started: list[float] = []

        def instrument(func, name, before, ret, *call_args):
            if before:
                started.append(time.perf_counter())
            else:
                times.setdefault(name, []).append(time.perf_counter() - started.pop())
            return 0  # VMInstrumentReturnKind.NO_OP: go on

        self._main(*args)  # first call's allocations and page faults are not the model's
        self._vm.set_instrument(instrument)
        try:
            for _ in range(runs):
                self._main(*args)
        finally:
            self._vm.set_instrument(None)
        return times

    def time_ms(
        self, feeds: dict[str, np.ndarray], number: int = 10, repeat: int = 10
    ) -> np.ndarray:
        """Per-call latency samples (ms), each the mean of ``number`` calls."""
        timer = self._vm.time_evaluator(self.entry, self._device, number=number, repeat=repeat)
        return np.asarray(timer(*self._args(feeds)).results) * 1e3

    @property
    def weight_keys(self) -> list[str] | None:
        """Keys of the weight arrays ``main`` takes as its last argument, in order; None: the
        weights are constants inside the library (``weights="embedded"``)."""
        keys = self.metadata.get("weights")
        return list(keys) if keys is not None else None

    @property
    def index_bounds(self) -> dict[str, int]:
        """``{input name: rows}`` of the inputs that index a table (token ids: the vocabulary);
        :meth:`run` rejects values outside ``[0, rows)``."""
        return dict(self._index_bounds)

    @property
    def report(self) -> list[dict]:
        """One entry per Linear layer: shape, sparsity, kernel chosen, epilogue, reason."""
        return self.metadata.get("layers", [])

    def export(self, path: str | os.PathLike, write_weights: bool = True) -> str:
        """Write the shared library ``path``, with its manifest inside (:func:`read_manifest`:
        input/output names, shapes, dtypes, index bounds, target and ISA level, the layer report),
        and a readable copy of the manifest at ``path + '.json'``. A model with separate weights
        also writes them to ``path + '.weights'`` (TVM's parameter-dict format, keyed as
        :attr:`weight_keys`) unless ``write_weights`` is False (the caller stores them, e.g. once
        for several buckets: :func:`save_weights`). Returns ``path``."""
        path = os.fspath(path)
        if self.weight_keys is not None and write_weights:
            save_weights(path + WEIGHTS_SUFFIX, self.weight_store, self.weight_keys)
        if self.source_path is not None:  # a loaded library can't be re-linked: copy it
            if os.path.abspath(path) != os.path.abspath(self.source_path):
                shutil.copyfile(self.source_path, path)
            with open(path + _METADATA_SUFFIX, "w") as f:
                f.write(json.dumps(read_manifest(path), indent=1))
            return path
        _export_library(self.executable, path, self.manifest())
        return path

    def manifest(self) -> dict:
        """What :meth:`export` compiles into the library: the metadata and the input/output
        names, shapes and dtypes."""
        return dict(
            self.metadata,
            input_names=self.input_names,
            input_shapes=self.input_shapes,
            input_dtypes=self.input_dtypes,
            output_names=self.output_names,
            format_version=_FORMAT_VERSION,
        )


def _export_library(executable, path: str, manifest: dict) -> None:
    """``executable`` as the shared library ``path`` with ``manifest`` inside, and a readable copy
    of the manifest at ``path + '.json'``."""
    text = json.dumps(manifest, indent=1)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "tvm_blocksparse_manifest.cc")
        with open(source, "w") as f:
            f.write(_manifest_source(text))
        with _without_tvm_scope_warnings():
            executable.export_library(path, addons=[source])
    with open(path + _METADATA_SUFFIX, "w") as f:
        f.write(text)


def export_entries(models: dict, path: str | os.PathLike) -> str:
    """Write models that share one executable (:func:`build_entries`) as one library, each
    entry's manifest inside (``{"entries": {entry: manifest}}``); :func:`load_entries` reads it.
    Their weights are not written (:func:`save_weights`)."""
    path = os.fspath(path)
    first = next(iter(models.values()))
    if any(m.executable is not first.executable for m in models.values()):
        raise ValueError("export_entries needs models of one executable (build_entries)")
    if first.source_path is not None:  # a loaded library can't be re-linked: copy it
        if os.path.abspath(path) != os.path.abspath(first.source_path):
            shutil.copyfile(first.source_path, path)
        with open(path + _METADATA_SUFFIX, "w") as f:
            f.write(json.dumps(read_manifest(path), indent=1))
        return path
    manifest = {
        "format_version": _FORMAT_VERSION,
        "entries": {m.entry: m.manifest() for m in models.values()},
    }
    _export_library(first.executable, path, manifest)
    return path


#: Beside an exported library with separate weights: its weight arrays.
WEIGHTS_SUFFIX = ".weights"


def save_weights(path: str | os.PathLike, store: dict, keys=None) -> str:
    """Write ``store``'s arrays (those of ``keys``, default all) to ``path`` in TVM's
    parameter-dict format (``tvm.runtime.save_param_dict``); :func:`load_weights` reads it."""
    import tvm

    keys = list(store) if keys is None else list(keys)
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"  # unique: bucket compiles may write one key at once
    tvm.runtime.save_param_dict_to_file({k: store[k] for k in keys}, tmp)
    os.replace(tmp, path)
    return path


def load_weights(path: str | os.PathLike) -> dict:
    """``{key: tvm.runtime.Tensor}`` of a file written by :func:`save_weights`."""
    import tvm

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no weight file at {path}")
    try:
        return dict(tvm.runtime.load_param_dict_from_file(path))
    except Exception as err:  # TVM raises its own error types for a malformed file
        raise ValueError(f"{path} is not a weight file written by save_weights: {err}") from None


#: The data symbol holding an exported module's manifest (base64 of its JSON).
_MANIFEST_SYMBOL = "tvm_blocksparse_manifest"


def _manifest_source(text: str) -> str:
    """C++ source of the manifest symbol (base64: no escaping questions in a C string)."""
    import base64

    encoded = base64.b64encode(text.encode()).decode()
    lines = "\n".join(f'    "{encoded[i : i + 100]}"' for i in range(0, len(encoded), 100))
    return (
        'extern "C" __attribute__((visibility("default"), used))\n'
        f"const char {_MANIFEST_SYMBOL}[] =\n"
        f"{lines};\n"
    )


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest compiled into an exported module (a data symbol: nothing of the module is
    run to read it, though the library is loaded). ``ValueError`` for a file without one."""
    import base64
    import ctypes

    try:
        lib = ctypes.CDLL(os.path.abspath(os.fspath(path)))
    except OSError as err:
        raise ValueError(f"{path} is not a loadable shared library: {err}") from None
    try:
        encoded = ctypes.string_at(ctypes.addressof(ctypes.c_char.in_dll(lib, _MANIFEST_SYMBOL)))
    except ValueError:
        raise ValueError(
            f"{path} has no tvm_blocksparse manifest: not exported by tvm_blocksparse.export "
            f"(format {_FORMAT_VERSION}); export the model again"
        ) from None
    try:
        manifest = json.loads(base64.b64decode(encoded, validate=True))
    except ValueError as err:
        raise ValueError(
            f"{path}: its manifest is corrupt ({err}); export the model again"
        ) from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != _FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported manifest version {version}")
    return manifest


def load(
    path: str | os.PathLike,
    threads: int | None = None,
    weights: dict | str | None = None,
    entry: str | None = None,
) -> CompiledModel:
    """Load a module written by :meth:`CompiledModel.export`. Its manifest comes from the module
    itself; a ``path + '.json'`` beside it is a readable copy, and one that disagrees with the
    module is refused (``ValueError``). ``load`` runs the module's native code: only load files
    you trust. ``threads``: as :func:`compile`'s. ``weights`` (models compiled with
    ``weights="separate"``): a store ``{key: tensor}`` or a file of :func:`save_weights`;
    default ``path + '.weights'``. ``entry``: which model of a library of several
    (:func:`export_entries`; :func:`load_entries` loads them all)."""
    models = load_entries(path, threads, weights)
    if entry is None and len(models) == 1:
        return next(iter(models.values()))
    if entry not in models:
        raise ValueError(f"{path} holds the entries {sorted(models)}: pass entry= one of them")
    return models[entry]


def load_entries(
    path: str | os.PathLike, threads: int | None = None, weights: dict | str | None = None
) -> dict[str, CompiledModel]:
    """Every model of a library written by :meth:`CompiledModel.export` (one entry) or
    :func:`export_entries` (several, sharing the loaded library and one weight store);
    arguments as :func:`load`'s."""
    import tvm

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no compiled module at {path}")
    manifest = read_manifest(path)
    sidecar = path + _METADATA_SUFFIX
    if os.path.isfile(sidecar):
        with open(sidecar) as f:
            try:
                copy = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(
                    f"{sidecar} is not valid JSON ({err}); delete it or export again"
                ) from None
        differ = sorted(k for k in set(manifest) | set(copy) if manifest.get(k) != copy.get(k))
        if differ:
            raise ValueError(
                f"{sidecar} disagrees with the manifest inside {path} on {differ}: the .json is "
                "only a readable copy; delete it or export again"
            )
    metas = (
        manifest["entries"] if "entries" in manifest else {manifest.get("entry", "main"): manifest}
    )
    store = None
    if any(meta.get("weights") is not None for meta in metas.values()):
        given = weights if weights is not None else path + WEIGHTS_SUFFIX
        store = given if isinstance(given, dict) else load_weights(given)
    with _without_tvm_scope_warnings():
        lib = tvm.runtime.load_module(path)
    return {
        entry: CompiledModel(
            lib,
            meta["input_names"],
            meta["input_shapes"],
            meta["input_dtypes"],
            meta["output_names"],
            meta,
            source_path=os.path.abspath(path),
            threads=checked_threads(threads),
            weight_store=store if meta.get("weights") is not None else None,
            entry=entry,
        )
        for entry, meta in metas.items()
    }


def _named(decision, layer_names: dict) -> dict:
    """A layer decision as a dict, named after its ONNX node and weight."""
    d = dataclasses.asdict(decision)
    d["name"], d["weight"] = layer_names.get(decision.source, ("", ""))
    return d


#: Relax VM execution mode of compiled models: "compiled" turns the VM's instruction stream into
#: native code (the kernels and the memory builtins are still called through their packed
#: functions), sparing the interpreter's per-instruction dispatch: same outputs, 1-5 % faster
#: (bench/README.md, "Decisions").
VM_EXEC_MODE = "compiled"
#: What ``build(exec_mode=...)`` takes: "bytecode" interprets the instructions, which is what
#: :meth:`CompiledModel.call_times` needs (compiled code calls its functions past any instrument).
VM_EXEC_MODES = ("compiled", "bytecode")

#: ``compile(weights=...)``: constants inside the library, or arrays passed to it (shared)
WEIGHT_MODES = ("embedded", "separate")


def compile(onnx_path_or_model, **options) -> CompiledModel:
    """Compile an ONNX BERT-family model for this CPU: :func:`lower` (whose docstring lists the
    options), then build the VM executable."""
    return lower(onnx_path_or_model, **options).build()


@dataclasses.dataclass
class LoweredModel:
    """A model after our pipeline: a Relax module ready for VM code generation (what
    :func:`build_entries` links several of into one library), with what its
    :class:`CompiledModel` needs."""

    mod: object  # tvm.IRModule, entry "main"
    target: object
    input_names: list[str]
    input_shapes: dict[str, list[int]]
    input_dtypes: dict[str, str]
    output_names: list[str]
    metadata: dict
    threads: int | None = None
    weight_store: dict | None = None

    def build(self, exec_mode: str = VM_EXEC_MODE) -> CompiledModel:
        return build_entries({"main": self}, exec_mode)["main"]


def build_entries(
    lowered: dict[str, LoweredModel], exec_mode: str = VM_EXEC_MODE
) -> dict[str, CompiledModel]:
    """One VM executable for several lowered models, each callable as its own entry (``main`` of
    each becomes the entry's name; its kernels are renamed ``<name>__<entry>``), e.g. the length
    buckets of one model: one library, one load. Models with separate weights share the first
    store that holds a key. ``exec_mode``: one of :data:`VM_EXEC_MODES`."""
    from tvm import relax

    if exec_mode not in VM_EXEC_MODES:
        raise ValueError(f"exec_mode must be one of {VM_EXEC_MODES}, got {exec_mode!r}")
    t0 = time.perf_counter()
    targets = {str(m.target) for m in lowered.values()}
    if len(targets) != 1:
        raise ValueError(f"entries of one library need one target, got {sorted(targets)}")
    if len(lowered) == 1 and "main" in lowered:
        mod = lowered["main"].mod
    else:
        mod = _merged_entries({entry: m.mod for entry, m in lowered.items()})
    first = next(iter(lowered.values()))
    with first.target:
        executable = relax.build(mod, target=first.target, exec_mode=exec_mode, relax_pipeline=None)
    link_s = time.perf_counter() - t0
    store: dict = {}
    for m in lowered.values():
        for key, tensor in (m.weight_store or {}).items():
            store.setdefault(key, tensor)
    built = {}
    for entry, m in lowered.items():
        meta = dict(m.metadata, entry=entry, vm_exec_mode=exec_mode)
        meta["compile_seconds"] = round(meta.get("compile_seconds", 0.0) + link_s, 2)
        built[entry] = CompiledModel(
            executable,
            m.input_names,
            m.input_shapes,
            m.input_dtypes,
            m.output_names,
            meta,
            threads=m.threads,
            weight_store=store if m.weight_store is not None else None,
            entry=entry,
        )
    return built


def _merged_entries(mods: dict) -> object:
    """One IRModule holding each module's functions, ``main`` renamed to the entry and every
    other function suffixed ``__<entry>`` (names clash across buckets); equal kernels are kept
    once (``BlockBuilder.add_func``)."""
    from tvm import relax
    from tvm.relax.expr_functor import PyExprMutator, mutator

    @mutator
    class _Renamed(PyExprMutator):
        def __init__(self, mod, names):
            super().__init__(mod)
            self.names = names

        def visit_global_var_(self, op):
            return self.names.get(op.name_hint, op)

    bb = relax.BlockBuilder()
    for entry, mod in mods.items():
        names = {}
        for gv, func in mod.functions_items():
            if not isinstance(func, relax.Function):
                name = f"{gv.name_hint}__{entry}"
                names[gv.name_hint] = bb.add_func(func.with_attr("global_symbol", name), name)
        for gv, func in mod.functions_items():
            if isinstance(func, relax.Function):
                name = entry if gv.name_hint == "main" else f"{gv.name_hint}__{entry}"
                renamed = _Renamed(mod, names).visit_expr(func)
                names[gv.name_hint] = bb.add_func(renamed.with_attr("global_symbol", name), name)
    return bb.get()


def lower(
    onnx_path_or_model,
    *,
    batch_size: int = 1,
    seq_len: int = 128,
    dtype: str = "int8",
    sparsity_threshold: float = fmt.DEFAULT_SPARSITY_THRESHOLD,
    block: str = "4x1",
    target=None,
    tuning_db=None,
    calibration: list[dict[str, np.ndarray]] | None = None,
    dump_dir: str | None = None,
    progress=None,
    int8_attention: bool = True,
    threads: int | None = None,
    weights: str = "embedded",
) -> LoweredModel:
    """Import and rewrite an ONNX BERT-family model for this CPU (or ``target``: a
    ``tvm.target.Target``, a TVM JSON target dict or string) up to the Relax module the VM's code
    generator takes (:meth:`LoweredModel.build`; :func:`compile` does both).

    ``dtype="int8"``: Linear layers with ``block`` sparsity >= ``sparsity_threshold`` run our
    INT8 block-sparse kernel ("4x1" or "16x4"), the others our dense INT8 kernel; activations
    are quantized per token at run time (dynamic). INT8 needs AVX2 at least (AVX-512 VNNI,
    AVX-VNNI or AVX2 kernels); below it this falls back to ``dtype="fp32"`` with a warning (the
    metadata records it). Where the target's ISA level has a calibrated cost model
    (:data:`tvm_blocksparse.registry.KERNEL_GOPS`: INT8 on every level, FP32 on AVX2) each
    layer takes the kernel estimated fastest (the layer report says why): on AMX, dense INT8 on
    tiles below ~85 % block sparsity; on AVX2 cores with 128-bit units (Zen 1), TVM's FP32
    matmul for dense layers.
    ``dtype="fp32"``: each layer measures its 4x1 and 1x16 block sparsity and a sparse one uses
    the FP32 kernel of that block ("16x4" reads as "4x1"), dense ones TVM's matmul with our
    schedule.
    ``calibration``: sample feeds (ONNX input names -> arrays of the compiled shape); given, INT8
    activations use static per-tensor ranges observed on them (no run-time range pass), else
    dynamic ranges computed at run time (the default, no data needed).
    ``tuning_db``: a work directory of :func:`tvm_blocksparse.tune`; each of our kernels whose
    shape it has records for gets the best measured record (token tile + trace), the others keep
    the default schedule (``metadata["tuned_kernels"]`` and the layer report say which).
    ``int8_attention`` (INT8 only, batch 1): each layer's ``softmax(Q K^T) V`` runs as one INT8
    VNNI kernel (:mod:`tvm_blocksparse.op.attention`; per-head dynamic scales) instead of FP32
    (``metadata["attention"]`` says how many layers did).
    ``threads``: threads the model runs with (and, for the host target, the core count its
    schedules are built for); None: the CPUs this process may use (affinity mask and cgroup
    quota; ``TVM_NUM_THREADS`` overrides). ``CompiledModel.threads`` changes it later.
    ``weights``: "embedded" (constants inside the library) or "separate" (the library holds code
    only and takes the arrays, keyed by content, as its last argument: length buckets of one
    model share one copy; ``CompiledModel.weight_store``, :func:`save_weights`).
    """

    from tvm_blocksparse.isa import isa_level
    from tvm_blocksparse.pipeline import get_pipeline
    from tvm_blocksparse.prepare import prepare_model
    from tvm_blocksparse.relay_passes.kernel_calls import attention_summary, layer_report
    from tvm_blocksparse.schedules.cpu_rules import ApplyScheduleRules
    from tvm_blocksparse.target import as_target, host_target

    if weights not in WEIGHT_MODES:
        raise ValueError(f"weights must be one of {WEIGHT_MODES}, got {weights!r}")
    threads = checked_threads(threads)
    if target is None and threads is not None:
        target = host_target(num_cores=threads)
    say = reporter(progress)
    t0 = time.perf_counter()
    tuned = None
    if tuning_db is not None:
        from tvm_blocksparse.tuning import TunedKernels

        tuned = TunedKernels(os.fspath(tuning_db), as_target(target))
    prepared = prepare_model(
        onnx_path_or_model,
        batch_size=batch_size,
        seq_len=seq_len,
        dtype=dtype,
        sparsity_threshold=sparsity_threshold,
        block=block,
        target=target,
        calibration=calibration,
        progress=progress,
        int8_attention=int8_attention,
    )
    tgt = prepared.target
    rules = ApplyScheduleRules()
    recorded = {}

    def observe(phase: str, mod) -> None:
        if phase == "tune":  # the rewrite's decisions and the tuning records applied, on the module
            recorded["layers"], recorded["attention"] = layer_report(mod), attention_summary(mod)

    say(f"compiling ({prepared.dtype}, block {prepared.block}, threshold {sparsity_threshold})")
    with tgt:
        pipeline = get_pipeline(
            tgt,
            **prepared.pipeline_options(),
            tuned=tuned,
            dump_dir=dump_dir,
            rules=rules,
            observe=observe,
            lift_weights=(lambda keys, arrays: recorded.update(weights=(keys, arrays)))
            if weights == "separate"
            else None,
        )
        lowered_mod = pipeline(prepared.mod)
    compile_s = time.perf_counter() - t0
    say(f"lowered in {compile_s:.1f} s")
    level = isa_level(tgt)
    meta = {
        "dtype": prepared.dtype,
        "quantization": ("static" if prepared.static_ranges else "dynamic")
        if prepared.dtype == "int8"
        else None,
        "block": prepared.block,
        "sparsity_threshold": sparsity_threshold,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "target": str(tgt),
        "isa_level": level.name if level else None,
        "compile_seconds": round(compile_s, 2),
        "layers": [_named(d, prepared.layer_names) for d in recorded["layers"]],
        "attention": recorded["attention"],
        "schedule_rules": dict(rules.listing),
        "tuning_db": os.fspath(tuning_db) if tuning_db is not None else None,
        "tuned_kernels": dict(tuned.applied) if tuned is not None else {},
        "index_bounds": prepared.index_bounds,
        "notes": prepared.notes,
    }
    store = None
    if weights == "separate":
        keys, arrays = recorded["weights"]
        meta["weights"] = keys
        store = dict(zip(keys, arrays, strict=True))
    return LoweredModel(
        lowered_mod,
        tgt,
        prepared.input_names,
        prepared.input_shapes,
        prepared.input_dtypes,
        prepared.output_names,
        meta,
        threads=threads,
        weight_store=store,
    )


compile.__signature__ = _signature(lower)  # compile takes lower's options

# ----------------------------------------------------------------------------- inspect / prune

INSPECT_BLOCKS = ("4x1", "16x4", "1x16")
# Cost of a block-sparse INT8 4x1 layer relative to our dense VNNI one, per unit of density:
# measured 3.2-3.5x faster at 10 % density (BERT-Large shapes, bench/README.md) -> ~2.9.
_SPARSE_COST_PER_DENSITY = 2.9
# Share of a dense model's time spent in its Linear layers (BERT-Base, seq 128, measured 95 %).
_LINEAR_SHARE = 0.95


@dataclasses.dataclass
class LayerInfo:
    name: str  # the MatMul/Gemm node's name (else the weight's)
    weight: str  # the weight initializer's name
    n_out: int
    k_in: int
    sparsity: dict[str, float]
    goes_sparse: bool  # reaches the threshold in the requested block
    kernel: str = ""  # what compile would run it with on the target (registry's per-layer choice)


@dataclasses.dataclass
class InspectReport:
    layers: list[LayerInfo]
    block: str
    threshold: float
    estimated_speedup: float
    target: str = ""  # the ISA level estimated for
    dtype: str = "int8"  # the dtype estimated for (FP32 where the target has no INT8 kernels)
    basis: str = ""  # how the estimate was made

    def to_dict(self) -> dict:
        """JSON-ready: a block that doesn't tile a layer's shape has sparsity ``None``."""
        out = dataclasses.asdict(self)
        for layer in out["layers"]:
            layer["sparsity"] = {
                b: None if math.isnan(v) else v for b, v in layer["sparsity"].items()
            }
        return out

    def __str__(self) -> str:
        head = (
            f"{'layer':<34} {'N_out x K_in':>12} "
            + " ".join(f"{b:>6}" for b in INSPECT_BLOCKS)
            + "  sparse?  kernel"
        )
        lines = [head]
        for layer in self.layers:
            lines.append(
                f"{layer.name[:34]:<34} {f'{layer.n_out}x{layer.k_in}':>12} "
                + " ".join(
                    f"{'-':>6}" if math.isnan(layer.sparsity[b]) else f"{layer.sparsity[b]:>6.3f}"
                    for b in INSPECT_BLOCKS
                )
                + f"  {'yes' if layer.goes_sparse else 'no':<7}  {layer.kernel}"
            )
        n_sparse = sum(layer.goes_sparse for layer in self.layers)
        lines.append("('-': the block does not tile the layer's shape)")
        lines.append(
            f"{n_sparse}/{len(self.layers)} Linear layers reach {self.threshold:.2f} {self.block} "
            "block sparsity; "
            f"estimated {self.dtype.upper()} speedup over our dense {self.dtype.upper()} on "
            f"{self.target}: {self.estimated_speedup:.2f}x ({self.basis})"
        )
        if n_sparse == 0 and self.layers:
            best = max(np.nan_to_num(layer.sparsity[self.block]) for layer in self.layers)
            lines.append(
                f"No layer is sparse enough in {self.block} blocks (best {best:.2f}): "
                "prune with tvm_blocksparse.prune or check the block orientation."
            )
        return "\n".join(lines)


def _block_sparsity_or_none(measured: dict, w_out_in: np.ndarray, block: str) -> float | None:
    """``block`` sparsity of ``w_out_in`` from ``measured`` (else measured now); None where the
    block doesn't tile the shape."""
    s = measured.get(block)
    if s is None:
        tiles = fmt.block_tiles(w_out_in.shape, block)
        s = fmt.block_sparsity(w_out_in, block) if tiles else math.nan
    return None if math.isnan(s) else s


def inspect(
    onnx_path,
    block: str = "4x1",
    threshold: float = fmt.DEFAULT_SPARSITY_THRESHOLD,
    *,
    target=None,
    dtype: str = "int8",
) -> InspectReport:
    """Per-layer shape and block sparsity for each supported block shape, which layers reach the
    threshold, the kernel :func:`compile` would pick for each on ``target`` (default: this CPU;
    the registry's per-layer choice), and an estimated speedup over our dense kernels there:
    answers "why is my pruned model not faster?" before compiling. Where the target has no INT8
    kernels (below AVX2) the estimate is for FP32, as ``compile`` would fall back. Layers are
    named by their ONNX node (the exporter's module path), with the weight's name beside it."""
    from tvm_blocksparse import registry
    from tvm_blocksparse.isa import isa_level
    from tvm_blocksparse.prepare import DTYPES
    from tvm_blocksparse.target import as_target

    fmt.parse_block(block)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    tgt = as_target(target)
    level = isa_level(tgt)
    level_name = level.name if level is not None else "no SIMD level we support"
    if dtype == "int8" and not registry.available("int8_dense", tgt):
        dtype = "fp32"  # what compile() does there
    model = load_onnx(onnx_path)
    layers, seconds, dense_seconds, runs_sparse = [], [], [], []
    rates = registry.cost_table(dtype, block, level, tgt)
    dense = registry.dense_kind(dtype) if dtype == "int8" else "tvm_dense"
    for layer in linear_layers(model):
        w_out_in = layer.w_kn.T
        sp = {
            b: fmt.block_sparsity(w_out_in, b)
            if fmt.block_tiles(w_out_in.shape, b)
            else float("nan")
            for b in INSPECT_BLOCKS
        }
        n, k = w_out_in.shape
        choice = registry.choose_linear_kernel(
            dtype,
            block,
            n,
            k,
            float(np.nan_to_num(sp.get(block, 0.0))),
            threshold,
            tgt,
            sparsity_of=lambda b, sp=sp, w=w_out_in: _block_sparsity_or_none(sp, w, b),
        )
        layers.append(
            LayerInfo(
                layer.name,
                layer.weight_name,
                n,
                k,
                sp,
                bool(np.nan_to_num(sp.get(block, 0.0)) >= threshold),
                choice.kernel,
            )
        )
        runs_sparse.append(choice.spec is not None and choice.spec.block is not None)
        if rates is not None:
            s = choice.block_sparsity if choice.block_sparsity is not None else sp.get(block, 0.0)
            s = float(np.nan_to_num(s)) if choice.spec is not None and choice.spec.block else 0.0
            rate = rates.get(choice.kernel, rates[dense])
            seconds.append(n * k * (1 - s) / rate)
            dense_seconds.append(n * k / rates[dense])
    if not layers:
        raise OnnxImportError(
            "no MatMul/Gemm with a constant float32 2-D weight: not a BERT-like model"
        )
    if rates is not None:
        linear = float(sum(seconds) / sum(dense_seconds))
        basis = (
            f"{level_name} cost model of each layer's chosen kernel (registry.KERNEL_GOPS), "
            f"{_LINEAR_SHARE:.0%} of dense time in Linear layers"
        )
    else:
        flops = np.array([ly.n_out * ly.k_in for ly in layers], float)
        cost = np.array(
            [
                min(1.0, _SPARSE_COST_PER_DENSITY * (1 - np.nan_to_num(ly.sparsity[block])))
                if sparse
                else 1.0
                for ly, sparse in zip(layers, runs_sparse, strict=True)
            ]
        )
        linear = float((flops * cost).sum() / flops.sum())
        basis = (
            f"rough, no cost model for {level_name}: {_LINEAR_SHARE:.0%} of time in Linear "
            f"layers, sparse cost {_SPARSE_COST_PER_DENSITY} x density (measured on VNNI)"
        )
    rel = (1 - _LINEAR_SHARE) + _LINEAR_SHARE * linear
    return InspectReport(layers, block, threshold, 1.0 / rel, level_name, dtype, basis)


def _matches(layer, patterns) -> bool:
    return any(fmt.name_matches(n, patterns) for n in (layer.node_name, layer.weight_name) if n)


def prune(
    onnx_path,
    out_path,
    sparsity: float = 0.9,
    block: str = "4x1",
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
) -> list[str]:
    """Magnitude block pruning of the Linear weights (MatMul/Gemm with a float initializer): the
    ``sparsity`` fraction of ``block`` blocks with the smallest L1 norm become zero. Returns the
    pruned weight names. ``include`` / ``exclude``: ``fnmatch`` patterns (case-insensitive) on a
    layer's node or weight name; a layer is pruned when it matches ``include`` (None: every
    layer) and not ``exclude`` (None: :data:`tvm_blocksparse.format.PRUNE_EXCLUDE_DEFAULT`, the
    pooler and classifier heads; ``[]`` prunes them too). No fine-tuning: a model pruned this
    way is for speed measurements, not for its predictions; :func:`tvm_blocksparse.sparsify_model`
    prunes a transformers directory gradually with distillation and keeps it useful."""
    from onnx import numpy_helper

    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    fmt.parse_block(block)
    exclude = fmt.PRUNE_EXCLUDE_DEFAULT if exclude is None else exclude
    model = load_onnx(onnx_path)
    model = onnx.ModelProto.FromString(model.SerializeToString())
    weights = {
        layer.weight_name: (layer.w_kn, layer.stored_transposed)
        for layer in linear_layers(model)
        if (include is None or _matches(layer, include)) and not _matches(layer, exclude)
    }
    pruned = []
    for t in model.graph.initializer:
        if t.name not in weights:
            continue
        w_kn, stored_nk = weights[t.name]
        w_out_in = w_kn.T  # ONNX MatMul weights are [K_in, N_out]
        if not fmt.block_tiles(w_out_in.shape, block):
            continue
        w_out_in = fmt.prune_blocks(w_out_in, sparsity, block)
        w_new = np.ascontiguousarray(w_out_in if stored_nk else w_out_in.T).astype(np.float32)
        t.CopyFrom(numpy_helper.from_array(w_new, t.name))
        pruned.append(t.name)
    if not weights:
        raise OnnxImportError(
            f"no Linear weight matched the include/exclude patterns {include} / {exclude}: "
            "nothing pruned"
        )
    if not pruned:
        raise OnnxImportError(f"no Linear weight divisible into {block} blocks: nothing pruned")
    onnx.save(model, os.fspath(out_path))
    return pruned


__all__ = ["CompiledModel", "InspectReport", "compile", "graph_inputs", "inspect", "load", "prune"]
