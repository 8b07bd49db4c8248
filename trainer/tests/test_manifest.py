"""The generator manifest (trainer/generator/manifest.py, docs/generator-manifest.md): schema
validation with messages naming the field, and the browser budget of the release schedule."""
import copy
import json
from pathlib import Path

import pytest

from trainer.base.model import ModelConfig
from trainer.generator.hyperconv import DecoderConfig
from trainer.generator.manifest import ManifestError, build_manifest, decoder_flops, validate_manifest
from trainer.lora.batched import layout_for
from trainer.lora.tokens import build_layout

ROOT = Path(__file__).resolve().parents[2]


def _manifest():
    layout = build_layout(2, [("q_proj", "self_attn", 16, 16), ("v_proj", "self_attn", 16, 8)], 2, 4, 16)
    cfg = DecoderConfig([(2, 8, 16), (4, 4, 16), (layout.count, 4, 16)], [1, 1])
    ccfg = {"layer": -1, "max_tokens": 8, "pooling": "none", "template": "plain"}
    return build_manifest(cfg, layout, ccfg, "toy", "ab" * 32, 16, {"note": "test"})


def test_manifest_schema_validation():
    m = _manifest()
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


def test_release_schedule_fits_the_browser_budget():
    """The decoder ``python -m trainer zero-shot`` builds from trainer/configs/zero-shot.json for
    models/base (its first and last features come from the condition and the LoRA layout, as in
    ``zero_shot.decoder_config``): at most 25M parameters (DESIGN.md section 3) and at most 1 GFLOP
    per forward. The benchmark's 9.2 GFLOP stand-in takes 6.6 s on SwiftShader
    (reports/bench-generator.json), so 1 GFLOP keeps a generation under about a second there."""
    cfg = json.loads((ROOT / "trainer" / "configs" / "zero-shot.json").read_text())
    base = ModelConfig.from_dict(json.loads((ROOT / "models" / "base" / "config.json").read_text()))
    g, lora = cfg["generator"], cfg["lora"]
    layout = layout_for(base, lora["rank"], lora["alpha"], lora["targets"], g["token"]["height"], g["token"]["width"])
    feats = [tuple(f) for f in g["decoder"]["features"]]
    assert feats[0] == (g["prompt_count"], cfg["condition"]["max_tokens"], base.hidden_size)
    assert feats[-1] == (layout.count, layout.token_h, layout.token_w)
    dec = DecoderConfig(feats, g["decoder"]["kernel_sizes"])
    assert dec.num_parameters() <= 25_000_000
    assert decoder_flops(dec.features, dec.kernel_sizes) <= 1e9
