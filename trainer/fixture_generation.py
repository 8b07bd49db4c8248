"""Greedy-generation parity fixture for the browser runtime (src/model/), from the real base model.

    /usr/bin/python3 -m trainer.fixture_generation [--model models/base] [--out test/fixtures/generation]

Writes into ``--out``:

- ``adapter/adapter_config.json`` + ``adapter/adapter_model.safetensors``: a seeded random PEFT LoRA
  for the base (rank 8, alpha 16, all seven target modules, fp16, entries ~ N(0, sigma^2) with
  sigma = ``LORA_STD``): large enough to change greedy continuations, small enough not to turn
  them into garbage;
- ``cases.json``: fixed prompts as token ids (taken from ``test/fixtures/tokenizer/cases.json``,
  i.e. the Python tokenizer's ids, so no tokenizer is needed here) and their greedy continuations
  of ``NEW_TOKENS`` tokens by ``trainer.model.LlamaLM`` in fp32 on the CPU (no KV cache, no stop
  tokens), without LoRA and with the LoRA merged into the weights (W' = W + alpha/r * B @ A).

Greedy decoding compares argmaxes, so float noise between runtimes (fp32 torch CPU vs ORT WebGPU)
can flip a token where the top two logits nearly tie. Every step's top-1 minus top-2 logit margin
is recorded, and only prompts whose smallest margin in both variants is at least ``MIN_MARGIN`` are
kept (runtime differences measured in docs/onnx-export.md are ~1e-5 relative, far below it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .export import load_exported
from .lora import write_peft_config
from .export_onnx import ALL_TARGETS, lora_shapes, sha256_file
from .fixture_onnx import merged_model, peft_name
from .safetensors_io import load_file, save_file

NEW_TOKENS = 24
LORA_RANK = 8
LORA_ALPHA = 16
LORA_STD = 0.06
SEED = 20261123
MIN_MARGIN = 0.02
MAX_CASES = 4
# Texts and chats of the tokenizer fixture to try, in order (by their text).
CANDIDATES = [
    "The quick brown fox jumps over the lazy dog.",
    "Q: What is 7 times 8?\nA: 56",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "The answer is 42.",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "import os\nimport sys\n\nfor path in sys.argv[1:]:\n\tprint(os.path.getsize(path))\n",
    "It's a dog's life; isn't it? We'll see, they'd say.",
    "Hello, world!",
    "<|im_start|>system\nReply only with the label in brackets.",
    "<|im_start|>user\nAdd 2 and 3.<|im_end|>",
    "UPPERCASE lowercase MiXeD CaSe",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
]


def candidate_prompts(tokenizer_cases: Path) -> list[dict]:
    fx = json.loads(tokenizer_cases.read_text())
    by_text = {c["text"]: c["ids"] for c in fx["cases"]}
    by_text.update({c["text"]: c["ids"] for c in fx["chats"]})
    out = []
    for text in CANDIDATES:
        ids = by_text.get(text)
        if ids is None:  # a prefix match keeps the list robust to fixture edits
            ids = next((v for k, v in by_text.items() if k.startswith(text[:30])), None)
            text = next((k for k in by_text if k.startswith(text[:30])), text)
        if ids:
            out.append({"text": text, "input_ids": ids})
    return out


def make_lora(model_dir: Path, out_dir: Path) -> dict[str, torch.Tensor]:
    """The seeded LoRA, saved as fp16 PEFT files; returns it as fp32 (the fp16-rounded values)."""
    lm = load_exported(model_dir)
    cfg = lm.cfg
    g = torch.Generator().manual_seed(SEED)
    shapes = lora_shapes(cfg, LORA_RANK)
    tensors = {}
    for layer in range(cfg.num_hidden_layers):
        for m in ALL_TARGETS:
            (r, fin), (fout, _) = shapes[m]
            tensors[peft_name(layer, m, "A")] = (torch.randn(r, fin, generator=g) * LORA_STD).to(torch.float16)
            tensors[peft_name(layer, m, "B")] = (torch.randn(fout, r, generator=g) * LORA_STD).to(torch.float16)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(tensors, out_dir / "adapter_model.safetensors", metadata={"format": "pt"})
    write_peft_config(out_dir, LORA_RANK, LORA_ALPHA, ALL_TARGETS, "models/base")
    return {k: v.to(torch.float32) for k, v in load_file(out_dir / "adapter_model.safetensors").items()}


@torch.no_grad()
def greedy_with_margins(lm, ids: list[int], new_tokens: int) -> tuple[list[int], list[float]]:
    out, margins = list(ids), []
    for _ in range(new_tokens):
        logits = lm(torch.tensor([out]))[0, -1].float()
        top = torch.topk(logits, 2).values
        margins.append(float(top[0] - top[1]))
        out.append(int(logits.argmax()))
    return out[len(ids):], margins


def write_bad_adapters(out_dir) -> None:
    """``bad/*.safetensors``: adapters the runtime must refuse, each for one reason (tiny, zeros)."""
    bad = Path(out_dir) / "bad"
    bad.mkdir(parents=True, exist_ok=True)
    z = lambda *shape: torch.zeros(*shape, dtype=torch.float16)  # noqa: E731
    save_file({peft_name(9, "q_proj", "A"): z(8, 512), peft_name(9, "q_proj", "B"): z(512, 8)},
              bad / "layer9.safetensors", metadata={"format": "pt"})
    save_file({peft_name(0, "q_proj", "A"): z(8, 768), peft_name(0, "q_proj", "B"): z(512, 8)},
              bad / "wide.safetensors", metadata={"format": "pt"})
    save_file({peft_name(0, "q_proj", "A"): z(8, 512), peft_name(0, "q_proj", "B"): z(512, 8)},
              bad / "other-base.safetensors", metadata={"format": "pt", "dragdrop_base_model_sha256": "0" * 64})


def write_fixture(model_dir, out_dir, tokenizer_cases, new_tokens: int = NEW_TOKENS) -> dict:
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    write_bad_adapters(out_dir)
    lora = make_lora(model_dir, out_dir / "adapter")
    base = load_exported(model_dir).eval()
    adapted = merged_model(model_dir, lora, LORA_ALPHA / LORA_RANK).eval()
    cases, rejected = [], []
    for p in candidate_prompts(Path(tokenizer_cases)):
        if len(cases) >= MAX_CASES:
            break
        b, bm = greedy_with_margins(base, p["input_ids"], new_tokens)
        a, am = greedy_with_margins(adapted, p["input_ids"], new_tokens)
        case = {**p, "base": b, "lora": a, "min_margin_base": round(min(bm), 4),
                "min_margin_lora": round(min(am), 4), "tokens_changed_by_lora": sum(x != y for x, y in zip(a, b))}
        if min(bm) < MIN_MARGIN or min(am) < MIN_MARGIN:
            rejected.append({"text": p["text"], "min_margin_base": case["min_margin_base"],
                             "min_margin_lora": case["min_margin_lora"]})
        else:
            cases.append(case)
    if not cases:
        raise ValueError(f"no candidate prompt has a top-2 margin >= {MIN_MARGIN} at every step")
    fixture = {
        "generated_by": "trainer/fixture_generation.py",
        "model_safetensors_sha256": sha256_file(model_dir / "model.safetensors"),
        "new_tokens": new_tokens,
        "greedy": "argmax of fp32 logits of trainer.model.LlamaLM on the CPU, no KV cache, no stop tokens",
        "lora": {"dir": "adapter", "rank": LORA_RANK, "alpha": LORA_ALPHA, "scale": LORA_ALPHA / LORA_RANK,
                 "std": LORA_STD, "seed": SEED, "reference": "merged weights W + scale * B @ A"},
        "min_margin": MIN_MARGIN,
        "cases": cases,
        "rejected_for_small_margin": rejected,
    }
    (out_dir / "cases.json").write_text(json.dumps(fixture, indent=1) + "\n")
    return fixture


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/base")
    p.add_argument("--out", default="test/fixtures/generation")
    p.add_argument("--tokenizer-cases", default="test/fixtures/tokenizer/cases.json")
    p.add_argument("--new-tokens", type=int, default=NEW_TOKENS)
    args = p.parse_args(argv)
    try:
        fx = write_fixture(args.model, args.out, args.tokenizer_cases, args.new_tokens)
    except (ValueError, FileNotFoundError) as e:
        print(f"fixture_generation: {e}", file=sys.stderr)
        return 2
    for c in fx["cases"]:
        print(f"{c['text'][:40]!r}: margins {c['min_margin_base']}/{c['min_margin_lora']}, "
              f"LoRA changed {c['tokens_changed_by_lora']}/{fx['new_tokens']} tokens")
    print(f"rejected: {len(fx['rejected_for_small_margin'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
