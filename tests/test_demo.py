"""The demo (``make demo``): it runs end to end on a tiny model and leaves no files behind
unless asked to keep them."""

import tempfile

from conftest import requires_x86

from tvm_blocksparse import demo

TINY = ["--model", "tiny", "--seq-len", "16", "--rounds", "1", "--min-time", "0.01"]


@requires_x86
def test_demo_removes_its_files_unless_asked_to_keep_them(tmp_path, monkeypatch, capsys):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert demo.main([*TINY, "--calibrate", "0"]) == 0
    out = capsys.readouterr().out
    assert "a temporary file (--keep DIR keeps the files)" in out and "done" in out
    assert list(scratch.iterdir()) == []
    kept = tmp_path / "kept"
    assert demo.main([*TINY, "--calibrate", "0", "--keep", str(kept)]) == 0
    assert {p.name for p in kept.iterdir()} >= {"tiny.onnx", "tiny_90.onnx"}
    assert str(kept / "tiny_90.onnx") in capsys.readouterr().out
