"""Examples mode (issue 16): the generator conditioned on prompts *with their answers*.

A file of prompts alone cannot say which behaviour its owner wants (sentiment, irony or hate labels
for the same tweets); answered rows can. In this mode the condition encodes P answered rows of the
task (``condition.examples_template``, trainer/generator/conditions.py), and the gate is measured
rather than predicted: the person's file has more answered rows than the condition uses, so the
adapter's scale is the grid scale with the least NLL on up to ``validation_rows`` answered rows that
are *not* in the condition (``validation_gate``; ties go to the smaller scale, so 0, the base model,
wins unless the adapter measurably helps).

Evaluation (every protocol): for a held-out task T, ``draws`` draws of P + V rows of T's *train*
split (P condition rows, V validation rows); T's test rows are scored, never a row of the draw.
Columns:

- ``examples``: the generated adapter, validation-gated; ``examples_ungated``: at scale 1;
- ``examples_mismatched``: the generator fed P answered rows of a task of another family, gated by
  the same validation on T's rows (what conditioning on the wrong examples gives under the same
  procedure); ``examples_mismatched_ungated``;
- ``icl_k``: no adapter; the same P rows placed before each test prompt as earlier chat turns
  (in-context learning), the rendered prompt left-truncated to ``max_prompt_tokens`` as the app's is.
"""
from __future__ import annotations

import random
from typing import List, Sequence, Tuple

import torch

from trainer.evaluate.scoring import evaluate_items, own_rows_nll, response_rows
from trainer.generator.conditions import encode_prompts


def examples_ccfg(r) -> dict:
    return {**r.ccfg, "template": r.ccfg.get("examples_template", "chat-answer")}


def draws(r, name: str) -> List[Tuple[List[dict], List[dict]]]:
    """(condition rows, validation rows) of each draw from task ``name``'s train split, user turn only."""
    from trainer.evaluate.zero_shot import user_turn

    train = user_turn(r.pool[name].train)
    p = int(r.cfg["generator"]["prompt_count"])
    v = int(r.cfg["examples"].get("validation_rows", 16))
    out = []
    for d in range(int(r.ecfg.get("draws", 2))):
        rng = random.Random(f"examples-draw-{name}-{d}")
        idx = rng.sample(range(len(train)), min(len(train), p + v))
        cond = [train[i] for i in idx[:p]]
        while len(cond) < p:  # tiny tasks: repeat, as the app fills a short set
            cond.append(cond[len(cond) % max(1, len(idx))])
        out.append((cond, [train[i] for i in idx[p:]]))
    return out


def condition(r, rows: Sequence[dict]) -> torch.Tensor:
    """(P, L, C) examples-mode condition of P answered rows."""
    return encode_prompts(r.model, r.tok, list(rows), examples_ccfg(r))


@torch.no_grad()
def validation_gate(r, values: torch.Tensor, validation: Sequence[Sequence[dict]]) -> torch.Tensor:
    """values (D, V), validation rows per draw -> (D,) the grid scale with the least mean NLL on
    them (ties: the smaller scale; no rows: 0, the base model)."""
    scales = [float(s) for s in r.cfg["gate"]["scales"]]
    maxp = int(r.ecfg.get("max_prompt_tokens", 320))
    out = []
    for v, rows in zip(values, validation):
        if not rows:
            out.append(0.0)
            continue
        sq, st = response_rows(r.tok, list(rows), maxp)
        k = len(scales)
        vals = v.unsqueeze(0).expand(k, -1)
        bs = torch.tensor(scales)
        tot, cnt = own_rows_nll(r.model, lambda a, e: r.stack(vals[a:e], bs[a:e]), [sq] * k, [st] * k,
                                int(r.ecfg.get("budget_tokens", 65536)))
        nll = tot / cnt.clamp_min(1)
        best = float(nll.min())
        out.append(next(s for s, x in zip(scales, nll.tolist()) if x <= best + 1e-9))
    return torch.tensor(out)


def icl_rows(rows: Sequence[dict], shots: Sequence[dict]) -> List[dict]:
    """Test rows with the P answered rows before them as earlier chat turns."""
    history = [(s["prompt"], s["response"]) for s in shots]
    return [{**row, "history": history} for row in rows]


def icl_summary(r, name: str, shots_per_draw: Sequence[Sequence[dict]], metrics: Sequence[str]) -> dict:
    """``icl_k`` column: the base model with each draw's rows in context, averaged over draws."""
    from trainer.evaluate.zero_shot import user_turn

    task = r.pool[name].task()
    rows = user_turn(r.eval_rows(name))
    nll, gen, ll = [], [], []
    for shots in shots_per_draw:
        res = evaluate_items(r.model, r.tok, task, icl_rows(rows, shots), None, r.ecfg, metrics=tuple(metrics))
        nll.append(float(res["nll_sum"].sum() / res["nll_count"].sum().clamp_min(1)))
        if "gen" in res:
            gen.append(res["gen"][0])
        if "loglik" in res:
            ll.append(res["loglik"][0])
    out = {"nll": sum(nll) / len(nll)}
    for key, xs in (("gen", gen), ("loglik", ll)):
        if xs:
            items = torch.stack(xs).mean(0)
            out[key] = float(items.mean())
            out[f"{key}_items"] = [round(float(x), 3) for x in items]
    return out
