import json
import struct

import torch

from trainer.safetensors_io import load_file, read_metadata, save_file


def test_roundtrip_pure_python(tmp_path):
    tensors = {
        "a": torch.randn(3, 4),
        "b": torch.randn(5).half(),
        "c": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "d": torch.randn(2, 2).to(torch.bfloat16),
    }
    path = tmp_path / "x.safetensors"
    save_file(tensors, path, metadata={"format": "pt"}, force_pure_python=True)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"format": "pt"}
    assert header["b"]["dtype"] == "F16" and header["b"]["shape"] == [5]
    assert (8 + n) % 8 == 0
    back = load_file(path, force_pure_python=True)
    assert set(back) == set(tensors)
    for k in tensors:
        assert back[k].dtype == tensors[k].dtype
        assert torch.equal(back[k], tensors[k])
    assert read_metadata(path) == {"format": "pt"}
