"""The committed greedy-generation fixture (test/fixtures/generation) is consistent with its writer.

CPU, torch 1.13, a few seconds: the adapter files are the seeded LoRA the writer makes; the cases
carry what the browser tests need; the first greedy tokens of the first case still follow from
trainer/base/model.py and models/base (when models/base is present).
"""
import json
from pathlib import Path

import pytest
import torch

from trainer.fixtures import generation as fg
from trainer.safetensors_io import load_file, load_metadata

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "test/fixtures/generation"
MODEL = ROOT / "models/base"


def test_cases_have_ids_and_continuations():
    fx = json.loads((FIXTURE / "cases.json").read_text())
    assert fx["new_tokens"] == fg.NEW_TOKENS
    assert len(fx["cases"]) >= 2
    for c in fx["cases"]:
        assert len(c["base"]) == len(c["lora"]) == fx["new_tokens"]
        assert c["min_margin_base"] >= fx["min_margin"] and c["min_margin_lora"] >= fx["min_margin"]
    assert any(c["tokens_changed_by_lora"] > 0 for c in fx["cases"])


def test_adapter_is_peft_rank8_all_targets():
    cfg = json.loads((FIXTURE / "adapter/adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["r"] == fg.LORA_RANK and cfg["lora_alpha"] == fg.LORA_ALPHA
    tensors = load_file(FIXTURE / "adapter/adapter_model.safetensors")
    assert len(tensors) == 6 * 7 * 2
    a = tensors[fg.peft_name(0, "q_proj", "A")]
    assert a.dtype == torch.float16 and tuple(a.shape) == (8, 512)
    assert 0.5 * fg.LORA_STD < float(a.float().std()) < 2 * fg.LORA_STD


def test_bad_adapters(tmp_path):
    fg.write_bad_adapters(tmp_path)
    assert tuple(load_file(tmp_path / "bad/wide.safetensors")[fg.peft_name(0, "q_proj", "A")].shape) == (8, 768)
    assert load_metadata(tmp_path / "bad/other-base.safetensors")["dragdrop_base_model_sha256"] == "0" * 64


@pytest.mark.skipif(not (MODEL / "model.safetensors").exists(), reason="models/base is not present")
def test_first_case_still_follows_from_the_model():
    fx = json.loads((FIXTURE / "cases.json").read_text())
    from trainer.base.release import load_exported
    lm = load_exported(MODEL).eval()
    c = fx["cases"][0]
    ids, _ = fg.greedy_with_margins(lm, c["input_ids"], 4)
    assert ids == c["base"][:4]
