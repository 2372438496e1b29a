"""Strict reads of run-directory files: a missing file or a parse error says which file (and line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def require_run_file(run_dir: Path, name: str) -> Path:
    """`run_dir / name`, raising FileNotFoundError when it is missing: `run_dir` is then no run directory."""
    path = run_dir / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: {run_dir} is not an evaluation run directory")
    return path


def read_json(path: Path) -> Any:
    """Read a JSON file, naming the file when it does not parse."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
