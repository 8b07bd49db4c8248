"""The one training loop used by pretraining and chat tuning.

bf16 autocast on CUDA, fused AdamW where available, linear warmup + cosine decay, gradient clipping,
optional ``torch.compile``. Resumable: the checkpoint holds model, optimizer, step, schedule length and
counters; batches are a pure function of the step (``PackedBatches``), so a run cut off and resumed
takes exactly the steps the uninterrupted run would have taken.

Schedule length: ``max_steps`` from the config, or (when it is null) fixed once at
``calibrate_at_step`` from the measured step time so the run fills ``train_seconds``; the number is
stored in the checkpoint, so a resumed run keeps it.
"""
from __future__ import annotations

import math
import os
import time
from collections import deque
from contextlib import nullcontext
from pathlib import Path

import torch


def lr_at(step: int, total: int | None, warmup: int, lr: float, min_ratio: float) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    if total is None:
        return lr
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def make_optimizer(model, tcfg: dict, device) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": tcfg["weight_decay"]},
              {"params": no_decay, "weight_decay": 0.0}]
    kwargs = dict(lr=tcfg["lr"], betas=(tcfg["beta1"], tcfg["beta2"]), eps=1e-8)
    if str(device).startswith("cuda"):
        try:
            return torch.optim.AdamW(groups, fused=True, **kwargs)
        except (TypeError, RuntimeError):
            pass
    return torch.optim.AdamW(groups, **kwargs)


def autocast_for(device):
    if str(device).startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def save_checkpoint(path, model, opt, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                "torch_rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, model, opt=None, device="cpu") -> dict:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        ck = torch.load(path, map_location="cpu")
    model.load_state_dict(ck["model"])
    if opt is not None:
        opt.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["torch_rng"])
    return ck["state"]


def train(model, batches, tcfg: dict, ckpt_path, device="cpu", deadline: float | None = None,
          log=print, tag: str = "train") -> dict:
    """Run (or continue) training until the schedule ends or ``deadline`` (time.time()) passes.

    Returns the state dict; ``state["done"]`` tells whether the schedule finished.
    """
    model.to(device)
    model.train()
    opt = make_optimizer(model, tcfg, device)
    state = {"step": 0, "total_steps": tcfg.get("max_steps"), "tokens_seen": 0,
             "train_seconds": 0.0, "done": False, "recent_loss": None, "losses": []}
    ckpt_path = Path(ckpt_path)
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path, model, opt, device)
        log(f"[{tag}] resumed from {ckpt_path} at step {state['step']}"
            f" of {state['total_steps']}")
        if state["done"]:
            return state
    fwd = model
    if tcfg.get("compile") and str(device).startswith("cuda") and hasattr(torch, "compile"):
        fwd = torch.compile(model)
    seg_start = time.time()
    seg_train0 = state["train_seconds"]
    last_ckpt = time.time()
    recent = deque(maxlen=50)
    calib = tcfg.get("calibrate_at_step", 40)
    calib_t0 = None
    warmup = tcfg["warmup_steps"]
    tokens_per_step = batches.batch_size * batches.seq_len

    def snapshot():
        state["train_seconds"] = seg_train0 + (time.time() - seg_start)
        if recent:
            state["recent_loss"] = float(torch.stack(list(recent)).mean())

    while state["total_steps"] is None or state["step"] < state["total_steps"]:
        if deadline is not None and time.time() > deadline:
            snapshot()
            save_checkpoint(ckpt_path, model, opt, state)
            log(f"[{tag}] time limit: paused at step {state['step']}; checkpoint {ckpt_path}")
            return state
        step = state["step"]
        lr = lr_at(step, state["total_steps"], warmup, tcfg["lr"], tcfg["min_lr_ratio"])
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batches.get(step)
        with autocast_for(device):
            _, loss = fwd(x, y)
        loss.backward()
        if tcfg.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        recent.append(loss.detach().float())
        state["step"] = step + 1
        state["tokens_seen"] += tokens_per_step
        # schedule length from measured speed (only when max_steps is not given)
        if state["total_steps"] is None:
            if state["step"] == calib // 2:
                if str(device).startswith("cuda"):
                    torch.cuda.synchronize()
                calib_t0 = (time.time(), state["step"])
            elif state["step"] >= calib and calib_t0 is not None:
                if str(device).startswith("cuda"):
                    torch.cuda.synchronize()
                per_step = (time.time() - calib_t0[0]) / (state["step"] - calib_t0[1])
                used = seg_train0 + (time.time() - seg_start)
                remaining = max(0.0, tcfg["train_seconds"] - used)
                state["total_steps"] = max(state["step"] + 1,
                                           state["step"] + int(remaining / per_step))
                state["sec_per_step"] = per_step
                log(f"[{tag}] calibrated: {per_step * 1000:.1f} ms/step,"
                    f" {tokens_per_step / per_step:,.0f} tok/s -> total_steps={state['total_steps']}")
        if state["step"] % tcfg.get("log_every", 50) == 0:
            cur = float(loss.detach())
            state["losses"].append([state["step"], round(cur, 4)])
            log(f"[{tag}] step {state['step']}/{state['total_steps']} loss {cur:.4f} lr {lr:.2e}"
                f" epoch {batches.epochs_at(state['step']):.2f}"
                f" t {seg_train0 + time.time() - seg_start:.0f}s")
        if time.time() - last_ckpt > tcfg.get("checkpoint_every_seconds", 1e9):
            snapshot()
            save_checkpoint(ckpt_path, model, opt, state)
            last_ckpt = time.time()
    snapshot()
    state["done"] = True
    save_checkpoint(ckpt_path, model, opt, state)
    log(f"[{tag}] finished {state['step']} steps, recent loss {state['recent_loss']:.4f}")
    return state


@torch.no_grad()
def evaluate(model, tokens, seq_len: int, batch_size: int, device="cpu",
             max_tokens: int | None = None) -> dict:
    """Mean next-token loss over non-overlapping windows of ``tokens`` (every window, in order)."""
    model.eval()
    t = torch.as_tensor(tokens[: (max_tokens + 1) if max_tokens else None].astype("int64"))
    n = (t.numel() - 1) // seq_len
    total, count = 0.0, 0
    for i in range(0, n, batch_size):
        rows = range(i, min(n, i + batch_size))
        idx = torch.stack([torch.arange(r * seq_len, r * seq_len + seq_len + 1) for r in rows])
        chunk = t[idx].to(device)
        with autocast_for(device):
            _, loss = model(chunk[:, :-1], chunk[:, 1:])
        k = chunk[:, 1:].numel()
        total += float(loss) * k
        count += k
    model.train()
    mean = total / max(1, count)
    return {"loss": mean, "ppl": math.exp(mean), "tokens": count}
