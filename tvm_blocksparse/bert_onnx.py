"""BERT-shaped ONNX models built from numpy weights, without torch.

The graph is the one ``torch.onnx.export(..., dynamo=True)`` produces for a ``transformers``
``BertModel`` with eager attention: every Linear is ``MatMul(x, W[K_in, N_out]) -> Add(bias)``
with W as an initializer, GELU in erf form (``Div, Erf, Add, Mul, Mul``), LayerNormalization
(opset 17), and attention as ``Reshape/Transpose/MatMul/Div/Add(mask)/Softmax/MatMul``.
Tests, the demo and the benchmarks use it so none of them needs torch or a model hub.

Note the orientation: ONNX stores the Linear weight as ``[K_in, N_out]``, the transpose of our
kernels' ``W[N_out, K_in]``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tvm_blocksparse import format as fmt


@dataclasses.dataclass(frozen=True)
class BertConfig:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab: int = 30522
    max_positions: int = 512

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def transformers_kwargs(self) -> dict:
        """The same shape as ``transformers.BertConfig`` arguments (a real ``BertModel`` of it)."""
        return dict(
            vocab_size=self.vocab,
            hidden_size=self.hidden,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            intermediate_size=self.intermediate,
            max_position_embeddings=self.max_positions,
        )


#: Shapes of the models the paper and our benchmarks use (no pooler; output = last hidden state).
BERT_CONFIGS = {
    "bert-mini": BertConfig(layers=4, hidden=256, heads=4, intermediate=1024),
    "minilm-l6": BertConfig(layers=6, hidden=384, heads=12, intermediate=1536),
    "distilbert": BertConfig(layers=6, hidden=768, heads=12, intermediate=3072),
    "bert-base": BertConfig(layers=12, hidden=768, heads=12, intermediate=3072),
    "bert-large": BertConfig(layers=24, hidden=1024, heads=16, intermediate=4096),
    # Two layers of BERT-Mini width, for fast tests.
    "tiny": BertConfig(
        layers=2, hidden=128, heads=2, intermediate=512, vocab=1000, max_positions=128
    ),
}


def make_bert_onnx(
    config: BertConfig | str,
    *,
    seed: int = 0,
    sparsity: float = 0.0,
    block: str | tuple[int, int] = "4x1",
    opset: int = 17,
) -> onnx.ModelProto:
    """A random-init BERT encoder as ONNX, inputs ``input_ids``/``attention_mask`` int64
    ``[batch, sequence]`` (dynamic axes), output ``last_hidden_state`` float32
    ``[batch, sequence, hidden]``.

    ``sparsity`` > 0 magnitude-prunes every encoder Linear in ``block`` blocks (orientation of
    :mod:`tvm_blocksparse.format`: (out, in) of ``W[N_out, K_in]``); embeddings stay dense.
    Biases and LayerNorm parameters are random so that fusing them is actually tested.
    """
    cfg = BERT_CONFIGS[config] if isinstance(config, str) else config
    rng = np.random.default_rng(seed)
    g = _GraphBuilder()
    h, nh, dh = cfg.hidden, cfg.heads, cfg.head_dim

    def linear_weight(k: int, n: int) -> np.ndarray:
        w_out_in = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        if sparsity > 0:
            w_out_in = fmt.prune_blocks(w_out_in, sparsity, block)
        return np.ascontiguousarray(w_out_in.T)  # ONNX MatMul wants [K_in, N_out]

    def vec(n: int, scale: float = 0.1, center: float = 0.0) -> np.ndarray:
        return (center + scale * rng.standard_normal(n)).astype(np.float32)

    def linear(x: str, k: int, n: int, name: str) -> str:
        mm = g.op("MatMul", [x, g.init(f"{name}.weight", linear_weight(k, n))])
        return g.op("Add", [mm, g.init(f"{name}.bias", vec(n))])

    def layer_norm(x: str, name: str) -> str:
        return g.op(
            "LayerNormalization",
            [x, g.init(f"{name}.gamma", vec(h, 0.1, 1.0)), g.init(f"{name}.beta", vec(h))],
            axis=-1,
            epsilon=1e-12,
        )

    # Embeddings: word + position + token type 0, then LayerNorm.
    word = g.op(
        "Gather", [g.init("emb.word", vec(cfg.vocab * h, 0.5).reshape(cfg.vocab, h)), "input_ids"]
    )
    seq_len = g.op(
        "Gather", [g.op("Shape", ["input_ids"]), g.const("one_i", np.array(1, np.int64))], axis=0
    )
    positions = g.op(
        "Range",
        [
            g.const("zero_i", np.array(0, np.int64)),
            seq_len,
            g.const("step_i", np.array(1, np.int64)),
        ],
    )
    pos = g.op(
        "Gather",
        [g.init("emb.position", vec(cfg.max_positions * h, 0.5).reshape(-1, h)), positions],
    )
    tok = g.init("emb.token_type0", vec(h, 0.5))
    x = layer_norm(g.op("Add", [g.op("Add", [word, pos]), tok]), "emb.ln")

    # Additive mask [batch, 1, 1, seq]: 0 where attended, a large negative number elsewhere.
    mask_f = g.op(
        "Cast",
        [g.op("Unsqueeze", ["attention_mask", g.const("axes12", np.array([1, 2], np.int64))])],
        to=TensorProto.FLOAT,
    )
    add_mask = g.op(
        "Mul",
        [
            g.op("Sub", [g.const("one_f", np.array(1.0, np.float32)), mask_f]),
            g.const("neg_f", np.array(np.finfo(np.float32).min, np.float32)),
        ],
    )

    heads_shape = g.const("heads_shape", np.array([0, 0, nh, dh], np.int64))
    merge_shape = g.const("merge_shape", np.array([0, 0, h], np.int64))
    inv_sqrt_d = g.const("sqrt_d", np.array(np.sqrt(dh), np.float32))
    sqrt2 = g.const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    one_f = g.const("one_f1", np.array(1.0, np.float32))
    half_f = g.const("half_f", np.array(0.5, np.float32))

    for i in range(cfg.layers):
        p = f"layer{i}"

        def split_heads(t: str, perm) -> str:
            return g.op("Transpose", [g.op("Reshape", [t, heads_shape])], perm=perm)

        q = split_heads(linear(x, h, h, f"{p}.q"), [0, 2, 1, 3])
        k_t = split_heads(linear(x, h, h, f"{p}.k"), [0, 2, 3, 1])
        v = split_heads(linear(x, h, h, f"{p}.v"), [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, k_t]), inv_sqrt_d]), add_mask])
        ctx = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        ctx = g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(g.op("Add", [linear(ctx, h, h, f"{p}.o"), x]), f"{p}.ln1")
        up = linear(x, h, cfg.intermediate, f"{p}.ffn1")
        erf = g.op("Erf", [g.op("Div", [up, sqrt2])])
        act = g.op("Mul", [g.op("Mul", [up, g.op("Add", [erf, one_f])]), half_f])
        x = layer_norm(g.op("Add", [linear(act, cfg.intermediate, h, f"{p}.ffn2"), x]), f"{p}.ln2")

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    graph = helper.make_graph(
        g.nodes,
        "bert",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
            for n in ("input_ids", "attention_mask")
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", h]
            )
        ],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def random_inputs(batch: int, seq_len: int, vocab: int = 1000, seed: int = 0, pad: int = 0):
    """``input_ids``/``attention_mask`` feeds; the last ``pad`` positions are masked out."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (batch, seq_len), dtype=np.int64)
    mask = np.ones((batch, seq_len), np.int64)
    if pad:
        mask[:, seq_len - pad :] = 0
    return {"input_ids": ids, "attention_mask": mask}


class _GraphBuilder:
    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def init(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    const = init

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out
