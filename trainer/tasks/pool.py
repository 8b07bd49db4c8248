"""The task pool of the end-to-end generator run, and the splits that keep evaluation honest.

The pool (``build_pool``) holds three sources of tasks, every one a set of prompts with responses:

- ``staged``: each staged dataset of ``../shared/datasets`` (its ``parent`` is itself);
- ``subtask``: behaviour-changing slices of a staged dataset, ``parent`` = that dataset:
  MMLU's subjects (the subject is named in each row's ``system``: "Subject: college physics. ..."),
  and label pairs of classification datasets with three or more labels (a LoRA trained on
  ``[World]``/``[Sports]`` rows answers with those two labels only);
- ``synthetic``: the seeded factory of ``trainer/tasks/factory.py``; ``parent`` = its family.

``family`` groups tasks by behaviour (mcq, yesno, cls, math, code, gen for staged data; the factory's
``synth-*`` families); it picks the mismatched-prompt control and stratifies the folds.

Splits (``units``): a unit is one generator's world: ``held_out`` parents (never seen: not in its
training pool, not in its normalisation, not in its gate's calibration) and ``train`` = every pool
task whose parent is not held out. Protocols:

- ``all_tasks``: k folds over the staged parents (stratified by family); every staged dataset is
  held out exactly once, with all its sub-tasks; synthetic tasks always train;
- ``paper``: leave-one-out over the common-sense tasks (DESIGN.md §5);
- ``synthetic``: each factory family held out in turn (its tasks nowhere in that unit's training,
  normalisation, gate or selection): the behaviours a person's prompts show;
- ``release``: nothing held out.

Each unit's training parents are split once more into ``inner_folds`` groups (``inner_halves``, two by
default) for the gate's calibration (trainer/generator/gate.py): a generator trained without one
group is measured on that group's tasks, so the gate learns how much an adapter helps a task the
generator never saw. ``inner_generators`` (per protocol) says how many of those inner generators a
unit trains: all of them (every training task calibrated), fewer (only the first groups calibrated,
a cheaper gate) or none (the release is calibrated on the all_tasks and synthetic units' own held-out
tasks instead: those generators never saw them; paper units use their fold's gate).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

from trainer.tasks.staged import Task, subsample

FAMILY_OF_KIND = {"mcq": "mcq", "yesno": "yesno", "classification": "cls", "math": "math",
                  "code": "code", "generation": "gen"}
_SUBJECT_RE = re.compile(r"^Subject:\s*([^.]+)\.")


@dataclass
class PoolTask:
    name: str
    parent: str
    family: str
    kind: str
    source: str  # staged | subtask | synthetic
    train: List[dict]
    test: List[dict]
    labels: List[str] = field(default_factory=list)

    def task(self) -> Task:
        return Task(self.name, self.kind, self.train, self.test, list(self.labels))

    @property
    def real(self) -> bool:
        return self.source != "synthetic"


@dataclass
class Unit:
    """One generator's split: ``held_out`` parents are evaluation targets, ``train`` its task names."""

    id: str
    protocol: str  # all_tasks | paper | synthetic | release
    held_out: List[str]
    train: List[str]
    inner_halves: List[List[str]] = field(default_factory=list)  # inner folds: lists of task names


def _labels(rows: Iterable[dict]) -> List[str]:
    return sorted({r["response"].strip() for r in rows if re.fullmatch(r"\[[^\[\]\n]{1,40}\]", r["response"].strip())})


def staged_task(t: Task, train_rows: int, test_rows: int) -> PoolTask:
    train = subsample(t.train, train_rows, f"pool-{t.name}")
    test = subsample(t.test, test_rows, f"eval-{t.name}")
    return PoolTask(t.name, t.name, FAMILY_OF_KIND.get(t.kind, "gen"), t.kind, "staged", train, test,
                    list(t.labels) if t.kind == "classification" else [])


def subject_subtasks(t: Task, pool_train: List[dict], pool_test: List[dict], min_rows: int) -> List[PoolTask]:
    """MMLU-style subjects named in ``system`` ("Subject: X. ..."), each with at least ``min_rows``
    rows of the parent's training pool; test rows from the parent's evaluation subsample
    (``pool_test``), so the staged copy (trainer/tasks/staging.py) gives the same ones."""
    groups: Dict[str, List[dict]] = {}
    for r in pool_train:
        m = _SUBJECT_RE.match(r["system"])
        if m:
            groups.setdefault(m.group(1).strip(), []).append(r)
    tests: Dict[str, List[dict]] = {}
    for r in pool_test:
        m = _SUBJECT_RE.match(r["system"])
        if m:
            tests.setdefault(m.group(1).strip(), []).append(r)
    out = []
    for subject in sorted(groups):
        rows = groups[subject]
        if len(rows) < min_rows or len(groups) < 2:
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", subject.lower()).strip("-")
        out.append(PoolTask(f"{t.name}/{slug}", t.name, FAMILY_OF_KIND.get(t.kind, "gen"), t.kind, "subtask",
                            rows, tests.get(subject, [])[:50]))
    return out


def label_pair_subtasks(t: Task, pool_train: List[dict], pool_test: List[dict], min_rows_per_label: int,
                        max_rows: int) -> List[PoolTask]:
    """For a classification task with >= 3 labels: one sub-task per pair of labels that each have at
    least ``min_rows_per_label`` rows in the parent's training pool; test rows from the parent's
    evaluation subsample (``pool_test``)."""
    if t.kind != "classification":
        return []
    by: Dict[str, List[dict]] = {}
    for r in pool_train:
        by.setdefault(r["response"].strip(), []).append(r)
    labels = [lab for lab in sorted(by) if len(by[lab]) >= min_rows_per_label]
    if len(_labels(pool_train)) < 3:
        return []
    out = []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            a, b = labels[i], labels[j]
            rows = [r for r in pool_train if r["response"].strip() in (a, b)]
            rows = subsample(rows, max_rows, f"pair-{t.name}-{a}-{b}")
            slug = "+".join(re.sub(r"[^a-z0-9]+", "-", x.strip("[]").lower()).strip("-") for x in (a, b))
            test = [r for r in pool_test if r["response"].strip() in (a, b)][:50]
            out.append(PoolTask(f"{t.name}/{slug}", t.name, "cls", "classification", "subtask", rows, test, [a, b]))
    return out


def build_pool(staged: Dict[str, Task], pcfg: dict, synthetic: Optional[Sequence] = None) -> Dict[str, PoolTask]:
    """staged datasets + their sub-tasks + synthetic tasks (``trainer.tasks.factory.SyntheticTask``)."""
    train_rows = int(pcfg.get("train_rows", 800))
    test_rows = int(pcfg.get("test_rows", 100))
    pool: Dict[str, PoolTask] = {}
    for name in sorted(staged):
        t = staged[name]
        pt = staged_task(t, train_rows, test_rows)
        pool[name] = pt
        subs = []
        if pcfg.get("subjects", True):
            subs += subject_subtasks(t, pt.train, pt.test, int(pcfg.get("subject_min_rows", 30)))
        if pcfg.get("label_pairs", True):
            subs += label_pair_subtasks(t, pt.train, pt.test, int(pcfg.get("pair_min_rows_per_label", 60)),
                                        int(pcfg.get("pair_max_rows", 400)))
        for s in subs:
            pool[s.name] = s
    for s in synthetic or []:
        if s.name in pool:
            raise ValueError(f"synthetic task name {s.name!r} collides with a staged task")
        labels = _labels(s.train) if s.kind == "classification" else []
        pool[s.name] = PoolTask(s.name, s.family, s.family, s.kind, "synthetic", list(s.train), list(s.test), labels)
    return pool


def parents(pool: Dict[str, PoolTask], real_only: bool = False) -> List[str]:
    return sorted({t.parent for t in pool.values() if t.real or not real_only})


def family_of_parent(pool: Dict[str, PoolTask]) -> Dict[str, str]:
    return {t.parent: t.family for t in pool.values()}


def stratified_groups(items: Sequence[str], family: Dict[str, str], k: int, seed: str) -> List[List[str]]:
    """``items`` into ``k`` groups: each family's items shuffled (seeded) and dealt round-robin,
    continuing the deal across families so group sizes differ by at most one."""
    rng = random.Random(seed)
    groups: List[List[str]] = [[] for _ in range(k)]
    g = 0
    for fam in sorted({family[i] for i in items}):
        members = sorted(i for i in items if family[i] == fam)
        rng.shuffle(members)
        for m in members:
            groups[g % k].append(m)
            g += 1
    return [sorted(x) for x in groups]


def _unit(pool: Dict[str, PoolTask], uid: str, protocol: str, held_out: Sequence[str], seed: str,
          inner_folds: int = 2) -> Unit:
    held = set(held_out)
    train = sorted(n for n, t in pool.items() if t.parent not in held)
    fam = family_of_parent(pool)
    train_parents = sorted({pool[n].parent for n in train})
    halves_p = stratified_groups(train_parents, fam, inner_folds, f"inner-{seed}-{uid}")
    halves = [sorted(n for n in train if pool[n].parent in set(h)) for h in halves_p]
    return Unit(uid, protocol, sorted(held), train, halves)


def make_units(pool: Dict[str, PoolTask], ucfg: dict) -> List[Unit]:
    """The units of every protocol in ``ucfg`` (``folds``: k of all_tasks; ``paper``: the LOO task
    list; ``synthetic``: bool, one unit per factory family; ``release``: bool)."""
    seed = str(ucfg.get("seed", 0))
    units: List[Unit] = []
    real = parents(pool, real_only=True)
    fam = family_of_parent(pool)
    k = int(ucfg.get("folds", 4))
    inner = int(ucfg.get("inner_folds", 2))
    if k > 0:
        for i, held in enumerate(stratified_groups(real, fam, k, f"folds-{seed}")):
            units.append(_unit(pool, f"fold{i}", "all_tasks", held, seed, inner))
    for t in ucfg.get("paper", []):
        if t in real:
            units.append(_unit(pool, f"loo-{t}", "paper", [t], seed, inner))
    if ucfg.get("synthetic", False):
        for family in sorted({t.parent for t in pool.values() if not t.real}):
            units.append(_unit(pool, family, "synthetic", [family], seed, inner))
    if ucfg.get("release", True):
        units.append(_unit(pool, "release", "release", [], seed, inner))
    return units


def inner_generator_count(unit: Unit, ucfg: dict) -> int:
    """How many inner generators (the first n of ``unit.inner_halves``) a unit trains for its gate
    (``units.inner_generators``, per protocol; default: one per inner fold for all_tasks and the
    release, none for paper units, which use their fold's gate)."""
    default = {"all_tasks": len(unit.inner_halves), "release": len(unit.inner_halves), "paper": 0,
               "synthetic": len(unit.inner_halves)}
    n = int(ucfg.get("inner_generators", {}).get(unit.protocol, default[unit.protocol]))
    return max(0, min(n, len(unit.inner_halves)))


def check_no_leak(pool: Dict[str, PoolTask], unit: Unit) -> None:
    """Raises if a held-out parent (or any of its sub-tasks) is among the unit's training tasks or
    in its inner halves."""
    held = set(unit.held_out)
    for n in unit.train + [x for h in unit.inner_halves for x in h]:
        if pool[n].parent in held:
            raise AssertionError(f"unit {unit.id}: {n} (parent {pool[n].parent}) is held out but in training")
    inner = [set(h) for h in unit.inner_halves]
    if inner:
        if sum(len(h) for h in inner) != len(set().union(*inner)) or set().union(*inner) != set(unit.train):
            raise AssertionError(f"unit {unit.id}: inner folds must partition the training tasks")
        seen: Dict[str, int] = {}
        for i, h in enumerate(inner):
            for n in h:
                if seen.setdefault(pool[n].parent, i) != i:
                    raise AssertionError(f"unit {unit.id}: parent {pool[n].parent} is split across inner folds")


def mismatched_task(pool: Dict[str, PoolTask], unit: Unit, target: str) -> str:
    """A task of another family whose prompts feed the ``mismatched`` control. For a staged target:
    another held-out task of the unit when there is one (prompts the generator never saw either),
    else a staged task of another family; for a synthetic target, a synthetic task of another
    factory family; in both cases the first after the target in name order."""
    fam = pool[target].family
    if not pool[target].real:  # synthetic protocol: a task of another factory family
        cands = [n for n in sorted(pool) if not pool[n].real and pool[n].family != fam]
    else:
        cands = [p for p in unit.held_out if p in pool and p != target and pool[p].family != fam]
    if not cands:
        cands = [n for n in sorted(pool) if pool[n].source == "staged" and pool[n].family != fam]
    if not cands:
        raise ValueError(f"no task of another family than {fam} for the mismatched control of {target}")
    order = sorted(cands)
    after = [c for c in order if c > target]
    return (after or order)[0]
