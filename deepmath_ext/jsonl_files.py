"""JSON Lines reading: one JSON object per line; every error names the file (or line) it comes from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def parse_object_line(line: str, where: str) -> dict[str, Any]:
    """The JSON object on `line`; ValueError prefixed with `where` (e.g. "file.jsonl:3") otherwise."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the objects of a JSONL file, skipping blank lines."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                yield parse_object_line(line, f"{path}:{line_number}")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All objects of a JSONL file."""
    return list(iter_jsonl(path))
