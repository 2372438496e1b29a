"""DeepMath's r1 solutions as a chat-format SFT parquet, keeping only verifier-accepted solutions."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepmath_ext.data import TRAIN_DATA_SOURCE
from deepmath_ext.data.deepmath import SOLUTION_FIELDS, iter_deepmath, progress_bar
from deepmath_ext.data.validation import QuestionDeduplicator, SplitReport, drop_defective
from deepmath_ext.data.verl_format import PromptLengthLimit
from deepmath_ext.errors import UserError
from deepmath_ext.files import ParquetRows, atomic_paths, write_json
from deepmath_ext.templates import PromptTemplate, get_template
from deepmath_ext.verify import grade_batch

SFT_FILE = "sft.parquet"
REPORT_FILE = "sft_report.json"
GRADE_BATCH_ROWS = 256


def sft_schema() -> Any:
    """Arrow schema of the SFT file: `messages` (verl's multiturn SFT key), data_source, extra_info."""
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    extra = pa.struct(
        [
            ("index", pa.int64()),
            ("problem_id", pa.string()),
            ("solution_field", pa.string()),
            ("grade_status", pa.string()),
            ("difficulty", pa.float64()),
            ("topic", pa.string()),
        ]
    )
    return pa.schema([("messages", pa.list_(message)), ("data_source", pa.string()), ("extra_info", extra)])


@dataclass(frozen=True)
class Candidate:
    """One r1 solution of one problem, waiting for its grade."""

    row: dict[str, Any]
    problem_id: str
    solution_field: str


@dataclass
class SftExportResult:
    """The SFT file, its report, and the verifier's status counts over all graded solutions."""

    path: Path
    report_path: Path
    report: SplitReport
    grade_statuses: Counter = field(default_factory=Counter)


def _candidates(rows: Iterable[dict[str, Any]], report: SplitReport) -> Iterator[Candidate]:
    dedup = QuestionDeduplicator()
    for source_index, row in enumerate(rows):
        report.read += 1
        problem_id = str(source_index)
        if drop_defective(row, problem_id, report):
            continue
        duplicate = dedup.duplicate_kind(row["question"])
        if duplicate:
            report.drop(duplicate, problem_id)
            continue
        seen: set[str] = set()
        for name in SOLUTION_FIELDS:
            solution = row.get(name)
            solution_id = f"{problem_id}:{name}"
            if not isinstance(solution, str) or not solution.strip():
                report.drop("missing_solution", solution_id)
            elif solution in seen:
                report.drop("duplicate_solution", solution_id)
            else:
                seen.add(solution)
                yield Candidate(row, problem_id, name)


def _sft_row(template: PromptTemplate, candidate: Candidate, index: int, status: str) -> dict[str, Any]:
    row = candidate.row
    solution = row[candidate.solution_field]
    return {
        "messages": [*template.messages(row["question"]), {"role": "assistant", "content": solution}],
        "data_source": TRAIN_DATA_SOURCE,
        "extra_info": {
            "index": index,
            "problem_id": candidate.problem_id,
            "solution_field": candidate.solution_field,
            "grade_status": status,
            "difficulty": row["difficulty"],
            "topic": row["topic"],
        },
    }


def export_sft(
    source: str | Path,
    out_dir: str | Path,
    *,
    template: str = "r1-distill",
    require_think: bool = True,
    max_tokens: int | None = None,
    tokenizer: Any = None,
    limit: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> SftExportResult:
    """Write `sft.parquet` of (prompt, verified r1 solution) chats and `sft_report.json`."""
    prompt_template = get_template(template)
    length = PromptLengthLimit.optional(tokenizer, prompt_template, max_tokens, "max_tokens")
    out = Path(out_dir)
    result = SftExportResult(out / SFT_FILE, out / REPORT_FILE, SplitReport(source=str(source)))
    report = result.report
    rows = progress_bar(iter_deepmath(source, limit=limit), "export-sft", progress)
    candidates = _candidates(rows, report)
    with (
        atomic_paths({"sft": result.path, "report": result.report_path}) as temps,
        ParquetRows(temps["sft"], sft_schema(), {"deepmath.template": prompt_template.name}) as writer,
    ):
        while batch := list(itertools.islice(candidates, GRADE_BATCH_ROWS * len(SOLUTION_FIELDS))):
            solutions = [c.row[c.solution_field] for c in batch]
            golds = [c.row["final_answer"] for c in batch]
            grades = grade_batch(solutions, golds, require_think=require_think, workers=workers)
            for candidate, solution, grade in zip(batch, solutions, grades, strict=True):
                result.grade_statuses[grade.status] += 1
                solution_id = f"{candidate.problem_id}:{candidate.solution_field}"
                if not grade.correct:
                    report.drop(f"rejected_{grade.status}", solution_id)
                elif length is not None and length.too_long(candidate.row["question"], solution):
                    report.drop("too_long", solution_id)
                else:
                    writer.write(_sft_row(prompt_template, candidate, report.written, grade.status))
                    report.written += 1
        if not report.written:
            raise UserError(f"{source}: no verified solution to write (read {report.read} rows)")
        write_json(temps["report"], {**report.to_dict(), "grade_statuses": dict(result.grade_statuses)})
    return result
