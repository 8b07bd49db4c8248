"""``python -m trainer zoo-data``: stage the rows ``python -m trainer zero-shot`` reads into a small,
gzip-compressed copy (``.zoo-data/<Task>/{train,test}.jsonl.gz`` + ``manifest.json``) that can travel
to the GPU machine (the working tree limit leaves about 10 MB; the full datasets are 58 MB).

For each task it keeps exactly the rows the pool samples (``trainer.tasks.staged.subsample`` selects by
content hash, so the same rows come out of the staged copy): the training pool and the evaluation
subsample of ``pool`` in the config, plus one row of every classification label. The copy lives in an
ignored folder and is never committed (dataset content stays out of the repository)."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from trainer.config import DEFAULT_DATASETS, load_config, resolve
from trainer.tasks.staged import load_tasks, subsample


def add_args(p):
    p.add_argument("--config", default="trainer/configs/zero-shot.json", help="a zero-shot config (its `pool`)")
    p.add_argument("--datasets", default=None)
    p.add_argument("--out", default=".zoo-data")


def stage_pool(cfg: dict, datasets: Path, out: Path) -> dict:
    """The rows ``python -m trainer zero-shot`` reads (trainer/tasks/pool.py): each task's training
    pool and evaluation subsample (by content hash, so the staged superset yields the same rows; the
    sub-tasks draw from these), plus one row of every classification label."""
    tasks = load_tasks(datasets, cfg.get("tasks") or None)
    pc = cfg["pool"]
    keep = {}
    for name, t in tasks.items():
        tr = subsample(t.train, int(pc.get("train_rows", 800)), f"pool-{name}")
        if t.kind == "classification":
            for lab in t.labels:
                tr.append(next(r for r in t.train if r["response"].strip() == lab))
        keep[name] = (tr, subsample(t.test, int(pc.get("test_rows", 100)), f"eval-{name}"))
    return _write(tasks, keep, out)


def _write(tasks, keep, out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sizes = {}
    for name, t in tasks.items():
        d = out / name
        d.mkdir()
        for split, rows, kept_rows in (("train", t.train, keep[name][0]), ("test", t.test, keep[name][1])):
            ids = {id(r) for r in kept_rows}
            kept = [r for r in rows if id(r) in ids]
            with gzip.open(d / f"{split}.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as f:
                for r in kept:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            sizes.setdefault(name, {})[split] = len(kept)
    man = {"tasks": [{"name": n, "kind": t.kind} for n, t in tasks.items()],
           "note": "staged by python -m trainer zoo-data; rows of ../shared/datasets, not for committing"}
    (out / "manifest.json").write_text(json.dumps(man, indent=1))
    return sizes


def run(args) -> int:
    cfg = load_config(args.config)
    datasets = Path(args.datasets) if args.datasets else DEFAULT_DATASETS
    sizes = stage_pool(cfg, datasets, resolve(args.out))
    total = sum(p.stat().st_size for p in resolve(args.out).rglob("*") if p.is_file())
    print(json.dumps({"tasks": len(sizes), "bytes": total, "rows": sizes}))
    return 0
