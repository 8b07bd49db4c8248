"""trainer/fixtures/random_release_v2.py writes a version-2 generator the trainer's own checks accept."""
import json

import torch

from trainer.export.onnx_model import sha256_file
from trainer.fixtures.random_release_v2 import gate_of, write_random_release_v2
from trainer.generator.gate import output_feature, pooled
from trainer.generator.hyperconv import load_generator
from trainer.generator.manifest import validate_manifest
from trainer.generator.release import load_gate


def _inputs(tmp_path):
    schedule = tmp_path / "schedule.json"
    schedule.write_text(json.dumps({
        "decoder": {"features": [[2, 3, 4], [4, 2, 3]], "kernel_sizes": [3]},
        "lora": {"num_layers": 1, "rank": 2, "alpha": 4, "modules": [["q_proj", "self_attn", 4, 4]]},
    }))
    base = tmp_path / "base"
    base.mkdir()
    (base / "model.safetensors").write_bytes(b"not really weights")
    return str(schedule), str(base)


def test_writes_a_valid_v2_generator_with_a_gate(tmp_path):
    schedule, base = _inputs(tmp_path)
    info = write_random_release_v2(schedule, base, str(tmp_path / "gen"), max_input_tokens=7, tasks=5)
    model, manifest, tensors = load_generator(str(tmp_path / "gen"))
    validate_manifest(manifest, tensors)
    assert info["version"] == manifest["version"] == 2
    assert manifest["base_model"]["weights_sha256"] == sha256_file(f"{base}/model.safetensors")
    assert manifest["encoder"]["window"] == "tail" and manifest["encoder"]["max_input_tokens"] == 7
    assert manifest["encoder"]["max_tokens"] == 3 and manifest["encoder"]["channels"] == 4
    assert manifest["tokens"]["normalization"] == "shared_lora_residual"
    gate = load_gate(str(tmp_path / "gen"))
    assert tuple(gate.centroids.shape) == (5, 4) and len(gate.names) == 5
    assert 0.0 <= float(gate.scale(pooled(torch.randn(2, 3, 4)))) <= 1.0
    assert tuple(model(torch.randn(1, 2, 3, 4)).shape) == (1, 4, 2, 3)


def test_an_output_feature_gate_has_2n_wide_centroids(tmp_path):
    schedule, base = _inputs(tmp_path)
    write_random_release_v2(schedule, base, str(tmp_path / "gen"), gate_feature="output")
    _, manifest, tensors = load_generator(str(tmp_path / "gen"))
    validate_manifest(manifest, tensors)
    assert manifest["gate"]["feature"] == "output"
    assert tuple(tensors["gate.centroids"].shape) == (6, 2 * 4)
    gate = load_gate(str(tmp_path / "gen"))
    assert gate.kind == "output"
    # --gate-of: the gate of a condition given as raw float32, on the decoder's output
    cond = torch.randn(2, 3, 4)
    cond.numpy().astype("<f4").tofile(tmp_path / "cond.f32")
    got = gate_of(str(tmp_path / "gen"), str(tmp_path / "cond.f32"))
    model = load_generator(str(tmp_path / "gen"))[0].eval()
    with torch.no_grad():
        feature = output_feature(model(cond.unsqueeze(0))[0])
    assert abs(got["value"] - float(gate.scale(feature))) < 1e-7 and got["neighbours"] == gate.neighbours(feature)


def test_a_zero_gate_scale_switches_every_adapter_off(tmp_path):
    schedule, base = _inputs(tmp_path)
    write_random_release_v2(schedule, base, str(tmp_path / "gen"), gate_scale=0.0)
    gate = load_gate(str(tmp_path / "gen"))
    assert float(gate.scale(pooled(torch.randn(2, 3, 4)))) == 0.0


def test_a_risk_rule_gate_carries_curves_and_gives_their_best_scale(tmp_path):
    schedule, base = _inputs(tmp_path)
    write_random_release_v2(schedule, base, str(tmp_path / "gen"), gate_rule="risk", gate_risk=2.0)
    _, manifest, tensors = load_generator(str(tmp_path / "gen"))
    validate_manifest(manifest, tensors)
    assert manifest["gate"]["rule"] == "risk" and manifest["gate"]["risk"] == 2.0
    assert tuple(tensors["gate.curves"].shape) == (6, 5)
    gate = load_gate(str(tmp_path / "gen"))
    assert gate.rule == "risk" and gate.grid == [0.0, 0.25, 0.5, 0.75, 1.0]
    cond = torch.randn(2, 3, 4)
    assert float(gate.scale(pooled(cond))) == 0.5
    cond.numpy().astype("<f4").tofile(tmp_path / "cond.f32")
    assert gate_of(str(tmp_path / "gen"), str(tmp_path / "cond.f32"))["value"] == 0.5


def test_an_answer_gate_is_euclidean_with_its_settings_and_examples_are_offered(tmp_path):
    schedule, base = _inputs(tmp_path)
    info = write_random_release_v2(schedule, base, str(tmp_path / "gen"), gate_feature="answer", answer_tokens=3,
                                   answer_max_prompt_tokens=40, examples_validation_rows=12)
    _, manifest, tensors = load_generator(str(tmp_path / "gen"))
    validate_manifest(manifest, tensors)
    g = manifest["gate"]
    assert g["feature"] == "answer" and g["metric"] == "euclidean" and g["answer"] == {"tokens": 3, "max_prompt_tokens": 40}
    assert tuple(tensors["gate.centroids"].shape) == (6, 5)
    assert tuple(tensors[g["feature_mean"]].shape) == (5,) and bool((tensors[g["feature_std"]] > 0).all())
    assert manifest["examples"] == info["examples"] == {"template": "chat-answer", "validation_rows": 12,
                                                         "grid": [0.0, 0.25, 0.5, 0.75, 1.0]}
    gate = load_gate(str(tmp_path / "gen"))
    assert gate.metric == "euclidean" and torch.equal(gate.spread, tensors[g["feature_std"]])
    assert 0.0 <= float(gate.scale(torch.tensor([2.0, 2.5, 0.8, 2.0, 0.6]))) <= 1.0


def test_without_examples_rows_there_is_no_examples_section(tmp_path):
    schedule, base = _inputs(tmp_path)
    write_random_release_v2(schedule, base, str(tmp_path / "gen"))
    _, manifest, _ = load_generator(str(tmp_path / "gen"))
    assert "examples" not in manifest and manifest["gate"]["metric"] == "cosine" and "answer" not in manifest["gate"]
