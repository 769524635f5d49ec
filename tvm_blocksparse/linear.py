"""Build one of our kernels for one weight and run it on numpy arrays.

This is the kernel-level API used by the tests and ``bench/spmm.py``; the kernels, their weight
preparation and their defaults come from :mod:`tvm_blocksparse.registry`, as in the Relax pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tvm
from tvm.s_tir import Schedule

from tvm_blocksparse import registry
from tvm_blocksparse.isa import check_host_can_run
from tvm_blocksparse.op import quantize
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.schedules import schedule_quantize_transpose_u8
from tvm_blocksparse.target import host_target
from tvm_blocksparse.tvm_setup import ensure_tvm_setup

ensure_tvm_setup()


#: Parameters a kernel writes besides its last one (``Y``): the per-token parameters of a
#: dynamically requantized output (``Epilogue.dynamic_requant``), the tokens' range parts
#: (``Epilogue.token_ranges``).
EXTRA_OUTPUTS = ("y_scale", "y_zp", "y_min", "y_max")


class CompiledKernel:
    """A scheduled, compiled PrimFunc called with named numpy arrays; the last parameter is the
    output (and :data:`EXTRA_OUTPUTS`, where the kernel has them)."""

    def __init__(
        self, func: tvm.tirx.PrimFunc, schedule: Callable[[Schedule], Schedule], target=None
    ):
        self.target = target or host_target()
        sch = Schedule(func)
        schedule(sch)
        self.scheduled = sch.mod
        self.param_names = [p.name for p in func.params]
        self.output_names = [
            self.param_names[-1],
            *(n for n in EXTRA_OUTPUTS if n in self.param_names),
        ]
        # a symbolic dimension (the 4x1 kernel's group count) is None: any size binds
        self.param_specs = [
            (
                tuple(int(d) if isinstance(d, tvm.tirx.IntImm) else None for d in p.shape),
                str(p.dtype),
            )
            for p in func.params
        ]
        self.module = tvm.compile(sch.mod, target=self.target).mod
        self.device = tvm.cpu()

    def bind(self, arrays: dict[str, np.ndarray]) -> list:
        """Device tensors for every parameter (the output is allocated); checks names/shapes, and
        that this CPU can run the code (``RuntimeError`` instead of an illegal instruction).

        Keys that are not parameters of this kernel are ignored, so callers can pass every array
        an epilogue might use."""
        check_host_can_run(self.target, "this kernel")
        inputs = [n for n in self.param_names if n not in self.output_names]
        missing = [n for n in inputs if n not in arrays]
        if missing:
            raise ValueError(f"missing kernel inputs {missing}; expected {inputs}")
        out = []
        for name, (shape, dtype) in zip(self.param_names, self.param_specs, strict=True):
            if name in self.output_names:
                out.append(tvm.runtime.empty(shape, dtype, self.device))
                continue
            a = np.ascontiguousarray(arrays[name])
            if (
                len(a.shape) != len(shape)
                or any(d is not None and d != ad for d, ad in zip(shape, a.shape))
                or str(a.dtype) != dtype
            ):
                raise ValueError(f"input {name}: expected {shape} {dtype}, got {a.shape} {a.dtype}")
            out.append(tvm.runtime.tensor(a, self.device))
        return out

    def __call__(self, **arrays: np.ndarray) -> np.ndarray:
        return self.outputs(**arrays)[self.param_names[-1]]

    def outputs(self, **arrays: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of one call, by parameter name."""
        args = self.bind(arrays)
        self.module["main"](*args)
        return {
            name: a.numpy()
            for name, a in zip(self.param_names, args, strict=True)
            if name in self.output_names
        }

    def time_ms(self, args: list, number: int = 20, repeat: int = 30) -> np.ndarray:
        """Per-call milliseconds of ``repeat`` measurements (each the mean of ``number`` calls)."""
        timer = self.module.time_evaluator("main", self.device, number=number, repeat=repeat)
        return np.asarray(timer(*args).results) * 1e3

    def asm(self) -> str:
        return self.module.inspect_source("asm")


# ----------------------------------------------------------------------------- kernels for one
# weight


def threads_of_current_target() -> int:
    """``num-cores`` of the enclosing ``with Target(...)`` (1 outside one): the 4x1 default walks
    one block-row group per thread."""
    target = tvm.target.Target.current(allow_none=True)
    return int(target.attrs.get("num-cores", 1)) if target is not None else 1


def kernel_config(
    kind: str,
    m: int,
    n: int,
    k: int,
    epilogue: Epilogue,
    token_tile: int | None = None,
    target=None,
):
    """The default config of ``kind`` (at ``target``'s level, else the enclosing target's) for
    this shape (threads: the enclosing target's), with ``token_tile`` imposed when given."""
    return registry.lookup(kind, target).default_config(
        m, n, k, epilogue, threads=threads_of_current_target(), token_tile=token_tile
    )


def prepare_linear(
    kind: str,
    weight: np.ndarray,
    m: int,
    epilogue: Epilogue | None = None,
    token_tile: int | None = None,
    shared_groups: bool = False,
    config=None,
    target=None,
) -> tuple[tvm.tirx.PrimFunc, Callable[[Schedule], Schedule], dict[str, np.ndarray]]:
    """The PrimFunc, its schedule function and the weight arrays of ``kind`` for ``W[N_out, K_in]``
    and ``M`` tokens (:meth:`~tvm_blocksparse.registry.KernelSpec.prepare_weight` says which
    weights it takes). ``config``: the kernel's config dataclass, else its default (``token_tile``
    imposed when given). ``shared_groups``: build for a symbolic block count where the kernel
    allows it (what the pass does). ``target``: whose ISA level's kernel (None: the enclosing
    target's, else the best registered). Raises ``ValueError`` for a shape the kernel can't take."""
    spec = registry.lookup(kind, target)
    n, k = weight.shape
    epilogue = epilogue or Epilogue("int32" if spec.int8 else "float32")
    arrays = spec.prepare_weight(weight, m)
    blocks = spec.shared_blocks(arrays) if shared_groups else spec.block_count(arrays)
    config = config or kernel_config(kind, m, n, k, epilogue, token_tile, target)
    return spec.build(m, n, k, blocks, epilogue, config), spec.schedule, arrays


def build_linear(
    kind: str,
    weight: np.ndarray,
    m: int,
    epilogue: Epilogue | None = None,
    token_tile: int | None = None,
    target=None,
    config=None,
) -> tuple[CompiledKernel, dict[str, np.ndarray]]:
    """Compile ``kind`` for ``W[N_out, K_in]`` and ``M`` tokens; return it and its weight arrays
    (see :func:`prepare_linear`). Raises ``RuntimeError`` when ``target`` has no ISA level the
    kernel is registered at."""
    target = target or host_target()
    func, schedule, arrays = prepare_linear(
        kind, weight, m, epilogue, token_tile, config=config, target=target
    )
    return CompiledKernel(func, schedule, target), arrays


def build_quantize_transpose(m: int, k: int, target=None) -> CompiledKernel:
    """``X f32[M, K]`` -> ``XT u8[K, Mp]`` for the 4x1 kernel."""
    from tvm_blocksparse.isa import AVX512_VNNI, target_has

    target = target or host_target()
    avx512 = target_has(AVX512_VNNI, target)
    return CompiledKernel(
        quantize.quantize_transpose_u8(m, k, avx512), schedule_quantize_transpose_u8, target
    )


def transpose_pad_u8(x_u8: np.ndarray) -> np.ndarray:
    """numpy twin of the 4x1 kernel's activation layout: ``XT[K, Mp]``, zero padded tokens."""
    m, k = x_u8.shape
    xt = np.zeros((k, quantize.padded_tokens(m)), np.uint8)
    xt[:, :m] = x_u8.T
    return xt
