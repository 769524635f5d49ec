"""Default x86 schedules for the PrimFuncs a BERT graph lowers to (no tuning needed).

TVM 0.27's Relax CPU pipeline legalizes and fuses ops but schedules none of them: every op runs
as naive single-threaded scalar loops. These dlight-style rules close that gap. A rule takes a
PrimFunc and returns a :class:`tvm.s_tir.Schedule`, or ``None`` when it does not apply; the
:class:`ApplyScheduleRules` pass tries them in order and leaves unmatched functions to TVM's
default lowering (correct, slow), recording which rule each PrimFunc got.

Rules (in registry order):

- :class:`Matmul`: ``C[..., i, j] = sum_k A[..., i, k] * B[..., k, j]`` (FP32 Linear layers with
  ``B = W[K_in, N_out]``, and the attention batch matmuls ``Q K^T`` / ``P V``) with its fused
  elementwise epilogue (bias, scale, mask add, GELU, residual add). Register tile of
  ``rows x vectors`` accumulators kept in zmm registers, epilogue computed on the tile while it
  is hot, parallel over batch x column strips x row tiles.
- :class:`RowReduction`: softmax (with fused scale/mask) and LayerNorm: one row per task,
  reductions and elementwise passes vectorized.
- :class:`Injective`: transposes, reshapes, gathers, elementwise chains: flattened, vectorized
  along the innermost output axis, parallel over the rest.
"""

from __future__ import annotations

import dataclasses
import logging

import tvm
from tvm import s_tir, tirx
from tvm.s_tir.dlight.analysis import normalize_prim_func
from tvm.s_tir.dlight.base import ScheduleRule
from tvm.target import Target

from tvm_blocksparse.isa import vector_bits
from tvm_blocksparse.isa.common import fp32_tile_intrin

logger = logging.getLogger(__name__)

#: Function attribute that marks a PrimFunc as already scheduled (our kernels carry it too).
SCHEDULED_ATTR = "tirx.is_scheduled"
#: Function attribute naming the rule that scheduled a PrimFunc.
RULE_ATTR = "tvm_blocksparse.schedule_rule"

# Grain of a parallel task, in elements, for memory-bound loops: smaller tasks cost more in
# thread-pool overhead than they gain on 2-16 cores.
_MIN_PARALLEL_ELEMS = 4096


def _is_cpu(target: Target) -> bool:
    return target.kind.name == "llvm"


def _vector_lanes(target: Target, dtype_bits: int = 32) -> int:
    return max(vector_bits(target) // dtype_bits, 1)


def _const_extent(sch: s_tir.Schedule, loop) -> int | None:
    ext = sch.get(loop).extent
    return int(ext) if isinstance(ext, tirx.IntImm) else None


def _largest_divisor_at_most(n: int, cap: int) -> int:
    for d in range(min(n, cap), 0, -1):
        if n % d == 0:
            return d
    return 1


def _vectorize_innermost(sch: s_tir.Schedule, block, lanes: int) -> None:
    """Split the innermost loop of ``block`` by ``lanes`` (exactly, or not at all) and vectorize."""
    loops = sch.get_loops(block)
    if not loops:
        return
    extent = _const_extent(sch, loops[-1])
    if extent is None or extent < 2:
        return
    if extent % lanes == 0 and extent > lanes:
        _, inner = sch.split(loops[-1], [None, lanes])
        sch.vectorize(inner)
    elif extent <= lanes or extent % lanes:
        # A tail would turn the vector loop into predicated scalar code; vectorize the largest
        # lane count that divides the extent instead.
        width = _largest_divisor_at_most(extent, lanes)
        if width >= 2:
            if width < extent:
                _, inner = sch.split(loops[-1], [None, width])
                sch.vectorize(inner)
            else:
                sch.vectorize(loops[-1])


@dataclasses.dataclass
class Matmul(ScheduleRule):
    """(Batched) matmul with an elementwise epilogue, register-tiled in the target's vectors
    (zmm on AVX-512, ymm on AVX2: :func:`tvm_blocksparse.isa.vector_bits`).

    Layout contract: the reduction block reads ``A[..., i, k]`` and ``B[..., k, j]`` (``j``
    contiguous in ``B``, which is how ONNX Linear weights ``[K_in, N_out]`` and the importer's
    ``K^T`` arrive) and writes ``C[..., i, j]``. The tile is ``rows`` output rows x
    ``vectors`` vectors of ``j``: ``rows * vectors`` accumulators stay in registers over the whole
    ``k`` loop, each step loads ``vectors`` B vectors and broadcasts ``rows`` A scalars.
    ``rows``/``vectors`` ``None`` picks the tile per shape (:func:`choose_tile`).
    """

    rows: int | None = None
    vectors: int | None = None
    #: Prefetch B this many k rows ahead where the tile allows it (0: never).
    prefetch_k: int = 64

    def apply(self, func, target, _tunable=False):
        if not isinstance(func, tirx.PrimFunc) or not _is_cpu(target):
            return None
        sch = s_tir.Schedule(func)
        infos = normalize_prim_func(sch)
        if infos is None:
            return None
        reductions = [b for b in infos if not b.is_injective()]
        if len(reductions) != 1 or not _is_gemm_block(sch, reductions[0]):
            return None
        mm = reductions[0]
        n_iters = len(sch.get(mm.block_rv).iter_vars)
        if infos.index(mm) != 0:
            return None  # producers fused before the matmul: not our pattern
        epilogue = [b for b in infos if b is not mm]
        for b in epilogue[:-1]:
            try:
                sch.compute_inline(b.block_rv)
            except Exception:
                return None
        if epilogue:
            out_block = epilogue[-1].block_rv
            if len(sch.get_loops(out_block)) != n_iters - 1:
                return None
        else:
            out_block = sch.cache_write(mm.block_rv, 0, "global")
        schedule_matmul_tile(
            sch,
            mm.block_rv,
            out_block,
            self.rows,
            self.vectors,
            _vector_lanes(target),
            pack_b=_b_is_layout_free(func, sch.get(mm.block_rv)),
            prefetch_k=self.prefetch_k,
        )
        return sch


def _is_gemm_block(sch: s_tir.Schedule, info) -> bool:
    # Block iters, not the normalized ones: those drop unit axes (one token = a GEMV).
    block = sch.get(info.block_rv)
    kinds = [iv.iter_type for iv in block.iter_vars]
    if (
        len(kinds) < 2
        or kinds[-1] != tirx.IterVar.CommReduce
        or kinds.count(tirx.IterVar.CommReduce) != 1
    ):
        return False
    if len(block.reads) != 2 or len(block.writes) != 1:
        return False
    if block.writes[0].source.dtype != "float32":
        return False
    body = block.body
    if not isinstance(body, tirx.BufferStore) or not isinstance(body.value, tirx.Add):
        return False
    *spatial, k = [iv.var for iv in block.iter_vars]
    j = spatial[-1]
    a_idx = [r.min for r in block.reads[0].region]
    b_idx = [r.min for r in block.reads[1].region]
    if len(a_idx) < 2 or len(b_idx) < 2:
        return False
    same = lambda e, v: isinstance(e, tirx.Var) and e.same_as(v)  # noqa: E731
    if not (same(a_idx[-1], k) and same(b_idx[-2], k) and same(b_idx[-1], j)):
        return False
    # Row axis: a spatial iter, or a unit axis TensorIR's normalization folded away (1 token).
    return (len(spatial) >= 2 and same(a_idx[-2], spatial[-2])) or isinstance(
        a_idx[-2], tirx.IntImm
    )


def _has_row_axis(sch: s_tir.Schedule, mm_block) -> bool:
    block = sch.get(mm_block)
    spatial = [iv.var for iv in block.iter_vars if iv.iter_type == tirx.IterVar.DataPar]
    a_row = block.reads[0].region[-2].min
    return len(spatial) >= 2 and isinstance(a_row, tirx.Var) and a_row.same_as(spatial[-2])


def _b_is_layout_free(func: tirx.PrimFunc, block) -> bool:
    """True when Relax marked B layout-free (a parameter bound to a constant,
    ``AttachAttrLayoutFreeBuffers``), so the schedule may store it pre-packed."""
    free = (
        {int(f) for f in func.attrs.get("layout_free_buffers", [])}
        if func.attrs is not None
        else set()
    )
    b_buf = block.reads[1].source
    return any(p.same_as(b_buf) and i in free for i, p in enumerate(func.params))


def choose_tile(m: int, n: int, lanes: int, prefetch_k: int) -> tuple[int, int, int]:
    """(rows, vectors, prefetch_k) of the register tile for a ``m x n`` output.

    On BERT-Base end to end a 4 x 3 tile with B prefetch beat 8 x 2 without it, though 8 x 2
    beats every other tile with hot caches (bench/README.md, "Decisions"). The
    prefetch needs the tile on the stack: TVM keeps only allocations under 1 KiB there, and a
    heap tile plus ``llvm.prefetch`` makes LLVM store every accumulator on every k step
    (measured 2x slower). So: 4 x 3 + prefetch where it tiles the output exactly, else 8 x 2 on
    zmm (32 registers) and 4 x 2 on ymm (16 registers: 8 x 2 spills half its accumulators).
    """
    if prefetch_k and m % 4 == 0 and n % (3 * lanes) == 0:
        return 4, 3, prefetch_k
    return (8, 2, 0) if lanes >= 16 else (4, 2, 0)


def schedule_matmul_tile(
    sch: s_tir.Schedule,
    mm_block,
    out_block,
    rows: int | None,
    vectors: int | None,
    lanes: int,
    pack_b: bool = False,
    prefetch_k: int = 0,
) -> None:
    """The one FP32 matmul schedule (the default rule and any tuning space call this).

    Loop nest: ``parallel(batch, j-strip, i-tile) { init; for k { rows x vectors FMAs };
    epilogue on the tile }``. Column strips outermost keep a ``K x vectors*lanes`` strip of B
    in L2 while all rows stream past it.
    """
    row_axis = _has_row_axis(sch, mm_block)
    if not row_axis:
        sch.add_unit_loop(sch.get_loops(mm_block)[-2])  # one token: a unit row loop above j
    *batch, i, j, k = sch.get_loops(mm_block)
    m_ext, n_ext = _const_extent(sch, i), _const_extent(sch, j)
    if m_ext is None or n_ext is None:
        raise ValueError("Matmul rule needs static i/j extents")
    if n_ext % lanes:
        lanes = _largest_divisor_at_most(n_ext, lanes)
    if rows is None or vectors is None:
        rows, vectors, prefetch_k = choose_tile(m_ext, n_ext, lanes, prefetch_k)
    elif rows * vectors * lanes * 4 >= 1024:
        prefetch_k = 0  # heap tile: see choose_tile
    vectors = max(1, min(vectors, n_ext // lanes))
    while n_ext % (vectors * lanes):
        vectors -= 1
    rows = min(rows, m_ext)
    if pack_b:
        # W[K, N] -> W[N / strip, K, strip]: each column strip becomes one contiguous stream
        # (a row of W is N floats apart otherwise: one TLB page per k step on FFN weights).
        # The block is marked as layout-rewrite preprocessing; SplitLayoutRewritePreproc and
        # FoldConstant then run it once at compile time on the constant weight.
        strip = vectors * lanes
        packer = sch.cache_read(mm_block, 1, "global")
        sch.transform_layout(mm_block, ("read", 1), lambda kk, nn: (nn // strip, kk, nn % strip))
        sch.annotate(packer, "meta_schedule.layout_rewrite_preproc", True)
    # Predicated rows are cheap (the guard is loop-invariant in k); a ragged j is not, so j
    # tiles always divide N exactly.
    io, ii = sch.split(i, [None, rows])
    jo, jv, jl = sch.split(j, [None, vectors, lanes])
    sch.reorder(*batch, jo, io, k, ii, jv, jl)
    outer = sch.fuse(*batch, jo, io)
    sch.parallel(outer)
    sch.reverse_compute_at(out_block, outer, preserve_unit_loops=True)
    # Loop annotations must precede decompose_reduction: afterwards the update block is no
    # longer a complete reduction and TensorIR refuses to vectorize/unroll around it.
    # The tile intrinsic needs whole tiles (a predicated row tail can't be blockized).
    use_intrin = prefetch_k > 0 and lanes == 16 and row_axis and m_ext % rows == 0
    if not use_intrin:
        sch.vectorize(jl)
        sch.unroll(jv)
        sch.unroll(ii)
    init = sch.decompose_reduction(mm_block, k)
    if use_intrin:
        # One k step of the whole tile as one intrinsic: the same FMAs plus a prefetch of B.
        sch.tensorize(ii, fp32_tile_intrin(rows, vectors * lanes, prefetch_k))
    for loop, kind in zip(sch.get_loops(init)[-3:], ("unroll", "unroll", "vectorize"), strict=True):
        if sch.get(loop).kind == tirx.ForKind.SERIAL:
            getattr(sch, kind)(loop)
    # epilogue over the tile: rows x (vectors*lanes)
    e_j = sch.get_loops(out_block)[-1]
    e_jo, e_jl = sch.split(e_j, [None, lanes])
    sch.vectorize(e_jl)
    sch.unroll(e_jo)


@dataclasses.dataclass
class RowReduction(ScheduleRule):
    """Softmax (with its fused scale and mask add) and LayerNorm: a chain of row reductions and
    elementwise blocks that share the leading spatial axes. One task = a group of rows; inside,
    every block is computed at the row, elementwise blocks vectorized along the row."""

    def apply(self, func, target, _tunable=False):
        if not isinstance(func, tirx.PrimFunc) or not _is_cpu(target):
            return None
        sch = s_tir.Schedule(func)
        infos = normalize_prim_func(sch)
        if infos is None or len(infos) < 2:
            return None
        if all(b.is_injective() for b in infos) or not infos[-1].is_injective():
            return None
        lead = min(len(b.dom_kind()) - len(b.dom_kind().lstrip("S")) for b in infos)
        # Fold single-consumer elementwise producers (the scale/mask add before softmax) into
        # their consumer; a producer read twice (softmax's exp) stays, or it would run twice.
        for b in infos[:-1]:
            if b.is_injective() and len(sch.get_consumers(b.block_rv)) == 1:
                try:
                    sch.compute_inline(b.block_rv)
                except Exception:
                    pass
        lanes = _vector_lanes(target)
        # Row reductions become `lanes` partial results (rfactor) so the hot loop is a vector
        # max/add; rfactor needs the untouched loop nest, so it comes before compute_at.
        rfactored = []
        for b in normalize_prim_func(sch) or []:
            if not b.is_injective():
                rf = _rfactor_lanes(sch, b.block_rv, lanes)
                if rf is not None:
                    rfactored.append(rf)
        # After rfactor the blocks no longer normalize; walk the root's children instead.
        blocks = sch.get_child_blocks(sch.get_sblock("root"))
        if lead == 0:
            return _schedule_single_row(sch, blocks, rfactored, lanes)
        last = blocks[-1]
        loops = sch.get_loops(last)
        lead = min(lead, len(loops) - 1)
        if lead < 1:
            return _schedule_single_row(sch, blocks, rfactored, lanes)
        row = sch.fuse(*loops[:lead]) if lead > 1 else loops[0]
        sch.parallel(row)
        _vectorize_innermost(sch, last, lanes)
        for b in reversed(blocks[:-1]):
            sch.compute_at(b, row, preserve_unit_loops=True)
        rf_names = {sch.get(rf).name_hint for rf in rfactored}
        for b in blocks[:-1]:
            if sch.get(b).name_hint in rf_names:
                # compute_at orders the loops like the block iters: (lanes, ..., reduce).
                # Put the reduce loop outside and the lanes innermost.
                inner = sch.get_loops(b)[1:]
                lane_loop, red_loop = inner[0], inner[-1]
                sch.reorder(red_loop, lane_loop)
                sch.vectorize(lane_loop)
                init = sch.decompose_reduction(b, red_loop)
                sch.vectorize(sch.get_loops(init)[-1])
            elif _is_spatial(sch, b):
                _vectorize_innermost(sch, b, lanes)
        return sch


def _is_spatial(sch: s_tir.Schedule, block) -> bool:
    return all(iv.iter_type == tirx.IterVar.DataPar for iv in sch.get(block).iter_vars)


def _schedule_single_row(sch, blocks, rfactored, lanes):
    """One row (e.g. one token): nothing to parallelize, but still vector code."""
    rf_names = {sch.get(rf).name_hint for rf in rfactored}
    for b in blocks:
        if sch.get(b).name_hint in rf_names:
            loops = sch.get_loops(b)  # (..., reduce, lanes): rfactor keeps the split order
            sch.vectorize(loops[-1])
            init = sch.decompose_reduction(b, loops[-2])
            sch.vectorize(sch.get_loops(init)[-1])
        elif _is_spatial(sch, b):
            _vectorize_innermost(sch, b, lanes)
    return sch


def _rfactor_lanes(sch: s_tir.Schedule, block, lanes: int):
    """Split the reduced (innermost) axis into ``lanes`` partial accumulators; None if it does not
    divide evenly (the reduction then stays scalar: correct, slower)."""
    loops = sch.get_loops(block)
    extent = _const_extent(sch, loops[-1])
    if extent is None or extent < 2 * lanes or extent % lanes:
        return None
    _, kl = sch.split(loops[-1], [None, lanes])
    try:
        return sch.rfactor(kl, factor_axis=0)
    except Exception:
        return None


@dataclasses.dataclass
class Injective(ScheduleRule):
    """Elementwise, transpose, reshape and gather PrimFuncs: inline to one block, vectorize the
    innermost output axis, parallel over the rest when there is enough work."""

    def apply(self, func, target, _tunable=False):
        if not isinstance(func, tirx.PrimFunc) or not _is_cpu(target):
            return None
        sch = s_tir.Schedule(func)
        infos = normalize_prim_func(sch)
        if infos is None or not all(b.is_injective() for b in infos):
            return None
        for b in infos[:-1]:
            try:
                sch.compute_inline(b.block_rv)
            except Exception:
                return None
        block = infos[-1].block_rv
        loops = sch.get_loops(block)
        if not loops:
            return sch
        lanes = _vector_lanes(target)
        inner_ext = _const_extent(sch, loops[-1])
        total = 1
        for lp in loops:
            ext = _const_extent(sch, lp)
            if ext is None:
                return None
            total *= ext
        _vectorize_innermost(sch, block, lanes)
        loops = sch.get_loops(block)
        outer = [lp for lp in loops if sch.get(lp).kind != tirx.ForKind.VECTORIZED]
        if outer and total >= _MIN_PARALLEL_ELEMS and (inner_ext or 1) < total:
            fused = sch.fuse(*outer) if len(outer) > 1 else outer[0]
            sch.parallel(fused)
        return sch


#: Rules tried in order; the first that returns a schedule wins.
DEFAULT_RULES: list[ScheduleRule] = [Matmul(), RowReduction(), Injective()]


def _rule_name(rule: ScheduleRule) -> str:
    return type(rule).__name__


@tvm.transform.module_pass(opt_level=0, name="tvm_blocksparse.ApplyScheduleRules")
class ApplyScheduleRules:
    """Apply :data:`DEFAULT_RULES` (or ``rules``) to every PrimFunc not yet scheduled.

    A rule that raises is logged and skipped (the next rule, or TVM's default, takes over): a
    schedule bug must cost speed, never correctness. ``self.listing`` maps each PrimFunc name to
    the rule that scheduled it, ``"prescheduled"`` (our kernels) or ``"fallback"``.
    """

    def __init__(self, rules: list[ScheduleRule] | None = None, target: Target | None = None):
        self.rules = list(DEFAULT_RULES if rules is None else rules)
        self.target = target
        self.listing: dict[str, str] = {}

    def transform_module(self, mod: tvm.IRModule, _ctx) -> tvm.IRModule:
        target = self.target or Target.current(allow_none=False)
        updates = {}
        for gv, func in mod.functions_items():
            if not isinstance(func, tirx.PrimFunc):
                continue
            name = gv.name_hint
            if (
                func.attrs is not None
                and SCHEDULED_ATTR in func.attrs
                and int(func.attrs[SCHEDULED_ATTR])
            ):
                self.listing[name] = str(func.attrs.get(RULE_ATTR, "prescheduled"))
                continue
            self.listing[name] = "fallback"
            for rule in self.rules:
                try:
                    sch = rule.apply(func, target, False)
                except Exception as err:
                    logger.warning("schedule rule %s failed on %s: %s", _rule_name(rule), name, err)
                    continue
                if sch is None:
                    continue
                updates[gv] = (
                    sch.mod["main"]
                    .with_attr(SCHEDULED_ATTR, True)
                    .with_attr(RULE_ATTR, _rule_name(rule))
                )
                self.listing[name] = _rule_name(rule)
                break
        for gv, func in updates.items():
            mod[gv] = func
        return mod


def format_listing(listing: dict[str, str]) -> str:
    """The debug listing: one ``rule  primfunc`` line per PrimFunc, grouped by rule."""
    width = max((len(r) for r in listing.values()), default=8)
    return "\n".join(
        f"{rule:<{width}}  {name}"
        for name, rule in sorted(listing.items(), key=lambda kv: (kv[1], kv[0]))
    )
