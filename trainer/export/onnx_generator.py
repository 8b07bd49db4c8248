"""Export the hyper-convolutional decoder to ONNX (for onnxruntime-web's WebGPU EP comparison).

    python -m trainer.export.onnx_generator --generator <dir with generator.json + generator.safetensors> \
        --out generator.onnx [--batch 1] [--dynamic-batch] [--opset 17]

Graph: input ``condition`` (B, N0, H0, W0) float32 -> output ``tokens`` (B, N_out, h, w) float32
(normalised tokens, exactly what the WGSL generator produces). Ops: Transpose, Conv,
LayerNormalization (opset >= 17), Tanh, Add, Div (plus constants). Weights are the generator's,
cast to float32.

``torch.onnx.export`` serialises the model with torch's own protobuf code; the ``onnx`` Python
package is not needed for exporting (it is used, when importable, only for an optional
``onnx.checker`` pass). ONNX files are build outputs: never commit them.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.nn as nn

from trainer.generator.hyperconv import load_generator

MIN_OPSET = 17
ALLOWED_OPS = {"Transpose", "Conv", "LayerNormalization", "Tanh", "Add", "Div", "Constant", "ReduceMean", "Sub", "Mul", "Pow", "Sqrt"}


class _DecoderForExport(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.decoder = model.decoder

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        return self.decoder(condition)


def export(gen_dir: str, out_path: str, batch: int = 1, opset: int = MIN_OPSET, dynamic_batch: bool = False) -> dict:
    if opset < MIN_OPSET:
        raise ValueError(f"opset must be >= {MIN_OPSET} (LayerNormalization), got {opset}")
    if not hasattr(torch, "onnx") or not hasattr(torch.onnx, "export"):
        raise RuntimeError("this torch build has no torch.onnx.export")
    model, manifest, _ = load_generator(gen_dir, dtype=torch.float32)
    model.eval()
    wrapper = _DecoderForExport(model).eval()
    f0 = tuple(model.config.features[0])
    example = torch.zeros((batch,) + f0, dtype=torch.float32)
    kwargs = dict(
        input_names=["condition"],
        output_names=["tokens"],
        opset_version=opset,
        do_constant_folding=True,
    )
    if dynamic_batch:
        kwargs["dynamic_axes"] = {"condition": {0: "batch"}, "tokens": {0: "batch"}}
    # torch >= 2.5 has a second (dynamo) exporter; ask for the TorchScript one, which needs neither
    # onnx nor onnxscript.
    try:
        import inspect

        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False
    except (TypeError, ValueError):  # pragma: no cover
        pass
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    try:
        with torch.no_grad():
            torch.onnx.export(wrapper, (example,), out_path, **kwargs)
    except ModuleNotFoundError as e:  # pragma: no cover - depends on the torch build
        raise RuntimeError(
            f"torch.onnx.export needs the missing Python package {e.name!r} on this machine; "
            f"install it (pip install {e.name}) or export on a machine that has it"
        ) from e
    checked = False
    try:
        import onnx  # type: ignore

        onnx.checker.check_model(onnx.load(out_path))
        checked = True
    except ImportError:
        pass
    return {
        "out": out_path,
        "bytes": os.path.getsize(out_path),
        "input": ["condition", [("batch" if dynamic_batch else batch)] + list(f0)],
        "output": ["tokens", [("batch" if dynamic_batch else batch)] + list(model.config.features[-1])],
        "opset": opset,
        "onnx_checker": checked,
    }


# ---------------------------------------------------------------------------------------------
# A tiny, independent reader + evaluator of the exported graph (no onnx / onnxruntime needed):
# decodes the ModelProto protobuf by hand and runs its nodes one by one. Used by --verify and the
# tests to show that the file holds the same weights and computes the same function.

# The protobuf wire format is read by the base-model exporter's reader (one implementation).
from trainer.export.onnx_model import _read_varint as _varint  # noqa: E402
from trainer.export.onnx_model import pb_parse as _fields  # noqa: E402


def _packed_or_single(wt, v, signed=True):
    if wt == 0:
        return [v - (1 << 64) if signed and v >= 1 << 63 else v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x - (1 << 64) if signed and x >= 1 << 63 else x)
    return out


_ONNX_DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 10: torch.float16, 11: torch.float64}


def _tensor_proto(buf: bytes):
    import struct

    dims, dtype, name, raw, floats, int64s = [], 1, "", None, [], []
    for fn, wt, v in _fields(buf):
        if fn == 1:
            dims += _packed_or_single(wt, v)
        elif fn == 2:
            dtype = v
        elif fn == 4:
            floats += list(struct.unpack(f"<{len(v) // 4}f", v)) if wt == 2 else list(struct.unpack("<f", v))
        elif fn == 7:
            int64s += _packed_or_single(wt, v)
        elif fn == 8:
            name = v.decode()
        elif fn == 9:
            raw = v
    tdt = _ONNX_DTYPES[dtype]
    if raw is not None:
        t = torch.frombuffer(bytearray(raw), dtype=tdt).clone() if raw else torch.empty(0, dtype=tdt)
    elif floats:
        t = torch.tensor(floats, dtype=tdt)
    else:
        t = torch.tensor(int64s, dtype=tdt)
    return name, t.reshape(dims)


def _attribute(buf: bytes):
    import struct

    name, val = "", None
    ints, floats = [], []
    for fn, wt, v in _fields(buf):
        if fn == 1:
            name = v.decode()
        elif fn == 2:
            val = struct.unpack("<f", v)[0]
        elif fn == 3:
            val = _packed_or_single(wt, v)[0]
        elif fn == 4:
            val = v
        elif fn == 5:
            val = _tensor_proto(v)[1]
        elif fn == 7:
            floats += list(struct.unpack(f"<{len(v) // 4}f", v)) if wt == 2 else list(struct.unpack("<f", v))
        elif fn == 8:
            ints += _packed_or_single(wt, v)
    if ints:
        val = ints
    elif floats:
        val = floats
    return name, val


def read_onnx(path: str) -> dict:
    """Minimal ONNX ModelProto reader: opset, nodes, initializers, graph inputs/outputs."""
    with open(path, "rb") as f:
        model = f.read()
    graph, opsets = None, {}
    for fn, wt, v in _fields(model):
        if fn == 7:
            graph = v
        elif fn == 8:  # opset_import
            dom, ver = "", None
            for f2, _, v2 in _fields(v):
                if f2 == 1:
                    dom = v2.decode()
                elif f2 == 2:
                    ver = v2
            opsets[dom] = ver
    nodes, inits, inputs, outputs = [], {}, [], []
    for fn, wt, v in _fields(graph):
        if fn == 1:
            node = {"inputs": [], "outputs": [], "op": None, "attrs": {}}
            for f2, _, v2 in _fields(v):
                if f2 == 1:
                    node["inputs"].append(v2.decode())
                elif f2 == 2:
                    node["outputs"].append(v2.decode())
                elif f2 == 4:
                    node["op"] = v2.decode()
                elif f2 == 5:
                    k, a = _attribute(v2)
                    node["attrs"][k] = a
            nodes.append(node)
        elif fn == 5:
            k, t = _tensor_proto(v)
            inits[k] = t
        elif fn in (11, 12):
            name = next((v2.decode() for f2, _, v2 in _fields(v) if f2 == 1), "")
            (inputs if fn == 11 else outputs).append(name)
    return {"opsets": opsets, "nodes": nodes, "initializers": inits, "inputs": inputs, "outputs": outputs}


def run_onnx_reference(graph: dict, feeds: dict) -> dict:
    """Evaluate the few ops the decoder export uses, node by node, in float64."""
    import torch.nn.functional as F

    env = {k: v.double() if v.is_floating_point() else v for k, v in graph["initializers"].items()}
    env.update({k: v.double() for k, v in feeds.items()})
    for node in graph["nodes"]:
        op, a = node["op"], node["attrs"]
        x = [env[n] if n else None for n in node["inputs"]]
        if op == "Constant":
            y = a["value"].double() if a["value"].is_floating_point() else a["value"]
        elif op == "Transpose":
            y = x[0].permute(*a["perm"])
        elif op == "Conv":
            if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise NotImplementedError("Conv with groups/dilation")
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3]:
                raise NotImplementedError("asymmetric pads")
            y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a.get("strides", [1, 1]), padding=(pads[0], pads[1]))
        elif op == "LayerNormalization":
            axis, eps = a.get("axis", -1), a.get("epsilon", 1e-5)
            dims = tuple(range(axis % x[0].dim(), x[0].dim()))
            mu = x[0].mean(dim=dims, keepdim=True)
            var = ((x[0] - mu) ** 2).mean(dim=dims, keepdim=True)
            y = (x[0] - mu) / torch.sqrt(var + eps) * x[1] + (x[2] if len(x) > 2 and x[2] is not None else 0)
        elif op == "Tanh":
            y = torch.tanh(x[0])
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Sub":
            y = x[0] - x[1]
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "Div":
            y = x[0] / x[1]
        elif op == "Sqrt":
            y = torch.sqrt(x[0])
        elif op == "Pow":
            y = x[0] ** x[1]
        elif op == "ReduceMean":
            axes = a.get("axes") or (x[1].tolist() if len(x) > 1 else None)
            y = x[0].mean(dim=tuple(axes), keepdim=bool(a.get("keepdims", 1)))
        else:
            raise NotImplementedError(f"op {op} is not expected in the decoder export")
        env[node["outputs"][0]] = y
    return {k: env[k] for k in graph["outputs"]}


def verify(onnx_path: str, gen_dir: str, batch: int, seed: int = 0) -> dict:
    """Run the exported graph with the tiny evaluator and compare with the PyTorch reference."""
    graph = read_onnx(onnx_path)
    ops = sorted({n["op"] for n in graph["nodes"]})
    unexpected = sorted(set(ops) - ALLOWED_OPS)
    model, _, _ = load_generator(gen_dir, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch,) + tuple(model.config.features[0]), generator=g).float()
    with torch.no_grad():
        ref = model(x.double())
    got = run_onnx_reference(graph, {"condition": x})["tokens"]
    err = float((got - ref).abs().max() / max(1.0, float(ref.abs().max())))
    return {"ops": ops, "unexpected_ops": unexpected, "opset": graph["opsets"].get(""), "rel_err": err,
            "inputs": graph["inputs"], "outputs": graph["outputs"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Export the hyper-convolutional generator's decoder to ONNX")
    ap.add_argument("--generator", required=True, help="directory with generator.json + generator.safetensors")
    ap.add_argument("--out", required=True, help="output .onnx file (a build output; do not commit)")
    ap.add_argument("--batch", type=int, default=1, help="batch size baked into the graph (default 1)")
    ap.add_argument("--dynamic-batch", action="store_true", help="make the batch axis dynamic")
    ap.add_argument("--opset", type=int, default=MIN_OPSET)
    ap.add_argument("--verify", action="store_true",
                    help="decode the written file with a tiny built-in ONNX reader/evaluator and compare with PyTorch")
    args = ap.parse_args(argv)
    try:
        info = export(args.generator, args.out, args.batch, args.opset, args.dynamic_batch)
    except RuntimeError as e:
        print(f"export_generator_onnx: {e}", file=sys.stderr)
        return 1
    print(
        f"wrote {info['out']} ({info['bytes']} bytes, opset {info['opset']}): "
        f"{info['input'][0]} {info['input'][1]} -> {info['output'][0]} {info['output'][1]}"
        + ("" if info["onnx_checker"] else " (onnx package not installed: onnx.checker not run)")
    )
    if args.verify:
        v = verify(args.out, args.generator, args.batch)
        print(f"verify: opset {v['opset']}, ops {v['ops']}, inputs {v['inputs']}, outputs {v['outputs']}, "
              f"max rel err vs PyTorch (float64 evaluation of the f32 graph) {v['rel_err']:.2e}")
        if v["unexpected_ops"] or v["rel_err"] > 1e-5:
            print(f"export_generator_onnx: verification FAILED (unexpected ops {v['unexpected_ops']})", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
