"""The gate: how much of a generated adapter to apply, read from the prompts.

A generator trained on some tasks is confident on all of them; on a task unlike any it saw, its
adapter can make the base model worse (docs/zero-shot.md). The gate sizes the adapter: the delta
``B A`` is scaled by ``g`` in [0, 1] (implemented by scaling B), where ``g`` comes from the tasks most
like the dropped prompts, and for each of those tasks ``g`` is the scale that worked best when that
task was *held out* from a generator (the unit's inner halves: trainer/tasks/pool.py).

Two features, one table each (``GateTable.kind``):

- ``condition`` (``pooled``): the condition's real rows (P prompts x up to L tokens x C) averaged
  into one C-vector (rows that are all zero are padding);
- ``output`` (``output_feature``): what the generator makes of the prompts: the mean and the
  standard deviation of each of its output tokens (2 x N_out values). Tasks whose adapters the
  generator builds alike sit together, whatever their prompts look like on the surface.

The table stores, per calibration task, its feature (the centroid of ``pooled`` over its prompt
pool, or the generator's ``output_feature`` for its prompts) and its best scale. Which feature a
unit uses is chosen on its own calibration tasks (``loo_nll``: each task's scale predicted from the
others, the NLL that scale gives, averaged), never on evaluation targets. A query is centred by the table's mean centroid, cosine-compared
with the centred centroids, and ``g`` is the similarity-weighted mean of the scales of the ``k``
nearest (weights = max(cos, 0) + 1e-6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

import torch


def output_feature(out: torch.Tensor) -> torch.Tensor:
    """(..., N, h, w) decoder output -> (..., 2N): per-token mean, then per-token std (population)."""
    flat = out.reshape(*out.shape[:-2], -1).float()
    return torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], dim=-1)


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
    kind: str = "condition"  # condition | output

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
        return {"kind": self.kind, "names": self.names, "scales": [round(float(s), 4) for s in self.scales], "k": self.k}

    def loo_scales(self) -> torch.Tensor:
        """Each table task's gate computed from the other tasks only (its own row left out)."""
        c = self._unit(self.centroids.float())
        sim = c @ c.T
        sim.fill_diagonal_(-float("inf"))
        k = min(self.k, sim.shape[1] - 1)
        top, idx = sim.topk(k, dim=1)
        w = top.clamp_min(0) + 1e-6
        return (w * self.scales[idx]).sum(1) / w.sum(1)


def nll_at(nll: torch.Tensor, scales: Sequence[float], g: torch.Tensor) -> torch.Tensor:
    """nll (tasks, S) measured at the grid ``scales``; the NLL at scale g per task, linearly
    interpolated on the grid."""
    grid = torch.tensor([float(s) for s in scales])
    out = []
    for row, x in zip(nll, g.tolist()):
        j = int(torch.searchsorted(grid, torch.tensor([x]))[0].clamp(1, len(grid) - 1))
        x0, x1 = float(grid[j - 1]), float(grid[j])
        t = 0.0 if x1 == x0 else min(1.0, max(0.0, (x - x0) / (x1 - x0)))
        out.append(float(row[j - 1]) * (1 - t) + float(row[j]) * t)
    return torch.tensor(out)


def loo_nll(table: GateTable, nll: torch.Tensor, scales: Sequence[float]) -> float:
    """Mean NLL over the table's tasks when each one's gate comes from the others."""
    return float(nll_at(nll, scales, table.loo_scales()).mean())


def best_scales(nll: torch.Tensor, scales: Sequence[float]) -> torch.Tensor:
    """nll (tasks, len(scales)) -> the best scale per task (ties: the smaller scale)."""
    idx = nll.argmin(dim=1)
    return torch.tensor([float(scales[i]) for i in idx.tolist()])
