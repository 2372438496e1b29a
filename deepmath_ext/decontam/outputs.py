"""Write a run's files atomically: clean.parquet, removed.jsonl (one streaming pass over the input)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from deepmath_ext.data import BenchmarkProblem, iter_deepmath
from deepmath_ext.data.deepmath import DEEPMATH_FIELDS
from deepmath_ext.data.verl_format import ParquetRows
from deepmath_ext.decontam.pipeline import DecontamResult, Hit
from deepmath_ext.files import atomic_paths

SCORE_DIGITS = 4  # cosines differ in the last float bits across batch shapes; rounding keeps reruns identical


def _clean_schema() -> Any:
    import pyarrow as pa

    types = {"difficulty": pa.float64()}
    return pa.schema([(name, types.get(name, pa.string())) for name in DEEPMATH_FIELDS])


def _conform(row: dict[str, Any], schema: Any) -> dict[str, Any]:
    # DeepMath's text fields are strings; other mixes store e.g. numeric answers, kept as their text.
    return {
        f.name: str(row[f.name]) if f.type == "string" and row.get(f.name) is not None else row.get(f.name)
        for f in schema
    }


def removed_record(hit: Hit, row: dict[str, Any], references: Sequence[BenchmarkProblem]) -> dict[str, Any]:
    """The removed.jsonl line for one removed training row: the row's fields plus what matched it."""
    ref = references[hit.reference]
    record = {
        **row,
        "index": hit.index,
        "stage": hit.stage,
        "score": round(hit.score, SCORE_DIGITS),
        "benchmark": ref.benchmark,
        "benchmark_id": ref.id,
        "benchmark_problem": ref.problem,
    }
    if hit.judge_answers is not None:
        record["judge_answers"] = list(hit.judge_answers)
    return record


def write_row_outputs(
    train: str | Path, result: DecontamResult, references: Sequence[BenchmarkProblem], out_dir: Path
) -> None:
    """Stream the training rows once: kept rows to clean.parquet, removed ones to removed.jsonl."""
    schema = _clean_schema()
    with (
        atomic_paths({"clean": out_dir / "clean.parquet", "removed": out_dir / "removed.jsonl"}) as temps,
        ParquetRows(temps["clean"], schema) as clean,
        temps["removed"].open("w", encoding="utf-8") as removed_file,
    ):
        seen = 0
        rows = iter_deepmath(train, limit=result.rows)
        for index, row in enumerate(tqdm(rows, desc="write", unit="row", total=result.rows, file=sys.stderr)):
            seen += 1
            if index in result.removed:
                record = removed_record(result.removed[index], row, references)
                removed_file.write(json.dumps(record, ensure_ascii=False) + "\n")
                continue
            clean.write(_conform(row, schema))
        if seen != result.rows:
            raise RuntimeError(f"{train}: read {seen} rows on the second pass, {result.rows} on the first")
