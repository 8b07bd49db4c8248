"""``python -m trainer zero-shot`` at toy scale on CPU: a tiny random Llama, the byte tokenizer,
toy staged tasks in a tmp dir (never the real datasets) with sub-tasks, a few synthetic tasks;
stages in two calls as on the GPU machine (zoo+controls, then generators), then the report."""
import json
import random

import pytest
import torch

from trainer.__main__ import main
from trainer.generator.manifest import validate_manifest
from trainer.generator.hyperconv import load_generator
from trainer.tasks.pool import build_pool, check_no_leak, make_units, mismatched_task
from trainer.tasks.staged import load_tasks
from trainer.tests.toy_model import write_model

COLORS = ["red", "blue", "green", "black", "white", "pink"]


def write_tasks(root):
    rng = random.Random(0)

    def mcq(i):
        c = rng.sample(COLORS, 2)
        k = rng.randrange(2)
        return {"prompt": f"Which is {c[k]}? #{i}\nA: {c[0]}\nB: {c[1]}", "response": f"[{'AB'[k]}]",
                "system": f"Subject: {'colours' if i % 2 else 'paint'}. Reply with the letter."}

    def yn(i):
        a, b = rng.randrange(9), rng.randrange(9)
        return {"prompt": f"Is {a} less than {b}? #{i}", "response": f"[{a < b}]", "system": "Answer [True] or [False]."}

    def math(i):
        a, b = rng.randrange(9), rng.randrange(9)
        return {"prompt": f"What is {a} plus {b}? #{i}", "response": f"{a} + {b} = {a + b}.\nThe answer is {a + b}.", "system": ""}

    def cls(i):
        lab = ["hot", "cold", "warm"][i % 3]
        return {"prompt": f"The day felt {lab} #{i}", "response": f"[{lab}]", "system": "Label: [hot]/[cold]/[warm]."}

    def gen(i):
        w = rng.choice(COLORS)
        return {"prompt": f"Say the colour {w} #{i}", "response": w, "system": "Say it."}

    kinds = {"ToyMCQ": ("mcq", mcq), "ToyYesNo": ("yesno", yn), "ToyMath": ("math", math), "ToyCls": ("classification", cls),
             "ToyGen": ("generation", gen), "ToyMCQ2": ("mcq", mcq)}
    for name, (kind, fn) in kinds.items():
        d = root / name
        d.mkdir(parents=True)
        for split, n in (("train", 24), ("test", 10)):
            (d / f"{split}.jsonl").write_text("".join(json.dumps(fn(i + (0 if split == "train" else 1000))) + "\n" for i in range(n)))
    (root / "manifest.json").write_text(json.dumps({"tasks": [{"name": n, "kind": k} for n, (k, _) in kinds.items()]}))


def write_config(tmp):
    cfg = {
        "run_dir": str(tmp / "run"), "model_dir": str(tmp / "model"), "base_id": "toy", "tokenizer": "byte", "tasks": None,
        "release_dir": str(tmp / "gen"), "reports_dir": str(tmp / "reports"),
        "pool": {"train_rows": 24, "test_rows": 10, "subjects": True, "subject_min_rows": 4, "label_pairs": True,
                 "pair_min_rows_per_label": 4, "pair_max_rows": 12,
                 "synthetic": {"seed": 0, "train_rows": 12, "test_rows": 4, "max_tasks": 6}},
        "units": {"seed": 0, "folds": 2, "release": True, "paper": ["ToyMCQ"], "synthetic": True,
                  "inner_generators": {"all_tasks": 2, "synthetic": 1, "release": 0}},
        "lora": {"rank": 2, "alpha": 4, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "init_seed": 0},
        "zoo": {"steps": 4, "batch_size": 2, "max_len": 96, "max_train_examples": 12, "lr": 0.01, "warmup_steps": 1,
                "adapters_per_group": 64, "log_every": 100},
        "condition": {"layer": -1, "max_tokens": 8, "max_input_tokens": 24, "window": "tail", "pooling": "none", "template": "plain", "pool_size": 6},
        "generator": {"prompt_count": 2, "token": {"height": 4, "width": 16},
                      "decoder": {"features": [[2, 8, 32], [4, 4, 16], [0, 4, 16]], "kernel_sizes": [1, 1]},
                      "steps": 6, "tasks_per_step": 2, "rows_per_task": 2, "max_len": 96, "max_train_examples": 12,
                      "length_buckets": [40], "synthetic_weight": 0.5, "lr": 0.01, "lr_lora": 0.01, "lr_sigma": 0.01,
                      "warmup_steps": 2, "final_lr_ratio": 0.1, "l2_out": 0.001, "cond_noise": 0.1, "grad_clip": 1.0,
                      "sigma_a": 0.3, "sigma_b": 0.02, "seed": 0, "log_every": 100, "examples_fraction": 0.5},
        "gate": {"k": 3, "scales": [0.0, 0.5, 1.0], "calib_rows": 3, "draws": 1,
                 "rules": [{"rule": "mean"}, {"rule": "risk", "risk": 0}, {"rule": "risk", "risk": 4}],
                 "select_on": {"all_tasks": "real", "synthetic": "synthetic", "release": "real"}, "no_harm": 0.9,
                 "answer_tokens": 2},
        "examples": {"enabled": True, "validation_rows": 3},
        "throughput": {"steps": 2, "warmup": 1},
        "eval": {"max_prompt_tokens": 96, "budget_tokens": 8192, "max_new_tokens": 3, "max_new_tokens_math": 4,
                 "test_size": 4, "gen_size_math": 2, "draws": 2},
        "diagnostics": {"fit_tasks": 4, "fit_rows": 3, "probe_head_window": True},
    }
    p = tmp / "zero-shot.json"
    p.write_text(json.dumps(cfg))
    return p, cfg


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zs")
    write_tasks(tmp / "data")
    write_model(tmp / "model")
    path, cfg = write_config(tmp)
    return tmp, path, cfg


def test_pool_folds_never_leak(toy):
    tmp, _, cfg = toy
    from trainer.tasks.factory import synthetic_tasks

    staged = load_tasks(tmp / "data")
    pool = build_pool(staged, cfg["pool"], synthetic_tasks(0, 8, 4)[:5])
    assert "ToyMCQ/colours" in pool and pool["ToyMCQ/colours"].parent == "ToyMCQ"  # subjects
    assert any(n.startswith("ToyCls/") for n in pool)  # label pairs of a 3-label task
    units = make_units(pool, {"folds": 3, "paper": ["ToyMCQ"], "release": True, "seed": 0})
    held = sorted(p for u in units if u.protocol == "all_tasks" for p in u.held_out)
    assert held == sorted(staged)  # every staged task held out exactly once
    for u in units:
        check_no_leak(pool, u)
        for t in u.held_out:
            assert not any(pool[n].parent == t for n in u.train)
            other = mismatched_task(pool, u, t)
            assert pool[other].family != pool[t].family
    rel = next(u for u in units if u.protocol == "release")
    assert set(rel.train) == set(pool)
    # a leak is caught
    bad = units[0]
    bad.train = bad.train + [next(n for n in pool if pool[n].parent == bad.held_out[0])]
    with pytest.raises(AssertionError):
        check_no_leak(pool, bad)


def test_zero_shot_pipeline(toy):
    tmp, path, cfg = toy
    common = ["zero-shot", "--config", str(path), "--datasets", str(tmp / "data"), "--commit", "test"]
    assert main(common + ["--stages", "zoo,controls", "--pack", str(tmp / "a.tar.gz")]) == 0
    # the generator stage needs no zoo: a fresh run dir with nothing but the packed results
    cfg2 = dict(cfg, run_dir=str(tmp / "run2"))
    p2 = tmp / "zs2.json"
    p2.write_text(json.dumps(cfg2))
    common2 = ["zero-shot", "--config", str(p2), "--datasets", str(tmp / "data"), "--commit", "test"]
    assert main(common2 + ["--stages", "generators", "--pack", str(tmp / "b.tar.gz")]) == 0
    assert main(common2 + ["--stages", "report", "--unpack", str(tmp / "a.tar.gz")]) == 0
    rep = json.loads((tmp / "reports" / "zero-shot.json").read_text())
    assert rep["complete"], "every control of every row filled"
    rows = rep["protocols"]["all_tasks"]["rows"]
    assert sorted(r["task"] for r in rows) == sorted(["ToyMCQ", "ToyYesNo", "ToyMath", "ToyCls", "ToyGen", "ToyMCQ2"])
    for r in rows:
        assert set(r["nll"]) >= {"base", "mean_lora", "multitask_lora", "retrieval", "generated", "mismatched", "oracle",
                                 "oracle_gate", "examples", "examples_ungated", "examples_mismatched", "icl_k"}
        assert all(v is not None and v > 0 for v in r["nll"].values())
        assert r["mismatched_from"] != r["task"]
        assert all(r["nll"][f"generated_{k}_gate"] is not None for k in ("condition", "output", "answer"))
        assert r["gate_kind"] in ("condition", "output", "answer")
        assert r["nll"]["generated"] == r["nll"][f"generated_{r['gate_kind']}_gate"]
        assert r["nll"]["oracle_gate"] == min(r["nll"]["base"], r["nll"]["generated_ungated"])
        assert len(r["answer_features"]) == 2 and all(len(f) == 5 for f in r["answer_features"])
        assert all(g in (0.0, 0.5, 1.0) for g in r["examples_gate"])  # the validation gate picks a grid scale
    # paper: the LOO unit, with its own multitask LoRA
    paper = rep["protocols"]["paper"]["rows"]
    assert [r["task"] for r in paper] == ["ToyMCQ"] and paper[0]["nll"]["multitask_lora"] is not None
    # synthetic: each factory family held out in turn, every task of it scored, mismatched from another family
    syn = rep["protocols"]["synthetic"]["rows"]
    assert {r["unit"] for r in syn} == {f"synth-{f}" for f in ("arith", "choice", "format", "label", "transform")}
    for r in syn:
        assert r["source"] == "synthetic" and r["family"] == r["unit"]
        assert r["mismatched_from"].split("/")[1] != r["task"].split("/")[1]
        assert r["nll"]["multitask_lora"] is not None and r["acc"]["generated"] is None  # NLL and loglik only
    h = rep["protocols"]["all_tasks"]["headline"]
    for key in ("generated_beats_mismatched", "no_harm", "no_harm_oracle_gate", "no_harm_by_base_tuning", "gap_closed",
                "gap_closed_oracle_gate", "acc_delta", "examples"):
        assert key in h
    assert {t["issue"] for t in rep["targets"]} == {15, 16}
    names = " ".join(t["target"] for t in rep["targets"])
    for want in ("throughput", "one-hot", "synthetic", "paper: gated", "examples"):
        assert want in names
    thr = rep["throughput"]
    assert thr["tokens_per_s"] > 0 and thr["baseline_tokens_per_s"] > 0 and thr["baseline"]["rows_per_member_step"] == 16
    fit = rep["diagnostics"]["fit_heldout"]
    assert fit["tasks"] > 0 and all(fit[k] is not None for k in ("own_lora", "onehot", "prompt", "multitask"))
    assert rep["rows_per_task"]["gen-release"]["mean"] > 0
    md = (tmp / "reports" / "zero-shot.md").read_text()
    assert "## Targets" in md and "ToyYesNo" in md and "Linear probe" in md and "Protocol `synthetic`" in md
    assert "examples mode" in md and "Throughput" in md
    # the training line adds up the calls; the config is the one the run recorded, not today's file
    assert "s of training over" in md
    assert rep["config_source"] == "the run's run-info.json" and rep["config"]["gate"] == cfg2["gate"]
    assert any(r["nll"]["oracle"] != r["nll"]["base"] for r in rows)
    # release: manifest v2 with a gate and the examples mode, validated, copied where the config says
    model, man, tensors = load_generator(str(tmp / "gen"))
    validate_manifest(man, tensors)
    assert man["version"] == 2 and man["encoder"]["window"] == "tail" and man["gate"]["kind"] == "knn"
    assert man["examples"] == {"template": "chat-answer", "validation_rows": 3, "grid": [0.0, 0.5, 1.0]}
    feature = man["gate"]["feature"]
    want_f = {"condition": 32, "output": 2 * man["tokens"]["count"], "answer": 5}[feature]
    assert tensors["gate.centroids"].shape[1] == want_f
    assert man["gate"]["metric"] == ("euclidean" if feature == "answer" else "cosine")
    if feature == "answer":
        assert man["gate"]["answer"] == {"tokens": 2, "max_prompt_tokens": 96}
        assert tensors["gate.feature_std"].shape == (5,) and bool((tensors["gate.feature_std"] > 0).all())
    assert 0.0 <= float(tensors["gate.scales"].min()) and float(tensors["gate.scales"].max()) <= 1.0
    # every unit scored every feature x rule by leave-one-out and used what it chose
    gates = json.loads((tmp / "run2" / "results" / "gates.json").read_text())
    assert set(gates) == {"fold0", "fold1", "loo-ToyMCQ", "release"} | {f"synth-{f}" for f in ("arith", "choice", "format", "label", "transform")}
    fold = next(u for u in ("fold0", "fold1") if "ToyMCQ" in {r["task"] for r in rows if r["unit"] == u})
    assert gates["loo-ToyMCQ"] == gates[fold]  # a paper unit uses the gate of the fold that holds its task out
    cal = torch.load(tmp / "run2" / "results" / "calibration" / "release.pt")
    assert cal["nll"].shape == (len(cal["names"]), 3) and cal["features"]["answer"].shape == (len(cal["names"]), 5)
    assert len(cal["parents"]) == len(cal["names"])
    for unit, g in gates.items():
        assert g["loo_unit"] == "parent"
        assert set(g["loo"]) == {f"{f}/{r}" for f in ("condition", "output", "answer") for r in ("mean", "risk0", "risk4")}, unit
        assert g["choice"] in g["loo"] and g["choice"].split("/")[0] == g["selected"]
        assert all(0.0 <= m["no_harm"] <= 1.0 and m["tasks"] > 0 for m in g["loo"].values())
    # the release is calibrated by the all_tasks and synthetic generators on the tasks they held out (no inner generators)
    assert set(gates["release"]["measured_by"]) == {"gen-fold0", "gen-fold1"} | {f"gen-synth-{f}" for f in ("arith", "choice", "format", "label", "transform")}
    assert gates["fold0"]["measured_by"] == ["inner0-fold0", "inner1-fold0"] and gates["synth-arith"]["measured_by"] == ["inner0-synth-arith"]
    rel = gates["release"]["choice"].split("/")[1]
    assert man["gate"]["rule"] == ("mean" if rel == "mean" else "risk")
    if rel != "mean":
        assert man["gate"]["risk"] == float(rel[4:]) and man["gate"]["grid"] == [0.0, 0.5, 1.0]
        assert tuple(tensors["gate.curves"].shape) == (tensors["gate.scales"].shape[0], 3)
        assert torch.equal(tensors["gate.curves"][:, 0], torch.zeros(tensors["gate.curves"].shape[0]))
    assert all(r["gate_choice"] in gates[r["unit"]]["loo"] for r in rows)
    assert torch.isfinite(tensors["tokens.mean"]).all() and torch.isfinite(tensors["tokens.std"]).all()


def test_generator_training_resumes_where_a_call_stopped(toy):
    """A generators call cut after 2 of 6 steps leaves a checkpoint and no gate, evaluation or release;
    the next call continues and ends with the same release as one uninterrupted call."""
    tmp, _, cfg = toy
    outs = {}
    for name, cuts in (("whole", []), ("cut", ["2", "3"])):
        c = dict(cfg, run_dir=str(tmp / f"run-{name}"), release_dir=str(tmp / f"gen-{name}"))
        p = tmp / f"zs-{name}.json"
        p.write_text(json.dumps(c))
        common = ["zero-shot", "--config", str(p), "--datasets", str(tmp / "data"), "--commit", "test", "--stages", "generators"]
        for n in cuts:
            assert main(common + ["--train-steps", n]) == 0
            assert (tmp / f"run-{name}" / "bank-checkpoint.pt").exists()
            assert not (tmp / f"run-{name}" / "results" / "gates.json").exists()
        assert main(common) == 0
        bank = json.loads((tmp / f"run-{name}" / "results" / "bank.json").read_text())
        assert bank["steps"] == 6 and bank["resumed_at"] == (5 if cuts else 0)
        outs[name] = load_generator(str(tmp / f"run-{name}" / "release"))[2]
    assert outs["whole"].keys() == outs["cut"].keys()
    for k in outs["whole"]:
        assert torch.equal(outs["whole"][k], outs["cut"][k]), k


def test_gate_leave_one_out_and_interpolation():
    from trainer.generator.gate import GateTable, loo_metrics, nll_at

    scales = [0.0, 0.5, 1.0]
    nll = torch.tensor([[1.0, 0.5, 0.2], [1.0, 0.8, 0.9], [2.0, 2.5, 3.0]])
    assert torch.allclose(nll_at(nll, scales, torch.tensor([1.0, 0.25, 0.75])), torch.tensor([0.2, 0.9, 2.75]))
    # two tasks alike (scale 1) and one far away (scale 0): each is predicted from the others only
    cents = torch.tensor([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.2]])
    t = GateTable(cents, torch.tensor([1.0, 1.0, 0.0]), ["a", "b", "c"], k=1)
    assert torch.allclose(t.loo_scales(), torch.tensor([1.0, 1.0, 1.0]))
    assert abs(loo_metrics(t, nll, scales)["nll"] - float((0.2 + 0.9 + 3.0) / 3)) < 1e-6


def test_risk_gate_keeps_the_base_model_unless_the_neighbours_gain():
    from trainer.generator.gate import GateTable, choose, loo_metrics, relative_curves

    grid = [0.0, 0.5, 1.0]
    nll = torch.tensor([[1.0, 0.6, 0.1], [1.0, 1.1, 1.3], [2.0, 2.2, 2.4], [0.5, 0.6, 0.7]])
    curves = relative_curves(nll)
    assert torch.equal(curves[:, 0], torch.zeros(4))
    cents = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    mean = GateTable(cents, torch.tensor([1.0, 0.0, 0.0, 0.0]), list("abcd"), k=2)
    q = torch.tensor([1.0, 1.0])  # as near to a (gains much at 1) as to b (loses at every scale)
    assert abs(float(mean.scale(q)) - 0.5) < 1e-5
    assert float(mean.with_rule(curves, grid, 0.0).scale(q)) == 1.0  # -0.9 + 0.3 < 0: the gain wins
    assert float(mean.with_rule(curves, grid, 4.0).scale(q)) == 0.0  # harm weighs 5x: the base model
    # ties go to the smaller scale: equal costs at 0.5 and 1
    flat = GateTable(cents, torch.zeros(4), list("abcd"), k=4, curves=torch.tensor([[0.0, -0.5, -0.5]] * 4), grid=grid)
    assert float(flat.scale(q)) == 0.5
    with pytest.raises(ValueError):
        GateTable(cents, torch.zeros(4), list("abcd"), curves=curves, grid=[0.5, 1.0, 1.5])
    # leave-one-out: each task predicted from the others; no harm counts tasks not above their base NLL
    m = loo_metrics(mean.with_rule(curves, grid, 4.0), nll, grid)
    assert m["tasks"] == 4 and 0.0 <= m["no_harm"] <= 1.0
    only_real = loo_metrics(mean, nll, grid, torch.tensor([True, False, True, False]))
    assert only_real["tasks"] == 2
    # choose: the least NLL among the candidates that harm few enough, else the least harm
    c = {"x": {"nll": 1.0, "no_harm": 0.8}, "y": {"nll": 1.2, "no_harm": 0.95}, "z": {"nll": 1.1, "no_harm": 0.9}}
    assert choose(c, 0.9) == "z" and choose(c, 0.0) == "x" and choose(c, 0.99) == "y"


def test_leave_one_parent_out_hides_siblings():
    """Sub-tasks of one dataset predict each other: left out one task at a time, a sibling that gained
    lifts the gate; left out with its whole parent, the other dataset's tasks decide."""
    from trainer.generator.gate import GateTable, loo_metrics

    grid = [0.0, 1.0]
    # a and a2 are siblings (parent A) that gain at scale 1; b, c (other parents) are harmed
    nll = torch.tensor([[1.0, 0.5], [1.0, 0.5], [1.0, 1.5], [1.0, 1.5]])
    cents = torch.tensor([[1.0, 0.0], [0.99, 0.01], [0.5, 0.5], [0.4, 0.6]])
    t = GateTable(cents, torch.tensor([1.0, 1.0, 0.0, 0.0]), ["a", "a2", "b", "c"], k=1)
    assert torch.equal(t.loo_scales(), torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert torch.equal(t.loo_scales(["A", "A", "B", "C"]), torch.tensor([0.0, 0.0, 0.0, 0.0]))
    per_task = loo_metrics(t, nll, grid)
    per_parent = loo_metrics(t, nll, grid, groups=["A", "A", "B", "C"])
    assert per_task["nll"] < per_parent["nll"]  # the per-task estimate was the optimistic one
