"""LoRA <-> token grid layout (DESIGN.md §4, docs/generator-manifest.md).

A LoRA for target module m of layer l has ``A`` (r x in) and ``B`` (out x r). The layout walks
layers ascending, modules in config order, A then B; each matrix is flattened row-major into
``ceil(rows*cols / (h*w))`` consecutive tokens of ``h x w`` values, the tail of its last token being
padding (``mask == False``: ignored by the loss and by detokenisation).

LoRA dicts use PEFT names:
``base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight``.

Normalisation statistics are computed from a *training* set of token grids only and stored expanded
to ``(count, h, w)``; padding positions get mean 0, std 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch

__all__ = [
    "ModuleSpec",
    "LayoutEntry",
    "LoraLayout",
    "build_layout",
    "peft_name",
    "tokenize",
    "detokenize",
    "compute_stats",
    "normalize",
    "denormalize",
    "masked_mse",
    "DEFAULT_PARENTS",
]

# where each usual Llama projection lives
DEFAULT_PARENTS = {
    "q_proj": "self_attn",
    "k_proj": "self_attn",
    "v_proj": "self_attn",
    "o_proj": "self_attn",
    "gate_proj": "mlp",
    "up_proj": "mlp",
    "down_proj": "mlp",
}


def peft_name(layer: int, parent: str, module: str, matrix: str) -> str:
    if matrix not in ("A", "B"):
        raise ValueError(f"matrix must be 'A' or 'B', got {matrix!r}")
    return f"base_model.model.model.layers.{layer}.{parent}.{module}.lora_{matrix}.weight"


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    parent: str
    in_features: int
    out_features: int


@dataclass(frozen=True)
class LayoutEntry:
    layer: int
    module: str
    parent: str
    matrix: str  # "A" or "B"
    rows: int
    cols: int
    token_offset: int
    token_count: int

    @property
    def numel(self) -> int:
        return self.rows * self.cols

    @property
    def key(self) -> str:
        return peft_name(self.layer, self.parent, self.module, self.matrix)

    def to_manifest(self) -> dict:
        return {
            "layer": self.layer,
            "module": self.module,
            "matrix": self.matrix,
            "rows": self.rows,
            "cols": self.cols,
            "token_offset": self.token_offset,
            "token_count": self.token_count,
        }


def _module_specs(modules) -> List[ModuleSpec]:
    """Accepts a list of ModuleSpec / (name, parent, in, out) / (name, in, out) tuples, or an ordered
    mapping name -> {"parent", "in", "out"} (manifest form)."""
    specs: List[ModuleSpec] = []
    if isinstance(modules, Mapping):
        for name, d in modules.items():
            specs.append(ModuleSpec(name, d.get("parent", DEFAULT_PARENTS.get(name, "self_attn")), int(d["in"]), int(d["out"])))
        return specs
    for m in modules:
        if isinstance(m, ModuleSpec):
            specs.append(m)
        elif len(m) == 4:
            specs.append(ModuleSpec(str(m[0]), str(m[1]), int(m[2]), int(m[3])))
        elif len(m) == 3:
            specs.append(ModuleSpec(str(m[0]), DEFAULT_PARENTS[m[0]], int(m[1]), int(m[2])))
        else:
            raise ValueError(f"cannot read module spec {m!r}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate target modules: {names}")
    return specs


@dataclass
class LoraLayout:
    num_layers: int
    modules: List[ModuleSpec]
    rank: int
    token_h: int
    token_w: int
    alpha: Optional[float] = None
    entries: List[LayoutEntry] = field(default_factory=list)

    # ---- shape facts -------------------------------------------------------------------------
    @property
    def token_size(self) -> int:
        return self.token_h * self.token_w

    @property
    def count(self) -> int:
        """Total number of tokens (N_out of the decoder)."""
        if not self.entries:
            return 0
        last = self.entries[-1]
        return last.token_offset + last.token_count

    @property
    def target_modules(self) -> List[str]:
        return [m.name for m in self.modules]

    def keys(self) -> List[str]:
        return [e.key for e in self.entries]

    def mask(self) -> torch.Tensor:
        """Bool (count, h, w): True where a token position holds a real LoRA value."""
        m = torch.zeros(self.count * self.token_size, dtype=torch.bool)
        for e in self.entries:
            s = e.token_offset * self.token_size
            m[s : s + e.numel] = True
        return m.view(self.count, self.token_h, self.token_w)

    def matrix_index(self) -> torch.Tensor:
        """Long (count, h, w): index of the layout entry owning each position, -1 on padding."""
        idx = torch.full((self.count * self.token_size,), -1, dtype=torch.long)
        for i, e in enumerate(self.entries):
            s = e.token_offset * self.token_size
            idx[s : s + e.numel] = i
        return idx.view(self.count, self.token_h, self.token_w)

    # ---- manifest ----------------------------------------------------------------------------
    def to_manifest(self) -> dict:
        d = {
            "rank": self.rank,
            "alpha": self.alpha if self.alpha is not None else self.rank,
            "num_layers": self.num_layers,
            "target_modules": self.target_modules,
            "modules": {m.name: {"parent": m.parent, "in": m.in_features, "out": m.out_features} for m in self.modules},
            "layout": [e.to_manifest() for e in self.entries],
        }
        return d

    @classmethod
    def from_manifest(cls, manifest: dict) -> "LoraLayout":
        """Build from a whole generator.json (or its ``lora`` section + token size) and check the
        stored layout equals the recomputed one."""
        lora = manifest["lora"]
        toks = manifest["tokens"]
        mods = lora["modules"]
        specs = [ModuleSpec(n, mods[n].get("parent", DEFAULT_PARENTS.get(n, "self_attn")), int(mods[n]["in"]), int(mods[n]["out"])) for n in lora["target_modules"]]
        layout = build_layout(lora["num_layers"], specs, lora["rank"], toks["height"], toks["width"], alpha=lora.get("alpha"))
        if "layout" in lora and lora["layout"] != [e.to_manifest() for e in layout.entries]:
            raise ValueError("manifest lora.layout differs from the layout recomputed from its configuration")
        if "count" in toks and int(toks["count"]) != layout.count:
            raise ValueError(f"manifest tokens.count {toks['count']} != layout token count {layout.count}")
        return layout

    # ---- conversions -------------------------------------------------------------------------
    def tokenize(self, lora: Mapping[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        return tokenize(lora, self)

    def detokenize(self, tokens: torch.Tensor) -> Dict[str, torch.Tensor]:
        return detokenize(tokens, self)


def build_layout(
    num_layers: int,
    modules,
    rank: int,
    token_h: int,
    token_w: int,
    alpha: Optional[float] = None,
) -> LoraLayout:
    """Layout in the documented order: layers ascending, modules in config order, A then B."""
    specs = _module_specs(modules)
    size = int(token_h) * int(token_w)
    if size < 1 or rank < 1 or num_layers < 1:
        raise ValueError("num_layers, rank, token_h, token_w must be positive")
    entries: List[LayoutEntry] = []
    off = 0
    for layer in range(int(num_layers)):
        for m in specs:
            for matrix, rows, cols in (("A", rank, m.in_features), ("B", m.out_features, rank)):
                n = int(math.ceil(rows * cols / size))
                entries.append(LayoutEntry(layer, m.name, m.parent, matrix, int(rows), int(cols), off, n))
                off += n
    return LoraLayout(int(num_layers), specs, int(rank), int(token_h), int(token_w), alpha, entries)


def tokenize(lora: Mapping[str, torch.Tensor], layout: LoraLayout) -> Tuple[torch.Tensor, torch.Tensor]:
    """PEFT-named LoRA dict -> (tokens (count, h, w), mask (count, h, w) bool). Padding is 0.

    The dtype of the tokens is that of the first matrix (float32 if it is not floating point)."""
    first = lora[layout.entries[0].key]
    dtype = first.dtype if first.is_floating_point() else torch.float32
    flat = torch.zeros(layout.count * layout.token_size, dtype=dtype)
    for e in layout.entries:
        if e.key not in lora:
            raise KeyError(f"LoRA is missing {e.key}")
        t = lora[e.key]
        if tuple(t.shape) != (e.rows, e.cols):
            raise ValueError(f"{e.key}: shape {tuple(t.shape)} != expected {(e.rows, e.cols)}")
        s = e.token_offset * layout.token_size
        flat[s : s + e.numel] = t.detach().reshape(-1).to(dtype)
    return flat.view(layout.count, layout.token_h, layout.token_w), layout.mask()


def detokenize(tokens: torch.Tensor, layout: LoraLayout) -> Dict[str, torch.Tensor]:
    """(count, h, w) tokens -> PEFT-named LoRA dict (padding ignored). Exact inverse of tokenize."""
    if tuple(tokens.shape) != (layout.count, layout.token_h, layout.token_w):
        raise ValueError(f"tokens shape {tuple(tokens.shape)} != {(layout.count, layout.token_h, layout.token_w)}")
    flat = tokens.reshape(-1)
    out: Dict[str, torch.Tensor] = {}
    for e in layout.entries:
        s = e.token_offset * layout.token_size
        out[e.key] = flat[s : s + e.numel].reshape(e.rows, e.cols).clone()
    return out


def compute_stats(
    tokens: Union[torch.Tensor, Sequence[torch.Tensor]],
    layout: LoraLayout,
    mode: str = "per_matrix",
    min_std: float = 1e-6,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Normalisation stats from a *training* set of token grids, each (count, h, w).

    ``per_matrix``: one mean/std per layout entry over all its real values in all samples.
    ``per_position``: one mean/std per (token, i, j) over the samples.
    ``per_position_mean``: mean per (token, i, j), std per layout entry (of the deviations).
    Both are returned expanded to (count, h, w) float32; padding positions get mean 0, std 1; std is
    clamped below at ``min_std``. Population (biased) std.
    """
    if isinstance(tokens, torch.Tensor) and tokens.dim() == 3:
        tokens = tokens.unsqueeze(0)
    x = torch.stack(list(tokens)) if not isinstance(tokens, torch.Tensor) else tokens
    x = x.detach().to(torch.float64)
    if tuple(x.shape[1:]) != (layout.count, layout.token_h, layout.token_w):
        raise ValueError(f"token grids have shape {tuple(x.shape[1:])}, layout wants {(layout.count, layout.token_h, layout.token_w)}")
    mask = layout.mask()
    mean = torch.zeros(layout.count, layout.token_h, layout.token_w, dtype=torch.float64)
    std = torch.ones_like(mean)
    if mode == "per_matrix":
        xf = x.reshape(x.shape[0], -1)
        mf, sf = mean.view(-1), std.view(-1)
        for i, e in enumerate(layout.entries):
            s = e.token_offset * layout.token_size
            v = xf[:, s : s + e.numel]
            mf[s : s + e.numel] = v.mean()
            sf[s : s + e.numel] = v.std(unbiased=False).clamp_min(min_std)
    elif mode == "per_position":
        m = x.mean(0)
        s = x.std(0, unbiased=False).clamp_min(min_std)
        mean = torch.where(mask, m, mean)
        std = torch.where(mask, s, std)
    elif mode == "per_position_mean":
        # mean per position (it carries the zoo's shared init), one std per matrix: positions that
        # barely move across checkpoints are not blown up to unit variance
        mean = torch.where(mask, x.mean(0), mean)
        dev = (x - mean).reshape(x.shape[0], -1)
        sf = std.view(-1)
        for e in layout.entries:
            s = e.token_offset * layout.token_size
            v = dev[:, s : s + e.numel]
            sf[s : s + e.numel] = v.pow(2).mean().sqrt().clamp_min(min_std)
    else:
        raise ValueError(f"unknown normalisation mode {mode!r} (per_matrix | per_position | per_position_mean)")
    return mean.to(torch.float32), std.to(torch.float32)


def normalize(tokens: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    out = (tokens - mean.to(tokens.dtype)) / std.to(tokens.dtype)
    if mask is not None:
        out = out * mask.to(out.dtype)
    return out


def denormalize(tokens: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``value = out * std + mean`` (docs/generator-manifest.md)."""
    return tokens * std.to(tokens.dtype) + mean.to(tokens.dtype)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the positions where ``mask`` is True (mask broadcasts over batch)."""
    m = mask.to(pred.dtype).expand_as(pred)
    return ((pred - target) ** 2 * m).sum() / m.sum().clamp_min(1.0)
