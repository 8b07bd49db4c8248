"""The release generator in the manifest's version 2 (docs/generator-manifest.md).

Version 2 adds what the end-to-end generator (trainer/generator/end_to_end.py) needs the browser
to do exactly as training did:

- ``encoder.window`` / ``encoder.max_input_tokens``: the condition is the hidden states of a
  prompt's last L tokens after a forward over its last W tokens (trainer/generator/conditions.py);
- ``tokens``: ``mean`` is the generator's shared LoRA, ``std`` its per-matrix scale
  (``normalization: "shared_lora_residual"``), un-normalised exactly as in version 1;
- ``gate`` (trainer/generator/gate.py): the kNN table that sizes the adapter, tensors
  ``gate.centroids`` (M, F) and ``gate.scales`` (M,); ``gate.feature`` says what a query is:
  ``condition`` (F = C: the mean of the condition's non-zero rows) or ``output`` (F = 2 x N_out:
  each decoder output token's mean, then each one's population std, before un-normalisation); the
  browser multiplies every B matrix (the LoRA delta) by the gate's value. ``gate.rule`` says how the
  k nearest tasks give that value: ``mean`` (absent: the first releases) or ``risk``, with
  ``gate.curves`` (M, S) each task's NLL on the scale grid ``gate.grid`` relative to the base model
  and ``gate.risk`` the extra weight of harm (GateTable in trainer/generator/gate.py). Feature
  ``answer`` (F = 5, trainer/generator/answer_features.py: ``gate.answer`` says how many answer tokens
  and how long a prompt) compares standardised features (``gate.metric: "euclidean"``, with the
  table's ``gate.feature_mean`` / ``gate.feature_std``);
- ``examples`` (optional): the generator also reads answered rows (template ``chat-answer``), and
  its adapter is then sized by the validation gate: the scale of ``examples.grid`` with the least
  NLL on up to ``examples.validation_rows`` answered rows that are not in the condition.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

import torch

from trainer.generator.gate import GateTable
from trainer.generator.hyperconv import HyperConvGenerator, load_generator, save_generator
from trainer.generator.manifest import FORMAT, validate_manifest
from trainer.generator.conditions import input_length, window_of
from trainer.lora.tokens import LoraLayout

VERSION = 2


def build_manifest_v2(decoder: HyperConvGenerator, layout: LoraLayout, ccfg: dict, base_id: str, base_sha256: str,
                      channels: int, gate: GateTable, training: dict, examples: Optional[dict] = None,
                      answer: Optional[dict] = None) -> dict:
    n_out, h, w = decoder.config.features[-1]
    p = decoder.config.features[0][0]
    return {
        "format": FORMAT,
        "version": VERSION,
        "base_model": {"id": base_id, "weights_sha256": base_sha256},
        "encoder": {"id": base_id, "kind": "decoder-hidden-states", "layer": int(ccfg.get("layer", -1)),
                    "prompt_count": int(p), "max_tokens": int(ccfg["max_tokens"]), "pooling": ccfg.get("pooling", "none"),
                    "channels": int(channels), "template": ccfg.get("template", "plain"),
                    "window": window_of(ccfg), "max_input_tokens": input_length(ccfg)},
        "decoder": decoder.config.to_dict(),
        "tokens": {"height": h, "width": w, "count": n_out, "normalization": "shared_lora_residual",
                   "mean": "tokens.mean", "std": "tokens.std"},
        "gate": {"kind": "knn", "k": int(gate.k), "feature": gate.kind,
                 "centroids": "gate.centroids", "scales": "gate.scales", "tasks": len(gate.names),
                 "applies_to": "B", "rule": gate.rule, "metric": gate.metric,
                 **({"curves": "gate.curves", "grid": [float(x) for x in gate.grid], "risk": float(gate.risk)}
                    if gate.curves is not None else {}),
                 **({"feature_mean": "gate.feature_mean", "feature_std": "gate.feature_std"} if gate.metric == "euclidean" else {}),
                 **({"answer": dict(answer)} if gate.kind == "answer" else {})},
        **({"examples": dict(examples)} if examples else {}),
        "lora": layout.to_manifest(),
        "training": training,
    }


def write_release(out_dir: str, decoder: HyperConvGenerator, mean: torch.Tensor, std: torch.Tensor, gate: GateTable,
                  layout: LoraLayout, ccfg: dict, base_id: str, base_sha256: str, channels: int, training: dict,
                  examples: Optional[dict] = None, answer: Optional[dict] = None) -> dict:
    """generator.json + generator.safetensors (decoder fp16; token statistics and gate fp32), validated
    after writing by reading them back. ``answer``: the answer feature's settings (used when the gate's
    feature is ``answer``); ``examples``: the examples mode's settings (absent: prompts only)."""
    if gate.kind == "answer" and not answer:
        raise ValueError("an answer-feature gate needs its settings (tokens, max_prompt_tokens)")
    manifest = build_manifest_v2(decoder, layout, ccfg, base_id, base_sha256, channels, gate,
                                 {**training, "gate_tasks": gate.names}, examples, answer)
    import copy

    save_generator(out_dir, copy.deepcopy(decoder).cpu(), manifest, mean, std, extra_tensors=gate.to_tensors())
    _, back, tensors = load_generator(out_dir)
    validate_manifest(back, tensors)
    return back


def load_gate(gen_dir: str) -> GateTable:
    """The gate of a version-2 release (for fixtures and checks)."""
    _, manifest, tensors = load_generator(gen_dir)
    return gate_from_manifest(manifest, tensors)


def gate_from_manifest(manifest: dict, tensors: Dict[str, torch.Tensor]) -> GateTable:
    """The GateTable a version-2 manifest and its tensors describe (either rule)."""
    g = manifest["gate"]
    risk = g.get("rule", "mean") == "risk"
    return GateTable(tensors[g["centroids"]].float(), tensors[g["scales"]].float(),
                     list(manifest["training"].get("gate_tasks", [])), int(g["k"]), kind=g.get("feature", "condition"),
                     curves=tensors[g["curves"]].float() if risk else None, grid=g["grid"] if risk else None,
                     risk=float(g.get("risk", 0.0)) if risk else 0.0, metric=g.get("metric", "cosine"))
