"""The generator manifest (docs/generator-manifest.md): ``generator.json`` beside
``generator.safetensors``, its validation, and the FLOP count of a decoder schedule.

Version 1: encoder, decoder schedule, token layout and statistics, LoRA layout. Version 2 (the
end-to-end generator, trainer/generator/release.py) adds ``encoder.window`` /
``encoder.max_input_tokens``, a ``gate`` (the kNN table that sizes the adapter: feature
``condition``, ``output`` or ``answer``, metric ``cosine`` or ``euclidean``, rule ``mean`` or
``risk``) and, optionally, ``examples`` (the generator also reads prompts with their answers:
the condition template and the validation gate's rows and grid).
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

from trainer.generator.hyperconv import DecoderConfig, HyperConvGenerator
from trainer.lora.tokens import LoraLayout

FORMAT = "dnd-lora-generator"
VERSION = 1
VERSIONS = (1, 2)
GATE_FEATURES = ("condition", "output", "answer")
ANSWER_FEATURES = 5  # trainer/generator/answer_features.py FEATURES


def gate_feature_width(m: dict) -> int:
    """F, the width of a query of the manifest's gate."""
    feature = m["gate"].get("feature", "condition")
    if feature == "condition":
        return int(m["encoder"]["channels"])
    if feature == "output":
        return 2 * int(m["tokens"]["count"])
    return ANSWER_FEATURES


def layer_flops(in_shape, out_shape, k: int) -> int:
    """Multiply-adds x 2 of one HyperConvLayer (the five convs; norms and adds not counted)."""
    n, h, w = in_shape
    n2, h2, w2 = out_shape
    kk = k * k
    return 2 * kk * (w2 * w * h * n + h2 * h * n * w2 + h2 * h * n * w + w2 * w * h2 * n + n2 * n * h2 * w2)


def decoder_flops(features, kernel_sizes) -> int:
    return sum(layer_flops(features[i], features[i + 1], kernel_sizes[i]) for i in range(len(kernel_sizes)))


def build_manifest(cfg: DecoderConfig, layout: LoraLayout, ccfg: dict, base_id: str, base_sha256: str,
                   channels: int, training: dict, normalization: str = "per_matrix") -> dict:
    n_out, h, w = cfg.features[-1]
    p, l, c = cfg.features[0]
    return {
        "format": FORMAT,
        "version": VERSION,
        "base_model": {"id": base_id, "weights_sha256": base_sha256},
        "encoder": {"id": base_id, "kind": "decoder-hidden-states", "layer": int(ccfg.get("layer", -1)),
                    "prompt_count": p, "max_tokens": int(ccfg["max_tokens"]), "pooling": ccfg.get("pooling", "none"),
                    "channels": int(channels), "template": ccfg.get("template", "plain")},
        "decoder": cfg.to_dict(),
        "tokens": {"height": h, "width": w, "count": n_out, "normalization": normalization,
                   "mean": "tokens.mean", "std": "tokens.std"},
        "lora": layout.to_manifest(),
        "training": training,
    }


class ManifestError(ValueError):
    pass


def validate_manifest(m: dict, tensors: Optional[Dict[str, torch.Tensor]] = None) -> None:
    """Checks docs/generator-manifest.md (versions 1 and 2); raises ManifestError naming the field."""

    def need(obj, key, typ, path):
        if not isinstance(obj, dict) or key not in obj:
            raise ManifestError(f"{path}{key}: missing")
        v = obj[key]
        if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise ManifestError(f"{path}{key}: must be an integer, got {v!r}")
        if typ is not int and not isinstance(v, typ):
            raise ManifestError(f"{path}{key}: must be {typ}, got {type(v).__name__}")
        return v

    if need(m, "format", str, "") != FORMAT:
        raise ManifestError(f"format: must be {FORMAT!r}")
    version = need(m, "version", int, "")
    if version not in VERSIONS:
        raise ManifestError(f"version: must be one of {list(VERSIONS)}")
    bm = need(m, "base_model", dict, "")
    need(bm, "id", str, "base_model.")
    sha = need(bm, "weights_sha256", str, "base_model.")
    if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
        raise ManifestError("base_model.weights_sha256: must be 64 lowercase hex digits")
    enc = need(m, "encoder", dict, "")
    for key, typ in (("id", str), ("kind", str), ("layer", int), ("prompt_count", int), ("max_tokens", int),
                     ("pooling", str), ("channels", int), ("template", str)):
        need(enc, key, typ, "encoder.")
    if enc["pooling"] not in ("none", "mean"):
        raise ManifestError("encoder.pooling: must be 'none' or 'mean'")
    if version >= 2:
        if need(enc, "window", str, "encoder.") not in ("head", "tail"):
            raise ManifestError("encoder.window: must be 'head' or 'tail'")
        if need(enc, "max_input_tokens", int, "encoder.") < enc["max_tokens"]:
            raise ManifestError("encoder.max_input_tokens: must be at least encoder.max_tokens")
    dec = need(m, "decoder", dict, "")
    feats = need(dec, "features", list, "decoder.")
    ks = need(dec, "kernel_sizes", list, "decoder.")
    if len(feats) < 2 or len(ks) != len(feats) - 1:
        raise ManifestError("decoder.kernel_sizes: need one kernel size per layer")
    if any(not isinstance(k, int) or k < 1 or k % 2 == 0 for k in ks):
        raise ManifestError("decoder.kernel_sizes: must be odd positive integers")
    if enc["pooling"] == "none" and list(feats[0]) != [enc["prompt_count"], enc["max_tokens"], enc["channels"]]:
        raise ManifestError("decoder.features[0]: must equal (prompt_count, max_tokens, channels)")
    toks = need(m, "tokens", dict, "")
    for key in ("height", "width", "count"):
        need(toks, key, int, "tokens.")
    if list(feats[-1]) != [toks["count"], toks["height"], toks["width"]]:
        raise ManifestError("decoder.features[-1]: must equal (tokens.count, tokens.height, tokens.width)")
    lora = need(m, "lora", dict, "")
    for key, typ in (("rank", int), ("num_layers", int), ("target_modules", list), ("modules", dict), ("layout", list)):
        need(lora, key, typ, "lora.")
    if "alpha" not in lora:
        raise ManifestError("lora.alpha: missing")
    try:
        LoraLayout.from_manifest(m)
    except (ValueError, KeyError) as exc:
        raise ManifestError(f"lora.layout: {exc}")
    need(m, "training", dict, "")
    if version >= 2 and "examples" in m:
        ex = need(m, "examples", dict, "")
        if need(ex, "template", str, "examples.") not in ("chat-answer",):
            raise ManifestError("examples.template: must be 'chat-answer'")
        if need(ex, "validation_rows", int, "examples.") < 0:
            raise ManifestError("examples.validation_rows: must be >= 0")
        grid = need(ex, "grid", list, "examples.")
        if len(grid) < 2 or not all(isinstance(x, (int, float)) for x in grid) or grid[0] != 0 \
                or any(b <= a for a, b in zip(grid, grid[1:])) or grid[-1] > 1:
            raise ManifestError("examples.grid: must rise from 0 to at most 1, at least two scales")
    if version >= 2 and "gate" in m:
        gate = need(m, "gate", dict, "")
        if need(gate, "kind", str, "gate.") != "knn":
            raise ManifestError("gate.kind: must be 'knn'")
        feature = gate.get("feature", "condition")
        if feature not in GATE_FEATURES:
            raise ManifestError(f"gate.feature: must be one of {list(GATE_FEATURES)}")
        metric = gate.get("metric", "cosine")
        if metric not in ("cosine", "euclidean"):
            raise ManifestError("gate.metric: must be 'cosine' or 'euclidean'")
        if metric == "euclidean":
            need(gate, "feature_mean", str, "gate.")
            need(gate, "feature_std", str, "gate.")
        if feature == "answer":
            ans = need(gate, "answer", dict, "gate.")
            if need(ans, "tokens", int, "gate.answer.") < 1:
                raise ManifestError("gate.answer.tokens: must be at least 1")
            if need(ans, "max_prompt_tokens", int, "gate.answer.") < 1:
                raise ManifestError("gate.answer.max_prompt_tokens: must be at least 1")
        if need(gate, "k", int, "gate.") < 1:
            raise ManifestError("gate.k: must be at least 1")
        need(gate, "centroids", str, "gate.")
        need(gate, "scales", str, "gate.")
        rule = gate.get("rule", "mean")
        if rule not in ("mean", "risk"):
            raise ManifestError("gate.rule: must be 'mean' or 'risk'")
        if rule == "risk":
            need(gate, "curves", str, "gate.")
            grid = need(gate, "grid", list, "gate.")
            if len(grid) < 2 or not all(isinstance(x, (int, float)) for x in grid) or grid[0] != 0 \
                    or any(b <= a for a, b in zip(grid, grid[1:])) or grid[-1] > 1:
                raise ManifestError("gate.grid: must rise from 0 to at most 1, at least two scales")
            risk = gate.get("risk", 0)
            if not isinstance(risk, (int, float)) or risk < 0:
                raise ManifestError("gate.risk: must be a number >= 0")
    if tensors is not None:
        n, h, w = feats[-1]
        for key in (toks.get("mean", "tokens.mean"), toks.get("std", "tokens.std")):
            if key not in tensors:
                raise ManifestError(f"tokens: tensor {key!r} missing from generator.safetensors")
            if tuple(tensors[key].shape) != (n, h, w):
                raise ManifestError(f"tokens: tensor {key!r} has shape {tuple(tensors[key].shape)}, want {(n, h, w)}")
        if version >= 2 and "gate" in m:
            gate = m["gate"]
            c = tensors.get(gate.get("centroids", ""))
            sc = tensors.get(gate.get("scales", ""))
            if c is None or sc is None:
                raise ManifestError("gate: tensors gate.centroids / gate.scales missing from generator.safetensors")
            f = gate_feature_width(m)
            if c.dim() != 2 or c.shape[1] != f or tuple(sc.shape) != (c.shape[0],):
                raise ManifestError(f"gate: centroids must be (M, {f}) and scales (M,)")
            if gate.get("metric", "cosine") == "euclidean":
                for key in ("feature_mean", "feature_std"):
                    t = tensors.get(gate[key])
                    if t is None or tuple(t.shape) != (f,):
                        raise ManifestError(f"gate: tensor {gate[key]!r} must be ({f},)")
                if bool((tensors[gate["feature_std"]] <= 0).any()):
                    raise ManifestError(f"gate: tensor {gate['feature_std']!r} must be positive")
            if gate.get("rule", "mean") == "risk":
                cv = tensors.get(gate["curves"])
                if cv is None or tuple(cv.shape) != (c.shape[0], len(gate["grid"])):
                    raise ManifestError(f"gate: tensor {gate['curves']!r} must be (M, {len(gate['grid'])}) (one NLL curve per task)")
        model = HyperConvGenerator(DecoderConfig.from_dict(dec))
        want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        for k, shp in want.items():
            if k not in tensors or tuple(tensors[k].shape) != shp:
                raise ManifestError(f"decoder: tensor {k} missing or of the wrong shape")
