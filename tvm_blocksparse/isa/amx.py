"""AMX INT8 (tile registers) helpers, and Linux's per-process permission for the tile state.

Linux hands a process the AMX tile-data state only after it asks (``arch_prctl`` with
``ARCH_REQ_XCOMP_PERM`` for ``XFEATURE_XTILEDATA``); code that uses tiles asks first (after the
first grant Linux answers from a flag) and takes its AVX-512 VNNI path when refused: a CPU or a
kernel without AMX, a sandbox. So a module built for :data:`tvm_blocksparse.isa.AMX_INT8` runs
on any AVX-512 VNNI CPU.
"""

from __future__ import annotations

import ctypes
import struct

from tvm.script import tirx as T

# Linux's AMX permission interface (x86-64)
SYS_ARCH_PRCTL = 158
ARCH_GET_XCOMP_PERM = 0x1022
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18
_AUDIT_ARCH_X86_64 = 0xC000003E
_EPERM = 1


def request_tiles():
    """TIR expression: ask Linux for the tile state; int64 0 when granted."""
    return T.call_extern(
        "int64",
        "syscall",
        T.int64(SYS_ARCH_PRCTL),
        T.int64(ARCH_REQ_XCOMP_PERM),
        T.int64(XFEATURE_XTILEDATA),
    )


def request_tiles_now() -> bool:
    """Ask Linux for the tile state for this process, as our AMX code does on every call; True
    when granted (a CPU without AMX, an old kernel or a sandbox refuses)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0


def amx_granted() -> bool:
    """True when Linux has granted this process the AMX tile-data state (someone asked)."""
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.c_ulong()
    return libc.syscall(SYS_ARCH_PRCTL, ARCH_GET_XCOMP_PERM, ctypes.byref(mask)) == 0 and bool(
        mask.value >> XFEATURE_XTILEDATA & 1
    )


def deny_tiles() -> None:
    """Make ``arch_prctl(ARCH_REQ_XCOMP_PERM, ...)`` fail with EPERM in this process and its
    children (a seccomp filter; irreversible).

    Linux hands out the AMX tile-data state only to a process that asks with that call; oneDNN,
    ORT's MLAS and our kernels ask and fall back to AVX-512 VNNI when refused: a process denied
    AMX this way behaves as on a CPU without it (benchmarks and tests use it). Raises OSError when
    the
    filter cannot be installed, or when the call still succeeds afterwards.
    """
    ld_w_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    program = [
        (ld_w_abs, 0, 0, 4),
        (jeq_k, 1, 0, _AUDIT_ARCH_X86_64),
        (ret_k, 0, 0, 0x7FFF0000),  # other ABI: allow
        (ld_w_abs, 0, 0, 0),
        (jeq_k, 0, 3, SYS_ARCH_PRCTL),  # nr
        (ld_w_abs, 0, 0, 16),
        (jeq_k, 0, 1, ARCH_REQ_XCOMP_PERM),  # args[0]
        (ret_k, 0, 0, 0x00050000 | _EPERM),  # SECCOMP_RET_ERRNO
        (ret_k, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
    ]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) or libc.prctl(
        pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0
    ):
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    if (
        libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != -1
        or ctypes.get_errno() != _EPERM
    ):
        raise OSError("ARCH_REQ_XCOMP_PERM still succeeds after the filter")


def amx_op(name: str, *args):
    """A statement calling ``llvm.x86.<name>`` (``ldtilecfg``, ``tilerelease``, ...)."""
    return T.evaluate(
        T.call_llvm_intrin("void", T.llvm_lookup_intrinsic_id(f"llvm.x86.{name}"), *args)
    )


def tile_load(tile: int, address, stride_bytes: int):
    return amx_op("tileloadd64", T.int8(tile), address, T.int64(stride_bytes))


def tile_store(tile: int, address, stride_bytes: int):
    return amx_op("tilestored64", T.int8(tile), address, T.int64(stride_bytes))


def tile_zero(tile: int):
    return amx_op("tilezero", T.int8(tile))


def tile_dpbusd(c: int, a: int, b: int):
    """``C[16 x 16 s32] += A[16 x 4k u8] . B[k x (16 x 4) s8]``: 16 rows of ``vpdpbusd`` at once."""
    return amx_op("tdpbusd", T.int8(c), T.int8(a), T.int8(b))


@T.macro
def fill_tile_config(cfg, tiles: int):
    """Write the 64-byte ``ldtilecfg`` operand ``cfg`` (u8): palette 1, tiles ``0 .. tiles - 1``
    each 16 rows of 64 bytes (``colsb`` u16 at ``16 + 2t``, ``rows`` at ``48 + t``), the rest
    unused. Callers may narrow a tile, then load it with ``amx_op("ldtilecfg", ...)``."""
    for i in range(64):
        cfg[i] = T.uint8(0)
    cfg[0] = T.uint8(1)
    for t in range(tiles):
        cfg[16 + 2 * t] = T.uint8(64)
        cfg[48 + t] = T.uint8(16)
