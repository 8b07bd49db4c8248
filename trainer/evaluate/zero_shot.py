"""``python -m trainer zero-shot``: the end-to-end generator run (docs/zero-shot.md), as resumable
stages that fit two GPU calls:

1. ``zoo``        one LoRA per pool task (seed 0), a second seed for every staged dataset
                  (diagnostic b); ``zoo/`` (PEFT fp16), ``zoo/index.json``
2. ``controls``   for every evaluation unit (all_tasks, paper, synthetic) and held-out task: base,
                  mean_lora, retrieval, oracle (zoo-based controls), scored user-turn-only (NLL,
                  generate-then-parse, log-likelihood choice) and with the instruction (NLL); zoo
                  diagnostics (b) and the own-LoRA fit floor on held-out rows (c);
                  ``results/controls-<unit>.json``, ``results/diag-zoo.json``
3. ``generators`` every generator (one per unit, the units' inner generators, a one-hot probe) and
                  every multitask_lora trained at once in one batched loop
                  (trainer/generator/end_to_end.py; the throughput against the previous loop is
                  timed first: ``results/throughput.json``); each unit's gate calibrated and chosen
                  (trainer/evaluate/gate_calibration.py); the release generator in ``release/``
                  (manifest v2, validated); the fit on held-out rows (c) and the probe (a); then both
                  condition modes of every held-out task: prompts (generated / per-feature gates /
                  ungated / mismatched / multitask_lora) and examples (trainer/evaluate/examples_eval.py);
                  ``results/generated-<unit>.json``, ``results/diag-*.json``
4. ``report``     ``reports/zero-shot.{json,md}`` from ``results/`` (trainer/evaluate/zero_shot_report.py)

Stages 1-2 and 3 are independent (3 trains its own multitask LoRAs and needs no zoo). Stage 3's
training is resumable (``--time-limit`` / ``--train-steps``): the plan for one H200 is
``zoo,controls,generators`` with a time limit in the first call and ``generators`` in the second
(scripts/gpu-machine/zero-shot.sh). Every stage writes small JSON results that ``--pack`` puts in a
tar.gz. The user turn alone is shown everywhere (no system instruction) except the ``*_instr`` NLL
columns.

Rows: a task's train split gives, disjointly, its held-out fit rows (never trained on by anything:
diagnostic c), its condition pool (the prompts, or answered rows, the generator is conditioned on),
and the rows the generators' loss is taken on; the zoo LoRAs train on everything but the fit rows.
"""
from __future__ import annotations

import json
import platform
import random
import tarfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from trainer.base.load import load_base
from trainer.config import DEFAULT_DATASETS, load_config, resolve
from trainer.evaluate import examples_eval
from trainer.evaluate.diagnostics import fit_nll, fit_sample, heldout_rows, probe_task_identity, zoo_diagnostics
from trainer.evaluate.gate_calibration import calibration_parts, gates_json, measure, save_calibration, select_gate
from trainer.evaluate.run_support import commit_of, log_to
from trainer.evaluate.scoring import evaluate_items
from trainer.evaluate.zero_shot_report import REPORTED_CONFIG
from trainer.export.onnx_model import sha256_file
from trainer.generator.answer_features import answer_features_each
from trainer.generator.conditions import encode_prompts
from trainer.generator.end_to_end import GeneratorBank, Member, ValueLayout, length_bucket, onehot_condition, shared_init, train_bank
from trainer.generator.gate import output_feature, pooled
from trainer.generator.hyperconv import DecoderConfig
from trainer.generator.train_data import CondStore, RowStore, TrainData
from trainer.lora.batched import LoraStack, layout_for, module_specs
from trainer.lora.zoo import encode_train, load_adapter, train_zoo
from trainer.tasks.pool import PoolTask, Unit, build_pool, check_no_leak, inner_generator_count, make_units, mismatched_task
from trainer.tasks.staged import CHOICE_KINDS, Task, load_tasks, subsample

STAGES = ("zoo", "controls", "generators", "report")
EVAL_PROTOCOLS = ("all_tasks", "paper", "synthetic")


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
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds after the start of the call by which the generator training loop stops (resumable)")
    p.add_argument("--train-steps", type=int, default=None,
                   help="at most this many generator training steps in this call; the next call continues from the checkpoint")
    p.add_argument("--deadline", type=float, default=None,
                   help="seconds after the start: evaluation loops stop before a unit past it (resumable; the report says what is missing)")


def user_turn(rows: List[dict]) -> List[dict]:
    return [{**r, "system": ""} for r in rows]


def _key(row: dict) -> tuple:
    return row["prompt"], row["response"], row.get("system", "")


def without(rows: Sequence[dict], drop: Sequence[dict]) -> List[dict]:
    gone = {_key(r) for r in drop}
    return [r for r in rows if _key(r) not in gone]


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
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True  # the decoders' float32 matmuls
            torch.backends.cudnn.allow_tf32 = True
        self.call = "-".join(x.strip() for x in args.stages.split(",") if x.strip())
        self.commit = commit_of(args)
        self.timings = (self.read(f"call-{self.call}.json") or {}).get("timings", {})
        self.t_start = time.time()
        self.conds: Dict[str, Dict[str, torch.Tensor]] = {}
        self.cond_rows: Dict[str, Dict[str, List[dict]]] = {}

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
        stages, timings, the call's wall time so far), so that calls made at different commits or
        on different machines stay apart."""
        self.timings[stage] = round(self.timings.get(stage, 0.0) + secs, 1)
        self.write(f"call-{self.call}.json", {"stages": self.call, "commit": self.commit,
                                              "device": getattr(self, "device_name", None), "torch": torch.__version__,
                                              "timings": self.timings, "wall_s": round(time.time() - self.t_start, 1)})

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
                                     "pool": n_src, "units": [u.id for u in self.units], "base_sha256": self.base_sha,
                                     "config": {k: cfg.get(k) for k in REPORTED_CONFIG}})
        self.log(f"device {self.device} ({name}), torch {torch.__version__}; pool {len(self.pool)} tasks {n_src}; "
                 f"units {[u.id for u in self.units]}; base sha256 {self.base_sha[:12]}")
        self.timed("setup", time.time() - t0)

    @property
    def modes(self) -> List[str]:
        """Condition modes the generators train on: prompts, and examples (issue 16) when configured."""
        return ["prompts"] + (["examples"] if self.cfg.get("examples", {}).get("enabled") else [])

    def eval_units(self) -> List[Unit]:
        return [u for u in self.units if u.protocol in EVAL_PROTOCOLS]

    def eval_tasks(self, u: Unit) -> List[str]:
        """The held-out tasks a unit is scored on: its held-out staged datasets (all_tasks, paper),
        every task of its held-out factory family (synthetic)."""
        if u.protocol == "synthetic":
            held = set(u.held_out)
            return sorted(n for n in self.pool if self.pool[n].parent in held)
        return list(u.held_out)

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

    # ---- which rows of a task's train split serve what (module docstring) ------------------------
    def pool_rows(self, name: str) -> List[dict]:
        """The condition pool's rows (user turn only): prompts, or answered rows in examples mode; up
        to ``pool_size``, at most half of what the fit rows leave (``conditions`` repeats a short pool)."""
        rows = without(self.pool[name].train, heldout_rows(self, name))
        n = min(int(self.ccfg.get("pool_size", 64)), max(1, len(rows) // 2))
        return user_turn(subsample(rows, n, f"cond-train-{name}"))

    def zoo_rows(self, name: str) -> List[dict]:
        return without(user_turn(self.pool[name].train), heldout_rows(self, name))

    def bank_rows(self, name: str) -> List[dict]:
        """Rows the generators' loss is taken on: neither held-out fit rows nor condition rows (in
        examples mode a generator must not learn to copy an answer it was shown)."""
        return without(self.zoo_rows(name), self.pool_rows(name))

    def conditions(self, names: List[str], modes: Sequence[str] = ("prompts",)) -> Dict[str, torch.Tensor]:
        """Each task's condition pool (n, L, C) per mode, kept in ``self.conds[mode]``; returns the prompts mode's."""
        t0 = time.time()
        for mode in modes:
            ccfg = self.ccfg if mode == "prompts" else examples_eval.examples_ccfg(self)
            pools, rows = self.conds.setdefault(mode, {}), self.cond_rows.setdefault(mode, {})
            size = int(self.ccfg.get("pool_size", 64))
            for n in names:
                if n not in pools:
                    own = self.pool_rows(n)
                    rows[n] = [own[i % len(own)] for i in range(size)]  # a short pool repeats, as the app fills a short set
                    items = [r["prompt"] for r in own] if mode == "prompts" else own
                    enc = encode_prompts(self.model, self.tok, items, ccfg)
                    pools[n] = enc[torch.arange(size, device=enc.device) % enc.shape[0]]
        self.log(f"conditions: {len(names)} task pools x {list(modes)} in {time.time() - t0:.1f}s")
        return self.conds["prompts"]

    def stack(self, values: torch.Tensor, b_scale: Optional[torch.Tensor] = None) -> LoraStack:
        return self.vl.stack(values.to(self.device), self.rank, self.alpha, self.specs,
                             self.model.cfg.num_hidden_layers, b_scale)

    def score(self, name: str, values: torch.Tensor, b_scale: Optional[torch.Tensor] = None,
              protocol: str = "all_tasks", gen_idx: Optional[Sequence[int]] = None) -> dict:
        """Per-item scores of K adapters (values (K, V)) on a held-out task's eval rows: NLL and
        log-likelihood choice for all; generate-then-parse accuracy (choice kinds and math) for the
        adapters ``gen_idx`` (all when None; never in the synthetic protocol, whose tasks are
        scored by NLL and log-likelihood); NLL with the instruction where rows have one."""
        task = self.pool[name].task()
        rows = self.eval_rows(name)
        ur = user_turn(rows)
        lora = self.stack(values, b_scale)
        ecfg = self.ecfg
        res = evaluate_items(self.model, self.tok, task, ur, lora, ecfg, metrics=("loglik", "nll"))
        out = {"nll_sum": res["nll_sum"], "nll_count": res["nll_count"]}
        if "loglik" in res:
            out["loglik"] = res["loglik"]
        if task.kind in CHOICE_KINDS + ("math",) and protocol != "synthetic":
            idx = list(range(values.shape[0])) if gen_idx is None else list(gen_idx)
            sub = self.stack(values[idx], None if b_scale is None else b_scale[idx])
            n_gen = int(ecfg.get("gen_size_math", 50)) if task.kind == "math" else len(ur)
            g = evaluate_items(self.model, self.tok, task, ur[:n_gen], sub, ecfg, metrics=("gen",), keep_outputs=2)
            full = torch.full((values.shape[0], g["gen"].shape[1]), float("nan"))
            full[idx] = g["gen"]
            out["gen"] = full
            out["samples"] = {i: s for i, s in zip(idx, g.get("samples") or [])}
        if protocol != "synthetic" and any(r["system"] for r in rows):
            ri = evaluate_items(self.model, self.tok, task, rows, lora, ecfg, metrics=("nll",))
            out["nll_instr"] = ri["nll_sum"].sum(1) / ri["nll_count"].sum().clamp_min(1)
        return out


def summarize(scores: dict, columns: Dict[str, List[int]]) -> Dict[str, dict]:
    """Per control column (indices into K, averaged over them): NLL, accuracies and per-item vectors
    (an accuracy only where every adapter of the column was scored for it)."""
    out = {}
    cnt = scores["nll_count"]
    for col, ks in columns.items():
        d = {"nll": float(scores["nll_sum"][ks].sum(1).mean() / cnt.sum().clamp_min(1))}
        if "nll_instr" in scores:
            d["nll_instr"] = float(scores["nll_instr"][ks].mean())
        for m in ("gen", "loglik"):
            if m in scores and not torch.isnan(scores[m][ks]).any():
                items = scores[m][ks].mean(0)
                d[m] = float(items.mean())
                d[f"{m}_items"] = [round(float(v), 3) for v in items]
        if scores.get("samples") and ks[0] in scores["samples"]:
            d["samples"] = scores["samples"][ks[0]]
        out[col] = d
    return out


# ---- stage 1: zoo -----------------------------------------------------------------------------------
def stage_zoo(r: Run) -> None:
    t0 = time.time()
    zcfg = {**r.cfg["zoo"], "rank": r.rank, "alpha": r.alpha, "targets": r.targets,
            "init_seed": int(r.cfg["lora"].get("init_seed", 0)), "shared_init": True}
    zcfg["save_steps"] = [int(zcfg["steps"])]
    tasks = {n: Task(n, t.kind, r.zoo_rows(n), t.test, t.labels) for n, t in r.pool.items()}
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
        for t in r.eval_tasks(u):
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
            s = r.score(t, v, b_scale=torch.tensor([0.0] + [1.0] * (len(vals) - 1)), protocol=u.protocol)
            cols = {"base": [0], "mean_lora": [1], "retrieval": list(range(2, 2 + nd)), "oracle": [2 + nd]}
            res["tasks"][t] = {"family": r.pool[t].family, "kind": r.pool[t].kind, "source": r.pool[t].source,
                               "n": len(r.eval_rows(t)), "retrieved": retrieved, "controls": summarize(s, cols)}
            c = res["tasks"][t]["controls"]
            r.log(f"[controls] {u.id} {t}: nll base {c['base']['nll']:.3f} mean {c['mean_lora']['nll']:.3f} "
                  f"retrieval {c['retrieval']['nll']:.3f} oracle {c['oracle']['nll']:.3f} (retrieved {retrieved})")
        res["seconds"] = round(time.time() - tu, 1)
        r.write(out_name, res)
    if not r.read("diag-zoo.json") and not r.past_deadline("zoo diagnostics"):
        r.write("diag-zoo.json", zoo_diagnostics(r, names, zoo, row))
    r.timed("controls", time.time() - t0)


# ---- stage 3: generators -------------------------------------------------------------------------------
def bank_members(r: Run) -> List[Member]:
    """One generator and one multi-task LoRA per unit, the units' inner generators (gate
    calibration), and the one-hot probe of the release's tasks (diagnostic c)."""
    members = []
    for u in r.units:
        members.append(Member(f"gen-{u.id}", "prompt", u.train))
        for i in range(inner_generator_count(u, r.cfg["units"])):  # inner generator i: every inner fold but i
            members.append(Member(f"inner{i}-{u.id}", "prompt", sorted(set(u.train) - set(u.inner_halves[i]))))
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


def train_rows(r: Run, names: List[str]) -> Dict[str, list]:
    """Each task's encoded bank rows (ids, loss mask), at most ``max_train_examples``."""
    g = r.cfg["generator"]
    out = {}
    for n in names:
        t = r.pool[n]
        out[n] = encode_train(r.tok, Task(n, t.kind, r.bank_rows(n), t.test, t.labels), g.get("max_train_examples", 400),
                              int(g.get("max_len", 256)), f"e2e-{n}")
    return out


def task_data(r: Run, names: List[str], rows: Dict[str, list]) -> TrainData:
    g = r.cfg["generator"]
    edges = g.get("length_buckets", [64, 128])
    return TrainData(RowStore(rows, r.device), CondStore({m: r.conds[m] for m in r.modes}, names, r.device),
                     {n: length_bucket(rows[n], edges) for n in names},
                     {n: 1.0 if r.pool[n].real else float(g.get("synthetic_weight", 0.5)) for n in names})


@torch.no_grad()
def generate(r: Run, bank: GeneratorBank, member: str, cond: torch.Tensor) -> torch.Tensor:
    """(P, L, C) -> the member's values (V,) (cpu)."""
    return bank.generate_values(bank.gen_index[member], cond.unsqueeze(0).float().to(r.device))[0].float().cpu()


@torch.no_grad()
def query_features(r: Run, bank: GeneratorBank, member: str, kinds: Sequence[str], prompts: List[List[str]],
                   conds: List[torch.Tensor]) -> tuple:
    """For each draw (its prompts and condition): the member's values (D, V) and the gate features
    {kind: (D, F)} computed with that member, as the table's were with the calibration generators."""
    gi = bank.gen_index[member]
    vals, out = bank.generate_values(gi, torch.stack(conds).float().to(r.device), return_out=True)
    vals, out = vals.float().cpu(), out.float().cpu()
    feats = {}
    if "condition" in kinds:
        feats["condition"] = torch.stack([pooled(c).cpu().float() for c in conds])
    if "output" in kinds:
        feats["output"] = torch.stack([output_feature(o) for o in out])
    if "answer" in kinds:
        feats["answer"] = answer_features_each(r.model, r.tok, prompts, r.stack(vals), int(r.ecfg.get("max_prompt_tokens", 320)),
                                               int(r.cfg["gate"].get("answer_tokens", 4)), int(r.ecfg.get("budget_tokens", 65536)))
    return vals, feats


def calibrate_gates(r: Run, bank: GeneratorBank) -> Dict[str, dict]:
    """Every all_tasks, synthetic and release unit's gate (trainer/evaluate/gate_calibration.py); a
    paper unit takes the gate of the fold that holds its task out."""
    gates: Dict[str, dict] = {}
    select_on = r.cfg["gate"].get("select_on", {})
    for u in r.units:
        if u.protocol in ("all_tasks", "synthetic", "release"):
            cal = measure(r, bank, calibration_parts(r, u))
            save_calibration(r, u.id, cal)
            where = select_on.get(u.protocol, "real") if isinstance(select_on, dict) else select_on
            gates[u.id] = g = select_gate(r, cal, where)
            r.log(f"[gate] {u.id}: {len(cal.names)} tasks ({where} for the choice), leave-one-out "
                  f"{json.dumps({k: (round(v['nll'], 4), round(v['no_harm'], 3)) for k, v in g['loo'].items()})} "
                  f"bounds {json.dumps(g['bounds'])} -> {g['choice']}")
    for u in r.units:
        if u.protocol == "paper":
            fold = next(f for f in r.units if f.protocol == "all_tasks" and u.held_out[0] in f.held_out)
            gates[u.id] = gates[fold.id]
    return gates


def evaluate_unit(r: Run, bank: GeneratorBank, u: Unit, gate: dict) -> dict:
    """Both condition modes on every held-out task of ``u`` (module docstring), one scoring pass per task."""
    res = {"unit": u.id, "protocol": u.protocol, "tasks": {}}
    member = f"gen-{u.id}"
    mt_id = f"mt-{u.id}"
    mt = bank.multitask[bank.mt_index[mt_id]].detach().float().cpu() if mt_id in bank.mt_index else None
    kinds, sel = list(gate["tables"]), gate["selected"]
    examples = "examples" in r.modes
    for t in r.eval_tasks(u):
        other = mismatched_task(r.pool, u, t)
        prompts = r.draws(t)
        gen_v, feats = query_features(r, bank, member, kinds, prompts, [encode_prompts(r.model, r.tok, p, r.ccfg) for p in prompts])
        gk = {k: [float(x) for x in gate["tables"][k].scale(feats[k])] for k in kinds}
        neigh = [gate["tables"][sel].neighbours(f) for f in feats[sel]]
        mis_prompts = r.draws(other)
        mis_v, mis_f = query_features(r, bank, member, [sel], mis_prompts,
                                      [encode_prompts(r.model, r.tok, p, r.ccfg) for p in mis_prompts])
        mis_g = [float(x) for x in gate["tables"][sel].scale(mis_f[sel])]
        nd = gen_v.shape[0]
        vals = [gen_v] * (len(kinds) + 1) + [mis_v]
        scales = [x for k in kinds for x in gk[k]] + [1.0] * nd + mis_g
        cols = {f"generated_{k}_gate": list(range(i * nd, (i + 1) * nd)) for i, k in enumerate(kinds)}
        cols["generated"] = cols[f"generated_{sel}_gate"]
        cols["generated_ungated"] = list(range(len(kinds) * nd, (len(kinds) + 1) * nd))
        cols["mismatched"] = list(range((len(kinds) + 1) * nd, (len(kinds) + 2) * nd))
        at = (len(kinds) + 2) * nd
        if mt is not None:
            vals.append(mt.unsqueeze(0))
            scales.append(1.0)
            cols["multitask_lora"] = [at]
            at += 1
        info = {}
        if examples:
            ex_draws = examples_eval.draws(r, t)
            ex_v = torch.stack([generate(r, bank, member, examples_eval.condition(r, c)) for c, _ in ex_draws])
            val = [v for _, v in ex_draws]
            ex_g = examples_eval.validation_gate(r, ex_v, val)
            mis_ex = examples_eval.draws(r, other)
            mx_v = torch.stack([generate(r, bank, member, examples_eval.condition(r, c)) for c, _ in mis_ex])
            mx_g = examples_eval.validation_gate(r, mx_v, val)  # the same validation, on this task's rows
            vals += [ex_v, ex_v, mx_v, mx_v]
            scales += ex_g.tolist() + [1.0] * nd + mx_g.tolist() + [1.0] * nd
            for name in ("examples", "examples_ungated", "examples_mismatched", "examples_mismatched_ungated"):
                cols[name] = list(range(at, at + nd))
                at += nd
            info = {"examples_gate": ex_g.tolist(), "examples_mismatched_gate": mx_g.tolist(),
                    "examples_mismatched_from": other}
        v = torch.cat(vals)
        gen_idx = cols["generated"] + cols["generated_ungated"] + cols["mismatched"] + cols.get("multitask_lora", []) \
            + cols.get("examples", []) + cols.get("examples_ungated", [])
        s = r.score(t, v, torch.tensor(scales), protocol=u.protocol, gen_idx=gen_idx)
        controls = summarize(s, cols)
        if examples:
            metrics = ("nll", "loglik") + (("gen",) if u.protocol == "paper" else ())
            controls["icl_k"] = examples_eval.icl_summary(r, t, [c for c, _ in ex_draws], metrics)
        res["tasks"][t] = {"family": r.pool[t].family, "kind": r.pool[t].kind, "source": r.pool[t].source,
                           "n": len(r.eval_rows(t)), "mismatched_from": other, "gate": gk[sel], "gate_kind": sel,
                           "gate_choice": gate["choice"], **{f"gate_{k}": gk[k] for k in kinds},
                           "gate_mismatched": mis_g, "gate_neighbours": neigh,
                           "answer_features": [[round(float(x), 4) for x in f] for f in feats["answer"]] if "answer" in feats else None,
                           **info, "controls": controls}
        c = controls
        r.log(f"[generated] {u.id} {t}: nll gen {c['generated']['nll']:.3f} (gate {sum(gk[sel]) / nd:.2f}) "
              f"ungated {c['generated_ungated']['nll']:.3f} mismatched {c['mismatched']['nll']:.3f} "
              f"multitask {c.get('multitask_lora', {}).get('nll', float('nan')):.3f}"
              + (f" | examples {c['examples']['nll']:.3f} (gate {float(ex_g.mean()):.2f}) ungated {c['examples_ungated']['nll']:.3f} "
                 f"mismatched {c['examples_mismatched']['nll']:.3f} icl {c['icl_k']['nll']:.3f}" if examples else ""))
    return res


def fit_heldout(r: Run, bank: GeneratorBank) -> dict:
    """(c) on held-out rows of the release's training tasks: prompt generator, one-hot generator and
    multi-task LoRA (the own-LoRA floor is the zoo's, in diag-zoo.json)."""
    p = int(r.cfg["generator"]["prompt_count"])
    rel = next(u for u in r.units if u.protocol == "release")
    onehot_index = {n: i for i, n in enumerate(rel.train)}
    out = {}
    for n in fit_sample(r):
        pool = r.conds["prompts"][n]
        oh = onehot_condition(onehot_index[n], (p,) + tuple(pool.shape[1:]))
        v = torch.stack([generate(r, bank, "gen-release", pool[:p]), generate(r, bank, "onehot-release", oh),
                         bank.multitask[bank.mt_index["mt-release"]].detach().float().cpu()])
        nll = fit_nll(r, n, v)
        out[n] = {"kind": r.pool[n].kind, "prompt": nll[0], "onehot": nll[1], "multitask": nll[2]}
    return out


def stage_generators(r: Run) -> None:
    t0 = time.time()
    g = r.cfg["generator"]
    names = sorted(r.pool)
    conds = r.conditions(names, r.modes)
    cond_std = float(torch.cat([c.reshape(-1, c.shape[-1]) for c in list(conds.values())[:50]]).std())
    rows = train_rows(r, names)
    data = task_data(r, names, rows)
    members = bank_members(r)
    dcfg = decoder_config(r)
    init = shared_init(r.layout, int(r.cfg["lora"].get("init_seed", 0)))
    rel = next(u for u in r.units if u.protocol == "release")
    onehot_index = {n: i for i, n in enumerate(rel.train)}
    ecfg = {**g, "prompt_count": int(g["prompt_count"])}
    ckpt = r.run_dir / "bank-checkpoint.pt"
    if r.cfg.get("throughput") and not ckpt.exists() and not r.read("throughput.json"):
        from trainer.bench.bank_throughput import compare

        r.write("throughput.json", compare(r, members, dcfg, init, data, rows, ecfg, cond_std, onehot_index))
        r.timed("generators.throughput", time.time() - t0)
    ecfg["steps"] = planned_steps(r)
    torch.manual_seed(int(g.get("seed", 0)))
    bank = GeneratorBank(members, dcfg, r.vl, init, float(g.get("sigma_a", 0.3)), float(g.get("sigma_b", 0.02))).to(r.device)
    r.log(f"[e2e] {len(members)} members ({len(bank.gen_members)} generators of {dcfg.num_parameters():,} parameters, "
          f"{len(bank.mt_members)} multi-task LoRAs), {len(names)} tasks, modes {r.modes}, buckets "
          f"{sorted(set(data.bucket.values()))}")
    t_train = time.time()
    limit = None if r.args.time_limit is None else max(0.0, r.args.time_limit - (t_train - r.t_start))
    train_info = train_bank(r.model, bank, data, ecfg, cond_std, r.rank, r.alpha, r.log, onehot_index,
                            time_limit=limit, checkpoint=str(ckpt), stop_after=r.args.train_steps)
    r.timed("generators.train", time.time() - t_train)
    calls = (r.read("bank-calls.json") or []) + [{"commit": r.commit, "device": r.device_name, **train_info["this_call"]}]
    r.write("bank-calls.json", calls)
    if train_info["steps"] < ecfg["steps"]:
        # a half-trained bank is never calibrated, evaluated or released: the next call continues it
        r.log(f"[e2e] {train_info['steps']}/{ecfg['steps']} steps done: rerun --stages generators to continue from {ckpt}")
        return
    r.write("bank.json", {**train_info, "calls": calls, "decoder": dcfg.to_dict(), "parameters": dcfg.num_parameters(),
                          "cond_std": cond_std, "modes": r.modes})
    t_gate = time.time()
    gates = calibrate_gates(r, bank)
    r.write("gates.json", gates_json(gates))
    r.timed("generators.gate", time.time() - t_gate)
    rel_gate = gates["release"]
    export_release(r, bank, rel_gate["tables"][rel_gate["selected"]], dcfg, train_info)
    t_diag = time.time()
    diag = {}
    for name, fn in (("fit_heldout", lambda: fit_heldout(r, bank)), ("probe", lambda: probe_task_identity(r, names, conds, head_conds(r, names)))):
        try:
            diag[name] = fn()
        except Exception as exc:  # a diagnostic that fails is reported; the evaluation still runs
            r.log(f"[diagnostics] {name} failed: {type(exc).__name__}: {exc}")
            diag[name] = None
    r.write("diag-generators.json", diag)
    r.timed("generators.diagnostics", time.time() - t_diag)
    t_eval = time.time()
    for u in r.eval_units():
        if r.read(f"generated-{u.id}.json"):
            continue
        if r.past_deadline(f"generated of {u.id}"):
            break
        r.write(f"generated-{u.id}.json", evaluate_unit(r, bank, u, gates[u.id]))
    r.timed("generators.eval", time.time() - t_eval)
    r.timed("generators", time.time() - t0)


def planned_steps(r: Run) -> int:
    """The bank's step count: ``generator.steps``, or with ``"auto"`` as many as
    ``generator.train_seconds`` allow at the batched loop's measured pace (results/throughput.json),
    decided once and kept in results/bank-plan.json so that every call trains to the same schedule."""
    g = r.cfg["generator"]
    if g["steps"] != "auto":
        return int(g["steps"])
    plan = r.read("bank-plan.json")
    if plan:
        return int(plan["steps"])
    thr = r.read("throughput.json")
    if not thr:
        raise ValueError("generator.steps 'auto' needs the throughput measurement (config 'throughput') first")
    b = thr["batched"]
    per_step = b["seconds"] / max(1, b["steps"])
    steps = max(1, int(float(g["train_seconds"]) / per_step))
    r.write("bank-plan.json", {"steps": steps, "train_seconds": g["train_seconds"], "seconds_per_step": round(per_step, 4),
                               "from": "throughput.json batched loop"})
    r.log(f"[e2e] planned {steps} steps: {g['train_seconds']} s at {per_step:.3f} s a step")
    return steps


def head_conds(r: Run, names: List[str]) -> Optional[Dict[str, torch.Tensor]]:
    """The first release's condition window (a prompt's first L tokens), for the probe's comparison."""
    if not r.cfg["diagnostics"].get("probe_head_window", True):
        return None
    hc = {**r.ccfg, "window": "head"}
    return {n: encode_prompts(r.model, r.tok, [x["prompt"] for x in r.cond_rows["prompts"][n]], hc) for n in names}


def export_release(r: Run, bank: GeneratorBank, gate, dcfg: DecoderConfig, train_info: dict) -> None:
    from trainer.generator.release import write_release

    out = r.run_dir / "release"
    decoder, mean, std = bank.export(bank.gen_index["gen-release"])
    rel = next(u for u in r.units if u.protocol == "release")
    training = {"recipe": "end-to-end (base model next-token loss, user turn only), residual around a jointly learned shared LoRA, "
                          "conditioned on prompts or answered rows; kNN gate calibrated on tasks its generators never saw",
                "tasks": len(rel.train), "sources": _count(r.pool[n].source for n in rel.train),
                "steps": train_info["steps"], "loss_last100": train_info["members"]["gen-release"]["loss_last100"],
                "modes": r.modes, "commit": r.commit, "device": r.device_name, "command": "python -m trainer zero-shot"}
    write_release(str(out), decoder, mean, std, gate, r.layout, r.ccfg, r.cfg.get("base_id", "dnd-base-llama-25m"),
                  r.base_sha, r.model.cfg.hidden_size, training,
                  examples=({"template": examples_eval.examples_ccfg(r)["template"],
                             "validation_rows": int(r.cfg["examples"].get("validation_rows", 16)),
                             "grid": [float(x) for x in r.cfg["gate"]["scales"]]} if "examples" in r.modes else None),
                  answer={"tokens": int(r.cfg["gate"].get("answer_tokens", 4)),
                          "max_prompt_tokens": int(r.ecfg.get("max_prompt_tokens", 320))})
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
