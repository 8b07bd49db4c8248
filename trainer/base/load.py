"""Loading a released base model (``models/base`` or a toy model dir) for the pipelines that adapt it:
the weights frozen in eval mode on a device, and the tokenizer the config names."""
from __future__ import annotations

import json
from pathlib import Path

from trainer.base.model import LlamaLM, ModelConfig
from trainer.config import resolve
from trainer.safetensors_io import load_file


def load_base(cfg: dict, device):
    """``cfg['model_dir']`` (config.json + model.safetensors) -> (model, tokenizer, model dir).

    The model is frozen (no gradients) and in eval mode. ``cfg['tokenizer']``: ``"hf"`` (default,
    the tokenizer files in the model dir) or ``"byte"`` (the byte tokenizer of the CPU tests)."""
    mdir: Path = resolve(cfg["model_dir"])
    mcfg = ModelConfig.from_dict(json.loads((mdir / "config.json").read_text()))
    model = LlamaLM(mcfg)
    model.load_hf_state_dict(load_file(str(mdir / "model.safetensors")))
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if cfg.get("tokenizer", "hf") == "byte":
        from trainer.text.tokenizer import ByteTokenizer
        tok = ByteTokenizer()
    else:
        from trainer.text.tokenizer import HFTokenizer
        tok = HFTokenizer(mdir)
    return model, tok, mdir
