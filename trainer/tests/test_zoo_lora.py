"""Batched multi-adapter LoRA (trainer/lora/batched.py) equals per-adapter merged weights; PEFT names."""
import torch

from trainer.lora.batched import ALL_TARGETS, LoraStack, hidden_states, merged_state_dict, module_specs, save_peft
from trainer.lora.tokens import peft_name
from trainer.base.model import LlamaLM, ModelConfig
from trainer.safetensors_io import load_file


def tiny_model(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    return LlamaLM(cfg).eval()


def random_stack(model, k, rank=2, alpha=4.0, targets=ALL_TARGETS, seed=1):
    lora = LoraStack.init(model, k, rank, alpha, targets, list(range(seed, seed + k)))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for a, b in lora.ab.values():
            b.copy_(torch.randn(b.shape, generator=g) * 0.1)
    return lora


def test_base_path_equals_model():
    model = tiny_model()
    ids = torch.randint(0, 64, (3, 2, 7))
    h = hidden_states(model, ids, None)
    ref = model.hidden_states(ids.view(6, 7)).view(3, 2, 7, -1)
    assert torch.allclose(h, ref, atol=1e-5)


def test_stack_equals_merged_per_adapter():
    model = tiny_model()
    k = 3
    lora = random_stack(model, k)
    ids = torch.randint(0, 64, (k, 2, 9))
    with torch.no_grad():
        h = hidden_states(model, ids, lora)
    for i in range(k):
        merged = LlamaLM(model.cfg).eval()
        merged.load_hf_state_dict(merged_state_dict(model, lora.adapter(i), lora.alpha, lora.rank))
        with torch.no_grad():
            ref = merged.hidden_states(ids[i])
        assert torch.allclose(h[i], ref, atol=1e-4), (i, (h[i] - ref).abs().max())


def test_init_is_peft_default_and_names(tmp_path):
    model = tiny_model()
    lora = LoraStack.init(model, 2, 4, 8.0, ["q_proj", "down_proj"], [5, 6])
    ad = lora.adapter(0)
    assert peft_name(1, "mlp", "down_proj", "A") in ad
    a = ad[peft_name(0, "self_attn", "q_proj", "A")]
    assert a.shape == (4, 32) and a.abs().max() <= 1 / 32 ** 0.5 + 1e-6
    assert float(ad[peft_name(0, "self_attn", "q_proj", "B")].abs().sum()) == 0.0
    # distinct seeds -> distinct adapters; B = 0 -> same output as base
    assert not torch.equal(a, lora.adapter(1)[peft_name(0, "self_attn", "q_proj", "A")])
    ids = torch.randint(0, 64, (2, 1, 5))
    with torch.no_grad():
        assert torch.allclose(hidden_states(model, ids, lora), hidden_states(model, ids, None), atol=1e-6)
    save_peft(str(tmp_path / "ad"), ad, 4, 8.0, ["q_proj", "down_proj"])
    back = load_file(str(tmp_path / "ad" / "adapter_model.safetensors"))
    assert set(back) == set(ad) and all(v.dtype == torch.float16 for v in back.values())
    specs = module_specs(model.cfg, ["k_proj", "down_proj"])
    assert (specs[0].in_features, specs[0].out_features) == (32, 16)
    assert (specs[1].in_features, specs[1].out_features) == (48, 32)
