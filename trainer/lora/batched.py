"""Native batched multi-adapter LoRA on ``trainer/base/model.py``'s Llama (no PEFT needed).

K adapters are stacked: for target module m of layer l, ``A`` is ``(K, r, in)`` and ``B`` is
``(K, out, r)``. Input ids have shape ``(K, b, T)``: adapter k sees its own sub-batch of b rows
("vmap-style"), so one step trains or evaluates K adapters at the cost of one big batch. A projection
computes ``y = x W^T + (alpha / r) * (x A_k^T) B_k^T`` exactly as PEFT's ``lora.Linear`` (dropout 0).

Per-adapter dicts use PEFT names (``base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight``,
see ``trainer/lora_tokens.peft_name``), so ``save_peft`` writes an adapter PEFT loads unchanged.
"""
from __future__ import annotations

import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from trainer.lora.tokens import DEFAULT_PARENTS, ModuleSpec, build_layout, peft_name
from trainer.base.model import LlamaLM, apply_rope, rope_cos_sin

ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def module_specs(cfg, targets: Sequence[str]) -> List[ModuleSpec]:
    """(name, parent, in, out) of each target projection of a Llama with config ``cfg``."""
    hd = cfg.hidden_size // cfg.num_attention_heads
    shapes = {
        "q_proj": (cfg.hidden_size, cfg.num_attention_heads * hd),
        "k_proj": (cfg.hidden_size, cfg.num_key_value_heads * hd),
        "v_proj": (cfg.hidden_size, cfg.num_key_value_heads * hd),
        "o_proj": (cfg.num_attention_heads * hd, cfg.hidden_size),
        "gate_proj": (cfg.hidden_size, cfg.intermediate_size),
        "up_proj": (cfg.hidden_size, cfg.intermediate_size),
        "down_proj": (cfg.intermediate_size, cfg.hidden_size),
    }
    out = []
    for t in targets:
        if t not in shapes:
            raise ValueError(f"unknown LoRA target {t!r}; choose from {ALL_TARGETS}")
        out.append(ModuleSpec(t, DEFAULT_PARENTS[t], shapes[t][0], shapes[t][1]))
    return out


class LoraStack:
    """K stacked adapters: ``ab[(layer, module)] = (A (K, r, in), B (K, out, r))``."""

    def __init__(self, ab: Dict[Tuple[int, str], Tuple[torch.Tensor, torch.Tensor]], rank: int, alpha: float,
                 specs: List[ModuleSpec], num_layers: int):
        self.ab = ab
        self.rank = int(rank)
        self.alpha = float(alpha)
        self.specs = specs
        self.num_layers = int(num_layers)

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    @property
    def k(self) -> int:
        return next(iter(self.ab.values()))[0].shape[0]

    @classmethod
    def init(cls, model: LlamaLM, k: int, rank: int, alpha: float, targets: Sequence[str], seeds: Sequence[int],
             device=None) -> "LoraStack":
        """PEFT's default init per adapter: A ~ kaiming-uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0.

        Adapter k's A matrices are drawn from its own generator seeded with ``seeds[k]``."""
        cfg = model.cfg
        specs = module_specs(cfg, targets)
        device = device or next(model.parameters()).device
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        ab = {}
        for layer in range(cfg.num_hidden_layers):
            for sp in specs:
                bound = 1.0 / math.sqrt(sp.in_features)
                a = torch.stack([(torch.rand(rank, sp.in_features, generator=g) * 2 - 1) * bound for g in gens])
                b = torch.zeros(k, sp.out_features, rank)
                ab[(layer, sp.name)] = (a.to(device).requires_grad_(True), b.to(device).requires_grad_(True))
        return cls(ab, rank, alpha, specs, cfg.num_hidden_layers)

    def parameters(self) -> List[torch.Tensor]:
        return [t for pair in self.ab.values() for t in pair]

    def select(self, start: int, end: int) -> "LoraStack":
        """Adapters start..end-1 (views)."""
        return LoraStack({key: (a[start:end], b[start:end]) for key, (a, b) in self.ab.items()}, self.rank, self.alpha,
                         self.specs, self.num_layers)

    def adapter(self, i: int) -> Dict[str, torch.Tensor]:
        """Adapter ``i`` as a PEFT-named dict (detached, on the stack's device)."""
        out = {}
        for (layer, name), (a, b) in self.ab.items():
            parent = DEFAULT_PARENTS[name]
            out[peft_name(layer, parent, name, "A")] = a[i].detach()
            out[peft_name(layer, parent, name, "B")] = b[i].detach()
        return out

    @classmethod
    def from_adapters(cls, adapters: Sequence[Dict[str, torch.Tensor]], rank: int, alpha: float,
                      specs: List[ModuleSpec], num_layers: int, device=None, dtype=torch.float32) -> "LoraStack":
        ab = {}
        for layer in range(num_layers):
            for sp in specs:
                ka = peft_name(layer, sp.parent, sp.name, "A")
                kb = peft_name(layer, sp.parent, sp.name, "B")
                a = torch.stack([d[ka] for d in adapters]).to(device=device, dtype=dtype)
                b = torch.stack([d[kb] for d in adapters]).to(device=device, dtype=dtype)
                ab[(layer, sp.name)] = (a, b)
        return cls(ab, rank, alpha, specs, num_layers)


def layout_for(model_cfg, rank: int, alpha: float, targets: Sequence[str], token_h: int, token_w: int):
    return build_layout(model_cfg.num_hidden_layers, module_specs(model_cfg, targets), rank, token_h, token_w, alpha=alpha)


def _proj(x: torch.Tensor, weight: torch.Tensor, lora: Optional[LoraStack], key, k: int) -> torch.Tensor:
    y = F.linear(x, weight)
    if lora is None or key not in lora.ab:
        return y
    a, b = lora.ab[key]
    z = x.reshape(k, -1, x.shape[-1])  # (K, b*T, in)
    d = torch.bmm(torch.bmm(z, a.transpose(1, 2).to(z.dtype)), b.transpose(1, 2).to(z.dtype))
    return y + (lora.scale * d).reshape(y.shape)


def hidden_states(model: LlamaLM, ids: torch.Tensor, lora: Optional[LoraStack] = None,
                  return_layers: bool = False):
    """Final (normed) hidden states of ``ids`` (K, b, T) -> (K, b, T, C); adapter k on sub-batch k.

    ``lora=None`` runs the base model (then K may be anything). With ``return_layers`` also returns
    the list of per-layer outputs [embeddings, after layer 1, ..., after layer n] (HF's
    ``hidden_states`` minus the final norm)."""
    k, nb, t = ids.shape
    cfg = model.cfg
    hd = cfg.head_dim
    cos, sin = rope_cos_sin(cfg, t, ids.device)
    x = model.model.embed_tokens(ids.reshape(k * nb, t))
    layers_out = [x] if return_layers else None
    rep = cfg.num_attention_heads // cfg.num_key_value_heads
    for li, layer in enumerate(model.model.layers):
        at = layer.self_attn
        h = layer.input_layernorm(x)
        q = _proj(h, at.q_proj.weight, lora, (li, "q_proj"), k).view(k * nb, t, cfg.num_attention_heads, hd).transpose(1, 2)
        kk = _proj(h, at.k_proj.weight, lora, (li, "k_proj"), k).view(k * nb, t, cfg.num_key_value_heads, hd).transpose(1, 2)
        v = _proj(h, at.v_proj.weight, lora, (li, "v_proj"), k).view(k * nb, t, cfg.num_key_value_heads, hd).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        kk = apply_rope(kk, cos, sin)
        if rep > 1:
            kk = kk.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, kk, v, is_causal=True)
        else:  # torch 1.13
            att = (q @ kk.transpose(-2, -1)) / math.sqrt(hd)
            mask = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
            att = att.masked_fill(~mask, float("-inf"))
            y = F.softmax(att.float(), dim=-1).to(q.dtype) @ v
        y = y.transpose(1, 2).reshape(k * nb, t, cfg.num_attention_heads * hd)
        x = x + _proj(y, at.o_proj.weight, lora, (li, "o_proj"), k)
        mlp = layer.mlp
        h = layer.post_attention_layernorm(x)
        g = _proj(h, mlp.gate_proj.weight, lora, (li, "gate_proj"), k)
        u = _proj(h, mlp.up_proj.weight, lora, (li, "up_proj"), k)
        x = x + _proj(F.silu(g) * u, mlp.down_proj.weight, lora, (li, "down_proj"), k)
        if return_layers:
            layers_out.append(x)
    out = model.model.norm(x).view(k, nb, t, -1)
    return (out, layers_out) if return_layers else out


def logits_at(model: LlamaLM, hidden: torch.Tensor) -> torch.Tensor:
    return F.linear(hidden, model.lm_head.weight)


def merged_state_dict(model: LlamaLM, adapter: Dict[str, torch.Tensor], alpha: float, rank: int) -> Dict[str, torch.Tensor]:
    """The base state dict with ``W' = W + (alpha/r) B @ A`` for each adapted projection (HF names)."""
    sd = {k: v.clone() for k, v in model.hf_state_dict().items()}
    scale = alpha / rank
    for name, a in adapter.items():
        if not name.endswith("lora_A.weight"):
            continue
        b = adapter[name.replace("lora_A", "lora_B")]
        wname = name.replace("base_model.model.", "", 1).replace(".lora_A.weight", ".weight")
        sd[wname] = sd[wname] + scale * (b.float() @ a.float()).to(sd[wname].dtype)
    return sd


def save_peft(out_dir: str, adapter: Dict[str, torch.Tensor], rank: int, alpha: float, targets: Sequence[str],
              base_model: str = "models/base", dtype=torch.float16) -> None:
    """``adapter_config.json`` + ``adapter_model.safetensors`` in PEFT's format."""
    from trainer.safetensors_io import save_file

    os.makedirs(out_dir, exist_ok=True)
    save_file({k: v.detach().to("cpu", dtype).contiguous() for k, v in adapter.items()},
              os.path.join(out_dir, "adapter_model.safetensors"), metadata={"format": "pt"})
    write_peft_config(out_dir, int(rank), float(alpha), targets, base_model)


def write_peft_config(out_dir, rank, alpha, targets: Sequence[str], base_model: str) -> None:
    """PEFT's ``adapter_config.json`` for a plain LoRA (no dropout, bias, rsLoRA or DoRA)."""
    cfg = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": rank,
        "lora_alpha": alpha,
        "lora_dropout": 0.0,
        "target_modules": list(targets),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "modules_to_save": None,
        "use_rslora": False,
        "use_dora": False,
    }
    with open(os.path.join(str(out_dir), "adapter_config.json"), "w") as f:
        f.write(json.dumps(cfg, indent=2) + "\n")
