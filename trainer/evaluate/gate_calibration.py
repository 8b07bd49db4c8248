"""Calibrating the gate (trainer/generator/gate.py) of every unit of the zero-shot run.

A unit's gate must learn, from tasks its generator never saw, how much of an adapter helps. A
*calibration part* is a generator and tasks it never trained on:

- ``all_tasks`` and ``synthetic`` units: their inner generators, each measured on the inner fold it
  left out (trainer/tasks/pool.py ``inner_generator_count``);
- the ``release``: the all_tasks and synthetic units' own generators, each measured on the tasks
  its unit holds out (cross-fitting: every staged dataset, sub-task and synthetic task is measured by
  a generator that never saw it, and no extra generator is trained for it);
- ``paper`` units use the gate of the all_tasks fold that holds their task out (calibrated without it).

Per calibration task: its NLL on ``calib_rows`` training rows at every grid scale (mean over
``draws`` draws of P prompts), and its three features, each measured with the part's generator:
``condition`` (its prompt pool's pooled centroid), ``output`` (that generator's output statistics
for the draws) and ``answer`` (trainer/generator/answer_features.py, the draws' adapters at scale 1).
All tasks of a part are measured in batched forwards (every adapter on its own rows).

The gate used is chosen per unit by leave-one-out on its calibration tasks of the kind it is
judged on (``gate.select_on``), among every feature x rule (``choose``: the least NLL among the
candidates that harm at most ``1 - no_harm`` of them). The leave-one-out leaves a task's whole
parent dataset out (``gate.loo: "parent"``, the default since the run at 613f30b, whose per-task
leave-one-out promised 90-94% no harm on calibration datasets and gave 70.5% on held-out ones:
sub-tasks of one dataset had predicted each other). Every unit's calibration (names, parents, NLL
curves, features) is saved in ``results/calibration/<unit>.pt`` so that gate rules can be studied
again without a GPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch

from trainer.evaluate.scoring import own_rows_nll, response_rows
from trainer.generator.answer_features import answer_features_each
from trainer.generator.gate import METRIC_OF, GateTable, best_scales, choose, loo_metrics, output_feature, pooled, relative_curves
from trainer.tasks.pool import Unit, inner_generator_count
from trainer.tasks.staged import subsample

FEATURE_KINDS = ("condition", "output", "answer")
Part = Tuple[str, List[str]]  # (generator member id, tasks it never trained on)


@dataclass
class Calibration:
    names: List[str]
    nll: torch.Tensor  # (M, S): mean response NLL at each grid scale
    features: Dict[str, torch.Tensor]  # kind -> (M, F)
    measured_by: List[str]  # the generator of each task's measurement


def calibration_parts(r, unit: Unit) -> List[Part]:
    """What measures ``unit``'s calibration tasks (module docstring)."""
    n_inner = inner_generator_count(unit, r.cfg["units"])
    if unit.protocol == "release" and n_inner == 0:
        parts = []
        for f in r.units:
            if f.protocol in ("all_tasks", "synthetic"):
                held = set(f.held_out)
                parts.append((f"gen-{f.id}", sorted(n for n in r.pool if r.pool[n].parent in held)))
        return parts
    return [(f"inner{i}-{unit.id}", list(unit.inner_halves[i])) for i in range(n_inner)]


def draw_indices(pool_size: int, p: int, draws: int) -> List[torch.Tensor]:
    """The prompt positions of each calibration draw in a task's condition pool (the same for every task)."""
    return [torch.randperm(pool_size, generator=torch.Generator().manual_seed(1000 + d))[:p] for d in range(draws)]


def calib_rows(r, name: str) -> List[dict]:
    from trainer.evaluate.zero_shot import user_turn

    return user_turn(subsample(r.pool[name].train, int(r.cfg["gate"].get("calib_rows", 16)), f"calib-{name}"))


@torch.no_grad()
def measure(r, bank, parts: Sequence[Part], chunk: int = 48) -> Calibration:
    """Every task of every part, measured with the part's generator (module docstring)."""
    gcfg = r.cfg["gate"]
    scales = [float(s) for s in gcfg["scales"]]
    d_n = int(gcfg.get("draws", 2))
    p = int(r.cfg["generator"]["prompt_count"])
    maxp = int(r.ecfg.get("max_prompt_tokens", 320))
    budget = int(r.ecfg.get("budget_tokens", 65536))
    a_tokens = int(gcfg.get("answer_tokens", 4))
    names, by, nll_rows, feats = [], [], [], {k: [] for k in FEATURE_KINDS}
    prompts_mode = r.conds["prompts"]
    for member, tasks in parts:
        gi = bank.gen_index[member]
        for s in range(0, len(tasks), chunk):
            part = tasks[s: s + chunk]
            pools = [prompts_mode[n] for n in part]
            idx = draw_indices(pools[0].shape[0], p, d_n)
            cond = torch.stack([pool[i.to(pool.device)] for pool in pools for i in idx]).float().to(r.device)  # (T*D, P, L, C)
            vals, out = bank.generate_values(gi, cond, return_out=True)
            vals, out = vals.float().cpu(), out.float().cpu()
            # NLL at every (task, draw, scale): adapter (t, d, s) on task t's calibration rows
            seqs, starts, v_rows, b_rows = [], [], [], []
            for ti, n in enumerate(part):
                sq, st = response_rows(r.tok, calib_rows(r, n), maxp)
                for d in range(d_n):
                    for sc in scales:
                        seqs.append(sq)
                        starts.append(st)
                        v_rows.append(ti * d_n + d)
                        b_rows.append(sc)
            vi, bs = torch.tensor(v_rows), torch.tensor(b_rows)
            tot, cnt = own_rows_nll(r.model, lambda a, e: r.stack(vals[vi[a:e]], bs[a:e]), seqs, starts, budget)
            nll = (tot / cnt.clamp_min(1)).view(len(part), d_n, len(scales)).mean(1).float()
            prompts = [[r.cond_rows["prompts"][n][int(j)]["prompt"] for j in i] for n in part for i in idx]
            ans = answer_features_each(r.model, r.tok, prompts, r.stack(vals), maxp, a_tokens, budget)
            for ti, n in enumerate(part):
                names.append(n)
                by.append(member)
                nll_rows.append(nll[ti])
                feats["condition"].append(pooled(prompts_mode[n]).cpu().float())
                feats["output"].append(output_feature(out[ti * d_n:(ti + 1) * d_n]).mean(0))
                feats["answer"].append(ans[ti * d_n:(ti + 1) * d_n].mean(0))
    return Calibration(names, torch.stack(nll_rows), {k: torch.stack(v) for k, v in feats.items()}, by)


def gate_candidates(gcfg: dict) -> List[tuple]:
    """(name, rule, risk) of every gate rule a unit may choose (config ``gate.rules``)."""
    out = []
    for spec in gcfg.get("rules", [{"rule": "mean"}]):
        rule, risk = spec["rule"], float(spec.get("risk", 0.0))
        if rule not in ("mean", "risk"):
            raise ValueError(f"gate.rules: unknown rule {rule!r} (mean | risk)")
        out.append((rule if rule == "mean" else f"risk{risk:g}", rule, risk))
    return out


def selection_mask(r, names: Sequence[str], select_on: str):
    """Which calibration tasks the leave-one-out choice is scored on: ``real`` (staged datasets and
    their sub-tasks), ``synthetic`` or ``all``; None (all) when fewer than 10 match."""
    if select_on == "all":
        return None
    want_real = select_on == "real"
    mask = torch.tensor([r.pool[n].real == want_real for n in names])
    return mask if int(mask.sum()) >= 10 else None


def select_gate(r, cal: Calibration, select_on: str) -> dict:
    """Every feature x rule scored by leave-one-out on the calibration tasks (``select_on``), chosen by
    ``choose`` against ``gate.no_harm``. ``tables[kind]`` holds each feature's best table,
    ``selected`` the feature used, ``choice`` 'feature/rule'."""
    gcfg = r.cfg["gate"]
    scales = [float(s) for s in gcfg["scales"]]
    k = int(gcfg.get("k", 5))
    kinds = [x for x in gcfg.get("features", list(FEATURE_KINDS)) if x in FEATURE_KINDS]
    curves = relative_curves(cal.nll)
    best = best_scales(cal.nll, scales)
    mask = selection_mask(r, cal.names, select_on)
    # leave one *parent* out: an evaluation target arrives with none of its sub-tasks in the table
    groups = [r.pool[n].parent for n in cal.names] if gcfg.get("loo", "parent") == "parent" else None
    target = float(gcfg.get("no_harm", 0.0))
    tables, loo = {}, {}
    for kind in kinds:
        base = GateTable(cal.features[kind], best, list(cal.names), k, kind=kind, metric=METRIC_OF[kind])
        for name, rule, risk in gate_candidates(gcfg):
            t = base if rule == "mean" else base.with_rule(curves, scales, risk)
            tables[f"{kind}/{name}"] = t
            loo[f"{kind}/{name}"] = loo_metrics(t, cal.nll, scales, mask, groups)
    per_kind = {kind: choose({n: m for n, m in loo.items() if n.startswith(kind + "/")}, target) for kind in kinds}
    pick = choose({per_kind[kind]: loo[per_kind[kind]] for kind in kinds}, target)
    sel = cal.nll if mask is None else cal.nll[mask]
    # what no rule can beat (the perfect on/off and the perfect scale), and the two fixed choices
    bounds = {"best_possible": float(sel.min(1).values.mean()), "on_off": float(torch.minimum(sel[:, 0], sel[:, -1]).mean()),
              "never": float(sel[:, 0].mean()), "always": float(sel[:, -1].mean()), "tasks": int(sel.shape[0])}
    return {"tables": {kind: tables[per_kind[kind]] for kind in kinds}, "selected": pick.split("/")[0], "choice": pick,
            "loo": loo, "loo_unit": "parent" if groups else "task", "bounds": bounds, "select_on": select_on, "calibration": cal}


def save_calibration(r, uid: str, cal: Calibration) -> None:
    """``results/calibration/<unit>.pt``: what the unit's gate was chosen from (features in fp16 to keep
    the pack small), for studying gate rules offline."""
    d = r.run_dir / "results" / "calibration"
    d.mkdir(parents=True, exist_ok=True)
    torch.save({"names": cal.names, "parents": [r.pool[n].parent for n in cal.names],
                "real": [r.pool[n].real for n in cal.names], "measured_by": cal.measured_by,
                "scales": [float(s) for s in r.cfg["gate"]["scales"]], "nll": cal.nll.float(),
                "features": {k: v.half() for k, v in cal.features.items()}}, d / f"{uid}.pt")


def gates_json(gates: Dict[str, dict]) -> dict:
    """What results/gates.json keeps of each unit's gate."""
    out = {}
    for uid, g in gates.items():
        cal = g["calibration"]
        out[uid] = {"selected": g["selected"], "choice": g["choice"], "select_on": g["select_on"], "loo": g["loo"],
                    "loo_unit": g.get("loo_unit"),
                    "bounds": g["bounds"], "tables": {k: t.to_json() for k, t in g["tables"].items()},
                    "measured_by": sorted(set(cal.measured_by)), "tasks": len(cal.names)}
    return out
