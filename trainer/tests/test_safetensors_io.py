import json
import struct

import torch

from trainer import safetensors_io as sio


def test_roundtrip_pure_python(tmp_path):
    tensors = {
        "a": torch.randn(3, 4),
        "b": torch.randn(5).half(),
        "c": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "d": torch.randn(2, 2).to(torch.bfloat16),
    }
    path = tmp_path / "x.safetensors"
    sio._save_pure(tensors, str(path), {"format": "pt"})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"format": "pt"}
    assert header["b"]["dtype"] == "F16" and header["b"]["shape"] == [5]
    back = sio._load_pure(str(path))
    assert set(back) == set(tensors)
    for k in tensors:
        assert back[k].dtype == tensors[k].dtype
        assert torch.equal(back[k], tensors[k])
    assert sio.load_metadata(path) == {"format": "pt"}
    assert set(sio.load_file(path)) == set(tensors)
