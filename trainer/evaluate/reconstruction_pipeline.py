"""``python -m trainer zoo-and-generator``: LoRA zoo -> conditions -> generators -> zero-shot
evaluation -> overhead -> release generator -> reports, as ONE resumable command
(docs/zoo-and-generator.md).

Stages and what they leave in the run dir (``run_dir`` of the config):

1. zoo        ``zoo/<Task>/<ckpt>/`` PEFT adapters, ``zoo/index.json``      (retrained if missing)
2. scores     ``zoo/scores.json``: every checkpoint on its own task's test subsample (oracle numbers)
3. conditions in memory: train-prompt pools of every task, test-prompt pools of evaluated tasks
4. units      ``units/loo-<Task>.json`` / ``units/cross-<name>-<Task>.json``: one generator trained
              without the held-out task (or family), its LoRA evaluated with every control column
5. overhead   ``overhead.json``: oracle LoRA fine-tune wall time vs one generator forward
6. release    ``models/generator/`` (or ``--release-dir``): generator trained on all tasks, fp16
7. reports    ``reports/zero-shot.json`` + ``reports/zero-shot.md`` (or ``--reports-dir``)

Resuming: every finished unit is a small JSON file; ``--pack FILE`` writes the small state (index,
scores, units, overhead, release generator, log) into one tar.gz, ``--unpack FILE`` restores it on
a fresh machine. The zoo itself (~0.9 MB per checkpoint) is not packed: when its checkpoints are
missing it is retrained (about a minute), and units record which zoo build they used.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Dict, List

import torch

from trainer.generator.conditions import encode_prompts
from trainer.config import DEFAULT_DATASETS, REPO_ROOT, load_config, merge, resolve
from trainer.evaluate.scoring import evaluate_task
from trainer.export.onnx_model import sha256_file
from trainer.generator.reconstruction import (build_manifest, generate_lora, generate_tokens, train_generator,
                              validate_manifest)
from trainer.generator.hyperconv import save_generator
from trainer.lora.batched import LoraStack, layout_for, module_specs
from trainer.lora.tokens import detokenize, masked_mse, normalize, tokenize
from trainer.base.model import LlamaLM, ModelConfig
from trainer.safetensors_io import load_file
from trainer.tasks.staged import CHOICE_KINDS, load_tasks, subsample
from trainer.lora.zoo import checkpoints, load_adapter, score_zoo, train_group, train_zoo

COLUMNS = ["base", "training_mean", "training_best", "generated", "mismatched", "mean_lora", "oracle"]
# DESIGN.md §1 (paper, Qwen2.5-0.5B, training-LoRA average -> generated), for context only
PAPER = {"ARC-Easy": (37.5, 68.6), "BoolQ": (13.5, 44.9), "GSM8K": (42.9, 66.3)}


def add_args(p):
    p.add_argument("--config", default="trainer/configs/zoo.json")
    p.add_argument("--datasets", default=None, help="task datasets dir (default ../shared/datasets)")
    p.add_argument("--run-dir", default=None)
    p.add_argument("--time-limit", type=float, default=None, help="stop before this many seconds, resumable")
    p.add_argument("--pack", default=None, help="write the small resumable state to this tar.gz at the end")
    p.add_argument("--unpack", default=None, help="restore a state tar.gz first")
    p.add_argument("--reports-dir", default=None)
    p.add_argument("--release-dir", default=None)
    p.add_argument("--stages", default="all", help="comma list: zoo,scores,units,overhead,release,reports")
    p.add_argument("--device", default=None)
    p.add_argument("--commit", default=None)


class Ctx:
    pass


def log_to(path: Path):
    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return log


def load_base(cfg: dict, device):
    mdir = resolve(cfg["model_dir"])
    mcfg = ModelConfig.from_dict(json.loads((mdir / "config.json").read_text()))
    model = LlamaLM(mcfg)
    model.load_hf_state_dict(load_file(str(mdir / "model.safetensors")))
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if cfg.get("tokenizer", "hf") == "byte":
        from trainer.text.tokenizer import ByteTokenizer
        tok = ByteTokenizer()
    else:
        from trainer.text.tokenizer import HFTokenizer
        tok = HFTokenizer(mdir)
    return model, tok, mdir


def _commit(args) -> str:
    if args.commit:
        return args.commit
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return os.environ.get("GIT_COMMIT", "unknown")


def run(args) -> int:
    cfg = load_config(args.config)
    gpath = cfg.get("generator_config")
    gcfg = load_config(gpath) if gpath else {}
    gcfg = merge(gcfg, cfg.get("generator", {}))
    run_dir = resolve(args.run_dir or cfg["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.unpack:
        with tarfile.open(args.unpack) as tf:
            tf.extractall(run_dir)
    log = log_to(run_dir / "log.txt")
    t_start = time.time()
    limit = args.time_limit
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    stages = set(args.stages.split(",")) if args.stages != "all" else {"zoo", "scores", "units", "overhead", "release", "reports"}
    datasets = Path(args.datasets) if args.datasets else DEFAULT_DATASETS
    c = Ctx()
    c.cfg, c.gcfg, c.run_dir, c.device, c.log = cfg, gcfg, run_dir, device, log
    c.zcfg, c.ecfg, c.ccfg = cfg["zoo"], cfg["eval"], gcfg["condition"]
    c.model, c.tok, mdir = load_base(cfg, device)
    c.base_sha = sha256_file(mdir / "model.safetensors")
    names = cfg.get("tasks") or None
    c.tasks = load_tasks(datasets, names)
    log(f"device {device} ({torch.cuda.get_device_name(0) if device.type == 'cuda' else platform.processor() or 'cpu'}), "
        f"{len(c.tasks)} tasks, base sha256 {c.base_sha[:12]}")
    c.layout = layout_for(c.model.cfg, int(c.zcfg["rank"]), float(c.zcfg["alpha"]), c.zcfg["targets"],
                          int(gcfg["token"]["height"]), int(gcfg["token"]["width"]))
    zoo_dir = run_dir / "zoo"
    timings = _read(run_dir / "timings.json", {})

    def left():
        return None if limit is None else limit - (time.time() - t_start)

    # 1. zoo (retrained when its checkpoints are missing)
    if "zoo" in stages or "units" in stages or "scores" in stages or "release" in stages:
        t0 = time.time()
        _ensure_zoo(c, zoo_dir)
        timings["zoo_stage_s_last_call"] = round(time.time() - t0, 2)
    _write(run_dir / "timings.json", timings)
    if {"units", "release", "overhead"} & stages:
        t0 = time.time()
        _prepare_generator_data(c, zoo_dir)
        timings["conditions_and_tokens_s"] = round(time.time() - t0, 2)
    units_dir = run_dir / "units"
    units_dir.mkdir(exist_ok=True)
    stopped = False
    if "units" in stages:
        last = None
        for unit in _units(c):
            path = units_dir / f"{unit['id']}.json"
            if path.exists():
                continue
            if left() is not None and left() < (last or 40) * 1.3 + 20:
                log(f"[units] time limit: stopping before {unit['id']} ({left():.0f}s left)")
                stopped = True
                break
            t0 = time.time()
            res = _run_unit(c, unit)
            last = time.time() - t0
            res["seconds"] = round(last, 2)
            _write(path, res)
    if "overhead" in stages and not stopped and not (run_dir / "overhead.json").exists():
        if left() is None or left() > 60:
            _write(run_dir / "overhead.json", _overhead(c, zoo_dir))
    release_dir = resolve(args.release_dir or cfg.get("release_dir", "models/generator"))
    if "release" in stages and not stopped and not (run_dir / "release" / "generator.json").exists():
        if left() is None or left() > 90:
            _release(c, run_dir / "release", _commit(args))
    # scores last: the units compute their own oracle column; these are the zoo's per-task numbers
    if "scores" in stages and not stopped:
        t0 = time.time()
        sc = score_zoo(c.model, c.tok, c.tasks, c.zcfg, c.ecfg, zoo_dir, log,
                       deadline=None if limit is None else t_start + limit - 20)
        timings["scores_stage_s_last_call"] = round(time.time() - t0, 2)
        stopped = not sc.get("_complete", False)
    if (run_dir / "release" / "generator.json").exists() and "release" in stages:
        release_dir.mkdir(parents=True, exist_ok=True)
        for n in ("generator.json", "generator.safetensors"):
            (release_dir / n).write_bytes((run_dir / "release" / n).read_bytes())
    if "reports" in stages:
        rdir = resolve(args.reports_dir or cfg.get("reports_dir", "reports"))
        _reports(c, rdir, args, zoo_dir)
    _write(run_dir / "timings.json", timings)
    if args.pack:
        _pack(run_dir, args.pack)
        log(f"[pack] {args.pack} ({os.path.getsize(args.pack) / 1e6:.2f} MB)")
    return 0


def _read(path: Path, default):
    return json.loads(path.read_text()) if path.exists() else default


def _write(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def _pack(run_dir: Path, out: str) -> None:
    with tarfile.open(out, "w:gz") as tf:
        for rel in ("zoo/index.json", "zoo/scores.json", "overhead.json", "timings.json", "log.txt",
                    "release/generator.json", "release/generator.safetensors", "units"):
            p = run_dir / rel
            if p.exists():
                tf.add(str(p), arcname=rel)


def _ensure_zoo(c, zoo_dir: Path) -> None:
    index = _read(zoo_dir / "index.json", None)
    if index:
        missing = [j["task"] for g in index.get("groups", []) for j in g["jobs"]
                   for n in j["checkpoints"] if not (zoo_dir / j["task"] / n / "adapter_model.safetensors").exists()]
        if missing:
            c.log(f"[zoo] checkpoints missing on this machine ({len(missing)}): retraining the zoo")
            prev = index
            (zoo_dir / "index.json").unlink()
            zoo_dir.mkdir(parents=True, exist_ok=True)
            _write(zoo_dir / "index.previous.json", prev)
    idx = train_zoo(c.model, c.tok, c.tasks, c.zcfg, zoo_dir, c.log)
    c.zoo_build = idx.get("build") or _zoo_build(zoo_dir, idx)


def _zoo_build(zoo_dir: Path, idx: dict) -> str:
    """A short id of this zoo build (time it finished training), stored in the index."""
    b = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    idx["build"] = b
    _write(zoo_dir / "index.json", idx)
    return b


def _prepare_generator_data(c, zoo_dir: Path) -> None:
    """Raw tokens of every checkpoint, train-prompt pools of every task, test-prompt pools."""
    c.tokens, c.ckpt_names = {}, {}
    for t in sorted(c.tasks):
        names = checkpoints(zoo_dir, t)
        c.ckpt_names[t] = names
        c.tokens[t] = torch.stack([tokenize(load_adapter(zoo_dir, t, n), c.layout)[0] for n in names])
    npool = int(c.ccfg.get("pool_size", 64))
    c.cond_train, c.cond_test = {}, {}
    for t, task in sorted(c.tasks.items()):
        rows = subsample(task.train, npool, f"cond-train-{t}")
        c.cond_train[t] = encode_prompts(c.model, c.tok, rows, c.ccfg).half()
        rows = subsample(task.test, npool, f"cond-test-{t}")
        c.cond_test[t] = encode_prompts(c.model, c.tok, rows, c.ccfg).half()


def _units(c) -> List[dict]:
    ev = c.cfg["evaluation"]
    loo = [t for t in ev["loo_tasks"] if t in c.tasks]
    units = []
    for i, t in enumerate(loo):
        units.append({"id": f"loo-{t}", "kind": "loo", "target": t, "exclude": [t],
                      "pool": [x for x in loo if x != t], "mismatch": loo[(i + 1) % len(loo)] if len(loo) > 1 else t})
    for cd in ev.get("cross_domain", []):
        exclude = [t for t in cd["exclude"] if t in c.tasks]
        pool = [t for t in (cd.get("pool") or loo) if t in c.tasks and t not in exclude]
        for t in cd["targets"]:
            if t not in c.tasks:
                continue
            others = [x for x in cd["targets"] if x != t and x in c.tasks]
            units.append({"id": f"cross-{cd['name']}-{t}", "kind": "cross", "family": cd["name"], "target": t,
                          "exclude": exclude, "pool": pool,
                          "mismatch": others[0] if others else (pool[0] if pool else t)})
    return units


_GEN_CACHE: Dict[tuple, tuple] = {}


def _generator_for(c, exclude: List[str], seed: int):
    """One generator per excluded set (the cross-domain family's targets share one)."""
    key = (tuple(sorted(exclude)), seed)
    if key not in _GEN_CACHE:
        train = [t for t in sorted(c.tasks) if t not in exclude]
        model, mean, std, info = train_generator(c.gcfg, c.tokens, c.cond_train, train, c.layout, c.device, seed, c.log)
        _GEN_CACHE.clear()
        _GEN_CACHE[key] = (model, mean, std, info)
    return _GEN_CACHE[key]


def _adapter_stack(c, adapters: List[Dict[str, torch.Tensor]]) -> LoraStack:
    return LoraStack.from_adapters(adapters, int(c.zcfg["rank"]), float(c.zcfg["alpha"]),
                                   module_specs(c.model.cfg, c.zcfg["targets"]), c.model.cfg.num_hidden_layers, c.device)


def _run_unit(c, unit: dict) -> dict:
    t = unit["target"]
    task = c.tasks[t]
    ev = c.cfg["evaluation"]
    seed = int(ev.get("seed", 0))
    model, mean, std, info = _generator_for(c, unit["exclude"], seed)
    assert t not in info["train_tasks"], "held-out task leaked into generator training"
    g = torch.Generator().manual_seed(seed)
    p = int(c.gcfg["prompt_count"])
    draws = int(ev.get("generated_draws", 3))
    gens, mism = [], []
    mask = c.layout.mask()
    target = normalize(c.tokens[t].float(), mean, std, mask)  # the held-out task's own checkpoints
    mse = {"generated": [], "mismatched": []}
    for _ in range(draws):
        for name, src, out in (("generated", t, gens), ("mismatched", unit["mismatch"], mism)):
            idx = torch.randperm(c.cond_test[src].shape[0], generator=g)[:p]
            raw = generate_tokens(model, c.cond_test[src][idx].float(), mean, std).cpu()
            out.append(detokenize(raw, c.layout))
            pred = normalize(raw, mean, std, mask).unsqueeze(0)
            mse[name].append(float(masked_mse(pred.expand_as(target), target, mask)))
    # what the generator gets right about the held-out LoRA, in its own normalised units: the
    # training-zoo mean (all zeros after normalisation) is the reference a useful generator beats
    heldout_mse = {"generated": sum(mse["generated"]) / draws, "mismatched": sum(mse["mismatched"]) / draws,
                   "zoo_mean": float(masked_mse(torch.zeros_like(target), target, mask))}
    # one checkpoint per training-pool task: its last checkpoint of the first seed
    pool = unit["pool"]
    pool_ads = [load_adapter(c.run_dir / "zoo", s, c.ckpt_names[s][len(c.ckpt_names[s]) // len(c.zcfg["seeds"]) - 1])
                for s in pool]
    mean_lora = {k: torch.stack([a[k] for a in pool_ads]).mean(0) for k in pool_ads[0]} if pool_ads else None
    oracle_ads = [load_adapter(c.run_dir / "zoo", t, n) for n in c.ckpt_names[t]]
    groups = [("generated", gens), ("mismatched", mism), ("mean_lora", [mean_lora] if mean_lora else []),
              ("training", pool_ads), ("oracle", oracle_ads)]
    ads = [a for _, lst in groups for a in lst]
    size = ev.get("cross_test_size", ev.get("test_size")) if unit["kind"] == "cross" else ev.get("test_size")
    rows = subsample(task.test, size, f"eval-{t}")
    t0 = time.time()
    res = evaluate_task(c.model, c.tok, task, rows, _adapter_stack(c, ads), c.ecfg, metrics=("gen", "loglik"),
                        keep_outputs=3)
    base = evaluate_task(c.model, c.tok, task, rows, None, c.ecfg, metrics=("gen", "loglik"))
    eval_s = time.time() - t0
    out = {"id": unit["id"], "kind": unit["kind"], "task": t, "task_kind": task.kind, "test_size": len(rows),
           "test_total": len(task.test), "prompt_count": p, "generated_draws": draws, "mismatch_task": unit["mismatch"],
           "training_pool": pool, "excluded_from_generator": unit["exclude"], "family": unit.get("family"),
           "generator": info, "zoo_build": getattr(c, "zoo_build", None), "seed": seed,
           "eval_seconds": round(eval_s, 2), "eval_items": len(rows) * (len(ads) + 1),
           "samples_generated": res.get("samples", []), "heldout_token_mse": heldout_mse}
    for metric in ("gen", "loglik"):
        if metric not in res:
            continue
        v = res[metric]
        cols = {"base": base[metric][0]}
        i = 0
        for name, lst in groups:
            part = v[i : i + len(lst)]
            i += len(lst)
            if not part:
                continue
            if name == "training":
                cols["training_mean"] = sum(part) / len(part)
                cols["training_best"] = max(part)
                cols["training_per_task"] = dict(zip(pool, part))
            elif name == "oracle":
                cols["oracle"] = sum(part) / len(part)
                cols["oracle_best"] = max(part)
            else:
                cols[name] = sum(part) / len(part)
                if name == "generated":
                    cols["generated_per_draw"] = part
        out[metric] = cols
    c.log(f"[unit] {unit['id']}: " + " | ".join(
        f"{m}: " + ", ".join(f"{k} {out[m][k]:.3f}" for k in COLUMNS if k in out[m]) for m in ("gen", "loglik") if m in out))
    return out


def _sync(c):
    if c.device.type == "cuda":
        torch.cuda.synchronize()


def _overhead(c, zoo_dir: Path) -> dict:
    """Wall time of one oracle LoRA fine-tune (zoo settings, one adapter, K=1) vs one generator
    forward (tokenise + encode P prompts + decode + detokenise), same device."""
    ev = c.cfg["evaluation"]
    t = ev.get("overhead_task") or ev["loo_tasks"][0]
    if t not in c.tasks:
        t = sorted(c.tasks)[0]
    tmp = c.run_dir / "overhead-ft"
    _sync(c)
    t0 = time.time()
    info = train_group(c.model, c.tok, c.tasks, [{"task": t, "seed": 999}], c.zcfg, tmp, c.log)
    _sync(c)
    ft = time.time() - t0
    if _GEN_CACHE:  # any trained generator has the same forward cost
        model, mean, std, _ = next(iter(_GEN_CACHE.values()))
    else:
        model, mean, std, _ = train_generator(c.gcfg, c.tokens, c.cond_train, sorted(c.tasks), c.layout, c.device,
                                              0, c.log, steps=5)
    p = int(c.gcfg["prompt_count"])
    rows = subsample(c.tasks[t].test, p, f"overhead-{t}")
    times = []
    for _ in range(int(ev.get("overhead_reps", 20))):
        _sync(c)
        t1 = time.time()
        cond = encode_prompts(c.model, c.tok, rows, c.ccfg)
        generate_lora(model, cond, mean, std, c.layout)
        _sync(c)
        times.append(time.time() - t1)
    times.sort()
    med = times[len(times) // 2]
    return {"task": t, "finetune_seconds": round(ft, 3), "finetune_steps": info["steps"],
            "finetune_note": "one adapter alone (K=1), zoo settings, including data encoding; the zoo trains many at once",
            "generator_forward_seconds_median": round(med, 5), "generator_forward_reps": len(times),
            "generator_forward_includes": "tokenise + encode P prompts + decode + detokenise (warm)",
            "ratio": round(ft / med, 1), "paper_ratio": 12000}


def _release(c, out: Path, commit: str) -> None:
    train = sorted(c.tasks)
    steps = int(c.gcfg.get("release_steps", c.gcfg["steps"]))
    model, mean, std, info = train_generator(c.gcfg, c.tokens, c.cond_train, train, c.layout, c.device,
                                             int(c.cfg["evaluation"].get("seed", 0)), c.log, steps=steps)
    training = {"tasks": train, "checkpoints": info["checkpoints"], "steps": info["steps"],
                "batch_size": info["batch_size"], "loss_first": info["loss_first"], "loss_last": info["loss_last"],
                "seconds": info["seconds"], "commit": commit, "zoo": {k: c.zcfg[k] for k in ("rank", "alpha", "seeds", "steps", "save_steps", "lr", "batch_size")},
                "noise": {"cond_noise": c.gcfg.get("cond_noise"), "token_noise": c.gcfg.get("token_noise")},
                "condition_pool_size": int(c.ccfg.get("pool_size", 64)),
                "command": "python -m trainer zoo-and-generator --config " + str(c.cfg.get("_path", "trainer/configs/zoo.json"))}
    manifest = build_manifest(model.config, c.layout, c.ccfg, c.cfg.get("base_id", "dnd-base-llama-25m"), c.base_sha,
                              c.model.cfg.hidden_size, training, c.gcfg.get("normalization", "per_matrix"))
    validate_manifest(manifest)
    save_generator(str(out), model.cpu(), manifest, token_mean=mean, token_std=std, dtype=torch.float16)
    validate_manifest(json.loads((out / "generator.json").read_text()), load_file(str(out / "generator.safetensors")))
    c.log(f"[release] {out}: {info['parameters']:,} params, loss {info['loss_first']} -> {info['loss_last']}")


def _fmt(v):
    return "-" if v is None else f"{100 * v:.1f}"


def _reports(c, rdir: Path, args, zoo_dir: Path) -> None:
    rdir.mkdir(parents=True, exist_ok=True)
    units = {p.stem: json.loads(p.read_text()) for p in sorted((c.run_dir / "units").glob("*.json"))}
    ev = c.cfg["evaluation"]
    expected = [u["id"] for u in _units(c)]
    rows, rows_ll, rows_cross = [], [], []
    for uid in expected:
        u = units.get(uid)
        if not u:
            continue
        if u["kind"] == "loo":
            if "gen" in u:
                rows.append({"task": u["task"], **{k: u["gen"].get(k) for k in COLUMNS}})
            if "loglik" in u:
                rows_ll.append({"task": u["task"], **{k: u["loglik"].get(k) for k in COLUMNS}})
        else:
            for m in ("gen", "loglik"):
                if m in u:
                    rows_cross.append({"family_excluded": u["family"], "task": u["task"], "metric": m,
                                       **{k: u[m].get(k) for k in COLUMNS}})
    overhead = _read(c.run_dir / "overhead.json", None)
    zindex = _read(zoo_dir / "index.json", {})
    gpu = torch.cuda.get_device_name(0) if c.device.type == "cuda" else "none (cpu)"
    report = {
        "complete": all(u in units for u in expected), "missing_units": [u for u in expected if u not in units],
        "columns": COLUMNS, "metric_rows": "gen (generate-then-parse accuracy)", "metric_rows_loglik": "log-likelihood choice accuracy",
        "rows": rows, "rows_loglik": rows_ll, "rows_cross": rows_cross,
        "test_sizes": {u["task"] + ("" if u["kind"] == "loo" else f" ({u['family']})"): {"used": u["test_size"], "total": u["test_total"]}
                       for u in units.values()},
        "seeds": {"evaluation": ev.get("seed", 0), "zoo": c.zcfg["seeds"], "generated_draws": ev.get("generated_draws", 3)},
        "zoo": {k: zindex.get(k) for k in ("adapters", "checkpoints", "seconds", "adapter_steps_per_s", "build")},
        "zoo_settings": c.zcfg, "generator_settings": {k: v for k, v in c.gcfg.items() if k != "why"},
        "overhead": overhead, "zoo_scores": _zoo_scores(_read(zoo_dir / "scores.json", {})), "units": units,
        "commit": _commit(args), "command": "python -m trainer zoo-and-generator " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v and k not in ("_module", "command", "pack", "unpack")),
        "gpu": gpu, "torch": torch.__version__, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (rdir / "zero-shot.json").write_text(json.dumps(report, indent=1) + "\n")
    md = _markdown(report)
    extra = rdir / "zero-shot-investigation.md"  # hand-written reading of generator-probe runs, kept across rewrites
    if extra.exists():
        md += "\n" + extra.read_text()
    (rdir / "zero-shot.md").write_text(md)


def _zoo_scores(scores: dict) -> dict:
    """Per task: mean (and best) over its checkpoints on its own test subsample, and the base model."""
    out = {}
    for t, v in scores.items():
        if t.startswith("_"):
            continue
        e = {"kind": v["kind"], "test_size": v["test_size"], "checkpoints": len(v["checkpoints"]), "base": v["base"]}
        for m in ("gen", "loglik", "nll"):
            if m in v:
                e[m] = round(sum(v[m]) / len(v[m]), 5)
                e[m + ("_best" if m != "nll" else "_min")] = round((max if m != "nll" else min)(v[m]), 5)
        out[t] = e
    return out


def _table(rows, key="task"):
    head = f"| {key} | " + " | ".join(COLUMNS) + " |\n|---|" + "---:|" * len(COLUMNS) + "\n"
    return head + "".join(f"| {r[key]} | " + " | ".join(_fmt(r.get(k)) for k in COLUMNS) + " |\n" for r in rows)


def _markdown(rep: dict) -> str:
    lines = ["# Zero-shot LoRA generation: leave-one-out evaluation", "",
             f"Written by `{rep['command']}` at commit `{rep['commit']}` on {rep['gpu']} ({rep['written']}).",
             "Every number is accuracy in % on a fixed-seed subsample of the task's test split (sizes below).",
             "" if rep["complete"] else f"**Incomplete run**: missing units {', '.join(rep['missing_units'])}.", "",
             "## Generate-then-parse accuracy (leave-one-out)", "", _table(rep["rows"]), "",
             "## Log-likelihood accuracy (leave-one-out, choice tasks)", "", _table(rep["rows_loglik"]), "",
             "## Cross-domain (generator trained without a whole family)", ""]
    if rep["rows_cross"]:
        lines.append("| excluded family | task | metric | " + " | ".join(COLUMNS) + " |\n|---|---|---|" + "---:|" * len(COLUMNS))
        for r in rep["rows_cross"]:
            lines.append(f"| {r['family_excluded']} | {r['task']} | {r['metric']} | " + " | ".join(_fmt(r.get(k)) for k in COLUMNS) + " |")
    lines += ["", "## Paper numbers, for context only", "",
              "Drag-and-Drop LLMs (Qwen2.5-0.5B, its own zoo and test sets), training-LoRA average -> generated:",
              "", "| task | paper training mean | paper generated | ours training_mean (gen) | ours generated (gen) |",
              "|---|---:|---:|---:|---:|"]
    ours = {r["task"]: r for r in rep["rows"] + [x for x in rep["rows_cross"] if x["metric"] == "gen"]}
    for t, (a, b) in PAPER.items():
        o = ours.get(t, {})
        lines.append(f"| {t} | {a} | {b} | {_fmt(o.get('training_mean'))} | {_fmt(o.get('generated'))} |")
    lines += ["", "## Test sizes", "", "| task | used | total |", "|---|---:|---:|"]
    for t, s in rep["test_sizes"].items():
        lines.append(f"| {t} | {s['used']} | {s['total']} |")
    oh = rep.get("overhead")
    lines += ["", "## Overhead", ""]
    if oh:
        lines.append(f"Fine-tuning one oracle LoRA on {oh['task']} ({oh['finetune_steps']} steps, alone): "
                     f"{oh['finetune_seconds']} s; one generator forward ({oh['generator_forward_includes']}): "
                     f"{1000 * oh['generator_forward_seconds_median']:.2f} ms median of {oh['generator_forward_reps']}. "
                     f"Ratio {oh['ratio']}x (paper: {oh['paper_ratio']}x, different model, zoo and hardware).")
    else:
        lines.append("Not measured in this run.")
    mses = [(u["task"] + ("" if u["kind"] == "loo" else f" ({u['family']})"), u.get("heldout_token_mse"), u["generator"])
            for u in rep["units"].values() if u.get("heldout_token_mse")]
    if mses:
        lines += ["", "## Held-out LoRA tokens: masked MSE in the generator's normalised units", "",
                  "Against the held-out task's own checkpoints; `zoo_mean` predicts the training zoo's mean (all "
                  "zeros after normalisation), the bar a prompt-conditioned generator has to clear. Beside it the "
                  "generator's own training loss (last steps, with noise augmentation) and the floor a generator "
                  "that knew each training task exactly would reach (spread of checkpoints around their task mean).", "",
                  "| task | generated | mismatched | zoo_mean | train loss | train floor |", "|---|---:|---:|---:|---:|---:|"]
        for name, m, g in mses:
            floor = g.get("loss_floor_task_oracle")
            lines.append(f"| {name} | {m['generated']:.4f} | {m['mismatched']:.4f} | {m['zoo_mean']:.4f} | "
                         f"{g['loss_last']:.4f} | {'-' if floor is None else f'{floor:.4f}'} |")
    zs = rep.get("zoo_scores") or {}
    if zs:
        lines += ["", "## The zoo on its own tasks (mean over checkpoints; base model beside it)", "",
                  "| task | kind | n | ckpts | gen | base gen | loglik | base loglik | nll | base nll |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for t, e in zs.items():
            b = e["base"]
            nll = lambda v: "-" if v is None else f"{v:.3f}"
            lines.append(f"| {t} | {e['kind']} | {e['test_size']} | {e['checkpoints']} | {_fmt(e.get('gen'))} | "
                         f"{_fmt(b.get('gen'))} | {_fmt(e.get('loglik'))} | {_fmt(b.get('loglik'))} | "
                         f"{nll(e.get('nll'))} | {nll(b.get('nll'))} |")
    lines += ["", "## Reading", "", _reading(rep), ""]
    return "\n".join(lines) + "\n"


def _reading(rep: dict) -> str:
    """A plain statement of what the numbers show, computed from them (no claims beyond them)."""
    out = []
    for label, rows in (("generate-then-parse", rep["rows"]), ("log-likelihood", rep["rows_loglik"])):
        rs = [r for r in rows if r.get("generated") is not None]
        if not rs:
            continue
        def avg(k):
            v = [r[k] for r in rs if r.get(k) is not None]
            return sum(v) / len(v) if v else None
        a = {k: avg(k) for k in COLUMNS}
        beat_mean = sum(1 for r in rs if r.get("training_mean") is not None and r["generated"] > r["training_mean"])
        beat_mis = sum(1 for r in rs if r.get("mismatched") is not None and r["generated"] > r["mismatched"])
        beat_avg = sum(1 for r in rs if r.get("mean_lora") is not None and r["generated"] > r["mean_lora"])
        out.append(f"{label}, mean over {len(rs)} held-out tasks: " + ", ".join(f"{k} {_fmt(v)}" for k, v in a.items())
                   + f". Generated beats training_mean on {beat_mean}/{len(rs)}, mismatched on {beat_mis}/{len(rs)}, "
                   f"mean_lora on {beat_avg}/{len(rs)} tasks.")
    out.append("Differences of a few points are within the noise of these subsample sizes (binomial standard error "
               "about 3.5 points at n=200 and 50% accuracy); a generated LoRA that matches `mismatched` is not "
               "prompt-specific, and one that matches `mean_lora` does no better than averaging the zoo.")
    return "\n\n".join(out)
