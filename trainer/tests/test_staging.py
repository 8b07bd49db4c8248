"""``python -m trainer zoo-data``: the staged copy (trainer/tasks/staging.py) gives the zero-shot
run the same task pool as the full datasets (toy tasks in a tmp dir, never the real datasets)."""
import json
import random

from trainer.tasks.pool import build_pool
from trainer.tasks.staged import load_tasks
from trainer.tasks.staging import stage_pool

POOL = {"train_rows": 30, "test_rows": 8, "subjects": True, "subject_min_rows": 4, "label_pairs": True,
        "pair_min_rows_per_label": 3, "pair_max_rows": 10}


def write_tasks(root):
    """An MCQ task with subjects, a 4-label classification task (label pairs) and a math task,
    each with more rows than the pool takes."""
    rng = random.Random(0)

    def mcq(i):
        k = rng.randrange(2)
        return {"prompt": f"Pick {'AB'[k]} #{i}\nA: one\nB: two", "response": f"[{'AB'[k]}]",
                "system": f"Subject: {['physics', 'history', 'art'][i % 3]}. Reply with the letter."}

    def cls(i):
        lab = ["hot", "cold", "warm", "mild"][rng.randrange(4)]
        return {"prompt": f"The day felt {lab} #{i}", "response": f"[{lab}]", "system": "Label it."}

    def math(i):
        a, b = rng.randrange(9), rng.randrange(9)
        return {"prompt": f"What is {a} plus {b}? #{i}", "response": f"The answer is {a + b}.", "system": ""}

    kinds = {"ToyMCQ": ("mcq", mcq), "ToyCls": ("classification", cls), "ToyMath": ("math", math)}
    for name, (kind, fn) in kinds.items():
        (root / name).mkdir(parents=True)
        for split, n, start in (("train", 90, 0), ("test", 60, 1000)):
            (root / name / f"{split}.jsonl").write_text("".join(json.dumps(fn(start + i)) + "\n" for i in range(n)))
    (root / "manifest.json").write_text(json.dumps({"tasks": [{"name": n, "kind": k} for n, (k, _) in kinds.items()]}))


def test_staged_data_gives_the_same_samples(tmp_path):
    write_tasks(tmp_path / "data")
    sizes = stage_pool({"tasks": None, "pool": POOL}, tmp_path / "data", tmp_path / "staged")
    assert (tmp_path / "staged" / "ToyCls" / "train.jsonl.gz").is_file()
    full, st = load_tasks(tmp_path / "data"), load_tasks(tmp_path / "staged")
    assert sorted(st) == sorted(full) and all(sizes[n]["train"] < len(full[n].train) for n in full)
    for n in full:
        assert st[n].kind == full[n].kind and st[n].labels == full[n].labels
    pool_full, pool_st = build_pool(full, POOL), build_pool(st, POOL)
    assert any("/" in n for n in pool_full)  # sub-tasks (subjects, label pairs) are part of the check
    assert sorted(pool_st) == sorted(pool_full)
    for n, t in pool_full.items():
        assert (pool_st[n].train, pool_st[n].test, pool_st[n].labels) == (t.train, t.test, t.labels), n
