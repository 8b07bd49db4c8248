"""Task datasets for the LoRA zoo and the zero-shot evaluation: reading, kinds, answer candidates,
answer parsing.

A task is ``<datasets>/<Task>/{train,test}.jsonl`` of ``{prompt, response, system}``. Its kind comes
from ``<datasets>/manifest.json`` when present (mcq | yesno | classification | math | code |
generation), otherwise it is inferred from the responses. Scoring rules (docs/zoo-and-generator.md):

- mcq: candidates ``[A]``, ``[B]`` ... from the prompt's ``X: ...`` option lines; gold = response.
- yesno: candidates ``[True]`` / ``[False]``.
- classification: candidates = the bracketed labels seen in the train responses.
- math: the number after "The answer is" or "####" (else the last number) in the response.
- code / generation: no accuracy; teacher-forced loss of the reference response only.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

CHOICE_KINDS = ("mcq", "yesno", "classification")
ACCURACY_KINDS = CHOICE_KINDS + ("math",)

_OPTION_RE = re.compile(r"(?<![A-Za-z0-9])([A-J]):\s")  # "A: x" lines, or inline "choices: A: x, B: y"
_BRACKET_RE = re.compile(r"\[([^\[\]\n]{1,40})\]")
_NUM_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass
class Task:
    name: str
    kind: str
    train: List[dict]
    test: List[dict]
    labels: List[str] = field(default_factory=list)  # classification label set ("[x]" strings)

    def candidates(self, row: dict) -> List[str]:
        """The answer strings among which log-likelihood scoring chooses (empty: not a choice task)."""
        if self.kind == "mcq":
            letters = _OPTION_RE.findall(row["prompt"])
            seen = sorted(set(letters))
            return [f"[{x}]" for x in seen]
        if self.kind == "yesno":
            return ["[True]", "[False]"]
        if self.kind == "classification":
            return list(self.labels)
        return []

    def gold(self, row: dict):
        if self.kind in CHOICE_KINDS:
            return row["response"].strip()
        if self.kind == "math":
            return parse_number(row["response"])
        return None

    def parse(self, row: dict, text: str):
        """Generate-then-parse: the model's answer in the gold's form (None if unparseable)."""
        if self.kind == "math":
            return parse_number(text)
        if self.kind not in CHOICE_KINDS:
            return None
        cands = self.candidates(row)
        low = {c.lower(): c for c in cands}
        for m in _BRACKET_RE.finditer(text):
            key = f"[{m.group(1).strip()}]".lower()
            if key in low:
                return low[key]
        # bare answers: "A", "True", "positive" as the first word
        word = re.split(r"[\s\]\[.,:;!?]+", text.strip())
        first = next((w for w in word if w), "")
        if first and f"[{first}]".lower() in low:
            return low[f"[{first}]".lower()]
        return None


def parse_number(text: str) -> Optional[float]:
    """The final numeric answer: after 'The answer is' / '####', else the last number in the text."""
    if text is None:
        return None
    for pat in (r"[Tt]he answer is\s*:?\s*\$?\s*(-?[\d,]*\.?\d+)", r"####\s*\$?\s*(-?[\d,]*\.?\d+)"):
        ms = re.findall(pat, text)
        if ms:
            return _to_float(ms[-1])
    ms = _NUM_RE.findall(text)
    return _to_float(ms[-1]) if ms else None


def _to_float(s: str) -> Optional[float]:
    try:
        return float(s.replace(",", "").rstrip("."))
    except ValueError:
        return None


def answers_equal(kind: str, pred, gold) -> bool:
    if pred is None or gold is None:
        return False
    if kind == "math":
        return abs(float(pred) - float(gold)) < 1e-4 * max(1.0, abs(float(gold)))
    return str(pred).strip().lower() == str(gold).strip().lower()


def split_path(task_dir: Path, split: str) -> Path:
    """``<split>.jsonl``, or the gzip-compressed ``<split>.jsonl.gz`` of a staged copy."""
    p = Path(task_dir) / f"{split}.jsonl"
    return p if p.is_file() or not (Path(task_dir) / f"{split}.jsonl.gz").is_file() else Path(task_dir) / f"{split}.jsonl.gz"


def read_jsonl(path: Path) -> List[dict]:
    rows = []
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                rows.append({"prompt": str(r["prompt"]), "response": str(r["response"]),
                             "system": str(r.get("system") or "")})
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: not a {{prompt, response, system}} record: {exc}")
    return rows


def _manifest_kinds(datasets_dir: Path) -> Dict[str, str]:
    p = Path(datasets_dir) / "manifest.json"
    if not p.is_file():
        return {}
    d = json.loads(p.read_text(encoding="utf-8"))
    return {t["name"]: t["kind"] for t in d.get("tasks", []) if "kind" in t}


def infer_kind(train: List[dict]) -> str:
    resp = [r["response"].strip() for r in train[:200]]
    if resp and all(r in ("[True]", "[False]") for r in resp):
        return "yesno"
    if resp and all(re.fullmatch(r"\[[A-J]\]", r) for r in resp):
        return "mcq"
    if resp and all(re.fullmatch(r"\[[^\[\]\n]{1,40}\]", r) for r in resp) and len(set(resp)) <= 20:
        return "classification"
    if resp and all(parse_number(r) is not None for r in resp) and \
            sum(bool(re.search(r"answer is|####", r)) for r in resp) > len(resp) // 2:
        return "math"
    return "generation"


def list_tasks(datasets_dir) -> List[str]:
    d = Path(datasets_dir)
    return sorted(p.name for p in d.iterdir() if p.is_dir() and split_path(p, "train").is_file() and split_path(p, "test").is_file())


def load_task(datasets_dir, name: str, kinds: Optional[Dict[str, str]] = None) -> Task:
    d = Path(datasets_dir) / name
    train = read_jsonl(split_path(d, "train"))
    test = read_jsonl(split_path(d, "test"))
    if not train or not test:
        raise ValueError(f"task {name}: empty train or test split in {d}")
    kinds = _manifest_kinds(datasets_dir) if kinds is None else kinds
    kind = kinds.get(name) or infer_kind(train)
    labels: List[str] = []
    if kind == "classification":
        labels = sorted({r["response"].strip() for r in train if _BRACKET_RE.fullmatch(r["response"].strip())})
    return Task(name, kind, train, test, labels)


def load_tasks(datasets_dir, names: Optional[List[str]] = None) -> Dict[str, Task]:
    kinds = _manifest_kinds(datasets_dir)
    names = names or list_tasks(datasets_dir)
    return {n: load_task(datasets_dir, n, kinds) for n in names}


def _row_key(seed: str, row: dict) -> str:
    h = hashlib.sha1()
    h.update("\0".join((seed, row["system"], row["prompt"], row["response"])).encode("utf-8"))
    return h.hexdigest()


def subsample(rows: List[dict], n: Optional[int], seed: str) -> List[dict]:
    """The ``n`` rows with the smallest seeded hash of their content, in file order.

    Selection by content, not position: a file that holds a superset of the selected rows (the
    staged ``.zoo-data`` copy, see ``trainer/tasks/staging.py``) yields exactly the same sample."""
    if n is None or n >= len(rows):
        return list(rows)
    keyed = sorted(range(len(rows)), key=lambda i: _row_key(seed, rows[i]))
    return [rows[i] for i in sorted(keyed[: int(n)])]
