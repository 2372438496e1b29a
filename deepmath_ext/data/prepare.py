"""DeepMath-103K and the benchmarks into verl's train.parquet / val.parquet, with a validation report."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepmath_ext.data import TRAIN_DATA_SOURCE
from deepmath_ext.data.answer_types import (
    ANSWER_TYPES,
    DEFAULT_ANSWER_TYPES,
    DESCRIPTIONS,
    NON_VERIFIABLE,
    with_answer_types,
)
from deepmath_ext.data.benchmarks import BENCHMARKS, PAPER_BENCHMARKS, load_benchmark
from deepmath_ext.data.deepmath import DEEPMATH_HF_ID, iter_deepmath, progress_bar
from deepmath_ext.data.validation import (
    DataValidationError,
    QuestionDeduplicator,
    SplitReport,
    answer_in_question,
    drop_defective,
)
from deepmath_ext.data.verl_format import PromptLengthLimit, verl_row, verl_schema
from deepmath_ext.errors import UserError
from deepmath_ext.files import ParquetRows, atomic_paths, write_json
from deepmath_ext.templates import PromptTemplate, get_template

logger = logging.getLogger(__name__)

REPORT_FILE = "prepare_report.json"


@dataclass(frozen=True)
class RowSelection:
    """Which training rows to keep: a difficulty range, topics (any given string inside the topic) and the
    kinds of gold answer (`answer_types.ANSWER_TYPES`; default: the verifiable ones)."""

    difficulty_min: float | None = None
    difficulty_max: float | None = None
    topics: tuple[str, ...] = ()
    answer_types: tuple[str, ...] = DEFAULT_ANSWER_TYPES

    def rejection(self, row: dict[str, Any]) -> str | None:
        """Why a valid row is not selected, or None when it is."""
        difficulty = row.get("difficulty")
        if self.difficulty_min is not None or self.difficulty_max is not None:
            if difficulty is None:
                return "difficulty_missing"
            if self.difficulty_min is not None and difficulty < self.difficulty_min:
                return "difficulty_out_of_range"
            if self.difficulty_max is not None and difficulty > self.difficulty_max:
                return "difficulty_out_of_range"
        topic = (row.get("topic") or "").lower()
        if self.topics and not any(wanted.lower() in topic for wanted in self.topics):
            return "topic_not_selected"
        return None


@dataclass
class PrepareResult:
    """Paths written by `prepare_dataset` and the per-split reports."""

    out_dir: Path
    train_path: Path | None
    val_path: Path | None
    report_path: Path
    reports: dict[str, SplitReport] = field(default_factory=dict)
    benchmark_mismatches: dict[str, str] = field(default_factory=dict)  # loaded with the override
    answer_types: Counter = field(default_factory=Counter)  # valid training rows by kind of gold


def _keep(row: dict[str, Any], row_id: str, report: SplitReport, length: PromptLengthLimit | None) -> bool:
    """Last checks before writing: prompt length (dropped) and the answer-leak flag (kept)."""
    if length is not None and length.too_long(row["question"]):
        report.drop("prompt_too_long", row_id)
        return False
    if answer_in_question(row["question"], row["final_answer"]):
        report.flag("answer_in_question", row_id)
    return True


def _train_rows(
    source: str | Path,
    template: PromptTemplate,
    selection: RowSelection,
    length: PromptLengthLimit | None,
    report: SplitReport,
    limit: int | None,
    progress: bool,
    kinds: Counter,
) -> Iterator[dict[str, Any]]:
    dedup = QuestionDeduplicator()
    rows = iter_deepmath(source, with_solutions=False, limit=limit)
    # Keeping every kind needs no classification (math-verify's parse is the slow part of prepare).
    keep_all = set(selection.answer_types) == set(ANSWER_TYPES)
    typed = ((row, None) for row in rows) if keep_all else with_answer_types(rows, "final_answer")
    for source_index, (row, kind) in enumerate(progress_bar(typed, "prepare train", progress)):
        report.read += 1
        row_id = str(source_index)
        if drop_defective(row, row_id, report):
            continue
        if kind is not None:
            kinds[kind] += 1
        rejection = selection.rejection(row) or dedup.duplicate_kind(row["question"])
        if not rejection and kind is not None and kind not in selection.answer_types:
            rejection = f"answer_type_{kind}"
        if rejection:
            report.drop(rejection, row_id)
            continue
        if not _keep(row, row_id, report, length):
            continue
        yield verl_row(
            template,
            question=row["question"],
            answer=row["final_answer"].strip(),
            data_source=TRAIN_DATA_SOURCE,
            index=report.written,
            split="train",
            problem_id=row_id,
            difficulty=row["difficulty"],
            topic=row["topic"],
        )
        report.written += 1


def _val_rows(
    names: Sequence[str],
    data_dir: str | Path | None,
    template: PromptTemplate,
    length: PromptLengthLimit | None,
    report: SplitReport,
    allow_mismatch: bool,
    mismatches: dict[str, str],
) -> Iterator[dict[str, Any]]:
    # Benchmarks are not deduplicated: their rows must stay comparable with published numbers.
    for name in names:
        for problem in load_benchmark(name, data_dir, allow_mismatch, mismatches):
            report.read += 1
            row_id = f"{name}:{problem.id}"
            row = {"question": problem.problem, "final_answer": problem.answer}
            if drop_defective(row, row_id, report) or not _keep(row, row_id, report, length):
                continue
            yield verl_row(
                template,
                question=problem.problem,
                answer=problem.answer,
                data_source=name,
                index=report.written,
                split="test",
                problem_id=problem.id,
                topic=problem.categories.get("subject") or problem.categories.get("subfield"),
            )
            report.written += 1


def _write_split(
    path: Path, rows: Iterable[dict[str, Any]], template: PromptTemplate, report: SplitReport, strict: bool
) -> None:
    metadata = {"deepmath.template": template.name, "deepmath.template_fingerprint": template.fingerprint()}
    with ParquetRows(path, verl_schema(), metadata) as writer:
        for row in rows:
            writer.write(row)
    _check_strict(report, strict)
    if not report.written:  # an empty split is a mistake in the selection, not a result
        raise UserError(
            f"{report.source}: no rows left to write (read {report.read}, dropped {report.dropped_counts})"
        )


def _check_strict(report: SplitReport, strict: bool) -> None:
    """With --strict, every defective row of the split at once: one line per defect on stderr, then the error."""
    if strict and report.defects:
        for reason, ids in sorted(report.defects.items()):
            for row_id in ids:
                print(f"{report.source}: row {row_id}: {reason}", file=sys.stderr)
        counts = ", ".join(f"{reason} {len(ids)}" for reason, ids in sorted(report.defects.items()))
        raise DataValidationError(
            f"{report.source}: {report.invalid_rows} invalid rows ({counts}; listed above); fix them or drop --strict"
        )


def _validate_val_names(val: Sequence[str]) -> None:
    unknown = [name for name in val if name not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")


def prepare_dataset(
    out_dir: str | Path,
    *,
    template: str = "orz",
    train: str | Path | None = DEEPMATH_HF_ID,
    val: Sequence[str] = PAPER_BENCHMARKS,
    data_dir: str | Path | None = None,
    selection: RowSelection = RowSelection(),
    max_prompt_tokens: int | None = None,
    tokenizer: Any = None,
    limit: int | None = None,
    strict: bool = False,
    allow_benchmark_mismatch: bool = False,
    progress: bool = True,
) -> PrepareResult:
    """Write train.parquet (from `train`) and val.parquet (from the `val` benchmarks) plus a report."""
    prompt_template = get_template(template)
    _validate_val_names(val)
    length = PromptLengthLimit.optional(tokenizer, prompt_template, max_prompt_tokens, "max_prompt_tokens")
    if train is None and not val:
        raise UserError("nothing to write: both the training split and the benchmarks are off")
    out = Path(out_dir)
    result = PrepareResult(out, None, None, out / REPORT_FILE)
    splits = {"train": out / "train.parquet", "val": out / "val.parquet"}
    wanted = {name: path for name, path in splits.items() if (train is not None if name == "train" else val)}
    # All files appear together or none does; a split not asked for this time is removed with the others'
    # arrival, so the folder never pairs a new train.parquet with an old val.parquet.
    stale = [path for name, path in splits.items() if name not in wanted]
    with atomic_paths({**wanted, "report": result.report_path}, stale=stale) as temps:
        if train is not None:
            report = result.reports.setdefault("train", SplitReport(source=str(train)))
            rows = _train_rows(
                train, prompt_template, selection, length, report, limit, progress, result.answer_types
            )
            _write_split(temps["train"], rows, prompt_template, report, strict)
            result.train_path = wanted["train"]
        if val:
            report = result.reports.setdefault("val", SplitReport(source=str(data_dir or "hub")))
            rows = _val_rows(
                val,
                data_dir,
                prompt_template,
                length,
                report,
                allow_benchmark_mismatch,
                result.benchmark_mismatches,
            )
            _write_split(temps["val"], rows, prompt_template, report, strict)
            result.val_path = wanted["val"]
        write_json(temps["report"], _report_payload(prompt_template, result, selection))
    return result


def _report_payload(
    template: PromptTemplate, result: PrepareResult, selection: RowSelection
) -> dict[str, Any]:
    return {
        "template": template.name,
        "template_fingerprint": template.fingerprint(),
        "thinking": template.thinking,
        "outputs": {"train": str(result.train_path or ""), "val": str(result.val_path or "")},
        "splits": {name: report.to_dict() for name, report in result.reports.items()},
        "benchmark_mismatches": result.benchmark_mismatches,
        "answer_types": answer_types_report(result.answer_types, selection.answer_types),
    }


def answer_types_report(counts: Counter, kept: Sequence[str]) -> dict[str, Any]:
    """Valid training rows per kind of gold answer (None: every kind kept, so none classified), which kinds
    were kept, and what each kind means."""
    every_kind = set(kept) == set(ANSWER_TYPES)
    return {
        "counts": None if every_kind else {kind: counts.get(kind, 0) for kind in ANSWER_TYPES},
        "kept": list(kept),
        "dropped": [kind for kind in ANSWER_TYPES if kind not in kept],
        "non_verifiable": list(NON_VERIFIABLE),
        "descriptions": DESCRIPTIONS,
    }
