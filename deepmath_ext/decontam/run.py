"""One decontamination run end to end: load both sides, run the stages, write the output folder."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import BENCHMARKS, benchmark_mismatch
from deepmath_ext.decontam.judge import preflight
from deepmath_ext.decontam.outputs import write_row_outputs
from deepmath_ext.decontam.pipeline import DecontamConfig, decontaminate
from deepmath_ext.decontam.report import build_report, render_markdown
from deepmath_ext.decontam.sources import load_references, load_train_questions
from deepmath_ext.files import write_json_atomic, write_text_atomic


def decontaminate_to_dir(
    train: str | Path,
    against: Iterable[str],
    out_dir: str | Path,
    config: DecontamConfig,
    data_dir: str | Path | None = None,
    allow_mismatch: bool = False,
) -> dict[str, Any]:
    """Check `train` against benchmarks/files, write clean.parquet, removed.jsonl, report.{json,md}; return the report."""
    if config.judge is not None and "judge" in config.stages:
        preflight(config.judge)
    references = load_references(against, data_dir=data_dir, allow_mismatch=allow_mismatch)
    questions = load_train_questions(train)
    result = decontaminate(questions, references, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_row_outputs(train, result, references, out)
    report = build_report(str(train), result, references, config)
    if allow_mismatch:  # loaded anyway, as asked: the report says how each copy differs
        report["benchmark_mismatches"] = {
            name: message
            for name in sorted({p.benchmark for p in references} & set(BENCHMARKS))
            if (
                message := benchmark_mismatch(
                    name, [p for p in references if p.benchmark == name], data_dir is None
                )
            )
        }
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", render_markdown(report))
    return report
