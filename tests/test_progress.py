"""Progress of long steps goes through logging: nothing printed unless the user or the CLI asks."""

from __future__ import annotations

import logging
import warnings

from tvm_blocksparse.bert_onnx import make_bert_onnx
from tvm_blocksparse.progress import logger, reporter


def test_reporter_logs_at_info_and_calls_the_callable(caplog):
    seen = []
    with caplog.at_level(logging.INFO, logger="tvm_blocksparse"):
        reporter(seen.append)("step one")
        reporter()("step two")
    assert seen == ["step one"]
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("tvm_blocksparse", logging.INFO, "step one"),
        ("tvm_blocksparse", logging.INFO, "step two"),
    ]


def test_compile_logs_its_steps_and_prints_nothing(caplog, capsys, tmp_path):
    import onnx

    import tvm_blocksparse as tb
    from tvm_blocksparse.cli import main

    model = make_bert_onnx("tiny", seed=0)
    onnx.save(model, tmp_path / "tiny.onnx")
    handlers, level = list(logger.handlers), logger.level
    assert main(["inspect", str(tmp_path / "tiny.onnx")]) == 0  # the CLI prints progress ...
    assert "[tvm-blocksparse] inspect done" in capsys.readouterr().err
    assert (logger.handlers, logger.level) == (handlers, level)  # ... only while it runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb.compile(model, seq_len=8, dtype="fp32")  # logging not configured: silent
        captured = capsys.readouterr()
        assert captured.out == "" and "importing" not in captured.err
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=logger.name):
            tb.compile(model, seq_len=8, dtype="fp32")
    messages = [r.getMessage() for r in caplog.records if r.name == "tvm_blocksparse"]
    assert messages[0] == "importing ONNX" and messages[-1].startswith("lowered in")
