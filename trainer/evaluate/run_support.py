"""What a pipeline run records about itself: the commit it ran at and a timestamped log."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from trainer.config import REPO_ROOT


def commit_of(args) -> str:
    """``args.commit`` when given (the device machine's copy of the tree may have no .git), else
    ``git rev-parse HEAD``, else ``$GIT_COMMIT``, else ``"unknown"``."""
    if args.commit:
        return args.commit
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return os.environ.get("GIT_COMMIT", "unknown")


def log_to(path: Path):
    """A ``log(msg)`` that prints ``[HH:MM:SS] msg`` and appends the same line to ``path``."""
    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return log
