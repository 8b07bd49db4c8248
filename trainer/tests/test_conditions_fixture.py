"""The committed condition fixture matches trainer/generator/conditions.py run on the committed base model
(from the stored token ids: the tokenizer is not installed in CI)."""
import json
from pathlib import Path

import pytest
import torch

from trainer.generator.conditions import FIXTURE_PROMPTS, condition_text, encode_ids
from trainer.export.onnx_model import sha256_file
from trainer.base.model import LlamaLM, ModelConfig
from trainer.safetensors_io import load_file

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "test" / "fixtures" / "conditions"
BASE = ROOT / "models" / "base"


@pytest.mark.skipif(not (FIX / "cases.json").is_file() or not (BASE / "model.safetensors").is_file(),
                    reason="fixture or base model not present")
def test_fixture_matches_trunk_hidden_states():
    cases = json.loads((FIX / "cases.json").read_text(encoding="utf-8"))
    if cases["weights_sha256"] != sha256_file(BASE / "model.safetensors"):
        pytest.skip("models/base changed since the fixture was written: rerun `python -m trainer conditions-fixture`")
    # the release's condition: trainer/configs/zero-shot.json (tail window) = models/generator's encoder
    ccfg = json.loads((ROOT / "trainer" / "configs" / "zero-shot.json").read_text())["condition"]
    keys = ("layer", "max_tokens", "pooling", "template", "window", "max_input_tokens")
    assert cases["encoder"] == {k: ccfg[k] for k in keys}
    release = json.loads((ROOT / "models" / "generator" / "generator.json").read_text())["encoder"]
    assert {k: release[k] for k in keys} == cases["encoder"], "fixture and release generator read prompts alike"
    assert [c["prompt"] for c in cases["cases"]] == FIXTURE_PROMPTS
    assert all(c["text"] == condition_text(c["prompt"], ccfg["template"]) for c in cases["cases"])
    assert all(1 <= len(c["ids"]) <= ccfg["max_input_tokens"] for c in cases["cases"])
    assert max(len(c["ids"]) for c in cases["cases"]) > ccfg["max_tokens"], "one case exercises the tail window"
    model = LlamaLM(ModelConfig.from_dict(json.loads((BASE / "config.json").read_text()))).eval()
    model.load_hf_state_dict(load_file(str(BASE / "model.safetensors")))
    got = encode_ids(model, [c["ids"] for c in cases["cases"]], ccfg)
    want = load_file(str(FIX / "embeddings.safetensors"))["embeddings"]
    assert got.shape == want.shape == (len(FIXTURE_PROMPTS), ccfg["max_tokens"], model.cfg.hidden_size)
    assert torch.allclose(got, want, atol=2e-4, rtol=1e-4), float((got - want).abs().max())
