"""DeepMath-103K rows streamed from the hub, a local parquet/JSONL file, or a folder of shards."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from deepmath_ext.endpoint import is_hub_id, require_hub
from deepmath_ext.files import claim_inputs, iter_row_file

DEEPMATH_HF_ID = "zwhe99/DeepMath-103K"
SOLUTION_FIELDS = ("r1_solution_1", "r1_solution_2", "r1_solution_3")
PROBLEM_FIELDS = ("question", "final_answer", "difficulty", "topic")
DEEPMATH_FIELDS = PROBLEM_FIELDS + SOLUTION_FIELDS
# Other training files (e.g. DeepScaleR's) spell the fields differently; map them onto DeepMath's.
FIELD_ALIASES: dict[str, str] = {"problem": "question", "answer": "final_answer", "type": "topic"}
_SHARD_SUFFIXES = (".parquet", ".jsonl", ".json")


def _source_columns(fields: tuple[str, ...]) -> list[str]:
    aliases = [alias for alias, target in FIELD_ALIASES.items() if target in fields]
    return [*fields, *aliases]


def to_deepmath_row(row: dict[str, Any], fields: tuple[str, ...] = DEEPMATH_FIELDS) -> dict[str, Any]:
    """Project a raw row onto DeepMath's field names; a missing field becomes None (validation counts it)."""
    out = {name: row.get(name) for name in fields}
    for alias, target in FIELD_ALIASES.items():
        if target in out and out[target] is None and row.get(alias) is not None:
            out[target] = row[alias]
    return out


def _local_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    claim_inputs([path])  # a file written into this folder would be read as a shard next time
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _SHARD_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"{path}: no .parquet/.jsonl/.json files in this folder")
    return files


def _hub_rows(dataset_id: str, split: str) -> Iterable[dict[str, Any]]:
    import datasets

    return datasets.load_dataset(dataset_id, split=split, streaming=True)


def _raw_rows(path_or_id: str | Path, split: str, columns: list[str]) -> Iterator[dict[str, Any]]:
    path = Path(path_or_id)
    if path.exists():
        for file in _local_files(path):
            yield from iter_row_file(file, columns=columns)
    elif is_hub_id(path_or_id):
        require_hub(f"dataset {path_or_id}", "pass a local .parquet/.jsonl file or folder")
        yield from _hub_rows(str(path_or_id), split)
    else:
        raise FileNotFoundError(f"{path_or_id}: neither a local file/folder nor a hub dataset id")


def iter_deepmath(
    path_or_id: str | Path = DEEPMATH_HF_ID,
    *,
    split: str = "train",
    with_solutions: bool = True,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Stream DeepMath-shaped dicts (question, final_answer, difficulty, topic[, r1_solution_1..3])."""
    fields = DEEPMATH_FIELDS if with_solutions else PROBLEM_FIELDS
    rows = _raw_rows(path_or_id, split, _source_columns(fields))
    for row in itertools.islice(rows, limit):
        yield to_deepmath_row(row, fields)


def progress_bar(rows: Iterable[Any], desc: str, enabled: bool) -> Iterable[Any]:
    """`rows` with a tqdm bar on stderr when enabled."""
    if not enabled:
        return rows
    from tqdm import tqdm

    return tqdm(rows, desc=desc, unit=" rows", file=sys.stderr, mininterval=2.0)
