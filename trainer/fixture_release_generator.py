"""``python -m trainer release-generator-fixture``: what the committed release generator
(``models/generator/``) must produce, for the browser's check that the WGSL runtime runs the
shipped weights exactly like PyTorch (test/generator/release-generator.test.ts).

Input: the committed condition fixture (test/fixtures/conditions/embeddings.safetensors, 7 prompts)
plus its first prompt again = P = 8 prompts. Output: per LoRA matrix (PEFT name) its shape, its
Frobenius norm and every ``stride``-th value (row-major), computed in float32 on the CPU from the fp16
weights. A sample keeps the fixture small (~70 KB) while still covering every matrix.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .config import resolve
from .export_onnx import sha256_file
from .hyperconv import load_generator
from .lora_tokens import LoraLayout, denormalize, detokenize
from .safetensors_io import load_file


def add_args(p):
    p.add_argument("--generator", default="models/generator")
    p.add_argument("--conditions", default="test/fixtures/conditions")
    p.add_argument("--out", default="test/fixtures/release-generator")
    p.add_argument("--stride", type=int, default=97)


def run(args) -> int:
    gdir = resolve(args.generator)
    model, manifest, tensors = load_generator(str(gdir))
    model.eval()
    emb = load_file(str(resolve(args.conditions) / "embeddings.safetensors"))["embeddings"].float()
    p = int(manifest["encoder"]["prompt_count"])
    rows = [i % emb.shape[0] for i in range(p)]
    cond = emb[rows].unsqueeze(0)
    with torch.no_grad():
        out = model(cond)[0]
    toks = manifest["tokens"]
    raw = denormalize(out, tensors[toks["mean"]].float(), tensors[toks["std"]].float())
    lora = detokenize(raw, LoraLayout.from_manifest(manifest))
    stride = int(args.stride)
    matrices = []
    for name, t in lora.items():
        flat = t.float().reshape(-1)
        matrices.append({"name": name, "shape": list(t.shape), "frobenius": float(flat.norm()),
                         "sample": [round(float(v), 7) for v in flat[::stride]]})
    fixture = {
        "generator_sha256": sha256_file(gdir / "generator.safetensors"),
        "condition": {"from": "test/fixtures/conditions/embeddings.safetensors", "rows": rows},
        "stride": stride,
        "dtype": "float32 compute, fp16 weights upcast (CPU, trainer/hyperconv.py)",
        "matrices": matrices,
    }
    out_dir = resolve(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "expected.json").write_text(json.dumps(fixture) + "\n")
    print(f"wrote {out_dir / 'expected.json'}: {len(matrices)} matrices")
    return 0
