"""Condition embeddings: prompts -> (P, L, C) tensors, computed exactly as the browser will.

Encoder = the base model's own trunk (DESIGN.md §2.2, ``kind: decoder-hidden-states``). For one prompt:

1. text: ``template == "plain"``: the row's ``prompt`` field alone (no system prompt, no chat
   markup, no special tokens). ``"chat"``: ``<|im_start|>user\\n{prompt}<|im_end|>\\n``. We ship
   "plain": the system prompts are shared by whole task families (all MCQ tasks have the same one)
   and would fill the L-token window with identical tokens; the prompt text is what a user drops.
2. tokens: the tokenizer's ids (no special tokens added). ``window == "head"`` (format of the
   first release): the first ``max_tokens`` = L ids. ``window == "tail"``: the last
   ``max_input_tokens`` = W ids (W >= L), all of which run through the model, and the hidden states
   of the last L of them are kept: in a causal model those positions have read the whole window, so
   the condition sees a prompt's end (an MCQ's options, a question mark, a label list) and, through
   attention, its beginning.
3. hidden states: one causal forward of those ids; ``layer = -1`` is the final RMSNorm output (HF
   ``last_hidden_state``), ``layer = i >= 0`` the residual stream after i decoder layers (HF
   ``hidden_states[i]``, 0 = embeddings), float32.
4. pooling: ``"none"``: the kept (n <= L, C) states, zero-padded on the right to (L, C); ``"mean"``:
   the mean over the n kept tokens, shape (1, C).

A condition for the generator stacks P prompts: (P, L, C) (or (P, 1, C) pooled).
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Sequence

import torch

from trainer.lora.batched import hidden_states


TEMPLATES = ("plain", "chat", "chat-answer")


def condition_text(row_or_prompt, template: str) -> str:
    """``chat-answer`` (examples mode, issue 16) renders an answered row as the chat the base model
    was tuned on: the user turn, then the assistant turn with the answer, each closed."""
    prompt = row_or_prompt["prompt"] if isinstance(row_or_prompt, dict) else str(row_or_prompt)
    if template == "plain":
        return prompt
    if template == "chat":
        return f"<|im_start|>user\n{prompt}<|im_end|>\n"
    if template == "chat-answer":
        if not isinstance(row_or_prompt, dict) or "response" not in row_or_prompt:
            raise ValueError("the chat-answer condition template needs rows with a response")
        return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n{row_or_prompt['response']}<|im_end|>\n"
    raise ValueError(f"unknown condition template {template!r} ({' | '.join(TEMPLATES)})")


def window_of(ccfg: dict) -> str:
    w = ccfg.get("window", "head")
    if w not in ("head", "tail"):
        raise ValueError(f"unknown condition window {w!r} (head | tail)")
    return w


def input_length(ccfg: dict) -> int:
    """How many ids of a prompt run through the encoder: L (head) or W = max_input_tokens (tail)."""
    L = int(ccfg["max_tokens"])
    if window_of(ccfg) == "head":
        return L
    w = int(ccfg.get("max_input_tokens", L))
    if w < L:
        raise ValueError(f"max_input_tokens ({w}) must be at least max_tokens ({L})")
    return w


def condition_ids(tok, prompts: Sequence, ccfg: dict) -> List[List[int]]:
    """The ids each prompt's encoder forward reads: the first L (head) or the last W (tail)."""
    n = input_length(ccfg)
    head = window_of(ccfg) == "head"
    out = []
    for p in prompts:
        ids = tok.encode(condition_text(p, ccfg.get("template", "plain")))
        ids = ids[:n] if head else ids[-n:]
        out.append(ids if ids else [tok.token_to_id("<|endoftext|>")])  # empty prompt: one eot token
    return out


@torch.no_grad()
def encode_ids(model, ids_list: List[List[int]], ccfg: dict, batch: int = 256) -> torch.Tensor:
    """(n, L, C) (pooling none) or (n, 1, C) (mean) float32 on the model's device."""
    device = next(model.parameters()).device
    L = int(ccfg["max_tokens"])
    layer = int(ccfg.get("layer", -1))
    pooling = ccfg.get("pooling", "none")
    c = model.cfg.hidden_size
    outs = []
    for s in range(0, len(ids_list), batch):
        part = ids_list[s : s + batch]
        t = max(len(x) for x in part)
        ids = torch.zeros(len(part), t, dtype=torch.long)
        mask = torch.zeros(len(part), t, dtype=torch.bool)
        for i, x in enumerate(part):
            ids[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = True
        ids, mask = ids.to(device), mask.to(device)
        h, layers = hidden_states(model, ids.unsqueeze(0), None, return_layers=True)  # fp32, like the browser
        h = h[0] if layer == -1 else layers[layer]
        h = h.float() * mask.unsqueeze(-1)
        # keep each prompt's last min(n, L) real rows (head windows have n <= L: all of them)
        lens = mask.sum(1)
        keep = lens.clamp(max=L)
        pos = (lens - keep).unsqueeze(1) + torch.arange(min(L, t), device=device).unsqueeze(0)  # (n, L')
        valid = torch.arange(min(L, t), device=device).unsqueeze(0) < keep.unsqueeze(1)
        kept = h.gather(1, pos.clamp(max=t - 1).unsqueeze(-1).expand(-1, -1, c)) * valid.unsqueeze(-1)
        if pooling == "none":
            full = torch.zeros(len(part), L, c, device=device)
            full[:, : kept.shape[1]] = kept
            outs.append(full)
        elif pooling == "mean":
            outs.append((kept.sum(1) / keep.unsqueeze(1).clamp_min(1)).unsqueeze(1))
        else:
            raise ValueError(f"unknown pooling {pooling!r} (none | mean)")
    return torch.cat(outs)


def encode_prompts(model, tok, prompts: Sequence, ccfg: dict) -> torch.Tensor:
    return encode_ids(model, condition_ids(tok, prompts, ccfg), ccfg)


FIXTURE_PROMPTS = [
    "Which gas do plants take in from the air to make food?\nA: oxygen\nB: carbon dioxide\nC: nitrogen\nD: helium",
    "is the sun a star?",
    "a warm, funny and thoroughly delightful film .",
    "Tom has 3 apples and buys 5 more. How many apples does he have now?",
    "Write a Python function that returns the square of a number.",
    "",
    "Ünïcödé and emoji 🙂 — and a very long prompt that goes on and on so that it is surely longer than the token window of the condition encoder, which truncates it to the first L tokens exactly as the browser does.",
]


def write_fixture(model, tok, ccfg: dict, out_dir: str, model_id: str, weights_sha256: str) -> dict:
    """``cases.json`` (prompts, the text fed to the tokenizer, token ids, config) and
    ``embeddings.safetensors`` (``embeddings`` (n, L, C) float32) for the browser parity check.

    Token ids are stored so the Node side can check tokenisation and embeddings separately."""
    from trainer.safetensors_io import save_file

    os.makedirs(out_dir, exist_ok=True)
    ids = condition_ids(tok, FIXTURE_PROMPTS, ccfg)
    emb = encode_ids(model.float(), ids, ccfg).cpu()
    cases = {
        "model_id": model_id, "weights_sha256": weights_sha256,
        "encoder": {**{k: ccfg[k] for k in ("layer", "max_tokens", "pooling", "template")},
                    "window": window_of(ccfg), "max_input_tokens": input_length(ccfg)},
        "dtype": "float32 (model weights fp16 upcast to fp32, CPU)",
        "cases": [{"prompt": p, "text": condition_text(p, ccfg.get("template", "plain")), "ids": i}
                  for p, i in zip(FIXTURE_PROMPTS, ids)],
        "embeddings": "embeddings.safetensors: 'embeddings' (n, L, C) float32, rows beyond len(ids) are 0",
    }
    save_file({"embeddings": emb.contiguous()}, os.path.join(out_dir, "embeddings.safetensors"))
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return {"n": len(ids), "shape": list(emb.shape)}
