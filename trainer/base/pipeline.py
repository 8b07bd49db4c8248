"""``python -m trainer base``: the whole base-model pipeline, resumable, one command.

Stages (each skipped when its output exists, training resumed from its checkpoint):
tokenizer -> encode corpus -> pretrain -> chat tune -> export ``models/base`` -> samples, HF load
check, tokenizer fixture -> ``reports/base-model.json``. Re-run the same command after a time limit
(``--time-limit``) to continue where it stopped.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

import trainer.text.chat as chat_data
from trainer.config import DEFAULT_CORPUS, DEFAULT_DATASETS, REPO_ROOT, load_config, resolve
from trainer.text.packing import PackedBatches, encode_corpus, load_tokens
from trainer.base.model import LlamaLM, ModelConfig
from trainer.base.train_loop import evaluate, load_checkpoint, train

CANONICAL_COMMAND = "python -m trainer base --corpus ../shared/corpus --datasets ../shared/datasets"


def add_args(p):
    p.add_argument("--config", default=None, help="JSON config (default trainer/configs/base.json)")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="corpus directory (xz shards)")
    p.add_argument("--datasets", default=str(DEFAULT_DATASETS), help="task datasets directory")
    p.add_argument("--run-dir", default=None, help="work directory (default from config)")
    p.add_argument("--out", default=None, help="release directory (default models/base)")
    p.add_argument("--report", default="reports/base-model.json")
    p.add_argument("--fixture", default="test/fixtures/tokenizer/cases.json")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds; training pauses with a checkpoint before this, re-run to continue")
    p.add_argument("--device", default=None)
    p.add_argument("--note", default=None, help="free text stored in the report (provenance)")


class Logger:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def _json(path: Path, data=None):
    if data is None:
        return json.loads(path.read_text()) if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data


def git_commit() -> str:
    if os.environ.get("TRAINER_COMMIT"):
        return os.environ["TRAINER_COMMIT"]
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT,
                                       stderr=subprocess.DEVNULL, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(args) -> int:
    t_start = time.time()
    cfg = load_config(args.config)
    run_dir = resolve(args.run_dir or cfg["run_dir"])
    out_dir = resolve(args.out or cfg["export"]["model_dir"])
    log = Logger(run_dir / "log.txt")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    deadline = None if args.time_limit is None else t_start + args.time_limit - 30
    torch.manual_seed(cfg["seed"])
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    meta_path = run_dir / "meta.json"
    meta = _json(meta_path) or {"invocations": [], "stage_seconds": {}}
    meta["invocations"].append({"argv": ["python", "-m", "trainer"] + sys.argv[1:],
                                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    _json(meta_path, meta)
    log(f"[base] device {device}, run dir {run_dir}, corpus {args.corpus}")

    def stage_time(name, t0):
        meta["stage_seconds"][name] = round(meta["stage_seconds"].get(name, 0) + time.time() - t0, 1)
        _json(meta_path, meta)

    # 1. tokenizer
    tok_dir = run_dir / "tokenizer"
    if not (tok_dir / "tokenizer.json").exists():
        from trainer.text.tokenizer import train_tokenizer
        t0 = time.time()
        meta["tokenizer"] = train_tokenizer(args.corpus, tok_dir, cfg, log=log)
        stage_time("tokenizer", t0)
    from trainer.text.tokenizer import HFTokenizer
    tok = HFTokenizer(tok_dir)
    ids = {"eot": tok.token_to_id("<|endoftext|>"), "im_start": tok.token_to_id("<|im_start|>"),
           "im_end": tok.token_to_id("<|im_end|>")}
    special = {"bos": tok.token_to_id(cfg["tokenizer"]["bos_token"]),
               "eos": tok.token_to_id(cfg["tokenizer"]["eos_token"]),
               "pad": tok.token_to_id(cfg["tokenizer"]["pad_token"]), "eot": ids["eot"]}

    # 2. corpus -> tokens
    data_dir = run_dir / "data"
    t0 = time.time()
    if not (data_dir / "summary.json").exists():
        encode_corpus(args.corpus, data_dir, tok, cfg, log=log)
        stage_time("encode", t0)
    data_summary = json.loads((data_dir / "summary.json").read_text())

    mcfg = ModelConfig.from_dict({**cfg["model"], "vocab_size": tok.vocab_size})
    pcfg = cfg["pretrain"]

    # 3. pretrain (pretrain_eval.json is written once the schedule has finished)
    pre_ckpt = run_dir / "pretrain.pt"
    pre_eval_path = run_dir / "pretrain_eval.json"
    model = LlamaLM(mcfg)
    log(f"[base] model parameters: {model.num_params():,}")
    val_tokens = load_tokens(data_dir, "val")
    pre_eval = _json(pre_eval_path)
    if pre_eval is None:
        t0 = time.time()
        batches = PackedBatches(load_tokens(data_dir, "train"), pcfg["seq_len"], pcfg["batch_size"],
                                cfg["seed"], device)
        pre_state = train(model, batches, pcfg, pre_ckpt, device, deadline, log, tag="pretrain")
        stage_time("pretrain", t0)
        if not pre_state["done"]:
            log("[base] paused during pretraining; re-run the same command to continue")
            return 0
        del batches
        pre_eval = evaluate(model, val_tokens, pcfg["seq_len"], 32, device, pcfg["val_max_tokens"])
        _json(pre_eval_path, pre_eval)
        log(f"[base] held-out after pretraining: {pre_eval}")
    else:
        pre_state = load_checkpoint(pre_ckpt, model, None, "cpu")

    # 4. chat tuning
    ccfg = cfg["chat"]
    chat_ckpt = run_dir / "chat.pt"
    t0 = time.time()
    if not chat_ckpt.exists():
        model = LlamaLM(mcfg)
        load_checkpoint(pre_ckpt, model, None, "cpu")
    ids_c, mask_c, chat_info = chat_data.build_stream(tok, args.datasets, ccfg, cfg["seed"], log)
    if ccfg.get("replay_fraction"):
        ids_c, mask_c, chat_info["replay"] = chat_data.add_replay(
            ids_c, mask_c, data_dir, ccfg["replay_fraction"], ccfg["replay_shards"], log)
    meta["chat_data"] = chat_info
    cb = PackedBatches(ids_c, ccfg["seq_len"], ccfg["batch_size"], cfg["seed"] + 1, device,
                       loss_mask=mask_c)
    ccfg = dict(ccfg)
    if ccfg.get("max_steps") is None:
        ccfg["max_steps"] = max(1, int(ccfg["epochs"] * cb.n_windows / ccfg["batch_size"]))
    chat_state = train(model, cb, ccfg, chat_ckpt, device, deadline, log, tag="chat")
    stage_time("chat", t0)
    if not chat_state["done"]:
        log("[base] paused during chat tuning; re-run the same command to continue")
        return 0
    chat_eval_path = run_dir / "chat_eval.json"
    chat_eval = _json(chat_eval_path)
    if chat_eval is None:
        chat_eval = evaluate(model, val_tokens, pcfg["seq_len"], 32, device, pcfg["val_max_tokens"])
        _json(chat_eval_path, chat_eval)
        log(f"[base] held-out after chat tuning: {chat_eval}")

    # 5. export
    from trainer.base.release import export_model, load_exported
    t0 = time.time()
    files = export_model(model, out_dir, tok_dir, special, cfg["export"]["dtype"],
                         metadata={"commit": git_commit()})
    log(f"[base] exported {out_dir}: {files}")
    stage_time("export", t0)

    # 6. samples (from the exported fp16 weights), HF checks, tokenizer fixture
    from trainer.base.samples import greedy_samples, hf_check
    exported = load_exported(out_dir).to(device)
    samples = greedy_samples(exported, tok, cfg["samples"], ids, device)
    for s in samples:
        log(f"[sample] {s['kind']}: {s['prompt']!r} -> {s['completion']!r}")
    try:
        hf = hf_check(out_dir, exported, samples, device, log)
    except Exception as exc:  # reported, not fatal: the release files are already written
        hf = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"[hf] check failed: {hf['error']}")
    fixture_info = None
    try:
        from trainer.fixtures.tokenizer import write_fixture
        fixture_info = write_fixture(out_dir, resolve(args.fixture))
        log(f"[base] tokenizer fixture: {fixture_info}")
    except ImportError as exc:
        log(f"[base] tokenizer fixture skipped (transformers missing: {exc})")
    except Exception as exc:
        fixture_info = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"[base] tokenizer fixture failed: {fixture_info['error']}")

    # 7. report
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor()
    report = {
        "model": "base",
        "commit": git_commit(),
        "command": CANONICAL_COMMAND,
        "invocations": meta["invocations"],
        "gpu": gpu,
        "torch": torch.__version__,
        "params": exported.num_params(),
        "params_note": "tied input/output embeddings counted once",
        "model_config": mcfg.to_dict(),
        "pretrain_config": pcfg,
        "chat_config": ccfg,
        "tokenizer": {**(meta.get("tokenizer") or {}), "vocab_size": tok.vocab_size,
                      "special_tokens": cfg["tokenizer"]["special_tokens"]},
        "data": {"train_tokens": data_summary["train_tokens"],
                 "val_tokens": data_summary["val_tokens"],
                 "val_fraction_per_shard": cfg["corpus"]["val_fraction"],
                 "shards": data_summary["shards"]},
        "pretrain": {"steps": pre_state["step"], "tokens_seen": pre_state["tokens_seen"],
                     "epochs": round(pre_state["tokens_seen"] / max(1, data_summary["train_tokens"]), 3),
                     "train_seconds": round(pre_state["train_seconds"], 1),
                     "sec_per_step": pre_state.get("sec_per_step"),
                     "final_train_loss": round(pre_state["recent_loss"], 4),
                     "final_train_loss_note": "mean of the last 50 steps",
                     "loss_curve": pre_state["losses"]},
        "val_after_pretrain": pre_eval,
        "chat": {"tasks": cfg["chat"]["tasks"], "data": meta.get("chat_data"),
                 "steps": chat_state["step"], "tokens_seen": chat_state["tokens_seen"],
                 "train_seconds": round(chat_state["train_seconds"], 1),
                 "final_train_loss": round(chat_state["recent_loss"], 4),
                 "loss_curve": chat_state["losses"]},
        "val_after_chat": chat_eval,
        "val_ppl": round(chat_eval["ppl"], 3),
        "val_ppl_note": "perplexity of the released (chat-tuned) weights on the held-out corpus slice;"
                        " val_after_pretrain has the base checkpoint's",
        "stage_seconds": meta["stage_seconds"],
        "wall_seconds_total": round(sum(meta["stage_seconds"].values()), 1),
        "export": {"dir": str(out_dir.relative_to(REPO_ROOT)) if out_dir.is_relative_to(REPO_ROOT)
                   else str(out_dir), "files": files, "dtype": cfg["export"]["dtype"]},
        "hf_check": hf,
        "tokenizer_fixture": fixture_info,
        "samples": samples,
    }
    if args.note:
        report["note"] = args.note
    _json(resolve(args.report), report)
    log(f"[base] report written: {args.report}")
    return 0
