import torch

from trainer.base.release import hf_config
from trainer.base.model import LlamaLM, ModelConfig

TINY = ModelConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)

# Exactly the parameter names transformers' LlamaForCausalLM uses (tied embeddings: no lm_head).
EXPECTED_LAYER_NAMES = [
    "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",
    "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",
    "mlp.gate_proj.weight",
    "mlp.up_proj.weight",
    "mlp.down_proj.weight",
    "input_layernorm.weight",
    "post_attention_layernorm.weight",
]

# Exactly the config.json keys we write (those of transformers' LlamaConfig).
EXPECTED_CONFIG_KEYS = {
    "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size",
    "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act",
    "max_position_embeddings", "initializer_range", "rms_norm_eps", "use_cache", "pretraining_tp",
    "rope_theta", "rope_scaling", "rope_parameters", "attention_bias", "attention_dropout",
    "mlp_bias", "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id",
    "torch_dtype",
}


def test_forward_shapes():
    torch.manual_seed(0)
    m = LlamaLM(TINY)
    x = torch.randint(0, 300, (3, 17))
    logits = m(x)
    assert logits.shape == (3, 17, 300)
    logits2, loss = m(x, x)
    assert logits2.shape == (3, 17, 300)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert m.hidden_states(x).shape == (3, 17, 32)


def test_causal():
    torch.manual_seed(0)
    m = LlamaLM(TINY)
    x = torch.randint(0, 300, (1, 10))
    y = x.clone()
    y[0, 7] = (y[0, 7] + 1) % 300
    a, b = m(x), m(y)
    assert torch.allclose(a[0, :7], b[0, :7], atol=1e-6)
    assert not torch.allclose(a[0, 7:], b[0, 7:])


def test_hf_weight_names_exact():
    m = LlamaLM(TINY)
    names = set(m.hf_state_dict())
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    for i in range(TINY.num_hidden_layers):
        expected |= {f"model.layers.{i}.{n}" for n in EXPECTED_LAYER_NAMES}
    assert names == expected
    sd = m.hf_state_dict()
    hd = TINY.head_dim
    assert sd["model.layers.0.self_attn.q_proj.weight"].shape == (4 * hd, 32)
    assert sd["model.layers.0.self_attn.k_proj.weight"].shape == (2 * hd, 32)
    assert sd["model.layers.0.mlp.gate_proj.weight"].shape == (64, 32)
    assert sd["model.layers.0.mlp.down_proj.weight"].shape == (32, 64)


def test_untied_has_lm_head():
    cfg = ModelConfig(**{**TINY.to_dict(), "tie_word_embeddings": False})
    assert "lm_head.weight" in LlamaLM(cfg).hf_state_dict()


def test_config_keys_exact():
    cfg = hf_config(TINY, bos_id=256, eos_id=258, pad_id=256)
    assert set(cfg) == EXPECTED_CONFIG_KEYS
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["model_type"] == "llama"
    assert cfg["hidden_act"] == "silu"
    assert cfg["head_dim"] * cfg["num_attention_heads"] == cfg["hidden_size"]


def test_hf_state_dict_roundtrip():
    torch.manual_seed(0)
    a = LlamaLM(TINY)
    b = LlamaLM(TINY)
    b.load_hf_state_dict(a.hf_state_dict())
    x = torch.randint(0, 300, (2, 9))
    assert torch.equal(a(x), b(x))
    assert b.lm_head.weight.data_ptr() == b.model.embed_tokens.weight.data_ptr()
