"""The gate: how much of a generated adapter to apply, read from the prompts.

A generator trained on some tasks is confident on all of them; on a task unlike any it saw, its
adapter can make the base model worse (docs/zero-shot.md). The gate sizes the adapter: the delta
``B A`` is scaled by ``g`` in [0, 1] (implemented by scaling B), where ``g`` comes from the tasks most
like the dropped prompts, and for each of those tasks ``g`` is the scale that worked best when that
task was *held out* from a generator (the unit's inner halves: trainer/tasks/pool.py).

Features (``pooled``): the condition's real rows (P prompts x up to L tokens x C) averaged into one
C-vector, exactly what the browser can compute from the same condition tensor (rows that are all
zero are padding). The table stores, per calibration task, the centroid of its feature over its
prompt pool and its best scale. A query is centred by the table's mean centroid, cosine-compared
with the centred centroids, and ``g`` is the similarity-weighted mean of the scales of the ``k``
nearest (weights = max(cos, 0) + 1e-6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

import torch


def pooled(cond: torch.Tensor) -> torch.Tensor:
    """(..., P, L, C) condition -> (..., C): the mean over the non-zero rows of all P prompts."""
    real = (cond.abs().sum(-1) > 0).to(cond.dtype)  # (..., P, L)
    tot = (cond * real.unsqueeze(-1)).sum((-3, -2))
    return tot / real.sum((-2, -1)).clamp_min(1).unsqueeze(-1)


@dataclass
class GateTable:
    centroids: torch.Tensor  # (M, C) float32, raw (not centred)
    scales: torch.Tensor  # (M,) float32 in [0, 1]
    names: List[str]
    k: int = 5

    @property
    def center(self) -> torch.Tensor:
        return self.centroids.mean(0)

    def _unit(self, x: torch.Tensor) -> torch.Tensor:
        x = x - self.center.to(x)
        return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)

    def scale(self, feature: torch.Tensor) -> torch.Tensor:
        """(C,) or (n, C) pooled feature(s) -> g (scalar tensor or (n,))."""
        single = feature.dim() == 1
        q = self._unit(feature.float().reshape(-1, feature.shape[-1]))
        c = self._unit(self.centroids.float().to(q.device))
        sim = q @ c.T  # (n, M)
        k = min(self.k, sim.shape[1])
        top, idx = sim.topk(k, dim=1)
        w = top.clamp_min(0) + 1e-6
        g = (w * self.scales.to(q.device)[idx]).sum(1) / w.sum(1)
        return g[0] if single else g

    def neighbours(self, feature: torch.Tensor) -> List[str]:
        q = self._unit(feature.float().reshape(1, -1))
        sim = (q @ self._unit(self.centroids.float().to(q.device)).T)[0]
        return [self.names[i] for i in sim.topk(min(self.k, len(self.names))).indices.tolist()]

    def to_tensors(self, prefix: str = "gate.") -> Dict[str, torch.Tensor]:
        return {f"{prefix}centroids": self.centroids.float().contiguous().cpu(),
                f"{prefix}scales": self.scales.float().contiguous().cpu()}

    def to_json(self) -> dict:
        return {"names": self.names, "scales": [round(float(s), 4) for s in self.scales], "k": self.k}


def best_scales(nll: torch.Tensor, scales: Sequence[float]) -> torch.Tensor:
    """nll (tasks, len(scales)) -> the best scale per task (ties: the smaller scale)."""
    idx = nll.argmin(dim=1)
    return torch.tensor([float(scales[i]) for i in idx.tolist()])
