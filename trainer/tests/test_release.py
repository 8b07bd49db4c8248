"""The committed release ``models/base`` (skipped when it is absent)."""
import json
from pathlib import Path

import pytest
import torch

from test_model import EXPECTED_CONFIG_KEYS, EXPECTED_LAYER_NAMES

from trainer.base.release import load_exported
from trainer.safetensors_io import load_file, load_metadata

REL = Path(__file__).resolve().parents[2] / "models" / "base"
pytestmark = pytest.mark.skipif(not (REL / "model.safetensors").exists(),
                                reason="models/base not present")


def test_release_files_and_names():
    cfg = json.loads((REL / "config.json").read_text())
    assert set(cfg) == EXPECTED_CONFIG_KEYS
    assert (REL / "model.safetensors").stat().st_size <= 60 * 1024 * 1024
    weights = load_file(REL / "model.safetensors")
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    for i in range(cfg["num_hidden_layers"]):
        expected |= {f"model.layers.{i}.{n}" for n in EXPECTED_LAYER_NAMES}
    assert set(weights) == expected
    assert all(v.dtype == torch.float16 for v in weights.values())
    assert load_metadata(REL / "model.safetensors").get("format") == "pt"
    n = sum(v.numel() for v in weights.values())
    assert 20_000_000 <= n <= 30_000_000


def test_release_tokenizer_config():
    tc = json.loads((REL / "tokenizer_config.json").read_text())
    assert "<|im_start|>" in tc["chat_template"]
    tok = json.loads((REL / "tokenizer.json").read_text())
    specials = {t["content"]: t["id"] for t in tok["added_tokens"]}
    assert specials == {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    assert tok["model"]["type"] == "BPE" and tok["pre_tokenizer"]["type"] == "ByteLevel"
    gen = json.loads((REL / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [2, 0]


def test_release_runs_in_our_model():
    model = load_exported(REL).eval()
    ids = torch.tensor([[1, 882, 201, 40, 41, 42]])
    with torch.no_grad():
        logits = model(ids)
    assert logits.shape == (1, 6, 16384) and torch.isfinite(logits).all()
