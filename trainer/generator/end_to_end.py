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

import itertools
import math
import os
import random
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from trainer.generator.batched_decoder import BatchedDecoder
from trainer.generator.hyperconv import DecoderConfig, HyperConvGenerator
from trainer.generator.train_data import TrainData
from trainer.lora.batched import LoraStack, module_specs
from trainer.lora.tokens import LoraLayout, peft_name
from trainer.lora.zoo import loss_from_hidden, per_adapter_loss


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
    """Every generator of a run as one ``BatchedDecoder`` (stacked weights: one op per layer for all
    of them), each with its shared LoRA (``center``) and per-matrix scales (``log_sigma``), plus the
    free multi-task LoRAs. Generators come first in ``members`` order (``gen_index``), then the
    multi-task LoRAs (``mt_index``)."""

    def __init__(self, members: Sequence[Member], dcfg: DecoderConfig, vlayout: ValueLayout, init: torch.Tensor,
                 sigma_a: float, sigma_b: float):
        super().__init__()
        self.members = list(members)
        self.vl = vlayout
        gens = [m for m in self.members if m.kind in ("prompt", "onehot")]
        if not gens:
            raise ValueError("a generator bank needs at least one generator")
        self.gen_members = gens
        self.mt_members = [m for m in self.members if m.kind == "multitask"]
        self.gen_index = {m.id: i for i, m in enumerate(gens)}
        self.mt_index = {m.id: i for i, m in enumerate(self.mt_members)}
        # drawn one after another from the global generator, as separate HyperConvGenerators would be
        self.decoder = BatchedDecoder.fresh(dcfg, len(gens), zero_last=True)  # starts exactly at the shared LoRA
        n_ent = len(vlayout.layout.entries)
        is_a = torch.tensor([e.matrix == "A" for e in vlayout.layout.entries])
        ls = torch.where(is_a, torch.full((n_ent,), math.log(sigma_a)), torch.full((n_ent,), math.log(sigma_b)))
        # sigma_a is relative to each A's init bound 1/sqrt(in)
        bound = torch.tensor([1.0 / math.sqrt(e.cols) if e.matrix == "A" else 1.0 for e in vlayout.layout.entries])
        ls = ls + torch.log(bound)
        self.log_sigma = nn.Parameter(ls.unsqueeze(0).repeat(len(gens), 1))
        self.center = nn.Parameter(init.unsqueeze(0).repeat(len(gens), 1).clone())
        self.multitask = nn.Parameter(init.unsqueeze(0).repeat(len(self.mt_members), 1).clone())

    def values_from_out(self, out: torch.Tensor, gis: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Decoder outputs (G', n, count, h, w) of generators ``gis`` (all when None) -> values (G', n, V)."""
        g, n = out.shape[:2]
        t = self.vl.values_from_tokens(out.reshape(g * n, *out.shape[2:])).view(g, n, -1)
        ls = self.log_sigma if gis is None else self.log_sigma.index_select(0, gis)
        ce = self.center if gis is None else self.center.index_select(0, gis)
        sig = self.vl.expand_entries(ls.exp())  # (G', V)
        return ce.unsqueeze(1) + sig.unsqueeze(1) * t

    def decode(self, gi: int, cond: torch.Tensor) -> torch.Tensor:
        """cond (n, P, L, C) -> generator ``gi``'s raw decoder output (n, count, h, w)."""
        idx = torch.tensor([gi], device=cond.device)
        return self.decoder(cond.unsqueeze(0), idx)[0]

    def generate_values(self, gi: int, cond: torch.Tensor, return_out: bool = False):
        """cond (n, P, L, C) -> values (n, V) of generator ``gi`` (and the decoder output)."""
        idx = torch.tensor([gi], device=cond.device)
        out = self.decoder(cond.unsqueeze(0), idx)
        vals = self.values_from_out(out, idx)[0]
        return (vals, out[0]) if return_out else vals

    def export(self, gi: int) -> Tuple[HyperConvGenerator, torch.Tensor, torch.Tensor]:
        """(decoder, tokens.mean, tokens.std) of generator ``gi`` in the manifest's form."""
        mean = self.vl.tokens_from_values(self.center[gi].detach().float().cpu())
        std = self.vl.tokens_from_values(self.vl.expand_entries(self.log_sigma[gi].detach().exp().float().cpu()))
        std = torch.where(self.vl.layout.mask(), std, torch.ones_like(std))  # padding: std 1 (never read)
        return self.decoder.member(gi), mean, std


def onehot_condition(index: int, shape: Sequence[int]) -> torch.Tensor:
    """(P, L, C) zeros with a 1 at (every prompt, row index // C, column index % C): a task code the
    generator's first layer can read as well as it reads prompts."""
    p, l, c = shape
    cond = torch.zeros(p, l, c)
    cond[:, (index // c) % l, index % c] = 1.0
    return cond


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


def per_bucket(value, n_buckets: int) -> List[int]:
    """A config value given once or per length bucket -> one int per bucket."""
    vals = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * n_buckets
    if len(vals) < n_buckets:
        raise ValueError(f"need a value per length bucket ({n_buckets}), got {value}")
    return vals


class StepSampler:
    """What one training step draws: a length bucket, then for every member its tasks and rows (from
    that bucket), and for every generator pick its condition mode and P prompts of the task's pool.

    Three random streams, all saved in the checkpoint: ``rng`` (Python: buckets, tasks, rows, modes),
    ``cpu_gen`` (torch, CPU: which prompts of a pool) and ``dev_gen`` (torch, on the device: the
    condition noise)."""

    def __init__(self, bank: GeneratorBank, data: TrainData, ecfg: dict, device, onehot_index: Optional[Dict[str, int]]):
        self.bank, self.data, self.device = bank, data, torch.device(device)
        seed = int(ecfg.get("seed", 0))
        self.rng = random.Random(f"e2e-{seed}")
        self.cpu_gen = torch.Generator(device="cpu").manual_seed(seed)
        self.dev_gen = torch.Generator(device=self.device).manual_seed(seed)
        self.p = int(ecfg["prompt_count"])
        self.examples_fraction = float(ecfg.get("examples_fraction", 0.0))
        if self.examples_fraction > 0 and "examples" not in data.conds.modes:
            raise ValueError("examples_fraction > 0 needs the 'examples' condition pools")
        self.mode_idx = {m: i for i, m in enumerate(data.conds.modes)}
        self.onehot_index = onehot_index or {}
        members = bank.gen_members + bank.mt_members  # slot order: generators, then multi-task LoRAs
        self.order = members
        buckets = sorted({data.bucket[t] for m in members for t in m.tasks})
        self.buckets = buckets
        self.bucket_weights = [sum(1 for m in members for t in m.tasks if data.bucket[t] == bk) for bk in buckets]
        n_b = max(buckets) + 1
        self.tasks_per_step = per_bucket(ecfg.get("tasks_per_step", 2), n_b)
        self.rows_per_task = per_bucket(ecfg.get("rows_per_task", 8), n_b)
        # per member and bucket: candidate tasks (a member with none in the bucket draws from all its tasks)
        self.cands = []
        for m in members:
            by = {}
            for bk in buckets:
                c = [t for t in m.tasks if data.bucket[t] == bk] or list(m.tasks)
                by[bk] = (c, list(itertools.accumulate(data.weight[t] for t in c)))
            self.cands.append(by)
        self.rows = data.rows

    def state(self) -> dict:
        return {"rng": self.rng.getstate(), "cpu_gen": self.cpu_gen.get_state(), "dev_gen": self.dev_gen.get_state()}

    def load(self, state: dict) -> None:
        self.rng.setstate(state["rng"])
        # torch.load(map_location=cuda) moves the saved states to the GPU; set_state takes CPU bytes
        self.cpu_gen.set_state(state["cpu_gen"].cpu())
        self.dev_gen.set_state(state["dev_gen"].cpu())

    def draw(self):
        """-> (bucket, tasks per member, picks (K, b) row indices, conds (G, n, P, L, C), modes (G, n))."""
        rng = self.rng
        bk = rng.choices(self.buckets, weights=self.bucket_weights)[0]
        n, b = self.tasks_per_step[bk], self.rows_per_task[bk]
        rs = self.rows
        chosen, picks = [], []
        for by in self.cands:
            c, cum = by[bk]
            ts = rng.choices(c, cum_weights=cum, k=n)
            chosen.append(ts)
            for t in ts:
                i = rs.index[t]
                s, cnt = rs.start[i], rs.count[i]
                picks.append([s + rng.randrange(cnt) for _ in range(b)])
        g = len(self.bank.gen_members)
        modes = [[self.mode_idx["examples"] if (m.kind == "prompt" and self.examples_fraction > 0
                                                and rng.random() < self.examples_fraction) else 0 for _ in range(n)]
                 for m in self.bank.gen_members]
        cs = self.data.conds
        prompt_idx = torch.rand(g * n, cs.pool_size, generator=self.cpu_gen).argsort(1)[:, : self.p]
        task_idx = [cs.index[t] for ts in chosen[:g] for t in ts]
        cond = cs.gather([x for row in modes for x in row], task_idx, prompt_idx).view(g, n, self.p, cs.length, cs.channels)
        for gi, m in enumerate(self.bank.gen_members):
            if m.kind == "onehot":
                cond[gi] = torch.stack([onehot_condition(self.onehot_index[t], (self.p, cs.length, cs.channels))
                                        for t in chosen[gi]]).to(cond.device)
        return bk, chosen, picks, cond, modes


def train_bank(model, bank: GeneratorBank, data: TrainData, ecfg: dict, cond_std: float,
               rank: int, alpha: float, log: Callable = print, onehot_index: Optional[Dict[str, int]] = None,
               time_limit: Optional[float] = None, checkpoint: Optional[str] = None,
               stop_after: Optional[int] = None) -> dict:
    """Trains every member of ``bank`` for ``ecfg['steps']`` steps, all members in one batched step:
    one decoder forward for every generator, one multi-adapter forward of the base model for every
    member's rows (adapter k on its own sub-batch), one optimiser step. Returns per-member loss
    curves, rows seen per task and throughput (``steps``: how many are done; fewer than asked when
    ``time_limit`` or ``stop_after`` cut the loop).

    ``checkpoint``: a file that holds the whole training state (bank, optimiser, the sampler's three
    random streams, curves, counters) after the loop stops, for whatever reason; when it exists at
    the start the loop continues from it, drawing the same batches an uninterrupted run would. So a
    GPU call that runs out of time is continued by the next one (the file stays on the machine
    while it is held), and a call after the last step trains nothing."""
    device = next(model.parameters()).device
    specs = module_specs(model.cfg, bank_targets(bank.vl))
    nl = model.cfg.num_hidden_layers
    steps = int(ecfg["steps"])
    l2 = float(ecfg.get("l2_out", 1e-3))
    noise = float(ecfg.get("cond_noise", 0.1)) * cond_std
    clip = float(ecfg.get("grad_clip", 1.0))
    sampler = StepSampler(bank, data, ecfg, device, onehot_index)
    caps = per_bucket(ecfg["bucket_caps"], max(sampler.buckets) + 1) if ecfg.get("bucket_caps") else None
    compiled = bool(ecfg.get("compile")) and device.type == "cuda" and hasattr(torch, "compile")
    fixed = compiled and caps is not None  # one shape per bucket: compiled once each
    loss_fn = _compiled_loss(model, bank.vl, rank, alpha, specs, nl) if compiled else None
    prompt_gen = torch.tensor([m.kind == "prompt" for m in bank.gen_members], device=device)
    opt_kw = {"fused": True} if device.type == "cuda" else {}
    groups = [{"params": list(bank.decoder.parameters()), "lr": float(ecfg.get("lr", 1e-3)), "name": "decoders"},
              {"params": [bank.center, bank.multitask], "lr": float(ecfg.get("lr_lora", 1e-3)), "name": "loras"},
              {"params": [bank.log_sigma], "lr": float(ecfg.get("lr_sigma", 1e-2)), "name": "sigma"}]
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), weight_decay=float(ecfg.get("weight_decay", 0.0)), **opt_kw)
    base_lrs = [g["lr"] for g in opt.param_groups]
    order = sampler.order
    n_members = len(order)
    curves: Dict[str, List[float]] = {m.id: [] for m in bank.members}
    counters = {"padded_tokens": 0, "real_tokens": 0, "target_tokens": 0, "rows": 0, "examples_picks": 0, "picks": 0}
    rows_seen: Dict[str, Dict[str, int]] = {m.id: {} for m in bank.members}
    done = resumed = 0
    if checkpoint and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state["steps"] != steps or state["members"] != [m.id for m in bank.members]:
            raise ValueError(f"{checkpoint} is a checkpoint of another training ({state['steps']} steps, "
                             f"{len(state['members'])} members): delete it to start again")
        bank.load_state_dict(state["bank"])
        opt.load_state_dict(state["optimizer"])
        sampler.load(state["sampler"])
        curves, counters, rows_seen, done = state["curves"], state["counters"], state["rows_seen"], state["done"]
        resumed = done
        log(f"[e2e] resumed from {checkpoint} at step {done}/{steps}")
    t0 = time.time()
    step_losses: List[torch.Tensor] = []  # per step (members,), on the device until the end: no sync per step
    run_tokens = 0
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
        bk, chosen, picks, cond, modes = sampler.draw()
        n = len(chosen[0])
        ids, tgt, real, targets = data.rows.batch(picks, caps[bk] if caps else None, fixed)
        counters["padded_tokens"] += int(ids.numel())
        counters["real_tokens"] += real
        counters["target_tokens"] += targets
        counters["rows"] += len(picks) * len(picks[0])
        counters["examples_picks"] += sum(x != 0 for row in modes for x in row)
        counters["picks"] += sum(len(row) for row in modes)
        run_tokens += int(ids.numel())
        for m, ts in zip(order, chosen):
            seen = rows_seen[m.id]
            for t in ts:
                seen[t] = seen.get(t, 0) + len(picks[0])
        if noise > 0:
            eps = torch.randn(cond.shape, generator=sampler.dev_gen, device=cond.device)
            cond = cond + noise * eps * prompt_gen.view(-1, 1, 1, 1, 1).to(cond.dtype)
        out = bank.decoder(cond)  # (G, n, count, h, w), float32
        vals = bank.values_from_out(out)  # (G, n, V)
        parts = [vals.reshape(-1, vals.shape[-1])]
        if bank.mt_members:
            parts.append(bank.multitask.unsqueeze(1).expand(-1, n, -1).reshape(-1, vals.shape[-1]))
        values = torch.cat(parts)
        with _autocast(device):
            if loss_fn is not None:
                loss_k = loss_fn(values, ids, tgt)
            else:
                loss_k = per_adapter_loss(model, bank.vl.stack(values, rank, alpha, specs, nl), ids, tgt)
        l2_term = out.float().pow(2).mean(dim=(1, 2, 3, 4)).sum()
        loss = loss_k.sum() / n + l2 * l2_term
        opt.zero_grad(set_to_none=True)
        loss.backward()
        bank.decoder.clip_member_grads_(clip)
        opt.step()
        step_losses.append(loss_k.detach().float().view(n_members, n).mean(1))
        done = step + 1
        if step == resumed or (step + 1) % int(ecfg.get("log_every", 100)) == 0 or step + 1 == steps:
            lk = step_losses[-1].cpu()
            gen_l = [float(lk[i]) for i, m in enumerate(order) if m.kind == "prompt"]
            el = time.time() - t0
            log(f"[e2e] step {step + 1}/{steps} bucket {bk} ({n}x{len(picks[0])} rows a member): prompt generators "
                f"{sum(gen_l) / max(1, len(gen_l)):.4f} ({el:.1f}s, {run_tokens / max(1e-9, el) / 1e3:.0f}k padded tok/s)")
    if device.type == "cuda":
        torch.cuda.synchronize()
    secs = time.time() - t0
    if step_losses:
        hist = torch.stack(step_losses).cpu()
        for i, m in enumerate(order):
            curves[m.id].extend(float(v) for v in hist[:, i])
    if checkpoint and done > resumed:
        tmp = checkpoint + ".tmp"
        torch.save({"steps": steps, "members": [m.id for m in bank.members], "done": done, "counters": counters,
                    "bank": bank.state_dict(), "optimizer": opt.state_dict(), "sampler": sampler.state(),
                    "curves": curves, "rows_seen": rows_seen}, tmp)
        os.replace(tmp, checkpoint)  # never a half-written checkpoint
    return {"seconds": round(secs, 2), "steps": done, "steps_wanted": steps, "resumed_at": resumed,
            "this_call": {"steps": done - resumed, "seconds": round(secs, 2), "padded_tokens": run_tokens,
                          "padded_tokens_per_s": round(run_tokens / max(secs, 1e-9), 1)},
            **counters,
            "rows_per_task": {m.id: _spread(rows_seen[m.id], m.tasks) for m in bank.members},
            "members": {m.id: {"kind": m.kind, "tasks": len(m.tasks),
                               "loss_first50": _mean(curves[m.id][:50]), "loss_last100": _mean(curves[m.id][-100:])}
                        for m in bank.members}}


def _compiled_loss(model, vl: ValueLayout, rank: int, alpha: float, specs, nl: int):
    """``per_adapter_loss`` with the multi-adapter forward of the base model compiled
    (``torch.compile``: element-wise work fused) from plain tensors, so that one compiled graph
    serves every step of a shape; the loss head (data-dependent: only target positions) stays eager."""
    from trainer.lora.batched import hidden_states

    def hidden(values, ids):
        return hidden_states(model, ids, vl.stack(values, rank, alpha, specs, nl))

    hidden_c = torch.compile(hidden, dynamic=False)
    return lambda values, ids, tgt: loss_from_hidden(model, hidden_c(values, ids), tgt)


def _spread(seen: Dict[str, int], tasks: Sequence[str]) -> dict:
    """Rows a member saw per training task: min, mean, max over its tasks."""
    xs = [seen.get(t, 0) for t in tasks]
    return {"min": min(xs), "mean": round(sum(xs) / len(xs), 1), "max": max(xs)} if xs else {}


def bank_targets(vl: ValueLayout) -> List[str]:
    return vl.layout.target_modules


def _mean(xs):
    return round(sum(xs) / len(xs), 5) if xs else None


def _autocast(device):
    from trainer.evaluate.scoring import autocast

    return autocast(device)
