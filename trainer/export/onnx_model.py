"""Export the base model (``models/base``) to ONNX for onnxruntime-web (WebGPU, and WASM without it).

    /usr/bin/python3 -m trainer.export.onnx_model --model models/base --out build/onnx \
        [--lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj | none] \
        [--lora-rank 8] [--fp16] [--opset 17]

Writes into ``--out``:

- ``model.onnx``       the decoder with the Hugging Face / Optimum decoder interface (KV cache);
- ``model_lora.onnx``  the same plus, per layer and target module, LoRA inputs ``lora.{l}.{m}.A``
                       (r x in) and ``lora.{l}.{m}.B`` (out x r) and ``lora_scale`` ([1], alpha / r;
                       0 gives the base model): y = x W^T + lora_scale * (x A^T) B^T;
- ``model_fp16.onnx`` / ``model_lora_fp16.onnx`` with ``--fp16`` (fp16 weights, KV cache and LoRA
  inputs; RMSNorm statistics and softmax in fp32; logits fp32);
- ``encoder.onnx``     (unless ``--no-encoder``) the prompt-condition encoder of trainer/generator/conditions.py:
                       ``input_ids``, ``attention_mask`` (int64 [batch, seq], right padding) ->
                       ``last_hidden_state`` (float32 [batch, seq, hidden], the final-norm hidden
                       states, 0 at padding); fp32, no KV cache, no LM head;
- ``export.json``      config, every decoder file's inputs/outputs/ops (``files``; the encoder's under
                       ``encoder``), LoRA layout, source hash, versions.

The graph is written out by this module's own wrapper (``ExportDecoder``), which reads the weights of
``trainer.base.model.LlamaLM`` and recomputes its forward pass with a KV cache, an attention mask and
position ids; ``trainer/tests/test_export_onnx.py`` checks it against ``LlamaLM`` itself and
``test/onnx/export-parity.test.ts`` checks the ONNX files with onnxruntime. See docs/onnx-export.md.

Needs only torch (>= 1.13; the TorchScript exporter, no ``onnx`` package). fp16 on a CPU-only torch
1.13, which cannot run half-precision matmuls: the graph is traced in float64 and every float64 type
and tensor in the file is then rewritten to float16 (``relabel_double_to_half``), so that the fp32
islands (explicit casts in the wrapper) survive as real Cast nodes. ONNX files are build outputs:
never commit them.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from trainer.base.release import load_exported
from trainer.lora.tokens import DEFAULT_PARENTS
from trainer.base.model import LlamaLM

DEFAULT_OPSET = 17
# Target modules in config order (the order of the LoRA inputs inside one layer).
MODULE_PARENT = DEFAULT_PARENTS  # module -> self_attn | mlp, in the graph's input order
ALL_TARGETS = tuple(MODULE_PARENT)
DEFAULT_RANK = 8

# Operators the graph may contain: a subset of onnxruntime-web's WebGPU kernel table (read from the
# JSEP table of onnxruntime-web 1.31.0-dev's ort.all.mjs; its native WebGPU EP runs the exported
# graphs too, see test/onnx/export-parity-web.test.ts) plus the shape/data-movement operators ORT
# handles in its core (Shape, Reshape, Unsqueeze, ...). ``export()`` fails if torch emits anything
# else, so a torch upgrade cannot slip an unsupported operator into the browser build unnoticed.
WEBGPU_OPS = frozenset({
    "Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Cos", "Div", "Equal", "Expand",
    "Gather", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "MatMul", "Mul", "Neg", "Not",
    "Pow", "Range", "Reciprocal", "ReduceMean", "Reshape", "Shape", "Sigmoid", "Sin", "Slice",
    "Softmax", "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where", "Identity",
})

# Fill value of masked attention scores (the scores are fp32 there, also in the fp16 graph).
MASK_FILL = torch.finfo(torch.float32).min


def lora_shapes(cfg, rank: int) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """{module: ((r, in), (out, r))} for every supported target module."""
    h, i = cfg.hidden_size, cfg.intermediate_size
    q, kv = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    io = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
          "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}
    return {m: ((rank, fin), (fout, rank)) for m, (fin, fout) in io.items()}


def lora_input_names(num_layers: int, targets) -> list[str]:
    """LoRA input names in graph order: layers ascending, modules in config order, A then B."""
    targets = [m for m in ALL_TARGETS if m in set(targets)]
    return [f"lora.{l}.{m}.{ab}" for l in range(num_layers) for m in targets for ab in ("A", "B")]


def io_names(num_layers: int, targets=()) -> tuple[list[str], list[str]]:
    """(input names, output names) of the exported graph, in order."""
    inputs = ["input_ids", "attention_mask", "position_ids"]
    inputs += [f"past_key_values.{l}.{kv}" for l in range(num_layers) for kv in ("key", "value")]
    if targets:
        inputs += lora_input_names(num_layers, targets) + ["lora_scale"]
    outputs = ["logits"] + [f"present.{l}.{kv}" for l in range(num_layers) for kv in ("key", "value")]
    return inputs, outputs


def _rotate_half(x: torch.Tensor, half: int) -> torch.Tensor:
    # `half` is a Python int (head_dim // 2), so the slices are constants in the graph
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class ExportDecoder(nn.Module):
    """LlamaLM's forward pass with a KV cache, attention mask, position ids and optional LoRA inputs.

    ``forward(input_ids, attention_mask, position_ids, *past, *lora, lora_scale)`` with the inputs in
    the order of :func:`io_names`; returns ``(logits, *present)``. ``dtype`` is the compute dtype:
    float32, or float64 as the stand-in for float16 (see the module docstring). RMSNorm statistics,
    the attention softmax and the logits are float32 whatever ``dtype`` is.
    """

    def __init__(self, lm: LlamaLM, lora_targets=(), lora_rank: int = DEFAULT_RANK,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        cfg = lm.cfg
        self.cfg = cfg
        self.dtype = dtype
        unknown = set(lora_targets) - set(ALL_TARGETS)
        if unknown:
            raise ValueError(f"unknown LoRA target modules {sorted(unknown)}; known: {list(ALL_TARGETS)}")
        self.targets = [m for m in ALL_TARGETS if m in set(lora_targets)]
        self.rank = lora_rank
        L = cfg.num_hidden_layers

        def buf(name: str, t: torch.Tensor) -> None:
            self.register_buffer(name, t.detach().to(dtype).contiguous().clone())

        # Embedding table stored once, transposed (hidden, vocab): the token lookup is a Gather on
        # axis 1 and the (tied) LM head a plain MatMul, so the file holds a single copy.
        sd = lm.state_dict()
        buf("embed_t", sd["model.embed_tokens.weight"].t())
        if not cfg.tie_word_embeddings:
            buf("lm_head_t", sd["lm_head.weight"].t())
        buf("norm_w", sd["model.norm.weight"])
        for l in range(L):
            p = f"model.layers.{l}."
            buf(f"l{l}_in_norm", sd[p + "input_layernorm.weight"])
            buf(f"l{l}_post_norm", sd[p + "post_attention_layernorm.weight"])
            for m, parent in MODULE_PARENT.items():
                buf(f"l{l}_{m}_wt", sd[f"{p}{parent}.{m}.weight"].t())  # (in, out)
        # RoPE tables (max_position_embeddings, head_dim), indexed by position_ids with a Gather.
        hd = cfg.head_dim
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        pos = torch.arange(cfg.max_position_embeddings, dtype=torch.float32)
        emb = torch.cat([torch.outer(pos, inv_freq)] * 2, dim=-1)
        buf("rope_cos", emb.cos())
        buf("rope_sin", emb.sin())

    # -- pieces ---------------------------------------------------------------------------------
    def _cast(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        # only real conversions: a same-type .to() would still be traced as a Cast node
        return x if x.dtype == dtype else x.to(dtype)

    def _rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = self._cast(x, torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.cfg.rms_norm_eps)
        return w * self._cast(h, self.dtype)

    def _linear(self, x, l: int, m: str, lora: dict, scale):
        y = torch.matmul(x, getattr(self, f"l{l}_{m}_wt"))
        ab = lora.get((l, m))
        if ab is not None:
            a, b = ab
            y = y + torch.matmul(torch.matmul(x, a.t()) * scale, b.t())
        return y

    def forward(self, input_ids, attention_mask, position_ids, *rest):
        x, presents = self.trunk(input_ids, attention_mask, position_ids, *rest)
        head = self.embed_t if self.cfg.tie_word_embeddings else self.lm_head_t
        logits = self._cast(torch.matmul(x, head), torch.float32)
        return (logits, *presents)

    def trunk(self, input_ids, attention_mask, position_ids, *rest, use_past: bool = True):
        """The final-norm hidden states (b, s, hidden) and the presents; ``use_past=False``: no
        past inputs in ``rest`` (an empty cache, no Concat in the graph)."""
        cfg = self.cfg
        L, H, KV, hd = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        rep = H // KV
        if not use_past:
            rest = (None,) * (2 * L) + tuple(rest)
        past = rest[: 2 * L]
        lora: dict = {}
        scale = None
        if self.targets:
            flat = rest[2 * L: 2 * L + 2 * L * len(self.targets)]
            k = 0
            for l in range(L):
                for m in self.targets:
                    lora[(l, m)] = (flat[k], flat[k + 1])
                    k += 2
            scale = rest[-1]
        b, s = input_ids.shape[0], input_ids.shape[1]

        # Token embeddings: Gather along the vocab axis of the transposed table.
        x = torch.index_select(self.embed_t, 1, input_ids.reshape(-1)).t().reshape(b, s, cfg.hidden_size)

        # RoPE for these positions: (b, 1, s, hd).
        cos = F.embedding(position_ids, self.rope_cos).unsqueeze(1)
        sin = F.embedding(position_ids, self.rope_sin).unsqueeze(1)

        # Mask (b, 1, 1, s, T), shared by all layers: key j is visible to query i iff
        # j <= past_len + i (causal, by index) and attention_mask[b, j] != 0 (padding).
        total = attention_mask.shape[1]
        past_len = total - s
        q_idx = torch.arange(s, dtype=torch.int64).unsqueeze(1) + past_len
        k_idx = torch.arange(total, dtype=torch.int64).unsqueeze(0)
        causal = (k_idx <= q_idx).to(torch.float32)                      # (s, T)
        keep = attention_mask.to(torch.float32)[:, None, None, None, :]  # (b, 1, 1, 1, T)
        visible = (causal * keep) > 0.5                                  # (b, 1, 1, s, T)

        q_scale = 1.0 / math.sqrt(hd)
        presents = []
        for l in range(L):
            h = self._rms(x, getattr(self, f"l{l}_in_norm"))
            q = self._linear(h, l, "q_proj", lora, scale).reshape(b, s, H, hd).transpose(1, 2)
            k = self._linear(h, l, "k_proj", lora, scale).reshape(b, s, KV, hd).transpose(1, 2)
            v = self._linear(h, l, "v_proj", lora, scale).reshape(b, s, KV, hd).transpose(1, 2)
            q = q * cos + _rotate_half(q, hd // 2) * sin
            k = k * cos + _rotate_half(k, hd // 2) * sin
            if past[2 * l] is not None:
                k = torch.cat([past[2 * l], k], dim=2)      # (b, KV, T, hd)
                v = torch.cat([past[2 * l + 1], v], dim=2)
            presents += [k, v]
            # Grouped-query attention without repeating K/V: the `rep` query heads that share a
            # KV head are stacked along the query axis. Heads h = g * rep + r (repeat_interleave).
            qg = (q * q_scale).reshape(b, KV, rep * s, hd)
            att = self._cast(torch.matmul(qg, k.transpose(2, 3)), torch.float32)  # (b, KV, rep*s, T)
            att = att.reshape(b, KV, rep, s, total)
            att = torch.where(visible, att, torch.tensor(MASK_FILL, dtype=torch.float32))
            att = self._cast(torch.softmax(att, dim=-1), self.dtype).reshape(b, KV, rep * s, total)
            y = torch.matmul(att, v).reshape(b, H, s, hd).transpose(1, 2).reshape(b, s, H * hd)
            x = x + self._linear(y, l, "o_proj", lora, scale)
            h = self._rms(x, getattr(self, f"l{l}_post_norm"))
            g = self._linear(h, l, "gate_proj", lora, scale)
            u = self._linear(h, l, "up_proj", lora, scale)
            x = x + self._linear(g * torch.sigmoid(g) * u, l, "down_proj", lora, scale)
        return self._rms(x, self.norm_w), presents

    # -- example inputs -------------------------------------------------------------------------
    def example_inputs(self, batch: int = 2, seq: int = 3, past: int = 2) -> tuple:
        cfg = self.cfg
        ids = torch.randint(0, cfg.vocab_size, (batch, seq), dtype=torch.int64)
        mask = torch.ones(batch, past + seq, dtype=torch.int64)
        pos = torch.arange(past, past + seq, dtype=torch.int64).unsqueeze(0).repeat(batch, 1)
        kv = [torch.zeros(batch, cfg.num_key_value_heads, past, cfg.head_dim, dtype=self.dtype)
              for _ in range(2 * cfg.num_hidden_layers)]
        extra = []
        if self.targets:
            shapes = lora_shapes(cfg, self.rank)
            for _l in range(cfg.num_hidden_layers):
                for m in self.targets:
                    extra += [torch.zeros(shapes[m][0], dtype=self.dtype),
                              torch.zeros(shapes[m][1], dtype=self.dtype)]
            extra.append(torch.zeros(1, dtype=self.dtype))
        return (ids, mask, pos, *kv, *extra)


ENCODER_INPUTS = ["input_ids", "attention_mask"]
ENCODER_OUTPUTS = ["last_hidden_state"]


class ExportEncoder(nn.Module):
    """The prompt-condition encoder of trainer/generator/conditions.py (layer -1, no pooling) as a graph:
    ``forward(input_ids, attention_mask) -> last_hidden_state`` (b, s, hidden) float32, the final
    RMSNorm output of one causal forward (no KV cache, positions 0..s-1), times the mask, so padded
    rows are 0 as in ``conditions.encode_ids``. Rows must be right-padded (positions count from the
    first column); real tokens never see padding (causal attention), so a padded row's real states
    equal the unpadded ones. Same weights and arithmetic as :class:`ExportDecoder` in float32."""

    def __init__(self, lm: LlamaLM):
        super().__init__()
        self.dec = ExportDecoder(lm, (), dtype=torch.float32)

    def forward(self, input_ids, attention_mask):
        b, s = input_ids.shape[0], input_ids.shape[1]
        pos = torch.arange(s, dtype=torch.int64).unsqueeze(0).expand(b, s)
        x, _ = self.dec.trunk(input_ids, attention_mask, pos, use_past=False)
        return x * attention_mask.to(torch.float32).unsqueeze(-1)

    def example_inputs(self, batch: int = 2, seq: int = 3) -> tuple:
        ids = torch.randint(0, self.dec.cfg.vocab_size, (batch, seq), dtype=torch.int64)
        mask = torch.ones(batch, seq, dtype=torch.int64)
        mask[1, -1] = 0
        return ids, mask


ENCODER_AXES = {
    "input_ids": {0: "batch_size", 1: "sequence_length"},
    "attention_mask": {0: "batch_size", 1: "sequence_length"},
    "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
}


def dynamic_axes(num_layers: int, targets=()) -> dict:
    axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for l in range(num_layers):
        for kv in ("key", "value"):
            axes[f"past_key_values.{l}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            axes[f"present.{l}.{kv}"] = {0: "batch_size", 2: "total_sequence_length"}
    return axes


# ---------------------------------------------------------------------------------------------
# A small protobuf reader/rewriter for ModelProto (no `onnx` package): enough to list a graph's
# inputs, outputs and operators, and to relabel float64 as float16.

_ELEM = {1: "float32", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64"}
FLOAT, FLOAT16, DOUBLE = 1, 10, 11


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _write_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_parse(buf: bytes) -> list[list]:
    """A message as a list of [field, wire_type, value] (varint: int, else bytes), in file order."""
    out, i, n = [], 0, len(buf)
    while i < n:
        key, i = _read_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            value, i = _read_varint(buf, i)
        elif wt == 1:
            value, i = buf[i:i + 8], i + 8
        elif wt == 2:
            length, i = _read_varint(buf, i)
            value, i = buf[i:i + length], i + length
        elif wt == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wt} is not supported")
        out.append([field, wt, value])
    return out


def pb_write(fields: list[list]) -> bytes:
    parts = []
    for field, wt, value in fields:
        parts.append(_write_varint((field << 3) | wt))
        if wt == 0:
            parts.append(_write_varint(value))
        elif wt == 2:
            parts.append(_write_varint(len(value)))
            parts.append(value)
        else:
            parts.append(value)
    return b"".join(parts)


def _strings(fields, number) -> list[str]:
    return [v.decode("utf-8") for f, wt, v in fields if f == number and wt == 2]


def _value_info(buf: bytes) -> dict:
    """ValueInfoProto -> {name, dtype, shape} (shape entries: int or symbolic name)."""
    f = pb_parse(buf)
    name = _strings(f, 1)[0]
    dtype, shape = None, []
    for field, _, type_buf in f:
        if field != 2:
            continue
        for tf, _, tensor_buf in pb_parse(type_buf):
            if tf != 1:  # tensor_type
                continue
            for ttf, _, v in pb_parse(tensor_buf):
                if ttf == 1:
                    dtype = _ELEM.get(v, str(v))
                elif ttf == 2:
                    for df, _, dim_buf in pb_parse(v):
                        if df != 1:
                            continue
                        dim = pb_parse(dim_buf)
                        vals = [x for fx, _, x in dim if fx == 1]
                        params = [x.decode() for fx, _, x in dim if fx == 2]
                        shape.append(vals[0] if vals else (params[0] if params else "?"))
    return {"name": name, "dtype": dtype, "shape": shape}


def read_graph_summary(path) -> dict:
    """Inputs, outputs, operator counts, initializer count and opset of an ONNX file."""
    model = pb_parse(Path(path).read_bytes())
    graph = next(v for f, wt, v in model if f == 7)
    opsets = {}
    for f, wt, v in model:
        if f == 8:
            o = pb_parse(v)
            domain = (_strings(o, 1) or [""])[0] or "ai.onnx"
            opsets[domain] = next((x for fx, _, x in o if fx == 2), None)
    g = pb_parse(graph)
    ops: dict[str, int] = {}
    for f, wt, v in g:
        if f == 1:
            node = pb_parse(v)
            op = _strings(node, 4)[0]
            domain = (_strings(node, 7) or [""])[0]
            key = f"{domain}.{op}" if domain else op
            ops[key] = ops.get(key, 0) + 1
    inits = [pb_parse(v) for f, wt, v in g if f == 5]
    init_dtypes: dict[str, int] = {}
    for t in inits:
        dt = _ELEM.get(next((x for fx, _, x in t if fx == 2), 0), "?")
        init_dtypes[dt] = init_dtypes.get(dt, 0) + 1
    return {
        "inputs": [_value_info(v) for f, wt, v in g if f == 11],
        "outputs": [_value_info(v) for f, wt, v in g if f == 12],
        "ops": dict(sorted(ops.items())),
        "initializers": len(inits),
        "initializer_dtypes": init_dtypes,
        "opset": opsets,
    }


def _relabel_tensor(buf: bytes) -> bytes:
    """TensorProto: float64 data -> float16 raw data (other dtypes unchanged)."""
    f = pb_parse(buf)
    dtype = next((v for fx, wt, v in f if fx == 2), 0)
    if dtype != DOUBLE:
        return buf
    raw = [v for fx, wt, v in f if fx == 9]
    if raw:
        data = np.frombuffer(raw[0], dtype="<f8")
    else:  # double_data, packed or not
        chunks = [v if wt == 2 else v for fx, wt, v in f if fx == 10]
        data = np.frombuffer(b"".join(chunks), dtype="<f8")
    finite = data[np.isfinite(data)]
    if finite.size and np.abs(finite).max() > 65504.0:
        raise ValueError("a float64 constant does not fit in float16 (|x| > 65504)")
    half = data.astype("<f2").tobytes()
    out = []
    for fx, wt, v in f:
        if fx == 2:
            out.append([2, 0, FLOAT16])
        elif fx in (9, 10):
            continue
        else:
            out.append([fx, wt, v])
    out.append([9, 2, half])
    return pb_write(out)


def _relabel_type(buf: bytes) -> bytes:
    """TypeProto: tensor elem_type float64 -> float16."""
    out = []
    for fx, wt, v in pb_parse(buf):
        if fx == 1 and wt == 2:  # tensor_type
            tensor = [[tf, twt, FLOAT16 if (tf == 1 and tv == DOUBLE) else tv]
                      for tf, twt, tv in pb_parse(v)]
            v = pb_write(tensor)
        out.append([fx, wt, v])
    return pb_write(out)


def _relabel_value_info(buf: bytes) -> bytes:
    return pb_write([[fx, wt, _relabel_type(v) if fx == 2 else v] for fx, wt, v in pb_parse(buf)])


def _relabel_attribute(buf: bytes) -> bytes:
    f = pb_parse(buf)
    name = (_strings(f, 1) or [""])[0]
    out = []
    for fx, wt, v in f:
        if fx == 3 and name in ("to", "dtype") and v == DOUBLE:
            v = FLOAT16
        elif fx == 5:  # t
            v = _relabel_tensor(v)
        elif fx == 10:  # tensors
            v = _relabel_tensor(v)
        elif fx in (6, 11):  # g / graphs (not used by our graph, relabelled for completeness)
            v = _relabel_graph(v)
        out.append([fx, wt, v])
    return pb_write(out)


def _relabel_node(buf: bytes) -> bytes:
    return pb_write([[fx, wt, _relabel_attribute(v) if fx == 5 else v] for fx, wt, v in pb_parse(buf)])


def _relabel_graph(buf: bytes) -> bytes:
    handlers = {1: _relabel_node, 5: _relabel_tensor, 11: _relabel_value_info,
                12: _relabel_value_info, 13: _relabel_value_info}
    return pb_write([[fx, wt, handlers[fx](v) if fx in handlers else v] for fx, wt, v in pb_parse(buf)])


def relabel_double_to_half(src, dst) -> None:
    """Rewrite an ONNX file so every float64 tensor, type and cast target becomes float16."""
    model = pb_parse(Path(src).read_bytes())
    out = [[fx, wt, _relabel_graph(v) if fx == 7 else v] for fx, wt, v in model]
    tmp = str(dst) + ".tmp"
    Path(tmp).write_bytes(pb_write(out))
    os.replace(tmp, dst)


# ---------------------------------------------------------------------------------------------

def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _torch_export(module: nn.Module, args: tuple, path: Path, inputs, outputs, axes, opset: int,
                  constant_folding: bool = True, custom_opsets: dict | None = None) -> None:
    kwargs = dict(input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=opset,
                  do_constant_folding=constant_folding, export_params=True, custom_opsets=custom_opsets or {})
    # torch >= 2.5 also has the dynamo exporter (needs onnxscript); ask for the TorchScript one.
    try:
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False
    except (TypeError, ValueError):  # pragma: no cover
        pass
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python ints taken from tensor shapes; the graph keeps them
        # symbolic (Shape -> Gather), which the ONNX Runtime tests exercise with other shapes.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), **kwargs)


def _check_summary(path: Path, inputs, outputs) -> dict:
    summary = read_graph_summary(path)
    got_in = [x["name"] for x in summary["inputs"]]
    got_out = [x["name"] for x in summary["outputs"]]
    if got_in != inputs or got_out != outputs:
        raise RuntimeError(f"{path.name}: exported I/O names differ from the interface:\n"
                           f"inputs {got_in}\noutputs {got_out}")
    bad = sorted(set(summary["ops"]) - WEBGPU_OPS)
    if bad:
        raise RuntimeError(f"{path.name}: operators outside the WebGPU-supported set: {bad}")
    size = path.stat().st_size
    if size >= 2 ** 31:
        raise RuntimeError(f"{path.name}: {size} bytes; weights must move to external data")
    return summary


def export(model_dir, out_dir, lora_targets=ALL_TARGETS, lora_rank: int = DEFAULT_RANK,
           fp16: bool = False, opset: int = DEFAULT_OPSET, log=print, encoder: bool = True) -> dict:
    """Export ``model_dir`` into ``out_dir``; returns (and writes) the ``export.json`` sidecar."""
    model_dir, out = Path(model_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    hf_cfg = json.loads((model_dir / "config.json").read_text())
    L = cfg.num_hidden_layers
    unknown = sorted(set(lora_targets) - set(ALL_TARGETS))
    if unknown:
        raise ValueError(f"unknown LoRA target modules {unknown}; known: {list(ALL_TARGETS)}")
    targets = [m for m in ALL_TARGETS if m in set(lora_targets)]
    # no stale variant from an earlier run beside this run's files
    for stale in ("model", "model_lora", "model_fp16", "model_lora_fp16", "encoder"):
        (out / f"{stale}.onnx").unlink(missing_ok=True)

    variants = [("model", (), torch.float32)]
    if targets:
        variants.append(("model_lora", targets, torch.float32))
    if fp16:
        variants += [(name + "_fp16", t, torch.float64) for name, t, _ in variants]

    files = {}
    for name, tg, dtype in variants:
        t0 = time.time()
        wrapper = ExportDecoder(lm, tg, lora_rank, dtype).eval()
        inputs, outputs = io_names(L, tg)
        path = out / f"{name}.onnx"
        traced = path.with_suffix(".f64.onnx") if dtype == torch.float64 else path
        torch.manual_seed(0)
        _torch_export(wrapper, wrapper.example_inputs(), traced, inputs, outputs, dynamic_axes(L, tg), opset)
        if dtype == torch.float64:
            relabel_double_to_half(traced, path)
            traced.unlink()
        summary = _check_summary(path, inputs, outputs)
        size = path.stat().st_size
        files[path.name] = {
            "weights": "float16" if dtype == torch.float64 else "float32",
            "lora": bool(tg),
            "bytes": size,
            "seconds": round(time.time() - t0, 2),
            **summary,
        }
        log(f"{path.name}: {size / 1e6:.1f} MB, {sum(summary['ops'].values())} nodes, "
            f"{time.time() - t0:.1f} s")

    encoder_entry = None
    if encoder:
        t0 = time.time()
        path = out / "encoder.onnx"
        wrapper = ExportEncoder(lm).eval()
        torch.manual_seed(0)
        _torch_export(wrapper, wrapper.example_inputs(), path, ENCODER_INPUTS, ENCODER_OUTPUTS, ENCODER_AXES, opset)
        summary = _check_summary(path, ENCODER_INPUTS, ENCODER_OUTPUTS)
        size = path.stat().st_size
        # its own sidecar entry, not in "files" (which lists the decoder variants)
        encoder_entry = {"weights": "float32", "bytes": size, "seconds": round(time.time() - t0, 2), **summary}
        log(f"{path.name}: {size / 1e6:.1f} MB, {sum(summary['ops'].values())} nodes, "
            f"{time.time() - t0:.1f} s")

    shapes = lora_shapes(cfg, lora_rank)
    sidecar = {
        "format": "dragdrop-lora/onnx-export",
        "version": 1,
        "config": {**hf_cfg, "head_dim": cfg.head_dim},
        "files": files,
        "interface": {
            "input_ids": "int64 [batch_size, sequence_length]",
            "attention_mask": "int64 [batch_size, total_sequence_length]; 1 = token, 0 = padding",
            "position_ids": "int64 [batch_size, sequence_length]; < max_position_embeddings",
            "past_key_values.{l}.key|value": "float [batch_size, num_key_value_heads, "
                                              "past_sequence_length, head_dim] (RoPE applied to keys)",
            "logits": "float32 [batch_size, sequence_length, vocab_size]",
            "present.{l}.key|value": "float [batch_size, num_key_value_heads, "
                                     "total_sequence_length, head_dim]",
            "total_sequence_length": "past_sequence_length + sequence_length",
        },
        "lora": {
            "targets": targets,
            "rank": lora_rank,
            "inputs_order": "layers ascending, modules in config order, A then B; then lora_scale",
            "shapes": {m: {"A": list(shapes[m][0]), "B": list(shapes[m][1])} for m in targets},
            "formula": "y = x W^T + lora_scale * (x A^T) B^T; lora_scale = lora_alpha / r, 0 = base",
            "peft_names": "base_model.model.model.layers.{l}.{self_attn|mlp}.{m}.lora_{A|B}.weight",
        },
        "source": {
            "model_dir": str(model_dir),
            "model_safetensors_sha256": sha256_file(model_dir / "model.safetensors"),
            "config_sha256": sha256_file(model_dir / "config.json"),
        },
        "encoder": {
            "file": "encoder.onnx" if encoder else None,
            "summary": encoder_entry,
            "interface": {"input_ids": "int64 [batch_size, sequence_length]",
                       "attention_mask": "int64 [batch_size, sequence_length]; 1 = token, 0 = padding "
                                         "(right padding only: positions are 0..sequence_length-1)",
                          "last_hidden_state": "float32 [batch_size, sequence_length, hidden_size]: final "
                                               "RMSNorm output (trainer/generator/conditions.py layer -1), 0 where "
                                               "attention_mask is 0"},
        },
        "torch_version": torch.__version__,
        "opset": opset,
        "seconds": round(time.time() - t_start, 2),
    }
    (out / "export.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="models/base", help="directory with config.json + model.safetensors")
    p.add_argument("--out", default="build/onnx", help="output directory")
    p.add_argument("--lora-targets", default=",".join(ALL_TARGETS),
                   help="comma-separated target modules of model_lora.onnx, or 'none' for no LoRA file")
    p.add_argument("--lora-rank", type=int, default=DEFAULT_RANK)
    p.add_argument("--fp16", action="store_true", help="also write the fp16-weight variants")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    p.add_argument("--no-encoder", action="store_true",
                   help="do not write encoder.onnx (the prompt-condition encoder, final-norm hidden states)")


def run(args) -> int:
    targets = [] if args.lora_targets.strip().lower() in ("", "none") else \
        [m.strip() for m in args.lora_targets.split(",") if m.strip()]
    try:
        sidecar = export(args.model, args.out, targets, args.lora_rank, args.fp16, args.opset,
                         encoder=not args.no_encoder)
    except (ValueError, FileNotFoundError) as e:
        print(f"export_onnx: {e}", file=sys.stderr)
        return 2
    n = len(sidecar['files']) + (1 if sidecar['encoder']['file'] else 0)
    print(f"wrote {n} ONNX files + export.json to {args.out} "
          f"in {sidecar['seconds']:.1f} s")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.export.onnx_model", description=__doc__.split("\n\n")[0])
    add_args(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
