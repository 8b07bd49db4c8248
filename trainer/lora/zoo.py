"""The LoRA zoo: for every task, LoRA adapters trained on its train split, several seeds, the tail
checkpoints of each trajectory kept; all jobs of a group trained together in one batched step
(``trainer/lora/batched.py``: adapter k gets its own sub-batch).

Layout of the run dir::

    zoo/<Task>/s<seed>-<step>/adapter_model.safetensors   PEFT format, fp16
    zoo/<Task>/s<seed>-<step>/adapter_config.json
    zoo/index.json        jobs, checkpoints, train losses, seconds, throughput
"""
from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Dict, List

import torch
import torch.nn.functional as F

from trainer.text.chat import encode_example
from trainer.evaluate.scoring import autocast
from trainer.lora.batched import LoraStack, hidden_states, logits_at, module_specs, save_peft
from trainer.safetensors_io import load_file
from trainer.tasks.staged import Task, subsample


def encode_train(tok, task: Task, n: int, max_len: int, seed: str):
    """Up to ``n`` (ids, mask) pairs from the train split, left-truncated to ``max_len`` tokens."""
    rows = subsample(task.train, n, seed)
    out = []
    for r in rows:
        ids, mask = encode_example(tok, r)
        ids, mask = ids[-max_len:], mask[-max_len:]
        if sum(mask) == 0:
            continue
        out.append((ids, mask))
    if not out:
        raise ValueError(f"task {task.name}: no usable training example under {max_len} tokens")
    return out


def _batch(pools, rngs, b: int):
    """ids (K, b, T), targets (K, b, T) with -100 where no loss."""
    return batch_from_picks([[pool[rng.randrange(len(pool))] for _ in range(b)] for pool, rng in zip(pools, rngs)])


def batch_from_picks(picks):
    """K groups of b (ids, mask) rows -> ids (K, b, T), targets (K, b, T) with -100 where no loss."""
    t = max(len(ids) for group in picks for ids, _ in group)
    k, b = len(picks), len(picks[0])
    ids = torch.zeros(k, b, t, dtype=torch.long)
    tgt = torch.full((k, b, t), -100, dtype=torch.long)
    for i, group in enumerate(picks):
        for j, (x, m) in enumerate(group):
            n = len(x)
            ids[i, j, :n] = torch.tensor(x)
            y = torch.tensor(x[1:] + [0])
            mm = torch.tensor(m[1:] + [0], dtype=torch.bool)
            tgt[i, j, :n] = torch.where(mm, y, torch.full_like(y, -100))
    return ids, tgt


def per_adapter_loss(model, lora: LoraStack, ids: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """(K,) mean token loss of each adapter on its own sub-batch; logits only where there are targets."""
    return loss_from_hidden(model, hidden_states(model, ids, lora), tgt)


def loss_from_hidden(model, h: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """(K,) mean token loss per adapter from final hidden states h (K, b, T, C) and targets (K, b, T)."""
    k = tgt.shape[0]
    sel = tgt != -100
    ce = F.cross_entropy(logits_at(model, h[sel]).float(), tgt[sel], reduction="none")
    owner = sel.nonzero()[:, 0]
    tot = torch.zeros(k, device=tgt.device).index_add_(0, owner, ce)
    cnt = torch.zeros(k, device=tgt.device).index_add_(0, owner, torch.ones_like(ce))
    return tot / cnt.clamp_min(1)


def lr_at(step: int, zcfg: dict) -> float:
    warm = int(zcfg.get("warmup_steps", 10))
    lr = float(zcfg["lr"])
    return lr * min(1.0, (step + 1) / max(1, warm))


def train_group(model, tok, tasks: Dict[str, Task], jobs: List[dict], zcfg: dict, out_dir: Path, log=print) -> dict:
    """Train the adapters of ``jobs`` ([{task, seed}]) together; write their tail checkpoints."""
    device = next(model.parameters()).device
    steps = int(zcfg["steps"])
    b = int(zcfg["batch_size"])
    save_at = sorted({int(s) for s in zcfg["save_steps"]})
    if save_at[-1] != steps:
        raise ValueError(f"save_steps must end at steps={steps}, got {save_at}")
    pools = [encode_train(tok, tasks[j["task"]], zcfg.get("max_train_examples"), int(zcfg["max_len"]),
                          f"zoo-{j['task']}") for j in jobs]
    rngs = [random.Random(f"zoo-{j['task']}-{j['seed']}") for j in jobs]
    # one shared A init for the whole zoo (B = 0): the job seed only changes the data order. With a
    # per-job init, A is seed noise the prompts cannot predict, the MSE-optimal generator output is
    # its mean (about 0) and the generated delta B @ A collapses (seen in the first GPU smoke run).
    if zcfg.get("shared_init", True):
        seeds = [int(zcfg.get("init_seed", 0))] * len(jobs)
    else:
        seeds = [hash_seed(j["task"], j["seed"]) for j in jobs]
    lora = LoraStack.init(model, len(jobs), int(zcfg["rank"]), float(zcfg["alpha"]), zcfg["targets"], seeds, device)
    opt = torch.optim.AdamW(lora.parameters(), lr=float(zcfg["lr"]), betas=(0.9, 0.999),
                            weight_decay=float(zcfg.get("weight_decay", 0.0)))
    losses = [[] for _ in jobs]
    saved = [[] for _ in jobs]
    t0 = time.time()
    tokens = 0
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = lr_at(step - 1, zcfg)
        ids, tgt = _batch(pools, rngs, b)
        tokens += int(ids.numel())
        ids, tgt = ids.to(device), tgt.to(device)
        with autocast(device):
            loss_k = per_adapter_loss(model, lora, ids, tgt)
        opt.zero_grad(set_to_none=True)
        loss_k.sum().backward()
        opt.step()
        lk = loss_k.detach().float().cpu().tolist()
        for i, v in enumerate(lk):
            losses[i].append(v)
        if step in save_at:
            for i, j in enumerate(jobs):
                name = f"s{j['seed']}-{step:05d}"
                save_peft(str(out_dir / j["task"] / name), lora.adapter(i), lora.rank, lora.alpha, zcfg["targets"])
                saved[i].append(name)
        if step == 1 or step % int(zcfg.get("log_every", 50)) == 0 or step == steps:
            log(f"[zoo] group of {len(jobs)}: step {step}/{steps} mean loss {sum(lk) / len(lk):.4f}"
                f" ({time.time() - t0:.1f}s)")
    if device.type == "cuda":
        torch.cuda.synchronize()
    secs = time.time() - t0
    return {
        "seconds": round(secs, 2), "adapters": len(jobs), "steps": steps, "padded_tokens": tokens,
        "adapter_steps_per_s": round(len(jobs) * steps / secs, 2),
        "jobs": [{"task": j["task"], "seed": j["seed"], "checkpoints": saved[i],
                  "loss_first10": _mean(losses[i][:10]), "loss_last10": _mean(losses[i][-10:])}
                 for i, j in enumerate(jobs)],
    }


def _mean(xs):
    return round(sum(xs) / len(xs), 5) if xs else None


def hash_seed(task: str, seed: int) -> int:
    import zlib

    return zlib.crc32(f"{task}/{seed}".encode()) & 0x7FFFFFFF


def train_zoo(model, tok, tasks: Dict[str, Task], zcfg: dict, zoo_dir: Path, log=print, jobs: List[dict] = None) -> dict:
    """All (task, seed) jobs (default: every task x ``zcfg['seeds']``) in groups of
    ``adapters_per_group``; resumable per group."""
    zoo_dir.mkdir(parents=True, exist_ok=True)
    index_path = zoo_dir / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {"groups": []}
    # tasks of similar example length train together: each step pads to its longest row, so mixing
    # short classification rows with long passages would waste most of the batch on padding
    def median_chars(t):
        n = sorted(len(r["system"]) + len(r["prompt"]) + len(r["response"]) for r in tasks[t].train)
        return n[len(n) // 2]

    order = sorted(tasks, key=lambda t: (median_chars(t), t)) if zcfg.get("sort_by_length", True) else sorted(tasks)
    if jobs is None:
        jobs = [{"task": t, "seed": int(s)} for t in order for s in zcfg["seeds"]]
    else:
        rank = {t: i for i, t in enumerate(order)}
        jobs = sorted(jobs, key=lambda j: (rank[j["task"]], j["seed"]))
    g = int(zcfg.get("adapters_per_group", len(jobs)))
    groups = [jobs[i : i + g] for i in range(0, len(jobs), g)]
    for gi, group in enumerate(groups):
        if gi < len(index["groups"]):
            continue
        info = train_group(model, tok, tasks, group, zcfg, zoo_dir, log)
        index["groups"].append(info)
        index_path.write_text(json.dumps(index, indent=1))
    secs = sum(x["seconds"] for x in index["groups"])
    index["seconds"] = round(secs, 2)
    index["adapters"] = len(jobs)
    index["checkpoints"] = sum(len(j["checkpoints"]) for x in index["groups"] for j in x["jobs"])
    index["adapter_steps_per_s"] = round(sum(x["adapters"] * x["steps"] for x in index["groups"]) / max(secs, 1e-9), 2)
    index_path.write_text(json.dumps(index, indent=1))
    return index


def load_adapter(zoo_dir: Path, task: str, name: str) -> Dict[str, torch.Tensor]:
    return {k: v.float() for k, v in load_file(str(zoo_dir / task / name / "adapter_model.safetensors")).items()}
