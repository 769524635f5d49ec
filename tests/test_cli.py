"""The tvm-blocksparse command line and what the README and Docker image promise."""

from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
import pytest
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
    # the library's progress records (logging) reach stderr through the CLI's handler
    assert "[tvm-blocksparse] importing ONNX" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "p.so"), "--repeat", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "last_hidden_state: shape [1, 8, 128]" in out and "latency" in out
    import tvm

    assert tvm.get_global_func("runtime.NumThreads")() == 1
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


@requires_isa("avx2")
def test_cli_fp32_compile_says_how_many_attention_layers_it_fused(tmp_path, capsys):
    from tvm_blocksparse.cli import main

    src = tmp_path / "tiny90.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0, sparsity=0.9), src)
    argv = ["compile", str(src), "-o", str(tmp_path / "f.so"), "--seq-len", "16", "--dtype", "fp32"]
    assert main(argv) == 0
    assert "attention: 2 layer(s) fused FP32" in capsys.readouterr().out


def test_dockerfile_uses_the_readme_install_and_demo():
    root = os.path.dirname(os.path.dirname(__file__))
    docker = open(os.path.join(root, "docker", "Dockerfile")).read()
    readme = open(os.path.join(root, "README.md")).read()
    makefile = open(os.path.join(root, "Makefile")).read()
    assert "RUN make venv\n" in docker and 'CMD ["make", "demo"]' in docker
    assert "demo: venv\n" in makefile  # the image installs exactly what the demo needs
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_cli_pipeline_compile_and_run(tmp_path, capsys):
    from tvm_blocksparse.cli import main
    from tvm_blocksparse.testing import write_tiny_tokenizer

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    onnx.save(make_bert_onnx("tiny", seed=0, sparsity=0.9), model_dir / "model.onnx")
    write_tiny_tokenizer(str(model_dir / "tokenizer.json"))
    (tmp_path / "lines.txt").write_text("the file\n\nread each line of the file\n")
    pipe_dir = str(tmp_path / "pipe")
    args = ["pipeline", "compile", str(model_dir), "-o", pipe_dir, "--dtype", "fp32"]
    assert main([*args, "--buckets", "8", "--max-seq-len", "16"]) == 0
    assert "buckets [8, 16] (batch 1 each)" in capsys.readouterr().out
    run = ["pipeline", "run", pipe_dir, "--text", "an error", "--file", str(tmp_path / "lines.txt")]
    assert main([*run, "--repeat", "3", "--save", str(tmp_path / "e.npy"), "--threads", "2"]) == 0
    out = capsys.readouterr().out
    assert "embeddings: (3, 128) float32" in out and "texts/s" in out
    assert np.load(tmp_path / "e.npy").shape == (3, 128)
    assert main(["pipeline", "run", pipe_dir]) == 2
    assert "give texts with --text" in capsys.readouterr().err
    assert main(["pipeline", "compile", str(tmp_path), "-o", pipe_dir]) == 2
    assert "neither a transformers" in capsys.readouterr().err


def test_layer_table_says_the_int8_weight_range_and_split_channels():
    from tvm_blocksparse.cli import layer_table

    row = dict(n_out=384, k_in=1536, tokens=128, sparsity=0.9, kernel="int8_4x1", name="ffn2")
    table = layer_table(
        [
            dict(row, index=0, epilogue="bias", reason="r0", weight_qmax=112, weight_split_rows=2),
            dict(row, index=1, epilogue="bias", reason="r1", weight_qmax=127),
            dict(row, index=2, epilogue="bias", reason="r2", kernel="fp32_4x1"),
        ]
    ).splitlines()
    assert "s8 weights" in table[0]
    assert "+-112, 2 split" in table[1] and "+-127 " in table[2] and " split" not in table[2]
    assert table[3].split()[6] == "-"  # FP32: no s8 weights


def test_version(capsys):
    from tvm_blocksparse import __version__
    from tvm_blocksparse.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"tvm-blocksparse {__version__}"


def test_import_and_help_do_not_import_tvm():
    """``import tvm_blocksparse``, ``--help`` and ``--version`` start without TVM (seconds, and
    torch with it); the first public name that builds or runs a model imports and sets it up."""
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        "import tvm_blocksparse\n"
        "from tvm_blocksparse.cli import main\n"
        "for argv in (['--help'], ['--version'], ['pipeline', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print('tvm' in sys.modules)\n"
        "tvm_blocksparse.compile\n"
        "from tvm_blocksparse import tvm_setup\n"
        "print('tvm' in sys.modules, tvm_setup._done)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["False", "True", "True"]


@requires_isa("avx2")
def test_compile_calibration_npz_gives_static_ranges(tmp_path, capsys):
    """``compile --calibration FILE.npz``: stacked samples (or one) become static INT8 ranges;
    a file of the wrong rank is a clear error."""
    import json

    from tvm_blocksparse.bert_onnx import random_inputs
    from tvm_blocksparse.cli import main

    src = tmp_path / "tiny.onnx"
    onnx.save(make_bert_onnx("tiny", seed=0, sparsity=0.9), src)
    samples = [random_inputs(1, 16, vocab=1000, seed=s) for s in (1, 2, 3)]
    np.savez(tmp_path / "cal.npz", **{k: np.stack([s[k] for s in samples]) for k in samples[0]})
    np.savez(tmp_path / "one.npz", **samples[0])
    np.savez(tmp_path / "bad.npz", input_ids=np.zeros(16, np.int64))
    compile_cmd = ["compile", str(src), "--seq-len", "16", "--calibration"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cal in ("cal.npz", "one.npz"):
            out = str(tmp_path / f"{cal}.so")
            assert main([*compile_cmd, str(tmp_path / cal), "-o", out]) == 0
            with open(out + ".json") as f:
                assert json.load(f)["quantization"] == "static"
        assert main([*compile_cmd, str(tmp_path / "bad.npz"), "-o", str(tmp_path / "x.so")]) == 2
    assert "expected [batch, seq] arrays" in capsys.readouterr().err
