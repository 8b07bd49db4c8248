"""``reports/zero-shot.{json,md}`` from the end-to-end run's ``results/`` (trainer/evaluate/zero_shot.py).

JSON: ``protocols.<name>.rows[]`` = ``{task, family, n, nll: {control: value}, acc: {control: value or
null}, acc_se, loglik, nll_instr, ...}`` and ``protocols.<name>.headline``; ``diagnostics``;
``targets`` (issue 10's, each with its value and whether it is met); ``timings``.

Headline measures (over a protocol's held-out staged tasks):
- ``generated_beats_mismatched``: share of tasks with NLL(generated) < NLL(mismatched);
- ``no_harm``: share with NLL(generated) <= NLL(base);
- ``gap_closed``: (mean NLL of mean_lora - of generated) / (mean NLL of mean_lora - of oracle), the
  ratio of the averages over tasks (per-task ratios explode where mean_lora ~ oracle; their median
  over tasks with a gap above 0.05 is given too);
- accuracy deltas (generate-then-parse) as the mean of paired per-item differences over every
  scored item of the protocol, with its standard error.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Optional

CONTROLS = ["base", "mean_lora", "multitask_lora", "retrieval", "generated", "generated_ungated", "mismatched", "oracle"]
# ablations: the generated adapter under each gate feature (``generated`` is the one each unit
# selected on its own calibration tasks)
GATE_COLUMNS = ["generated_condition_gate", "generated_output_gate", "generated_answer_gate"]
# examples mode (issue 16): conditioned on answered rows of the task's train split, validation-gated
EXAMPLES = ["examples", "examples_ungated", "examples_mismatched", "examples_mismatched_ungated", "icl_k"]
PROTOCOLS = ("all_tasks", "paper", "synthetic")
FAMILY_ORDER = ["mcq", "yesno", "cls", "math", "code", "gen"]


def _load(results: Path) -> dict:
    out = {"controls": {}, "generated": {}}
    for p in sorted(results.glob("controls-*.json")):
        d = json.loads(p.read_text())
        out["controls"][d["unit"]] = d
    for p in sorted(results.glob("generated-*.json")):
        d = json.loads(p.read_text())
        out["generated"][d["unit"]] = d
    for name in ("diag-zoo", "diag-generators", "gates", "bank", "zoo-index", "run-info", "throughput", "bank-calls"):
        p = results / f"{name}.json"
        out[name] = json.loads(p.read_text()) if p.exists() else None
    out["calls"] = [json.loads(p.read_text()) for p in sorted(results.glob("call-*.json"))]
    return out


def _rows(data: dict, protocol: str) -> List[dict]:
    rows = []
    units = sorted(set(data["controls"]) | set(data["generated"]))
    for u in units:
        c = data["controls"].get(u)
        g = data["generated"].get(u)
        proto = (c or g)["protocol"]
        if proto != protocol:
            continue
        tasks = sorted(set((c or {}).get("tasks", {})) | set((g or {}).get("tasks", {})))
        for t in tasks:
            ct = (c or {}).get("tasks", {}).get(t, {})
            gt = (g or {}).get("tasks", {}).get(t, {})
            info = ct or gt
            ctrl = {**ct.get("controls", {}), **gt.get("controls", {})}
            row = {"task": t, "unit": u, "family": info["family"], "kind": info["kind"], "n": info["n"],
                   "source": info.get("source"), "base_tuned": t in data.get("base_tuned", set()),
                   "nll": {k: _r(ctrl[k]["nll"]) if k in ctrl else None for k in CONTROLS + GATE_COLUMNS + EXAMPLES
                           if k in ctrl or k in CONTROLS},
                   "nll_instr": {k: _r(ctrl[k].get("nll_instr")) if k in ctrl else None for k in CONTROLS},
                   "acc": {k: _r(ctrl[k].get("gen")) if k in ctrl else None for k in CONTROLS + EXAMPLES},
                   "acc_se": {k: _se(ctrl[k].get("gen_items")) if k in ctrl else None for k in CONTROLS + EXAMPLES},
                   "loglik": {k: _r(ctrl[k].get("loglik")) if k in ctrl else None for k in CONTROLS + EXAMPLES},
                   "gate": gt.get("gate"), "gate_kind": gt.get("gate_kind"), "gate_choice": gt.get("gate_choice"), "gate_mismatched": gt.get("gate_mismatched"),
                   "mismatched_from": gt.get("mismatched_from"), "retrieved": ct.get("retrieved"),
                   "gate_neighbours": gt.get("gate_neighbours"), "answer_features": gt.get("answer_features"),
                   "examples_gate": gt.get("examples_gate"), "examples_mismatched_gate": gt.get("examples_mismatched_gate"),
                   "samples": {k: ctrl[k].get("samples") for k in ("base", "generated", "oracle") if k in ctrl and ctrl[k].get("samples")},
                   "_items": {k: ctrl[k].get("gen_items") for k in CONTROLS + EXAMPLES if k in ctrl and ctrl[k].get("gen_items") is not None}}
            rows.append(row)
    return rows


def _r(x, n=4):
    return None if x is None else round(float(x), n)


def _se(items: Optional[List[float]]) -> Optional[float]:
    if not items:
        return None
    p = sum(items) / len(items)
    return round(math.sqrt(max(p * (1 - p), 0.0) / len(items)), 4)


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return round(sum(xs) / len(xs), 4) if xs else None


def paired_delta(rows: List[dict], a: str, b: str) -> Optional[dict]:
    """Mean of per-item differences acc(a) - acc(b) pooled over every item of every row scored by
    both, with its standard error (items independent)."""
    d = []
    for r in rows:
        ia, ib = r["_items"].get(a), r["_items"].get(b)
        if ia is None or ib is None:
            continue
        d += [x - y for x, y in zip(ia, ib)]
    if len(d) < 2:
        return None
    m = sum(d) / len(d)
    var = sum((x - m) ** 2 for x in d) / (len(d) - 1)
    se = math.sqrt(var / len(d))
    return {"delta": round(m, 4), "se": round(se, 4), "items": len(d), "z": round(m / se, 2) if se > 0 else None}


def _share(rows: List[dict], test) -> Optional[float]:
    return _r(sum(1 for r in rows if test(r)) / len(rows), 3) if rows else None


def _gap(rows: List[dict], col: str, start: str = "mean_lora", end: str = "oracle") -> Optional[float]:
    """(mean NLL of ``start`` - of ``col``) / (mean of ``start`` - of ``end``) over the rows having all three."""
    g = [r for r in rows if all(r["nll"].get(k) is not None for k in (start, col, end))]
    if not g:
        return None
    a, c, e = (_mean([r["nll"][k] for r in g]) for k in (start, col, end))
    return _r((a - c) / (a - e), 3) if abs(a - e) > 1e-9 else None


def with_oracle_gate(rows: List[dict]) -> None:
    """Adds ``oracle_gate`` (the perfect per-task on/off choice: the better of base and the ungated
    adapter) and, in examples mode, ``examples_oracle_gate`` to every row's NLL."""
    for r in rows:
        n = r["nll"]
        if n.get("base") is not None and n.get("generated_ungated") is not None:
            n["oracle_gate"] = min(n["base"], n["generated_ungated"])
        if n.get("base") is not None and n.get("examples_ungated") is not None:
            n["examples_oracle_gate"] = min(n["base"], n["examples_ungated"])


def headline(rows: List[dict]) -> dict:
    def have(*ks):
        return [r for r in rows if all(r["nll"].get(k) is not None for k in ks)]

    with_oracle_gate(rows)
    cols = CONTROLS + GATE_COLUMNS + ["oracle_gate"] + EXAMPLES + ["examples_oracle_gate"]
    h: dict = {"tasks": len(rows)}
    h["generated_beats_mismatched"] = _share(have("generated", "mismatched"), lambda r: r["nll"]["generated"] < r["nll"]["mismatched"])
    h["ungated_beats_mismatched"] = _share(have("generated_ungated", "mismatched"),
                                           lambda r: r["nll"]["generated_ungated"] < r["nll"]["mismatched"])
    for k in ["generated", "generated_ungated", "oracle_gate"] + GATE_COLUMNS:
        key = "no_harm" if k == "generated" else f"no_harm_{k.replace('generated_', '')}"
        h[key] = _share(have(k, "base"), lambda r, k=k: r["nll"][k] <= r["nll"]["base"])
    # the released base was chat-tuned on some of the held-out datasets: no harm split by that
    h["no_harm_by_base_tuning"] = {
        label: {"tasks": len(sub), "generated": _share(sub, lambda r: r["nll"]["generated"] <= r["nll"]["base"]),
                "ungated": _share(sub, lambda r: r["nll"]["generated_ungated"] <= r["nll"]["base"])}
        for label, sub in (("base tuned on it", [r for r in have("generated", "generated_ungated", "base") if r["base_tuned"]]),
                           ("not", [r for r in have("generated", "generated_ungated", "base") if not r["base_tuned"]]))}
    h["mean_nll"] = {k: _mean([r["nll"].get(k) for r in rows]) for k in cols}
    h["gate_kinds"] = _count_kinds(rows)
    h["gate_choices"] = _count_kinds(rows, "gate_choice")
    h["gap_closed"] = _gap(rows, "generated")
    g = have("mean_lora", "generated", "oracle")
    per = [(r["nll"]["mean_lora"] - r["nll"]["generated"]) / (r["nll"]["mean_lora"] - r["nll"]["oracle"])
           for r in g if r["nll"]["mean_lora"] - r["nll"]["oracle"] > 0.05]
    h["gap_closed_median_per_task"] = _r(sorted(per)[len(per) // 2], 3) if per else None
    h["gap_closed_ungated"] = _gap(rows, "generated_ungated")
    h["gap_closed_oracle_gate"] = _gap(rows, "oracle_gate")
    h["gap_closed_multitask_to_oracle"] = _gap(rows, "generated", "multitask_lora")  # the synthetic protocol's measure
    h["mean_acc"] = {k: _mean([r["acc"].get(k) for r in rows]) for k in CONTROLS + EXAMPLES}
    h["mean_loglik"] = {k: _mean([r["loglik"].get(k) for r in rows]) for k in CONTROLS + EXAMPLES}
    h["mean_nll_instr"] = {k: _mean([r["nll_instr"].get(k) for r in rows]) for k in CONTROLS}
    h["acc_delta"] = {f"generated-{k}": paired_delta(rows, "generated", k)
                      for k in ("mismatched", "base", "mean_lora", "multitask_lora", "retrieval", "generated_ungated")}
    if have("examples"):
        ex = have("examples", "base", "icl_k", "examples_mismatched")
        h["examples"] = {
            "tasks": len(ex),
            "no_harm": _share(ex, lambda r: r["nll"]["examples"] <= r["nll"]["base"]),
            "no_harm_ungated": _share(ex, lambda r: r["nll"]["examples_ungated"] <= r["nll"]["base"]),
            "beats_icl_k": _share(ex, lambda r: r["nll"]["examples"] < r["nll"]["icl_k"]),
            "beats_examples_mismatched": _share(ex, lambda r: r["nll"]["examples"] < r["nll"]["examples_mismatched"]),
            "ungated_beats_mismatched_ungated": _share(have("examples_ungated", "examples_mismatched_ungated"),
                                                       lambda r: r["nll"]["examples_ungated"] < r["nll"]["examples_mismatched_ungated"]),
            "gap_closed": _gap(rows, "examples"), "gap_closed_ungated": _gap(rows, "examples_ungated"),
            "gap_closed_oracle_gate": _gap(rows, "examples_oracle_gate"),
            "acc_delta": {f"examples-{k}": paired_delta(rows, "examples", k) for k in ("icl_k", "examples_mismatched", "base", "generated")},
        }
    fams = {}
    for f in FAMILY_ORDER + sorted({r["family"] for r in rows} - set(FAMILY_ORDER)):
        fr = [r for r in rows if r["family"] == f]
        if fr:
            fams[f] = {"tasks": len(fr), "mean_nll": {k: _mean([r["nll"].get(k) for r in fr]) for k in cols}}
    h["by_family"] = fams
    return h


def _count_kinds(rows: List[dict], key: str = "gate_kind") -> dict:
    out: Dict[str, int] = {}
    for r in rows:
        if r.get(key):
            out[r[key]] = out.get(r[key], 0) + 1
    return out


def targets(protocols: Dict[str, dict], throughput: Optional[dict], fit: Optional[dict]) -> List[dict]:
    """Issue 15's and issue 16's targets, each with its value and whether it is met."""
    t = []

    def add(issue, name, value, ok, want):
        t.append({"issue": issue, "target": name, "value": value, "want": want, "met": bool(ok) if value is not None else False})

    if throughput:
        add(15, "throughput >= 10x the baseline configuration, same GPU, same call", throughput.get("speedup"),
            (throughput.get("speedup") or 0) >= 10, ">= 10")
    if fit:
        add(15, "fit on held-out rows: one-hot <= own LoRA + 0.15", {"onehot": fit.get("onehot"), "own_lora": fit.get("own_lora")},
            None not in (fit.get("onehot"), fit.get("own_lora")) and fit["onehot"] <= fit["own_lora"] + 0.15, "<= own_lora + 0.15")
        add(15, "fit on held-out rows: prompt generator <= own LoRA + 0.25", {"prompt": fit.get("prompt"), "own_lora": fit.get("own_lora")},
            None not in (fit.get("prompt"), fit.get("own_lora")) and fit["prompt"] <= fit["own_lora"] + 0.25, "<= own_lora + 0.25")
    a = (protocols.get("all_tasks") or {}).get("headline") or {}
    if a:
        add(15, "all_tasks: generated NLL <= base on >= 90% of tasks", a.get("no_harm"), (a.get("no_harm") or 0) >= 0.9, ">= 0.9")
        add(15, "all_tasks: average NLL gap closed >= 0.3", a.get("gap_closed"), (a.get("gap_closed") or -1) >= 0.3, ">= 0.3")
        add(15, "all_tasks: generated NLL < mismatched on >= 80% of tasks", a.get("generated_beats_mismatched"),
            (a.get("generated_beats_mismatched") or 0) >= 0.8, ">= 0.8")
        mn = a.get("mean_nll", {})
        for k in ("retrieval", "multitask_lora"):
            ok = mn.get("generated") is not None and mn.get(k) is not None and mn["generated"] <= mn[k]
            add(15, f"all_tasks: mean NLL generated <= {k}", {"generated": mn.get("generated"), k: mn.get(k)}, ok, "<=")
    pa = (protocols.get("paper") or {}).get("headline") or {}
    if pa:
        mn = pa.get("mean_nll", {})
        d = None if None in (mn.get("generated"), mn.get("generated_ungated")) else round(mn["generated"] - mn["generated_ungated"], 4)
        add(15, "paper: gated mean NLL within 0.03 of ungated", d, d is not None and d <= 0.03, "<= 0.03")
        ma = pa.get("mean_acc", {})
        for k in ("mean_lora", "multitask_lora"):
            ok = ma.get("generated") is not None and ma.get(k) is not None and ma["generated"] > ma[k]
            add(15, f"paper: mean accuracy generated > {k}", {"generated": ma.get("generated"), k: ma.get(k)}, ok, ">")
    sy = (protocols.get("synthetic") or {}).get("headline") or {}
    if sy:
        v = sy.get("gap_closed_multitask_to_oracle")
        add(15, "synthetic: generated closes >= 50% of the multitask_lora -> oracle NLL gap", v, (v or -1) >= 0.5, ">= 0.5")
        add(15, "synthetic: generated NLL < mismatched on >= 90% of tasks", sy.get("generated_beats_mismatched"),
            (sy.get("generated_beats_mismatched") or 0) >= 0.9, ">= 0.9")
    ex = a.get("examples") if a else None
    if ex:
        add(16, "all_tasks, examples: NLL <= base on >= 90% of tasks", ex.get("no_harm"), (ex.get("no_harm") or 0) >= 0.9, ">= 0.9")
        cls = (a.get("by_family") or {}).get("cls", {}).get("mean_nll", {})
        v = {"examples": cls.get("examples"), "base": cls.get("base")}
        add(16, "all_tasks, examples: the cls family's mean NLL below base", v,
            None not in v.values() and cls["examples"] < cls["base"], "<")
        both = None if None in (ex.get("beats_icl_k"), ex.get("beats_examples_mismatched")) else min(ex["beats_icl_k"], ex["beats_examples_mismatched"])
        add(16, "all_tasks, examples: below icl_k and below examples_mismatched on >= 80% of tasks",
            {"beats_icl_k": ex.get("beats_icl_k"), "beats_examples_mismatched": ex.get("beats_examples_mismatched")},
            both is not None and both >= 0.8, ">= 0.8 each")
        add(16, "all_tasks, examples: gap closed (mean_lora -> oracle) >= 0.5", ex.get("gap_closed"), (ex.get("gap_closed") or -1) >= 0.5, ">= 0.5")
    return t


def fit_summary(diag_gen: Optional[dict], diag_zoo: Optional[dict]) -> Optional[dict]:
    """Diagnostic (c) on held-out rows: mean NLL of each column over the fit tasks, and by kind."""
    fit = (diag_gen or {}).get("fit_heldout")
    floor = (diag_zoo or {}).get("fit_floor_heldout")
    if not fit or not floor:
        return None
    names = [n for n in fit if n in floor]

    def cols(ns):
        return {"tasks": len(ns), "base": _mean([floor[n]["base"] for n in ns]), "own_lora": _mean([floor[n]["zoo"] for n in ns]),
                "onehot": _mean([fit[n]["onehot"] for n in ns]), "prompt": _mean([fit[n]["prompt"] for n in ns]),
                "multitask": _mean([fit[n]["multitask"] for n in ns])}

    out = cols(names)
    out["by_kind"] = {k: cols([n for n in names if fit[n]["kind"] == k]) for k in sorted({fit[n]["kind"] for n in names})}
    return out


def _protocols(data: dict) -> dict:
    protocols = {}
    for proto in PROTOCOLS:
        rows = _rows(data, proto)
        if rows:
            protocols[proto] = {"rows": rows, "headline": headline(rows)}
    return protocols


def base_tuned_tasks(cfg: dict) -> set:
    """The staged datasets the released base model was chat-tuned on (its config's ``chat.tasks``)."""
    from trainer.config import load_config, resolve

    path = cfg.get("base_config", "trainer/configs/base.json")
    try:
        return set(load_config(resolve(path))["chat"]["tasks"])
    except (OSError, KeyError):
        return set()


REPORTED_CONFIG = ("pool", "units", "lora", "zoo", "condition", "generator", "gate", "eval", "examples")


def write_reports(results: Path, reports_dir: Path, cfg: dict, commit: str) -> dict:
    """``results/earlier/<name>/`` (optional): result sets of earlier attempts whose headlines are
    kept beside the final one."""
    data = _load(Path(results))
    data["base_tuned"] = base_tuned_tasks(cfg)
    protocols = _protocols(data)
    earlier = {}
    for d in sorted((Path(results) / "earlier").glob("*")) if (Path(results) / "earlier").is_dir() else []:
        ed = _load(d)
        ed["base_tuned"] = data["base_tuned"]
        earlier[d.name] = {"calls": ed["calls"], "headline": {p: v["headline"] for p, v in _protocols(ed).items()}}
    fit = fit_summary(data.get("diag-generators"), data.get("diag-zoo"))
    thr = data.get("throughput")
    bank = data.get("bank") or {}
    tg = targets(protocols, thr, fit)
    run_config = (data.get("run-info") or {}).get("config")
    out = {
        "generated_by": "python -m trainer zero-shot",
        "command": "scripts/gpu-machine/zero-shot.sh: --stages zoo,controls,generators --time-limit (GPU call 1); "
                   "--stages generators (GPU call 2); --stages report",
        "commit": commit,
        "device": (data.get("run-info") or {}).get("device"),
        "torch": (data.get("run-info") or {}).get("torch"),
        "calls": data["calls"],
        "setting": "user turn only (no system instruction) for training and for every nll/acc/loglik column; nll_instr: the same adapters scored with the row's instruction",
        # the sections the run recorded (run-info.json); a run that predates that gets today's file, said so
        "config": run_config or {k: cfg.get(k) for k in REPORTED_CONFIG},
        "config_source": "the run's run-info.json" if run_config else "the config file when the report was written",
        "throughput": None if not thr else {k: thr.get(k) for k in ("tokens_per_s", "baseline_tokens_per_s", "speedup", "tflops",
                                                                     "baseline_tflops", "gpu", "members", "generators", "baseline",
                                                                     "batched", "variants", "tokens", "tflops_counts")},
        "training": {k: bank.get(k) for k in ("steps", "seconds", "padded_tokens", "real_tokens", "target_tokens", "rows",
                                               "examples_picks", "picks", "calls", "parameters", "modes")} if bank else None,
        "rows_per_task": bank.get("rows_per_task"),
        "protocols": {p: {"headline": v["headline"], "rows": [{k: x for k, x in r.items() if not k.startswith("_")} for r in v["rows"]]}
                      for p, v in protocols.items()},
        "targets": tg,
        "diagnostics": {"fit_heldout": fit, "zoo": data.get("diag-zoo"), "generators": data.get("diag-generators"),
                        "gates": data.get("gates"), "bank_members": bank.get("members"), "zoo_index": data.get("zoo-index")},
        "timings_s": {f"{c['stages']}: {k}": v for c in data["calls"] for k, v in c["timings"].items()},
        "earlier_attempts": earlier,
        "complete": all(p in protocols for p in PROTOCOLS) and all(
            all(r["nll"].get(k) is not None for k in CONTROLS) for p, v in protocols.items() for r in v["rows"]),
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / "zero-shot.json").write_text(json.dumps(out, indent=1) + "\n")
    (reports_dir / "zero-shot.md").write_text(markdown(out) + "\n")
    return out


def _f(x, n=3):
    return "–" if x is None else f"{x:.{n}f}"


def _pct(x):
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(rep: dict) -> str:
    L = ["# Zero-shot prompt-to-LoRA: the end-to-end generator (issues 15 and 16)", "",
         f"Report written at commit `{rep['commit']}` by `{rep['generated_by']}` ({rep['command']}). "
         f"Setting: {rep['setting']}. Complete: {rep['complete']}.", ""]
    for c in rep.get("calls", []):
        L.append(f"- GPU call `{c['stages']}`: commit `{c['commit']}`, {c.get('device')}, torch {c.get('torch')}, "
                 f"wall {c.get('wall_s', '–')} s")
    thr = rep.get("throughput")
    if thr:
        L += ["", "## Throughput of generator training (same GPU, same call)", "",
              f"{thr['gpu']}, {thr['members']} members ({thr['generators']} generators): the batched loop "
              f"{thr['tokens_per_s'] / 1e3:.0f}k padded tokens/s ({thr['tflops']} TFLOP/s) vs the loop of 2b398b5 "
              f"{thr['baseline_tokens_per_s'] / 1e3:.0f}k ({thr['baseline_tflops']} TFLOP/s): **{thr['speedup']}x**. "
              f"TFLOP/s counts {thr['tflops_counts']}."]
        for name, v in (thr.get("variants") or {}).items():
            if "error" in v:
                L.append(f"- variant {name}: failed ({v['error'][:200]})")
            else:
                L.append(f"- variant {name}: {v['padded_tokens'] / max(v['seconds'], 1e-9) / 1e3:.0f}k padded tokens/s "
                         f"({v.get('wall_with_warmup_s')} s with its warm-up)")
    tr = rep.get("training")
    if tr:
        rel = (rep.get("rows_per_task") or {}).get("gen-release") or {}
        calls = tr.get("calls") or []
        trained_s = round(sum(float(c["seconds"]) for c in calls), 2) if calls else tr["seconds"]
        L += ["", f"Training: {tr['steps']} steps in {trained_s} s of training over {max(len(calls), 1)} call(s) ("
                  + "; ".join(f"call {i + 1}: {c['steps']} steps, {c['seconds']} s" for i, c in enumerate(calls)) + f"); {tr['rows']:,} rows, "
                  f"{tr['padded_tokens']:,} padded / {tr['real_tokens']:,} real tokens; release generator rows per training task: "
                  f"min {rel.get('min')}, mean {rel.get('mean')}, max {rel.get('max')}; condition modes {tr.get('modes')} "
                  f"({tr['examples_picks']:,} of {tr['picks']:,} generator picks conditioned on answered rows)."]
    L += ["", "## Targets", "", "| issue | target | value | met |", "|---|---|---|---|"]
    for t in rep["targets"]:
        v = t["value"]
        vs = json.dumps(v) if isinstance(v, dict) else _f(v)
        L.append(f"| {t['issue']} | {t['target']} | {vs} | {'yes' if t['met'] else 'no'} |")
    cols = CONTROLS + ["oracle_gate"]
    for proto, p in rep["protocols"].items():
        h = p["headline"]
        L += ["", f"## Protocol `{proto}` ({h['tasks']} held-out tasks)", ""]
        L.append(f"- generated NLL below mismatched on {_pct(h['generated_beats_mismatched'])}% of tasks "
                 f"(ungated: {_pct(h['ungated_beats_mismatched'])}%); not above base on {_pct(h['no_harm'])}% "
                 f"(ungated: {_pct(h.get('no_harm_ungated'))}%, perfect on/off gate: {_pct(h.get('no_harm_oracle_gate'))}%)")
        nb = h.get("no_harm_by_base_tuning") or {}
        if nb:
            L.append("- not above base, by whether the released base was chat-tuned on the dataset: "
                     + "; ".join(f"{k}: {_pct(v['generated'])}% of {v['tasks']} (ungated {_pct(v['ungated'])}%)" for k, v in nb.items()))
        L.append(f"- average NLL gap closed (mean_lora -> oracle): gated {_f(h['gap_closed'])}, ungated {_f(h.get('gap_closed_ungated'))}, "
                 f"perfect on/off gate {_f(h.get('gap_closed_oracle_gate'))} (median per task, gated: {_f(h['gap_closed_median_per_task'])}); "
                 f"multitask_lora -> oracle: {_f(h.get('gap_closed_multitask_to_oracle'))}")
        for k, d in h["acc_delta"].items():
            if d:
                L.append(f"- accuracy {k}: {100 * d['delta']:+.1f} points ± {100 * d['se']:.1f} (SE, {d['items']} paired items)")
        L.append(f"- gate chosen per unit on its own calibration tasks (tasks per feature): {json.dumps(h.get('gate_kinds'))}, "
                 f"feature/rule: {json.dumps(h.get('gate_choices'))}; mean NLL under each feature's gate: "
                 + ", ".join(f"{k.split('_')[1]} {_f(h['mean_nll'].get(k))} (no harm {_pct(h.get('no_harm_' + k.replace('generated_', '')))}%)"
                             for k in GATE_COLUMNS if h["mean_nll"].get(k) is not None))
        ex = h.get("examples")
        if ex:
            L.append(f"- **examples mode** (answered rows of the task's train split, validation gate): not above base on "
                     f"{_pct(ex['no_harm'])}% (ungated {_pct(ex['no_harm_ungated'])}%); below icl_k on {_pct(ex['beats_icl_k'])}%, "
                     f"below examples_mismatched on {_pct(ex['beats_examples_mismatched'])}% (ungated vs ungated "
                     f"{_pct(ex['ungated_beats_mismatched_ungated'])}%); gap closed {_f(ex['gap_closed'])} (ungated "
                     f"{_f(ex['gap_closed_ungated'])}, perfect on/off {_f(ex['gap_closed_oracle_gate'])})")
            for k, d in ex["acc_delta"].items():
                if d:
                    L.append(f"  - accuracy {k}: {100 * d['delta']:+.1f} points ± {100 * d['se']:.1f} (SE, {d['items']} items)")
        ecols = [k for k in EXAMPLES + ["examples_oracle_gate"] if h["mean_nll"].get(k) is not None]
        L += ["", "| control | mean NLL | mean NLL with instruction | generate-then-parse acc | log-likelihood acc |", "|---|---:|---:|---:|---:|"]
        for k in cols + ecols:
            L.append(f"| {k} | {_f(h['mean_nll'].get(k))} | {_f(h['mean_nll_instr'].get(k))} | {_pct(h['mean_acc'].get(k))} | "
                     f"{_pct(h['mean_loglik'].get(k))} |")
        fcols = cols + ecols
        L += ["", "By family (mean NLL):", "", "| family | tasks | " + " | ".join(fcols) + " |", "|---|---:|" + "---:|" * len(fcols)]
        for f, d in h["by_family"].items():
            L.append(f"| {f} | {d['tasks']} | " + " | ".join(_f(d["mean_nll"].get(k)) for k in fcols) + " |")
        pcols = CONTROLS + [k for k in ("examples", "examples_ungated", "icl_k") if k in ecols]
        L += ["", "Per task (NLL; generate-then-parse accuracy % in brackets where answers parse; * = the base was chat-tuned on it):", "",
              "| task | family | gate | " + " | ".join(pcols) + " |", "|---|---|---:|" + "---:|" * len(pcols)]
        for r in p["rows"]:
            gate = _f(sum(r["gate"]) / len(r["gate"]), 2) if r.get("gate") else "–"
            cells = []
            for k in pcols:
                a = r["acc"].get(k)
                cells.append(_f(r["nll"].get(k)) + (f" ({100 * a:.0f})" if a is not None else ""))
            L.append(f"| {r['task']}{' *' if r.get('base_tuned') else ''} | {r['family']} | {gate} | " + " | ".join(cells) + " |")
    d = rep["diagnostics"]
    L += ["", "## Diagnostics", ""]
    fit = d.get("fit_heldout")
    if fit:
        L += [f"(c) Fit on held-out rows of {fit['tasks']} training tasks (rows no zoo LoRA or generator trained on; mean NLL):", "",
              "| kind | tasks | base | own zoo LoRA | one-hot generator | prompt generator | multi-task LoRA |", "|---|---:|---:|---:|---:|---:|---:|"]
        for label, c in [("all", fit)] + list(fit["by_kind"].items()):
            L.append(f"| {label} | {c['tasks']} | {_f(c['base'])} | {_f(c['own_lora'])} | {_f(c['onehot'])} | {_f(c['prompt'])} | {_f(c['multitask'])} |")
        L.append("")
    gp = (d.get("generators") or {}).get("probe")
    if gp:
        L.append(f"(a) Linear probe of task identity from P = {gp['prompts_per_draw']}-prompt conditions "
                 f"({gp['tasks']} tasks; fit on draws from one half of each task's prompt pool, scored on the other):")
        for label, res in gp["probes"].items():
            L.append(f"- {label}: task {_pct(res['task_accuracy'])}% (chance {_pct(res['task_chance'])}%), "
                     f"family {_pct(res['family_accuracy'])}% (chance {_pct(res['family_chance'])}%)")
    z = d.get("zoo")
    if z:
        L.append(f"(b) Zoo: cosine of dW between two seeds of the same staged task {_f(z['same_task_seed_cosine']['mean'])} "
                 f"(min {_f(z['same_task_seed_cosine']['min'])}); between different tasks of the same family "
                 f"{_f(z['same_family_cosine']['mean'])}, of other families {_f(z['other_family_cosine']['mean'])}.")
    gates = d.get("gates") or {}
    if gates:
        L += ["", "Gates (leave-one-out on each unit's calibration tasks; the choice, its NLL and no-harm share, and what a perfect on/off choice would give there):", "",
              "| unit | calibration tasks | scored on | choice | LOO NLL | LOO no harm | never | always | perfect on/off |", "|---|---:|---|---|---:|---:|---:|---:|---:|"]
        for uid, g in gates.items():
            m = g["loo"][g["choice"]]
            b = g["bounds"]
            L.append(f"| {uid} | {g.get('tasks')} | {g.get('select_on')} ({b.get('tasks')}) | {g['choice']} | {_f(m['nll'])} | "
                     f"{_pct(m['no_harm'])}% | {_f(b['never'])} | {_f(b['always'])} | {_f(b.get('on_off'))} |")
    for name, e in (rep.get("earlier_attempts") or {}).items():
        L += ["", f"## Earlier attempt `{name}`", ""]
        for c in e["calls"]:
            L.append(f"- GPU call `{c['stages']}`: commit `{c['commit']}`, {c.get('device')}")
        for p, h in e["headline"].items():
            L.append(f"- `{p}`: generated NLL below mismatched on {_pct(h['generated_beats_mismatched'])}% of tasks, "
                     f"not above base on {_pct(h['no_harm'])}%, gap closed {_f(h['gap_closed'])}, mean NLL generated "
                     f"{_f(h['mean_nll']['generated'])} (ungated {_f(h['mean_nll']['generated_ungated'])}), accuracy "
                     f"generated {_pct(h['mean_acc']['generated'])} vs mean_lora {_pct(h['mean_acc']['mean_lora'])}")
    if rep.get("timings_s"):
        L += ["", "## Wall time per stage (s)", "", "| stage | s |", "|---|---:|"]
        for k, v in rep["timings_s"].items():
            L.append(f"| {k} | {v} |")
    return "\n".join(L)
