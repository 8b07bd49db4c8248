"""A random-weight generator of a given schedule, in the release format (for benchmarks).

    python3 -m trainer.generator.random_weights --schedule bench/release-standin.json --out build/bench-generator

The schedule file holds a ``decoder`` section (features, kernel sizes) and a ``lora`` section (layers,
rank, alpha, modules as [name, parent, in, out]); the last feature's N must equal the number of
tokens of that LoRA layout. Weights and token statistics are random (seeded): the output is a
stand-in with the real shapes, never a trained model, and its manifest says so.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from trainer.fixtures.hyperconv import build_manifest, fake_zoo_stats, random_weights
from trainer.generator.hyperconv import DecoderConfig, HyperConvGenerator, save_generator
from trainer.lora.tokens import build_layout


def write_random_generator(schedule_path: str, out_dir: str, seed: int = 1, dtype: torch.dtype = torch.float32) -> dict:
    with open(schedule_path) as f:
        schedule = json.load(f)
    config = DecoderConfig.from_dict(schedule["decoder"])
    lora = schedule["lora"]
    n_out, h, w = config.features[-1]
    layout = build_layout(lora["num_layers"], [tuple(m) for m in lora["modules"]], lora["rank"], h, w, alpha=lora["alpha"])
    if layout.count != n_out:
        raise ValueError(f"{schedule_path}: the LoRA layout needs {layout.count} tokens but the last feature has N={n_out}")
    rng = np.random.Generator(np.random.PCG64(seed))
    model = HyperConvGenerator(config)
    model.load_state_dict(random_weights(model, rng), strict=True)
    mean, std = fake_zoo_stats(rng, layout)
    manifest = build_manifest(config, layout)
    manifest["base_model"]["id"] = "random-standin"
    manifest["encoder"]["id"] = "random-standin"
    manifest["training"] = {
        "random": True,
        "note": f"random weights with the shapes of {schedule.get('name', schedule_path)}; not trained",
        "seed": seed,
        "command": f"python3 -m trainer.generator.random_weights --schedule {schedule_path} --out {out_dir}",
    }
    save_generator(out_dir, model, manifest, token_mean=mean, token_std=std, dtype=dtype)
    return {"parameters": model.num_parameters(), "tokens": layout.count, "features": config.features}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schedule", required=True, help="schedule JSON (decoder + lora sections)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    args = ap.parse_args(argv)
    info = write_random_generator(args.schedule, args.out, args.seed, getattr(torch, args.dtype))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
