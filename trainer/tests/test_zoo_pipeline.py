"""``python -m trainer zoo-and-generator`` end to end at toy scale on CPU: a tiny random Llama, the
byte tokenizer, three synthetic tasks in a tmp dir (never the real datasets)."""
import json
import random

import torch

from trainer.__main__ import main
from trainer.generator.manifest import validate_manifest
from trainer.base.model import LlamaLM, ModelConfig
from trainer.safetensors_io import load_file, save_file
from trainer.evaluate.reconstruction_pipeline import COLUMNS

COLORS = ["red", "blue", "green", "black", "white", "pink"]


def write_tasks(root):
    rng = random.Random(0)
    sys_mcq = "Answer with the letter of the choice: [A]/[B]."
    sys_yn = "Answer [True] or [False]."

    def mcq(i):
        c = rng.sample(COLORS, 2)
        k = rng.randrange(2)
        return {"prompt": f"Which is {c[k]}? #{i}\nA: {c[0]}\nB: {c[1]}", "response": f"[{'AB'[k]}]", "system": sys_mcq}

    def yn(i):
        a, b = rng.randrange(9), rng.randrange(9)
        return {"prompt": f"Is {a} less than {b}? #{i}", "response": f"[{a < b}]", "system": sys_yn}

    def math(i):
        a, b = rng.randrange(9), rng.randrange(9)
        return {"prompt": f"What is {a} plus {b}? #{i}", "response": f"{a} + {b} = {a + b}.\nThe answer is {a + b}.", "system": ""}

    kinds = {"ToyMCQ": ("mcq", mcq), "ToyYesNo": ("yesno", yn), "ToyMath": ("math", math)}
    for name, (kind, fn) in kinds.items():
        d = root / name
        d.mkdir(parents=True)
        for split, n in (("train", 24), ("test", 10)):
            (d / f"{split}.jsonl").write_text("".join(json.dumps(fn(i)) + "\n" for i in range(n)))
    (root / "manifest.json").write_text(json.dumps({"tasks": [{"name": n, "kind": k} for n, (k, _) in kinds.items()]}))


def write_model(d):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=259, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)
    d.mkdir(parents=True)
    save_file({k: v.half() for k, v in LlamaLM(cfg).hf_state_dict().items()}, str(d / "model.safetensors"))
    (d / "config.json").write_text(json.dumps(cfg.to_dict()))


def write_configs(tmp):
    gen = {"prompt_count": 2, "condition": {"layer": -1, "max_tokens": 8, "pooling": "none", "template": "plain", "pool_size": 6},
           "token": {"height": 4, "width": 16},
           "decoder": {"features": [[2, 8, 32], [4, 4, 16], [0, 4, 16]], "kernel_sizes": [1, 1]},
           "normalization": "per_position", "steps": 40, "release_steps": 40, "batch_size": 4, "lr": 0.01,
           "warmup_steps": 5, "grad_clip": 1.0, "cond_noise": 0.05, "token_noise": 0.05, "log_every": 100}
    (tmp / "gen.json").write_text(json.dumps(gen))
    cfg = {"run_dir": str(tmp / "run"), "model_dir": str(tmp / "model"), "base_id": "toy", "tokenizer": "byte",
           "tasks": None, "generator_config": str(tmp / "gen.json"),
           "zoo": {"rank": 2, "alpha": 4, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                   "seeds": [0, 1], "steps": 6, "save_steps": [4, 6], "batch_size": 2, "max_len": 96,
                   "max_train_examples": 20, "lr": 0.01, "warmup_steps": 2, "adapters_per_group": 4, "log_every": 100},
           "eval": {"max_prompt_tokens": 96, "budget_tokens": 8192, "max_new_tokens": 4, "max_new_tokens_math": 6,
                    "zoo_test_size": 4},
           "evaluation": {"seed": 0, "generated_draws": 2, "test_size": 6, "cross_test_size": 4, "overhead_reps": 2,
                          "loo_tasks": ["ToyMCQ", "ToyYesNo", "ToyMath"],
                          "cross_domain": [{"name": "math", "exclude": ["ToyMath"], "targets": ["ToyMath"]}]}}
    (tmp / "zoo.json").write_text(json.dumps(cfg))
    return tmp / "zoo.json"


def test_pipeline_end_to_end(tmp_path):
    write_tasks(tmp_path / "data")
    write_model(tmp_path / "model")
    cfg = write_configs(tmp_path)
    common = ["zoo-and-generator", "--config", str(cfg), "--datasets", str(tmp_path / "data"),
              "--reports-dir", str(tmp_path / "reports"), "--release-dir", str(tmp_path / "gen"), "--commit", "test"]
    assert main(common + ["--pack", str(tmp_path / "state.tar.gz")]) == 0
    run = tmp_path / "run"
    # zoo: 3 tasks x 2 seeds x 2 checkpoints, PEFT format; every checkpoint scored on its own task
    idx = json.loads((run / "zoo" / "index.json").read_text())
    assert idx["adapters"] == 6 and idx["checkpoints"] == 12 and len(idx["groups"]) == 2
    ad = run / "zoo" / "ToyMCQ" / "s0-00006"
    assert (ad / "adapter_config.json").is_file()
    assert "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight" in load_file(str(ad / "adapter_model.safetensors"))
    scores = json.loads((run / "zoo" / "scores.json").read_text())
    assert len(scores["ToyMCQ"]["loglik"]) == 4 and "gen" in scores["ToyMath"] and "loglik" not in scores["ToyMath"]
    # units: the held-out task (family) never enters generator training, loss went down
    for name in ("loo-ToyMCQ", "loo-ToyYesNo", "loo-ToyMath", "cross-math-ToyMath"):
        u = json.loads((run / "units" / f"{name}.json").read_text())
        assert u["task"] not in u["generator"]["train_tasks"]
        assert u["generator"]["loss_last"] < u["generator"]["loss_first"]
    # reports: every column, both metrics, cross rows, metadata
    rep = json.loads((tmp_path / "reports" / "zero-shot.json").read_text())
    assert rep["complete"] and rep["commit"] == "test"
    assert [r["task"] for r in rep["rows"]] == ["ToyMCQ", "ToyYesNo", "ToyMath"]
    assert [r["task"] for r in rep["rows_loglik"]] == ["ToyMCQ", "ToyYesNo"]
    for r in rep["rows"] + rep["rows_loglik"] + rep["rows_cross"]:
        for col in COLUMNS:
            assert r[col] is not None and 0.0 <= r[col] <= 1.0, (r, col)
    assert {r["task"] for r in rep["rows_cross"]} == {"ToyMath"}
    for key in ("test_sizes", "seeds", "gpu", "command", "overhead"):
        assert rep[key]
    assert rep["overhead"]["ratio"] > 0
    md = (tmp_path / "reports" / "zero-shot.md").read_text()
    assert "| task | base | training_mean | training_best | generated | mismatched | mean_lora | oracle |" in md
    # release generator: fp16 weights, manifest valid, base hash recorded
    man = json.loads((tmp_path / "gen" / "generator.json").read_text())
    tensors = load_file(str(tmp_path / "gen" / "generator.safetensors"))
    validate_manifest(man, tensors)
    assert tensors["decoder.layers.0.a_w.weight"].dtype == torch.float16
    assert man["training"]["tasks"] == ["ToyMCQ", "ToyMath", "ToyYesNo"]
    # resume on a "fresh machine": unpack the small state, rebuild reports only
    (tmp_path / "reports" / "zero-shot.json").unlink()
    fresh = ["--run-dir", str(tmp_path / "run2"), "--unpack", str(tmp_path / "state.tar.gz"), "--stages", "reports"]
    assert main(common + fresh) == 0
    rep2 = json.loads((tmp_path / "reports" / "zero-shot.json").read_text())
    assert rep2["rows"] == rep["rows"] and rep2["rows_cross"] == rep["rows_cross"]


def test_staged_data_gives_the_same_samples(tmp_path):
    from trainer.config import load_config
    from trainer.tasks.staged import load_tasks, subsample
    from trainer.tasks.staging import stage

    write_tasks(tmp_path / "data")
    cfg = load_config(write_configs(tmp_path))
    cfg["zoo"]["max_train_examples"] = 10
    gcfg = load_config(tmp_path / "gen.json")
    stage(cfg, gcfg, tmp_path / "data", tmp_path / "staged")
    assert (tmp_path / "staged" / "ToyMCQ" / "train.jsonl.gz").is_file()
    full, st = load_tasks(tmp_path / "data"), load_tasks(tmp_path / "staged")
    for n in full:
        assert st[n].kind == full[n].kind and len(st[n].train) < len(full[n].train)
        for split, seed, k in (("train", f"zoo-{n}", 10), ("train", f"cond-train-{n}", 6), ("test", f"eval-{n}", 6),
                               ("test", f"eval-{n}", 4), ("test", f"cond-test-{n}", 6)):
            assert subsample(getattr(st[n], split), k, seed) == subsample(getattr(full[n], split), k, seed)
