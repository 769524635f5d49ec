"""Dense INT8 Linear on AMX tiles (``tdpbusd``, Sapphire Rapids and later), with an AVX-512 VNNI
path for CPUs or processes without the tile state.

Same layout contract as our VNNI dense INT8 kernel (:func:`tvm_blocksparse.op.out_lane.dense_int8`),
so the two are interchangeable: ``X u8[M, K]`` row-major, ``w_data s8[N/16 * K/4, 16, 4]`` (block
row ``r`` = output channels ``16 r .. 16 r + 15``, its ``K/4`` blocks in input order, each 16
channels x 4 consecutive inputs). Those 64-byte blocks are exactly the rows of an AMX ``B`` tile:
16 consecutive blocks of a block row are one ``B`` operand (64 inputs x 16 outputs), 16 rows of
``X`` x 64 bytes one ``A`` operand, and one ``tdpbusd`` does 16 x 16 x 64 multiply-adds.

A task is ``rows`` x 16 tokens by ``cols`` x 16 output channels (``rows`` A tiles, ``cols`` B tiles,
``rows x cols`` accumulator tiles: at most 8 tiles). It accumulates every 64-input chunk on
tiles, stores them to a scratch, adds the ``K % 64`` tail with ``vpdpbusd`` and runs the common
output-lane epilogue per token (dequantization with per-token parameters, bias, GELU, residual,
requantization). Partial token blocks (``M`` not a multiple of ``rows x 16``) and processes that
Linux refuses the tile state take the ``vpdpbusd`` path for the whole task: same integers.
"""

from __future__ import annotations

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.isa import amx as amx_ops
from tvm_blocksparse.isa.avx512 import broadcast_4_bytes, vpdpbusd
from tvm_blocksparse.op.epilogue import (
    Epilogue,
    ceil_div,
    drop_unused_params,
    epilogue_inputs,
    out_lane_epilogue,
    store_lanes,
    whole_regions,
)
from tvm_blocksparse.op.quantize import padded_tokens

#: Inputs per tile step: one 64-byte tile row of ``A`` (16 rows of ``B``, 4 inputs each).
K_STEP = 64


def dense_int8_amx(
    m: int, n: int, k: int, epilogue: Epilogue = Epilogue("int32"), rows: int = 2, cols: int = 2
) -> tvm.tirx.PrimFunc:
    """``Y[M, N] = epilogue(X u8[M, K] . W s8[N, K]^T)`` on AMX tiles, ``rows`` x 16 tokens by
    ``cols`` x 16 output channels per task (``rows, cols`` in 1..2; ``N % (16 cols) == 0``).
    Parameters as :func:`tvm_blocksparse.op.out_lane.dense_int8` without the (dense, implied)
    block indices."""
    epilogue.validate(int8_kernel=True)
    if n % 16 or k % 4:
        raise ValueError(f"dense INT8 needs N_out % 16 == 0 and K_in % 4 == 0, got {n=}, {k=}")
    if rows not in (1, 2) or cols not in (1, 2) or n % (16 * cols):
        raise ValueError(
            f"AMX task of {rows=} x {cols=} tiles of 16 needs N_out % {16 * cols} == 0"
        )
    tm, tn = rows * 16, cols * 16
    m_tasks, n_tasks = ceil_div(m, tm), n // tn
    quads = k // 4  # 4-input blocks per block row
    steps = k // K_STEP
    tail_q = steps * (K_STEP // 4)  # first block the vpdpbusd tail adds
    mp = padded_tokens(m)
    ep = epilogue
    tile_a, tile_b, tile_c = 0, rows, rows + cols  # tile register numbers

    @T.macro
    def vnni_blocks(acc, X, w_data, vm, vn, q_begin):
        """``acc += X[task rows, 4q : 4q + 4] . block q`` for ``q`` in ``q_begin .. K/4``; rows
        past ``M`` repeat the last token (their results are not stored)."""
        for i, j in T.grid(rows, cols):
            for q in range(q_begin, quads):
                for t in T.unroll(16):
                    acc[i * 16 + t, T.ramp(j * 16, 1, 16)] = vpdpbusd(
                        acc[i * 16 + t, T.ramp(j * 16, 1, 16)],
                        broadcast_4_bytes(
                            X.vload([T.min(vm * tm + i * 16 + t, m - 1), q * 4], dtype="uint8x4")
                        ),
                        w_data.vload([(vn * cols + j) * quads + q, 0, 0], dtype="int8x64"),
                    )

    @T.macro
    def store(acc, vm, vn, x_scale, x_zp, w_scale, w_row_sum, bias, residual, out_scale, out_zp, Y):
        for t, j in T.grid(tm, cols):
            if vm * tm + t < m:
                Y[vm * tm + t, T.ramp(vn * tn + j * 16, 1, 16)] = store_lanes(
                    out_lane_epilogue(
                        acc[t, T.ramp(j * 16, 1, 16)],
                        vm * tm + t,
                        vn * tn + j * 16,
                        True,
                        x_scale,
                        x_zp,
                        w_scale,
                        w_row_sum,
                        bias,
                        ep,
                    ),
                    vm * tm + t,
                    vn * tn + j * 16,
                    16,
                    residual,
                    out_scale,
                    out_zp,
                    ep,
                    requant=ep.requant,
                )

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "uint8"),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
        w_data: T.Buffer((n // 16 * quads, 16, 4), "int8"),
        w_scale: T.Buffer((n,), "float32"),
        w_row_sum: T.Buffer((n,), "int32"),
        bias: T.Buffer((n,), "float32"),
        residual: T.Buffer((m, n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        Y: T.Buffer((m, n), ep.out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            # asked once per call: after the first grant Linux answers from a flag
            granted = T.sblock_alloc_buffer((1,), "int64")
            with T.sblock("request_tiles"):
                T.reads()
                T.writes(granted[0])
                granted[0] = amx_ops.request_tiles()
            for p in T.parallel(n_tasks):
                with T.sblock("tile"):
                    vn = T.axis.spatial(n_tasks, p)
                    T.reads(
                        whole_regions(
                            granted,
                            X,
                            w_data,
                            *epilogue_inputs(
                                ep,
                                True,
                                x_scale,
                                x_zp,
                                w_scale,
                                w_row_sum,
                                bias,
                                residual,
                                out_scale,
                                out_zp,
                            ),
                        )
                    )
                    T.writes(whole_regions(Y))
                    acc = T.alloc_buffer((tm, tn), "int32")
                    cfg = T.alloc_buffer(
                        (64,), "uint8"
                    )  # palette 1: colsb u16 at 16 + 2t, rows at 48 + t
                    if granted[0] == T.int64(0) and steps > 0:
                        amx_ops.fill_tile_config(cfg, tile_c + rows * cols)
                        amx_ops.amx_op("ldtilecfg", T.address_of(cfg[0]))
                    for vm in range(m_tasks):  # the task's weights stay in L1 across token blocks
                        if granted[0] == T.int64(0) and steps > 0 and vm * tm + tm <= m:
                            for c in T.unroll(rows * cols):
                                amx_ops.tile_zero(tile_c + c)
                            for s in range(steps):
                                for i in T.unroll(rows):
                                    amx_ops.tile_load(
                                        tile_a + i, T.address_of(X[vm * tm + i * 16, s * K_STEP]), k
                                    )
                                for j in T.unroll(cols):
                                    amx_ops.tile_load(
                                        tile_b + j,
                                        T.address_of(
                                            w_data[
                                                (vn * cols + j) * quads + s * (K_STEP // 4), 0, 0
                                            ]
                                        ),
                                        64,
                                    )
                                for i in T.unroll(rows):
                                    for j in T.unroll(cols):
                                        amx_ops.tile_dpbusd(
                                            tile_c + i * cols + j, tile_a + i, tile_b + j
                                        )
                            for i in T.unroll(rows):
                                for j in T.unroll(cols):
                                    amx_ops.tile_store(
                                        tile_c + i * cols + j,
                                        T.address_of(acc[i * 16, j * 16]),
                                        tn * 4,
                                    )
                            vnni_blocks(acc, X, w_data, vm, vn, tail_q)
                        else:  # a partial token block, or no tiles: vpdpbusd, same integers
                            for t, j in T.grid(tm, cols):
                                acc[t, T.ramp(j * 16, 1, 16)] = T.broadcast(T.int32(0), 16)
                            vnni_blocks(acc, X, w_data, vm, vn, 0)
                        store(
                            acc,
                            vm,
                            vn,
                            x_scale,
                            x_zp,
                            w_scale,
                            w_row_sum,
                            bias,
                            residual,
                            out_scale,
                            out_zp,
                            Y,
                        )
                    if granted[0] == T.int64(0) and steps > 0:
                        amx_ops.amx_op("tilerelease")

    return drop_unused_params(main)
