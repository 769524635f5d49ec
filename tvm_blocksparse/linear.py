"""Build one of our kernels for one weight and run it on numpy arrays.

This is the kernel-level API used by the tests and ``bench/spmm.py``; the Relax pass uses the same
weight preparation functions and PrimFunc generators.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tvm
from tvm.s_tir import Schedule

from tvm_blocksparse import format as fmt
from tvm_blocksparse.op import bsr_fp32_1x16
from tvm_blocksparse.op import bsr_int8_4x1
from tvm_blocksparse.op.epilogue import Epilogue
from tvm_blocksparse.op import out_lane
from tvm_blocksparse.op import quantize
from tvm_blocksparse.schedules import (
    schedule_bsr_dense_fp32_1x16,
    schedule_bsr_dense_int8_4x1,
    schedule_out_lane_kernel,
    schedule_quantize_transpose_u8,
)
from tvm_blocksparse.isa import AVX512_VNNI, check_host_can_run, target_has
from tvm_blocksparse.target import host_target

KERNELS = ("int8_4x1", "int8_16x4", "int8_dense", "fp32_1x16")


class CompiledKernel:
    """A scheduled, compiled PrimFunc called with named numpy arrays; the last parameter is the
    output."""

    def __init__(self, func: tvm.tirx.PrimFunc, schedule: Callable[[Schedule], Schedule], target=None):
        self.target = target or host_target()
        sch = Schedule(func)
        schedule(sch)
        self.scheduled = sch.mod
        self.param_names = [p.name for p in func.params]
        # a symbolic dimension (the 4x1 kernel's group count) is None: any size binds
        self.param_specs = [(tuple(int(d) if isinstance(d, tvm.tirx.IntImm) else None for d in p.shape), str(p.dtype))
                            for p in func.params]
        self.module = tvm.compile(sch.mod, target=self.target).mod
        self.device = tvm.cpu()

    def bind(self, arrays: dict[str, np.ndarray]) -> list:
        """Device tensors for every parameter (the output is allocated); checks names/shapes, and
        that this CPU can run the code (``RuntimeError`` instead of an illegal instruction).

        Keys that are not parameters of this kernel are ignored, so callers can pass every array
        an epilogue might use."""
        check_host_can_run(self.target, "this kernel")
        missing = [n for n in self.param_names[:-1] if n not in arrays]
        if missing:
            raise ValueError(f"missing kernel inputs {missing}; expected {self.param_names[:-1]}")
        out = []
        for name, (shape, dtype) in zip(self.param_names, self.param_specs, strict=True):
            if name == self.param_names[-1]:
                out.append(tvm.runtime.empty(shape, dtype, self.device))
                continue
            a = np.ascontiguousarray(arrays[name])
            if len(a.shape) != len(shape) or any(d is not None and d != ad for d, ad in zip(shape, a.shape)) \
                    or str(a.dtype) != dtype:
                raise ValueError(f"input {name}: expected {shape} {dtype}, got {a.shape} {a.dtype}")
            out.append(tvm.runtime.tensor(a, self.device))
        return out

    def __call__(self, **arrays: np.ndarray) -> np.ndarray:
        args = self.bind(arrays)
        self.module["main"](*args)
        return args[-1].numpy()

    def time_ms(self, args: list, number: int = 20, repeat: int = 30) -> np.ndarray:
        """Per-call milliseconds of ``repeat`` measurements (each the mean of ``number`` calls)."""
        timer = self.module.time_evaluator("main", self.device, number=number, repeat=repeat)
        return np.asarray(timer(*args).results) * 1e3

    def asm(self) -> str:
        return self.module.inspect_source("asm")


# ----------------------------------------------------------------------------- weight preparation


def int8_4x1_weight_arrays(weight_q: fmt.WeightQuant, m: int) -> dict[str, np.ndarray]:
    """The 4x1 kernel's weight arrays for ``M`` tokens (its ``XT`` row offsets depend on ``M``)."""
    grouped = fmt.to_vnni_grouped_4x1(weight_q.q)
    data, cols = grouped.data, grouped.cols
    if grouped.num_groups == 0:  # an all-zero weight still needs non-empty buffers
        data, cols = np.zeros((1, 4, 4), np.int8), np.zeros((1, 4), np.int32)
    return {"w_data": data, "w_xt_offsets": bsr_int8_4x1.xt_row_offsets(cols, m), "w_group_ptr": grouped.group_ptr,
            "w_scale": weight_q.scale, "w_row_sum": weight_q.row_sum}  # fmt: skip


def _out_lane_arrays(bsr: fmt.BSRWeight) -> tuple[np.ndarray, np.ndarray]:
    data, indices = bsr.data, bsr.indices
    if bsr.nnzb == 0:
        data = np.zeros((1, *bsr.block), bsr.data.dtype)
        indices = np.zeros(1, np.int32)
    return data, indices


def int8_16x4_weight_arrays(weight_q: fmt.WeightQuant) -> dict[str, np.ndarray]:
    bsr = fmt.to_bsr(weight_q.q, (16, 4))
    data, indices = _out_lane_arrays(bsr)
    return {"w_data": data, "w_indices": indices, "w_indptr": bsr.indptr,
            "w_scale": weight_q.scale, "w_row_sum": weight_q.row_sum}  # fmt: skip


def int8_dense_weight_arrays(weight_q: fmt.WeightQuant) -> dict[str, np.ndarray]:
    n, k = weight_q.q.shape
    packed = fmt.pack_dense_vnni(weight_q.q)
    return {"w_data": packed.reshape(-1, 16, 4),
            "w_indices": np.tile(np.arange(k // 4, dtype=np.int32), n // 16),
            "w_indptr": (np.arange(n // 16 + 1) * (k // 4)).astype(np.int32),
            "w_scale": weight_q.scale, "w_row_sum": weight_q.row_sum}  # fmt: skip


def fp32_1x16_weight_arrays(weight: np.ndarray) -> dict[str, np.ndarray]:
    bsr = fmt.to_bsr(np.asarray(weight, np.float32), "1x16")
    data, indices = _out_lane_arrays(bsr)
    return {"w_data": data[:, :, 0], "w_indices": indices, "w_indptr": bsr.indptr}


# ----------------------------------------------------------------------------- kernels for one weight


def prepare_linear(
    kind: str,
    weight: np.ndarray,
    m: int,
    epilogue: Epilogue | None = None,
    token_tile: int | None = None,
    shared_groups: bool = False,
) -> tuple[tvm.tirx.PrimFunc, Callable[[Schedule], Schedule], dict[str, np.ndarray]]:
    """The PrimFunc, its schedule function and the weight arrays of ``kind`` for ``W[N_out, K_in]``.

    One place for both users: :func:`build_linear` (kernel API, benchmarks) and the Relax
    ``SparsifyDense`` pass. INT8 kinds take an int8 ``W`` (already quantized, scale 1) or a
    float ``W`` (quantized per channel here). ``shared_groups``: see :func:`kernel_func` (the
    pass sets it). Raises ``ValueError`` for a shape the kernel can't take."""
    if kind not in KERNELS:
        raise ValueError(f"unknown kernel {kind=}; choose one of {KERNELS}")
    n, k = weight.shape
    if kind.startswith("int8"):
        epilogue = epilogue or Epilogue("int32")
        if weight.dtype == np.int8:
            q = weight
            weight_q = fmt.WeightQuant(q, np.ones(n, np.float32), q.sum(axis=1, dtype=np.int32))
        else:
            weight_q = fmt.quantize_weight_per_channel(weight)
    else:
        epilogue = epilogue or Epilogue("float32")

    if kind == "int8_4x1":
        arrays = int8_4x1_weight_arrays(weight_q, m)
    elif kind == "int8_16x4":
        arrays = int8_16x4_weight_arrays(weight_q)
    elif kind == "int8_dense":
        arrays = int8_dense_weight_arrays(weight_q)
    else:
        arrays = fp32_1x16_weight_arrays(weight)
    blocks = shared_num_blocks(kind, arrays) if shared_groups else num_blocks(kind, arrays)
    func = kernel_func(kind, m, n, k, blocks, epilogue, token_tile or default_token_tile(kind, m))
    return func, KERNEL_SCHEDULES[kind], arrays


#: Register-tile token counts each kernel can be generated with (a compute argument: it sets the
#: accumulator tile's shape). The tuner tries each; the default is :func:`default_token_tile`.
TOKEN_TILES = {"int8_4x1": (16, 32, 48, 64), "int8_16x4": (4, 8, 12, 15), "int8_dense": (4, 8, 12, 15),
               "fp32_1x16": (4, 8, 12, 15, bsr_fp32_1x16.FP32_STAGED_TILE)}
KERNEL_SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "int8_4x1": schedule_bsr_dense_int8_4x1, "int8_16x4": schedule_out_lane_kernel,
    "int8_dense": schedule_out_lane_kernel, "fp32_1x16": schedule_bsr_dense_fp32_1x16,
}


def default_token_tile(kind: str, m: int) -> int:
    if kind == "int8_4x1":
        return bsr_int8_4x1.default_token_tile_4x1(m)
    return bsr_fp32_1x16.FP32_STAGED_TILE if kind == "fp32_1x16" else 12


def num_blocks(kind: str, arrays: dict[str, np.ndarray]) -> int:
    """The weight's stored block count: 4x1 VNNI groups, or BSR blocks (shapes the PrimFunc)."""
    return int(arrays["w_xt_offsets"].shape[0] if kind == "int8_4x1" else arrays["w_indices"].shape[0])


def shared_num_blocks(kind: str, arrays: dict[str, np.ndarray]) -> int | None:
    """Block count a model's kernel is built for: None (symbolic) for 4x1, so its layers of one
    shape and epilogue share one PrimFunc; the stored count for the other kinds."""
    return None if kind == "int8_4x1" else num_blocks(kind, arrays)


def kernel_func(kind: str, m: int, n: int, k: int, blocks: int | None, epilogue: Epilogue,
                token_tile: int, token_chunk: int | None | str = "default") -> tvm.tirx.PrimFunc:
    """The unscheduled PrimFunc of ``kind`` for ``W[N_out, K_in]`` stored in ``blocks`` blocks
    (4x1: None makes the group count a symbolic dimension, so one PrimFunc serves every weight
    of this shape and epilogue: a model compiles one kernel per layer shape, not per layer).
    ``token_tile`` 16 of ``fp32_1x16`` is the staged kernel
    (:func:`bsr_fp32_1x16.bsr_dense_fp32_1x16_staged`), whose ``token_chunk`` 1 or "default" walks
    token tiles outermost and None block rows outermost; other tiles read ``X`` directly.
    ``token_chunk`` (4x1): see :func:`bsr_int8_4x1.bsr_dense_int8_4x1`; "default" picks
    :func:`bsr_int8_4x1.default_token_chunk_4x1` and :func:`bsr_int8_4x1.default_row_groups_4x1` for the
    threads of the enclosing target (``num-cores``; 1 outside a target scope). An explicit
    chunk (a tuned variant) keeps one row group. Either way, 64-token tiles with a token-major
    output stage whole output lines (:func:`bsr_int8_4x1.default_stage_lines_4x1`) or else compute 2
    block rows per task (:func:`bsr_int8_4x1.default_rows_per_task_4x1`)."""
    if kind == "int8_4x1":
        row_groups = 1
        if token_chunk == "default":
            token_chunk = bsr_int8_4x1.default_token_chunk_4x1(m, k, token_tile)
            target = tvm.target.Target.current(allow_none=True)
            threads = int(target.attrs.get("num-cores", 1)) if target is not None else 1
            row_groups = bsr_int8_4x1.default_row_groups_4x1(n, token_chunk, threads)
        stage_lines = bsr_int8_4x1.default_stage_lines_4x1(n, token_tile, epilogue, row_groups)
        rows_per_task = 1 if stage_lines else bsr_int8_4x1.default_rows_per_task_4x1(n, token_tile, epilogue, row_groups)
        return bsr_int8_4x1.bsr_dense_int8_4x1(m, n, k, blocks, epilogue, token_tile, token_chunk, row_groups,
                                          rows_per_task, stage_lines)
    if blocks is None:
        raise ValueError(f"kernel {kind} needs its block count (only int8_4x1 takes a symbolic one)")
    if kind == "int8_16x4":
        return out_lane.bsr_dense_int8_16x4(m, n, k, blocks, epilogue, token_tile)
    if kind == "int8_dense":
        return out_lane.dense_int8(m, n, k, epilogue, token_tile)
    if kind == "fp32_1x16":
        if token_tile == bsr_fp32_1x16.FP32_STAGED_TILE:
            return bsr_fp32_1x16.bsr_dense_fp32_1x16_staged(m, n, k, blocks, epilogue,
                                                      tiles_outer=token_chunk in ("default", 1))
        return bsr_fp32_1x16.bsr_dense_fp32_1x16(m, n, k, blocks, epilogue, token_tile)
    raise ValueError(f"unknown kernel {kind=}; choose one of {KERNELS}")


def build_linear(
    kind: str,
    weight: np.ndarray,
    m: int,
    epilogue: Epilogue | None = None,
    token_tile: int | None = None,
    target=None,
) -> tuple[CompiledKernel, dict[str, np.ndarray]]:
    """Compile ``kind`` for ``W[N_out, K_in]`` and ``M`` tokens; return it and its weight arrays
    (see :func:`prepare_linear`). Raises ``RuntimeError`` for an INT8 kind on a target without
    AVX-512 VNNI."""
    target = target or host_target()
    if kind.startswith("int8") and not target_has(AVX512_VNNI, target):
        raise RuntimeError(f"INT8 kernel {kind} needs AVX-512 VNNI; target {target} lacks it (use fp32_1x16)")
    func, schedule, arrays = prepare_linear(kind, weight, m, epilogue, token_tile)
    return CompiledKernel(func, schedule, target), arrays


def build_quantize_transpose(m: int, k: int, target=None) -> CompiledKernel:
    """``X f32[M, K]`` -> ``XT u8[K, Mp]`` for the 4x1 kernel."""
    return CompiledKernel(quantize.quantize_transpose_u8(m, k), schedule_quantize_transpose_u8, target)


def transpose_pad_u8(x_u8: np.ndarray) -> np.ndarray:
    """numpy twin of the 4x1 kernel's activation layout: ``XT[K, Mp]``, zero padded tokens."""
    m, k = x_u8.shape
    xt = np.zeros((k, quantize.padded_tokens(m)), np.uint8)
    xt[:, :m] = x_u8.T
    return xt
