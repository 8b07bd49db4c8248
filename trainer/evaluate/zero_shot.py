"""``python -m trainer zero-shot``: the end-to-end generator run (docs/zero-shot.md), as resumable
stages that each fit one GPU call:

1. ``zoo``        one LoRA per pool task (seed 0), a second seed for every staged dataset
                  (diagnostic b); ``zoo/`` (PEFT fp16), ``zoo/index.json``
2. ``controls``   for every evaluation unit and held-out staged task: base, mean_lora, retrieval,
                  oracle (zoo-based controls), scored user-turn-only (NLL, generate-then-parse,
                  log-likelihood choice) and with the instruction (NLL); zoo diagnostics (b) and
                  fit floors (c); ``results/controls-<unit>.json``, ``results/diag-zoo.json``
3. ``generators`` every generator (one per unit, per inner half, a one-hot probe) and every
                  multitask_lora trained at once (trainer/generator/end_to_end.py); the gate
                  calibrated on inner halves (trainer/generator/gate.py); generated / ungated /
                  mismatched / multitask_lora scored; the probe of task identity (a) and the fit
                  sanity (c); ``results/generated-<unit>.json``, ``results/diag-*.json``; the release
                  generator in ``release/`` (manifest v2, validated)
4. ``report``     ``reports/zero-shot.{json,md}`` from ``results/`` (trainer/evaluate/zero_shot_report.py)

Stages 1-2 and 3 are independent (3 trains its own multitask LoRAs and needs no zoo), so each can
run in its own GPU call; every stage writes small JSON results that ``--pack`` puts in a tar.gz.
The user turn alone is shown everywhere (no system instruction) except the ``*_instr`` NLL columns.
"""
from __future__ import annotations

import json
import platform
import random
import tarfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

from trainer.config import DEFAULT_DATASETS, load_config, resolve
from trainer.evaluate.reconstruction_pipeline import _commit, load_base, log_to
from trainer.evaluate.scoring import evaluate_items
from trainer.export.onnx_model import sha256_file
from trainer.generator.conditions import encode_prompts
from trainer.generator.end_to_end import (GeneratorBank, Member, TaskData, ValueLayout, length_bucket, shared_init,
                                          train_bank)
from trainer.generator.gate import GateTable, best_scales, choose, loo_metrics, output_feature, pooled, relative_curves
from trainer.generator.hyperconv import DecoderConfig
from trainer.lora.batched import LoraStack, layout_for, module_specs
from trainer.lora.zoo import encode_train, load_adapter, train_zoo
from trainer.tasks.pool import PoolTask, Unit, build_pool, check_no_leak, make_units, mismatched_task
from trainer.tasks.staged import CHOICE_KINDS, Task, load_tasks, subsample

STAGES = ("zoo", "controls", "generators", "report")


def add_args(p):
    p.add_argument("--config", default="trainer/configs/zero-shot.json")
    p.add_argument("--datasets", default=None, help="staged datasets dir (default ../shared/datasets)")
    p.add_argument("--run-dir", default=None)
    p.add_argument("--stages", default="zoo,controls,generators,report", help=f"comma list of {STAGES}")
    p.add_argument("--pack", default=None, help="write results/ (small JSON) + the release generator to this tar.gz")
    p.add_argument("--unpack", default=None, help="restore a packed tar.gz into the run dir first (may repeat: comma list)")
    p.add_argument("--reports-dir", default=None)
    p.add_argument("--release-dir", default=None, help="copy the release generator here (default: the config's)")
    p.add_argument("--device", default=None)
    p.add_argument("--commit", default=None)
    p.add_argument("--time-limit", type=float, default=None, help="seconds for the generator training loop")
    p.add_argument("--train-steps", type=int, default=None,
                   help="at most this many generator training steps in this call; the next call continues from the checkpoint")
    p.add_argument("--deadline", type=float, default=None,
                   help="seconds after the start: evaluation loops stop before a unit past it (resumable; the report says what is missing)")


def user_turn(rows: List[dict]) -> List[dict]:
    return [{**r, "system": ""} for r in rows]


class Run:
    """Everything the stages share: config, base model, tokenizer, pool, units, conditions."""

    def __init__(self, args):
        self.args = args
        self.cfg = load_config(args.config)
        if "extends" in self.cfg:  # a smoke config: the real one with a few sizes changed
            from trainer.config import merge

            self.cfg = merge(load_config(resolve(self.cfg["extends"])), {k: v for k, v in self.cfg.items() if k != "extends"})
        self.run_dir = resolve(args.run_dir or self.cfg["run_dir"])
        (self.run_dir / "results").mkdir(parents=True, exist_ok=True)
        for pack in (args.unpack or "").split(","):
            if pack:
                with tarfile.open(pack) as tf:
                    tf.extractall(self.run_dir)
        self.log = log_to(self.run_dir / "log.txt")
        self.device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.call = "-".join(x.strip() for x in args.stages.split(",") if x.strip())
        self.commit = _commit(args)
        self.timings = (self.read(f"call-{self.call}.json") or {}).get("timings", {})
        self.t_start = time.time()

    def past_deadline(self, what: str) -> bool:
        if self.args.deadline is not None and time.time() - self.t_start > self.args.deadline:
            self.log(f"deadline ({self.args.deadline:.0f}s) passed: {what} skipped, rerun the stage to finish it")
            return True
        return False

    # ---- small JSON results --------------------------------------------------------------------
    def read(self, name: str, default=None):
        p = self.run_dir / "results" / name
        return json.loads(p.read_text()) if p.exists() else default

    def write(self, name: str, obj) -> None:
        (self.run_dir / "results" / name).write_text(json.dumps(obj, indent=1))

    def timed(self, stage: str, secs: float) -> None:
        """Wall time per stage, in this call's own record (``call-<stages>.json``: commit, device,
        stages, timings), so that calls made at different commits or on different machines stay apart."""
        self.timings[stage] = round(self.timings.get(stage, 0.0) + secs, 1)
        self.write(f"call-{self.call}.json", {"stages": self.call, "commit": self.commit,
                                              "device": getattr(self, "device_name", None), "torch": torch.__version__,
                                              "timings": self.timings})

    # ---- shared setup ----------------------------------------------------------------------------
    def setup(self):
        t0 = time.time()
        cfg = self.cfg
        self.model, self.tok, mdir = load_base(cfg, self.device)
        self.base_sha = sha256_file(mdir / "model.safetensors")
        datasets = Path(self.args.datasets) if self.args.datasets else DEFAULT_DATASETS
        staged = load_tasks(datasets, cfg.get("tasks") or None)
        syn = []
        scfg = cfg["pool"].get("synthetic")
        if scfg:
            from trainer.tasks.factory import synthetic_tasks

            syn = synthetic_tasks(int(scfg.get("seed", 0)), int(scfg.get("train_rows", 300)), int(scfg.get("test_rows", 60)))
            if scfg.get("max_tasks"):  # toy runs: an even spread over the families
                step = -(-len(syn) // int(scfg["max_tasks"]))
                syn = syn[::step]
        self.pool: Dict[str, PoolTask] = build_pool(staged, cfg["pool"], syn)
        self.units: List[Unit] = make_units(self.pool, cfg["units"])
        for u in self.units:
            check_no_leak(self.pool, u)
        lc = cfg["lora"]
        self.rank, self.alpha, self.targets = int(lc["rank"]), float(lc["alpha"]), list(lc["targets"])
        g = cfg["generator"]
        self.layout = layout_for(self.model.cfg, self.rank, self.alpha, self.targets,
                                 int(g["token"]["height"]), int(g["token"]["width"]))
        self.vl = ValueLayout(self.layout)
        self.specs = module_specs(self.model.cfg, self.targets)
        self.ccfg = dict(cfg["condition"])
        self.ecfg = dict(cfg["eval"])
        dev = self.device.type
        name = torch.cuda.get_device_name(0) if dev == "cuda" else (platform.processor() or "cpu")
        self.device_name = name
        n_src = {}
        for t in self.pool.values():
            n_src[t.source] = n_src.get(t.source, 0) + 1
        self.write("run-info.json", {"device": name, "torch": torch.__version__, "commit": self.commit,
                                     "pool": n_src, "units": [u.id for u in self.units], "base_sha256": self.base_sha})
        self.log(f"device {self.device} ({name}), torch {torch.__version__}; pool {len(self.pool)} tasks {n_src}; "
                 f"units {[u.id for u in self.units]}; base sha256 {self.base_sha[:12]}")
        self.timed("setup", time.time() - t0)

    def eval_units(self) -> List[Unit]:
        return [u for u in self.units if u.protocol in ("all_tasks", "paper")]

    def eval_rows(self, name: str) -> List[dict]:
        return self.pool[name].test[: int(self.ecfg.get("test_size", 100))]

    def draws(self, name: str) -> List[List[str]]:
        """The P-prompt draws fed to the generator / retrieval for a held-out task: its test prompts
        (no labels), seeded per task and draw."""
        rows = self.eval_rows(name)
        p = int(self.cfg["generator"]["prompt_count"])
        out = []
        for d in range(int(self.ecfg.get("draws", 2))):
            rng = random.Random(f"draw-{name}-{d}")
            idx = rng.sample(range(len(rows)), p) if len(rows) >= p else [rng.randrange(len(rows)) for _ in range(p)]
            out.append([rows[i]["prompt"] for i in idx])
        return out

    def cond_pool(self, name: str) -> torch.Tensor:
        """(n, L, C) conditions of a task's training prompt pool (64 prompts)."""
        rows = subsample(self.pool[name].train, int(self.ccfg.get("pool_size", 64)), f"cond-train-{name}")
        return encode_prompts(self.model, self.tok, [r["prompt"] for r in rows], self.ccfg)

    def conditions(self, names: List[str]) -> Dict[str, torch.Tensor]:
        t0 = time.time()
        out = {n: self.cond_pool(n) for n in names}
        self.log(f"conditions: {len(out)} task pools in {time.time() - t0:.1f}s")
        return out

    def stack(self, values: torch.Tensor, b_scale: Optional[torch.Tensor] = None) -> LoraStack:
        return self.vl.stack(values.to(self.device), self.rank, self.alpha, self.specs,
                             self.model.cfg.num_hidden_layers, b_scale)

    def score(self, name: str, values: torch.Tensor, b_scale: Optional[torch.Tensor] = None,
              instr: bool = True) -> dict:
        """Per-item scores of K adapters (values (K, V)) on a held-out task's eval rows."""
        task = self.pool[name].task()
        rows = self.eval_rows(name)
        ur = user_turn(rows)
        lora = self.stack(values, b_scale)
        ecfg = self.ecfg
        res = evaluate_items(self.model, self.tok, task, ur, lora, ecfg, metrics=("loglik", "nll"))
        out = {"nll_sum": res["nll_sum"], "nll_count": res["nll_count"]}
        if "loglik" in res:
            out["loglik"] = res["loglik"]
        if task.kind in CHOICE_KINDS + ("math",):
            n_gen = int(ecfg.get("gen_size_math", 50)) if task.kind == "math" else len(ur)
            g = evaluate_items(self.model, self.tok, task, ur[:n_gen], lora, ecfg, metrics=("gen",), keep_outputs=2)
            out["gen"] = g["gen"]
            out["samples"] = g.get("samples")
        if instr and any(r["system"] for r in rows):
            ri = evaluate_items(self.model, self.tok, task, rows, lora, ecfg, metrics=("nll",))
            out["nll_instr"] = ri["nll_sum"].sum(1) / ri["nll_count"].sum().clamp_min(1)
        return out


def summarize(scores: dict, columns: Dict[str, List[int]]) -> Dict[str, dict]:
    """Per control column (indices into K, averaged over them): NLL, accuracies and per-item vectors."""
    out = {}
    cnt = scores["nll_count"]
    for col, ks in columns.items():
        d = {"nll": float(scores["nll_sum"][ks].sum(1).mean() / cnt.sum().clamp_min(1))}
        if "nll_instr" in scores:
            d["nll_instr"] = float(scores["nll_instr"][ks].mean())
        for m in ("gen", "loglik"):
            if m in scores:
                items = scores[m][ks].mean(0)
                d[m] = float(items.mean())
                d[f"{m}_items"] = [round(float(v), 3) for v in items]
        if scores.get("samples"):
            d["samples"] = scores["samples"][ks[0]]
        out[col] = d
    return out


# ---- stage 1: zoo -----------------------------------------------------------------------------------
def stage_zoo(r: Run) -> None:
    t0 = time.time()
    zcfg = {**r.cfg["zoo"], "rank": r.rank, "alpha": r.alpha, "targets": r.targets,
            "init_seed": int(r.cfg["lora"].get("init_seed", 0)), "shared_init": True}
    zcfg["save_steps"] = [int(zcfg["steps"])]
    tasks = {n: Task(n, t.kind, user_turn(t.train), t.test, t.labels) for n, t in r.pool.items()}
    jobs = [{"task": n, "seed": 0} for n in sorted(tasks)]
    jobs += [{"task": n, "seed": 1} for n in sorted(tasks) if r.pool[n].source == "staged"]
    index = train_zoo(r.model, r.tok, tasks, zcfg, r.run_dir / "zoo", r.log, jobs=jobs)
    r.write("zoo-index.json", {"adapters": index["adapters"], "seconds": index["seconds"],
                               "adapter_steps_per_s": index["adapter_steps_per_s"],
                               "loss_last10": {f"{j['task']}#{j['seed']}": j["loss_last10"]
                                               for g in index["groups"] for j in g["jobs"]}})
    r.timed("zoo", time.time() - t0)


def zoo_values(r: Run, names: List[str], seed: int = 0) -> torch.Tensor:
    step = int(r.cfg["zoo"]["steps"])
    return torch.stack([r.vl.from_peft(load_adapter(r.run_dir / "zoo", n, f"s{seed}-{step:05d}")) for n in names])


def dw_inner(va: torch.Tensor, vb: torch.Tensor, vl: ValueLayout) -> torch.Tensor:
    """<B1 A1, B2 A2> summed over modules, through r x r Gram matrices (dW never formed)."""
    tot = torch.zeros((), dtype=torch.float64)
    ents = vl.layout.entries
    for i in range(0, len(ents), 2):
        ea, eb = ents[i], ents[i + 1]
        oa, ob = vl.offsets[i], vl.offsets[i + 1]
        a1 = va[oa: oa + ea.numel].view(ea.rows, ea.cols).double()
        b1 = va[ob: ob + eb.numel].view(eb.rows, eb.cols).double()
        a2 = vb[oa: oa + ea.numel].view(ea.rows, ea.cols).double()
        b2 = vb[ob: ob + eb.numel].view(eb.rows, eb.cols).double()
        tot += ((b1.T @ b2) * (a1 @ a2.T)).sum()
    return tot


def fit_sample(r: Run) -> List[str]:
    """Training tasks of the release unit on which the fit sanity (c) is measured: every k-th."""
    names = sorted(r.pool)
    n = int(r.cfg["diagnostics"].get("fit_tasks", 48))
    step = max(1, len(names) // n)
    return names[::step][:n]


def fit_rows(r: Run, name: str) -> List[dict]:
    return user_turn(subsample(r.pool[name].train, int(r.cfg["diagnostics"].get("fit_rows", 24)), f"fit-{name}"))


def fit_nll(r: Run, name: str, values: Optional[torch.Tensor]) -> List[float]:
    """NLL of K adapters (or the base model when values is None) on a task's fit rows."""
    task = r.pool[name].task()
    lora = None if values is None else r.stack(values)
    res = evaluate_items(r.model, r.tok, task, fit_rows(r, name), lora, r.ecfg, metrics=("nll",))
    return [float(v) for v in res["nll_sum"].sum(1) / res["nll_count"].sum().clamp_min(1)]


# ---- stage 2: zoo-based controls ----------------------------------------------------------------------
def stage_controls(r: Run) -> None:
    t0 = time.time()
    names = sorted(r.pool)
    zoo = zoo_values(r, names)  # (N, V) cpu
    row = {n: i for i, n in enumerate(names)}
    conds = r.conditions(names)
    feats = torch.stack([pooled(conds[n]).cpu() for n in names])  # (N, C) task centroids
    for u in r.eval_units():
        out_name = f"controls-{u.id}.json"
        if r.read(out_name):
            continue
        if r.past_deadline(f"controls of {u.id}"):
            break
        tu = time.time()
        train_idx = torch.tensor([row[n] for n in u.train])
        mean_lora = zoo[train_idx].mean(0)
        fn = feats[train_idx]
        fn = fn / fn.norm(dim=1, keepdim=True).clamp_min(1e-8)
        res = {"unit": u.id, "protocol": u.protocol, "tasks": {}}
        for t in u.held_out:
            retrieved, vals = [], [torch.zeros_like(mean_lora), mean_lora]
            for prompts in r.draws(t):
                q = pooled(encode_prompts(r.model, r.tok, prompts, r.ccfg).unsqueeze(0))[0].cpu()
                q = q / q.norm().clamp_min(1e-8)
                j = int((fn @ q).argmax())
                retrieved.append(u.train[j])
                vals.append(zoo[train_idx[j]])
            vals.append(zoo[row[t]])
            nd = len(retrieved)
            # the zero adapter (A = the shared init, B = 0) is the base model exactly
            v = torch.stack(vals)
            v[0] = zoo[row[t]]
            s = r.score(t, v, b_scale=torch.tensor([0.0] + [1.0] * (len(vals) - 1)))
            cols = {"base": [0], "mean_lora": [1], "retrieval": list(range(2, 2 + nd)), "oracle": [2 + nd]}
            res["tasks"][t] = {"family": r.pool[t].family, "kind": r.pool[t].kind, "n": len(r.eval_rows(t)),
                               "retrieved": retrieved, "controls": summarize(s, cols)}
            c = res["tasks"][t]["controls"]
            r.log(f"[controls] {u.id} {t}: nll base {c['base']['nll']:.3f} mean {c['mean_lora']['nll']:.3f} "
                  f"retrieval {c['retrieval']['nll']:.3f} oracle {c['oracle']['nll']:.3f} (retrieved {retrieved})")
        res["seconds"] = round(time.time() - tu, 1)
        r.write(out_name, res)
    if not r.read("diag-zoo.json") and not r.past_deadline("zoo diagnostics"):
        r.write("diag-zoo.json", zoo_diagnostics(r, names, zoo, row))
    r.timed("controls", time.time() - t0)


def zoo_diagnostics(r: Run, names: List[str], zoo: torch.Tensor, row: Dict[str, int]) -> dict:
    """(b) cosine of dW between the two seeds of a staged task vs between different tasks, and
    (c)'s floor: each fit-sample task's own zoo LoRA on its fit rows, and the base model."""
    staged = [n for n in names if r.pool[n].source == "staged"]
    s1 = zoo_values(r, staged, seed=1)
    v0 = zoo[torch.tensor([row[n] for n in staged])]
    norms0 = torch.stack([dw_inner(v, v, r.vl) for v in v0]).sqrt()
    norms1 = torch.stack([dw_inner(v, v, r.vl) for v in s1]).sqrt()
    same = [float(dw_inner(v0[i], s1[i], r.vl) / (norms0[i] * norms1[i])) for i in range(len(staged))]
    diff, diff_fam = [], []
    for i in range(len(staged)):
        for j in range(i + 1, len(staged)):
            c = float(dw_inner(v0[i], v0[j], r.vl) / (norms0[i] * norms0[j]))
            (diff_fam if r.pool[staged[i]].family == r.pool[staged[j]].family else diff).append(c)
    floor = {}
    for n in fit_sample(r):
        floor[n] = {"zoo": fit_nll(r, n, zoo[row[n]].unsqueeze(0))[0], "base": fit_nll(r, n, None)[0]}
    mean = lambda xs: round(sum(xs) / max(1, len(xs)), 4)
    return {"same_task_seed_cosine": {"mean": mean(same), "min": round(min(same), 4), "per_task": dict(zip(staged, [round(x, 4) for x in same]))},
            "same_family_cosine": {"mean": mean(diff_fam), "pairs": len(diff_fam)},
            "other_family_cosine": {"mean": mean(diff), "pairs": len(diff)},
            "dw_norm": {"mean": mean([float(x) for x in norms0])},
            "fit_floor": floor}


# ---- stage 3: generators -------------------------------------------------------------------------------
def bank_members(r: Run) -> List[Member]:
    members = []
    for u in r.units:
        members.append(Member(f"gen-{u.id}", "prompt", u.train))
        if u.protocol == "all_tasks" or u.protocol == "release":
            for i, half in enumerate(u.inner_halves):  # inner generator i: every inner fold but i
                members.append(Member(f"inner{i}-{u.id}", "prompt", sorted(set(u.train) - set(half))))
        if u.protocol != "paper":  # multitask_lora is an all_tasks control (and the fit diagnostic's)
            members.append(Member(f"mt-{u.id}", "multitask", u.train))
    rel = next(u for u in r.units if u.protocol == "release")
    members.append(Member("onehot-release", "onehot", rel.train))
    return members


def decoder_config(r: Run) -> DecoderConfig:
    g = r.cfg["generator"]
    feats = [list(f) for f in g["decoder"]["features"]]
    feats[0] = [int(g["prompt_count"]), int(r.ccfg["max_tokens"]), r.model.cfg.hidden_size]
    feats[-1] = [r.layout.count, r.layout.token_h, r.layout.token_w]
    return DecoderConfig(feats, g["decoder"]["kernel_sizes"], g["decoder"].get("layer_norm_eps", 1e-5))


def task_data(r: Run, names: List[str], conds: Dict[str, torch.Tensor]) -> Dict[str, TaskData]:
    g = r.cfg["generator"]
    edges = g.get("length_buckets", [64, 128])
    out = {}
    for n in names:
        t = r.pool[n]
        rows = encode_train(r.tok, Task(n, t.kind, user_turn(t.train), t.test, t.labels), g.get("max_train_examples", 400),
                            int(g.get("max_len", 256)), f"e2e-{n}")
        out[n] = TaskData(rows, conds[n].to(r.device), length_bucket(rows, edges),
                          1.0 if t.real else float(g.get("synthetic_weight", 0.5)))
    return out


@torch.no_grad()
def generate(r: Run, bank: GeneratorBank, member: str, prompts_or_cond) -> torch.Tensor:
    cond = prompts_or_cond if torch.is_tensor(prompts_or_cond) else encode_prompts(r.model, r.tok, prompts_or_cond, r.ccfg)
    return bank.generate_values(bank.gen_index[member], cond.unsqueeze(0).float().to(r.device))[0].float().cpu()


@torch.no_grad()
def decoder_out(r: Run, bank: GeneratorBank, member: str, cond: torch.Tensor) -> torch.Tensor:
    """The raw decoder output (N, h, w) of a generator for one (P, L, C) condition."""
    return bank.decoders[bank.gen_index[member]](cond.unsqueeze(0).float().to(r.device))[0].float().cpu()


def draw_conds(r: Run, pool: torch.Tensor, draws: int) -> List[torch.Tensor]:
    p = int(r.cfg["generator"]["prompt_count"])
    out = []
    for d in range(draws):
        idx = torch.randperm(pool.shape[0], generator=torch.Generator().manual_seed(1000 + d))[:p]
        out.append(pool[idx.to(pool.device)])
    return out


def output_table(r: Run, bank: GeneratorBank, member: str, names: List[str], scales: torch.Tensor,
                 conds: Dict[str, torch.Tensor], k: int) -> GateTable:
    """The ``output``-feature table of generator ``member``: its output feature for each task's prompts."""
    draws = int(r.cfg["gate"].get("draws", 2))
    feats = [torch.stack([output_feature(decoder_out(r, bank, member, c)) for c in draw_conds(r, conds[n], draws)]).mean(0)
             for n in names]
    return GateTable(torch.stack(feats), scales, list(names), k, kind="output")


@torch.no_grad()
def calibrate_gate(r: Run, bank: GeneratorBank, unit: Unit, conds: Dict[str, torch.Tensor]) -> dict:
    """Every training task of ``unit`` measured with the inner generator that did not train on it
    (inner generator i trains on every inner fold but i): its NLL at each gate scale, hence its best
    scale; then both gate tables (condition / output feature of the unit's own generator) and the
    choice between them by leave-one-out NLL on these tasks."""
    gcfg = r.cfg["gate"]
    scales = [float(s) for s in gcfg["scales"]]
    k = int(gcfg.get("k", 5))
    names, rows_nll, cents = [], [], []
    for i, half in enumerate(unit.inner_halves):
        other = f"inner{i}-{unit.id}"
        for n in half:
            rows = user_turn(subsample(r.pool[n].train, int(gcfg.get("calib_rows", 24)), f"calib-{n}"))
            pool = conds[n]
            vals = [generate(r, bank, other, c) for c in draw_conds(r, pool, int(gcfg.get("draws", 2)))]
            v = torch.stack([vv for vv in vals for _ in scales])
            sc = torch.tensor([s for _ in vals for s in scales])
            res = evaluate_items(r.model, r.tok, r.pool[n].task(), rows, r.stack(v, sc), r.ecfg, metrics=("nll",))
            nll = (res["nll_sum"].sum(1) / res["nll_count"].sum().clamp_min(1)).view(len(vals), len(scales)).mean(0)
            names.append(n)
            rows_nll.append(nll.unsqueeze(0))
            cents.append(pooled(pool).cpu())
    nll_all = torch.cat(rows_nll)
    best = best_scales(nll_all, scales)
    return select_gate(r, bank, f"gen-{unit.id}", GateTable(torch.stack(cents), best, names, k), nll_all, conds)


def gate_candidates(r: Run) -> List[tuple]:
    """(name, rule, risk) of every gate rule a unit may choose (config ``gate.rules``; default: the
    mean rule only, as in the first release)."""
    out = []
    for spec in r.cfg["gate"].get("rules", [{"rule": "mean"}]):
        rule, risk = spec["rule"], float(spec.get("risk", 0.0))
        if rule not in ("mean", "risk"):
            raise ValueError(f"gate.rules: unknown rule {rule!r} (mean | risk)")
        out.append((rule if rule == "mean" else f"risk{risk:g}", rule, risk))
    return out


def select_gate(r: Run, bank: GeneratorBank, member: str, cond_table: GateTable, nll_all: torch.Tensor,
                conds: Dict[str, torch.Tensor]) -> dict:
    """Both features x every configured rule, scored by leave-one-out on the calibration tasks
    (``gate.select_on``: "real" scores the staged datasets and their sub-tasks, which is what the
    evaluation holds out, when there are at least 10 of them; "all" scores every task), and chosen
    by ``choose`` against ``gate.no_harm``. ``condition`` / ``output`` hold each feature's best
    table, ``selected`` the feature used."""
    gcfg = r.cfg["gate"]
    scales = [float(s) for s in gcfg["scales"]]
    cond_table = cond_table.with_rule(None, None)  # a fold's chosen table may carry a rule: start from the features
    curves = relative_curves(nll_all)
    real = torch.tensor([r.pool[n].real for n in cond_table.names])
    mask = real if gcfg.get("select_on", "all") == "real" and int(real.sum()) >= 10 else None
    target = float(gcfg.get("no_harm", 0.0))
    out_table = output_table(r, bank, member, cond_table.names, cond_table.scales, conds, cond_table.k)
    tables, loo = {}, {}
    for kind, base in (("condition", cond_table), ("output", out_table)):
        for name, rule, risk in gate_candidates(r):
            t = base if rule == "mean" else base.with_rule(curves, scales, risk)
            tables[f"{kind}/{name}"] = t
            loo[f"{kind}/{name}"] = loo_metrics(t, nll_all, scales, mask)
    best = {kind: choose({n: m for n, m in loo.items() if n.startswith(kind + "/")}, target) for kind in ("condition", "output")}
    pick = choose({best["condition"]: loo[best["condition"]], best["output"]: loo[best["output"]]}, target)
    # what no rule can beat, and the two fixed choices, on the same calibration tasks
    bounds = {"best_possible": float(nll_all.min(1).values.mean()), "never": float(nll_all[:, 0].mean()),
              "always": float(nll_all[:, -1].mean())}
    return {"condition": tables[best["condition"]], "output": tables[best["output"]], "selected": pick.split("/")[0],
            "choice": pick, "loo": loo, "bounds": bounds, "nll": nll_all}


def gate_value(r: Run, bank: GeneratorBank, member: str, gate: dict, kind: str, cond: torch.Tensor) -> float:
    feat = pooled(cond).cpu() if kind == "condition" else output_feature(decoder_out(r, bank, member, cond))
    return float(gate[kind].scale(feat))


def probe_task_identity(r: Run, names: List[str], conds: Dict[str, torch.Tensor], head_conds=None) -> dict:
    """(a) a linear probe (logistic regression on pooled P-prompt conditions) of task identity and of
    family: fit on draws from the first half of each task's prompt pool, scored on draws from the
    second half (prompts not used to fit it)."""
    p = int(r.cfg["generator"]["prompt_count"])
    out = {}
    for label, cs in (("tail (used)", conds), ("head (first release)", head_conds)):
        if cs is None:
            continue
        xs, ys, split = [], [], []
        for ti, n in enumerate(names):
            pool = cs[n]
            half = pool.shape[0] // 2
            for part, lo, hi in ((0, 0, half), (1, half, pool.shape[0])):
                g = torch.Generator().manual_seed(ti * 2 + part)
                for _ in range(12):
                    idx = lo + torch.randperm(hi - lo, generator=g)[:p]
                    xs.append(pooled(pool[idx.to(pool.device)]).cpu())
                    ys.append(ti)
                    split.append(part)
        x = torch.stack(xs).float()
        x = (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
        y = torch.tensor(ys)
        sp = torch.tensor(split)
        fam_names = sorted({r.pool[n].family for n in names})
        fam = torch.tensor([fam_names.index(r.pool[names[i]].family) for i in ys])
        res = {}
        for what, target, ncls in (("task", y, len(names)), ("family", fam, len(fam_names))):
            w = torch.zeros(x.shape[1], ncls, requires_grad=True)
            bias = torch.zeros(ncls, requires_grad=True)
            opt = torch.optim.Adam([w, bias], lr=0.05)
            tr = sp == 0
            for _ in range(300):
                loss = torch.nn.functional.cross_entropy(x[tr] @ w + bias, target[tr]) + 1e-3 * w.pow(2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                pred = (x[~tr] @ w + bias).argmax(1)
            res[f"{what}_accuracy"] = round(float((pred == target[~tr]).float().mean()), 4)
            res[f"{what}_chance"] = round(1.0 / ncls, 4)
        out[label] = res
    return {"tasks": len(names), "draws_per_half": 12, "prompts_per_draw": p, "probes": out}


def stage_generators(r: Run) -> None:
    t0 = time.time()
    g = r.cfg["generator"]
    names = sorted(r.pool)
    conds = r.conditions(names)
    cond_std = float(torch.cat([c.reshape(-1, c.shape[-1]) for c in list(conds.values())[:50]]).std())
    data = task_data(r, names, conds)
    members = bank_members(r)
    dcfg = decoder_config(r)
    init = shared_init(r.layout, int(r.cfg["lora"].get("init_seed", 0)))
    torch.manual_seed(int(g.get("seed", 0)))
    bank = GeneratorBank(members, dcfg, r.vl, init, float(g.get("sigma_a", 0.3)), float(g.get("sigma_b", 0.02))).to(r.device)
    rel = next(u for u in r.units if u.protocol == "release")
    onehot_index = {n: i for i, n in enumerate(rel.train)}
    ecfg = {**g, "prompt_count": int(g["prompt_count"])}
    r.log(f"[e2e] {len(members)} members ({sum(m.kind != 'multitask' for m in members)} generators of "
          f"{dcfg.num_parameters():,} parameters), {len(names)} tasks, buckets "
          f"{sorted({d.bucket for d in data.values()})}")
    t_train = time.time()
    train_info = train_bank(r.model, bank, data, ecfg, cond_std, r.rank, r.alpha, r.log, onehot_index,
                            time_limit=r.args.time_limit, checkpoint=str(r.run_dir / "bank-checkpoint.pt"),
                            stop_after=r.args.train_steps)
    r.timed("generators.train", time.time() - t_train)
    if train_info["steps"] < int(g["steps"]):
        # a half-trained bank is never calibrated, evaluated or released: the next call continues it
        r.log(f"[e2e] {train_info['steps']}/{g['steps']} steps done: rerun --stages generators to continue "
              f"from {r.run_dir / 'bank-checkpoint.pt'}")
        return
    r.write("bank.json", {**train_info, "decoder": dcfg.to_dict(), "parameters": dcfg.num_parameters(),
                          "cond_std": cond_std})
    # gates: every all_tasks fold and the release calibrate on their inner halves; a paper unit
    # uses the gate of the fold that holds its task out (calibrated without it)
    t_gate = time.time()
    gates: Dict[str, dict] = {}
    for u in r.units:
        if u.inner_halves and u.protocol in ("all_tasks", "release"):
            gates[u.id] = calibrate_gate(r, bank, u, conds)
            g_ = gates[u.id]
            r.log(f"[gate] {u.id}: {len(g_['condition'].names)} tasks, mean best scale {float(g_['condition'].scales.mean()):.3f}, "
                  f"leave-one-out {json.dumps({k: (round(v['nll'], 4), round(v['no_harm'], 3)) for k, v in g_['loo'].items()})} -> {g_['choice']}")
    for u in r.units:
        if u.protocol == "paper":
            # the fold that holds the task out has measured every other task; the output table is
            # rebuilt with this unit's own generator, and the choice made again on those tasks
            fold = next(f for f in r.units if f.protocol == "all_tasks" and u.held_out[0] in f.held_out)
            gates[u.id] = select_gate(r, bank, f"gen-{u.id}", gates[fold.id]["condition"], gates[fold.id]["nll"], conds)
    r.write("gates.json", {k: {"selected": v["selected"], "choice": v["choice"], "loo": v["loo"], "bounds": v["bounds"],
                               "scales": v["condition"].to_json()} for k, v in gates.items()})
    r.timed("generators.gate", time.time() - t_gate)
    rel_gate = gates["release"]
    export_release(r, bank, rel_gate[rel_gate["selected"]], dcfg, train_info)
    t_eval = time.time()
    for u in r.eval_units():
        if r.past_deadline(f"generated of {u.id}"):
            break
        res = {"unit": u.id, "protocol": u.protocol, "tasks": {}}
        mt_id = f"mt-{u.id}"
        mt = bank.multitask[bank.mt_index[mt_id]].detach().float().cpu() if mt_id in bank.mt_index else None
        for t in u.held_out:
            other = mismatched_task(r.pool, u, t)
            gate, member = gates[u.id], f"gen-{u.id}"
            sel = gate["selected"]
            gen_v, g_cond, g_out, mis_v, mis_g, neigh = [], [], [], [], [], []
            for prompts in r.draws(t):
                c = encode_prompts(r.model, r.tok, prompts, r.ccfg)
                gen_v.append(generate(r, bank, member, c))
                g_cond.append(gate_value(r, bank, member, gate, "condition", c))
                g_out.append(gate_value(r, bank, member, gate, "output", c))
                feat = pooled(c).cpu() if sel == "condition" else output_feature(decoder_out(r, bank, member, c))
                neigh.append(gate[sel].neighbours(feat))
            for prompts in r.draws(other):
                c = encode_prompts(r.model, r.tok, prompts, r.ccfg)
                mis_v.append(generate(r, bank, member, c))
                mis_g.append(gate_value(r, bank, member, gate, sel, c))
            nd = len(gen_v)
            extra = [mt] if mt is not None else []
            v = torch.stack(gen_v * 3 + mis_v + extra)
            sc = torch.tensor(g_cond + g_out + [1.0] * nd + mis_g + [1.0] * len(extra))
            s = r.score(t, v, sc)
            by_kind = {"condition": list(range(nd)), "output": list(range(nd, 2 * nd))}
            cols = {"generated": by_kind[sel], "generated_condition_gate": by_kind["condition"],
                    "generated_output_gate": by_kind["output"], "generated_ungated": list(range(2 * nd, 3 * nd)),
                    "mismatched": list(range(3 * nd, 4 * nd))}
            if extra:
                cols["multitask_lora"] = [4 * nd]
            gen_g = g_cond if sel == "condition" else g_out
            res["tasks"][t] = {"family": r.pool[t].family, "kind": r.pool[t].kind, "n": len(r.eval_rows(t)),
                               "mismatched_from": other, "gate": gen_g, "gate_kind": sel, "gate_choice": gate["choice"], "gate_condition": g_cond,
                               "gate_output": g_out, "gate_mismatched": mis_g,
                               "gate_neighbours": neigh, "controls": summarize(s, cols)}
            c = res["tasks"][t]["controls"]
            r.log(f"[generated] {u.id} {t}: nll gen {c['generated']['nll']:.3f} (gate {sum(gen_g) / nd:.2f}) "
                  f"ungated {c['generated_ungated']['nll']:.3f} mismatched {c['mismatched']['nll']:.3f} "
                  f"multitask {c.get('multitask_lora', {}).get('nll', float('nan')):.3f}")
        r.write(f"generated-{u.id}.json", res)
    r.timed("generators.eval", time.time() - t_eval)
    t_diag = time.time()
    if r.past_deadline("generator diagnostics"):
        return
    fit = {}
    for n in fit_sample(r):
        pool = conds[n]
        cond = pool[:int(g["prompt_count"])]
        from trainer.generator.end_to_end import onehot_condition

        oh = onehot_condition(onehot_index[n], (int(g["prompt_count"]),) + tuple(pool.shape[1:]))
        v = torch.stack([generate(r, bank, "gen-release", cond), generate(r, bank, "onehot-release", oh),
                         bank.multitask[bank.mt_index["mt-release"]].detach().float().cpu()])
        nll = fit_nll(r, n, v)
        fit[n] = {"prompt_generator": nll[0], "onehot_generator": nll[1], "multitask_lora": nll[2]}
    head_conds = None
    if r.cfg["diagnostics"].get("probe_head_window", True):
        hc = {**r.ccfg, "window": "head"}
        head_conds = {n: encode_prompts(r.model, r.tok, [x["prompt"] for x in subsample(r.pool[n].train, int(r.ccfg.get("pool_size", 64)), f"cond-train-{n}")], hc)
                      for n in names}
    probe = probe_task_identity(r, names, conds, head_conds)
    r.write("diag-generators.json", {"fit": fit, "probe": probe})
    r.timed("generators.diagnostics", time.time() - t_diag)
    r.timed("generators", time.time() - t0)


def export_release(r: Run, bank: GeneratorBank, gate: GateTable, dcfg: DecoderConfig, train_info: dict) -> None:
    from trainer.generator.release import write_release

    out = r.run_dir / "release"
    decoder, mean, std = bank.export(bank.gen_index["gen-release"])
    rel = next(u for u in r.units if u.protocol == "release")
    training = {"recipe": "end-to-end (base model next-token loss, user turn only), residual around a jointly learned shared LoRA, kNN gate calibrated on inner halves",
                "tasks": len(rel.train), "sources": _count(r.pool[n].source for n in rel.train),
                "steps": train_info["steps"], "loss_last100": train_info["members"]["gen-release"]["loss_last100"],
                "commit": r.commit, "device": r.device_name, "command": "python -m trainer zero-shot"}
    write_release(str(out), decoder, mean, std, gate, r.layout, r.ccfg, r.cfg.get("base_id", "dnd-base-llama-25m"),
                  r.base_sha, r.model.cfg.hidden_size, training)
    r.log(f"[release] written to {out}")


def _count(xs) -> dict:
    out: Dict[str, int] = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return out


def run(args) -> int:
    r = Run(args)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise SystemExit(f"unknown stage(s) {bad}; choose from {STAGES}")
    if any(s != "report" for s in stages):
        r.setup()
    if "zoo" in stages:
        stage_zoo(r)
    if "controls" in stages:
        stage_controls(r)
    if "generators" in stages:
        stage_generators(r)
    if "report" in stages:
        from trainer.evaluate.zero_shot_report import write_reports

        write_reports(r.run_dir / "results", resolve(args.reports_dir or r.cfg["reports_dir"]), r.cfg, r.commit)
        rel = r.run_dir / "release"
        if (rel / "generator.json").exists() and (args.release_dir or r.cfg.get("release_dir")):
            import shutil

            dest = resolve(args.release_dir or r.cfg["release_dir"])
            dest.mkdir(parents=True, exist_ok=True)
            for f in ("generator.json", "generator.safetensors"):
                shutil.copyfile(rel / f, dest / f)
            r.log(f"[report] release generator copied to {dest}")
    if args.pack:
        with tarfile.open(args.pack, "w:gz") as tf:
            tf.add(r.run_dir / "results", arcname="results")
            if (r.run_dir / "release").exists():
                tf.add(r.run_dir / "release", arcname="release")
            tf.add(r.run_dir / "log.txt", arcname="log.txt")
    return 0
