"""The ``answer`` gate feature: how the base model starts to answer a person's prompts, and what a
generated adapter does to that start (trainer/generator/gate.py).

For each of the P prompts, shown as the app shows them (the user turn alone, chat template, the
assistant turn opened, left-truncated to ``max_prompt_tokens``):

1. the base model answers greedily for ``tokens`` = M tokens (no stop token: exactly M), y_1..y_M;
2. the base model and the adapted model (scale 1) read the prompt followed by y, and at each of the
   M positions that predict y_j give distributions p_b and p_a.

Per position, five values; the feature is their mean over the M positions and the P prompts:

- ``base_entropy``: H(p_b) — low when the base model already answers in a firm format;
- ``adapter_entropy``: H(p_a);
- ``kl``: KL(p_a || p_b) — how far the adapter moves the answer;
- ``adapter_nll_of_base``: -log p_a(y_j) — how much the adapter disagrees with the base model's own answer;
- ``agreement``: 1 when argmax p_a == y_j.

A base model that answers firmly and an adapter that overrides it is where adapters trained on
other tasks did harm (cls, math, code, free text in reports/zero-shot.json); an unsure base model
the adapter makes sure is where they helped (multiple choice, yes/no). The browser computes the
same from its own decoding (base greedy with the KV cache, then one adapted forward over prompt + y).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from trainer.evaluate.scoring import autocast, greedy, prompt_ids
from trainer.lora.batched import LoraStack, hidden_states, logits_at

FEATURES = ("base_entropy", "adapter_entropy", "kl", "adapter_nll_of_base", "agreement")


def answer_ids(tok, prompts: Sequence[str], max_prompt_tokens: int) -> List[List[int]]:
    """The token ids the app feeds the model for each prompt (user turn only, generation prompt)."""
    return [prompt_ids(tok, {"prompt": p, "system": ""}, max_prompt_tokens) for p in prompts]


@torch.no_grad()
def base_answers(model, pids: List[List[int]], tokens: int, budget_tokens: int = 65536) -> List[List[int]]:
    """The base model's first ``tokens`` greedy tokens for each prompt (no stop token)."""
    return greedy(model, pids, None, tokens, (), budget_tokens)[0]


@torch.no_grad()
def answer_features(model, tok, prompts: Sequence[str], lora: LoraStack, max_prompt_tokens: int, tokens: int = 4,
                    budget_tokens: int = 65536) -> torch.Tensor:
    """(K, 5) the ``FEATURES`` of each of the K adapters in ``lora`` on the same prompts."""
    return answer_features_each(model, tok, [list(prompts)] * lora.k, lora, max_prompt_tokens, tokens, budget_tokens)


@torch.no_grad()
def answer_features_each(model, tok, prompts: Sequence[Sequence[str]], lora: LoraStack, max_prompt_tokens: int,
                         tokens: int = 4, budget_tokens: int = 65536, chunk: int = 16) -> torch.Tensor:
    """(K, 5): adapter k's ``FEATURES`` on its own prompts ``prompts[k]`` (K lists of n prompts each).
    One greedy pass of the base model over every distinct prompt; the adapters in chunks."""
    k, n = len(prompts), len(prompts[0])
    if any(len(p) != n for p in prompts):
        raise ValueError("every adapter needs the same number of prompts")
    distinct = sorted({p for ps in prompts for p in ps})
    pid = dict(zip(distinct, answer_ids(tok, distinct, max_prompt_tokens)))
    ys = dict(zip(distinct, base_answers(model, [pid[p] for p in distinct], tokens, budget_tokens)))
    out = []
    for a in range(0, k, chunk):
        e = min(k, a + chunk)
        sub = lora.select(a, e)
        rows = [[pid[p] + ys[p] for p in prompts[i]] for i in range(a, e)]
        first = [[len(pid[p]) - 1 for p in prompts[i]] for i in range(a, e)]
        lpb = _own_logprobs(model, rows, first, tokens, None)  # (k', n, m, V)
        lpa = _own_logprobs(model, rows, first, tokens, sub)
        y = torch.tensor([[ys[p] for p in prompts[i]] for i in range(a, e)], device=lpb.device)  # (k', n, m)
        out.append(torch.cat([features_from_logprobs(lpb[j], lpa[j: j + 1], y[j]) for j in range(e - a)]))
    return torch.cat(out)


@torch.no_grad()
def _own_logprobs(model, rows: List[List[List[int]]], first: List[List[int]], m: int, lora: Optional[LoraStack]) -> torch.Tensor:
    """Adapter i reads its own rows[i] (n sequences); (K, n, m, V) log-probs at the m positions from
    first[i][j] on (the base model on every row when ``lora`` is None)."""
    device = next(model.parameters()).device
    k, n = len(rows), len(rows[0])
    t = max(len(s) for r in rows for s in r)
    ids = torch.zeros(k, n, t, dtype=torch.long)
    for i, r in enumerate(rows):
        for j, s in enumerate(r):
            ids[i, j, : len(s)] = torch.tensor(s)
    ids = ids.to(device)
    pos = torch.tensor([[[f + q for q in range(m)] for f in fs] for fs in first], device=device)  # (K, n, m)
    with autocast(device):
        h = hidden_states(model, ids if lora is not None else ids.view(1, k * n, t), lora)
        h = h.view(k, n, t, -1)
        hs = h.gather(2, pos.unsqueeze(-1).expand(-1, -1, -1, h.shape[-1]))
        return F.log_softmax(logits_at(model, hs).float(), dim=-1)


def features_from_logprobs(lpb: torch.Tensor, lpa: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """lpb (n, m, V) base log-probs, lpa (K, n, m, V) adapted, y (n, m) the base's tokens -> (K, 5)."""
    pb, pa = lpb.exp(), lpa.exp()
    hb = -(pb * lpb).sum(-1)  # (n, m)
    ha = -(pa * lpa).sum(-1)  # (K, n, m)
    kl = (pa * (lpa - lpb.unsqueeze(0))).sum(-1)
    nll = -lpa.gather(-1, y.view(1, *y.shape, 1).expand(lpa.shape[0], -1, -1, 1)).squeeze(-1)
    agree = (lpa.argmax(-1) == y.unsqueeze(0)).float()
    hb = hb.unsqueeze(0).expand_as(ha)
    return torch.stack([x.mean((1, 2)) for x in (hb, ha, kl, nll, agree)], dim=1).float().cpu()
