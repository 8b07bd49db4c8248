"""G hyper-convolution decoders of one schedule as one module with stacked weights.

The bank of generators (trainer/generator/end_to_end.py) trains dozens of decoders that share a
feature schedule and nothing else. Run one after another they cost dozens of small kernel launches
each; stacked, every parameter gets a leading member axis G and each op runs once for all members
(a batched matmul for the k = 1 convs, a grouped ``conv2d`` for k > 1). The maths is exactly
``HyperConvGenerator``'s (trainer/generator/hyperconv.py, DESIGN.md §3) per member: ``member(g)``
returns member g as a plain ``HyperConvGenerator`` (the release and the browser use that), and a
CPU test checks the stacked forward against it.

Activations have shape ``(G, n, N, H, W)``: member, that member's batch, then the per-sample axes.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from trainer.generator.hyperconv import AXIS_H, AXIS_N, AXIS_W, DecoderConfig, HyperConvGenerator

# per-sample axes of (G, n, N, H, W) are dims 2, 3, 4; the channel axis and the image axes of each
# axis conv in the order docs/hyperconv.md fixes (see hyperconv._PERMS)
_LAYOUT = {AXIS_W: (4, 3, 2), AXIS_H: (3, 2, 4), AXIS_N: (2, 3, 4)}
# k = 1 convs as batched matmuls over the channel axis
_EINSUM = {AXIS_W: "gnxyc,goc->gnxyo", AXIS_H: "gnxcy,goc->gnxoy", AXIS_N: "gncxy,goc->gnoxy"}
# names of one HyperConvLayer's parameters, with the channel axis of each conv
_CONVS = (("a_w", AXIS_W), ("a_h", AXIS_H), ("b_h", AXIS_H), ("b_w", AXIS_W))


def batched_axis_conv(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], axis: int) -> torch.Tensor:
    """``axis_conv`` of every member at once: x (G, n, N, H, W), weight (G, C_out, C_in, k, k),
    bias (G, C_out) or None."""
    g, n = x.shape[:2]
    k = int(weight.shape[-1])
    if k == 1:
        y = torch.einsum(_EINSUM[axis], x, weight[..., 0, 0].to(x.dtype))
    else:
        c, i1, i2 = _LAYOUT[axis]
        xp = x.permute(1, 0, c, i1, i2)  # (n, G, C, I1, I2)
        cin = xp.shape[2]
        yp = F.conv2d(xp.reshape(n, g * cin, xp.shape[3], xp.shape[4]), weight.reshape(-1, cin, k, k).to(x.dtype),
                      None, stride=1, padding=(k - 1) // 2, groups=g)
        yp = yp.view(n, g, -1, yp.shape[2], yp.shape[3])
        inv = [0] * 5
        for dst, src in enumerate((1, 0, c, i1, i2)):
            inv[src] = dst
        y = yp.permute(*inv)
    if bias is not None:
        shape = [g, 1, 1, 1, 1]
        shape[axis + 2] = -1
        y = y + bias.view(*shape).to(y.dtype)
    return y


class BatchedDecoder(nn.Module):
    """G decoders of schedule ``config``; parameter ``layers.{i}.{name}`` has shape (G, *shape of
    HyperConvLayer i's ``name``)."""

    def __init__(self, config: DecoderConfig, members: Sequence[HyperConvGenerator]):
        super().__init__()
        if not members:
            raise ValueError("a batched decoder needs at least one member")
        self.config = config
        self.g = len(members)
        self.eps = float(config.layer_norm_eps)
        self.residual: List[bool] = [layer.residual for layer in members[0].decoder.layers]
        self.layers = nn.ModuleList()
        for i in range(len(self.residual)):
            layer = nn.ParameterDict()
            for name, _ in members[0].decoder.layers[i].named_parameters():
                key = name.replace(".", "_")
                layer[key] = nn.Parameter(torch.stack([dict(m.decoder.layers[i].named_parameters())[name].detach()
                                                       for m in members]).clone())
            self.layers.append(layer)

    @classmethod
    def fresh(cls, config: DecoderConfig, g: int, zero_last: bool = True) -> "BatchedDecoder":
        """G freshly initialised decoders, drawn one after another from torch's global generator
        (the same weights as G ``HyperConvGenerator(config)`` made in a row); ``zero_last``: the last
        layer's length conv starts at zero, so every member starts at its shared LoRA."""
        members = [HyperConvGenerator(config) for _ in range(g)]
        if zero_last:
            for m in members:
                nn.init.zeros_(m.decoder.layers[-1].len_conv.weight)
                nn.init.zeros_(m.decoder.layers[-1].len_conv.bias)
        return cls(config, members)

    def forward(self, x: torch.Tensor, members: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (G', n, N0, H0, W0) -> (G', n, Nm, Hm, Wm). ``members``: which G' members (indices), all when None."""
        for p, residual in zip(self.layers, self.residual):
            w = {k: (v if members is None else v.index_select(0, members)) for k, v in p.items()}
            y = self._layer(x, w)
            x = x + y if residual else y
        return x

    def _layer(self, x: torch.Tensor, w) -> torch.Tensor:
        g = x.shape[0]
        mu = x.mean(dim=(-2, -1), keepdim=True)
        var = (x - mu).pow(2).mean(dim=(-2, -1), keepdim=True)
        z = (x - mu) * torch.rsqrt(var + self.eps)
        z = z * w["norm_weight"].view(g, 1, 1, *z.shape[-2:]) + w["norm_bias"].view(g, 1, 1, *z.shape[-2:])
        a = batched_axis_conv(batched_axis_conv(z, w["a_w_weight"], None, AXIS_W), w["a_h_weight"], None, AXIS_H)
        b = torch.tanh(batched_axis_conv(batched_axis_conv(z, w["b_h_weight"], None, AXIS_H), w["b_w_weight"], None, AXIS_W))
        h = (a + b + w["bias"].view(g, 1, 1, *w["bias"].shape[-2:])) / 3.0
        return batched_axis_conv(h, w["len_conv_weight"], w["len_conv_bias"], AXIS_N)

    def member(self, i: int) -> HyperConvGenerator:
        """Member ``i`` as a plain ``HyperConvGenerator`` (a copy, float32, on the CPU)."""
        gen = HyperConvGenerator(self.config)
        sd = {}
        for li, p in enumerate(self.layers):
            for key, v in p.items():
                name = key.replace("a_w_", "a_w.").replace("a_h_", "a_h.").replace("b_h_", "b_h.").replace("b_w_", "b_w.")
                name = name.replace("norm_", "norm.").replace("len_conv_", "len_conv.")
                sd[f"decoder.layers.{li}.{name}"] = v[i].detach().float().cpu()
        gen.load_state_dict(sd, strict=True)
        return gen

    def member_grad_norms(self) -> torch.Tensor:
        """(G,) the L2 norm of each member's gradient over all its parameters (0 without grads)."""
        tot = None
        for p in self.parameters():
            if p.grad is None:
                continue
            s = p.grad.reshape(self.g, -1).float().pow(2).sum(1)
            tot = s if tot is None else tot + s
        return torch.zeros(self.g) if tot is None else tot.sqrt()

    def clip_member_grads_(self, max_norm: float) -> torch.Tensor:
        """Clip each member's gradient to ``max_norm`` on its own (``clip_grad_norm_`` per member);
        returns the norms before clipping."""
        norms = self.member_grad_norms()
        factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for p in self.parameters():
            if p.grad is not None:
                p.grad.mul_(factor.to(p.grad.device, p.grad.dtype).view(self.g, *([1] * (p.grad.dim() - 1))))
        return norms
