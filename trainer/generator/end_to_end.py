"""End-to-end training of hyper-convolution generators through the frozen base model.

The objective is the base model's own next-token loss on a training task's responses with the
generated LoRA applied (DESIGN.md §2.4; Text-to-LoRA's SFT mode), conditioned on P prompts of the
same task drawn independently of the rows the loss is taken on. The user turn alone is shown (no
task instruction), as in the app.

What one generator outputs (the manifest's ``tokens``: ``value = mean + std * out``):

- ``mean`` is a *shared LoRA* learned jointly with the decoder (initialised as every zoo adapter:
  A = the shared PEFT init, B = 0): the generator learns the residual around a multi-task LoRA of
  its training tasks instead of the whole adapter;
- ``std`` is one learned scale per matrix (``log_sigma``);
- ``out`` is the decoder's token grid, its last layer initialised at zero so that training starts
  from the shared LoRA; an L2 penalty on ``out`` keeps the residual small where prompts say little.

``GeneratorBank`` trains many independent generators at once (one per evaluation unit, inner half,
or probe), plus free ``multitask`` LoRAs (the ``multitask_lora`` control: one LoRA per unit, trained
on the same tasks with the same budget of rows): each step every member draws its own tasks and
rows, and all generated adapters run through the base model as one batched multi-adapter forward
(trainer/lora/batched.py). Members share nothing: every loss term depends on one member only and
gradients are clipped per member.
"""
from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from trainer.generator.hyperconv import DecoderConfig, HyperConvGenerator
from trainer.lora.batched import LoraStack, module_specs
from trainer.lora.tokens import LoraLayout, peft_name
from trainer.lora.zoo import batch_from_picks, per_adapter_loss


def shared_init(layout: LoraLayout, init_seed: int) -> torch.Tensor:
    """The flat value vector (V,) of the zoo's shared LoRA init: A ~ U(-1/sqrt(in), 1/sqrt(in)) drawn
    exactly as ``LoraStack.init`` draws it for one adapter seeded ``init_seed``; B = 0."""
    g = torch.Generator().manual_seed(int(init_seed))
    parts = []
    # LoraStack.init draws layer by layer, module by module, A only (B is zero): same order here
    for e in layout.entries:
        if e.matrix == "A":
            bound = 1.0 / math.sqrt(e.cols)
            parts.append(((torch.rand(e.rows, e.cols, generator=g) * 2 - 1) * bound).reshape(-1))
        else:
            parts.append(torch.zeros(e.rows * e.cols))
    return torch.cat(parts)


class ValueLayout:
    """Flat real values of a LoRA (V = sum of rows*cols over the layout, in layout order) <-> token
    grid positions and LoraStack matrices."""

    def __init__(self, layout: LoraLayout):
        self.layout = layout
        self.size = layout.token_size
        idx, owner, offs = [], [], []
        v = 0
        for i, e in enumerate(layout.entries):
            s = e.token_offset * self.size
            idx.append(torch.arange(s, s + e.numel))
            owner.append(torch.full((e.numel,), i, dtype=torch.long))
            offs.append(v)
            v += e.numel
        self.token_index = torch.cat(idx)  # (V,) position in the flattened (count*h*w) grid
        self.entry_of = torch.cat(owner)  # (V,) layout entry of each value
        self.offsets = offs
        self.numel = v

    def values_from_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """(K, count, h, w) -> (K, V)."""
        flat = tokens.reshape(tokens.shape[0], -1)
        return flat.index_select(1, self.token_index.to(flat.device))

    def tokens_from_values(self, values: torch.Tensor) -> torch.Tensor:
        """(V,) -> (count, h, w), padding 0."""
        lay = self.layout
        out = torch.zeros(lay.count * self.size, dtype=values.dtype, device=values.device)
        out[self.token_index.to(values.device)] = values
        return out.view(lay.count, lay.token_h, lay.token_w)

    def expand_entries(self, per_entry: torch.Tensor) -> torch.Tensor:
        """(..., E) one value per layout entry -> (..., V)."""
        return per_entry.index_select(-1, self.entry_of.to(per_entry.device))

    def stack(self, values: torch.Tensor, rank: int, alpha: float, specs, num_layers: int,
              b_scale: Optional[torch.Tensor] = None) -> LoraStack:
        """(K, V) values -> LoraStack (views, autograd kept); ``b_scale`` (K,) multiplies every B."""
        ab: Dict[Tuple[int, str], list] = {}
        for e, off in zip(self.layout.entries, self.offsets):
            m = values[:, off : off + e.numel].reshape(values.shape[0], e.rows, e.cols)
            if e.matrix == "B" and b_scale is not None:
                m = m * b_scale.view(-1, 1, 1).to(m.device, m.dtype)
            ab.setdefault((e.layer, e.module), [None, None])[0 if e.matrix == "A" else 1] = m
        return LoraStack({k: (v[0], v[1]) for k, v in ab.items()}, rank, alpha, specs, num_layers)

    def to_peft(self, values: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(V,) -> PEFT-named dict."""
        out = {}
        for e, off in zip(self.layout.entries, self.offsets):
            out[peft_name(e.layer, e.parent, e.module, e.matrix)] = values[off : off + e.numel].reshape(e.rows, e.cols)
        return out

    def from_peft(self, adapter: Dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([adapter[peft_name(e.layer, e.parent, e.module, e.matrix)].reshape(-1).float()
                          for e in self.layout.entries])


@dataclass
class Member:
    """One trained thing in the bank: a generator (``kind`` 'prompt' or 'onehot') or a free LoRA
    ('multitask'), with the names of the tasks it trains on."""

    id: str
    kind: str
    tasks: List[str]


class GeneratorBank(nn.Module):
    def __init__(self, members: Sequence[Member], dcfg: DecoderConfig, vlayout: ValueLayout, init: torch.Tensor,
                 sigma_a: float, sigma_b: float):
        super().__init__()
        self.members = list(members)
        self.vl = vlayout
        gens = [m for m in self.members if m.kind in ("prompt", "onehot")]
        self.gen_index = {m.id: i for i, m in enumerate(gens)}
        self.mt_index = {m.id: i for i, m in enumerate(m for m in self.members if m.kind == "multitask")}
        self.decoders = nn.ModuleList(HyperConvGenerator(dcfg) for _ in gens)
        for d in self.decoders:  # start exactly at the shared LoRA
            last = d.decoder.layers[-1].len_conv
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        n_ent = len(vlayout.layout.entries)
        is_a = torch.tensor([e.matrix == "A" for e in vlayout.layout.entries])
        ls = torch.where(is_a, torch.full((n_ent,), math.log(sigma_a)), torch.full((n_ent,), math.log(sigma_b)))
        # sigma_a is relative to each A's init bound 1/sqrt(in)
        bound = torch.tensor([1.0 / math.sqrt(e.cols) if e.matrix == "A" else 1.0 for e in vlayout.layout.entries])
        ls = ls + torch.log(bound)
        self.log_sigma = nn.Parameter(ls.unsqueeze(0).repeat(len(gens), 1))
        self.center = nn.Parameter(init.unsqueeze(0).repeat(len(gens), 1).clone())
        n_mt = len(self.mt_index)
        self.multitask = nn.Parameter(init.unsqueeze(0).repeat(max(n_mt, 0), 1).clone())

    def generator_params(self, gi: int) -> List[nn.Parameter]:
        return list(self.decoders[gi].parameters())

    def generate_values(self, gi: int, cond: torch.Tensor, gate: Optional[torch.Tensor] = None,
                        return_out: bool = False):
        """cond (n, P, L, C) -> values (n, V) of generator ``gi`` (and the decoder output)."""
        out = self.decoders[gi](cond)  # (n, count, h, w)
        t = self.vl.values_from_tokens(out)
        sig = self.vl.expand_entries(self.log_sigma[gi].exp())
        vals = self.center[gi].unsqueeze(0) + sig.unsqueeze(0) * t
        return (vals, out) if return_out else vals

    def export(self, gi: int) -> Tuple[HyperConvGenerator, torch.Tensor, torch.Tensor]:
        """(decoder, tokens.mean, tokens.std) of generator ``gi`` in the manifest's form."""
        mean = self.vl.tokens_from_values(self.center[gi].detach().float().cpu())
        std = self.vl.tokens_from_values(self.vl.expand_entries(self.log_sigma[gi].detach().exp().float().cpu()))
        std = torch.where(self.vl.layout.mask(), std, torch.ones_like(std))  # padding: std 1 (never read)
        return self.decoders[gi], mean, std


def onehot_condition(index: int, shape: Sequence[int]) -> torch.Tensor:
    """(P, L, C) zeros with a 1 at (every prompt, row index // C, column index % C): a task code the
    generator's first layer can read as well as it reads prompts."""
    p, l, c = shape
    cond = torch.zeros(p, l, c)
    cond[:, (index // c) % l, index % c] = 1.0
    return cond


class TaskData:
    """Per task: encoded training rows (ids, mask), a condition pool (n, L, C) on the device, and a
    length bucket."""

    def __init__(self, rows: List[Tuple[List[int], List[int]]], cond_pool: torch.Tensor, bucket: int, weight: float = 1.0):
        self.rows = rows
        self.cond_pool = cond_pool
        self.bucket = bucket
        self.weight = weight  # relative chance of being drawn in a step


def length_bucket(rows: List[Tuple[List[int], List[int]]], edges: Sequence[int]) -> int:
    n = sorted(len(x) for x, _ in rows)
    med = n[len(n) // 2] if n else 0
    for i, e in enumerate(edges):
        if med <= e:
            return i
    return len(edges)


def lr_factor(step: int, total: int, warmup: int, final: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def train_bank(model, bank: GeneratorBank, data: Dict[str, TaskData], ecfg: dict, cond_std: float,
               rank: int, alpha: float, log: Callable = print, onehot_index: Optional[Dict[str, int]] = None,
               time_limit: Optional[float] = None, checkpoint: Optional[str] = None,
               stop_after: Optional[int] = None) -> dict:
    """Trains every member of ``bank`` for ``ecfg['steps']`` steps. Returns per-member loss curves
    (``steps``: how many are done; fewer than asked when ``time_limit`` cut the loop).

    ``checkpoint``: a file that holds the whole training state (bank, optimiser, both random
    generators, loss curves) after the loop stops, for whatever reason; when it exists at the start
    the loop continues from it, drawing the same batches an uninterrupted run would. So a GPU call
    that runs out of time is continued by the next one (the file stays on the machine while it is
    held), and a call after the last step trains nothing. ``stop_after``: at most this many steps in
    this call (a plan for GPU calls that does not depend on the clock)."""
    device = next(model.parameters()).device
    specs = module_specs(model.cfg, bank_targets(bank.vl))
    nl = model.cfg.num_hidden_layers
    steps = int(ecfg["steps"])
    n_tasks = int(ecfg.get("tasks_per_step", 2))
    b = int(ecfg.get("rows_per_task", 8))
    p = int(ecfg["prompt_count"])
    l2 = float(ecfg.get("l2_out", 1e-3))
    noise = float(ecfg.get("cond_noise", 0.1)) * cond_std
    clip = float(ecfg.get("grad_clip", 1.0))
    rng = random.Random(f"e2e-{ecfg.get('seed', 0)}")
    gen_rng = torch.Generator(device="cpu").manual_seed(int(ecfg.get("seed", 0)))
    groups = []
    for m in bank.members:
        if m.kind == "multitask":
            continue
        gi = bank.gen_index[m.id]
        groups.append({"params": bank.generator_params(gi), "lr": float(ecfg.get("lr", 1e-3)), "name": m.id})
    groups.append({"params": [bank.center, bank.multitask], "lr": float(ecfg.get("lr_lora", 1e-3)), "name": "loras"})
    groups.append({"params": [bank.log_sigma], "lr": float(ecfg.get("lr_sigma", 1e-2)), "name": "sigma"})
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), weight_decay=float(ecfg.get("weight_decay", 0.0)))
    base_lrs = [g["lr"] for g in opt.param_groups]
    buckets = sorted({data[t].bucket for m in bank.members for t in m.tasks})
    weights = [sum(1 for m in bank.members for t in m.tasks if data[t].bucket == bk) for bk in buckets]
    curves: Dict[str, List[float]] = {m.id: [] for m in bank.members}
    t0 = time.time()
    tokens = 0
    done = 0
    resumed = 0
    if checkpoint and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state["steps"] != steps or state["members"] != [m.id for m in bank.members]:
            raise ValueError(f"{checkpoint} is a checkpoint of another training ({state['steps']} steps, "
                             f"{len(state['members'])} members): delete it to start again")
        bank.load_state_dict(state["bank"])
        opt.load_state_dict(state["optimizer"])
        rng.setstate(state["rng"])
        gen_rng.set_state(state["gen_rng"])
        curves, tokens, done = state["curves"], state["tokens"], state["done"]
        resumed = done
        log(f"[e2e] resumed from {checkpoint} at step {done}/{steps}")
    for step in range(done, steps):
        if time_limit is not None and time.time() - t0 > time_limit:
            log(f"[e2e] stopped at the time limit after {step} steps")
            break
        if stop_after is not None and step - resumed >= stop_after:
            log(f"[e2e] stopped after {stop_after} steps of this call ({step}/{steps})")
            break
        f = lr_factor(step, steps, int(ecfg.get("warmup_steps", 50)), float(ecfg.get("final_lr_ratio", 0.1)))
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * f
        bk = rng.choices(buckets, weights=weights)[0]
        picks, owners, conds_by_gen = [], [], {}
        for m in bank.members:
            cand = [t for t in m.tasks if data[t].bucket == bk] or m.tasks
            chosen = rng.choices(cand, weights=[data[t].weight for t in cand], k=n_tasks)
            for t in chosen:
                rows = data[t].rows
                picks.append([rows[rng.randrange(len(rows))] for _ in range(b)])
                owners.append(m.id)
            if m.kind == "multitask":
                continue
            cs = []
            for t in chosen:
                if m.kind == "onehot":
                    cs.append(onehot_condition(onehot_index[t], (p,) + tuple(data[t].cond_pool.shape[1:])).to(device))
                else:
                    pool = data[t].cond_pool
                    idx = torch.randperm(pool.shape[0], generator=gen_rng)[:p]
                    cs.append(pool[idx.to(pool.device)])
            conds_by_gen[m.id] = torch.stack(cs).float()
        ids, tgt = batch_from_picks(picks)
        tokens += int(ids.numel())
        ids, tgt = ids.to(device), tgt.to(device)
        vals, l2_terms = [], []
        for m in bank.members:
            if m.kind == "multitask":
                vals.append(bank.multitask[bank.mt_index[m.id]].unsqueeze(0).expand(n_tasks, -1))
                continue
            c = conds_by_gen[m.id]
            if noise > 0 and m.kind == "prompt":
                c = c + noise * torch.randn(c.shape, generator=gen_rng).to(c.device)
            v, out = bank.generate_values(bank.gen_index[m.id], c, return_out=True)
            vals.append(v)
            l2_terms.append(out.float().pow(2).mean())
        values = torch.cat(vals)
        lora = bank.vl.stack(values, rank, alpha, specs, nl)
        with _autocast(device):
            loss_k = per_adapter_loss(model, lora, ids, tgt)
        loss = loss_k.sum() / n_tasks + l2 * (torch.stack(l2_terms).sum() if l2_terms else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for g in opt.param_groups:
            if g["name"] not in ("loras", "sigma"):
                torch.nn.utils.clip_grad_norm_(g["params"], clip)
        opt.step()
        lk = loss_k.detach().float().view(-1, n_tasks).mean(1).cpu().tolist()
        for m, v in zip(bank.members, lk):
            curves[m.id].append(v)
        done = step + 1
        if step == 0 or (step + 1) % int(ecfg.get("log_every", 100)) == 0 or step + 1 == steps:
            gen_l = [curves[m.id][-1] for m in bank.members if m.kind == "prompt"]
            log(f"[e2e] step {step + 1}/{steps} bucket {bk}: prompt generators {sum(gen_l) / max(1, len(gen_l)):.4f}"
                f" ({time.time() - t0:.1f}s, {tokens / max(1e-9, time.time() - t0) / 1e3:.0f}k padded tok/s)")
    if device.type == "cuda":
        torch.cuda.synchronize()
    secs = time.time() - t0
    if checkpoint and done > resumed:
        tmp = checkpoint + ".tmp"
        torch.save({"steps": steps, "members": [m.id for m in bank.members], "done": done, "tokens": tokens,
                    "bank": bank.state_dict(), "optimizer": opt.state_dict(), "rng": rng.getstate(),
                    "gen_rng": gen_rng.get_state(), "curves": curves}, tmp)
        os.replace(tmp, checkpoint)  # never a half-written checkpoint
    return {"seconds": round(secs, 2), "steps": done, "steps_wanted": steps, "resumed_at": resumed, "padded_tokens": tokens,
            "members": {m.id: {"kind": m.kind, "tasks": len(m.tasks),
                               "loss_first50": _mean(curves[m.id][:50]), "loss_last100": _mean(curves[m.id][-100:])}
                        for m in bank.members}}


def bank_targets(vl: ValueLayout) -> List[str]:
    return vl.layout.target_modules


def _mean(xs):
    return round(sum(xs) / len(xs), 5) if xs else None


def _autocast(device):
    from trainer.evaluate.scoring import autocast

    return autocast(device)
