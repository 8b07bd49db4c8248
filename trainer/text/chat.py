"""Chat tuning data: ChatML conversations from the allowed tasks' ``train.jsonl``, loss on assistant
tokens only.

A conversation is ``[<|im_start|>system\\n{system}<|im_end|>\\n]<|im_start|>user\\n{prompt}<|im_end|>\\n
<|im_start|>assistant\\n{response}<|im_end|>\\n`` (the system turn only when non-empty), exactly what
the tokenizer's ``chat_template`` renders. The loss mask is 1 on the response tokens and the closing
``<|im_end|>``, 0 everywhere else.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np


class DatasetError(RuntimeError):
    """A dataset problem a user can fix; the message names the file."""


def messages_for(example: dict) -> list[dict]:
    """System turn (when non-empty), earlier (prompt, response) turns from ``history`` (in-context
    examples), then the user turn."""
    msgs = []
    if example.get("system"):
        msgs.append({"role": "system", "content": example["system"]})
    for prompt, response in example.get("history") or []:
        msgs.append({"role": "user", "content": prompt})
        msgs.append({"role": "assistant", "content": response})
    msgs.append({"role": "user", "content": example["prompt"]})
    return msgs


def render_prompt(messages: list[dict]) -> str:
    """The chat template with ``add_generation_prompt=True`` (kept identical to CHAT_TEMPLATE)."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + "<|im_start|>assistant\n"


def encode_example(tokenizer, example: dict) -> tuple[list[int], list[int]]:
    """(ids, mask) for one conversation; mask marks the tokens the model must predict."""
    prompt_ids = tokenizer.encode(render_prompt(messages_for(example)))
    im_end = tokenizer.token_to_id("<|im_end|>")
    answer_ids = tokenizer.encode(example["response"]) + [im_end]
    newline = tokenizer.encode("\n")
    ids = prompt_ids + answer_ids + newline
    mask = [0] * len(prompt_ids) + [1] * len(answer_ids) + [0] * len(newline)
    return ids, mask


def read_task(datasets_dir, task: str) -> list[dict]:
    path = Path(datasets_dir) / task / "train.jsonl"
    if not path.is_file():
        raise DatasetError(f"chat task file not found: {path}")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows.append({"prompt": str(row["prompt"]), "response": str(row["response"]),
                             "system": str(row.get("system") or "")})
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{n}: not a {{prompt, response, system}} record: {exc}")
    if not rows:
        raise DatasetError(f"chat task file is empty: {path}")
    return rows


def build_stream(tokenizer, datasets_dir, ccfg: dict, seed: int, log=print):
    """Token stream + loss mask over the sampled, shuffled conversations of ``ccfg['tasks']``."""
    rng = random.Random(seed)
    examples = []
    counts = {}
    for task in ccfg["tasks"]:
        rows = read_task(datasets_dir, task)
        rng.shuffle(rows)
        rows = rows[: ccfg["max_examples_per_task"]]
        counts[task] = len(rows)
        examples.extend(rows)
    rng.shuffle(examples)
    ids_all: list[int] = []
    mask_all: list[int] = []
    skipped = 0
    for ex in examples:
        ids, mask = encode_example(tokenizer, ex)
        if len(ids) > ccfg["max_example_tokens"]:
            skipped += 1
            continue
        ids_all.extend(ids)
        mask_all.extend(mask)
    info = {"examples_per_task": counts, "examples": len(examples) - skipped,
            "skipped_too_long": skipped, "tokens": len(ids_all),
            "target_tokens": int(sum(mask_all))}
    log(f"[chat] data: {info['examples']} conversations, {info['tokens']} tokens,"
        f" {info['target_tokens']} target tokens, {skipped} too long")
    return np.asarray(ids_all, dtype=np.int64), np.asarray(mask_all, dtype=np.bool_), info


def add_replay(ids: np.ndarray, mask: np.ndarray, data_dir, fraction: float, shards: dict,
               log=print):
    """Append pretraining text (loss on every token) so it makes up ``fraction`` of the stream.

    ``shards`` maps a shard name to its share of the replay text; each share is the *first* tokens
    of that shard's train file (train split only: never the held-out slice). Mixing plain text in
    keeps chat tuning from eroding the base LM (without it, held-out perplexity rose 38 -> 47).
    """
    need = int(len(ids) * fraction / (1.0 - fraction))
    total_w = sum(shards.values())
    parts = []
    counts = {}
    for name, w in shards.items():
        n = int(need * w / total_w)
        arr = np.fromfile(Path(data_dir) / f"{name}.train.bin", dtype=np.uint16, count=n)
        if len(arr) < n:
            raise DatasetError(f"replay shard {name}: wanted {n} tokens, file has {len(arr)}")
        parts.append(arr.astype(np.int64))
        counts[name] = n
    replay = np.concatenate(parts)
    info = {"fraction": fraction, "tokens": int(len(replay)), "per_shard": counts}
    log(f"[chat] replay: {info}")
    return (np.concatenate([ids, replay]),
            np.concatenate([mask, np.ones(len(replay), dtype=np.bool_)]), info)
