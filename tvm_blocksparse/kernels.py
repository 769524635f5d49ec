"""TensorIR computes for our kernels (unscheduled; ``tvm_blocksparse.schedules`` schedules them).

Every kernel computes ``Y[M, N_out] = epilogue(X[M, K_in] @ W.T)`` with ``M = batch x tokens`` and
a weight ``W[N_out, K_in]`` in one of the layouts of :mod:`tvm_blocksparse.format`. Knobs that
change the loop nest (token tile, rows per tile) are arguments here; the schedule function
applies tensorization and unrolling and is shared by the default build and MetaSchedule.

Loop structure shared by all kernels: one ``T.parallel`` loop over (output block row x token
tile), a ``tile`` block that owns a register-sized accumulator (a stack buffer under 1 KiB, so
LLVM keeps it in zmm registers), an ``init`` block, a data-dependent loop over the row's non-zero
blocks around a ``dot`` block that the schedule tensorizes, and ``epilogue``/``store`` blocks that
apply the fused epilogue while the tile is still in registers.

Token tails: token indices past ``M`` are clamped to ``M - 1`` when loading (in-bounds,
duplicated work) and stores are guarded, so any ``M >= 1`` works without padding the caller's X.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import tvm
from tvm.script import tirx as T

from tvm_blocksparse.tensor_intrin import prefetch

# One accumulator tile must stay below 1 KiB: TVM 0.27 turns larger (or ``local``-scope) CPU
# allocations into heap workspace calls, which LLVM cannot promote to registers.
MAX_TILE_BYTES = 1023


@dataclass(frozen=True)
class Epilogue:
    """What happens to the accumulator tile before it is stored.

    out_dtype: ``"int32"`` raw INT8 accumulators (INT8 kernels only, nothing else allowed);
               ``"float32"``: INT8 kernels dequantize ``(acc - x_zp * row_sum[n]) * x_scale *
               w_scale[n]``, then apply the rest; ``"uint8"``: as float32, then requantize
               ``clip(rint(y * (1 / out_scale)) + out_zp, 0, 255)`` (the reciprocal in float32).
    bias:      ``+ bias[n]``.
    gelu:      ``gelu(y) = 0.5 * y * (1 + erf(y / sqrt(2)))`` (erf form).
    residual:  ``+ residual[m, n]`` (after GELU, before requantization).
    transposed_out: store ``Y^T[N, M]`` instead of ``Y[M, N]`` (4x1 kernel, float32 or uint8, no
               residual, ``M % 16 == 0``): the kernel's tile is channel-major already, so
               attention's ``K^T`` costs nothing, and a uint8 ``Y^T`` is the next 4x1 kernel's
               ``XT`` (statically quantized chains need no quantize-transpose pass).
    Order: dequant -> bias -> GELU -> residual -> requant (the paper's post-op order).
    """

    out_dtype: str = "float32"
    bias: bool = False
    gelu: bool = False
    residual: bool = False
    transposed_out: bool = False

    def validate(self, int8_kernel: bool) -> None:
        allowed = ("int32", "float32", "uint8") if int8_kernel else ("float32",)
        if self.out_dtype not in allowed:
            raise ValueError(f"out_dtype={self.out_dtype!r} not in {allowed} for this kernel")
        if self.out_dtype == "int32" and (self.bias or self.gelu or self.residual):
            raise ValueError("an int32 (raw accumulator) output takes no bias/gelu/residual")
        if self.transposed_out and (self.out_dtype == "int32" or self.residual):
            raise ValueError("transposed_out needs a float32 or uint8 output and no residual")

    @property
    def dequant(self) -> bool:
        return self.out_dtype != "int32"

    @property
    def requant(self) -> bool:
        return self.out_dtype == "uint8"


# ----------------------------------------------------------------------------- vector math


def _bcast(value, lanes: int):
    return value if lanes == 1 else T.broadcast(value, lanes)


def _fconst(c: float, lanes: int):
    return _bcast(T.float32(c), lanes)


def _allreduce16(v, op):
    """``op`` over the 16 lanes of ``v``, the result in every lane: a butterfly of 4 lane swaps
    (a scalar chain of 15 dependent ``vmaxss``/``vaddss`` was ~20 % of the INT8 attention
    kernel's time). ``v`` appears 16 times in the tree: pass a load, LLVM merges the copies."""
    for k in (8, 4, 2, 1):
        v = op(v, T.Shuffle([v], [i ^ k for i in range(16)]))
    return v


# Eigen's float32 rational approximation of erf (also TVM's fast_erf), |error| < 2e-7 on [-4, 4].
_ERF_ALPHA = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
              -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
              -1.60960333262415e-02)  # fmt: skip
_ERF_BETA = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
             -7.37332916720468e-03, -1.42647390514189e-02)  # fmt: skip


def erf_f32(x, lanes: int):
    """Vectorizable erf (TVM lowers ``T.erf`` on vectors to per-lane libm calls)."""
    x = T.max(T.min(x, _fconst(4.0, lanes)), _fconst(-4.0, lanes))
    x2 = x * x
    p = _fconst(_ERF_ALPHA[0], lanes)
    for a in _ERF_ALPHA[1:]:
        p = p * x2 + _fconst(a, lanes)
    q = _fconst(_ERF_BETA[0], lanes)
    for b in _ERF_BETA[1:]:
        q = q * x2 + _fconst(b, lanes)
    return x * p / q


# Cephes expf: exp(x) = 2^n * p(r), n = round(x / ln2), r = x - n ln2 split in two constants for
# precision; |relative error| ~ 1e-7 on [-87, 88].
_EXP_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)


def exp_f32(x, lanes: int):
    """Vectorizable exp (LLVM scalarizes ``llvm.exp`` on vectors into libm calls). Inputs above
    88 are clamped; below -87 the result is exactly 0 (softmax's masked scores): a denormal
    result there made every later multiply by it ~2x slower end to end (measured on BERT-Base
    with padded tokens: 46 ms vs 29 ms, 1 thread)."""
    underflow = x < _fconst(-87.0, lanes)
    x = T.max(T.min(x, _fconst(88.0, lanes)), _fconst(-87.0, lanes))
    n = T.floor(x * _fconst(1.44269504088896341, lanes) + _fconst(0.5, lanes))
    r = x - n * _fconst(0.693359375, lanes) + n * _fconst(2.12194440e-4, lanes)
    p = _fconst(_EXP_P[0], lanes)
    for c in _EXP_P[1:]:
        p = p * r + _fconst(c, lanes)
    p = p * (r * r) + r + _fconst(1.0, lanes)
    i32 = "int32" if lanes == 1 else f"int32x{lanes}"
    f32 = "float32" if lanes == 1 else f"float32x{lanes}"
    two_n = T.reinterpret(f32, T.shift_left(T.Cast(i32, n) + _bcast(T.int32(127), lanes), _bcast(T.int32(23), lanes)))
    return T.Select(underflow, _fconst(0.0, lanes), p * two_n)


#: GELU of the INT8 kernels' epilogues: ``x * (0.5 + xc * P(xc^2) / Q(xc^2))``, ``xc = clip(x,
#: +-GELU_FAST_CLIP)``, i.e. ``0.5 * erf(x / sqrt 2)`` as a (3, 3)-degree rational in ``xc^2``
#: (coefficients ascending; fitted here by iteratively reweighted least squares to erf on [0, 4],
#: max |error of erf| 2.1e-5, so |error of GELU| <= 2.1e-5 * max(1, |x|)). 13 vector ops per 16 values against
#: ~21 for the float32-exact form: GELU bounded the FFN1 epilogue by the vector ALU ports (1 thread:
#: 1024x256x128 at 90 % took 63 us with it, 30 us without). The INT8 output's quantization step
#: (range / 255) is ~100x larger than this error; FP32 kernels keep :func:`gelu_f32`.
GELU_FAST_P = (0.39889654517173767, 0.0308657418936491, 0.0036428836174309254, 2.6786789021571167e-05)
GELU_FAST_Q = (1.0, 0.24368688464164734, 0.02503548003733158, 0.0010188643354922533)
GELU_FAST_CLIP = 5.656854152679443  # 4 * sqrt(2): erf(4) = 1 - 1.5e-8


def gelu_f32(x, lanes: int, fast: bool = False):
    """GELU, erf form: ``0.5 * x * (1 + erf(x / sqrt(2)))``; ``fast``: see :data:`GELU_FAST_P`."""
    if not fast:
        return _fconst(0.5, lanes) * x * (_fconst(1.0, lanes) + erf_f32(x * _fconst(1 / math.sqrt(2), lanes), lanes))
    xc = T.max(T.min(x, _fconst(GELU_FAST_CLIP, lanes)), _fconst(-GELU_FAST_CLIP, lanes))
    u = xc * xc
    p = _fconst(GELU_FAST_P[-1], lanes)
    for c in GELU_FAST_P[-2::-1]:
        p = p * u + _fconst(c, lanes)
    q = _fconst(GELU_FAST_Q[-1], lanes)
    for c in GELU_FAST_Q[-2::-1]:
        q = q * u + _fconst(c, lanes)
    return x * (_fconst(0.5, lanes) + xc * p / q)


def _requant_u8(y, out_scale, out_zp, lanes: int):
    """``clip(rint(y * (1 / out_scale)) + out_zp, 0, 255)`` as u8, the reciprocal in float32 (as
    fbgemm does; :func:`tvm_blocksparse.format.quantize_activation_u8` is the numpy twin). A
    ``vdivps zmm`` per 16 values bounded every quantize pass: 1024 x 128 took 26 us."""
    if lanes == 16:
        # 6 ops instead of 7: vcvtps2dq rounds half to even as rint does; clamping at 2^24 first
        # keeps a huge positive value from becoming INT_MIN (-> 0); vpmovusdb saturates at 255.
        t = T.min(y * _bcast(T.float32(1) / out_scale, 16), _fconst(16777216.0, 16))
        q = T.max(_rint_i32(t) + _bcast(out_zp, 16), T.broadcast(T.int32(0), 16))
        return T.call_llvm_pure_intrin(T.llvm_lookup_intrinsic_id("llvm.x86.avx512.mask.pmovus.db.512"), q,
                                       T.broadcast(T.uint8(0), 16), T.int16(-1), dtype="uint8x16")
    q = T.nearbyint(y * _bcast(T.float32(1) / out_scale, lanes)) + _bcast(T.Cast("float32", out_zp), lanes)
    q = T.max(T.min(q, _fconst(255.0, lanes)), _fconst(0.0, lanes))
    return T.Cast("uint8x%d" % lanes if lanes > 1 else "uint8", q)


def _rint_i32(x):
    """``rint(x)`` as int32x16 in one ``vcvtps2dq`` (round to nearest even under the default
    MXCSR; LLVM emits ``vrndscaleps`` + ``vcvttps2dq`` for a cast of ``nearbyint``)."""
    return T.call_llvm_pure_intrin(T.llvm_lookup_intrinsic_id("llvm.x86.avx512.mask.cvtps2dq.512"), x,
                                   T.broadcast(T.int32(0), 16), T.int16(-1), T.int32(4), dtype="int32x16")


def _drop_unused_params(func: tvm.tirx.PrimFunc) -> tvm.tirx.PrimFunc:
    """Remove parameters the body never touches (the epilogue options decide which are used)."""
    # In TVM 0.27 a body refers to a parameter buffer through a free Var of the buffer's name.
    used = {v.name for v in tvm.tirx.analysis.undefined_vars(func.body)}
    keep = [p for p in func.params if p.name in used]
    return tvm.tirx.PrimFunc(keep, func.body, func.ret_type, attrs=func.attrs)


def _whole(*buffers) -> list:
    """Whole-buffer regions: the ``tile`` block's declared reads/writes (it owns its scratch)."""
    return [
        tvm.tirx.BufferRegion(b, [tvm.ir.Range.from_min_extent(0, d) for d in b.shape])
        for b in buffers
    ]


def _epilogue_inputs(ep: Epilogue, int8: bool, x_scale, x_zp, w_scale, w_row_sum, bias, residual, out_scale, out_zp) -> list:
    bufs = [x_scale, x_zp, w_scale, w_row_sum] if (int8 and ep.dequant) else []
    bufs += [bias] if ep.bias else []
    bufs += [residual] if ep.residual else []
    bufs += [out_scale, out_zp] if ep.requant else []
    return bufs


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def padded_tokens(m: int) -> int:
    """Token count of the transposed activation ``XT[K, Mp]`` fed to the 4x1 kernel."""
    return _ceil_div(m, 16) * 16


# ----------------------------------------------------------------------------- INT8 4x1


#: Groups (16 B of weights + 16 B of row offsets each) the 4x1 kernel prefetches ahead. End to
#: end the weights come from memory, not cache: without it the 4x1 kernels of BERT-Base ran
#: 1.45x slower in the model than alone (13.8 vs 9.5 ms in total, 1 thread). It prefetches past
#: the last group too: a prefetch never faults, and clamping the address cost 4-12 % of the
#: kernel's time in scalar instructions.
WEIGHT_PREFETCH_GROUPS = 32


#: Bytes of ``XT`` (K x token tile) that stay in L1 while a tile visits every block row: below
#: it the 4x1 kernel walks token tiles outermost (``token_chunk=1``). Fitted here (48 KB L1d): at
#: M = 1024 chunking ran 3072x768 1.95x and 768x768 1.20x faster, 768x3072 (XT tile 147 KB) 0.78x.
XT_TILE_L1_BYTES = 40 * 1024


#: A 64-token tile packs 4 input channels' 64-byte ``XT`` rows with 8 in-lane unpacks (bytes,
#: then words) into 4 VNNI vectors: 2 shuffle uops per 16-token vector, against 3 for a
#: ``vpermt2b`` (2 uops on this core) plus an insert, and every ``XT`` line it loads is used
#: whole. Vector ``j``'s dword lane ``4 L + i`` then holds tile token ``16 L + 4 j + i``; the
#: stores undo that order.
UNPACK_TOKEN_TILE = 64


def default_token_chunk_4x1(m: int, k: int, token_tile: int) -> int | None:
    """``token_chunk`` for the 4x1 kernel: 1 (token tiles outermost) when a tile of ``XT`` fits
    :data:`XT_TILE_L1_BYTES` or the tile is 64 tokens (whole 64-byte lines; 1 thread, 90 %:
    0.96-1.04x the speed of block rows outermost at M = 128, 0.98-1.35x at M = 384), else
    None (block rows outermost, all of XT re-read per row)."""
    n_tiles = _ceil_div(padded_tokens(m) // 16, token_tile // 16)
    fits = k * token_tile <= XT_TILE_L1_BYTES or token_tile == UNPACK_TOKEN_TILE
    return 1 if n_tiles > 1 and fits else None


def default_token_tile_4x1(m: int) -> int:
    """Token tile for ``M`` tokens: 64 (the unpack pack) when the padded count is a multiple of
    64; else 16, 32 or 48, minimizing ``tiles x (vectors per tile + 0.5)``: a ragged last tile
    recomputes clamped 16-token vectors, and each tile re-reads the weights (~half a vector's
    work, fitted to BERT-Base shapes at 90 %, 1 thread: at M = 128 tiles of 16/32/48 ran
    0.42/0.36/0.40 ms on 3072x768). 64 against 32 at M = 128, 90 %, 1 thread (int32 out):
    768x768 0.99x, 3072x768 1.02x, 768x3072 1.39x, 1024x1024 1.08x, 4096x1024 1.10x,
    1024x4096 1.40x; against 48 at M = 384: 768x768 1.07x, 768x3072 1.31x, 3072x768 1.05x."""
    if padded_tokens(m) % UNPACK_TOKEN_TILE == 0:
        return UNPACK_TOKEN_TILE
    n_vec = padded_tokens(m) // 16
    return 16 * min((3, 2, 1), key=lambda tv: -(-n_vec // tv) * (tv + 0.5))


def xt_row_offsets(cols: np.ndarray, m: int) -> np.ndarray:
    """``w_xt_offsets`` of :func:`bsr_dense_int8_4x1`: input-channel indices times the padded
    token count ``Mp`` (int32; raises if ``K x Mp`` does not fit)."""
    mp = padded_tokens(m)
    cols = np.asarray(cols)
    if cols.size and int(cols.max()) * mp >= 2**31:
        raise ValueError(f"K x Mp = {int(cols.max()) + 1} x {mp} overflows int32 offsets")
    return (cols.astype(np.int64) * mp).astype(np.int32)


def default_row_groups_4x1(n: int, token_chunk: int | None, threads: int) -> int:
    """``row_groups`` for the 4x1 kernel: one block-row group per thread when token tiles are
    outermost (``token_chunk=1``) and the groups come out even, else 1. Each thread then streams
    its share of the weights, not all of them: BERT-Base at 2 threads 10.80 -> 10.47 ms
    (identical outputs), 1 thread unchanged (15.67 vs 15.65 ms)."""
    return threads if token_chunk == 1 and threads > 1 and (n // 4) % threads == 0 else 1


def default_rows_per_task_4x1(n: int, token_tile: int, epilogue: Epilogue, row_groups: int = 1) -> int:
    """``rows_per_task`` for the 4x1 kernel: 2 (8 channels per token store) for a 64-token tile
    with a token-major output when the block rows allow it, else 1. A task's 64 token rows of
    ``Y`` lie ``N x 4`` bytes apart, which maps them to a few L1 sets (one set at N = 1024
    float32): written 4 channels at a time, the lines are evicted before the next block row
    fills them. 1 thread, 90 %, 128 tokens, f32 + bias + residual, 1 / 2 / 4 rows per task:
    768x768 64.5 / 54.0 / 53.3 us, 768x3072 194 / 166 / 160, 1024x1024 126 / 97 / 92, 256x256
    20.1 / 10.9 / 9.8; f32 + bias 1024x256 106 / 67 / 51; bit-identical. Each row per task is
    another copy of the group loop in the code, and end to end the gain is small: BERT-Base
    (one process, identical outputs) compiles in 60.4 / 65.8 / 82.8 s and runs 14.83 / 14.67 /
    15.00 ms; BERT-Mini runs 1.287 (1 row) / 1.139 (4 rows) ms. 2 is the default."""
    stageable = token_tile == UNPACK_TOKEN_TILE and not epilogue.transposed_out
    return 2 if stageable and (n // 4 // row_groups) % 2 == 0 else 1


def line_rows_4x1(epilogue: Epilogue) -> int:
    """Block rows whose epilogue lanes fill 64 bytes per token (``stage_lines``): 16 for u8 lanes
    (4 channels = a dword per row), 4 for 4-byte lanes (with a residual and a u8 output, the
    lanes stay float until the store: a token's store is then 16 bytes)."""
    u8_lanes = epilogue.requant and not epilogue.residual
    return 16 if u8_lanes else 4


def _transpose16(vectors: list, bind=lambda v: v) -> list:
    """``out[t][s] = vectors[s][t]`` for 16 vectors of 16 (4-byte) lanes: 4 rounds of 16
    two-source shuffles, each swapping one bit of the vector index with that bit of the lane
    index. ``bind`` (e.g. ``T.Bind`` while emitting statements) names each round's vectors, so
    the 64 shuffles are computed once, not once per output that uses them."""
    cur = [bind(v) for v in vectors]
    for b in range(4):
        bit = 1 << b
        low = [t if not t & bit else 16 + t - bit for t in range(16)]  # vectors with bit b clear
        high = [t + bit if not t & bit else 16 + t for t in range(16)]
        cur = [bind(T.Shuffle([cur[s & ~bit], cur[s | bit]], high if s & bit else low)) for s in range(16)]
    return cur


def default_stage_lines_4x1(n: int, token_tile: int, epilogue: Epilogue, row_groups: int = 1) -> bool:
    """``stage_lines`` for the 4x1 kernel: on for 64-token tiles with a token-major output that is
    u8 or adds a residual, when the block rows of a row group fill whole lines. Writing a
    token's 4 or 8 channels at a time costs a lane extract per token and row, and the 64 token
    rows of a task alias a few L1 sets. 1 thread, 90 %, 128 tokens, 2 rows per task -> staged
    lines (bit-identical): u8 + bias 768x768 59 -> 54 us, 3072x768 243 -> 216, 768x3072 188 ->
    177, 4096x1024 437 -> 389, 1024x1024x384 318 -> 281; f32 + bias + residual 768x768 63 -> 60,
    768x3072 201 -> 191, 768x768x384 336 -> 287, 1024x1024x384 533 -> 440. f32 + bias alone
    gains at 768x768 (59 -> 57) but loses at 3072x768 (257 -> 273) and 4096x1024 (498 -> 513)."""
    if token_tile != UNPACK_TOKEN_TILE or epilogue.transposed_out:
        return False
    wanted = epilogue.residual or epilogue.requant
    return bool(wanted) and (n // 4 // row_groups) % line_rows_4x1(epilogue) == 0


def _unpack_pattern(half: int, words: bool) -> list[int]:
    """Lanes of ``vpunpck{l,h}{bw,wd}`` on two 64-lane byte vectors (``half`` 0: low, 1: high
    half of each 128-bit lane; ``words``: 16-bit elements): the shuffle LLVM matches to one
    in-lane unpack."""
    elem = 2 if words else 1
    return [lane * 16 + half * 8 + (i // (2 * elem)) * elem + i % elem + (64 if (i // elem) % 2 else 0)
            for lane in range(4) for i in range(16)]


def _unpack_vector_lane(token: int) -> tuple[int, int]:
    """Inverse of :func:`unpack_tile_token`: (packed vector, dword lane) of a tile token."""
    return (token % 16) // 4, 4 * (token // 16) + token % 4


def unpack_tile_token(vector: int, lane: int) -> int:
    """Tile token held by dword ``lane`` of packed vector ``vector`` in a 64-token tile."""
    return 16 * (lane // 4) + 4 * vector + lane % 4


# Parsed once per shape and options (lru_cache): with ``num_groups=None`` every 4x1 layer of a
# shape shares one PrimFunc, and TVMScript parsing was ~80 % of a model's compile time when each
# layer parsed its own (BERT-Mini: 73 parses). Bounded: benchmarks build one per weight.
@functools.lru_cache(maxsize=256)
def bsr_dense_int8_4x1(
    m: int, n: int, k: int, num_groups: int | None, epilogue: Epilogue = Epilogue("int32"), token_tile: int = 48,
    token_chunk: int | None = None, row_groups: int = 1, rows_per_task: int = 1, stage_lines: bool = False,
) -> tvm.tirx.PrimFunc:
    """The paper's INT8 kernel: u8 activations x 4x1-block-sparse s8 weights (VNNI grouped).

    Parameters, in order (those the epilogue does not use are dropped):
      XT        ``u8[K, Mp]``  activations transposed, ``Mp = padded_tokens(M)``, zero padded
                (see :func:`quantize_transpose_u8`); tokens are contiguous per input channel so
                gathering 4 input channels for 16 tokens is 4 plain 16-byte loads.
      x_scale   ``f32[1]``, x_zp ``i32[1]``: activation quantization (dequant epilogues).
      w_data    ``s8[G, 4, 4]``, w_group_ptr ``i32[N/4 + 1]``:
                :class:`tvm_blocksparse.format.VNNIGroupedBSR`; w_xt_offsets ``i32[G, 4]``: its
                ``cols`` times ``Mp``, the element offset of each input channel's ``XT`` row
                (:func:`xt_row_offsets`), so a gather is one load and an add per channel.
                ``G = num_groups``; None makes it a symbolic dimension (``num_groups``), bound
                from ``w_data``'s shape at run time: one PrimFunc for every weight of a shape.
      w_scale   ``f32[N]``, w_row_sum ``i32[N]``: per-channel scale and ``sum_k q[n, k]``.
      bias      ``f32[N]``; residual ``f32[M, N]``; out_scale ``f32[1]``, out_zp ``i32[1]``.
      Y         ``[M, N]`` of ``epilogue.out_dtype``.

    Register tile: 4 output channels x ``token_tile`` tokens (``token_tile/16`` zmm per channel).
    ``token_tile`` 64 (needs ``Mp % 64 == 0``) packs by unpacks (:data:`UNPACK_TOKEN_TILE`) and
    keeps its accumulators in two 32-token halves (a 1 KiB buffer would leave the stack).
    ``rows_per_task`` 2 or 4 (64-token tiles, token-major output): a task computes that many
    consecutive block rows and stores all their channels per token at once (see
    :func:`default_rows_per_task_4x1`).
    ``stage_lines`` (64-token tiles, token-major output, ``rows_per_task`` 1): a task loops over
    the :func:`line_rows_4x1` block rows whose outputs fill one 64-byte line per token, stages
    them (4 KiB) and writes each token's line with one store, transposed in registers
    (:func:`_transpose16`): no per-token lane extracts (see :func:`default_stage_lines_4x1`).
    Tile order: ``token_chunk`` token tiles at a time (must divide the tile count; None = all),
    every block row within a chunk: a chunk's ``XT`` columns stay in cache while the weights
    stream, instead of all of ``XT`` being re-read for every block row (large M).
    ``row_groups`` (must divide ``N/4``) splits the block rows into groups walked one after the
    other, each in that tile order: with one group per thread, a thread streams only its
    group's weights (see :func:`default_row_groups_4x1`).
    """
    epilogue.validate(int8_kernel=True)
    if n % 4:
        raise ValueError(f"4x1 blocks need N_out % 4 == 0, got {n=}")
    if token_tile not in (16, 32, 48, UNPACK_TOKEN_TILE):
        raise ValueError(f"{token_tile=} must be 16, 32, 48 or 64")
    mp = padded_tokens(m)
    if token_tile == UNPACK_TOKEN_TILE and mp % UNPACK_TOKEN_TILE:
        raise ValueError(f"token_tile=64 needs the padded token count % 64 == 0, got {m=} (Mp={mp})")
    n_vec = mp // 16
    tv_per_tile = token_tile // 16
    n_tiles = _ceil_div(n_vec, tv_per_tile)
    chunk = n_tiles if token_chunk is None else token_chunk
    if chunk < 1 or n_tiles % chunk:
        raise ValueError(f"token_chunk={token_chunk} must divide the {n_tiles} token tiles")
    nb = n // 4
    if row_groups < 1 or nb % row_groups:
        raise ValueError(f"row_groups={row_groups} must divide the {nb} block rows (N_out / 4)")
    nbg = nb // row_groups
    if rows_per_task not in (1, 2, 4):
        raise ValueError(f"{rows_per_task=} must be 1, 2 or 4")
    if rows_per_task > 1 and (token_tile != UNPACK_TOKEN_TILE or epilogue.transposed_out or nbg % rows_per_task):
        raise ValueError(f"rows_per_task={rows_per_task} needs token_tile=64, a token-major output and "
                         f"{rows_per_task} | {nbg} block rows per row group")
    line_rows = line_rows_4x1(epilogue)
    if stage_lines and (token_tile != UNPACK_TOKEN_TILE or epilogue.transposed_out or rows_per_task != 1
                        or nbg % line_rows):
        raise ValueError(f"stage_lines needs token_tile=64, a token-major output, rows_per_task=1 and "
                         f"{line_rows} | {nbg} block rows per row group")
    task_rows = line_rows if stage_lines else rows_per_task  # block rows of one parallel task
    g = tvm.tirx.Var("num_groups", "int32") if num_groups is None else max(num_groups, 1)
    ep = epilogue
    out_dtype = ep.out_dtype
    token_major = [c * 16 + t for t in range(16) for c in range(4)]  # lane t*4 + r <- row r, token t
    # requantize in 16-token lanes unless a residual (token-major) must be added first
    tile_dtype = "uint8" if (ep.requant and not ep.residual) else "float32"
    if ep.transposed_out and m % 16:
        raise ValueError(f"transposed_out needs M % 16 == 0, got {m=}")
    y_shape = (n, m) if ep.transposed_out else (m, n)

    @T.macro
    def epilogue_lanes(acc, out, n_tv, name, vbr, x_scale, x_zp, w_scale, w_row_sum, bias, out_scale, out_zp):
        if ep.dequant:
            for r, tv in T.grid(4, n_tv):
                with T.sblock(name):
                    vr, vtv = T.axis.remap("SS", [r, tv])
                    out[vr, T.ramp(vtv * 16, 1, 16)] = _int8_epilogue_lanes(
                        acc[vr, T.ramp(vtv * 16, 1, 16)], vbr * 4 + vr, 16,
                        x_scale, x_zp, w_scale, w_row_sum, bias, out_scale, out_zp, ep,
                    )

    @T.macro
    def token_major_lanes(acc, out, tokens, n_tv, suffix):
        for tv in range(n_tv):
            with T.sblock("transpose" + suffix):
                # 4 channels x 16 tokens -> 16 tokens x 4 channels, one shuffle
                vtv = T.axis.remap("S", [tv])
                tokens[vtv, T.ramp(0, 1, 64)] = T.Shuffle(
                    [(out if ep.dequant else acc)[rr, T.ramp(vtv * 16, 1, 16)] for rr in range(4)],
                    token_major,
                )

    @T.macro
    def store_tokens(staged, n_tv, token_of, suffix, channel0, Y, residual, out_scale, out_zp):
        """Each token's channels from ``staged`` (token-major 4-channel buffers of consecutive
        block rows) in one store."""
        for tv, t in T.grid(n_tv, 16):
            with T.sblock("store" + suffix):
                vtv, vt = T.axis.remap("SS", [tv, t])
                if token_of(vtv, vt) < m:
                    Y[token_of(vtv, vt), T.ramp(channel0, 1, 4 * len(staged))] = _store_lanes(
                        T.Shuffle([b[vtv, T.ramp(vt * 4, 1, 4)] for b in staged], list(range(4 * len(staged)))),
                        token_of(vtv, vt), channel0, 4 * len(staged),
                        residual, out_scale, out_zp, ep, requant=ep.requant and ep.residual,
                    )

    # tasks walk units of task_rows block rows: units_per_group per row group
    upg = nbg // task_rows

    def tile_block_row(p):
        """First block row of task ``p``."""
        return (p // (upg * n_tiles) * upg + p % (upg * n_tiles) % (upg * chunk) // chunk) * task_rows

    def tile_token_tile(p):
        return p % (upg * n_tiles) // (upg * chunk) * chunk + p % (upg * n_tiles) % chunk

    @T.macro
    def prefetch_weights(w_data, w_xt_offsets, group):
        prefetch(T.address_of(w_data[group + WEIGHT_PREFETCH_GROUPS, 0, 0]))
        prefetch(T.address_of(w_xt_offsets[group + WEIGHT_PREFETCH_GROUPS, 0]))

    @T.macro
    def dot_lanes(acc, packed, n_tv, first_vector, name, gi, w_data):
        """``acc[r, 16 tv + t] += sum_c packed[first_vector + tv, t, c] * w[group, r, c]`` (the
        block the schedule tensorizes onto ``vpdpbusd``)."""
        for tv, r, t, c in T.grid(n_tv, 4, 16, 4):
            with T.sblock(name):
                vg = T.axis.reduce(g, gi)
                vtv, vr, vt, vc = T.axis.remap("SSSR", [tv, r, t, c])
                T.reads(acc[vr, vtv * 16 + vt], packed[first_vector + vtv, vt, vc], w_data[vg, vr, vc])
                T.writes(acc[vr, vtv * 16 + vt])
                acc[vr, vtv * 16 + vt] = acc[vr, vtv * 16 + vt] + T.cast(
                    packed[first_vector + vtv, vt, vc], "int32"
                ) * T.cast(w_data[vg, vr, vc], "int32")

    if token_tile == UNPACK_TOKEN_TILE:
        byte_unpack = [_unpack_pattern(half, False) for half in (0, 1)]
        word_unpack = [_unpack_pattern(half, True) for half in (0, 1)]

        def unpacked_vector(xt_flat, xt_offsets, vg, vmo, j):
            """Packed vector ``j`` of group ``vg``'s 4 input channels in 64-token tile ``vmo``."""
            rows = [xt_flat[T.ramp(xt_offsets[vg, c] + vmo * 64, 1, 64)] for c in range(4)]
            pairs = [T.Shuffle(rows[c : c + 2], byte_unpack[j // 2]) for c in (0, 2)]
            return T.Shuffle(pairs, word_unpack[j % 2])
        # a channel's 64 tile tokens in order, from its 4 packed-vector accumulators (vector j, lane l)
        natural = [j * 16 + lane for t in range(64) for j, lane in [_unpack_vector_lane(t)]]
        half_tokens = 32

        @T.macro
        def group_step(gi, sfx, with_prefetch, acc, acc_hi, packed, XT, XT_tile, w_data, w_xt_offsets):
            """Group ``gi`` into the accumulators; ``with_prefetch``: its weights' prefetch (one
            64-byte line holds 4 groups' weights or offsets: every other group suffices)."""
            with T.sblock("pack" + sfx):
                vg = T.axis.opaque(g, gi)
                T.reads(XT[0:k, 0:mp], w_xt_offsets[vg, 0:4])
                T.writes(packed[0:4, 0:16, 0:4])
                if with_prefetch:
                    prefetch_weights(w_data, w_xt_offsets, vg)
                # expressions, not TVMScript assignments (those become workspace buffers)
                packed.vstore([0, 0, 0], unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 0))
                packed.vstore([1, 0, 0], unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 1))
                packed.vstore([2, 0, 0], unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 2))
                packed.vstore([3, 0, 0], unpacked_vector(XT_tile, w_xt_offsets, vg, 0, 3))
            dot_lanes(acc, packed, 2, 0, "dot" + sfx, gi, w_data)
            dot_lanes(acc_hi, packed, 2, 2, "dot_hi" + sfx, gi, w_data)

        @T.macro
        def unpack_block_row(row, tile, sfx, acc, acc_hi, packed, out, out_hi, tokens, tokens_hi, XT, XT_tile,
                             w_data, w_xt_offsets, w_group_ptr, x_scale, x_zp, w_scale, w_row_sum, bias,
                             out_scale, out_zp, token_major):
            """Block row ``row`` of 64-token tile ``tile``: accumulate, epilogue into ``out``/``out_hi``
            and (``token_major``) 16-token x 4-channel lanes into ``tokens``/``tokens_hi``."""
            for r, tv in T.grid(4, 2):
                with T.sblock("init" + sfx):
                    vr, vtv = T.axis.remap("SS", [r, tv])
                    acc[vr, T.ramp(vtv * 16, 1, 16)] = T.broadcast(T.int32(0), 16)
                    acc_hi[vr, T.ramp(vtv * 16, 1, 16)] = T.broadcast(T.int32(0), 16)
            # two groups per iteration (the second guarded): half the loop's scalar work
            for gp in range((w_group_ptr[row + 1] - w_group_ptr[row] + 1) // 2):
                group_step(w_group_ptr[row] + 2 * gp, sfx, True, acc, acc_hi, packed, XT, XT_tile, w_data,
                           w_xt_offsets)
                if w_group_ptr[row] + 2 * gp + 1 < w_group_ptr[row + 1]:
                    group_step(w_group_ptr[row] + 2 * gp + 1, sfx + "_b", False, acc, acc_hi, packed, XT, XT_tile,
                               w_data, w_xt_offsets)
            epilogue_lanes(acc, out, 2, "epilogue" + sfx, row, x_scale, x_zp, w_scale, w_row_sum, bias,
                           out_scale, out_zp)
            epilogue_lanes(acc_hi, out_hi, 2, "epilogue_hi" + sfx, row, x_scale, x_zp, w_scale, w_row_sum, bias,
                           out_scale, out_zp)
            if token_major:
                token_major_lanes(acc, out, tokens, 2, sfx)
                token_major_lanes(acc_hi, out_hi, tokens_hi, 2, "_hi" + sfx)

        lanes_dtype = tile_dtype if ep.dequant else "int32"
        # staged lines: u8 lanes keep 16 block rows' token-major vectors (a dword per token and
        # row), 4-byte lanes 4 block rows' channel-major vectors (a lane per token and channel)
        word_lines = lanes_dtype == "uint8"
        line_shape = (line_rows, 4, 64) if stage_lines else (1, 1, 1)

        @T.macro
        def stage_row(line, src, src_hi, row, vbr):
            """Block row ``row`` into the staged lines: u8, its token-major vectors (``src`` =
            tokens); else its 4 channels x 64 tokens (``src`` = out or acc, in packed order)."""
            if word_lines:
                for tv in range(2):
                    with T.sblock("stage"):
                        vtv = T.axis.remap("S", [tv])
                        line[row - vbr, vtv, T.ramp(0, 1, 64)] = src[vtv, T.ramp(0, 1, 64)]
                        line[row - vbr, 2 + vtv, T.ramp(0, 1, 64)] = src_hi[vtv, T.ramp(0, 1, 64)]
            else:
                for c in range(4):
                    with T.sblock("stage"):
                        vc = T.axis.remap("S", [c])
                        line[row - vbr, vc, T.ramp(0, 1, 32)] = src[vc, T.ramp(0, 1, 32)]
                        line[row - vbr, vc, T.ramp(32, 1, 32)] = src_hi[vc, T.ramp(0, 1, 32)]

        def emit_line_stores(line, vmo, vbr, Y, residual, out_scale, out_zp):
            """Each of the task's 64 tokens' ``4 line_rows`` channels in one store. Per packed vector
            ``j``: 16 source vectors (u8: a block row's token-major dwords; else a channel's
            tokens), transposed so that output ``t`` holds token ``unpack_tile_token(j, t)``.
            Emitted statement by statement (the transpose's outputs are Python-level)."""
            for j in range(4):
                if word_lines:
                    sources = [T.reinterpret("int32x16", line[rr, j, T.ramp(0, 1, 64)]) for rr in range(16)]
                else:
                    sources = [line[rr, c, T.ramp(16 * j, 1, 16)] for rr in range(4) for c in range(4)]
                # bound: the stores to Y in between would make LLVM reload the line and redo the tree
                for t, value in enumerate(_transpose16(sources, T.Bind)):
                    token = vmo * 64 + unpack_tile_token(j, t)
                    if word_lines:
                        value = T.reinterpret("uint8x64", value)
                    else:
                        value = _store_lanes(value, token, vbr * 4, 16, residual, out_scale, out_zp, ep,
                                             requant=ep.requant and ep.residual)
                    if m % 64:
                        with T.If(token < m):
                            with T.Then():
                                T.buffer_store(Y, value, [token, T.ramp(vbr * 4, 1, 4 * line_rows)])
                    else:
                        T.buffer_store(Y, value, [token, T.ramp(vbr * 4, 1, 4 * line_rows)])

        @T.prim_func(s_tir=True)
        def main(
            XT: T.Buffer((k, mp), "uint8"),
            x_scale: T.Buffer((1,), "float32"),
            x_zp: T.Buffer((1,), "int32"),
            w_data: T.Buffer((g, 4, 4), "int8"),
            w_xt_offsets: T.Buffer((g, 4), "int32"),
            w_group_ptr: T.Buffer((nb + 1,), "int32"),
            w_scale: T.Buffer((n,), "float32"),
            w_row_sum: T.Buffer((n,), "int32"),
            bias: T.Buffer((n,), "float32"),
            residual: T.Buffer((m, n), "float32"),
            out_scale: T.Buffer((1,), "float32"),
            out_zp: T.Buffer((1,), "int32"),
            Y: T.Buffer(y_shape, out_dtype),
        ):
            T.func_attr({"global_symbol": "main", "tirx.noalias": True})
            for p in T.parallel(nb // task_rows * n_tiles):
                with T.sblock("tile"):
                    vbr = T.axis.spatial(nb, tile_block_row(p))
                    vmo = T.axis.spatial(n_tiles, tile_token_tile(p))
                    T.reads(_whole(XT, w_data, w_xt_offsets, w_group_ptr, *_epilogue_inputs(
                        ep, True, x_scale, x_zp, w_scale, w_row_sum, bias, residual, out_scale, out_zp)))
                    T.writes(_whole(Y))
                    acc = T.alloc_buffer((4, half_tokens), "int32")  # packed vectors 0, 1
                    acc_hi = T.alloc_buffer((4, half_tokens), "int32")  # packed vectors 2, 3
                    packed = T.alloc_buffer((4, 16, 4), "uint8")
                    out = T.alloc_buffer((4, half_tokens), tile_dtype)
                    out_hi = T.alloc_buffer((4, half_tokens), tile_dtype)
                    # token-major lanes of up to 4 block rows, each buffer < 1 KiB (see above)
                    tokens0 = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens0_hi = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens1 = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens1_hi = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens2 = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens2_hi = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens3 = T.alloc_buffer((2, 64), lanes_dtype)
                    tokens3_hi = T.alloc_buffer((2, 64), lanes_dtype)
                    # a task's staged output lines (stage_lines: 4 KiB, so a heap workspace)
                    line = T.alloc_buffer(line_shape, lanes_dtype)
                    XT_flat = T.decl_buffer((k * mp,), "uint8", data=XT.data)
                    tile_ptr = T.address_of(XT_flat[vmo * 64])
                    XT_tile = T.decl_buffer((k * mp,), "uint8", data=tile_ptr)
                    if stage_lines:
                        for rr in range(line_rows):
                            with T.sblock("line_row"):
                                vrow = T.axis.opaque(nb, vbr + rr)
                                unpack_block_row(vrow, vmo, "", acc, acc_hi, packed, out, out_hi, tokens0,
                                                 tokens0_hi, XT, XT_tile, w_data, w_xt_offsets, w_group_ptr,
                                                 x_scale, x_zp, w_scale, w_row_sum, bias, out_scale, out_zp,
                                                 word_lines)
                                if word_lines:
                                    stage_row(line, tokens0, tokens0_hi, vrow, vbr)
                                elif ep.dequant:
                                    stage_row(line, out, out_hi, vrow, vbr)
                                else:
                                    stage_row(line, acc, acc_hi, vrow, vbr)
                        emit_line_stores(line, vmo, vbr, Y, residual, out_scale, out_zp)
                    else:
                        unpack_block_row(vbr, vmo, "", acc, acc_hi, packed, out, out_hi, tokens0, tokens0_hi, XT,
                                         XT_tile, w_data, w_xt_offsets, w_group_ptr, x_scale, x_zp, w_scale,
                                         w_row_sum, bias, out_scale, out_zp, not ep.transposed_out)
                        if rows_per_task >= 2:
                            unpack_block_row(vbr + 1, vmo, "_r1", acc, acc_hi, packed, out, out_hi, tokens1, tokens1_hi,
                                             XT, XT_tile, w_data, w_xt_offsets, w_group_ptr, x_scale, x_zp, w_scale,
                                             w_row_sum, bias, out_scale, out_zp, not ep.transposed_out)
                        if rows_per_task == 4:
                            unpack_block_row(vbr + 2, vmo, "_r2", acc, acc_hi, packed, out, out_hi, tokens2, tokens2_hi,
                                             XT, XT_tile, w_data, w_xt_offsets, w_group_ptr, x_scale, x_zp, w_scale,
                                             w_row_sum, bias, out_scale, out_zp, not ep.transposed_out)
                            unpack_block_row(vbr + 3, vmo, "_r3", acc, acc_hi, packed, out, out_hi, tokens3, tokens3_hi,
                                             XT, XT_tile, w_data, w_xt_offsets, w_group_ptr, x_scale, x_zp, w_scale,
                                             w_row_sum, bias, out_scale, out_zp, not ep.transposed_out)
                        if ep.transposed_out:
                            for r in range(4):
                                with T.sblock("store_t"):
                                    vr = T.axis.remap("S", [r])
                                    Y[vbr * 4 + vr, T.ramp(vmo * 64, 1, 64)] = T.Shuffle(
                                        [out[vr, T.ramp(0, 1, 32)], out_hi[vr, T.ramp(0, 1, 32)]], natural)
                        if not ep.transposed_out:
                            store_tokens([tokens0, tokens1, tokens2, tokens3][:rows_per_task], 2, lambda vtv, vt: vmo * 64 + unpack_tile_token(vtv, vt), "",
                                         vbr * 4, Y, residual, out_scale, out_zp)
                            store_tokens([tokens0_hi, tokens1_hi, tokens2_hi, tokens3_hi][:rows_per_task], 2, lambda vtv, vt: vmo * 64 + unpack_tile_token(2 + vtv, vt), "_hi",
                                         vbr * 4, Y, residual, out_scale, out_zp)

        return _drop_unused_params(main)


    # The pack step gathers 4 input channels x (16 * pack_tv) tokens and interleaves them into VNNI
    # order. Two token vectors at once when every tile holds whole pairs (no clamped tail vector):
    # 32-byte rows give 2 loads + 2 vinserti64x4 + 2 vpermt2b per pair instead of 4 + 4 + 2
    # (768x768 / 3072x768 / 768x3072 at 90 %, 128 tokens: 1.025x / 1.038x / 1.009x, bit-identical)
    pack_tv = 2 if (tv_per_tile % 2 == 0 and n_vec % tv_per_tile == 0) else 1
    n_pack = tv_per_tile // pack_tv
    interleave = [c * 16 * pack_tv + v * 16 + t for v in range(pack_tv) for t in range(16) for c in range(4)]

    @T.prim_func(s_tir=True)
    def main(
        XT: T.Buffer((k, mp), "uint8"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
        w_data: T.Buffer((g, 4, 4), "int8"),
        w_xt_offsets: T.Buffer((g, 4), "int32"),
        w_group_ptr: T.Buffer((nb + 1,), "int32"),
        w_scale: T.Buffer((n,), "float32"),
        w_row_sum: T.Buffer((n,), "int32"),
        bias: T.Buffer((n,), "float32"),
        residual: T.Buffer((m, n), "float32"),
        out_scale: T.Buffer((1,), "float32"),
        out_zp: T.Buffer((1,), "int32"),
        Y: T.Buffer(y_shape, out_dtype),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for p in T.parallel(nb * n_tiles):
            with T.sblock("tile"):
                vbr = T.axis.spatial(nb, tile_block_row(p))
                vmo = T.axis.spatial(n_tiles, tile_token_tile(p))
                T.reads(_whole(XT, w_data, w_xt_offsets, w_group_ptr, *_epilogue_inputs(
                    ep, True, x_scale, x_zp, w_scale, w_row_sum, bias, residual, out_scale, out_zp)))
                T.writes(_whole(Y))
                acc = T.alloc_buffer((4, token_tile), "int32")
                packed = T.alloc_buffer((tv_per_tile, 16, 4), "uint8")
                out = T.alloc_buffer((4, token_tile), tile_dtype)
                tokens = T.alloc_buffer((tv_per_tile, 64), tile_dtype if ep.dequant else "int32")
                XT_flat = T.decl_buffer((k * mp,), "uint8", data=XT.data)  # XT rows by element offset
                for r, tv in T.grid(4, tv_per_tile):
                    with T.sblock("init"):
                        vr, vtv = T.axis.remap("SS", [r, tv])
                        acc[vr, T.ramp(vtv * 16, 1, 16)] = T.broadcast(T.int32(0), 16)
                for gi in range(w_group_ptr[vbr], w_group_ptr[vbr + 1]):
                    for pu in range(n_pack):
                        with T.sblock("pack"):
                            vg = T.axis.opaque(g, gi)
                            vpu = T.axis.spatial(n_pack, pu)
                            T.reads(XT[0:k, 0:mp], w_xt_offsets[vg, 0:4])
                            T.writes(packed[vpu * pack_tv : vpu * pack_tv + pack_tv, 0:16, 0:4])
                            if vpu == 0:
                                prefetch_weights(w_data, w_xt_offsets, vg)
                            packed.vstore(
                                [vpu * pack_tv, 0, 0],
                                T.Shuffle(
                                    [
                                        XT_flat[T.ramp(w_xt_offsets[vg, c] + T.min(vmo * tv_per_tile + vpu * pack_tv, n_vec - 1) * 16, 1, 16 * pack_tv)]
                                        for c in range(4)
                                    ],
                                    interleave,
                                ),
                            )
                    dot_lanes(acc, packed, tv_per_tile, 0, "dot", gi, w_data)
                epilogue_lanes(acc, out, tv_per_tile, "epilogue", vbr, x_scale, x_zp, w_scale, w_row_sum, bias,
                               out_scale, out_zp)
                if ep.transposed_out:
                    for r, tv in T.grid(4, tv_per_tile):
                        with T.sblock("store_t"):
                            vr, vtv = T.axis.remap("SS", [r, tv])
                            if vmo * tv_per_tile + vtv < n_vec:
                                Y[vbr * 4 + vr, T.ramp((vmo * tv_per_tile + vtv) * 16, 1, 16)] = out[
                                    vr, T.ramp(vtv * 16, 1, 16)]
                if not ep.transposed_out:
                    token_major_lanes(acc, out, tokens, tv_per_tile, "")
                    store_tokens([tokens], tv_per_tile, lambda vtv, vt: (vmo * tv_per_tile + vtv) * 16 + vt, "",
                                 vbr * 4, Y, residual, out_scale, out_zp)

    return _drop_unused_params(main)


def _int8_epilogue_lanes(acc_vec, n_idx, lanes, x_scale, x_zp, w_scale, w_row_sum, bias, out_scale, out_zp, ep):
    """Dequant (+ bias, GELU, requant when no residual follows) of ``lanes`` token accumulators
    of one output channel ``n_idx``."""
    y = T.Cast("float32x%d" % lanes, acc_vec - _bcast(x_zp[0] * w_row_sum[n_idx], lanes))
    y = y * _bcast(x_scale[0] * w_scale[n_idx], lanes)
    if ep.bias:
        y = y + _bcast(bias[n_idx], lanes)
    if ep.gelu:
        y = gelu_f32(y, lanes, fast=True)
    if ep.requant and not ep.residual:
        y = _requant_u8(y, out_scale[0], out_zp[0], lanes)
    return y


def _store_lanes(value, m_idx, n0, lanes, residual, out_scale, out_zp, ep, requant):
    """Residual add of ``lanes`` consecutive channels of token ``m_idx``, then requantization if
    ``requant`` (a kernel that already requantized in its own lanes passes False)."""
    if ep.residual:
        value = value + residual[m_idx, T.ramp(n0, 1, lanes)]
    if requant:
        value = _requant_u8(value, out_scale[0], out_zp[0], lanes)
    return value


# ----------------------------------------------------------------------------- output-lane kernels


def _out_lane_kernel(
    m: int, n: int, k: int, nnzb: int, epilogue: Epilogue, token_tile: int, kind: str
) -> tvm.tirx.PrimFunc:
    """INT8 16x4 BSR (``kind="int8_16x4"``) or FP32 1x16 BSR (``kind="fp32_1x16"``).

    Register tile: ``token_tile`` tokens x 16 output channels (one block row); each non-zero
    block is one 16-lane weight vector reused by ``token_tile`` ``vpdpbusd``/``vfmadd231ps`` whose
    activation operand is an embedded broadcast from X.
    """
    int8 = kind == "int8_16x4"
    epilogue.validate(int8_kernel=int8)
    bs_in = 4 if int8 else 1
    if n % 16 or k % bs_in:
        raise ValueError(f"{kind} needs N_out % 16 == 0 and K_in % {bs_in} == 0, got {n=}, {k=}")
    if token_tile < 1 or token_tile * 64 > MAX_TILE_BYTES:
        raise ValueError(f"{token_tile=} must be in 1..15 (token_tile x 16 x 4 bytes < 1 KiB)")
    x_dtype, w_dtype, acc_dtype = ("uint8", "int8", "int32") if int8 else ("float32", "float32", "float32")
    nb = n // 16
    n_tiles = _ceil_div(m, token_tile)
    nz = max(nnzb, 1)
    w_shape = (nz, 16, 4) if int8 else (nz, 16)
    ep = epilogue
    out_dtype = ep.out_dtype

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), x_dtype),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
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
                T.reads(_whole(X, w_data, w_indices, w_indptr, *_epilogue_inputs(
                    ep, int8, x_scale, x_zp, w_scale, w_row_sum, bias, residual, out_scale, out_zp)))
                T.writes(_whole(Y))
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
                                    X[T.min(vmo * token_tile + vt, m - 1), w_indices[vb] * 4 + vc], "int32"
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
                                acc[vt, vj] = acc[vt, vj] + X[
                                    T.min(vmo * token_tile + vt, m - 1), w_indices[vb]
                                ] * w_data[vb, vj]
                for t in range(token_tile):
                    with T.sblock("store"):
                        vt = T.axis.remap("S", [t])
                        if vmo * token_tile + vt < m:
                            Y[vmo * token_tile + vt, T.ramp(vbr * 16, 1, 16)] = _store_lanes(
                                _out_lane_epilogue(
                                    acc[vt, T.ramp(0, 1, 16)], vbr * 16, int8,
                                    x_scale, x_zp, w_scale, w_row_sum, bias, ep,
                                ),
                                vmo * token_tile + vt, vbr * 16, 16, residual, out_scale, out_zp, ep,
                                requant=ep.requant,
                            )

    return _drop_unused_params(main)


def _out_lane_epilogue(acc_vec, n0, int8, x_scale, x_zp, w_scale, w_row_sum, bias, ep):
    if int8 and not ep.dequant:
        return acc_vec
    n_vec = T.ramp(n0, 1, 16)
    if int8:
        y = T.Cast("float32x16", acc_vec - _bcast(x_zp[0], 16) * w_row_sum[n_vec])
        y = y * (_bcast(x_scale[0], 16) * w_scale[n_vec])
    else:
        y = acc_vec
    if ep.bias:
        y = y + bias[n_vec]
    if ep.gelu:
        y = gelu_f32(y, 16, fast=int8)
    return y


#: Tokens per tile of the staged FP32 1x16 kernel: one block's 16 activations are then one
#: aligned 64-byte line of the staged ``XS[tile, K, 16]``.
FP32_STAGED_TILE = 16


def _transposed_row(X, m: int, row0, col0, j: int):
    """Column ``col0 + j`` of the 16 x 16 tile of ``X f32[M, K]`` at (``row0``, ``col0``), as one
    16-lane vector: one shuffle of the tile's 16 contiguous row loads (rows past ``M`` clamped)."""
    rows = [X[T.min(row0 + i, m - 1), T.ramp(col0, 1, 16)] for i in range(16)]
    return T.Shuffle(rows, [16 * i + j for i in range(16)])


def bsr_dense_fp32_1x16_staged(
    m: int, n: int, k: int, nnzb: int, epilogue: Epilogue = Epilogue("float32"), tiles_outer: bool = True,
    prefetch_weights: int = 32, prefetch_x: int = 16,
) -> tvm.tirx.PrimFunc:
    """FP32 1x16 BSR (1 input channel x 16 output channels) over a staged copy of the activations.

    ``X f32[M, K]`` is first copied, transposed per 16-token tile, into ``XS[ceil(M/16), K, 16]``
    (a workspace): a block's 16 tile activations are then one aligned 64-byte line, where
    ``X`` spreads them over 16 lines ``4 K`` bytes apart (at K = 1024 or 4096 all in one L1 set).
    The weight arrays and the output are as :func:`bsr_dense_fp32_1x16`. The register tile is 16
    tokens x 16 channels in two 8-token accumulators (each < 1 KiB). ``tiles_outer``: parallel
    tasks walk every block row of a token tile before the next tile (the tile's ``XS`` slab,
    ``64 K`` bytes, stays in cache while the weights stream), else the reverse.

    Measured (1 thread, 90 %, + bias; direct tile 12 -> staged, tiles outer): 1024x4096x384
    13.8 -> 4.1 ms (rows outer 8.4), 4096x1024x128 1.30 -> 1.08, 1024x1024x384 1.43 -> 0.94,
    768x768x128 0.172 -> 0.156; 256x256x128 0.021 -> 0.023 (the copy is not paid back there).

    ``prefetch_weights`` / ``prefetch_x``: blocks ahead whose weight line / ``XS`` line each
    block iteration prefetches (0: none). The slab line is a data-dependent address the
    hardware prefetchers cannot guess: 16 ahead ran 768x3072x128 0.745 -> 0.596 ms and
    1024x4096x384 4.09 -> 3.04 ms (with 32 for the weights; weights alone: no gain in isolation)."""
    epilogue.validate(int8_kernel=False)
    if n % 16:
        raise ValueError(f"fp32_1x16 needs N_out % 16 == 0, got {n=}")
    tile = FP32_STAGED_TILE
    half = tile // 2
    nb, n_tiles, nz = n // 16, _ceil_div(m, tile), max(nnzb, 1)
    k_chunks = k // 16  # K % 16 columns are staged one lane-gather at a time
    ep = epilogue

    def tile_block_row(p):
        return p % nb if tiles_outer else p // n_tiles

    def tile_token_tile(p):
        return p // nb if tiles_outer else p % n_tiles

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        w_data: T.Buffer((nz, 16), "float32"),
        w_indices: T.Buffer((nz,), "int32"),
        w_indptr: T.Buffer((nb + 1,), "int32"),
        bias: T.Buffer((n,), "float32"),
        residual: T.Buffer((m, n), "float32"),
        Y: T.Buffer((m, n), "float32"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        # XS is allocated in a block under the root: SplitLayoutRewritePreproc wants a block in
        # every statement under the root, and an allocation there is a statement of its own.
        with T.sblock("root"):
            with T.sblock("staged"):
                T.reads(_whole(X, w_data, w_indices, w_indptr, *_epilogue_inputs(
                    ep, False, None, None, None, None, bias, residual, None, None)))
                T.writes(_whole(Y))
                XS = T.alloc_buffer((n_tiles, k, tile), "float32")
                if k_chunks > 0:
                    for g in T.parallel(n_tiles * k_chunks):
                        with T.sblock("stage_x"):
                            vmo = T.axis.spatial(n_tiles, g // k_chunks)
                            vkc = T.axis.spatial(k_chunks, g % k_chunks)
                            T.reads(X[0:m, vkc * 16:vkc * 16 + 16])
                            T.writes(XS[vmo, vkc * 16:vkc * 16 + 16, 0:tile])
                            for j in T.unroll(16):
                                XS[vmo, vkc * 16 + j, T.ramp(0, 1, 16)] = _transposed_row(X, m, vmo * tile, vkc * 16, j)
                if k % 16 != 0:
                    for mo, kk in T.grid(n_tiles, k % 16):
                        with T.sblock("stage_x_tail"):
                            vmo, vk = T.axis.remap("SS", [mo, kk])
                            T.reads(X[0:m, k_chunks * 16 + vk])
                            T.writes(XS[vmo, k_chunks * 16 + vk, 0:tile])
                            X_flat = T.decl_buffer((m * k,), "float32", data=X.data)
                            XS[vmo, k_chunks * 16 + vk, T.ramp(0, 1, 16)] = X_flat[
                                T.min(T.ramp(vmo * tile, 1, 16), T.broadcast(m - 1, 16)) * k + k_chunks * 16 + vk]
                for p in T.parallel(nb * n_tiles):
                    with T.sblock("tile"):
                        vbr = T.axis.spatial(nb, tile_block_row(p))
                        vmo = T.axis.spatial(n_tiles, tile_token_tile(p))
                        T.reads(_whole(XS, w_data, w_indices, w_indptr, *_epilogue_inputs(
                            ep, False, None, None, None, None, bias, residual, None, None)))
                        T.writes(_whole(Y))
                        acc = T.alloc_buffer((half, 16), "float32")
                        acc_hi = T.alloc_buffer((half, 16), "float32")
                        for t in range(half):
                            with T.sblock("init"):
                                vt = T.axis.remap("S", [t])
                                acc[vt, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                                acc_hi[vt, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                        for b in range(w_indptr[vbr], w_indptr[vbr + 1]):
                            if prefetch_weights > 0:  # an address past the end: a prefetch never faults
                                prefetch(T.address_of(w_data[b + prefetch_weights, 0]))
                            if prefetch_x > 0:  # the index is loaded: clamped
                                prefetch(T.address_of(XS[vmo, w_indices[T.min(b + prefetch_x, nz - 1)], 0]))
                            for t, j in T.grid(half, 16):
                                with T.sblock("dot"):
                                    vb = T.axis.reduce(nz, b)
                                    vt, vj = T.axis.remap("SS", [t, j])
                                    T.reads(acc[vt, vj], XS[vmo, w_indices[vb], vt], w_data[vb, vj])
                                    T.writes(acc[vt, vj])
                                    acc[vt, vj] = acc[vt, vj] + XS[vmo, w_indices[vb], vt] * w_data[vb, vj]
                            for t, j in T.grid(half, 16):
                                with T.sblock("dot_hi"):
                                    vb = T.axis.reduce(nz, b)
                                    vt, vj = T.axis.remap("SS", [t, j])
                                    T.reads(acc_hi[vt, vj], XS[vmo, w_indices[vb], half + vt], w_data[vb, vj])
                                    T.writes(acc_hi[vt, vj])
                                    acc_hi[vt, vj] = acc_hi[vt, vj] + XS[vmo, w_indices[vb], half + vt] * w_data[vb, vj]
                        for t in range(tile):
                            with T.sblock("store"):
                                vt = T.axis.remap("S", [t])
                                if vmo * tile + vt < m:
                                    Y[vmo * tile + vt, T.ramp(vbr * 16, 1, 16)] = _store_lanes(
                                        _out_lane_epilogue(
                                            T.if_then_else(vt < half, acc[T.min(vt, half - 1), T.ramp(0, 1, 16)],
                                                           acc_hi[T.max(vt - half, 0), T.ramp(0, 1, 16)]),
                                            vbr * 16, False, None, None, None, None, bias, ep,
                                        ),
                                        vmo * tile + vt, vbr * 16, 16, residual, None, None, ep, requant=False,
                                    )

    return _drop_unused_params(main)


def bsr_dense_int8_16x4(m, n, k, nnzb, epilogue: Epilogue = Epilogue("int32"), token_tile: int = 12):
    """INT8 BSR with 16x4 blocks (16 output x 4 input channels): ``X u8[M, K]`` row-major,
    ``w_data s8[nnzb, 16, 4]``, ``w_indices i32[nnzb]`` (block column = input channel / 4),
    ``w_indptr i32[N/16 + 1]``; other parameters as :func:`bsr_dense_int8_4x1`."""
    return _out_lane_kernel(m, n, k, nnzb, epilogue, token_tile, "int8_16x4")


def bsr_dense_fp32_1x16(m, n, k, nnzb, epilogue: Epilogue = Epilogue("float32"), token_tile: int = 12):
    """FP32 BSR with "1x16" blocks (1 input channel x 16 output channels, i.e. ``(16, 1)`` in
    ``W[N_out, K_in]``): ``X f32[M, K]``, ``w_data f32[nnzb, 16]``, ``w_indices i32[nnzb]``
    (input channel), ``w_indptr i32[N/16 + 1]``, optional ``bias f32[N]``, ``residual f32[M, N]``.
    The direct form: a tile's activations are read from ``X`` rows ``4 K`` bytes apart. The
    default build uses :func:`bsr_dense_fp32_1x16_staged` (same arrays); this one stays a tuning
    variant (token tiles 4-15)."""
    return _out_lane_kernel(m, n, k, nnzb, epilogue, token_tile, "fp32_1x16")


def dense_int8(m, n, k, epilogue: Epilogue = Epilogue("int32"), token_tile: int = 12):
    """Our dense INT8 VNNI kernel: the 16x4 kernel over a fully dense block pattern.

    Takes ``w_data = pack_dense_vnni(W).reshape(-1, 16, 4)`` (row-major ``[N/16 * K/4, 16, 4]``),
    ``w_indices = tile(arange(K/4), N/16)``, ``w_indptr = arange(0, N/16 + 1) * K/4``: index reads
    are one extra load per 12 ``vpdpbusd`` and keep one definition of the kernel."""
    return _out_lane_kernel(m, n, k, (n // 16) * (k // 4), epilogue, token_tile, "int8_16x4")


# ----------------------------------------------------------------------------- activation quantization


# Parsed once per shape (lru_cache): a model asks for the same one per layer, and TVMScript
# parsing dominates compile time. PrimFuncs are immutable, so sharing them is safe.
@functools.lru_cache(maxsize=None)
def quantize_transpose_u8(m: int, k: int) -> tvm.tirx.PrimFunc:
    """``XT[K, Mp] = clip(rint(X[M, K] * (1 / x_scale)) + x_zp, 0, 255)`` transposed, zero padded.

    Parameters: ``X f32[M, K]``, ``x_scale f32[1]``, ``x_zp i32[1]``, ``XT u8[K, Mp]`` with
    ``Mp = padded_tokens(M)``. Padding tokens are 0 (their outputs are never stored).

    With ``K % 16 == 0`` each task takes a 16 tokens x 16 channels tile: 16 contiguous row
    loads, quantized in zmm, then a byte transpose in registers and 16 16-byte stores (the
    plain form gathers 16 floats K apart per vector: measured 0.31 ms against 0.09 ms for the
    tiled form on 128 x 3072, 1 thread). The transpose is spelled out as 4 ``vpermb`` (4 tokens
    x 16 channels -> 16 channels x 4 tokens, one dword each) and a 4 x 4 dword transpose by
    ``unpack`` shuffles: one 256-byte shuffle left LLVM ~80 blend/permute ops per tile (128 x 768:
    17.9 -> 12.7 us). Other K use the plain form."""
    mp = padded_tokens(m)
    if k % 16:
        return _quantize_transpose_u8_plain(m, k)
    n_groups, n_chunks = mp // 16, k // 16

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            for g in T.parallel(n_groups * n_chunks):
                with T.sblock("tile"):
                    vg = T.axis.spatial(n_groups * n_chunks, g)
                    T.reads(X[0:m, 0:k], x_scale[0:1], x_zp[0:1])
                    T.writes(XT[0:k, 0:mp])
                    tile = T.alloc_buffer((256,), "uint8")  # [token][channel]
                    col4 = T.alloc_buffer((64,), "int32")  # 4 x [channel][4 tokens]
                    half = T.alloc_buffer((64,), "int32")
                    full = T.alloc_buffer((64,), "int32")  # [channel % 4][channel // 4][16 tokens]
                    for t in T.unroll(16):
                        tile[T.ramp(t * 16, 1, 16)] = T.if_then_else(
                            (vg // n_chunks) * 16 + t < m,
                            _requant_u8(X[T.min((vg // n_chunks) * 16 + t, m - 1), T.ramp((vg % n_chunks) * 16, 1, 16)],
                                        x_scale[0], x_zp[0], 16),
                            T.broadcast(T.uint8(0), 16),
                        )
                    for j in T.unroll(4):
                        col4[T.ramp(j * 16, 1, 16)] = T.reinterpret(
                            "int32x16", T.Shuffle([tile[T.ramp(j * 64, 1, 64)]], _TOKENS4_BY_CHANNEL))
                    for j in T.unroll(2):
                        half[T.ramp(j * 32, 1, 16)] = T.Shuffle(
                            [col4[T.ramp(j * 32, 1, 16)], col4[T.ramp(j * 32 + 16, 1, 16)]], _UNPACK_LO_DWORDS)
                        half[T.ramp(j * 32 + 16, 1, 16)] = T.Shuffle(
                            [col4[T.ramp(j * 32, 1, 16)], col4[T.ramp(j * 32 + 16, 1, 16)]], _UNPACK_HI_DWORDS)
                    for j in T.unroll(2):
                        full[T.ramp(j * 32, 1, 16)] = T.Shuffle(
                            [half[T.ramp(j * 16, 1, 16)], half[T.ramp(j * 16 + 32, 1, 16)]], _UNPACK_LO_QWORDS)
                        full[T.ramp(j * 32 + 16, 1, 16)] = T.Shuffle(
                            [half[T.ramp(j * 16, 1, 16)], half[T.ramp(j * 16 + 32, 1, 16)]], _UNPACK_HI_QWORDS)
                    for r in T.unroll(4):
                        for lane in T.unroll(4):
                            XT[(vg % n_chunks) * 16 + 4 * lane + r, T.ramp((vg // n_chunks) * 16, 1, 16)] = T.reinterpret(
                                "uint8x16", full[T.ramp(r * 16 + 4 * lane, 1, 4)])

    return main


# Byte/dword shuffles of quantize_transpose_u8's in-register 16 x 16 transpose.
# 64 bytes = 4 tokens x 16 channels -> 16 channels x 4 tokens (one vpermb):
_TOKENS4_BY_CHANNEL = [t * 16 + c for c in range(16) for t in range(4)]
# Per 128-bit lane, as vpunpck{l,h}{dq,qdq} on (a, b); index 16+ is b's dword:
_UNPACK_LO_DWORDS = [x for lane in range(4) for x in (4 * lane, 16 + 4 * lane, 4 * lane + 1, 17 + 4 * lane)]
_UNPACK_HI_DWORDS = [x for lane in range(4) for x in (4 * lane + 2, 18 + 4 * lane, 4 * lane + 3, 19 + 4 * lane)]
_UNPACK_LO_QWORDS = [x for lane in range(4) for x in (4 * lane, 4 * lane + 1, 16 + 4 * lane, 17 + 4 * lane)]
_UNPACK_HI_QWORDS = [x for lane in range(4) for x in (4 * lane + 2, 4 * lane + 3, 18 + 4 * lane, 19 + 4 * lane)]


def _quantize_transpose_u8_plain(m: int, k: int) -> tvm.tirx.PrimFunc:
    mp = padded_tokens(m)

    @T.prim_func(s_tir=True)
    def main(
        X: T.Buffer((m, k), "float32"),
        x_scale: T.Buffer((1,), "float32"),
        x_zp: T.Buffer((1,), "int32"),
        XT: T.Buffer((k, mp), "uint8"),
    ):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for kk, mm in T.grid(k, mp):
            with T.sblock("quantize"):
                vk, vm = T.axis.remap("SS", [kk, mm])
                XT[vk, vm] = T.if_then_else(
                    vm < m,
                    _requant_u8(X[T.min(vm, m - 1), vk], x_scale[0], x_zp[0], 1),
                    T.uint8(0),
                )

    return main


@T.macro
def _range_chains_init(lo, hi):
    """Zero the 4 independent 16-lane min (``lo``) and max (``hi``) chains of a range pass (the
    range always includes 0; 4 chains so no vector waits on the previous ``vminps``)."""
    for u in T.unroll(4):
        lo[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
        hi[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)


@T.macro
def _range_chains_store(part, vc, lo, hi):
    """Row chunk ``vc``'s 16 lanes of min then 16 of max in ``part`` (what
    :func:`_qparams_from_partials` combines), from the 4 chains of :func:`_range_chains_init`."""
    part[T.ramp(vc * 32, 1, 16)] = T.min(T.min(lo[0, T.ramp(0, 1, 16)], lo[1, T.ramp(0, 1, 16)]),
                                         T.min(lo[2, T.ramp(0, 1, 16)], lo[3, T.ramp(0, 1, 16)]))
    part[T.ramp(vc * 32 + 16, 1, 16)] = T.max(T.max(hi[0, T.ramp(0, 1, 16)], hi[1, T.ramp(0, 1, 16)]),
                                              T.max(hi[2, T.ramp(0, 1, 16)], hi[3, T.ramp(0, 1, 16)]))


@T.macro
def _qparams_from_partials(part, n_chunks, x_scale, x_zp):
    """``x_scale``/``x_zp`` (u8, range widened to include 0) from ``part``: per row chunk 16 lanes
    of min then 16 of max; float32 steps as :func:`tvm_blocksparse.format.dynamic_activation_qparams`."""
    with T.sblock("combine"):
        T.reads(part[0 : n_chunks * 32])
        T.writes(x_scale[0:1], x_zp[0:1])
        red = T.alloc_buffer((2,), "float32")
        red[0] = part[0]
        red[1] = part[16]
        for c2, l in T.grid(n_chunks, 16):
            red[0] = T.min(red[0], part[c2 * 32 + l])
            red[1] = T.max(red[1], part[c2 * 32 + 16 + l])
        x_scale[0] = T.if_then_else(red[1] > red[0], (red[1] - red[0]) / T.float32(255), T.float32(1))
        x_zp[0] = T.Cast("int32", T.max(T.min(T.nearbyint(-red[0] / x_scale[0]), T.float32(255)), T.float32(0)))


@functools.lru_cache(maxsize=None)
def dynamic_qparams(m: int, k: int) -> tvm.tirx.PrimFunc:
    """Per-tensor u8 parameters from the tensor's range at run time (dynamic quantization).

    ``X f32[M, K]`` -> ``x_scale f32[1]``, ``x_zp i32[1]`` covering ``[min(X, 0), max(X, 0)]``,
    in float32 arithmetic exactly as :func:`tvm_blocksparse.format.dynamic_activation_qparams`.
    Row chunks in parallel (a serial version left the second core idle for 0.6 ms per BERT-Base
    inference), each with 4 independent 16-lane min and max chains: with one chain every vector
    waited for the previous ``vminps`` (4 cycles), 16 B per cycle, ~48 us on 3072 x 128 in
    BERT-Base; then one serial combine."""
    kv = k // 16
    kv4 = kv // 4 * 4
    k16 = kv * 16
    n_chunks = min(m, 8)
    rows = -(-m // n_chunks)

    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((m, k), "float32"), x_scale: T.Buffer((1,), "float32"), x_zp: T.Buffer((1,), "int32")):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            part = T.sblock_alloc_buffer((n_chunks * 32,), "float32")  # per chunk: 16 lanes of min, of max
            for c in T.parallel(n_chunks):
                with T.sblock("partial"):
                    vc = T.axis.spatial(n_chunks, c)
                    T.reads(X[0:m, 0:k])
                    T.writes(part[vc * 32 : vc * 32 + 32])
                    lo = T.alloc_buffer((4, 16), "float32")
                    hi = T.alloc_buffer((4, 16), "float32")
                    _range_chains_init(lo, hi)
                    for i in range(rows):
                        if vc * rows + i < m:
                            for v4 in range(kv4 // 4):
                                for u in T.unroll(4):  # constant indices: the chains stay in registers
                                    lo[u, T.ramp(0, 1, 16)] = T.min(
                                        lo[u, T.ramp(0, 1, 16)], X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)])
                                    hi[u, T.ramp(0, 1, 16)] = T.max(
                                        hi[u, T.ramp(0, 1, 16)], X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)])
                            for kk in range(kv - kv4):
                                lo[0, T.ramp(0, 1, 16)] = T.min(lo[0, T.ramp(0, 1, 16)], X[vc * rows + i, T.ramp((kv4 + kk) * 16, 1, 16)])
                                hi[0, T.ramp(0, 1, 16)] = T.max(hi[0, T.ramp(0, 1, 16)], X[vc * rows + i, T.ramp((kv4 + kk) * 16, 1, 16)])
                            for kt in range(k - k16):
                                lo[0, 0] = T.min(lo[0, 0], X[vc * rows + i, k16 + kt])
                                hi[0, 0] = T.max(hi[0, 0], X[vc * rows + i, k16 + kt])
                    _range_chains_store(part, vc, lo, hi)
            _qparams_from_partials(part, n_chunks, x_scale, x_zp)

    return main


@functools.lru_cache(maxsize=None)
def layer_norm_qparams(m: int, k: int, eps: float) -> tvm.tirx.PrimFunc:
    """``Y = (X - mean) / sqrt(var + eps) * gamma + beta`` over the last axis, and ``Y``'s u8
    quantization parameters (those :func:`dynamic_qparams` would compute from ``Y``).

    Parameters ``X f32[M, K]``, ``gamma f32[K]``, ``beta f32[K]``; outputs ``Y f32[M, K]``,
    ``x_scale f32[1]``, ``x_zp i32[1]``. ``K % 64 == 0``. Row chunks in parallel; per row three
    16-lane passes over ``X`` (mean; variance around it; normalize with running min/max in 4
    independent chains), so the range costs no pass of its own: in BERT every LayerNorm but the
    last feeds a Linear. TVM's legalized LayerNorm took 24 us on 128 x 768 (1 thread), the range
    pass 7 more."""
    if k % 64:
        raise ValueError(f"layer_norm_qparams needs K % 64 == 0, got {k=}")
    kv = k // 16
    n_chunks = min(m, 8)
    rows = -(-m // n_chunks)
    inv_k, eps = float(np.float32(1.0 / k)), float(np.float32(eps))

    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((m, k), "float32"), gamma: T.Buffer((k,), "float32"), beta: T.Buffer((k,), "float32"),
             Y: T.Buffer((m, k), "float32"), x_scale: T.Buffer((1,), "float32"), x_zp: T.Buffer((1,), "int32")):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        with T.sblock("root"):
            part = T.sblock_alloc_buffer((n_chunks * 32,), "float32")
            for c in T.parallel(n_chunks):
                with T.sblock("rows"):
                    vc = T.axis.spatial(n_chunks, c)
                    T.reads(X[0:m, 0:k], gamma[0:k], beta[0:k])
                    T.writes(Y[0:m, 0:k], part[vc * 32 : vc * 32 + 32])
                    acc = T.alloc_buffer((4, 16), "float32")  # 4 independent chains: vaddps latency
                    lo = T.alloc_buffer((4, 16), "float32")
                    hi = T.alloc_buffer((4, 16), "float32")
                    stat = T.alloc_buffer((2, 16), "float32")  # mean (then -mean / std), 1 / std in every lane
                    y = T.alloc_buffer((16,), "float32")
                    _range_chains_init(lo, hi)
                    for i in range(rows):
                        if vc * rows + i < m:
                            for u in T.unroll(4):
                                acc[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                            for v4 in range(kv // 4):
                                for u in T.unroll(4):  # constant indices: the chains stay in registers
                                    acc[u, T.ramp(0, 1, 16)] = acc[u, T.ramp(0, 1, 16)] + X[
                                        vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)]
                            acc[0, T.ramp(0, 1, 16)] = (acc[0, T.ramp(0, 1, 16)] + acc[1, T.ramp(0, 1, 16)]) + (
                                acc[2, T.ramp(0, 1, 16)] + acc[3, T.ramp(0, 1, 16)])
                            stat[0, T.ramp(0, 1, 16)] = _allreduce16(acc[0, T.ramp(0, 1, 16)], T.Add) * _fconst(inv_k, 16)
                            for u in T.unroll(4):
                                acc[u, T.ramp(0, 1, 16)] = T.broadcast(T.float32(0), 16)
                            for v4 in range(kv // 4):
                                for u in T.unroll(4):  # constant indices: the chains stay in registers
                                    y[T.ramp(0, 1, 16)] = X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)] - stat[0, T.ramp(0, 1, 16)]
                                    acc[u, T.ramp(0, 1, 16)] = acc[u, T.ramp(0, 1, 16)] + y[T.ramp(0, 1, 16)] * y[T.ramp(0, 1, 16)]
                            acc[0, T.ramp(0, 1, 16)] = (acc[0, T.ramp(0, 1, 16)] + acc[1, T.ramp(0, 1, 16)]) + (
                                acc[2, T.ramp(0, 1, 16)] + acc[3, T.ramp(0, 1, 16)])
                            stat[1, T.ramp(0, 1, 16)] = _fconst(1.0, 16) / T.sqrt(
                                _allreduce16(acc[0, T.ramp(0, 1, 16)], T.Add) * _fconst(inv_k, 16) + _fconst(eps, 16))
                            stat[0, T.ramp(0, 1, 16)] = _fconst(0.0, 16) - stat[0, T.ramp(0, 1, 16)] * stat[1, T.ramp(0, 1, 16)]
                            for v4 in range(kv // 4):
                                for u in T.unroll(4):  # constant indices: the chains stay in registers
                                    # (x - mean) / std * gamma + beta as two FMAs: x / std + (-mean / std), then * gamma + beta
                                    y[T.ramp(0, 1, 16)] = (X[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)] * stat[1, T.ramp(0, 1, 16)]
                                                           + stat[0, T.ramp(0, 1, 16)]) * gamma[
                                        T.ramp((v4 * 4 + u) * 16, 1, 16)] + beta[T.ramp((v4 * 4 + u) * 16, 1, 16)]
                                    Y[vc * rows + i, T.ramp((v4 * 4 + u) * 16, 1, 16)] = y[T.ramp(0, 1, 16)]
                                    lo[u, T.ramp(0, 1, 16)] = T.min(lo[u, T.ramp(0, 1, 16)], y[T.ramp(0, 1, 16)])
                                    hi[u, T.ramp(0, 1, 16)] = T.max(hi[u, T.ramp(0, 1, 16)], y[T.ramp(0, 1, 16)])
                    _range_chains_store(part, vc, lo, hi)
            _qparams_from_partials(part, n_chunks, x_scale, x_zp)

    return main


@functools.lru_cache(maxsize=None)
def quantize_u8(m: int, k: int) -> tvm.tirx.PrimFunc:
    """``Xq[M, K] = clip(rint(X * (1 / x_scale)) + x_zp, 0, 255)`` (row-major: the 16x4 / dense INT8
    kernels' input, and a 4x1 kernel's ``XT`` from a producer that stored ``X^T``).
    Parameters: ``X f32[M, K]``, ``x_scale f32[1]``, ``x_zp i32[1]``, ``Xq u8[M, K]``.
    Rows in parallel, written as 16-lane vectors (the scalar form, vectorized by the schedule,
    ran 0.10 ms on 1024 x 128, 1 thread: ~6x slower)."""
    k16 = k // 16

    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((m, k), "float32"), x_scale: T.Buffer((1,), "float32"),
             x_zp: T.Buffer((1,), "int32"), Xq: T.Buffer((m, k), "uint8")):
        T.func_attr({"global_symbol": "main", "tirx.noalias": True})
        for i in T.parallel(m):
            with T.sblock("quantize"):
                vi = T.axis.spatial(m, i)
                T.reads(X[vi, 0:k], x_scale[0:1], x_zp[0:1])
                T.writes(Xq[vi, 0:k])
                for kk in range(k16):
                    Xq[vi, T.ramp(kk * 16, 1, 16)] = _requant_u8(X[vi, T.ramp(kk * 16, 1, 16)], x_scale[0], x_zp[0], 16)
                for kt in range(k - k16 * 16):
                    Xq[vi, k16 * 16 + kt] = _requant_u8(X[vi, k16 * 16 + kt], x_scale[0], x_zp[0], 1)

    return main
