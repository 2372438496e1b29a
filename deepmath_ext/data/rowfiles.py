"""Local data files: dict rows streamed from JSONL/JSON/parquet with bounded memory."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deepmath_ext.jsonl_files import iter_jsonl

PARQUET_BATCH_ROWS = 1024


def _iter_json_array(path: Path) -> Iterator[dict[str, Any]]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON array of objects")
    yield from rows


def _iter_parquet(path: Path, columns: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    present = set(parquet.schema_arrow.names)
    wanted = None if columns is None else [c for c in columns if c in present]
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
        yield from batch.to_pylist()


def iter_row_file(path: str | Path, columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of a .jsonl/.json/.parquet file; `columns` limits what parquet reads (others ignore it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _iter_parquet(path, columns)
    if suffix == ".json":
        return _iter_json_array(path)
    if suffix in (".jsonl", ".ndjson"):
        return iter_jsonl(path)
    raise ValueError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json or .parquet)")
