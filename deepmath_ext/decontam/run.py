"""One decontamination run end to end: load both sides, run the stages, write the output folder."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deepmath_ext.atomic_files import write_json_atomic, write_text_atomic
from deepmath_ext.decontam.outputs import write_row_outputs
from deepmath_ext.decontam.pipeline import DecontamConfig, decontaminate
from deepmath_ext.decontam.report import build_report, render_markdown
from deepmath_ext.decontam.sources import load_references, load_train_questions


def decontaminate_to_dir(
    train: str | Path,
    against: Iterable[str],
    out_dir: str | Path,
    config: DecontamConfig,
    data_dir: str | Path | None = None,
    allow_mismatch: bool = False,
) -> dict[str, Any]:
    """Check `train` against benchmarks/files, write clean.parquet, removed.jsonl, report.{json,md}; return the report."""
    references = load_references(against, data_dir=data_dir, allow_mismatch=allow_mismatch)
    questions = load_train_questions(train)
    result = decontaminate(questions, references, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_row_outputs(train, result, references, out)
    report = build_report(str(train), result, references, config)
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", render_markdown(report))
    return report
