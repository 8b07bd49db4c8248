"""Batched scoring of K LoRA adapters (or the base model) on a task's test rows.

All adapters see the same rows: ids ``(R, T)`` are expanded to ``(K, R, T)`` and run through
``trainer.lora.batched.hidden_states`` in one batch (chunked by a token budget). Three scores:

- ``gen``: generate-then-parse accuracy. Greedy decoding of the chat-templated prompt (system +
  user + ``<|im_start|>assistant\\n``), at most ``max_new_tokens`` (choice kinds) or
  ``max_new_tokens_math``, stopping at ``<|im_end|>``; the text is parsed by ``Task.parse``.
  No KV cache: each step re-runs the (short) right-padded batch; causal attention makes right padding
  exact.
- ``loglik``: for choice kinds, the candidate (``[A]``, ``[True]``, ``[positive]`` ...) with the
  highest summed log-probability after the prompt is the answer.
- ``nll``: mean token NLL of the reference response (+ ``<|im_end|>``), teacher-forced (every kind).
"""
from __future__ import annotations

import contextlib
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from trainer.text.chat import messages_for, render_prompt
from trainer.lora.batched import LoraStack, hidden_states, logits_at
from trainer.tasks.staged import CHOICE_KINDS, Task, answers_equal


def autocast(device):
    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prompt_ids(tok, row: dict, max_prompt_tokens: int) -> List[int]:
    ids = tok.encode(render_prompt(messages_for(row)))
    return ids[-max_prompt_tokens:]  # keep the end: the question, its options, the assistant turn


def _pad(seqs: List[List[int]], pad_id: int = 0) -> torch.Tensor:
    t = max(len(s) for s in seqs)
    out = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def _chunks(seqs: List[List[int]], k: int, budget_tokens: int):
    """Consecutive index ranges whose padded size K * n * T_max stays under the budget."""
    start = 0
    while start < len(seqs):
        end = start
        tmax = 0
        while end < len(seqs):
            t2 = max(tmax, len(seqs[end]))
            if end > start and k * (end - start + 1) * t2 > budget_tokens:
                break
            tmax = t2
            end += 1
        yield start, end
        start = end


def _k(lora: Optional[LoraStack]) -> int:
    return 1 if lora is None else lora.k


@torch.no_grad()
def sequence_logprobs(model, seqs: List[List[int]], starts: List[int], lora: Optional[LoraStack],
                      budget_tokens: int = 65536) -> torch.Tensor:
    """(K, len(seqs)): sum over positions p >= starts[i] of log p(seq[p] | seq[:p]) and the count."""
    device = next(model.parameters()).device
    k = _k(lora)
    total = torch.zeros(k, len(seqs), dtype=torch.float64)
    counts = torch.zeros(len(seqs), dtype=torch.float64)
    for a, b in _chunks(seqs, k, budget_tokens):
        part = seqs[a:b]
        ids = _pad(part).to(device)
        rows, pos, tgt = [], [], []
        for i, s in enumerate(part):
            for p in range(max(1, starts[a + i]), len(s)):
                rows.append(i)
                pos.append(p - 1)
                tgt.append(s[p])
            counts[a + i] = max(0, len(s) - max(1, starts[a + i]))
        if not rows:
            continue
        with autocast(device):
            h = hidden_states(model, ids.unsqueeze(0).expand(k, -1, -1).contiguous(), lora)
            hs = h[:, torch.tensor(rows, device=device), torch.tensor(pos, device=device)]  # (K, M, C)
            lp = F.log_softmax(logits_at(model, hs).float(), dim=-1)
        tg = torch.tensor(tgt, device=device)
        got = lp.gather(-1, tg.view(1, -1, 1).expand(k, -1, 1)).squeeze(-1).double().cpu()  # (K, M)
        idx = torch.tensor(rows, dtype=torch.long) + a
        total.index_add_(1, idx, got)
    return total, counts


@torch.no_grad()
def greedy(model, prompts: List[List[int]], lora: Optional[LoraStack], max_new_tokens: int, stop_ids: Sequence[int],
           budget_tokens: int = 65536) -> List[List[List[int]]]:
    """Greedy continuations: result[k][i] = new token ids of prompt i under adapter k (stop id excluded)."""
    device = next(model.parameters()).device
    k = _k(lora)
    out: List[List[List[int]]] = [[[] for _ in prompts] for _ in range(k)]
    stop = torch.tensor(list(stop_ids), device=device)
    grown = [p + [0] * max_new_tokens for p in prompts]
    for a, b in _chunks(grown, k, budget_tokens):
        part = prompts[a:b]
        n = len(part)
        lens = torch.tensor([len(p) for p in part], device=device).unsqueeze(0).repeat(k, 1)  # (K, n)
        ids = _pad([p + [0] * max_new_tokens for p in part]).to(device).unsqueeze(0).repeat(k, 1, 1)
        done = torch.zeros(k, n, dtype=torch.bool, device=device)
        new = torch.zeros(k, n, max_new_tokens, dtype=torch.long, device=device)
        ar_k = torch.arange(k, device=device).view(k, 1).expand(k, n)
        ar_n = torch.arange(n, device=device).view(1, n).expand(k, n)
        for step in range(max_new_tokens):
            tmax = int(lens.max())
            with autocast(device):
                h = hidden_states(model, ids[:, :, :tmax].contiguous(), lora)
                last = h[ar_k, ar_n, lens - 1]  # (K, n, C)
                nxt = logits_at(model, last).float().argmax(-1)
            nxt = torch.where(done, torch.zeros_like(nxt), nxt)
            new[:, :, step] = torch.where(done, torch.full_like(nxt, -1), nxt)
            ids[ar_k, ar_n, lens] = nxt
            lens = lens + (~done).long()
            done = done | (nxt.unsqueeze(-1) == stop).any(-1)
            if bool(done.all()):
                break
        new = new.cpu().tolist()
        for kk in range(k):
            for i in range(n):
                toks = []
                for t in new[kk][i]:
                    if t < 0 or t in stop_ids:
                        break
                    toks.append(t)
                out[kk][a + i] = toks
    return out


def evaluate_items(model, tok, task: Task, rows: List[dict], lora: Optional[LoraStack], ecfg: dict,
                   metrics: Sequence[str] = ("gen", "loglik", "nll"), keep_outputs: int = 0) -> Dict[str, object]:
    """Per-item scores of every adapter in ``lora`` (or the base model) on ``rows``.

    ``gen`` / ``loglik``: (K, n) 0/1 correctness (kinds where they apply); ``nll_sum`` (K, n) and
    ``nll_count`` (n,): summed response NLL and its token count per item; ``samples``: the first
    ``keep_outputs`` generated texts of adapter 0."""
    res: Dict[str, object] = {}
    k = _k(lora)
    maxp = int(ecfg.get("max_prompt_tokens", 384))
    budget = int(ecfg.get("budget_tokens", 65536))
    pids = [prompt_ids(tok, r, maxp) for r in rows]
    im_end = tok.token_to_id("<|im_end|>")
    eot = tok.token_to_id("<|endoftext|>")
    if "gen" in metrics and task.kind in CHOICE_KINDS + ("math",):
        mx = int(ecfg.get("max_new_tokens_math", 96) if task.kind == "math" else ecfg.get("max_new_tokens", 8))
        gens = greedy(model, pids, lora, mx, (im_end, eot), budget)
        ok = torch.zeros(k, len(rows))
        for kk in range(k):
            for i, (r, g) in enumerate(zip(rows, gens[kk])):
                ok[kk, i] = float(answers_equal(task.kind, task.parse(r, tok.decode(g)), task.gold(r)))
        res["gen"] = ok
        if keep_outputs:
            res["samples"] = [[tok.decode(g) for g in gens[kk][:keep_outputs]] for kk in range(k)]
    if "loglik" in metrics and task.kind in CHOICE_KINDS:
        seqs, starts, owner, cand_of = [], [], [], []
        for i, (r, p) in enumerate(zip(rows, pids)):
            for c in task.candidates(r):
                seqs.append(p + tok.encode(c))
                starts.append(len(p))
                owner.append(i)
                cand_of.append(c)
        ok = torch.zeros(k, len(rows))
        if seqs:
            lp, _ = sequence_logprobs(model, seqs, starts, lora, budget)
            for kk in range(k):
                best: Dict[int, tuple] = {}
                for j, i in enumerate(owner):
                    v = float(lp[kk, j])
                    if i not in best or v > best[i][0]:
                        best[i] = (v, cand_of[j])
                for i in best:
                    ok[kk, i] = float(answers_equal(task.kind, best[i][1], task.gold(rows[i])))
        res["loglik"] = ok
    if "nll" in metrics:
        seqs = [p + tok.encode(r["response"]) + [im_end] for r, p in zip(rows, pids)]
        starts = [len(p) for p in pids]
        lp, cnt = sequence_logprobs(model, seqs, starts, lora, budget)
        res["nll_sum"] = -lp
        res["nll_count"] = cnt
    return res


@torch.no_grad()
def own_rows_nll(model, make_lora, rows: List[List[List[int]]], starts: List[List[int]],
                 budget_tokens: int = 65536) -> tuple:
    """Adapter k scores only its own rows (``rows[k]``: token sequences, the response from
    ``starts[k][j]`` on): (K,) summed response NLL and (K,) token counts. ``make_lora(a, e)`` gives
    the LoraStack of adapters a..e-1 (built per chunk, so that thousands of adapters need not exist
    at once). Adapters run in chunks of at most ``budget_tokens`` padded tokens, each adapter on its
    own sub-batch (trainer/lora/batched.py), so many tasks' adapters share one forward."""
    device = next(model.parameters()).device
    k = len(rows)
    tot = torch.zeros(k, dtype=torch.float64)
    cnt = torch.zeros(k, dtype=torch.float64)
    b = max(len(r) for r in rows)
    lens = [max((len(s) for s in r), default=1) for r in rows]
    a = 0
    while a < k:
        e, t = a, 0
        while e < k and (e == a or (e - a + 1) * b * max(t, lens[e]) <= budget_tokens):
            t = max(t, lens[e])
            e += 1
        ids = torch.zeros(e - a, b, t, dtype=torch.long)
        tgt = torch.full((e - a, b, t), -100, dtype=torch.long)
        for i in range(a, e):
            for j, (s, st) in enumerate(zip(rows[i], starts[i])):
                ids[i - a, j, : len(s)] = torch.tensor(s)
                for p in range(max(1, st), len(s)):
                    tgt[i - a, j, p - 1] = s[p]
        ids, tgt = ids.to(device), tgt.to(device)
        with autocast(device):
            h = hidden_states(model, ids, make_lora(a, e))
            sel = tgt != -100
            ce = F.cross_entropy(logits_at(model, h[sel]).float(), tgt[sel], reduction="none")
        owner = sel.nonzero()[:, 0]
        tot[a:e] += torch.zeros(e - a, device=device).index_add_(0, owner, ce).double().cpu()
        cnt[a:e] += torch.zeros(e - a, device=device).index_add_(0, owner, torch.ones_like(ce)).double().cpu()
        a = e
    return tot, cnt


def response_rows(tok, rows: List[dict], max_prompt_tokens: int) -> tuple:
    """(sequences, starts) of rows as ``evaluate_items`` scores their NLL: the rendered prompt (left-
    truncated) then the response and ``<|im_end|>``."""
    im_end = tok.token_to_id("<|im_end|>")
    pids = [prompt_ids(tok, r, max_prompt_tokens) for r in rows]
    return [p + tok.encode(r["response"]) + [im_end] for r, p in zip(rows, pids)], [len(p) for p in pids]
