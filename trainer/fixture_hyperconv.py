"""Parity fixture for the hyper-convolutional decoder (DESIGN.md §8).

    /usr/bin/python3 -m trainer.fixture_hyperconv --out test/fixtures/hyperconv

Writes a small random-weight generator (``generator.json`` + ``generator.safetensors``, f32) and
``io.safetensors`` holding a random ``input`` (B, N0, H0, W0), the activation after every layer
(``layer.{i}``, residual sum included) and ``output`` (== the last layer). Expected values are
computed in float64 from the float32-rounded weights and input, then stored as float32.

Everything is drawn from numpy's PCG64 with a fixed seed (stable across numpy/torch versions), so
the files are reproducible; ``trainer/tests/test_hyperconv.py`` regenerates them and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
from typing import Dict, Tuple

import numpy as np
import torch

from .hyperconv import DecoderConfig, HyperConvGenerator, save_generator
from .lora_tokens import build_layout, compute_stats, tokenize
from .safetensors_io import save_file

SEED = 20261123
BATCH = 2
# f0 = condition (P=4 prompts, L=6 tokens, C=8 channels); N, H, W all distinct at every stage so an
# axis mix-up cannot cancel out. Layer 0: N 4->8, H shrinks, W grows (k=3); layer 1: residual (k=5);
# layer 2: N 8->14, to the token grid (k=1); layer 3: residual on the token grid (k=3).
FEATURES = [(4, 6, 8), (8, 5, 10), (8, 5, 10), (14, 4, 5), (14, 4, 5)]
KERNEL_SIZES = [3, 5, 1, 3]
LAYER_NORM_EPS = 1e-5

# fake base model: 2 layers, hidden 16, 4 heads x 4, 2 KV heads -> v_proj 16 -> 8; LoRA rank 2 on
# q_proj and v_proj. With 4 x 5 tokens: per layer 2 + 2 + 2 + 1 = 7 tokens, 14 in all = FEATURES[-1][0].
FAKE_NUM_LAYERS = 2
FAKE_MODULES = [("q_proj", "self_attn", 16, 16), ("v_proj", "self_attn", 16, 8)]
FAKE_RANK = 2
FAKE_ALPHA = 4
FAKE_ZOO_SIZE = 6
FIXTURE_ID = "fixture-random"

TOLERANCE_REL = 1e-4


def _normal(rng: np.random.Generator, shape, std: float = 1.0, mean: float = 0.0) -> torch.Tensor:
    a = rng.standard_normal(size=tuple(shape), dtype=np.float64) * std + mean
    return torch.from_numpy(a.astype(np.float32))


def random_weights(model: HyperConvGenerator, rng: np.random.Generator) -> Dict[str, torch.Tensor]:
    """Non-trivial f32 weights (not init defaults), in state-dict order."""
    out: Dict[str, torch.Tensor] = {}
    for name, p in model.state_dict().items():
        leaf = name.split(".", 3)[3]  # after decoder.layers.{i}.
        shape = tuple(p.shape)
        if leaf == "norm.weight":
            out[name] = _normal(rng, shape, 0.3, 1.0)
        elif leaf in ("norm.bias", "bias", "len_conv.bias"):
            out[name] = _normal(rng, shape, 0.2)
        elif leaf.endswith(".weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            out[name] = _normal(rng, shape, 1.0 / math.sqrt(fan_in))
        else:  # pragma: no cover
            raise KeyError(name)
    return out


def fake_zoo_stats(rng: np.random.Generator, layout) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-matrix token stats of a small random 'training zoo' (fixture only)."""
    grids = []
    for _ in range(FAKE_ZOO_SIZE):
        lora = {}
        for e in layout.entries:
            if e.matrix == "A":
                lora[e.key] = _normal(rng, (e.rows, e.cols), 0.1)
            else:
                lora[e.key] = _normal(rng, (e.rows, e.cols), 0.02, 0.005)
        grids.append(tokenize(lora, layout)[0])
    return compute_stats(torch.stack(grids), layout, mode="per_matrix")


def build_manifest(config: DecoderConfig, layout) -> dict:
    n_out, h, w = config.features[-1]
    assert layout.count == n_out and (layout.token_h, layout.token_w) == (h, w)
    p, l, c = config.features[0]
    return {
        "format": "dnd-lora-generator",
        "version": 1,
        "base_model": {
            "id": FIXTURE_ID,
            # not a real model: sha256 of the ASCII string "fixture-random"
            "weights_sha256": hashlib.sha256(FIXTURE_ID.encode("ascii")).hexdigest(),
        },
        "encoder": {
            "id": FIXTURE_ID,
            "kind": "decoder-hidden-states",
            "layer": -1,
            "prompt_count": p,
            "max_tokens": l,
            "pooling": "none",
            "channels": c,
            "template": "chat",
        },
        "decoder": config.to_dict(),
        "tokens": {
            "height": h,
            "width": w,
            "count": n_out,
            "normalization": "per_matrix",
            "mean": "tokens.mean",
            "std": "tokens.std",
        },
        "lora": layout.to_manifest(),
        "training": {
            "fixture": True,
            "note": "parity fixture: random weights, fake base model/encoder, not trained; see README.md",
            "seed": SEED,
            "command": "python3 -m trainer.fixture_hyperconv --out test/fixtures/hyperconv",
            "token_stats_from": f"{FAKE_ZOO_SIZE} random LoRAs (fixture)",
        },
    }


def make_fixture(seed: int = SEED):
    """Returns (model_f32, manifest, gen_tensors_extra, io_tensors)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    config = DecoderConfig(FEATURES, KERNEL_SIZES, LAYER_NORM_EPS)
    model = HyperConvGenerator(config)
    weights = random_weights(model, rng)
    model.load_state_dict(weights, strict=True)

    layout = build_layout(FAKE_NUM_LAYERS, FAKE_MODULES, FAKE_RANK, FEATURES[-1][1], FEATURES[-1][2], alpha=FAKE_ALPHA)
    mean, std = fake_zoo_stats(rng, layout)
    manifest = build_manifest(config, layout)

    x = _normal(rng, (BATCH,) + tuple(FEATURES[0]), 1.5, 0.5)

    ref = HyperConvGenerator(config).double()
    ref.load_state_dict({k: v.double() for k, v in weights.items()}, strict=True)
    with torch.no_grad():
        out, layers = ref(x.double(), return_layers=True)
    io = {"input": x}
    for i, t in enumerate(layers):
        io[f"layer.{i}"] = t.to(torch.float32).contiguous()
    io["output"] = out.to(torch.float32).contiguous()
    return model, manifest, {"tokens.mean": mean, "tokens.std": std}, io


def write_fixture(out_dir: str, seed: int = SEED) -> dict:
    model, manifest, stats, io = make_fixture(seed)
    save_generator(out_dir, model, manifest, token_mean=stats["tokens.mean"], token_std=stats["tokens.std"], dtype=torch.float32)
    save_file(
        io,
        os.path.join(out_dir, "io.safetensors"),
        metadata={
            "seed": str(seed),
            "computed_in": "float64, stored as float32",
            "tolerance_rel": str(TOLERANCE_REL),
            "layers": "layer.{i} = activation after layer i, residual sum included; output = last layer",
        },
    )
    return {"manifest": manifest, "io": {k: tuple(v.shape) for k, v in io.items()}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="test/fixtures/hyperconv", help="output directory")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    info = write_fixture(args.out, args.seed)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out}: features={FEATURES} kernel_sizes={KERNEL_SIZES}")
    for k, s in info["io"].items():
        print(f"  io {k}: {list(s)}")
    print(f"  total size of {args.out}: {total} bytes")


if __name__ == "__main__":
    main()
