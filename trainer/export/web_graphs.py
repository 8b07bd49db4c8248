"""Web graphs: small ONNX files whose weights are ``model.safetensors`` itself.

    /usr/bin/python3 -m trainer web-graphs --model models/base          # writes into models/base
    /usr/bin/python3 -m trainer web-graphs --model models/base --check  # only checks them

Every weight of these graphs is *external data*: a reference into ``model.safetensors`` at the
byte offset where the safetensors header puts that tensor, in the dtype it is stored in (fp16). The
browser downloads the weights once, in fp16, and hands the same bytes to the session
(onnxruntime-web's ``externalData`` option); the graph files hold no weights (about 60 KB each) and
are committed beside it, in the model folder: ONNX resolves external data relative to the graph
file, so onnxruntime in Node, Python or C++ loads them there as they are. ``check_graphs`` (and
test/onnx/graphs.test.ts in Node) verifies them against the committed weights and config.

Files written to ``--out`` (default: the model folder):

- ``decoder.onnx``          fp32 compute. Each fp16 weight is Cast to float32 where it is read, a
                            Cast of a constant that onnxruntime folds when the session starts: the
                            runtime holds fp32 weights and runs on any backend (WASM, WebGPU without
                            ``shader-f16``). The cast happens on the device, not on the wire.
- ``decoder_lora.onnx``     the same plus LoRA inputs, grouped (``lora_groups``).
- ``decoder_f16.onnx`` / ``decoder_lora_f16.onnx``  fp16 compute (fp16 KV cache; RMSNorm
                            statistics and logits fp32; LoRA inputs stay float32 and are cast inside),
                            for WebGPU adapters with ``shader-f16``.
- ``graphs.json``           config, the weights file (sha256, bytes), each graph's sha256, inputs,
                            outputs, operators and external tensors (name, offset, length, shape,
                            dtype), and the LoRA groups.

Interface (all four graphs):

    inputs   input_ids       int64 [batch, seq]
             attention_mask  int64 [batch, past + seq]   1 = token, 0 = padding; RIGHT padding only
             past_key_values.{l}.key|value   float [batch, kv_heads, past, head_dim] (float16 in _f16)
             lora.{l}.{group}.A|B            float32, LoRA graphs only (``lora_groups``)
    outputs  logits          float32 [batch, 1, vocab]   the last position's logits
             present.{l}.key|value           like the past, [batch, kv_heads, past + seq, head_dim]
             last_hidden_state  float32 [batch, seq, hidden]: the final RMSNorm output of every
                             position, the generator's prompt condition (trainer/generator/conditions.py,
                             layer -1), so one session serves decoding and prompt encoding.

Positions are implied by the mask (there is no position_ids input): 0..seq-1 for a first step with
an empty past (a batch of right-padded prompts: real tokens never see padding, so their rows equal
each prompt's own forward), then one new token per step at position ``past``. Left padding is not
supported; the runtime decodes one sequence at a time. trainer/export/onnx_model.py's files keep the
Hugging Face interface (left padding, position ids) for transformers.js and the older tests.

Graph shape, chosen for the cost of one decode step in onnxruntime-web (docs/onnx-export.md, "Web
graphs"): activations 2-D [tokens, hidden]; q/k/v and gate/up one ``Gemm`` each over concatenated
weights (a Concat of constants, folded at session start); every linear layer a ``Gemm`` with
``transB = 1`` on the weight as stored; attention one ``com.microsoft.GroupQueryAttention`` per
layer (RoPE, KV-cache append, grouped heads, causal softmax); RoPE tables computed from 32
constants in the graph (folded too); only the last position through the LM head.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

from trainer.base.model import LlamaLM
from trainer.base.release import load_exported
from trainer.export.onnx_model import (DEFAULT_OPSET, DOUBLE, FLOAT, FLOAT16, _read_varint, _torch_export, pb_parse,
                                       pb_write, read_graph_summary, relabel_double_to_half, sha256_file)

WEIGHTS_FILE = "model.safetensors"
SIDECAR = "graphs.json"
DEFAULT_RANK = 8
# an initializer larger than this that is not a tensor of the weights file is an export error
MAX_INLINE_BYTES = 4096

# LoRA inputs grouped by the activation they read: per layer and group one A (g*r, in), the
# modules' PEFT A stacked, and one B (sum of outs, g*r), block-diagonal in their PEFT B times the
# adapter's scale; y = x W^T + (x A^T) B^T is then two Gemms per group, whatever its module count.
LORA_GROUPS = (("qkv", ("q_proj", "k_proj", "v_proj")), ("o", ("o_proj",)),
               ("gate_up", ("gate_proj", "up_proj")), ("down", ("down_proj",)))

# What a web graph may contain: operators of onnxruntime-web's WASM (CPU) kernels and of its WebGPU
# execution provider alike (the parity tests run the graphs on both).
WEB_OPS = frozenset({
    "Add", "Cast", "Concat", "Constant", "Cos", "Gather", "Gemm", "Mul", "Pow", "Range", "ReduceMean",
    "ReduceSum", "Reshape", "Shape", "Sigmoid", "Sin", "Slice", "Split", "Sqrt", "Sub", "Div",
    "Unsqueeze", "com.microsoft.GroupQueryAttention",
})

VARIANTS = (("decoder", False, "float32"), ("decoder_lora", True, "float32"),
            ("decoder_f16", False, "float16"), ("decoder_lora_f16", True, "float16"))


def module_dims(cfg) -> dict[str, tuple[int, int]]:
    """{module: (in, out)} of the seven linear layers of a decoder layer."""
    h, i = cfg.hidden_size, cfg.intermediate_size
    q, kv = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}


def lora_groups(cfg, rank: int = DEFAULT_RANK) -> list[dict]:
    """Per group: name, modules, A shape (g*r, in), B shape (sum of outs, g*r), and where each
    module's matrices go: A rows ``a_row..a_row+r`` and the B block at (``b_row``, ``b_col``)."""
    dims = module_dims(cfg)
    out = []
    for name, modules in LORA_GROUPS:
        rows, blocks = 0, []
        for j, m in enumerate(modules):
            blocks.append({"module": m, "a_row": j * rank, "b_row": rows, "b_col": j * rank,
                           "in": dims[m][0], "out": dims[m][1]})
            rows += dims[m][1]
        out.append({"name": name, "modules": list(modules), "A": [len(modules) * rank, dims[modules[0]][0]],
                    "B": [rows, len(modules) * rank], "blocks": blocks})
    return out


def pack_lora(cfg, peft: dict, scale: float, rank: int = DEFAULT_RANK) -> list[torch.Tensor]:
    """PEFT tensors (PEFT names, ``lora_tokens.peft_name``; any rank <= ``rank``) -> the graph's LoRA
    inputs in order, float32; modules the adapter lacks stay zero (as the runtime does it)."""
    from trainer.lora.tokens import DEFAULT_PARENTS, peft_name
    out = []
    for l in range(cfg.num_hidden_layers):
        for grp in lora_groups(cfg, rank):
            a = torch.zeros(grp["A"])
            b = torch.zeros(grp["B"])
            for blk in grp["blocks"]:
                m = blk["module"]
                ka, kb = (peft_name(l, DEFAULT_PARENTS[m], m, ab) for ab in ("A", "B"))
                if ka not in peft:
                    continue
                A, B = peft[ka].float(), peft[kb].float()
                r = A.shape[0]
                a[blk["a_row"]: blk["a_row"] + r] = A
                b[blk["b_row"]: blk["b_row"] + blk["out"], blk["b_col"]: blk["b_col"] + r] = B * scale
            out += [a, b]
    return out


def lora_input_names(num_layers: int) -> list[str]:
    return [f"lora.{l}.{g}.{ab}" for l in range(num_layers) for g, _ in LORA_GROUPS for ab in ("A", "B")]


def io_names(num_layers: int, lora: bool) -> tuple[list[str], list[str]]:
    """(input names, output names) of a web graph, in order."""
    inputs = ["input_ids", "attention_mask"]
    inputs += [f"past_key_values.{l}.{kv}" for l in range(num_layers) for kv in ("key", "value")]
    if lora:
        inputs += lora_input_names(num_layers)
    outputs = ["logits"] + [f"present.{l}.{kv}" for l in range(num_layers) for kv in ("key", "value")]
    return inputs, outputs + ["last_hidden_state"]


def dynamic_axes(num_layers: int) -> dict:
    axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "logits": {0: "batch_size"},
        "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
    }
    for l in range(num_layers):
        for kv in ("key", "value"):
            axes[f"past_key_values.{l}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            axes[f"present.{l}.{kv}"] = {0: "batch_size", 2: "total_sequence_length"}
    return axes


# -- graph pieces that torch should write as exactly one ONNX node --------------------------------

class _LinearT(torch.autograd.Function):
    """x @ w.T as one ``Gemm(transB=1)``: the weight stays in its safetensors orientation."""

    @staticmethod
    def forward(ctx, x, w):  # noqa: D102
        return x @ w.t()

    @staticmethod
    def symbolic(g, x, w):  # noqa: D102
        return g.op("Gemm", x, w, transB_i=1)


class _LinearTAdd(torch.autograd.Function):
    """x @ w.T + c as one ``Gemm(transB=1)`` with input C (a LoRA's second half plus the base output)."""

    @staticmethod
    def forward(ctx, x, w, c):  # noqa: D102
        return x @ w.t() + c

    @staticmethod
    def symbolic(g, x, w, c):  # noqa: D102
        return g.op("Gemm", x, w, c, transB_i=1)


def _absent(g):
    """An omitted optional input (the empty name in ONNX)."""
    return g.op("prim::Constant").setType(torch._C.NoneType.get())


class _GroupQueryAttention(torch.autograd.Function):
    """onnxruntime's ``com.microsoft.GroupQueryAttention`` with packed q|k|v, RoPE (rotate-half,
    ``do_rotary``) and the KV-cache append inside, causal, right padding given by ``seqlens_k``;
    ``forward`` is the same computation in torch (what the tracer runs and the Python tests check).

    qkv (b, s, (H + 2 KV) hd); past k/v (b, KV, P, hd); seqlens_k int32 (b) = each row's total
    length - 1; total int32 (1) = P + s; cos/sin (max_positions, hd / 2). Positions 0..s-1 when
    P = 0, else seqlens_k (one new token). Returns (b, s, H hd) and the presents (b, KV, P + s, hd).
    """

    @staticmethod
    def forward(ctx, qkv, past_k, past_v, seqlens_k, total, cos, sin, heads: int, kv_heads: int):  # noqa: D102
        b, s = qkv.shape[0], qkv.shape[1]
        hd = cos.shape[1] * 2
        P = past_k.shape[2]
        if P > 0 and s != 1:
            raise ValueError("GroupQueryAttention: one new token per step after the first")
        x = qkv.reshape(b, s, heads + 2 * kv_heads, hd).transpose(1, 2)
        q, k, v = x[:, :heads], x[:, heads: heads + kv_heads], x[:, heads + kv_heads:]
        lengths = seqlens_k.to(torch.int64)
        pos = torch.arange(s).unsqueeze(0).expand(b, s) if P == 0 else lengths.unsqueeze(1)
        c = torch.cat([cos[pos], cos[pos]], -1).unsqueeze(1).to(qkv.dtype)  # (b, 1, s, hd)
        sn = torch.cat([sin[pos], sin[pos]], -1).unsqueeze(1).to(qkv.dtype)
        half = hd // 2

        def rope(t):
            return t * c + torch.cat((-t[..., half:], t[..., :half]), -1) * sn

        k = torch.cat([past_k, rope(k)], 2)
        v = torch.cat([past_v, v], 2)
        T = k.shape[2]
        rep = heads // kv_heads
        att = (rope(q) @ k.repeat_interleave(rep, 1).transpose(2, 3)).float() / math.sqrt(hd)
        qi = torch.arange(s).unsqueeze(1) + (T - s)
        kj = torch.arange(T).unsqueeze(0)
        visible = (kj <= qi).unsqueeze(0) & (kj.unsqueeze(0) <= lengths[:, None, None])  # (b, s, T)
        att = att.masked_fill(~visible.unsqueeze(1), torch.finfo(torch.float32).min)
        y = torch.softmax(att, -1).to(qkv.dtype) @ v.repeat_interleave(rep, 1)
        return y.transpose(1, 2).reshape(b, s, heads * hd), k, v

    @staticmethod
    def symbolic(g, qkv, past_k, past_v, seqlens_k, total, cos, sin, heads: int, kv_heads: int):  # noqa: D102
        return g.op("com.microsoft::GroupQueryAttention", qkv, _absent(g), _absent(g), past_k, past_v,
                    seqlens_k, total, cos, sin, num_heads_i=heads, kv_num_heads_i=kv_heads, do_rotary_i=1,
                    rotary_interleaved_i=0, outputs=3)


class WebDecoder(nn.Module):
    """LlamaLM's forward with a KV cache, last-position logits, the final hidden states and optional
    grouped LoRA inputs, as the web graphs compute it (module docstring).

    The LM's parameters are used as they are (their dtype is the weights' dtype in the graph) and
    are registered under ``model`` so the initializers are named exactly as in model.safetensors.
    ``compute`` is float32, or float64 as the stand-in for float16 (trainer/export/onnx_model.py: torch
    1.13 cannot run fp16 matmuls on a CPU; the file is relabelled to fp16 after the export).
    """

    def __init__(self, lm: LlamaLM, lora: bool, rank: int = DEFAULT_RANK, compute: torch.dtype = torch.float32):
        super().__init__()
        if not lm.cfg.tie_word_embeddings:
            raise ValueError("web graphs expect tied embeddings (the LM head reads model.embed_tokens.weight)")
        self.model = lm.model
        self.cfg = lm.cfg
        self.lora = lora
        self.rank = rank
        self.compute = compute
        hd = self.cfg.head_dim
        self.register_buffer("inv_freq", 1.0 / (self.cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)),
                             persistent=False)

    def _c(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        # only real conversions: a same-type .to() would still be traced as a Cast node
        return x if x.dtype == dtype else x.to(dtype)

    def _w(self, t: torch.Tensor) -> torch.Tensor:
        return self._c(t, self.compute)

    def _rms(self, x, norm) -> torch.Tensor:
        h = self._c(x, torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.cfg.rms_norm_eps)
        return self._w(norm.weight) * self._c(h, self.compute)

    def _group(self, x, weights, ab):
        """One Gemm over the group's concatenated weights (compute dtype), plus its LoRA:
        u = x A^T, y += u B^T (A and B float32 inputs, cast to the compute dtype)."""
        w = weights[0] if len(weights) == 1 else torch.cat([self._w(t) for t in weights], 0)
        y = _LinearT.apply(x, self._w(w))
        if ab is not None:
            y = _LinearTAdd.apply(_LinearT.apply(x, self._w(ab[0])), self._w(ab[1]), y)
        return y

    def forward(self, input_ids, attention_mask, *rest):
        cfg = self.cfg
        L, H, KV, hd = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        C, I = cfg.hidden_size, cfg.intermediate_size
        past, lora = rest[: 2 * L], rest[2 * L:]
        b, s = input_ids.shape[0], input_ids.shape[1]

        embed = self._w(self.model.embed_tokens.weight)  # one Cast shared by the lookup and the tied LM head
        x = embed[input_ids.reshape(-1)]                 # (n, C), n = b * s

        seqlens_k = (attention_mask.sum(1) - 1).to(torch.int32)
        total = torch._shape_as_tensor(attention_mask)[1:2].to(torch.int32)
        # (max_positions, hd / 2): a constant table, which rope_table_as_nodes writes as 32 numbers
        angles = torch.arange(cfg.max_position_embeddings, dtype=torch.float32).unsqueeze(1) * self.inv_freq
        cos, sin = self._c(angles.cos(), self.compute), self._c(angles.sin(), self.compute)

        presents = []
        for l, layer in enumerate(self.model.layers):
            att, mlp = layer.self_attn, layer.mlp
            ab = [(lora[8 * l + 2 * j], lora[8 * l + 2 * j + 1]) for j in range(4)] if self.lora else [None] * 4
            h = self._rms(x, layer.input_layernorm)
            qkv = self._group(h, (att.q_proj.weight, att.k_proj.weight, att.v_proj.weight), ab[0])
            y, k, v = _GroupQueryAttention.apply(qkv.reshape(b, s, (H + 2 * KV) * hd), past[2 * l], past[2 * l + 1],
                                                 seqlens_k, total, cos, sin, H, KV)
            presents += [k, v]
            x = x + self._group(y.reshape(b * s, H * hd), (att.o_proj.weight,), ab[1])
            h = self._rms(x, layer.post_attention_layernorm)
            gu = self._group(h, (mlp.gate_proj.weight, mlp.up_proj.weight), ab[2])
            g, u = gu[:, :I], gu[:, I:]
            x = x + self._group(g * torch.sigmoid(g) * u, (mlp.down_proj.weight,), ab[3])
        h = self._rms(x, self.model.norm)                      # (n, C)
        last = h.reshape(b, s, C)[:, -1]                       # (b, C)
        logits = self._c(_LinearT.apply(last, embed), torch.float32).reshape(b, 1, cfg.vocab_size)
        return (logits, *presents, self._c(h, torch.float32).reshape(b, s, C))

    def example_inputs(self, batch: int = 2, seq: int = 3) -> tuple:
        """A first step (empty past): GroupQueryAttention takes one new token per later step, which
        the tracer need not see (the graph is the same)."""
        cfg = self.cfg
        ids = torch.randint(0, cfg.vocab_size, (batch, seq), dtype=torch.int64)
        mask = torch.ones(batch, seq, dtype=torch.int64)
        kv = [torch.zeros(batch, cfg.num_key_value_heads, 0, cfg.head_dim, dtype=self.compute)
              for _ in range(2 * cfg.num_hidden_layers)]
        extra = []
        if self.lora:
            for _l in range(cfg.num_hidden_layers):
                for grp in lora_groups(cfg, self.rank):
                    extra += [torch.zeros(grp["A"]), torch.zeros(grp["B"])]
        return (ids, mask, *kv, *extra)


# -- safetensors layout and the external-data rewrite ---------------------------------------------

_ST_DTYPE = {"F16": FLOAT16, "F32": FLOAT}


def safetensors_layout(path) -> dict:
    """{name: {dtype, shape, offset, length}} with offsets counted from the start of the file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    start = 8 + n
    return {name: {"dtype": info["dtype"], "shape": [int(d) for d in info["shape"]],
                   "offset": start + info["data_offsets"][0], "length": info["data_offsets"][1] - info["data_offsets"][0]}
            for name, info in header.items() if name != "__metadata__"}


def _varints(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        v, i = _read_varint(buf, i)
        out.append(v)
    return out


def read_tensor(buf: bytes) -> dict:
    """TensorProto -> name, dtype, dims, raw bytes (or None), external entries."""
    f = pb_parse(buf)
    dims = [v for fx, wt, v in f if fx == 1 and wt == 0] + [d for fx, wt, v in f if fx == 1 and wt == 2 for d in _varints(v)]
    external = {}
    for fx, wt, v in f:
        if fx == 13:
            kv = pb_parse(v)
            external[next(x.decode() for k, _, x in kv if k == 1)] = next(x.decode() for k, _, x in kv if k == 2)
    return {"name": next((v.decode() for fx, wt, v in f if fx == 8), ""), "dtype": next((v for fx, wt, v in f if fx == 2), 0),
            "dims": dims, "raw": next((v for fx, wt, v in f if fx == 9), None), "external": external,
            "location": next((v for fx, wt, v in f if fx == 14), 0)}


def _external_tensor(name: str, dtype: int, dims: list[int], offset: int, length: int) -> bytes:
    fields = [[1, 0, d] for d in dims] + [[2, 0, dtype], [8, 2, name.encode()]]
    for k, v in (("location", WEIGHTS_FILE), ("offset", str(offset)), ("length", str(length))):
        fields.append([13, 2, pb_write([[1, 2, k.encode()], [2, 2, v.encode()]])])
    fields.append([14, 0, 1])  # data_location = EXTERNAL
    return pb_write(fields)


def _tensor_proto(name: str, values: torch.Tensor) -> bytes:
    dtype = {torch.float32: FLOAT, torch.int64: 7}[values.dtype]
    fields = [[1, 0, d] for d in values.shape] + [[2, 0, dtype], [8, 2, name.encode()],
                                                   [9, 2, values.contiguous().numpy().tobytes()]]
    return pb_write(fields)


def _node(op: str, inputs: list[str], outputs: list[str], name: str, value: torch.Tensor | None = None) -> bytes:
    fields = [[1, 2, i.encode()] for i in inputs] + [[2, 2, o.encode()] for o in outputs]
    fields += [[3, 2, name.encode()], [4, 2, op.encode()]]
    if value is not None:  # Constant: attribute "value" (type TENSOR = 4)
        fields.append([5, 2, pb_write([[1, 2, b"value"], [5, 2, _tensor_proto("", value)], [20, 0, 4]])])
    return pb_write(fields)


def _rewrite_graph(path: Path, rewrite) -> None:
    """Replaces the ModelProto's graph by ``rewrite(graph bytes)``, atomically."""
    model = [[fx, wt, rewrite(v) if fx == 7 else v] for fx, wt, v in pb_parse(path.read_bytes())]
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pb_write(model))
    os.replace(tmp, path)


def _node_cast(inp: str, out: str, name: str, to: int) -> bytes:
    attr = pb_write([[1, 2, b"to"], [3, 0, to], [20, 0, 2]])  # INT attribute
    return pb_write([[1, 2, inp.encode()], [2, 2, out.encode()], [3, 2, name.encode()], [4, 2, b"Cast"], [5, 2, attr]])


def rope_table_as_nodes(path: Path, inv_freq: torch.Tensor, positions: int) -> int:
    """The tracer folds the RoPE tables (positions x hd/2 float32 angles, or their cos and sin; 128 KB
    each for the base model) into Constant nodes; rewrite each as Range -> Unsqueeze -> Mul over the
    32 inverse frequencies (-> Cos / Sin), which onnxruntime folds back when the session starts.
    Tables are recognised by shape and values, so nothing else is touched. Returns how many."""
    angles = torch.arange(positions, dtype=torch.float32).unsqueeze(1) * inv_freq.float()
    tables = {"": angles, "Cos": angles.cos(), "Sin": angles.sin()}
    count = 0

    def chain(p: str, out: str, fn: str, double: bool) -> list[bytes]:
        scalar = lambda x: torch.tensor(float(x))  # noqa: E731
        final = f"{p}/table" if double else out
        mul_out = f"{p}/angles" if fn else final
        nodes = [_node("Constant", [], [f"{p}/start"], f"{p}/c0", scalar(0)),
                 _node("Constant", [], [f"{p}/limit"], f"{p}/c1", scalar(positions)),
                 _node("Constant", [], [f"{p}/delta"], f"{p}/c2", scalar(1)),
                 _node("Range", [f"{p}/start", f"{p}/limit", f"{p}/delta"], [f"{p}/pos"], f"{p}/range"),
                 _node("Constant", [], [f"{p}/axes"], f"{p}/c3", torch.tensor([1])),
                 _node("Unsqueeze", [f"{p}/pos", f"{p}/axes"], [f"{p}/col"], f"{p}/unsqueeze"),
                 _node("Constant", [], [f"{p}/inv_freq"], f"{p}/c4", inv_freq.float()),
                 _node("Mul", [f"{p}/col", f"{p}/inv_freq"], [mul_out], f"{p}/mul")]
        if fn:
            nodes.append(_node(fn, [mul_out], [final], f"{p}/{fn.lower()}"))
        if double:  # the float64 stand-in of an fp16 graph (relabelled to fp16 afterwards)
            nodes.append(_node_cast(final, out, f"{p}/cast", DOUBLE))
        return nodes

    def rewrite(graph: bytes) -> bytes:
        nonlocal count
        out = []
        for fx, wt, v in pb_parse(graph):
            if fx == 1:
                node = pb_parse(v)
                if next((x for f, _, x in node if f == 4), b"") == b"Constant":
                    attr = pb_parse(next(x for f, _, x in node if f == 5))
                    t = read_tensor(next((x for f, _, x in attr if f == 5), b""))
                    if t["dims"] == list(angles.shape) and t["dtype"] in (FLOAT, DOUBLE) and t["raw"] is not None:
                        dt = torch.float32 if t["dtype"] == FLOAT else torch.float64
                        got = torch.frombuffer(bytearray(t["raw"]), dtype=dt).reshape(angles.shape).float()
                        fn = next((k for k, table in tables.items() if torch.allclose(got, table, atol=1e-5, rtol=0)), None)
                        if fn is not None:
                            o = next(x for f, _, x in node if f == 2).decode()
                            out += [[1, 2, n] for n in chain(f"/rope_table{count}", o, fn, t["dtype"] == DOUBLE)]
                            count += 1
                            continue
            out.append([fx, wt, v])
        return pb_write(out)

    _rewrite_graph(path, rewrite)
    return count


def externalize(path: Path, weights: Path) -> list[dict]:
    """Rewrites the ONNX file ``path`` so that every initializer named like a tensor of ``weights``
    becomes a reference into it, after checking that its dtype, shape and bytes are exactly the
    stored tensor's; any other initializer must be small. Returns the references, by offset."""
    layout = safetensors_layout(weights)
    blob = weights.read_bytes()
    refs: list[dict] = []

    def rewrite(graph: bytes) -> bytes:
        out = []
        for fx, wt, v in pb_parse(graph):
            if fx == 5:
                t = read_tensor(v)
                info = layout.get(t["name"])
                if info is None:
                    if len(v) > MAX_INLINE_BYTES:
                        raise RuntimeError(f"{path.name}: initializer {t['name']} ({len(v)} bytes) is not a tensor of {weights.name}")
                elif t["dtype"] != _ST_DTYPE.get(info["dtype"]) or t["dims"] != info["shape"]:
                    raise RuntimeError(f"{path.name}: {t['name']} has dtype {t['dtype']} shape {t['dims']}; "
                                       f"{weights.name} stores {info['dtype']} {info['shape']}")
                elif t["raw"] != blob[info["offset"]: info["offset"] + info["length"]]:
                    raise RuntimeError(f"{path.name}: the bytes of {t['name']} differ from {weights.name}")
                else:
                    v = _external_tensor(t["name"], t["dtype"], info["shape"], info["offset"], info["length"])
                    refs.append({"name": t["name"], **info})
            out.append([fx, wt, v])
        return pb_write(out)

    _rewrite_graph(path, rewrite)
    return sorted(refs, key=lambda r: r["offset"])


def graph_initializers(path) -> list[dict]:
    """Every initializer of an ONNX file (read_tensor fields without the raw bytes)."""
    model = pb_parse(Path(path).read_bytes())
    graph = next(v for fx, wt, v in model if fx == 7)
    out = []
    for fx, wt, v in pb_parse(graph):
        if fx == 5:
            t = read_tensor(v)
            t["bytes"] = len(t.pop("raw") or b"")
            out.append(t)
    return out


def check_graphs(graphs_dir, model_dir) -> list[str]:
    """What does not match between the committed graphs and the weights and config beside them
    (empty: all good): the sidecar's hashes and sizes, each graph's hash and interface, and every
    external reference's offset, length, shape and dtype against the safetensors header."""
    graphs_dir, model_dir = Path(graphs_dir), Path(model_dir)
    problems = []
    side = json.loads((graphs_dir / SIDECAR).read_text())
    weights = model_dir / WEIGHTS_FILE
    if side["weights"]["sha256"] != sha256_file(weights) or side["weights"]["bytes"] != weights.stat().st_size:
        problems.append(f"{SIDECAR} describes another {WEIGHTS_FILE} (sha256 or size differ): regenerate the graphs")
    if side["config_sha256"] != sha256_file(model_dir / "config.json"):
        problems.append(f"{SIDECAR} was written for another config.json")
    layout = safetensors_layout(weights)
    L = side["config"]["num_hidden_layers"]
    for name, entry in side["graphs"].items():
        path = graphs_dir / name
        if not path.exists():
            problems.append(f"{name} is missing")
            continue
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"{name}: sha256 differs from {SIDECAR}")
        summary = read_graph_summary(path)
        inputs, outputs = io_names(L, entry["lora"])
        if [x["name"] for x in summary["inputs"]] != inputs or [x["name"] for x in summary["outputs"]] != outputs:
            problems.append(f"{name}: inputs/outputs differ from the interface")
        seen = set()
        for t in graph_initializers(path):
            info = layout.get(t["name"])
            if info is None:
                if t["location"] == 1 or t["bytes"] > MAX_INLINE_BYTES:
                    problems.append(f"{name}: {t['name']} is neither small nor a tensor of {WEIGHTS_FILE}")
                continue
            seen.add(t["name"])
            want = {"location": WEIGHTS_FILE, "offset": str(info["offset"]), "length": str(info["length"])}
            if t["location"] != 1 or t["external"] != want or t["dims"] != info["shape"] or t["dtype"] != _ST_DTYPE.get(info["dtype"]):
                problems.append(f"{name}: {t['name']} points at {t['external']} {t['dims']} dtype {t['dtype']}; "
                                f"{WEIGHTS_FILE} has {want} {info['shape']} {info['dtype']}")
        missing = sorted(set(layout) - seen)
        if missing:
            problems.append(f"{name}: does not use {missing[:3]}{'...' if len(missing) > 3 else ''}")
    return problems


# -- export ---------------------------------------------------------------------------------------

def export_graphs(model_dir, out_dir=None, rank: int = DEFAULT_RANK, opset: int = DEFAULT_OPSET,
                  variants=VARIANTS, log=print) -> dict:
    """Writes the web graphs of ``model_dir`` into ``out_dir``; returns (and writes) graphs.json."""
    model_dir = Path(model_dir)
    out = Path(out_dir) if out_dir is not None else model_dir
    out.mkdir(parents=True, exist_ok=True)
    weights = model_dir / WEIGHTS_FILE
    t_start = time.time()
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    L = cfg.num_hidden_layers
    graphs = {}
    for name, lora, compute in variants:
        t0 = time.time()
        # fp32 compute: fp16 parameters (the stored bytes) cast in the graph. fp16 compute: traced in
        # float64 and relabelled; fp16 -> float64 -> fp16 gives the stored bytes back exactly.
        lm = lm.half() if compute == "float32" else lm.double()
        wrapper = WebDecoder(lm, lora, rank, torch.float32 if compute == "float32" else torch.float64).eval()
        inputs, outputs = io_names(L, lora)
        path = out / f"{name}.onnx"
        traced = path.with_suffix(".f64.onnx") if compute == "float16" else path
        torch.manual_seed(0)
        # No constant folding here: it would fold each weight's Cast into a new fp32 initializer. The
        # graph keeps fp16 weights + Cast; onnxruntime folds them when the session starts.
        _torch_export(wrapper, wrapper.example_inputs(), traced, inputs, outputs, dynamic_axes(L), opset,
                      constant_folding=False, custom_opsets={"com.microsoft": 1})
        if rope_table_as_nodes(traced, wrapper.inv_freq, cfg.max_position_embeddings) == 0:
            raise RuntimeError(f"{name}: no RoPE table found to write as nodes (did the tracer change?)")
        if compute == "float16":
            relabel_double_to_half(traced, path)
            traced.unlink()
        refs = externalize(path, weights)
        summary = read_graph_summary(path)
        if [x["name"] for x in summary["inputs"]] != inputs or [x["name"] for x in summary["outputs"]] != outputs:
            raise RuntimeError(f"{name}: exported inputs/outputs differ from the interface")
        bad = sorted(set(summary["ops"]) - WEB_OPS)
        if bad:
            raise RuntimeError(f"{name}: operators outside the web set: {bad}")
        graphs[path.name] = {"compute": compute, "lora": lora, "bytes": path.stat().st_size, "sha256": sha256_file(path),
                             **{k: summary[k] for k in ("inputs", "outputs", "ops", "opset")}, "external": refs}
        log(f"{path.name}: {path.stat().st_size / 1e3:.0f} KB, {sum(summary['ops'].values())} nodes, "
            f"{len(refs)} weights in {WEIGHTS_FILE}, {time.time() - t0:.1f} s")
    hf_cfg = json.loads((model_dir / "config.json").read_text())
    sidecar = {
        "format": "dragdrop-lora/web-graphs",
        "version": 1,
        "written_by": "python -m trainer web-graphs",
        "config": {**hf_cfg, "head_dim": cfg.head_dim},
        "weights": {"file": WEIGHTS_FILE, "bytes": weights.stat().st_size, "sha256": sha256_file(weights)},
        "config_sha256": sha256_file(model_dir / "config.json"),
        "lora": {"rank": rank, "groups": lora_groups(cfg, rank),
                 "formula": "per group: y = x W^T + (x A^T) B^T, A = the modules' PEFT A stacked by rows, "
                            "B = block-diagonal of their PEFT B times lora_alpha / r; zero blocks for "
                            "modules an adapter does not target or ranks below r"},
        "graphs": graphs,
        "torch_version": torch.__version__,
        "opset": opset,
    }
    (out / SIDECAR).write_text(json.dumps(sidecar, indent=1) + "\n")
    log(f"wrote {len(graphs)} graphs + {SIDECAR} to {out} in {time.time() - t_start:.1f} s")
    return sidecar


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="models/base", help="directory with config.json + model.safetensors")
    p.add_argument("--out", default=None, help="output directory (default: --model)")
    p.add_argument("--lora-rank", type=int, default=DEFAULT_RANK)
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    p.add_argument("--check", action="store_true", help="only check the graphs in --out against --model")


def run(args) -> int:
    args.out = args.out or args.model
    if args.check:
        problems = check_graphs(args.out, args.model)
        for line in problems:
            print(f"web-graphs: {line}", file=sys.stderr)
        print("graphs match the weights and config" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    export_graphs(args.model, args.out, args.lora_rank, args.opset)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer web-graphs", description=__doc__.split("\n\n")[0])
    add_args(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
