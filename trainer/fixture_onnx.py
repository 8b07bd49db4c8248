"""ONNX parity fixture: PyTorch logits of a base model, with and without a random LoRA, for fixed inputs.

    /usr/bin/python3 -m trainer.fixture_onnx --model <model dir> --out <fixture dir>
    /usr/bin/python3 -m trainer.fixture_onnx --make-tiny --out test/fixtures/onnx-parity

``--make-tiny`` first writes a tiny random model of the base architecture (hidden 64, 2 layers,
4 heads / 2 KV heads, vocab 512) to ``<out>/tiny-model/`` and uses it as ``--model``; that is the
committed fixture. Once the real ``models/base`` exists the same proof runs against it:

    /usr/bin/python3 -m trainer.fixture_onnx --model models/base --out build/onnx-parity-base
    ONNX_PARITY_FIXTURE=build/onnx-parity-base npx vitest run test/onnx

Writes into ``--out``:

- ``lora/adapter_model.safetensors`` + ``lora/adapter_config.json``: a seeded random LoRA (PEFT
  format and names, rank 8, every target module, fp32, B non-zero so that it changes the logits);
- ``expected.safetensors``: float32 logits of ``trainer.model.LlamaLM`` (the colleague's forward,
  no KV cache), one tensor per case, only at real (non-padding) positions;
- ``cases.json``: the inputs of every case and where each expected tensor comes from, and the base
  model's greedy continuation (8 tokens) of each prompt.

Cases (``{variant}`` is ``base`` or ``lora``): a batch of 2 prompts of different lengths, left-padded,
prefilled in one step (``{variant}.prefill``, logits (2, seq, vocab)); then one cached decode step
with one new token per prompt (``{variant}.decode``, logits (2, 1, vocab)). The LoRA reference is
LlamaLM with merged weights W' = W + (alpha / r) * B @ A, which is independent of the A/B inputs the
ONNX graph computes with.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from .export import hf_config, load_exported
from .lora import write_peft_config
from .export_onnx import ALL_TARGETS, MODULE_PARENT, lora_shapes, sha256_file
from .model import LlamaLM, ModelConfig
from .safetensors_io import load_file, save_file

TINY_CONFIG = ModelConfig(vocab_size=512, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                          rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=True)
LORA_RANK = 8
LORA_ALPHA = 16
SEED = 20261123
GREEDY_TOKENS = 8
PEFT_PREFIX = "base_model.model.model.layers"


def make_tiny_model(out_dir, seed: int = SEED) -> Path:
    """Write a tiny random LlamaLM as a release directory (config.json + fp16 model.safetensors)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = LlamaLM(TINY_CONFIG)
    with torch.no_grad():  # non-trivial norm weights, so a wrong norm cannot hide
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    tensors = {k: v.detach().to(torch.float16) for k, v in model.hf_state_dict().items()}
    save_file(tensors, out / "model.safetensors", metadata={"format": "pt", "note": "random tiny test model"})
    cfg = hf_config(TINY_CONFIG, bos_id=0, eos_id=1, pad_id=0, dtype="float16")
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    return out


def peft_name(layer: int, module: str, ab: str) -> str:
    return f"{PEFT_PREFIX}.{layer}.{MODULE_PARENT[module]}.{module}.lora_{ab}.weight"


def make_random_lora(cfg: ModelConfig, out_dir, rank: int = LORA_RANK, alpha: float = LORA_ALPHA,
                     seed: int = SEED, base_model: str = "") -> dict[str, torch.Tensor]:
    """A seeded random PEFT LoRA on every target module; A ~ N(0, 1/in), B ~ N(0, 0.5/r)-ish."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed + 1)
    shapes = lora_shapes(cfg, rank)
    tensors = {}
    for l in range(cfg.num_hidden_layers):
        for m in ALL_TARGETS:
            (r, fin), (fout, _) = shapes[m]
            tensors[peft_name(l, m, "A")] = torch.randn(r, fin, generator=g) / fin ** 0.5
            tensors[peft_name(l, m, "B")] = torch.randn(fout, r, generator=g) * (0.5 / r)
    save_file(tensors, out / "adapter_model.safetensors", metadata={"format": "pt"})
    write_peft_config(out, rank, alpha, ALL_TARGETS, base_model)
    return tensors


def load_lora(lora_dir) -> tuple[dict[str, torch.Tensor], dict]:
    """(PEFT tensors as fp32, adapter_config) of a PEFT adapter directory."""
    d = Path(lora_dir)
    tensors = {k: v.to(torch.float32) for k, v in load_file(d / "adapter_model.safetensors").items()}
    return tensors, json.loads((d / "adapter_config.json").read_text())


def merged_model(model_dir, lora: dict[str, torch.Tensor], scale: float) -> LlamaLM:
    """LlamaLM with W' = W + scale * B @ A for every LoRA module in ``lora``."""
    lm = load_exported(model_dir).eval()
    sd = lm.state_dict()
    with torch.no_grad():
        for l in range(lm.cfg.num_hidden_layers):
            for m in ALL_TARGETS:
                a, b = lora.get(peft_name(l, m, "A")), lora.get(peft_name(l, m, "B"))
                if a is None or b is None:
                    continue
                sd[f"model.layers.{l}.{MODULE_PARENT[m]}.{m}.weight"].add_(scale * (b @ a))
    return lm


def fixed_prompts(vocab: int) -> list[list[int]]:
    """Two prompts of different lengths (5 and 3 tokens), deterministic for any vocab size."""
    return [[(7 * i + 3) % vocab for i in range(1, 6)], [(11 * i + 5) % vocab for i in range(1, 4)]]


def decode_tokens(vocab: int) -> list[int]:
    return [(13 * 2 + 1) % vocab, (17 * 3 + 2) % vocab]


def build_cases(cfg: ModelConfig) -> dict:
    """Inputs of the prefill and decode steps (batch 2, left padding, HF-style position ids)."""
    prompts = fixed_prompts(cfg.vocab_size)
    seq = max(len(p) for p in prompts)
    ids, mask, pos = [], [], []
    for p in prompts:
        pad = seq - len(p)
        ids.append([0] * pad + p)
        mask.append([0] * pad + [1] * len(p))
        pos.append([0] * pad + list(range(len(p))))  # padding positions: any valid index; 0 here
    nxt = decode_tokens(cfg.vocab_size)
    return {
        "prompts": prompts,
        "prefill": {"input_ids": ids, "attention_mask": mask, "position_ids": pos},
        "decode": {
            "input_ids": [[t] for t in nxt],
            "attention_mask": [m + [1] for m in mask],
            "position_ids": [[len(p)] for p in prompts],
        },
    }


@torch.no_grad()
def reference_logits(lm: LlamaLM, cases: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(prefill logits (2, seq, V) with zeros at padding, decode logits (2, 1, V)) from LlamaLM."""
    prompts = cases["prompts"]
    seq = len(cases["prefill"]["input_ids"][0])
    V = lm.cfg.vocab_size
    prefill = torch.zeros(len(prompts), seq, V)
    decode = torch.zeros(len(prompts), 1, V)
    for i, p in enumerate(prompts):
        full = p + cases["decode"]["input_ids"][i]
        logits = lm(torch.tensor([full]))[0].float()
        prefill[i, seq - len(p):] = logits[: len(p)]
        decode[i, 0] = logits[len(p)]
    return prefill, decode


def write_fixture(model_dir, out_dir, lora_dir=None) -> dict:
    model_dir, out = Path(model_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = load_exported(model_dir).eval()
    cfg = base.cfg
    if lora_dir is None:
        lora_dir = out / "lora"
        make_random_lora(cfg, lora_dir, base_model=str(model_dir))
    lora, adapter_cfg = load_lora(lora_dir)
    scale = float(adapter_cfg["lora_alpha"]) / float(adapter_cfg["r"])
    cases = build_cases(cfg)
    expected = {}
    for variant, lm in (("base", base), ("lora", merged_model(model_dir, lora, scale))):
        prefill, decode = reference_logits(lm, cases)
        expected[f"{variant}.prefill"] = prefill
        expected[f"{variant}.decode"] = decode
    save_file(expected, out / "expected.safetensors", metadata={"format": "pt"})
    # greedy continuations of each prompt by the base model (no cache): what transformers.js's
    # generate() on model.onnx must reproduce
    greedy = [base.generate_greedy(p, GREEDY_TOKENS) for p in cases["prompts"]]
    delta = (expected["lora.prefill"] - expected["base.prefill"]).abs().max().item()
    meta = {
        "format": "dragdrop-lora/onnx-parity-fixture",
        "version": 1,
        "model_dir": os.path.relpath(model_dir.resolve(), out.resolve()),
        "model_safetensors_sha256": sha256_file(model_dir / "model.safetensors"),
        "lora_dir": os.path.relpath(Path(lora_dir).resolve(), out.resolve()),
        "lora_rank": int(adapter_cfg["r"]),
        "lora_alpha": float(adapter_cfg["lora_alpha"]),
        "lora_scale": scale,
        "lora_targets": list(adapter_cfg["target_modules"]),
        "vocab_size": cfg.vocab_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "cases": cases,
        "greedy": {"max_new_tokens": GREEDY_TOKENS, "tokens": greedy},
        "expected": {k: {"file": "expected.safetensors", "tensor": k, "shape": list(v.shape)}
                     for k, v in expected.items()},
        "notes": "expected logits are zero at padding positions; compare where attention_mask is 1. "
                 f"max |lora - base| prefill logit difference: {delta:.4g}",
        "torch_version": torch.__version__,
    }
    (out / "cases.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.fixture_onnx", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model directory (config.json + model.safetensors)")
    p.add_argument("--make-tiny", action="store_true", help="write and use <out>/tiny-model")
    p.add_argument("--lora", help="use this PEFT adapter directory instead of writing <out>/lora")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.make_tiny:
        model_dir = make_tiny_model(Path(args.out) / "tiny-model")
    elif args.model:
        model_dir = Path(args.model)
    else:
        p.error("give --model or --make-tiny")
    meta = write_fixture(model_dir, args.out, args.lora)
    print(f"wrote {args.out}: {len(meta['expected'])} cases; {meta['notes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
