"""Throughput of the generator bank's training loop against the loop it replaced, in the same process
on the same GPU, on the run's own members and data (issue 15; ``results/throughput.json``,
``reports/zero-shot.json`` ``throughput``).

- ``baseline``: the loop at commit 2b398b5, kept here only to be re-timed: one decoder per generator
  run one after another, every member drawing 4 tasks x 4 rows a step, rows picked and padded in
  Python on the CPU, condition noise drawn on the CPU, one optimiser group per generator.
- ``batched``: ``train_bank`` as the run uses it (trainer/generator/end_to_end.py): every decoder in
  one stacked forward, rows and conditions gathered on the device, the run's step size.

Both are timed after ``warmup`` steps over ``steps`` steps (a synchronised wall clock). Tokens are
padded tokens (what the GPU computes on); the real (unpadded) and loss tokens are given too. TFLOP/s
counts the base model's matmuls and attention (forward 2 x parameters, backward 2 x that for the
activations: the base is frozen), not the decoders (small beside it) or the element-wise work.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import torch

from trainer.generator.end_to_end import GeneratorBank, lr_factor, onehot_condition, train_bank
from trainer.lora.zoo import batch_from_picks, per_adapter_loss


def model_flops_per_token(cfg, t_mean: float) -> float:
    """Forward FLOPs of the base model per token (projections + attention scores at mean length)."""
    hd = cfg.hidden_size // cfg.num_attention_heads
    proj = cfg.hidden_size * (cfg.num_attention_heads * hd + 2 * cfg.num_key_value_heads * hd) \
        + cfg.num_attention_heads * hd * cfg.hidden_size + 3 * cfg.hidden_size * cfg.intermediate_size
    attn = 2 * cfg.num_attention_heads * hd * t_mean  # q.k and p.v over half the positions on average
    return cfg.num_hidden_layers * 2 * (proj + attn)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def baseline_loop(r, members, dcfg, init, data, rows, ecfg, cond_std, onehot_index, steps: int, warmup: int) -> dict:
    """The 2b398b5 step, timed (module docstring)."""
    from trainer.generator.end_to_end import bank_targets
    from trainer.lora.batched import module_specs

    device = r.device
    torch.manual_seed(0)
    bank = GeneratorBank(members, dcfg, r.vl, init, float(ecfg.get("sigma_a", 0.3)), float(ecfg.get("sigma_b", 0.02))).to(device)
    decoders = [bank.decoder.member(i).to(device) for i in range(len(bank.gen_members))]
    specs = module_specs(r.model.cfg, bank_targets(r.vl))
    n_tasks, b, p = 4, 4, int(ecfg["prompt_count"])
    noise = float(ecfg.get("cond_noise", 0.1)) * cond_std
    rng = random.Random("baseline")
    gen_rng = torch.Generator().manual_seed(0)
    groups = [{"params": list(d.parameters()), "lr": 1e-3} for d in decoders]
    groups.append({"params": [bank.center, bank.multitask], "lr": 1e-3})
    groups.append({"params": [bank.log_sigma], "lr": 1e-2})
    opt = torch.optim.AdamW(groups)
    buckets = sorted(set(data.bucket.values()))
    conds = r.conds["prompts"]
    padded = real = 0
    t0 = None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            t0, padded, real = time.time(), 0, 0
        for g in opt.param_groups:
            g["lr"] = g["lr"] * 0 + 1e-3 * lr_factor(step, 1000, 50, 0.1)
        bk = rng.choice(buckets)
        picks, cs = [], {}
        for m in members:
            cand = [t for t in m.tasks if data.bucket[t] == bk] or m.tasks
            chosen = rng.choices(cand, weights=[data.weight[t] for t in cand], k=n_tasks)
            for t in chosen:
                picks.append([rows[t][rng.randrange(len(rows[t]))] for _ in range(b)])
            if m.kind == "multitask":
                continue
            if m.kind == "onehot":
                cs[m.id] = torch.stack([onehot_condition(onehot_index[t], (p,) + tuple(conds[t].shape[1:])) for t in chosen]).to(device)
            else:
                cs[m.id] = torch.stack([conds[t][torch.randperm(conds[t].shape[0], generator=gen_rng)[:p].to(conds[t].device)]
                                        for t in chosen]).float()
        ids, tgt = batch_from_picks(picks)
        padded += int(ids.numel())
        real += sum(len(x) for g in picks for x, _ in g)
        ids, tgt = ids.to(device), tgt.to(device)
        vals, l2 = [], []
        for m in members:  # the old order: every member in members order
            if m.kind == "multitask":
                vals.append(bank.multitask[bank.mt_index[m.id]].unsqueeze(0).expand(n_tasks, -1))
                continue
            gi = bank.gen_index[m.id]
            c = cs[m.id]
            if m.kind == "prompt" and noise > 0:
                c = c + noise * torch.randn(c.shape, generator=gen_rng).to(c.device)
            out = decoders[gi](c)
            t = r.vl.values_from_tokens(out)
            sig = r.vl.expand_entries(bank.log_sigma[gi].exp())
            vals.append(bank.center[gi].unsqueeze(0) + sig.unsqueeze(0) * t)
            l2.append(out.float().pow(2).mean())
        lora = r.vl.stack(torch.cat(vals), r.rank, r.alpha, specs, r.model.cfg.num_hidden_layers)
        from trainer.evaluate.scoring import autocast

        with autocast(device):
            loss_k = per_adapter_loss(r.model, lora, ids, tgt)
        loss = loss_k.sum() / n_tasks + 1e-3 * torch.stack(l2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for d in decoders:
            torch.nn.utils.clip_grad_norm_(list(d.parameters()), 1.0)
        opt.step()
        loss_k.detach().float().cpu().tolist()  # the old loop read every member's loss each step
    _sync(device)
    secs = time.time() - t0
    return {"steps": steps, "seconds": round(secs, 3), "padded_tokens": padded, "real_tokens": real,
            "rows_per_member_step": n_tasks * b}


def batched_loop(r, members, dcfg, init, data, ecfg, cond_std, onehot_index, steps: int, warmup: int) -> dict:
    """``train_bank`` on a throwaway bank: ``warmup`` steps, then ``steps`` timed steps (the second
    call resumes from the first's checkpoint, so its clock starts warm)."""
    torch.manual_seed(0)
    bank = GeneratorBank(members, dcfg, r.vl, init, float(ecfg.get("sigma_a", 0.3)), float(ecfg.get("sigma_b", 0.02))).to(r.device)
    cfg = {**ecfg, "steps": warmup + steps, "log_every": 10 ** 9}
    with tempfile.TemporaryDirectory() as tmp:
        ck = str(Path(tmp) / "bench.pt")
        quiet = lambda *_: None
        train_bank(r.model, bank, data, cfg, cond_std, r.rank, r.alpha, quiet, onehot_index, checkpoint=ck, stop_after=warmup)
        info = train_bank(r.model, bank, data, cfg, cond_std, r.rank, r.alpha, quiet, onehot_index, checkpoint=ck)
    first = info["this_call"]
    return {"steps": first["steps"], "seconds": first["seconds"], "padded_tokens": first["padded_tokens"],
            "real_tokens_all_steps": info["real_tokens"], "padded_tokens_all_steps": info["padded_tokens"]}


def compare(r, members, dcfg, init, data, rows: Dict[str, list], ecfg, cond_std, onehot_index) -> dict:
    tcfg = r.cfg["throughput"]
    steps, warmup = int(tcfg.get("steps", 20)), int(tcfg.get("warmup", 3))
    r.log(f"[throughput] baseline loop (2b398b5): {warmup} + {steps} steps on {len(members)} members")
    base = baseline_loop(r, members, dcfg, init, data, rows, ecfg, cond_std, onehot_index, steps, warmup)
    r.log(f"[throughput] batched loop: {warmup} + {steps} steps")
    if r.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    new = batched_loop(r, members, dcfg, init, data, ecfg, cond_std, onehot_index, steps, warmup)
    if r.device.type == "cuda":
        new["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 1)
    variants = {}
    if tcfg.get("compile_variant") and r.device.type == "cuda":
        flip = not bool(ecfg.get("compile"))
        r.log(f"[throughput] batched loop with compile={flip}: {warmup} + {steps} steps")
        t_c = time.time()
        try:
            v = batched_loop(r, members, dcfg, init, data, {**ecfg, "compile": flip}, cond_std, onehot_index, steps, warmup)
            v["wall_with_warmup_s"] = round(time.time() - t_c, 1)
            variants[f"compile={flip}"] = v
            # in the log too: a call cut by its time limit packs nothing, and this is its only trace
            r.log(f"[throughput] compile={flip}: {v['padded_tokens'] / max(v['seconds'], 1e-9) / 1e3:.0f}k padded tok/s "
                  f"over {steps} steps, {v['wall_with_warmup_s']} s with its warm-up (compilation)")
        except Exception as exc:  # a variant that fails is reported, not fatal
            variants[f"compile={flip}"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            r.log(f"[throughput] compile={flip} failed: {variants[f'compile={flip}']['error']}")
    n_gen = sum(m.kind != "multitask" for m in members)
    t_mean = base["real_tokens"] / max(1, base["steps"] * len(members) * base["rows_per_member_step"])
    per_tok = 3 * model_flops_per_token(r.model.cfg, t_mean)  # forward + backward (activations only)

    def rate(x):
        tps = x["padded_tokens"] / max(x["seconds"], 1e-9)
        return tps, (tps * per_tok) / 1e12

    b_tps, b_tf = rate(base)
    n_tps, n_tf = rate(new)
    out = {"tokens_per_s": round(n_tps, 1), "baseline_tokens_per_s": round(b_tps, 1), "speedup": round(n_tps / max(b_tps, 1e-9), 2),
           "tflops": round(n_tf, 2), "baseline_tflops": round(b_tf, 2),
           "gpu": r.device_name, "torch": torch.__version__, "commit": r.commit, "members": len(members), "generators": n_gen,
           "baseline": base, "batched": new, "variants": variants,
           "tokens": "padded tokens per second of the training step (forward and backward through the frozen base model)",
           "tflops_counts": "base-model matmuls and attention, forward + backward for the activations (3 x forward)"}
    r.log(f"[throughput] baseline {b_tps / 1e3:.0f}k tok/s, batched {n_tps / 1e3:.0f}k tok/s: {out['speedup']}x ({n_tf:.1f} TFLOP/s)")
    return out
