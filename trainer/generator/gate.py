"""The gate: how much of a generated adapter to apply, read from the prompts.

A generator trained on some tasks is confident on all of them; on a task unlike any it saw, its
adapter can make the base model worse (docs/zero-shot.md). The gate sizes the adapter: the delta
``B A`` is scaled by ``g`` in [0, 1] (implemented by scaling B), where ``g`` comes from the tasks most
like the dropped prompts, and for each of those tasks ``g`` is the scale that worked best when that
task was *held out* from a generator (the unit's inner halves: trainer/tasks/pool.py).

Three features, one table each (``GateTable.kind``):

- ``condition`` (``pooled``): the condition's real rows (P prompts x up to L tokens x C) averaged
  into one C-vector (rows that are all zero are padding);
- ``output`` (``output_feature``): what the generator makes of the prompts: the mean and the
  standard deviation of each of its output tokens (2 x N_out values). Tasks whose adapters the
  generator builds alike sit together, whatever their prompts look like on the surface;
- ``answer`` (trainer/generator/answer_features.py): how the base model starts to answer the
  prompts and how the adapter changes that (its entropy, the adapter's entropy, their divergence,
  the adapter's loss on the base model's own first tokens, how often they agree): 5 values. A base
  model that already answers in a firm format (it was tuned on such tasks) is one an adapter
  trained elsewhere tends to harm.

The table stores, per calibration task, its feature (measured with a generator that never trained
on the task) and its best scale. ``metric`` says what "near" means: ``cosine`` (a query is centred by
the table's mean centroid and cosine-compared with the centred centroids; weights max(cos, 0) +
1e-6) or ``euclidean`` (every feature standardised by the table's mean and standard deviation,
weights 1 / (1 + distance^2): for the few, differently scaled ``answer`` values). The ``k``
nearest tasks give ``g`` by one of two rules:

- ``mean``: the weighted mean of the neighbours' best scales (the first release's rule). One
  neighbour that gained much pulls ``g`` up even when the others were harmed at every scale;
- ``risk``: the table also keeps each task's NLL curve on the scale grid, relative to the base
  model (``curves``, (M, S): NLL at scale s minus NLL at 0, so column 0 is 0). ``g`` is the grid
  scale with the least weighted mean of ``d + risk * max(d, 0)`` over the neighbours' curves ``d``,
  the smallest such scale when several are within ``TIE`` of the least: harm counts ``1 + risk``
  times a gain of the same size, and 0 (the base model) wins unless the neighbours gain on balance.

Which feature, rule and ``risk`` a unit uses is chosen on its own calibration tasks by leave-one-out
(``loo_metrics``: each task's ``g`` predicted from the others, the NLL that ``g`` gives and whether
it is above the task's base NLL; ``choose``), never on evaluation targets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

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


METRICS = ("cosine", "euclidean")
# the metric each feature uses: few, differently scaled values want standardising, not a direction
METRIC_OF = {"condition": "cosine", "output": "cosine", "answer": "euclidean"}

# Expected costs this close are one tie, broken towards the smaller scale (the browser computes in
# float64, the trainer in float32: the tolerance keeps their choice the same).
TIE = 1e-6


@dataclass
class GateTable:
    centroids: torch.Tensor  # (M, C) float32, raw (not centred)
    scales: torch.Tensor  # (M,) float32 in [0, 1]
    names: List[str]
    k: int = 5
    kind: str = "condition"  # condition | output
    # the "risk" rule (None: the "mean" rule): NLL at each grid scale minus NLL at scale 0, (M, S)
    curves: Optional[torch.Tensor] = None
    grid: Optional[List[float]] = None  # the S scales, ascending, grid[0] == 0
    risk: float = 0.0
    metric: str = "cosine"  # cosine | euclidean

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown gate metric {self.metric!r} ({' | '.join(METRICS)})")
        if self.curves is not None:
            if self.grid is None or len(self.grid) != self.curves.shape[1] or self.curves.shape[0] != self.centroids.shape[0]:
                raise ValueError("a risk gate needs curves (M, S) and a grid of S scales")
            if float(self.grid[0]) != 0.0 or any(b <= a for a, b in zip(self.grid, self.grid[1:])):
                raise ValueError(f"the gate's grid must rise from 0, got {self.grid}")

    @property
    def rule(self) -> str:
        return "mean" if self.curves is None else "risk"

    @property
    def center(self) -> torch.Tensor:
        return self.centroids.mean(0)

    @property
    def spread(self) -> torch.Tensor:
        """(F,) the standard deviation of each feature over the table (1 where it is 0): the euclidean
        metric's scale."""
        s = self.centroids.float().std(0, unbiased=False) if self.centroids.shape[0] > 1 else torch.ones(self.centroids.shape[1])
        return torch.where(s > 1e-8, s, torch.ones_like(s))

    def _unit(self, x: torch.Tensor) -> torch.Tensor:
        x = x - self.center.to(x)
        return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)

    def similarity(self, q: torch.Tensor) -> torch.Tensor:
        """(n, F) queries -> (n, M) similarities to the table's tasks (larger is nearer)."""
        if self.metric == "cosine":
            return self._unit(q.float()) @ self._unit(self.centroids.float().to(q.device)).T
        mu, sd = self.center.to(q.device), self.spread.to(q.device)
        zq = (q.float() - mu) / sd
        zc = (self.centroids.float().to(q.device) - mu) / sd
        d2 = (zq.unsqueeze(1) - zc.unsqueeze(0)).pow(2).sum(-1)
        return 1.0 / (1.0 + d2)

    def _combine(self, top: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """(n, k) similarities and indices of the nearest tasks -> g (n,) by the table's rule."""
        w = top.clamp_min(0) + 1e-6
        if self.curves is None:
            return (w * self.scales.to(w.device)[idx]).sum(1) / w.sum(1)
        d = self.curves.float().to(w.device)[idx]  # (n, k, S)
        cost = ((w.unsqueeze(-1) * (d + self.risk * d.clamp_min(0))).sum(1) / w.sum(1, keepdim=True))  # (n, S)
        near = cost <= cost.min(1, keepdim=True).values + TIE
        first = near.float().argmax(1)  # the smallest scale among the (near-)least costs
        return torch.tensor([float(x) for x in self.grid], device=w.device)[first]

    def scale(self, feature: torch.Tensor) -> torch.Tensor:
        """(F,) or (n, F) feature(s) -> g (scalar tensor or (n,))."""
        single = feature.dim() == 1
        sim = self.similarity(feature.float().reshape(-1, feature.shape[-1]))  # (n, M)
        top, idx = sim.topk(min(self.k, sim.shape[1]), dim=1)
        g = self._combine(top, idx)
        return g[0] if single else g

    def neighbours(self, feature: torch.Tensor) -> List[str]:
        sim = self.similarity(feature.float().reshape(1, -1))[0]
        return [self.names[i] for i in sim.topk(min(self.k, len(self.names))).indices.tolist()]

    def with_rule(self, curves: Optional[torch.Tensor], grid: Optional[Sequence[float]], risk: float = 0.0) -> "GateTable":
        """The same table (features, best scales, k) under another rule."""
        return GateTable(self.centroids, self.scales, self.names, self.k, self.kind,
                         None if curves is None else curves.float(), None if grid is None else [float(x) for x in grid], float(risk),
                         self.metric)

    def to_tensors(self, prefix: str = "gate.") -> Dict[str, torch.Tensor]:
        out = {f"{prefix}centroids": self.centroids.float().contiguous().cpu(),
               f"{prefix}scales": self.scales.float().contiguous().cpu()}
        if self.metric == "euclidean":  # stored, so the browser uses exactly these (not its own mean of fp32 data)
            out[f"{prefix}feature_mean"] = self.center.float().contiguous().cpu()
            out[f"{prefix}feature_std"] = self.spread.float().contiguous().cpu()
        if self.curves is not None:
            out[f"{prefix}curves"] = self.curves.float().contiguous().cpu()
        return out

    def to_json(self) -> dict:
        out = {"kind": self.kind, "rule": self.rule, "metric": self.metric, "names": self.names,
               "scales": [round(float(s), 4) for s in self.scales], "k": self.k}
        if self.curves is not None:
            out.update(grid=self.grid, risk=self.risk)
        return out

    def loo_scales(self, groups: Optional[Sequence[str]] = None) -> torch.Tensor:
        """Each table task's gate computed from the other tasks only: its own row left out, and with
        ``groups`` (each task's parent dataset) every task of its group too. A held-out dataset comes
        to the gate with none of its sub-tasks in the table, so leave-one-group-out is the honest
        estimate: siblings (MMLU subjects, label pairs of one dataset) predict each other too well."""
        sim = self.similarity(self.centroids.float())
        sim.fill_diagonal_(-float("inf"))
        if groups is not None:
            g = list(groups)
            same = torch.tensor([[a == b for b in g] for a in g])
            sim = sim.masked_fill(same, -float("inf"))
        top, idx = sim.topk(min(self.k, sim.shape[1] - 1), dim=1)
        return self._combine(top, idx)


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


def best_scales(nll: torch.Tensor, scales: Sequence[float]) -> torch.Tensor:
    """nll (tasks, len(scales)) -> the best scale per task (ties: the smaller scale)."""
    idx = nll.argmin(dim=1)
    return torch.tensor([float(scales[i]) for i in idx.tolist()])


def relative_curves(nll: torch.Tensor) -> torch.Tensor:
    """nll (tasks, S) on a grid that starts at 0 -> each row minus its value at 0 (the base model)."""
    return nll - nll[:, :1]


def loo_metrics(table: GateTable, nll: torch.Tensor, scales: Sequence[float], mask: Optional[torch.Tensor] = None,
                groups: Optional[Sequence[str]] = None) -> dict:
    """Leave-one-out (leave-one-group-out with ``groups``) on the table's tasks, scored on the rows in
    ``mask`` (all when None): mean NLL at each task's predicted ``g``, and the share of tasks whose
    NLL there is not above their base NLL."""
    at = nll_at(nll, scales, table.loo_scales(groups))
    keep = torch.ones(len(at), dtype=torch.bool) if mask is None else mask
    at, base = at[keep], nll[keep, 0]
    return {"nll": float(at.mean()), "no_harm": float((at <= base + 1e-9).float().mean()), "tasks": int(keep.sum())}


def choose(candidates: Dict[str, dict], no_harm: float) -> str:
    """The candidate to use, from leave-one-out metrics: the least NLL among those that harm at
    most ``1 - no_harm`` of the tasks; when none does, the one that harms the fewest (then NLL)."""
    safe = [n for n, m in candidates.items() if m["no_harm"] >= no_harm]
    if safe:
        return min(safe, key=lambda n: (candidates[n]["nll"], n))
    return min(candidates, key=lambda n: (-candidates[n]["no_harm"], candidates[n]["nll"], n))
