"""The committed gate fixture (test/fixtures/gate/, `python -m trainer gate-fixture`) is what
trainer/generator/gate.py computes from its stored inputs, and those inputs are the seeded ones."""
import json
from pathlib import Path

import torch

from trainer.fixtures.gate import GRID, RISKS, TASKS, make_answer_inputs, make_curves, make_inputs, make_output_inputs
from trainer.generator.gate import GateTable, output_feature, pooled
from trainer.safetensors_io import load_file

FIX = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "gate"


def test_committed_gate_fixture_matches_the_trainer_gate():
    cases = json.loads((FIX / "cases.json").read_text())
    tensors = load_file(str(FIX / "gate.safetensors"))
    centroids, scales, conditions = tensors["centroids"], tensors["scales"], tensors["conditions"]
    want = make_inputs(cases["seed"])
    for got, seeded in zip((centroids, scales, conditions), want[:3]):
        assert torch.equal(got, seeded)
    assert cases["tasks"] == TASKS and len(cases["cases"]) == conditions.shape[0]
    shape = cases["shape"]
    assert tuple(conditions.shape[1:]) == (shape["P"], shape["L"], shape["C"])
    assert tuple(centroids.shape) == (shape["M"], shape["C"])
    for i, case in enumerate(cases["cases"]):
        assert case["lengths"] == want[3][i]
        # the zero rows are exactly the ones beyond each prompt's length
        real = conditions[i].abs().sum(-1) > 0
        assert real.sum(-1).tolist() == case["lengths"]
        feature = pooled(conditions[i])
        assert torch.allclose(feature, torch.tensor(case["pooled"]), atol=1e-6)
        for k, expect in case["gate"].items():
            table = GateTable(centroids, scales, TASKS, int(k))
            assert abs(float(table.scale(feature)) - expect["value"]) < 1e-6
            assert table.neighbours(feature) == expect["neighbours"]
            assert 0.0 <= expect["value"] <= 1.0


def test_committed_output_feature_cases_match_the_trainer_gate():
    cases = json.loads((FIX / "cases.json").read_text())
    tensors = load_file(str(FIX / "gate.safetensors"))
    centroids, scales, outputs = tensors["output.centroids"], tensors["output.scales"], tensors["outputs"]
    for got, seeded in zip((centroids, scales, outputs), make_output_inputs(cases["seed"])):
        assert torch.equal(got, seeded)
    shape = cases["output_shape"]
    assert tuple(outputs.shape[1:]) == (shape["N"], shape["h"], shape["w"])
    assert tuple(centroids.shape) == (shape["M"], 2 * shape["N"])
    for o, case in zip(outputs, cases["output_cases"]):
        feature = output_feature(o)
        assert torch.allclose(feature, torch.tensor(case["feature"]), atol=1e-6)
        for k, expect in case["gate"].items():
            table = GateTable(centroids, scales, TASKS, int(k), kind="output")
            assert abs(float(table.scale(feature)) - expect["value"]) < 1e-6
            assert table.neighbours(feature) == expect["neighbours"]
    assert any(v == 0.0 for v in cases["output_cases"][1]["feature"][shape["N"]:])  # the constant token


def test_all_zero_condition_pools_to_zero():
    cases = json.loads((FIX / "cases.json").read_text())
    empty = [c for c in cases["cases"] if sum(c["lengths"]) == 0]
    assert len(empty) == 1 and all(v == 0.0 for v in empty[0]["pooled"])


def test_committed_risk_rule_cases_match_the_trainer_gate():
    cases = json.loads((FIX / "cases.json").read_text())
    tensors = load_file(str(FIX / "gate.safetensors"))
    curves = tensors["curves"]
    assert torch.equal(curves, make_curves(cases["seed"]))
    assert cases["risk"]["grid"] == GRID and cases["risk"]["risks"] == list(RISKS)
    seen = set()
    for i, case in enumerate(cases["cases"]):
        feature = pooled(tensors["conditions"][i])
        for key, want in case["risk_gate"].items():
            risk, k = key.split("/")
            t = GateTable(tensors["centroids"], tensors["scales"], TASKS, int(k), curves=curves, grid=GRID, risk=float(risk))
            assert float(t.scale(feature)) == want and want in GRID
            seen.add(want)
    assert len(seen) >= 4 and 0.0 in seen


def test_committed_euclidean_cases_match_the_trainer_gate():
    """metric "euclidean": the stored standardisation is the table's own, and the committed values are
    what GateTable computes (condition table and the differently scaled answer-feature table)."""
    cases = json.loads((FIX / "cases.json").read_text())
    tensors = load_file(str(FIX / "gate.safetensors"))
    table = GateTable(tensors["centroids"], tensors["scales"], TASKS, 3, metric="euclidean")
    assert torch.equal(tensors["euclidean.feature_mean"], table.center) and torch.equal(tensors["euclidean.feature_std"], table.spread)
    for i, case in enumerate(cases["cases"]):
        feature = pooled(tensors["conditions"][i])
        for k, expect in case["euclidean_gate"].items():
            t = GateTable(tensors["centroids"], tensors["scales"], TASKS, int(k), metric="euclidean")
            assert abs(float(t.scale(feature)) - expect["value"]) < 1e-6 and t.neighbours(feature) == expect["neighbours"]
    centroids, scales, queries = make_answer_inputs(cases["seed"])
    for got, seeded in zip((tensors["answer.centroids"], tensors["answer.scales"], tensors["answer.queries"]), (centroids, scales, queries)):
        assert torch.equal(got, seeded)
    answer = GateTable(centroids, scales, TASKS, 3, kind="answer", metric="euclidean")
    assert torch.equal(tensors["answer.feature_std"], answer.spread) and float(answer.spread[4]) == 1.0  # the constant column
    seen = set()
    for q, case in zip(queries, cases["answer_cases"]):
        for k, expect in case["gate"].items():
            t = GateTable(centroids, scales, TASKS, int(k), kind="answer", metric="euclidean")
            assert abs(float(t.scale(q)) - expect["value"]) < 1e-6 and t.neighbours(q) == expect["neighbours"]
        for key, want in case["risk_gate"].items():
            risk, k = key.split("/")
            t = GateTable(centroids, scales, TASKS, int(k), kind="answer", curves=tensors["curves"], grid=GRID, risk=float(risk),
                          metric="euclidean")
            assert float(t.scale(q)) == want and want in GRID
            seen.add(want)
    assert len(seen) >= 3 and 0.0 in seen
