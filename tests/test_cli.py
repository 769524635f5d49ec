"""The tvm-blocksparse command line and what the README and Docker image promise."""

from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
from conftest import requires_isa

from tvm_blocksparse.bert_onnx import make_bert_onnx


def test_cli_end_to_end(tmp_path, capsys):
    from tvm_blocksparse.cli import main

    src = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0), src)
    assert main(["prune", str(src), str(tmp_path / "p.onnx"), "--sparsity", "0.9"]) == 0
    assert main(["inspect", str(tmp_path / "p.onnx")]) == 0
    assert "12/12 Linear layers" in capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (
            main(
                [
                    "compile",
                    str(tmp_path / "p.onnx"),
                    "-o",
                    str(tmp_path / "p.so"),
                    "--seq-len",
                    "8",
                    "--dtype",
                    "fp32",
                ]
            )
            == 0
        )
    assert main(["run", str(tmp_path / "p.so"), "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "last_hidden_state: shape [1, 8, 128]" in out and "latency" in out
    np.savez(tmp_path / "ids_only.npz", input_ids=np.zeros((1, 8), np.int64))
    assert main(["run", str(tmp_path / "p.so"), "--inputs", str(tmp_path / "ids_only.npz")]) == 2
    assert "no array for input(s) ['attention_mask']" in capsys.readouterr().err
    np.savez(
        tmp_path / "oob.npz",
        input_ids=np.full((1, 8), 10**6, np.int64),
        attention_mask=np.ones((1, 8), np.int64),
    )
    assert main(["run", str(tmp_path / "p.so"), "--inputs", str(tmp_path / "oob.npz")]) == 2
    assert "outside [0, 1000)" in capsys.readouterr().err
    assert main(["compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "x.so")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["inspect", str(src), "--block", "3x3x3"]) == 2


@requires_isa("avx512_vnni")
def test_cli_int8_compile_says_which_attention_runs_int8(tmp_path, capsys):
    from tvm_blocksparse.cli import main

    src = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0), src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["compile", str(src), "-o", str(tmp_path / "q.so"), "--seq-len", "16"]) == 0
        assert "attention: 2 layer(s) INT8" in capsys.readouterr().out
        assert (
            main(
                [
                    "compile",
                    str(src),
                    "-o",
                    str(tmp_path / "q.so"),
                    "--seq-len",
                    "16",
                    "--fp32-attention",
                ]
            )
            == 0
        )
        assert "attention:" not in capsys.readouterr().out


def test_dockerfile_uses_the_readme_install_and_demo():
    root = os.path.dirname(os.path.dirname(__file__))
    docker = open(os.path.join(root, "docker", "Dockerfile")).read()
    readme = open(os.path.join(root, "README.md")).read()
    makefile = open(os.path.join(root, "Makefile")).read()
    assert "RUN make venv\n" in docker and 'CMD ["make", "demo"]' in docker
    assert "demo: venv\n" in makefile  # the image installs exactly what the demo needs
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
