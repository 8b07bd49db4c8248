"""Token data: the corpus encoded once into uint16 ``.bin`` files, and deterministic packed batches.

``encode_corpus`` writes ``<shard>.train.bin`` / ``<shard>.val.bin`` (every document followed by the
``<|endoftext|>`` id). ``PackedBatches`` cuts a token stream into non-overlapping windows of
``seq_len + 1`` tokens and serves them in a per-epoch permutation seeded by ``(seed, epoch)``, so the
batch of any step is a pure function of the step number: a resumed run sees exactly the data the
uninterrupted run would have seen.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from trainer.text.corpus import load_split


def doc_pieces(doc: str, max_chars: int = 16384) -> list[str]:
    """Split a document into pieces at paragraph breaks so the encoder can work in parallel.

    A break "A\\n\\nB" becomes pieces "A\\n" and "\\nB": byte-level BPE's pre-tokenizer splits
    "\\n\\n" before a word into "\\n", "\\n" anyway, so the concatenated ids equal those of the whole
    document (up to whitespace-only edge cases).
    """
    if len(doc) <= max_chars:
        return [doc]
    paras = doc.split("\n\n")
    groups: list[list[str]] = [[]]
    size = 0
    for p in paras:
        if size and size + len(p) > max_chars:
            groups.append([])
            size = 0
        groups[-1].append(p)
        size += len(p) + 2
    texts = ["\n\n".join(g) for g in groups]
    out = []
    for i, t in enumerate(texts):
        if i > 0:
            t = "\n" + t
        if i < len(texts) - 1:
            t = t + "\n"
        out.append(t)
    return out


def encode_docs(tokenizer, docs: list[str], eot_id: int, batch_pieces: int = 4096) -> np.ndarray:
    """Encode documents into one uint16 stream, ``eot_id`` after every document."""
    arrays: list[np.ndarray] = []
    pending: list[str] = []
    ends: list[bool] = []

    def flush():
        if not pending:
            return
        for ids, end in zip(tokenizer.encode_batch(pending), ends):
            arrays.append(np.asarray(ids, dtype=np.uint16))
            if end:
                arrays.append(np.asarray([eot_id], dtype=np.uint16))
        pending.clear()
        ends.clear()

    for doc in docs:
        pieces = doc_pieces(doc)
        for i, piece in enumerate(pieces):
            pending.append(piece)
            ends.append(i == len(pieces) - 1)
        if len(pending) >= batch_pieces:
            flush()
    flush()
    if not arrays:
        return np.zeros(0, dtype=np.uint16)
    return np.concatenate(arrays)


def encode_corpus(corpus_dir, out_dir, tokenizer, cfg: dict, log=print) -> dict:
    """Write train/val token files for every shard; skips shards already written. Returns a summary."""
    if tokenizer.vocab_size > 65535:
        raise ValueError("uint16 token files need a vocabulary under 65536")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / "summary.json"
    if summary_path.exists():
        return json.loads(summary_path.read_text())
    eot = tokenizer.token_to_id("<|endoftext|>")
    summary = {"shards": {}}
    t0 = time.time()
    for shard, train_docs, val_docs in load_split(corpus_dir, cfg["corpus"]["val_fraction"],
                                                  cfg["corpus"]["doc_separator"]):
        entry = {}
        for split, docs in (("train", train_docs), ("val", val_docs)):
            arr = encode_docs(tokenizer, docs, eot)
            arr.tofile(out / f"{shard.name}.{split}.bin")
            entry[split] = {"docs": len(docs), "chars": sum(len(d) for d in docs),
                            "tokens": int(arr.size)}
        summary["shards"][shard.name] = entry
        log(f"[data] {shard.name}: {entry} ({time.time() - t0:.1f}s)")
    summary["train_tokens"] = sum(e["train"]["tokens"] for e in summary["shards"].values())
    summary["val_tokens"] = sum(e["val"]["tokens"] for e in summary["shards"].values())
    summary["seconds"] = round(time.time() - t0, 1)
    summary_path.write_text(json.dumps(summary, indent=2))
    return summary


def load_tokens(data_dir, split: str) -> np.ndarray:
    d = Path(data_dir)
    summary = json.loads((d / "summary.json").read_text())
    parts = [np.fromfile(d / f"{name}.{split}.bin", dtype=np.uint16) for name in summary["shards"]]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)


class PackedBatches:
    """Deterministic batches of packed windows. ``loss_mask`` (same length as ``tokens``, 1 where the
    token is a prediction target) turns masked targets into -100."""

    def __init__(self, tokens, seq_len: int, batch_size: int, seed: int, device="cpu",
                 loss_mask=None):
        tokens = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
        self.n_windows = (tokens.numel() - 1) // seq_len
        if self.n_windows < 1:
            raise ValueError(f"need more than {seq_len} tokens, got {tokens.numel()}")
        self.tokens = tokens.to(device)
        self.mask = None
        if loss_mask is not None:
            self.mask = torch.as_tensor(np.asarray(loss_mask, dtype=np.bool_)).to(device)
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self._perm_epoch = -1
        self._perm = None
        self._offsets = torch.arange(seq_len + 1, device=device)

    def _perm_for(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            g = torch.Generator()
            g.manual_seed(self.seed * 100003 + epoch)
            self._perm = torch.randperm(self.n_windows, generator=g)
            self._perm_epoch = epoch
        return self._perm

    def window_ids(self, step: int) -> list[tuple[int, int]]:
        first = step * self.batch_size
        return [divmod(i, self.n_windows) for i in range(first, first + self.batch_size)]

    def get(self, step: int):
        starts = [int(self._perm_for(epoch)[pos]) * self.seq_len for epoch, pos in self.window_ids(step)]
        starts = torch.tensor(starts, dtype=torch.int64).to(self.device)
        idx = starts[:, None] + self._offsets[None, :]
        chunk = self.tokens[idx]
        x = chunk[:, :-1]
        y = chunk[:, 1:].clone()
        if self.mask is not None:
            y[~self.mask[idx[:, 1:]]] = -100
        return x, y

    def epochs_at(self, step: int) -> float:
        return step * self.batch_size / self.n_windows
