"""Generator training pieces: statistics exclude held-out tasks, manifest validation, loss goes down."""
import copy

import pytest
import torch

from trainer.generator.reconstruction import (ManifestError, build_manifest, decoder_config, decoder_flops, train_generator,
                                     validate_manifest)
from trainer.generator.hyperconv import DecoderConfig
from trainer.lora.tokens import build_layout, compute_stats

GCFG = {"prompt_count": 2, "decoder": {"features": [[0, 0, 0], [4, 4, 16], [0, 0, 0]], "kernel_sizes": [1, 1]},
        "steps": 60, "batch_size": 8, "lr": 0.01, "warmup_steps": 5, "cond_noise": 0.01, "token_noise": 0.01,
        "log_every": 1000, "grad_clip": 1.0}


def toy_data(n_tasks=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    layout = build_layout(2, [("q_proj", "self_attn", 16, 16), ("v_proj", "self_attn", 16, 8)], 2, 4, 16)
    tokens, conds = {}, {}
    for t in range(n_tasks):
        centre = torch.randn(layout.count, 4, 16, generator=g)  # each task its own LoRA "mode"
        tokens[f"T{t}"] = (centre + 0.1 * torch.randn(5, layout.count, 4, 16, generator=g)) * layout.mask()
        key = torch.randn(1, 1, 16, generator=g)
        conds[f"T{t}"] = key + 0.1 * torch.randn(6, 8, 16, generator=g)
    return layout, tokens, conds


def test_stats_exclude_held_out_task():
    layout, tokens, conds = toy_data()
    tokens["T3"] = tokens["T3"] * 1000 + 50  # a held-out task with wild values
    _, mean, std, info = train_generator(GCFG, tokens, conds, ["T0", "T1", "T2"], layout, "cpu", steps=1)
    ref_mean, ref_std = compute_stats(torch.cat([tokens[t] for t in ("T0", "T1", "T2")]), layout)
    assert torch.allclose(mean, ref_mean) and torch.allclose(std, ref_std)
    assert "T3" not in info["train_tasks"] and info["checkpoints"] == 15
    all_mean, _ = compute_stats(torch.cat(list(tokens.values())), layout)
    assert not torch.allclose(mean, all_mean)


def test_tiny_generator_training_lowers_loss():
    torch.manual_seed(0)
    layout, tokens, conds = toy_data()
    model, mean, std, info = train_generator(GCFG, tokens, conds, list(tokens), layout, "cpu", seed=0)
    assert info["loss_last"] < 0.8 * info["loss_first"], info
    assert model.config.features[0] == (2, 8, 16) and model.config.features[-1] == (layout.count, 4, 16)


def _manifest():
    layout, tokens, conds = toy_data()
    cfg = decoder_config(GCFG, layout, (2, 8, 16))
    ccfg = {"layer": -1, "max_tokens": 8, "pooling": "none", "template": "plain"}
    return build_manifest(cfg, layout, ccfg, "toy", "ab" * 32, 16, {"note": "test"}), cfg


def test_manifest_schema_validation():
    m, cfg = _manifest()
    validate_manifest(m)
    for path, value, msg in [
        (("format",), "other", "format"),
        (("version",), 3, "version"),
        (("base_model", "weights_sha256"), "xyz", "weights_sha256"),
        (("encoder", "pooling"), "max", "encoder.pooling"),
        (("encoder", "prompt_count"), 3, "features[0]"),
        (("tokens", "count"), 5, "features[-1]"),
        (("decoder", "kernel_sizes"), [2, 1], "kernel_sizes"),
    ]:
        bad = copy.deepcopy(m)
        d = bad
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
        with pytest.raises(ManifestError, match=msg.replace("[", r"\[").replace("]", r"\]")):
            validate_manifest(bad)
    bad = copy.deepcopy(m)
    bad["lora"]["layout"][0]["token_count"] += 1
    with pytest.raises(ManifestError, match="lora.layout"):
        validate_manifest(bad)
    bad = copy.deepcopy(m)
    del bad["encoder"]["template"]
    with pytest.raises(ManifestError, match="encoder.template"):
        validate_manifest(bad)
    # version 2 (trainer/generator/release.py) needs the window fields and a well-formed gate
    v2 = copy.deepcopy(m)
    v2["version"] = 2
    with pytest.raises(ManifestError, match="encoder.window"):
        validate_manifest(v2)
    v2["encoder"].update({"window": "tail", "max_input_tokens": v2["encoder"]["max_tokens"] * 4})
    validate_manifest(v2)
    v2["encoder"]["max_input_tokens"] = 1
    with pytest.raises(ManifestError, match="max_input_tokens"):
        validate_manifest(v2)
    v2["encoder"]["max_input_tokens"] = v2["encoder"]["max_tokens"]
    v2["gate"] = {"kind": "knn", "k": 0, "feature": "condition", "centroids": "gate.centroids", "scales": "gate.scales"}
    with pytest.raises(ManifestError, match="gate.k"):
        validate_manifest(v2)
    v2["gate"].update({"k": 5, "feature": "tokens"})
    with pytest.raises(ManifestError, match="gate.feature"):
        validate_manifest(v2)


def test_release_schedule_flops_budget():
    import json
    from pathlib import Path

    g = json.loads((Path(__file__).resolve().parents[1] / "configs" / "generator.json").read_text())
    cfg = DecoderConfig.from_dict(g["decoder"])
    assert cfg.num_parameters() <= 25_000_000
    assert decoder_flops(cfg.features, cfg.kernel_sizes) <= 400e6
    assert cfg.features[0] == (g["prompt_count"], g["condition"]["max_tokens"], 512)
    assert tuple(cfg.features[-1][1:]) == (g["token"]["height"], g["token"]["width"])
