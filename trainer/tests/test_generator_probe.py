"""``python -m trainer generator-probe`` at toy scale on CPU (tiny random Llama, synthetic tasks)."""
import json

import pytest

from trainer.__main__ import main
from trainer.lora.tokens import compute_stats
from trainer.tests.test_zoo_pipeline import write_configs, write_model, write_tasks


def _probe_setup(tmp_path, validation):
    write_tasks(tmp_path / "data")
    write_model(tmp_path / "model")
    cfg_path = write_configs(tmp_path)
    cfg = json.loads(cfg_path.read_text())
    cfg["evaluation"]["loo_tasks"] = ["ToyMCQ"]
    cfg_path.write_text(json.dumps(cfg))
    probe = {"validation_tasks": validation, "eval_tasks": validation, "eval_size": 4, "ridge_lambdas": [1.0],
             "variants": {"baseline": {}, "pos_mean": {"normalization": "per_position_mean"}}}
    (tmp_path / "probe.json").write_text(json.dumps(probe))
    return ["generator-probe", "--config", str(cfg_path), "--probe", str(tmp_path / "probe.json"),
            "--datasets", str(tmp_path / "data"), "--out", str(tmp_path / "probe-out.json")]


def test_probe_reports_every_variant(tmp_path):
    assert main(_probe_setup(tmp_path, ["ToyYesNo"])) == 0
    rep = json.loads((tmp_path / "probe-out.json").read_text())
    assert rep["validation_tasks"] == ["ToyYesNo"] and rep["train_tasks"] == 2
    assert rep["commit"] and rep["gpu"] and rep["command"].startswith("python -m trainer generator-probe --config ")
    assert set(rep["variants"]) == {"baseline", "pos_mean"}
    for v in rep["variants"].values():
        assert v["train_fit"] > 0 and set(v["val"]["ToyYesNo"]) == {"generated", "mismatched"}
        assert set(v["val_acc"]["ToyYesNo"]["loglik"]) == {"generated", "mismatched", "mean_lora"}
    assert 0 < rep["spectrum_task_means"]["top1"] <= 1.0
    assert "ToyYesNo" in rep["ridge"]["1.0"]["val"]


def test_probe_refuses_an_evaluation_target_as_validation_task(tmp_path):
    with pytest.raises(SystemExit, match="evaluation targets"):
        main(_probe_setup(tmp_path, ["ToyMCQ"]))
