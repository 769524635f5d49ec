"""Schedules of the block-sparse and dense INT8/FP32 kernels of :mod:`tvm_blocksparse.op`.

The kernels already carry their tile structure (the token tile is a compute argument because the
register tile's size decides the buffer shapes); a schedule tensorizes the ``dot`` block onto our
intrinsic and fully unrolls every loop inside the parallel tile loop, so the accumulators are
addressed with constants and LLVM keeps them in zmm registers.
"""

from __future__ import annotations

from tvm.s_tir import Schedule

from tvm_blocksparse.isa.avx2 import AVX2_TOKEN8_W4_INTRIN
from tvm_blocksparse.isa.avx512 import VNNI_OUT16_X4_INTRIN, VNNI_TOKEN16_W4_INTRIN
from tvm_blocksparse.isa.avx_vnni import AVX_VNNI_TOKEN8_W4_INTRIN
from tvm_blocksparse.isa.common import FMA_OUT16_F32_INTRIN
from tvm_blocksparse.op.bsr_int8_4x1 import KEEP_LOOP


def _block_names(sch: Schedule) -> list[str]:
    """Names of the SBlocks inside the kernel's ``tile`` block, in order."""
    names, todo = [], list(sch.get_child_blocks(sch.get_sblock("tile")))
    while todo:
        block = todo.pop(0)
        names.append(sch.get(block).name_hint)
        todo.extend(sch.get_child_blocks(block))
    return names


def _has_block(sch: Schedule, block_name: str) -> bool:
    try:
        sch.get_sblock(block_name)
    except Exception:
        return False
    return True


def _unroll_inner(sch: Schedule, block_name: str, keep_outer: int = 1) -> None:
    """Unroll every loop of ``block_name`` but the first ``keep_outer`` (the parallel loop...)."""
    if not _has_block(
        sch, block_name
    ):  # e.g. the epilogue block exists only for dequantizing epilogues
        return
    for loop in sch.get_loops(sch.get_sblock(block_name))[keep_outer:]:
        if KEEP_LOOP not in sch.get(loop).annotations:  # a loop whose count grows with the tokens
            sch.unroll(loop)


def split_parallel_tiles(sch: Schedule, factors) -> None:
    """Split the kernels' parallel (block row x token tile) loop into ``factors`` = [outer, inner]
    (ints or MetaSchedule sampled RVs) and run only the outer loop in parallel: each parallel task
    then runs ``inner`` consecutive tiles (the MetaSchedule knob "parallel split")."""
    if factors is None:
        return
    outer, _ = sch.split(sch.get_loops(sch.get_sblock("tile"))[0], factors)
    sch.parallel(outer)


def schedule_bsr_dense_int8_4x1(
    sch: Schedule, unroll: bool = True, parallel_split=None, intrin: str = VNNI_TOKEN16_W4_INTRIN
) -> Schedule:
    """Tensorize the 4x1 kernel's ``dot`` (one vector of tokens x 4 inputs, one output channel)
    with ``intrin`` on a broadcast weight dword (``vpdpbusd`` zmm by default; the 8-token
    intrinsics of :mod:`tvm_blocksparse.isa.avx2` / ``avx_vnni`` for 8-lane kernels); unroll the
    4-channel x token-tile register tile. ``parallel_split``: see :func:`split_parallel_tiles`
    (None: one tile per parallel task)."""
    split_parallel_tiles(sch, parallel_split)
    # a 64-token tile has "dot" and "dot_hi" (two accumulator halves), and so on for every block
    # row a task computes ("dot_r1", "dot_hi_r1", ...)
    names = _block_names(sch)
    for name in (n for n in names if n.startswith("dot")):
        tv, r, t, _ = sch.get_loops(sch.get_sblock(name))[-4:]
        sch.tensorize(t, intrin)
        if unroll:
            sch.unroll(tv)
            sch.unroll(r)
    if unroll:
        for name in names:
            if name.startswith("pack"):
                _unroll_inner(sch, name, keep_outer=2)  # (parallel, group) stay loops
            elif name.startswith(("init", "epilogue", "transpose", "store", "stage")):
                _unroll_inner(sch, name)
    return sch


def schedule_bsr_dense_int8_4x1_avx2(sch: Schedule, unroll: bool = True, parallel_split=None):
    """The 8-lane 4x1 kernel on AVX2: ``vpmaddubsw`` + ``vpmaddwd`` + ``vpaddd`` per dot step."""
    return schedule_bsr_dense_int8_4x1(sch, unroll, parallel_split, AVX2_TOKEN8_W4_INTRIN)


def schedule_bsr_dense_int8_4x1_avx_vnni(sch: Schedule, unroll: bool = True, parallel_split=None):
    """The 8-lane 4x1 kernel on AVX-VNNI: one VEX ``vpdpbusd`` ymm per dot step."""
    return schedule_bsr_dense_int8_4x1(sch, unroll, parallel_split, AVX_VNNI_TOKEN8_W4_INTRIN)


def schedule_out_lane_kernel(sch: Schedule, unroll: bool = True, parallel_split=None) -> Schedule:
    """Tensorize the 16x4 INT8 / dense INT8 / 1x16 FP32 kernels: one 16-lane accumulator per token,
    one weight vector per block reused across the token tile. ``parallel_split``: see
    :func:`split_parallel_tiles`."""
    split_parallel_tiles(sch, parallel_split)
    dot = sch.get_sblock("dot")
    if str(sch.get(dot).writes[0].source.dtype) == "int32":
        t, j, _ = sch.get_loops(dot)[-3:]
        sch.tensorize(j, VNNI_OUT16_X4_INTRIN)
    else:
        t, j = sch.get_loops(dot)[-2:]
        sch.tensorize(j, FMA_OUT16_F32_INTRIN)
    if unroll:
        sch.unroll(t)
        _unroll_inner(sch, "init")
        _unroll_inner(sch, "store")
    return sch


def schedule_bsr_dense_fp32_1x16(
    sch: Schedule, unroll: bool = True, parallel_split=None
) -> Schedule:
    """FP32 1x16 kernel: the staged form (16-token tile in two 8-token halves, ``dot`` and
    ``dot_hi``) or the direct one (:func:`schedule_out_lane_kernel`); both tensorize onto
    ``vfmadd231ps`` with an embedded activation broadcast and unroll the register tile."""
    if not _has_block(sch, "dot_hi"):
        return schedule_out_lane_kernel(sch, unroll, parallel_split)
    split_parallel_tiles(sch, parallel_split)
    for name in ("dot", "dot_hi"):
        t, j = sch.get_loops(sch.get_sblock(name))[-2:]
        sch.tensorize(j, FMA_OUT16_F32_INTRIN)
        if unroll:
            sch.unroll(t)
    if unroll:
        _unroll_inner(sch, "init")
        _unroll_inner(sch, "store")
    return sch


def schedule_bsr_dense_fp32_4x1(sch: Schedule, unroll: bool = True, parallel_split=None):
    """FP32 4x1 kernel: written vectorized and unrolled in TVMScript (8-lane FMAs over tokens);
    only the parallel split is a knob. ``unroll`` is accepted for the common signature."""
    split_parallel_tiles(sch, parallel_split)
    return sch


def schedule_dense_int8_amx(sch: Schedule, unroll: bool = True, parallel_split=None) -> Schedule:
    """AMX dense INT8 kernel: written with tile intrinsics and ``vpdpbusd`` vectors in TVMScript;
    only the parallel split is a knob. ``unroll`` is accepted for the common signature."""
    split_parallel_tiles(sch, parallel_split)
    return sch


def schedule_quantize_transpose_u8(sch: Schedule, tokens_per_vector: int = 16) -> Schedule:
    """Plain form (K % 16 != 0): parallel over input channels, vectorized over tokens. The
    tiled form is written scheduled (16 x 16 tile transposes) and needs nothing here."""
    try:
        block = sch.get_sblock("quantize")
    except Exception:  # the tiled kernel has no "quantize" block
        return sch
    k, m = sch.get_loops(block)
    sch.parallel(k)
    _, mi = sch.split(m, [None, tokens_per_vector])
    sch.vectorize(mi)
    return sch
