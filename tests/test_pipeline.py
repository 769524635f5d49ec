"""The registered Relax pipeline."""

from __future__ import annotations

import tvm
from tvm import relax


def test_registered_pipeline():
    assert "tvm_blocksparse" in relax.pipeline.PIPELINE_MAP
    assert isinstance(relax.get_pipeline("tvm_blocksparse"), tvm.transform.Pass)
