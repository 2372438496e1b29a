"""Atomic file writes: write a temp file beside the target, rename it over the target only on success."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def temp_path_beside(path: str | Path) -> Path:
    """Create an empty hidden temp file in `path`'s folder (made if missing) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target, so the final os.replace is a rename within one filesystem (atomic).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temp path beside `path` that replaces `path` when the block succeeds and is removed otherwise."""
    tmp = temp_path_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Atomically write `text` (UTF-8) to `path`, fsynced before the rename."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        # Without the fsync a crash just after the rename can leave an empty file in place of the old one.
        os.fsync(f.fileno())


def write_json_atomic(path: str | Path, value: Any) -> None:
    """Atomically write `value` as indented JSON."""
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Atomically write one JSON object per line."""
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
