"""``python -m trainer generator-probe``: why does a generator predict the zoo's mean? (issue 4)

The first real run's generators reached a training loss of about 1.0 in normalised units (what the
zoo's mean scores) against a floor of about 0.23 (a generator that knew every training task), and
their held-out tokens equalled the zoo mean to four digits: the output ignored the prompts. This
command measures, on the same zoo, which generator settings fit the training tasks and whether any
transfers to unseen tasks, **selecting on validation tasks that are not evaluation targets** (no
leave-one-out or cross-domain target is held out, trained on, or scored here).

For each variant (overrides of ``trainer/configs/generator.json``) one generator trains on every task
except the validation tasks; then, in one common space (per-position statistics of the training
tasks' checkpoints):

- ``train_fit``: masked MSE of generated tokens (train prompts) against the training tasks' own
  checkpoints, beside ``zoo_mean`` (1.0 by construction) and the task-oracle floor;
- ``val``: the same for each validation task (test prompts), with ``mismatched`` (another validation
  task's prompts) and ``zoo_mean``;
- ``val_acc``: generate-then-parse and log-likelihood accuracy of generated, mismatched and the
  training zoo's ``mean_lora`` on the validation choice tasks.

Also written: the spectrum of the task means (how many directions the between-task variance needs)
and a ridge regression from mean-pooled conditions to tokens (a linear reference for "do the
prompts predict the LoRA of an unseen task at all").
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from trainer.config import DEFAULT_DATASETS, load_config, merge, resolve
from trainer.evaluate.scoring import evaluate_task
from trainer.generator.reconstruction import generate_tokens, train_generator
from trainer.lora.batched import layout_for
from trainer.lora.tokens import compute_stats, detokenize, masked_mse, normalize
from trainer.tasks.staged import CHOICE_KINDS, load_tasks, subsample
from trainer.evaluate.reconstruction_pipeline import Ctx, _adapter_stack, _commit, _ensure_zoo, _prepare_generator_data, load_base, log_to
from trainer.lora.zoo import load_adapter


def add_args(p):
    p.add_argument("--config", default="trainer/configs/zoo.json")
    p.add_argument("--probe", default="trainer/configs/probe.json")
    p.add_argument("--datasets", default=None)
    p.add_argument("--run-dir", default=None)
    p.add_argument("--out", default="trainer/runs/probe.json")
    p.add_argument("--device", default=None)
    p.add_argument("--variants", default=None, help="comma list (default: all in the probe config)")
    p.add_argument("--commit", default=None, help="the commit (the GPU machine's copy has no .git)")


def _spectrum(normed, train):
    """Fraction of the between-task variance of normalised task means in the top-k directions."""
    means = torch.stack([normed[t].mean(0).reshape(-1) for t in train])
    means = means - means.mean(0, keepdim=True)
    s = torch.linalg.svdvals(means.double())
    e = (s ** 2) / (s ** 2).sum()
    cum = torch.cumsum(e, 0)
    return {f"top{k}": round(float(cum[min(k, len(cum)) - 1]), 4) for k in (1, 2, 4, 8, 16, 32) if k <= len(cum)}


def _pooled(cond):
    """(n, L, C) -> (C,): mean over the real (non-zero) token rows of every prompt."""
    real = (cond.abs().sum(-1) > 0).float()
    return (cond.float() * real.unsqueeze(-1)).sum((0, 1)) / real.sum().clamp_min(1.0)


def _ridge(c, normed, train, val, mask, p, g, lambdas):
    """Linear map pooled condition (P prompts) -> normalised tokens, fitted on the training tasks."""
    xs, ys = [], []
    for t in train:
        target = normed[t]
        for _ in range(8):
            idx = torch.randperm(c.cond_train[t].shape[0], generator=g)[:p]
            xs.append(_pooled(c.cond_train[t][idx]))
            ys.append(target[int(torch.randint(target.shape[0], (1,), generator=g))].reshape(-1))
    dev = c.device
    x = torch.stack(xs).to(dev)
    y = torch.stack(ys).to(dev)
    mu = x.mean(0, keepdim=True)
    sd = x.std(0, keepdim=True).clamp_min(1e-6)
    xz = torch.cat([(x - mu) / sd, torch.ones(x.shape[0], 1, device=dev)], 1)
    out = {}
    for lam in lambdas:
        a = xz.T @ xz + lam * torch.eye(xz.shape[1], device=dev)
        w = torch.linalg.solve(a, xz.T @ y)
        per = {}
        for t in val:
            target = normed[t].to(dev)
            errs = []
            for _ in range(3):
                idx = torch.randperm(c.cond_test[t].shape[0], generator=g)[:p]
                q = torch.cat([((_pooled(c.cond_test[t][idx]).to(dev) - mu[0]) / sd[0]), torch.ones(1, device=dev)])
                pred = (q @ w).reshape(target.shape[1:])
                errs.append(float(masked_mse(pred.unsqueeze(0).expand_as(target), target, mask.to(dev))))
            per[t] = round(sum(errs) / len(errs), 4)
        out[str(lam)] = {"val": per, "val_mean": round(sum(per.values()) / len(per), 4)}
    return out


def _mse(pred_raw, target, mean, std, mask):
    """Masked MSE of raw tokens against a task's normalised checkpoints (the common space)."""
    pred = normalize(pred_raw.float(), mean, std, mask).unsqueeze(0)
    return float(masked_mse(pred.expand_as(target), target, mask))


def run(args) -> int:
    cfg = load_config(args.config)
    pcfg = load_config(args.probe)
    gcfg0 = merge(load_config(cfg["generator_config"]), cfg.get("generator", {}))
    run_dir = resolve(args.run_dir or cfg["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    c = Ctx()
    c.cfg, c.gcfg, c.run_dir, c.device, c.log = cfg, gcfg0, run_dir, device, log_to(run_dir / "probe-log.txt")
    c.zcfg, c.ecfg, c.ccfg = cfg["zoo"], cfg["eval"], gcfg0["condition"]
    c.model, c.tok, _ = load_base(cfg, device)
    c.tasks = load_tasks(Path(args.datasets) if args.datasets else DEFAULT_DATASETS, cfg.get("tasks") or None)
    c.layout = layout_for(c.model.cfg, int(c.zcfg["rank"]), float(c.zcfg["alpha"]), c.zcfg["targets"],
                          int(gcfg0["token"]["height"]), int(gcfg0["token"]["width"]))
    ev = cfg["evaluation"]
    targets = set(ev["loo_tasks"]) | {t for cd in ev.get("cross_domain", []) for t in cd["targets"]}
    val = [t for t in pcfg["validation_tasks"] if t in c.tasks]
    clash = sorted(set(val) & targets)
    if clash:
        raise SystemExit(f"validation tasks must not be evaluation targets: {clash}")
    t0 = time.time()
    _ensure_zoo(c, run_dir / "zoo")
    _prepare_generator_data(c, run_dir / "zoo")
    c.log(f"[probe] zoo + conditions {time.time() - t0:.1f}s")
    train = [t for t in sorted(c.tasks) if t not in val]
    mask = c.layout.mask()
    mean, std = compute_stats(torch.cat([c.tokens[t].float() for t in train]), c.layout, "per_position")
    normed = {t: normalize(c.tokens[t].float(), mean, std, mask) for t in c.tokens}  # once, for every variant
    p = int(gcfg0["prompt_count"])
    g = torch.Generator().manual_seed(0)
    report = {"commit": _commit(args), "command": "python -m trainer generator-probe " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None and k not in ("_module", "command", "out")),
              "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else "none (cpu)", "torch": torch.__version__,
              "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "validation_tasks": val, "train_tasks": len(train), "common_space": "per_position stats of the training tasks",
              "spectrum_task_means": _spectrum(normed, train)}
    c.log(f"[probe] spectrum {report['spectrum_task_means']}")
    report["ridge"] = _ridge(c, normed, train, val, mask, p, g, pcfg.get("ridge_lambdas", [1.0, 100.0, 10000.0]))
    c.log(f"[probe] ridge {json.dumps({k: v['val_mean'] for k, v in report['ridge'].items()})}")
    report["zoo_mean_val"] = {t: round(float(masked_mse(torch.zeros_like(normed[t]), normed[t], mask)), 4) for t in val}
    eval_tasks = [t for t in pcfg.get("eval_tasks", []) if t in val and c.tasks[t].kind in CHOICE_KINDS]
    rows = {t: subsample(c.tasks[t].test, int(pcfg.get("eval_size", 100)), f"eval-{t}") for t in eval_tasks}
    pool_ads = [load_adapter(run_dir / "zoo", s, c.ckpt_names[s][len(c.ckpt_names[s]) // len(c.zcfg["seeds"]) - 1]) for s in train]
    mean_lora = {k: torch.stack([a[k] for a in pool_ads]).mean(0) for k in pool_ads[0]}
    base_acc = {}
    for t in eval_tasks:
        b = evaluate_task(c.model, c.tok, c.tasks[t], rows[t], None, c.ecfg, metrics=("gen", "loglik"))
        base_acc[t] = {m: b[m][0] for m in b if m in ("gen", "loglik")}
    report["base_acc"] = base_acc
    names = args.variants.split(",") if args.variants else list(pcfg["variants"])
    report["variants"] = {}
    for name in names:
        gcfg = merge(gcfg0, pcfg["variants"][name])
        tv = time.time()
        model, vmean, vstd, info = train_generator(gcfg, c.tokens, c.cond_train, train, c.layout, c.device, 0, c.log)
        fit = []
        for t in train:
            idx = torch.randperm(c.cond_train[t].shape[0], generator=g)[:p]
            fit.append(_mse(generate_tokens(model, c.cond_train[t][idx].float(), vmean, vstd).cpu(), normed[t], mean, std, mask))
        res = {"overrides": pcfg["variants"][name], "generator": {k: info[k] for k in ("steps", "seconds", "loss_first", "loss_last",
               "loss_floor_task_oracle", "parameters", "flops_per_forward")},
               "train_fit": round(sum(fit) / len(fit), 4), "val": {}, "val_acc": {}}
        gens = {}
        for i, t in enumerate(val):
            other = val[(i + 1) % len(val)]
            e = {"generated": [], "mismatched": []}
            for _ in range(3):
                for col, src in (("generated", t), ("mismatched", other)):
                    idx = torch.randperm(c.cond_test[src].shape[0], generator=g)[:p]
                    raw = generate_tokens(model, c.cond_test[src][idx].float(), vmean, vstd).cpu()
                    e[col].append(_mse(raw, normed[t], mean, std, mask))
                    if col == "generated" and t not in gens:
                        gens[t] = detokenize(raw, c.layout)
                    if col == "mismatched" and ("mm", t) not in gens:
                        gens[("mm", t)] = detokenize(raw, c.layout)
            res["val"][t] = {k: round(sum(v) / len(v), 4) for k, v in e.items()}
        res["val_mean"] = {k: round(sum(res["val"][t][k] for t in val) / len(val), 4) for k in ("generated", "mismatched")}
        for t in eval_tasks:
            ads = [gens[t], gens[("mm", t)], mean_lora]
            r = evaluate_task(c.model, c.tok, c.tasks[t], rows[t], _adapter_stack(c, ads), c.ecfg, metrics=("gen", "loglik"))
            res["val_acc"][t] = {m: dict(zip(("generated", "mismatched", "mean_lora"), r[m])) for m in r if m in ("gen", "loglik")}
        res["seconds"] = round(time.time() - tv, 1)
        report["variants"][name] = res
        c.log(f"[probe] {name}: train_fit {res['train_fit']} val {res['val_mean']} ({res['seconds']}s)")
        out = resolve(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
    return 0
