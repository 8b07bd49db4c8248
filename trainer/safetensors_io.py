"""safetensors read/write: the ``safetensors`` package when importable, else a small pure-Python
implementation of the format (8-byte little-endian header length, JSON header, raw little-endian
tensor bytes, row-major, offsets relative to the end of the header).

API: ``save_file(tensors, path, metadata=None)`` and ``load_file(path) -> dict[str, torch.Tensor]``.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import torch

_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_FROM_NAME = {v: k for k, v in _DTYPES.items()}

try:  # pragma: no cover - depends on the environment
    from safetensors.torch import load_file as _st_load, save_file as _st_save
except ImportError:  # pragma: no cover
    _st_load = _st_save = None


def save_file(tensors: dict[str, torch.Tensor], path, metadata: dict[str, str] | None = None,
              force_pure_python: bool = False) -> None:
    """Write ``tensors`` (name -> tensor; contiguous copies are made) to ``path``."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    if metadata is not None:
        metadata = {str(k): str(v) for k, v in metadata.items()}
    if _st_save is not None and not force_pure_python:
        _st_save(tensors, str(path), metadata=metadata)
        return
    header: dict = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _DTYPES:
            raise ValueError(f"unsupported dtype {t.dtype} for tensor {name}")
        data = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)  # align data to 8 bytes, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for data in blobs:
            f.write(data)


def load_file(path, force_pure_python: bool = False) -> dict[str, torch.Tensor]:
    """Read every tensor of a safetensors file into CPU tensors."""
    if _st_load is not None and not force_pure_python:
        return _st_load(str(path))
    raw = Path(path).read_bytes()
    if len(raw) < 8:
        raise ValueError(f"not a safetensors file (too short): {path}")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"not a safetensors file (header length {n} beyond file end): {path}")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _FROM_NAME[info["dtype"]]
        start, end = info["data_offsets"]
        out[name] = _tensor_from_bytes(raw[base + start:base + end], dtype, info["shape"])
    return out


def read_metadata(path) -> dict[str, str]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header.get("__metadata__", {})


def _tensor_bytes(t: torch.Tensor) -> bytes:
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    arr = t.numpy()
    if arr.dtype.byteorder == ">":
        arr = arr.byteswap()
    return arr.tobytes()


def _tensor_from_bytes(data: bytes, dtype: torch.dtype, shape: list[int]) -> torch.Tensor:
    if dtype == torch.bfloat16:
        t = torch.frombuffer(bytearray(data), dtype=torch.int16).view(torch.bfloat16)
    elif dtype == torch.bool:
        t = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(torch.bool)
    elif len(data) == 0:
        t = torch.empty(0, dtype=dtype)
    else:
        t = torch.frombuffer(bytearray(data), dtype=dtype)
    return t.reshape(shape).clone()
