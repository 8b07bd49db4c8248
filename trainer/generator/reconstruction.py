"""Training the hyper-convolution generator (``trainer/generator/hyperconv.py``) on the LoRA zoo.

One training sample = (a random checkpoint of training task t, P prompts of t drawn at random from
its train-prompt condition pool) -> masked MSE between the decoder output and the checkpoint's
*normalised* tokens (``lora_tokens.normalize`` with per-matrix statistics from the training tasks'
checkpoints only). Noise augmentation as in the DnD paper, on both sides: Gaussian noise on the
condition (``cond_noise`` x the pool's std) and on the normalised target tokens (``token_noise``).

Also here: the manifest (docs/generator-manifest.md) and its validation, FLOP counting of a schedule,
and LoRA generation (condition -> tokens -> PEFT-named dict).
"""
from __future__ import annotations

import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from trainer.generator.hyperconv import DecoderConfig, HyperConvGenerator
from trainer.lora.tokens import LoraLayout, compute_stats, denormalize, detokenize, masked_mse, normalize

FORMAT = "dnd-lora-generator"
VERSION = 1
# version 2 (trainer/generator/release.py): encoder.window / encoder.max_input_tokens and a ``gate``
VERSIONS = (1, 2)


def layer_flops(in_shape, out_shape, k: int) -> int:
    """Multiply-adds x 2 of one HyperConvLayer (the five convs; norms and adds not counted)."""
    n, h, w = in_shape
    n2, h2, w2 = out_shape
    kk = k * k
    return 2 * kk * (w2 * w * h * n + h2 * h * n * w2 + h2 * h * n * w + w2 * w * h2 * n + n2 * n * h2 * w2)


def decoder_flops(features, kernel_sizes) -> int:
    return sum(layer_flops(features[i], features[i + 1], kernel_sizes[i]) for i in range(len(kernel_sizes)))


def decoder_config(gcfg: dict, layout: LoraLayout, condition_shape: Sequence[int]) -> DecoderConfig:
    """The schedule of ``gcfg['decoder']`` with f0 := the condition shape and fm := (count, h, w)."""
    feats = [list(f) for f in gcfg["decoder"]["features"]]
    feats[0] = list(condition_shape)
    feats[-1] = [layout.count, layout.token_h, layout.token_w]
    return DecoderConfig(feats, gcfg["decoder"]["kernel_sizes"], gcfg["decoder"].get("layer_norm_eps", 1e-5))


def train_generator(gcfg: dict, tokens: Dict[str, torch.Tensor], conds: Dict[str, torch.Tensor],
                    train_tasks: Sequence[str], layout: LoraLayout, device, seed: int = 0,
                    log=print, steps: Optional[int] = None):
    """Train one generator on ``train_tasks``. ``tokens[t]`` (n_ckpt, N, h, w) raw LoRA tokens,
    ``conds[t]`` (n_prompts, L, C) train-prompt conditions. Returns (model, mean, std, info).

    The normalisation statistics come from ``tokens`` of ``train_tasks`` only."""
    train_tasks = list(train_tasks)
    if not train_tasks:
        raise ValueError("no training tasks")
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    torch.manual_seed(int(seed))
    mode = gcfg.get("normalization", "per_matrix")
    stack = torch.cat([tokens[t].float().cpu() for t in train_tasks])
    mean, std = compute_stats(stack, layout, mode)
    mask = layout.mask().to(device)
    mean_d, std_d = mean.to(device), std.to(device)
    normed = {t: normalize(tokens[t].float().to(device), mean_d, std_d, mask) for t in train_tasks}
    # the part of the target no condition can explain: spread of checkpoints around their task's mean
    # (seeds, steps). A generator that knew each task exactly would reach this masked MSE (no noise).
    m_sum = mask.float().sum()
    within = sum(float((((normed[t] - normed[t].mean(0, keepdim=True)) ** 2) * mask).sum()) for t in train_tasks)
    total = sum(float(((normed[t] ** 2) * mask).sum()) for t in train_tasks)
    n_all = sum(normed[t].shape[0] for t in train_tasks)
    loss_floor = within / max(float(m_sum) * n_all, 1.0)
    pools = {t: conds[t].to(device).float() for t in train_tasks}
    p = int(gcfg["prompt_count"])
    cshape = (p,) + tuple(pools[train_tasks[0]].shape[1:])
    cfg = decoder_config(gcfg, layout, cshape)
    model = HyperConvGenerator(cfg).to(device)
    if gcfg.get("zero_init_output"):
        # start at the zoo mean (0 in normalised units): a random initial output is uncorrelated with
        # the targets, and the fastest way to lower the loss is then to shrink the whole output path
        with torch.no_grad():
            model.decoder.layers[-1].len_conv.weight.zero_()
            model.decoder.layers[-1].len_conv.bias.zero_()
    steps = int(steps if steps is not None else gcfg["steps"])
    bsz = int(gcfg["batch_size"])
    opt = torch.optim.AdamW(model.parameters(), lr=float(gcfg["lr"]), weight_decay=float(gcfg.get("weight_decay", 0.0)))
    cond_std = float(torch.cat([pools[t].reshape(-1)[:100000] for t in train_tasks]).std())
    cn, tn = float(gcfg.get("cond_noise", 0.0)) * cond_std, float(gcfg.get("token_noise", 0.0))
    warm = int(gcfg.get("warmup_steps", 20))
    losses: List[float] = []
    t0 = time.time()
    for step in range(steps):
        lr = float(gcfg["lr"]) * min(1.0, (step + 1) / warm) * (0.5 * (1 + math.cos(math.pi * step / steps)) * 0.9 + 0.1)
        for pg in opt.param_groups:
            pg["lr"] = lr
        ti = torch.randint(len(train_tasks), (bsz,), generator=g).tolist()
        xs, ys = [], []
        for t_i in ti:
            t = train_tasks[t_i]
            ys.append(normed[t][int(torch.randint(normed[t].shape[0], (1,), generator=g))])
            idx = torch.randperm(pools[t].shape[0], generator=g)[:p]
            xs.append(pools[t][idx.to(device)])
        x = torch.stack(xs)
        y = torch.stack(ys)
        if cn > 0:
            x = x + cn * torch.randn_like(x)
        if tn > 0:
            y = y + tn * torch.randn_like(y) * mask
        pred = model(x)
        loss = masked_mse(pred, y, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if gcfg.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(gcfg["grad_clip"]))
        opt.step()
        losses.append(float(loss.detach()))
        if step % int(gcfg.get("log_every", 200)) == 0 or step == steps - 1:
            log(f"[gen] step {step}/{steps} loss {losses[-1]:.4f} ({time.time() - t0:.1f}s)")
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    secs = time.time() - t0
    k = max(1, min(20, steps // 5))
    info = {"steps": steps, "batch_size": bsz, "seconds": round(secs, 2), "steps_per_s": round(steps / max(secs, 1e-9), 2),
            "loss_first": round(sum(losses[:k]) / k, 5), "loss_last": round(sum(losses[-k:]) / k, 5),
            "parameters": model.num_parameters(), "train_tasks": train_tasks,
            "target_mse_of_zero": round(total / max(float(m_sum) * n_all, 1.0), 5),
            "loss_floor_task_oracle": round(loss_floor, 5),
            "checkpoints": int(stack.shape[0]), "flops_per_forward": decoder_flops(cfg.features, cfg.kernel_sizes)}
    return model, mean, std, info


@torch.no_grad()
def generate_tokens(model: HyperConvGenerator, cond: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """cond (P, L, C) -> raw (denormalised) tokens (N, h, w)."""
    dev = next(model.parameters()).device
    out = model(cond.unsqueeze(0).to(dev, next(model.parameters()).dtype))[0].float()
    return denormalize(out, mean.to(dev), std.to(dev))


def generate_lora(model, cond, mean, std, layout: LoraLayout) -> Dict[str, torch.Tensor]:
    return detokenize(generate_tokens(model, cond, mean, std).cpu(), layout)


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
    """Checks docs/generator-manifest.md (format version 1); raises ManifestError naming the field."""

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
    if version >= 2 and "gate" in m:
        gate = need(m, "gate", dict, "")
        if need(gate, "kind", str, "gate.") != "knn":
            raise ManifestError("gate.kind: must be 'knn'")
        if gate.get("feature", "condition") not in ("condition", "output"):
            raise ManifestError("gate.feature: must be 'condition' or 'output'")
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
            f = enc["channels"] if gate.get("feature", "condition") == "condition" else 2 * toks["count"]
            if c.dim() != 2 or c.shape[1] != f or tuple(sc.shape) != (c.shape[0],):
                raise ManifestError(f"gate: centroids must be (M, {f}) and scales (M,)")
            if gate.get("rule", "mean") == "risk":
                cv = tensors.get(gate["curves"])
                if cv is None or tuple(cv.shape) != (c.shape[0], len(gate["grid"])):
                    raise ManifestError(f"gate: tensor {gate['curves']!r} must be (M, {len(gate['grid'])}) (one NLL curve per task)")
        model = HyperConvGenerator(DecoderConfig.from_dict(dec))
        want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        for k, shp in want.items():
            if k not in tensors or tuple(tensors[k].shape) != shp:
                raise ManifestError(f"decoder: tensor {k} missing or of the wrong shape")
