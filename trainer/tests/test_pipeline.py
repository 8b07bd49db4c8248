"""The whole ``python -m trainer base`` pipeline at toy scale on CPU, with the byte tokenizer
standing in for the BPE one (``tokenizers`` is not installed here)."""
import argparse
import json

import pytest

import trainer.text.tokenizer as tokmod
from trainer.base import pipeline as base
from trainer.config import load_config
from trainer.base.release import load_exported
from trainer.safetensors_io import load_file


class StubHFTokenizer(tokmod.ByteTokenizer):
    def __init__(self, path):
        super().__init__()


def stub_train_tokenizer(corpus_dir, out_dir, cfg, log=print):
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (out_dir / name).write_text("{}")
    return {"vocab_size": 259}


def _tiny_config(tmp_path, tasks):
    cfg = load_config(overrides={
        "tokenizer": {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"},
        "model": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                  "num_attention_heads": 4, "num_key_value_heads": 2,
                  "max_position_embeddings": 64},
        "pretrain": {"seq_len": 32, "batch_size": 4, "max_steps": 12, "warmup_steps": 2,
                     "compile": False, "log_every": 5, "val_max_tokens": 2000},
        "chat": {"tasks": tasks, "seq_len": 32, "batch_size": 4, "max_examples_per_task": 20,
                 "max_example_tokens": 200, "compile": False, "log_every": 5,
                 "replay_fraction": 0.5},
        "samples": {"max_new_tokens": 4},
    })
    cfg["chat"]["replay_shards"] = {"a-000": 0.5, "b-000": 0.5}
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    return path


def _args(tmp_path, corpus, datasets, cfg_path, time_limit=None):
    p = argparse.ArgumentParser()
    base.add_args(p)
    argv = ["--config", str(cfg_path), "--corpus", str(corpus), "--datasets", str(datasets),
            "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "release"),
            "--report", str(tmp_path / "report.json"), "--fixture", str(tmp_path / "fx.json"),
            "--device", "cpu"]
    if time_limit is not None:
        argv += ["--time-limit", str(time_limit)]
    return p.parse_args(argv)


def test_pipeline_end_to_end(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(tokmod, "train_tokenizer", stub_train_tokenizer)
    monkeypatch.setattr(tokmod, "HFTokenizer", StubHFTokenizer)
    ds = tmp_path / "datasets"
    (ds / "T1").mkdir(parents=True)
    (ds / "T1" / "train.jsonl").write_text("".join(
        json.dumps({"prompt": f"What is {i}+1?", "response": f"{i + 1}", "system": ""}) + "\n"
        for i in range(30)))
    cfg_path = _tiny_config(tmp_path, ["T1"])

    # a call with no time left pauses inside pretraining and leaves a checkpoint
    assert base.run(_args(tmp_path, tiny_corpus, ds, cfg_path, time_limit=0)) == 0
    assert (tmp_path / "run" / "pretrain.pt").exists()
    assert not (tmp_path / "report.json").exists()
    # the same command continues to the end
    assert base.run(_args(tmp_path, tiny_corpus, ds, cfg_path)) == 0

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["pretrain"]["steps"] == 12
    assert report["chat"]["tasks"] == ["T1"]
    replay = report["chat"]["data"]["replay"]
    assert abs(replay["tokens"] - report["chat"]["data"]["tokens"]) <= 2  # half of the stream
    assert report["val_ppl"] > 1
    assert len(report["samples"]) >= 10
    assert {s["kind"] for s in report["samples"]} == {"plain", "chat"}
    assert len(report["invocations"]) == 2
    rel = tmp_path / "release"
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json", "special_tokens_map.json"):
        assert (rel / name).exists(), name
    weights = load_file(rel / "model.safetensors")
    assert all(str(v.dtype) == "torch.float16" for v in weights.values())
    model = load_exported(rel)
    assert model.num_params() == report["params"]

    # a finished pretraining is not repeated: drop the chat stage and run again
    (tmp_path / "run" / "chat.pt").unlink()
    (tmp_path / "run" / "chat_eval.json").unlink()
    assert base.run(_args(tmp_path, tiny_corpus, ds, cfg_path)) == 0
    again = json.loads((tmp_path / "report.json").read_text())
    assert again["pretrain"]["steps"] == 12 and again["val_after_pretrain"] == report["val_after_pretrain"]
    assert again["chat"]["final_train_loss"] == report["chat"]["final_train_loss"]
