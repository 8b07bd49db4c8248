"""Export the hyper-convolutional decoder to ONNX (for onnxruntime-web's WebGPU EP comparison).

    python -m trainer.export_generator_onnx --generator <dir with generator.json + generator.safetensors> \
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

from .hyperconv import load_generator

MIN_OPSET = 17


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Export the hyper-convolutional generator's decoder to ONNX")
    ap.add_argument("--generator", required=True, help="directory with generator.json + generator.safetensors")
    ap.add_argument("--out", required=True, help="output .onnx file (a build output; do not commit)")
    ap.add_argument("--batch", type=int, default=1, help="batch size baked into the graph (default 1)")
    ap.add_argument("--dynamic-batch", action="store_true", help="make the batch axis dynamic")
    ap.add_argument("--opset", type=int, default=MIN_OPSET)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
