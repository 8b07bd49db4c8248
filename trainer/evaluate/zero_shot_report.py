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
GATE_COLUMNS = ["generated_condition_gate", "generated_output_gate"]
FAMILY_ORDER = ["mcq", "yesno", "cls", "math", "code", "gen"]


def _load(results: Path) -> dict:
    out = {"controls": {}, "generated": {}}
    for p in sorted(results.glob("controls-*.json")):
        d = json.loads(p.read_text())
        out["controls"][d["unit"]] = d
    for p in sorted(results.glob("generated-*.json")):
        d = json.loads(p.read_text())
        out["generated"][d["unit"]] = d
    for name in ("diag-zoo", "diag-generators", "gates", "bank", "zoo-index", "run-info"):
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
                   "nll": {k: _r(ctrl[k]["nll"]) if k in ctrl else None for k in CONTROLS + GATE_COLUMNS if k in ctrl or k in CONTROLS},
                   "nll_instr": {k: _r(ctrl[k].get("nll_instr")) if k in ctrl else None for k in CONTROLS},
                   "acc": {k: _r(ctrl[k].get("gen")) if k in ctrl else None for k in CONTROLS},
                   "acc_se": {k: _se(ctrl[k].get("gen_items")) if k in ctrl else None for k in CONTROLS},
                   "loglik": {k: _r(ctrl[k].get("loglik")) if k in ctrl else None for k in CONTROLS},
                   "gate": gt.get("gate"), "gate_kind": gt.get("gate_kind"), "gate_choice": gt.get("gate_choice"), "gate_mismatched": gt.get("gate_mismatched"),
                   "mismatched_from": gt.get("mismatched_from"), "retrieved": ct.get("retrieved"),
                   "gate_neighbours": gt.get("gate_neighbours"),
                   "samples": {k: ctrl[k].get("samples") for k in ("base", "generated", "oracle") if k in ctrl and ctrl[k].get("samples")},
                   "_items": {k: ctrl[k].get("gen_items") for k in CONTROLS if k in ctrl and ctrl[k].get("gen_items") is not None}}
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


def headline(rows: List[dict]) -> dict:
    def have(*ks):
        return [r for r in rows if all(r["nll"].get(k) is not None for k in ks)]

    h: dict = {"tasks": len(rows)}
    both = have("generated", "mismatched")
    h["generated_beats_mismatched"] = _r(sum(r["nll"]["generated"] < r["nll"]["mismatched"] for r in both) / max(1, len(both)), 3)
    ub = have("generated_ungated", "mismatched")
    h["ungated_beats_mismatched"] = _r(sum(r["nll"]["generated_ungated"] < r["nll"]["mismatched"] for r in ub) / max(1, len(ub)), 3)
    nb = have("generated", "base")
    h["no_harm"] = _r(sum(r["nll"]["generated"] <= r["nll"]["base"] for r in nb) / max(1, len(nb)), 3)
    nu = have("generated_ungated", "base")
    h["no_harm_ungated"] = _r(sum(r["nll"]["generated_ungated"] <= r["nll"]["base"] for r in nu) / max(1, len(nu)), 3)
    h["mean_nll"] = {k: _mean([r["nll"].get(k) for r in rows]) for k in CONTROLS + GATE_COLUMNS}
    for k in GATE_COLUMNS:
        hk = have(k, "base")
        if hk:
            h[f"no_harm_{k}"] = _r(sum(r["nll"][k] <= r["nll"]["base"] for r in hk) / len(hk), 3)
    h["gate_kinds"] = _count_kinds(rows)
    h["gate_choices"] = _count_kinds(rows, "gate_choice")  # feature/rule (absent in runs before the risk rule)
    g = have("mean_lora", "generated", "oracle")
    ml, ge, orc = (_mean([r["nll"][k] for r in g]) for k in ("mean_lora", "generated", "oracle"))
    h["gap_closed"] = _r((ml - ge) / (ml - orc), 3) if g and ml is not None and abs(ml - orc) > 1e-9 else None
    per = [(r["nll"]["mean_lora"] - r["nll"]["generated"]) / (r["nll"]["mean_lora"] - r["nll"]["oracle"])
           for r in g if r["nll"]["mean_lora"] - r["nll"]["oracle"] > 0.05]
    h["gap_closed_median_per_task"] = _r(sorted(per)[len(per) // 2], 3) if per else None
    gu = have("mean_lora", "generated_ungated", "oracle")
    if gu:
        mu = _mean([r["nll"]["generated_ungated"] for r in gu])
        h["gap_closed_ungated"] = _r((ml - mu) / (ml - orc), 3) if abs(ml - orc) > 1e-9 else None
    h["mean_acc"] = {k: _mean([r["acc"][k] for r in rows]) for k in CONTROLS}
    h["mean_loglik"] = {k: _mean([r["loglik"][k] for r in rows]) for k in CONTROLS}
    h["mean_nll_instr"] = {k: _mean([r["nll_instr"][k] for r in rows]) for k in CONTROLS}
    h["acc_delta"] = {f"generated-{k}": paired_delta(rows, "generated", k)
                      for k in ("mismatched", "base", "mean_lora", "multitask_lora", "retrieval", "generated_ungated")}
    fams = {}
    for f in FAMILY_ORDER + sorted({r["family"] for r in rows} - set(FAMILY_ORDER)):
        fr = [r for r in rows if r["family"] == f]
        if fr:
            fams[f] = {"tasks": len(fr), "mean_nll": {k: _mean([r["nll"][k] for r in fr]) for k in CONTROLS}}
    h["by_family"] = fams
    return h


def _count_kinds(rows: List[dict], key: str = "gate_kind") -> dict:
    out: Dict[str, int] = {}
    for r in rows:
        if r.get(key):
            out[r[key]] = out.get(r[key], 0) + 1
    return out


def targets(all_h: dict, paper_h: Optional[dict]) -> List[dict]:
    t = []

    def add(name, value, ok, want):
        t.append({"target": name, "value": value, "want": want, "met": bool(ok) if value is not None else False})

    add("all_tasks: generated NLL < mismatched on >= 80% of tasks", all_h.get("generated_beats_mismatched"),
        (all_h.get("generated_beats_mismatched") or 0) >= 0.8, ">= 0.8")
    add("all_tasks: generated NLL <= base on >= 90% of tasks", all_h.get("no_harm"), (all_h.get("no_harm") or 0) >= 0.9, ">= 0.9")
    add("all_tasks: average NLL gap closed >= 0.3", all_h.get("gap_closed"), (all_h.get("gap_closed") or -1) >= 0.3, ">= 0.3")
    mn = all_h.get("mean_nll", {})
    for k in ("retrieval", "multitask_lora"):
        ok = mn.get("generated") is not None and mn.get(k) is not None and mn["generated"] <= mn[k]
        add(f"all_tasks: mean NLL generated <= {k}", {"generated": mn.get("generated"), k: mn.get(k)}, ok, "<=")
    d = (all_h.get("acc_delta") or {}).get("generated-mismatched")
    add("all_tasks: accuracy generated - mismatched > 2 SE", d, d is not None and d["se"] > 0 and d["delta"] > 2 * d["se"], "> 2 SE")
    if paper_h:
        ma = paper_h.get("mean_acc", {})
        ok = ma.get("generated") is not None and ma.get("mean_lora") is not None and ma["generated"] > ma["mean_lora"]
        add("paper: mean accuracy generated > mean_lora", {"generated": ma.get("generated"), "mean_lora": ma.get("mean_lora")}, ok, ">")
    return t


def _protocols(data: dict) -> dict:
    protocols = {}
    for proto in ("all_tasks", "paper"):
        rows = _rows(data, proto)
        if rows:
            protocols[proto] = {"rows": rows, "headline": headline(rows)}
    return protocols


def write_reports(results: Path, reports_dir: Path, cfg: dict, commit: str) -> dict:
    """``results/earlier/<name>/`` (optional): result sets of earlier attempts whose headlines are
    kept beside the final one."""
    data = _load(Path(results))
    protocols = _protocols(data)
    earlier = {}
    for d in sorted((Path(results) / "earlier").glob("*")) if (Path(results) / "earlier").is_dir() else []:
        ed = _load(d)
        earlier[d.name] = {"calls": ed["calls"], "headline": {p: v["headline"] for p, v in _protocols(ed).items()}}
    tg = targets(protocols.get("all_tasks", {}).get("headline", {}), protocols.get("paper", {}).get("headline"))
    bank = data.get("bank") or {}
    out = {
        "generated_by": "python -m trainer zero-shot",
        "command": "python -m trainer zero-shot --stages zoo,controls (GPU call 1); --stages generators (GPU call 2); --stages report",
        "commit": commit,
        "device": (data.get("run-info") or {}).get("device"),
        "torch": (data.get("run-info") or {}).get("torch"),
        "calls": data["calls"],
        "setting": "user turn only (no system instruction) for training and for every nll/acc/loglik column; nll_instr: the same adapters scored with the row's instruction",
        "config": {k: cfg.get(k) for k in ("pool", "units", "lora", "zoo", "condition", "generator", "gate", "eval")},
        "protocols": {p: {"headline": v["headline"], "rows": [{k: x for k, x in r.items() if not k.startswith("_")} for r in v["rows"]]}
                      for p, v in protocols.items()},
        "targets": tg,
        "diagnostics": {"zoo": data.get("diag-zoo"), "generators": data.get("diag-generators"),
                        "gates": data.get("gates"), "bank": {k: v for k, v in bank.items() if k != "members"},
                        "bank_members": bank.get("members"), "zoo_index": data.get("zoo-index")},
        "timings_s": {f"{c['stages']}: {k}": v for c in data["calls"] for k, v in c["timings"].items()},
        "earlier_attempts": earlier,
        "complete": all(p in protocols for p in ("all_tasks", "paper")) and all(
            all(r["nll"].get(k) is not None for k in CONTROLS if not (p == "paper" and k == "multitask_lora"))
            for p, v in protocols.items() for r in v["rows"]),
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
    L = ["# Zero-shot prompt-to-LoRA: the end-to-end generator (issue 10)", "",
         f"Report written at commit `{rep['commit']}` by `{rep['generated_by']}` ({rep['command']}). "
         f"Setting: {rep['setting']}. Complete: {rep['complete']}.", ""]
    for c in rep.get("calls", []):
        L.append(f"- GPU call `{c['stages']}`: commit `{c['commit']}`, {c.get('device')}, torch {c.get('torch')}")
    L.append("")
    L += ["## Targets", "", "| target | value | met |", "|---|---|---|"]
    for t in rep["targets"]:
        v = t["value"]
        vs = json.dumps(v) if isinstance(v, dict) else _f(v)
        L.append(f"| {t['target']} | {vs} | {'yes' if t['met'] else 'no'} |")
    for proto, p in rep["protocols"].items():
        h = p["headline"]
        L += ["", f"## Protocol `{proto}` ({h['tasks']} held-out tasks)", ""]
        L.append(f"- generated NLL below mismatched on {_pct(h['generated_beats_mismatched'])}% of tasks "
                 f"(ungated: {_pct(h['ungated_beats_mismatched'])}%); not above base on {_pct(h['no_harm'])}% "
                 f"(ungated: {_pct(h['no_harm_ungated'])}%)")
        L.append(f"- average NLL gap closed (mean_lora -> oracle): {_f(h['gap_closed'])} (ungated {_f(h.get('gap_closed_ungated'))}; "
                 f"median per task {_f(h['gap_closed_median_per_task'])})")
        for k, d in h["acc_delta"].items():
            if d:
                L.append(f"- accuracy {k}: {100 * d['delta']:+.1f} points ± {100 * d['se']:.1f} (SE, {d['items']} paired items)")
        L.append(f"- gate feature selected per unit on its own calibration tasks (rows per kind): {json.dumps(h.get('gate_kinds'))}"
                 + (f", feature/rule: {json.dumps(h['gate_choices'])}" if h.get("gate_choices") else "") + "; "
                 f"mean NLL with the condition gate {_f(h['mean_nll'].get('generated_condition_gate'))} "
                 f"(no harm {_pct(h.get('no_harm_generated_condition_gate'))}%), with the output gate "
                 f"{_f(h['mean_nll'].get('generated_output_gate'))} (no harm {_pct(h.get('no_harm_generated_output_gate'))}%)")
        L += ["", "| control | mean NLL | mean NLL with instruction | generate-then-parse acc | log-likelihood acc |", "|---|---:|---:|---:|---:|"]
        for k in CONTROLS:
            L.append(f"| {k} | {_f(h['mean_nll'][k])} | {_f(h['mean_nll_instr'][k])} | {_pct(h['mean_acc'][k])} | {_pct(h['mean_loglik'][k])} |")
        L += ["", "By family (mean NLL):", "", "| family | tasks | " + " | ".join(CONTROLS) + " |",
              "|---|---:|" + "---:|" * len(CONTROLS)]
        for f, d in h["by_family"].items():
            L.append(f"| {f} | {d['tasks']} | " + " | ".join(_f(d["mean_nll"][k]) for k in CONTROLS) + " |")
        L += ["", "Per task (NLL; generate-then-parse accuracy % in brackets where answers parse):", "",
              "| task | family | gate | " + " | ".join(CONTROLS) + " |", "|---|---|---:|" + "---:|" * len(CONTROLS)]
        for r in p["rows"]:
            gate = _f(sum(r["gate"]) / len(r["gate"]), 2) if r.get("gate") else "–"
            cells = []
            for k in CONTROLS:
                a = r["acc"].get(k)
                cells.append(_f(r["nll"].get(k)) + (f" ({100 * a:.0f})" if a is not None else ""))
            L.append(f"| {r['task']} | {r['family']} | {gate} | " + " | ".join(cells) + " |")
    d = rep["diagnostics"]
    L += ["", "## Diagnostics", ""]
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
    fit = (d.get("generators") or {}).get("fit")
    if fit and z and z.get("fit_floor"):
        names = [n for n in fit if n in z["fit_floor"]]
        L.append(f"(c) Fit on {len(names)} training tasks (train rows, mean NLL): base {_f(_mean([z['fit_floor'][n]['base'] for n in names]))}, "
                 f"own zoo LoRA (floor) {_f(_mean([z['fit_floor'][n]['zoo'] for n in names]))}, one-hot generator "
                 f"{_f(_mean([fit[n]['onehot_generator'] for n in names]))}, prompt generator {_f(_mean([fit[n]['prompt_generator'] for n in names]))}, "
                 f"multitask LoRA {_f(_mean([fit[n]['multitask_lora'] for n in names]))}.")
    b = d.get("bank") or {}
    if b:
        L.append(f"Training: {b.get('steps')} steps, {b.get('seconds')} s, decoder {b.get('parameters'):,} parameters per generator.")
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
