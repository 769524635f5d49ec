"""What must be in place before we build or run anything with TVM, done once per process:
TVM's thread count, our TensorIntrins and the registered Relax pipeline. (Nothing that changes
how TVM builds other modules: our erf / exp expansion is a pass of our pipeline.)

Why here and not in ``tvm_blocksparse/__init__.py``: importing TVM takes seconds (and imports
torch when it is installed), and ``tvm-blocksparse --help``, the tokenizer side of a text
pipeline and the HTTP front end of ``serve`` don't need it. The modules that build or run TVM
code (``api``, ``linear``, ``tuning``) call :func:`ensure_tvm_setup` when they are imported.
"""

from __future__ import annotations

_done = False


def ensure_tvm_setup() -> None:
    """Idempotent; cheap after the first call."""
    global _done
    if _done:
        return
    _done = True
    from tvm_blocksparse.target import configure_runtime_threads

    configure_runtime_threads()
    from tvm_blocksparse import pipeline  # noqa: F401 (relax.get_pipeline("tvm_blocksparse"))
    from tvm_blocksparse.isa import avx2, avx512, avx_vnni, common  # noqa: F401 (TensorIntrins)
