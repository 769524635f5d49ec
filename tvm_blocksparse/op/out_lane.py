"""Output-lane BSR kernels: INT8 16x4 blocks (16 output x 4 input channels), our dense INT8
kernel (the 16x4 kernel over a fully dense pattern), and the direct FP32 1x16 form. One
16-lane accumulator per token: each block's weights are one vector reused across the token tile.
"""

from __future__ import annotations

import tvm
from tvm.script import tirx as T

from tvm_blocksparse.op.epilogue import (
    MAX_TILE_BYTES,
    Epilogue,
    ceil_div,
    drop_unused_params,
    epilogue_inputs,
    out_lane_epilogue,
    store_lanes,
    whole_regions,
)
from tvm_blocksparse.op.quantize import padded_tokens


def out_lane_kernel(
    m: int, n: int, k: int, nnzb: int, epilogue: Epilogue, token_tile: int, int8: bool
) -> tvm.tirx.PrimFunc:
    """INT8 16x4 BSR (``int8``: u8 x s8 -> s32 by ``vpdpbusd``, AVX-512 VNNI) or FP32 1x16 BSR
    (16-lane FMAs).

    Register tile: ``token_tile`` tokens x 16 output channels (one block row); each non-zero
    block is one 16-lane weight vector reused by ``token_tile`` ``vpdpbusd``/``vfmadd231ps`` whose
    activation operand is an embedded broadcast from X.
    """
    epilogue.validate(int8_kernel=int8)
    bs_in = 4 if int8 else 1
    if n % 16 or k % bs_in:
        raise ValueError(
            f"{'INT8 16x4' if int8 else 'FP32 1x16'} blocks need N_out % 16 == 0 and K_in % "
            f"{bs_in} == 0, got {n=}, {k=}"
        )
    if token_tile < 1 or token_tile * 64 > MAX_TILE_BYTES:
        raise ValueError(f"{token_tile=} must be in 1..15 (token_tile x 16 x 4 bytes < 1 KiB)")
    x_dtype, w_dtype, acc_dtype = (
        ("uint8", "int8", "int32") if int8 else ("float32", "float32", "float32")
    )
    nb = n // 16
    n_tiles = ceil_div(m, token_tile)
    mp = padded_tokens(m)  # per-token x_scale / x_zp, as every INT8 kernel takes them
    nz = max(nnzb, 1)
    w_shape = (nz, 16, 4) if int8 else (nz, 16)
    ep = epilogue
    out_dtype = ep.out_dtype

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), x_dtype),
        x_scale: T.Buffer((mp,), "float32"),
        x_zp: T.Buffer((mp,), "int32"),
        w_data: T.Buffer(w_shape, w_dtype),
        w_indices: T.Buffer((nz,), "int32"),
        w_indptr: T.Buffer((nb + 1,), "int32"),
        w_scale: T.Buffer((n,), "float32"),
        w_row_sum: T.Buffer((n,), "int32"),
        bias: T.Buffer((n,), "float32"),
        residual: T.Buffer((m, n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        Y: T.Buffer((m, n), out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(nb * n_tiles):
            with T.sblock("tile"):
                vbr = T.axis.spatial(nb, p // n_tiles)
                vmo = T.axis.spatial(n_tiles, p % n_tiles)
                T.reads(
                    whole_regions(
                        X,
                        w_data,
                        w_indices,
                        w_indptr,
                        *epilogue_inputs(
                            ep,
                            int8,
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
                acc = T.alloc_buffer((token_tile, 16), acc_dtype)
                for t in range(token_tile):
                    with T.sblock("init"):
                        vt = T.axis.remap("S", [t])
                        acc[vt, T.ramp(0, 1, 16)] = T.broadcast(T.Cast(acc_dtype, 0), 16)
                for b in range(w_indptr[vbr], w_indptr[vbr + 1]):
                    if int8:
                        for t, j, c in T.grid(token_tile, 16, 4):
                            with T.sblock("dot"):
                                vb = T.axis.reduce(nz, b)
                                vt, vj, vc = T.axis.remap("SSR", [t, j, c])
                                T.reads(
                                    acc[vt, vj],
                                    X[T.min(vmo * token_tile + vt, m - 1), w_indices[vb] * 4 + vc],
                                    w_data[vb, vj, vc],
                                )
                                T.writes(acc[vt, vj])
                                acc[vt, vj] = acc[vt, vj] + T.cast(
                                    X[T.min(vmo * token_tile + vt, m - 1), w_indices[vb] * 4 + vc],
                                    "int32",
                                ) * T.cast(w_data[vb, vj, vc], "int32")
                    else:
                        for t, j in T.grid(token_tile, 16):
                            with T.sblock("dot"):
                                vb = T.axis.reduce(nz, b)
                                vt, vj = T.axis.remap("SS", [t, j])
                                T.reads(
                                    acc[vt, vj],
                                    X[T.min(vmo * token_tile + vt, m - 1), w_indices[vb]],
                                    w_data[vb, vj],
                                )
                                T.writes(acc[vt, vj])
                                acc[vt, vj] = (
                                    acc[vt, vj]
                                    + X[T.min(vmo * token_tile + vt, m - 1), w_indices[vb]]
                                    * w_data[vb, vj]
                                )
                for t in range(token_tile):
                    with T.sblock("store"):
                        vt = T.axis.remap("S", [t])
                        if vmo * token_tile + vt < m:
                            Y[vmo * token_tile + vt, T.ramp(vbr * 16, 1, 16)] = store_lanes(
                                out_lane_epilogue(
                                    acc[vt, T.ramp(0, 1, 16)],
                                    vmo * token_tile + vt,
                                    vbr * 16,
                                    int8,
                                    x_scale,
                                    x_zp,
                                    w_scale,
                                    w_row_sum,
                                    bias,
                                    ep,
                                ),
                                vmo * token_tile + vt,
                                vbr * 16,
                                16,
                                residual,
                                out_scale,
                                out_zp,
                                ep,
                                requant=ep.requant,
                            )

    return drop_unused_params(main)


def bsr_dense_int8_16x4(
    m, n, k, nnzb, epilogue: Epilogue = Epilogue("int32"), token_tile: int = 12
):
    """INT8 BSR with 16x4 blocks (16 output x 4 input channels): ``X u8[M, K]`` row-major,
    ``w_data s8[nnzb, 16, 4]``, ``w_indices i32[nnzb]`` (block column = input channel / 4),
    ``w_indptr i32[N/16 + 1]``; other parameters as :func:`bsr_dense_int8_4x1`."""
    return out_lane_kernel(m, n, k, nnzb, epilogue, token_tile, int8=True)


def dense_int8(m, n, k, epilogue: Epilogue = Epilogue("int32"), token_tile: int = 12):
    """Our dense INT8 VNNI kernel: the 16x4 kernel over a fully dense block pattern.

    Takes ``w_data = pack_dense_vnni(W).reshape(-1, 16, 4)`` (row-major ``[N/16 * K/4, 16, 4]``),
    ``w_indices = tile(arange(K/4), N/16)``, ``w_indptr = arange(0, N/16 + 1) * K/4``: index reads
    are one extra load per 12 ``vpdpbusd`` and keep one definition of the kernel."""
    return out_lane_kernel(m, n, k, (n // 16) * (k // 4), epilogue, token_tile, int8=True)
