"""Diagnostics of the zero-shot run (docs/zero-shot.md):

- (a) ``probe_task_identity``: can a linear probe read the task from pooled conditions?
- (b) ``zoo_diagnostics``: are two seeds of a task's LoRA closer than two tasks (dW cosine)?
- (c) ``fit_heldout``: how well each generator fits its own training tasks, on rows of those tasks
  that no zoo LoRA and no generator ever trained on (``heldout_rows``): the prompt generator, the
  same architecture fed a one-hot task code, the multi-task LoRA and each task's own zoo LoRA. The
  zoo LoRAs memorise their training rows (MMLU subjects at NLL 0.0005), so only held-out rows
  compare them fairly.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch

from trainer.evaluate.scoring import evaluate_items
from trainer.generator.gate import pooled
from trainer.tasks.staged import subsample


def fit_sample(r) -> List[str]:
    """Training tasks of the release unit on which the fit (c) is measured: every k-th."""
    names = sorted(r.pool)
    n = int(r.cfg["diagnostics"].get("fit_tasks", 48))
    step = max(1, len(names) // n)
    return names[::step][:n]


def heldout_rows(r, name: str) -> List[dict]:
    """Rows of a task's train split kept out of every zoo LoRA and generator (user turn only): up to
    ``fit_rows``, at most a quarter of the split (small sub-tasks keep most rows for training)."""
    from trainer.evaluate.zero_shot import user_turn

    train = r.pool[name].train
    n = min(int(r.cfg["diagnostics"].get("fit_rows", 24)), len(train) // 4)
    return user_turn(subsample(train, n, f"fit-heldout-{name}")) if n > 0 else []


def fit_nll(r, name: str, values: Optional[torch.Tensor]) -> List[float]:
    """Mean response NLL of K adapters (values (K, V); the base model when None) on the task's held-out rows."""
    task = r.pool[name].task()
    lora = None if values is None else r.stack(values)
    res = evaluate_items(r.model, r.tok, task, heldout_rows(r, name), lora, r.ecfg, metrics=("nll",))
    return [float(v) for v in res["nll_sum"].sum(1) / res["nll_count"].sum().clamp_min(1)]


def dw_inner(va: torch.Tensor, vb: torch.Tensor, vl) -> torch.Tensor:
    """<B1 A1, B2 A2> summed over modules, through r x r Gram matrices (dW never formed)."""
    tot = torch.zeros((), dtype=torch.float64)
    ents = vl.layout.entries
    for i in range(0, len(ents), 2):
        ea, eb = ents[i], ents[i + 1]
        oa, ob = vl.offsets[i], vl.offsets[i + 1]
        a1 = va[oa: oa + ea.numel].view(ea.rows, ea.cols).double()
        b1 = va[ob: ob + eb.numel].view(eb.rows, eb.cols).double()
        a2 = vb[oa: oa + ea.numel].view(ea.rows, ea.cols).double()
        b2 = vb[ob: ob + eb.numel].view(eb.rows, eb.cols).double()
        tot += ((b1.T @ b2) * (a1 @ a2.T)).sum()
    return tot


def zoo_diagnostics(r, names: List[str], zoo: torch.Tensor, row: Dict[str, int]) -> dict:
    """(b) cosine of dW between the two seeds of a staged task vs between different tasks, and
    (c)'s floor: each fit-sample task's own zoo LoRA on its held-out rows, and the base model."""
    from trainer.evaluate.zero_shot import zoo_values

    staged = [n for n in names if r.pool[n].source == "staged"]
    s1 = zoo_values(r, staged, seed=1)
    v0 = zoo[torch.tensor([row[n] for n in staged])]
    norms0 = torch.stack([dw_inner(v, v, r.vl) for v in v0]).sqrt()
    norms1 = torch.stack([dw_inner(v, v, r.vl) for v in s1]).sqrt()
    same = [float(dw_inner(v0[i], s1[i], r.vl) / (norms0[i] * norms1[i])) for i in range(len(staged))]
    diff, diff_fam = [], []
    for i in range(len(staged)):
        for j in range(i + 1, len(staged)):
            c = float(dw_inner(v0[i], v0[j], r.vl) / (norms0[i] * norms0[j]))
            (diff_fam if r.pool[staged[i]].family == r.pool[staged[j]].family else diff).append(c)
    floor = {}
    for n in fit_sample(r):
        floor[n] = {"zoo": fit_nll(r, n, zoo[row[n]].unsqueeze(0))[0], "base": fit_nll(r, n, None)[0], "kind": r.pool[n].kind}
    mean = lambda xs: round(sum(xs) / max(1, len(xs)), 4)
    return {"same_task_seed_cosine": {"mean": mean(same), "min": round(min(same), 4), "per_task": dict(zip(staged, [round(x, 4) for x in same]))},
            "same_family_cosine": {"mean": mean(diff_fam), "pairs": len(diff_fam)},
            "other_family_cosine": {"mean": mean(diff), "pairs": len(diff)},
            "dw_norm": {"mean": mean([float(x) for x in norms0])},
            "fit_floor_heldout": floor}



def probe_task_identity(r, names: List[str], conds: Dict[str, torch.Tensor], head_conds=None) -> dict:
    """(a) a linear probe (logistic regression on pooled P-prompt conditions) of task identity and of
    family: fit on draws from the first half of each task's prompt pool, scored on draws from the
    second half (prompts not used to fit it)."""
    p = int(r.cfg["generator"]["prompt_count"])
    out = {}
    for label, cs in (("tail (used)", conds), ("head (first release)", head_conds)):
        if cs is None:
            continue
        xs, ys, split = [], [], []
        for ti, n in enumerate(names):
            pool = cs[n]
            half = pool.shape[0] // 2
            for part, lo, hi in ((0, 0, half), (1, half, pool.shape[0])):
                g = torch.Generator().manual_seed(ti * 2 + part)
                for _ in range(12):
                    idx = lo + torch.randperm(hi - lo, generator=g)[:p]
                    xs.append(pooled(pool[idx.to(pool.device)]).cpu())
                    ys.append(ti)
                    split.append(part)
        x = torch.stack(xs).float()
        x = (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
        y = torch.tensor(ys)
        sp = torch.tensor(split)
        fam_names = sorted({r.pool[n].family for n in names})
        fam = torch.tensor([fam_names.index(r.pool[names[i]].family) for i in ys])
        res = {}
        for what, target, ncls in (("task", y, len(names)), ("family", fam, len(fam_names))):
            w = torch.zeros(x.shape[1], ncls, requires_grad=True)
            bias = torch.zeros(ncls, requires_grad=True)
            opt = torch.optim.Adam([w, bias], lr=0.05)
            tr = sp == 0
            for _ in range(300):
                loss = torch.nn.functional.cross_entropy(x[tr] @ w + bias, target[tr]) + 1e-3 * w.pow(2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                pred = (x[~tr] @ w + bias).argmax(1)
            res[f"{what}_accuracy"] = round(float((pred == target[~tr]).float().mean()), 4)
            res[f"{what}_chance"] = round(1.0 / ncls, 4)
        out[label] = res
    return {"tasks": len(names), "draws_per_half": 12, "prompts_per_draw": p, "probes": out}


