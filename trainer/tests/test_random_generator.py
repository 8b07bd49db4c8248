import json

import pytest
import torch

from trainer.generator.hyperconv import load_generator
from trainer.generator.random_weights import write_random_generator


def _schedule(tmp_path, n_out):
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps({
        "name": "tiny",
        "decoder": {"features": [[2, 3, 4], [n_out, 2, 3]], "kernel_sizes": [3]},
        "lora": {"num_layers": 1, "rank": 2, "alpha": 4, "modules": [["q_proj", "self_attn", 4, 4]]},
    }))
    return str(path)


def test_writes_a_loadable_generator_with_the_schedule_shapes(tmp_path):
    # q_proj A (2x4) and B (4x2) are 8 values each: 2 tokens of 2x3 per matrix, 4 in all
    info = write_random_generator(_schedule(tmp_path, 4), str(tmp_path / "gen"))
    assert info["tokens"] == 4
    model, manifest = load_generator(str(tmp_path / "gen"))[:2]
    assert manifest["training"]["random"] is True
    out = model(torch.randn(1, 2, 3, 4))
    assert tuple(out.shape) == (1, 4, 2, 3)


def test_rejects_a_schedule_whose_token_grid_does_not_fit_the_lora(tmp_path):
    with pytest.raises(ValueError, match="needs 4 tokens"):
        write_random_generator(_schedule(tmp_path, 5), str(tmp_path / "gen"))
