"""What the generator bank trains on, held on the device so that a step samples without Python
tensors in the way (trainer/generator/end_to_end.py).

- ``RowStore``: every training task's encoded rows (chat-rendered user turn + response, loss on the
  response and ``<|im_end|>``), right-padded into one ``(R, T_max)`` tensor; a step gathers its
  ``(K, b)`` row indices in one ``index_select`` and trims to the longest picked row.
- ``CondStore``: each task's condition pool (its encoded prompts: ``(n, L, C)``) per condition mode
  (``prompts``: the prompt alone; ``examples``: prompt and answer, issue 16), stacked into one
  ``(modes, tasks, n, L, C)`` tensor; a step gathers P of a task's n per pick.

Row lengths, task offsets and weights stay on the CPU (plain lists): the sampler never waits for
the GPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch

Row = Tuple[List[int], List[int]]  # (ids, loss mask)


class RowStore:
    def __init__(self, rows_by_task: Dict[str, List[Row]], device):
        self.names = list(rows_by_task)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.start: List[int] = []
        self.count: List[int] = []
        self.length: List[int] = []
        self.targets: List[int] = []  # tokens with a loss, per row
        flat: List[Row] = []
        for n in self.names:
            rows = rows_by_task[n]
            if not rows:
                raise ValueError(f"task {n}: no training rows")
            self.start.append(len(flat))
            self.count.append(len(rows))
            flat.extend(rows)
        t_max = max(len(x) for x, _ in flat)
        ids = torch.zeros(len(flat), t_max, dtype=torch.long)
        tgt = torch.full((len(flat), t_max), -100, dtype=torch.long)
        for i, (x, m) in enumerate(flat):
            n = len(x)
            ids[i, :n] = torch.tensor(x)
            y = torch.tensor(x[1:] + [0])
            mm = torch.tensor(m[1:] + [0], dtype=torch.bool)
            tgt[i, :n] = torch.where(mm, y, torch.full_like(y, -100))
            self.length.append(n)
            self.targets.append(int(mm.sum()))
        self.device = torch.device(device)
        self.ids = ids.to(self.device)
        self.tgt = tgt.to(self.device)

    def rows_of(self, task: str) -> range:
        i = self.index[task]
        return range(self.start[i], self.start[i] + self.count[i])

    def batch(self, picks: Sequence[Sequence[int]], cap: Optional[int] = None, fixed: bool = False
              ) -> Tuple[torch.Tensor, torch.Tensor, int, int]:
        """K groups of b global row indices -> ids (K, b, T), targets (K, b, T) (-100: no loss), and the
        real (unpadded) and target token counts. T is the longest picked row, at most ``cap``
        (``fixed``: exactly ``cap``, so that every step of a bucket has one shape); a row longer than
        T keeps its last T tokens (as ``encode_train`` keeps the end: the response). Without a cap
        these are the tensors ``trainer.lora.zoo.batch_from_picks`` builds from the rows themselves."""
        k, b = len(picks), len(picks[0])
        flat = [j for g in picks for j in g]
        longest = max(self.length[j] for j in flat)
        t = longest if cap is None else (int(cap) if fixed else min(longest, int(cap)))
        t = min(t, self.ids.shape[1]) if not fixed else t
        offs = [max(0, self.length[j] - t) for j in flat]
        idx = torch.tensor(flat, dtype=torch.long)
        off = torch.tensor(offs, dtype=torch.long)
        if self.device.type == "cuda":
            idx = idx.pin_memory().to(self.device, non_blocking=True)
            off = off.pin_memory().to(self.device, non_blocking=True)
        width = self.ids.shape[1]
        pos = off.view(-1, 1) + torch.arange(t, device=self.device).view(1, -1)  # (K*b, T)
        ids = self.ids.index_select(0, idx).gather(1, pos.clamp(max=width - 1))
        tgt = self.tgt.index_select(0, idx).gather(1, pos.clamp(max=width - 1))
        if max(offs) + t > width:  # a fixed T wider than the store: pad (decided on the CPU: no sync)
            inside = pos < width
            ids = ids.masked_fill(~inside, 0)
            tgt = tgt.masked_fill(~inside, -100)
        real = sum(min(self.length[j], t) for j in flat)
        targets = sum(self.targets[j] for j in flat)
        return ids.view(k, b, t), tgt.view(k, b, t), real, targets


class CondStore:
    """Condition pools ``pools[mode][task]`` (n, L, C), every pool of one size n."""

    def __init__(self, pools: Dict[str, Dict[str, torch.Tensor]], names: Sequence[str], device):
        self.modes = list(pools)
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}
        sizes = {tuple(pools[m][n].shape) for m in self.modes for n in self.names}
        if len(sizes) != 1:
            raise ValueError(f"condition pools differ in shape: {sorted(sizes)}")
        self.pool_size, self.length, self.channels = next(iter(sizes))
        self.all = torch.stack([torch.stack([pools[m][n].float().to(device) for n in self.names]) for m in self.modes])
        self.flat = self.all.view(-1, self.length, self.channels)  # (modes * tasks * n, L, C)

    def gather(self, mode_idx: Sequence[int], task_idx: Sequence[int], prompt_idx: torch.Tensor) -> torch.Tensor:
        """Picks i = 1..m: ``prompt_idx`` (m, P) positions in pool (mode_idx[i], task_idx[i]) -> (m, P, L, C)."""
        m, p = prompt_idx.shape
        base = (torch.tensor(mode_idx, dtype=torch.long) * len(self.names) + torch.tensor(task_idx, dtype=torch.long)) * self.pool_size
        flat = (base.view(m, 1) + prompt_idx).view(-1).to(self.all.device)
        return self.flat.index_select(0, flat).view(m, p, self.length, self.channels)


@dataclass
class TrainData:
    """Everything ``train_bank`` reads: rows, condition pools, each task's length bucket and weight."""

    rows: RowStore
    conds: CondStore
    bucket: Dict[str, int]
    weight: Dict[str, float]
