"""A tiny random Llama (byte-tokenizer vocabulary) written as a model dir, for the CPU pipeline tests."""
import json

import torch

from trainer.base.model import LlamaLM, ModelConfig
from trainer.safetensors_io import save_file


def write_model(d):
    """``d/config.json`` + ``d/model.safetensors`` (fp16) of a 2-layer, 32-wide Llama, seed 0."""
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=259, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)
    d.mkdir(parents=True)
    save_file({k: v.half() for k, v in LlamaLM(cfg).hf_state_dict().items()}, str(d / "model.safetensors"))
    (d / "config.json").write_text(json.dumps(cfg.to_dict()))
