"""Minimal safetensors reader/writer.

Uses the ``safetensors`` package when it is importable; otherwise a pure-Python implementation of
the format (https://github.com/huggingface/safetensors#format):

    8 bytes   little-endian u64 N = header length
    N bytes   JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}
              (padded with spaces to a multiple of 8)
    rest      raw little-endian tensor data, offsets relative to the end of the header

Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Dict, Optional

import numpy as np
import torch

__all__ = ["save_file", "load_file", "load_metadata", "HAVE_SAFETENSORS"]

try:  # pragma: no cover - depends on the machine
    import safetensors.torch as _st  # type: ignore

    HAVE_SAFETENSORS = True
except Exception:  # pragma: no cover
    _st = None
    HAVE_SAFETENSORS = False

# safetensors dtype name -> (torch dtype, numpy little-endian dtype used for the raw bytes)
_DTYPES = {
    "F64": (torch.float64, "<f8"),
    "F32": (torch.float32, "<f4"),
    "F16": (torch.float16, "<f2"),
    "BF16": (torch.bfloat16, "<u2"),  # bit pattern via uint16
    "I64": (torch.int64, "<i8"),
    "I32": (torch.int32, "<i4"),
    "I16": (torch.int16, "<i2"),
    "I8": (torch.int8, "i1"),
    "U8": (torch.uint8, "u1"),
    "BOOL": (torch.bool, "?"),
}
_TORCH_TO_NAME = {v[0]: k for k, v in _DTYPES.items()}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        # same element size view is supported on every torch >= 1.x
        arr = t.view(torch.int16).numpy().view("<u2")
    else:
        arr = t.numpy().astype(_DTYPES[_TORCH_TO_NAME[t.dtype]][1], copy=False)
    return np.ascontiguousarray(arr).tobytes()


def _save_pure(tensors: Dict[str, torch.Tensor], path: str, metadata: Optional[Dict[str, str]]) -> None:
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _TORCH_TO_NAME:
            raise TypeError(f"safetensors_io: unsupported dtype {t.dtype} for tensor {name!r}")
        b = _tensor_bytes(t)
        header[name] = {
            "dtype": _TORCH_TO_NAME[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(b)],
        }
        blobs.append(b)
        offset += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def _read_header(f) -> tuple[int, dict]:
    raw = f.read(8)
    if len(raw) != 8:
        raise ValueError("safetensors_io: file too short")
    (n,) = struct.unpack("<Q", raw)
    if n > 100 * 1024 * 1024:
        raise ValueError(f"safetensors_io: header length {n} is implausible")
    header = json.loads(f.read(n).decode("utf-8"))
    return 8 + n, header


def _load_pure(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        start, header = _read_header(f)
        data = f.read()
    out: Dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in _DTYPES:
            raise TypeError(f"safetensors_io: unsupported dtype {dt} for tensor {name!r}")
        tdtype, npdtype = _DTYPES[dt]
        b0, b1 = info["data_offsets"]
        shape = tuple(int(s) for s in info["shape"])
        arr = np.frombuffer(data[b0:b1], dtype=npdtype).copy()
        if dt == "BF16":
            t = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
        else:
            t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=False))
        out[name] = t.reshape(shape)
    return out


def save_file(tensors: Dict[str, torch.Tensor], path, metadata: Optional[Dict[str, str]] = None) -> None:
    """Write ``tensors`` (name -> tensor) to ``path`` in safetensors format."""
    path = str(path)
    if _st is not None:
        _st.save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, path, metadata=metadata)
    else:
        _save_pure(tensors, path, metadata)


def load_file(path) -> Dict[str, torch.Tensor]:
    """Read a safetensors file into a dict of CPU tensors."""
    path = str(path)
    if _st is not None:
        return _st.load_file(path)
    return _load_pure(path)


def load_metadata(path) -> Dict[str, str]:
    """Return the ``__metadata__`` dict of a safetensors file (empty if none)."""
    with open(str(path), "rb") as f:
        _, header = _read_header(f)
    return dict(header.get("__metadata__", {}) or {})
