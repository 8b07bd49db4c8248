"""PyTorch reference of the hyper-convolutional decoder (DESIGN.md §3, docs/hyperconv.md).

Activations have shape ``(B, N, H, W)``. Every convolution is a k x k, stride 1, "same" (zero
padding ``(k-1)//2``), no-dilation ``conv2d`` in which one of the three per-sample axes is the channel
axis and the other two form the image, in the order fixed by docs/hyperconv.md:

    channel axis W -> image (H, N)   x.permute(0, 3, 2, 1)
    channel axis H -> image (N, W)   x.permute(0, 2, 1, 3)
    channel axis N -> image (H, W)   x as is

State-dict names (``HyperConvGenerator``):
``decoder.layers.{i}.{norm.weight, norm.bias, a_w.weight, a_h.weight, b_h.weight, b_w.weight, bias,
len_conv.weight, len_conv.bias}``.

The feature schedule and kernel sizes are data (``DecoderConfig``, the manifest's ``decoder``
section), never constants.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

Shape3 = Tuple[int, int, int]

__all__ = [
    "AXIS_N",
    "AXIS_H",
    "AXIS_W",
    "axis_conv",
    "AxisConv",
    "HyperConv3d",
    "HyperConvLayer",
    "HyperConvBlock",
    "HyperConvDecoder",
    "HyperConvGenerator",
    "DecoderConfig",
    "count_parameters",
    "layer_parameter_count",
    "save_generator",
    "load_generator",
]

# channel axes, named by their index in a per-sample (N, H, W) activation
AXIS_N, AXIS_H, AXIS_W = 0, 1, 2
_AXIS_NAMES = {"N": AXIS_N, "H": AXIS_H, "W": AXIS_W, "n": AXIS_N, "h": AXIS_H, "w": AXIS_W}

# permutation of a (B, N, H, W) tensor that puts the channel axis at dim 1 and the image axes (in the
# documented order) at dims 2, 3. Each of these permutations is its own inverse.
_PERMS = {
    AXIS_W: (0, 3, 2, 1),  # (B, W, H, N): image (H, N)
    AXIS_H: (0, 2, 1, 3),  # (B, H, N, W): image (N, W)
    AXIS_N: None,  # (B, N, H, W): image (H, W)
}


def _axis(axis: Union[int, str]) -> int:
    if isinstance(axis, str):
        return _AXIS_NAMES[axis]
    if axis not in (AXIS_N, AXIS_H, AXIS_W):
        raise ValueError(f"channel axis must be 0 (N), 1 (H) or 2 (W), got {axis}")
    return int(axis)


def axis_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    axis: Union[int, str],
    kernel_size: Optional[int] = None,
) -> torch.Tensor:
    """k x k "same" conv of a (B, N, H, W) tensor with ``axis`` (0=N, 1=H, 2=W) as channels.

    ``weight`` is ``(C_out, C_in, k, k)``, its last two axes indexing the image axes in the
    documented order. Returns the tensor with the channel axis resized to ``C_out``, axes in
    (B, N, H, W) order.
    """
    axis = _axis(axis)
    if kernel_size is None:  # (modules pass it, so that tracing for ONNX sees a plain int)
        kernel_size = int(weight.shape[-1])
        if int(weight.shape[-2]) != kernel_size:
            raise ValueError(f"kernel must be square, got {tuple(weight.shape[-2:])}")
    k = int(kernel_size)
    if k % 2 != 1:
        raise ValueError(f"kernel size must be odd, got {k}")
    p = (k - 1) // 2
    perm = _PERMS[axis]
    if perm is not None:
        x = x.permute(*perm)
    y = F.conv2d(x, weight, bias, stride=1, padding=p)
    if perm is not None:
        y = y.permute(*perm)
    return y


class AxisConv(nn.Module):
    """Learned ``axis_conv``: parameter ``weight`` (C_out, C_in, k, k) and optional ``bias`` (C_out)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, axis: Union[int, str], bias: bool = False):
        super().__init__()
        if kernel_size % 2 != 1 or kernel_size < 1:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = int(kernel_size)
        self.axis = _axis(axis)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self, gain: float = 1.0) -> None:
        # variance preserving for unit-variance input: std = gain / sqrt(fan_in)
        fan_in = self.in_channels * self.kernel_size * self.kernel_size
        with torch.no_grad():
            self.weight.normal_(0.0, gain / math.sqrt(fan_in))
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return axis_conv(x, self.weight, self.bias, self.axis, self.kernel_size)

    def extra_repr(self) -> str:
        name = "NHW"[self.axis]
        return f"{self.in_channels}->{self.out_channels}, k={self.kernel_size}, channel_axis={name}"


class HyperConv3d(nn.Module):
    """(N, H, W) -> (N, H', W'): LayerNorm_{H,W}, path A (W then H), path B (H then W, tanh), (A+B+bias)/3."""

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], kernel_size: int, layer_norm_eps: float = 1e-5):
        super().__init__()
        n, h, w = (int(v) for v in in_shape)
        _, h2, w2 = (int(v) for v in out_shape)
        self.in_shape: Shape3 = (n, h, w)
        self.kernel_size = int(kernel_size)
        self.norm = nn.LayerNorm((h, w), eps=layer_norm_eps)
        self.a_w = AxisConv(w, w2, kernel_size, AXIS_W)
        self.a_h = AxisConv(h, h2, kernel_size, AXIS_H)
        self.b_h = AxisConv(h, h2, kernel_size, AXIS_H)
        self.b_w = AxisConv(w, w2, kernel_size, AXIS_W)
        self.bias = nn.Parameter(torch.zeros(h2, w2))

    def hyperconv3d(self, x: torch.Tensor) -> torch.Tensor:
        z = self.norm(x)
        a = self.a_h(self.a_w(z))
        b = torch.tanh(self.b_w(self.b_h(z)))
        return (a + b + self.bias) / 3.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hyperconv3d(x)


class HyperConvLayer(HyperConv3d):
    """HyperConv3d followed by the length conv (channel axis N, N -> N', with bias).

    Parameters live directly on the layer (``norm``, ``a_w``, ``a_h``, ``b_h``, ``b_w``, ``bias``,
    ``len_conv``) so the state-dict names match docs/hyperconv.md.
    """

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], kernel_size: int, layer_norm_eps: float = 1e-5):
        super().__init__(in_shape, out_shape, kernel_size, layer_norm_eps)
        self.out_shape: Shape3 = tuple(int(v) for v in out_shape)  # type: ignore[assignment]
        self.residual = tuple(self.in_shape) == tuple(self.out_shape)
        self.len_conv = AxisConv(self.in_shape[0], self.out_shape[0], kernel_size, AXIS_N, bias=True)
        self.reset_parameters()

    def reset_parameters(self, residual_gain: float = 0.1) -> None:
        """Training init: unit-variance-preserving convs, LayerNorm identity, zero biases.

        In a residual layer the length conv is scaled by ``residual_gain`` so that the layer starts
        near the identity (``x + small``).
        """
        with torch.no_grad():
            self.norm.reset_parameters()
            for conv in (self.a_w, self.a_h, self.b_h, self.b_w):
                conv.reset_parameters()
            self.bias.zero_()
            # (A + B) / 3 has std ~ 0.4 for unit input; compensate a little in the length conv
            self.len_conv.reset_parameters(gain=(residual_gain if self.residual else 2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.len_conv(self.hyperconv3d(x))


class HyperConvBlock(nn.Module):
    """Layers f(i-1) -> f(i) with kernel k(i); a layer with equal in/out shape is residual."""

    def __init__(self, features: Sequence[Sequence[int]], kernel_sizes: Sequence[int], layer_norm_eps: float = 1e-5):
        super().__init__()
        features = [tuple(int(v) for v in f) for f in features]
        kernel_sizes = [int(k) for k in kernel_sizes]
        if len(features) < 2:
            raise ValueError("features needs at least two entries (input and output)")
        if len(kernel_sizes) != len(features) - 1:
            raise ValueError(f"need one kernel size per layer: {len(features) - 1} layers, {len(kernel_sizes)} kernel sizes")
        for f in features:
            if len(f) != 3 or min(f) < 1:
                raise ValueError(f"each feature must be (N, H, W) of positive ints, got {f}")
        self.features: List[Shape3] = features  # type: ignore[assignment]
        self.kernel_sizes: List[int] = kernel_sizes
        self.layer_norm_eps = float(layer_norm_eps)
        self.layers = nn.ModuleList(
            HyperConvLayer(features[i], features[i + 1], kernel_sizes[i], layer_norm_eps) for i in range(len(kernel_sizes))
        )

    @property
    def residual(self) -> List[bool]:
        return [layer.residual for layer in self.layers]

    def forward(self, x: torch.Tensor, return_layers: bool = False):
        """``x`` (B, N0, H0, W0) -> (B, Nm, Hm, Wm).

        With ``return_layers=True`` returns ``(out, [x_1, ..., x_m])`` where ``x_i`` is the activation
        after layer i (residual sum included); ``x_m`` is ``out``.
        """
        if not torch.jit.is_tracing() and tuple(x.shape[1:]) != self.features[0]:
            raise ValueError(f"input shape {tuple(x.shape[1:])} != features[0] {self.features[0]}")
        outs = []
        for layer in self.layers:
            x = x + layer(x) if layer.residual else layer(x)
            if return_layers:
                outs.append(x)
        return (x, outs) if return_layers else x


class HyperConvDecoder(HyperConvBlock):
    """The decoder: one HyperConvBlock from the condition f0 to the token grid fm."""

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@dataclass
class DecoderConfig:
    """The manifest's ``decoder`` section."""

    features: List[Shape3]
    kernel_sizes: List[int]
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        self.features = [tuple(int(v) for v in f) for f in self.features]  # type: ignore[misc]
        self.kernel_sizes = [int(k) for k in self.kernel_sizes]
        self.layer_norm_eps = float(self.layer_norm_eps)

    @classmethod
    def from_dict(cls, d: dict) -> "DecoderConfig":
        return cls(features=d["features"], kernel_sizes=d["kernel_sizes"], layer_norm_eps=d.get("layer_norm_eps", 1e-5))

    @classmethod
    def from_json(cls, path: str) -> "DecoderConfig":
        """Load from a JSON file: either a bare decoder section or a whole generator.json."""
        with open(path) as f:
            d = json.load(f)
        return cls.from_dict(d["decoder"] if "decoder" in d else d)

    def to_dict(self) -> dict:
        return {
            "features": [list(f) for f in self.features],
            "kernel_sizes": list(self.kernel_sizes),
            "layer_norm_eps": self.layer_norm_eps,
        }

    @property
    def token_shape(self) -> Shape3:
        return tuple(self.features[-1])  # type: ignore[return-value]

    def num_parameters(self) -> int:
        return count_parameters(self.features, self.kernel_sizes)


def layer_parameter_count(in_shape: Sequence[int], out_shape: Sequence[int], k: int) -> int:
    n, h, w = in_shape
    n2, h2, w2 = out_shape
    kk = k * k
    return 2 * h * w + 2 * w2 * w * kk + 2 * h2 * h * kk + h2 * w2 + n2 * n * kk + n2


def count_parameters(features: Sequence[Sequence[int]], kernel_sizes: Sequence[int]) -> int:
    """Number of parameters of a decoder with this schedule (no model needed)."""
    return sum(layer_parameter_count(features[i], features[i + 1], kernel_sizes[i]) for i in range(len(kernel_sizes)))


class HyperConvGenerator(nn.Module):
    """Top-level module; its state dict is exactly ``decoder.layers.{i}.*``."""

    def __init__(self, config: Union[DecoderConfig, dict]):
        super().__init__()
        if isinstance(config, dict):
            config = DecoderConfig.from_dict(config)
        self.config = config
        self.decoder = HyperConvDecoder(config.features, config.kernel_sizes, config.layer_norm_eps)

    def forward(self, condition: torch.Tensor, return_layers: bool = False):
        return self.decoder(condition, return_layers=return_layers)

    def num_parameters(self) -> int:
        return self.decoder.num_parameters()


def save_generator(
    out_dir: str,
    model: HyperConvGenerator,
    manifest: dict,
    token_mean: Optional[torch.Tensor] = None,
    token_std: Optional[torch.Tensor] = None,
    dtype: torch.dtype = torch.float16,
    extra_tensors: Optional[Dict[str, torch.Tensor]] = None,
) -> None:
    """Write ``generator.safetensors`` + ``generator.json`` into ``out_dir``.

    The manifest's ``decoder`` section is overwritten from the model's config. ``tokens.mean`` /
    ``tokens.std`` are stored under the names the manifest gives (default ``tokens.mean`` /
    ``tokens.std``) in float32 regardless of ``dtype``.
    """
    from trainer.safetensors_io import save_file

    os.makedirs(out_dir, exist_ok=True)
    manifest = dict(manifest)
    manifest["decoder"] = model.config.to_dict()
    tensors: Dict[str, torch.Tensor] = {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items()}
    toks = manifest.get("tokens", {})
    if token_mean is not None:
        tensors[toks.get("mean", "tokens.mean")] = token_mean.detach().to("cpu", torch.float32).contiguous()
    if token_std is not None:
        tensors[toks.get("std", "tokens.std")] = token_std.detach().to("cpu", torch.float32).contiguous()
    for k, v in (extra_tensors or {}).items():
        tensors[k] = v
    save_file(tensors, os.path.join(out_dir, "generator.safetensors"), metadata={"format": "dnd-lora-generator"})
    with open(os.path.join(out_dir, "generator.json"), "w") as f:
        f.write(_dump_json(manifest) + "\n")


def _dump_json(obj) -> str:
    """Indented JSON with lists of plain numbers kept on one line (readable feature lists)."""
    import re

    text = json.dumps(obj, indent=2)
    return re.sub(r"\[\s*(-?[0-9.eE+-]+(?:,\s*-?[0-9.eE+-]+)*)\s*\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)


def load_generator(gen_dir: str, dtype: torch.dtype = torch.float32):
    """Load ``(model, manifest, tensors)`` from a directory holding generator.json + generator.safetensors."""
    from trainer.safetensors_io import load_file

    with open(os.path.join(gen_dir, "generator.json")) as f:
        manifest = json.load(f)
    tensors = load_file(os.path.join(gen_dir, "generator.safetensors"))
    model = HyperConvGenerator(DecoderConfig.from_dict(manifest["decoder"]))
    sd = {k: v.to(dtype) for k, v in tensors.items() if k.startswith("decoder.")}
    model.load_state_dict(sd, strict=True)
    model.to(dtype)
    return model, manifest, tensors


def _main(argv=None) -> None:
    """``python -m trainer.generator.hyperconv --config decoder.json|generator.json``: schedule and parameter count."""
    import argparse

    ap = argparse.ArgumentParser(description="Print a decoder schedule's layers and parameter count")
    ap.add_argument("--config", required=True, help="JSON: a decoder section or a whole generator.json")
    args = ap.parse_args(argv)
    cfg = DecoderConfig.from_json(args.config)
    for i, k in enumerate(cfg.kernel_sizes):
        fi, fo = cfg.features[i], cfg.features[i + 1]
        kind = "residual" if fi == fo else "plain"
        print(f"layer {i}: {fi} -> {fo}  k={k}  {kind}  params={layer_parameter_count(fi, fo, k):,}")
    n = cfg.num_parameters()
    print(f"total parameters: {n:,} ({2 * n / 1e6:.2f} MB fp16, {4 * n / 1e6:.2f} MB fp32)")


if __name__ == "__main__":
    _main()
