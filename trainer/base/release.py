"""Release export: a Hugging Face Llama checkpoint directory (config, generation config, fp16
safetensors, tokenizer files) that ``AutoModelForCausalLM`` / ``AutoTokenizer`` and transformers.js load.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from trainer.base.model import LlamaLM, ModelConfig
from trainer.safetensors_io import load_file, save_file

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def hf_config(cfg: ModelConfig, bos_id: int, eos_id: int, pad_id: int,
              dtype: str = "float16") -> dict:
    """config.json for LlamaForCausalLM (keys of transformers' LlamaConfig; rope given both as
    ``rope_theta`` (transformers 4.x, transformers.js) and ``rope_parameters`` (transformers 5))."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_position_embeddings,
        "initializer_range": cfg.initializer_range,
        "rms_norm_eps": cfg.rms_norm_eps,
        "use_cache": True,
        "pretraining_tp": 1,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_theta},
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": dtype,
    }


def generation_config(bos_id: int, eos_ids: list[int], pad_id: int) -> dict:
    return {"bos_token_id": bos_id, "eos_token_id": eos_ids, "pad_token_id": pad_id,
            "do_sample": False, "max_new_tokens": 128}


def export_model(model: LlamaLM, out_dir, tokenizer_dir, special_ids: dict, dtype="float16",
                 metadata: dict | None = None) -> dict:
    """Write the release directory; returns {file: size in bytes}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tdtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[dtype]
    tensors = {k: v.detach().to("cpu", tdtype) for k, v in model.hf_state_dict().items()}
    meta = {"format": "pt"}
    meta.update(metadata or {})
    save_file(tensors, out / "model.safetensors", metadata=meta)
    cfg = hf_config(model.cfg, special_ids["bos"], special_ids["eos"], special_ids["pad"], dtype)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    gen = generation_config(special_ids["bos"], [special_ids["eos"], special_ids["eot"]],
                            special_ids["pad"])
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    if tokenizer_dir is not None:
        for name in TOKENIZER_FILES:
            shutil.copyfile(Path(tokenizer_dir) / name, out / name)
    return {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}


def load_exported(model_dir) -> LlamaLM:
    """Our model class from a release directory (fp32 weights)."""
    d = Path(model_dir)
    hf = json.loads((d / "config.json").read_text())
    cfg = ModelConfig.from_dict(hf)
    model = LlamaLM(cfg)
    model.load_hf_state_dict(load_file(d / "model.safetensors"))
    return model
