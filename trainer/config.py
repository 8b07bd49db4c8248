"""Configuration: one JSON file per pipeline (``trainer/configs/*.json``), read into a plain dict.

Paths inside the config are relative to the repository root, which is the parent of this package.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "base.json"
DEFAULT_CORPUS = (REPO_ROOT / ".." / "shared" / "corpus").resolve()
DEFAULT_DATASETS = (REPO_ROOT / ".." / "shared" / "datasets").resolve()


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    """Read a JSON config; ``overrides`` is a nested dict merged on top (for tests and CLI flags)."""
    path = Path(path) if path else DEFAULT_CONFIG
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
    if overrides:
        cfg = merge(cfg, overrides)
    return cfg


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve(path: str | Path) -> Path:
    """A config path: absolute as given, relative ones against the repository root."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p
