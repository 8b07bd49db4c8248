"""``python -m trainer conditions-fixture``: fixed prompts, their token ids and condition embeddings
from ``models/base`` (CPU, fp32) into ``test/fixtures/conditions/`` for the browser parity check.

Needs the ``tokenizers`` package (the GPU machine has it; Debian CI does not)."""
from __future__ import annotations

import json

import torch

from .conditions import write_fixture
from .config import load_config, resolve
from .export_onnx import sha256_file
from .zoo_pipeline import load_base


def add_args(p):
    p.add_argument("--config", default="trainer/configs/zoo.json")
    p.add_argument("--out", default="test/fixtures/conditions")


def run(args) -> int:
    cfg = load_config(args.config)
    gcfg = load_config(cfg["generator_config"])
    model, tok, mdir = load_base(cfg, torch.device("cpu"))
    info = write_fixture(model, tok, gcfg["condition"], str(resolve(args.out)), cfg.get("base_id", "dnd-base-llama-25m"),
                         sha256_file(mdir / "model.safetensors"))
    print(json.dumps(info))
    return 0
