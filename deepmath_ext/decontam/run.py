"""One decontamination run end to end: load both sides, run the stages, write the output folder.

The output folder gets clean.parquet and removed.jsonl (one streaming pass over the input), and the audit
report (counts per benchmark and stage, settings) as report.json and report.md, each written atomically.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from deepmath_ext.data import BENCHMARKS, BenchmarkProblem, iter_deepmath, load_benchmark
from deepmath_ext.data.deepmath import DEEPMATH_FIELDS
from deepmath_ext.decontam.judge import preflight
from deepmath_ext.decontam.pipeline import DecontamConfig, DecontamResult, Hit, decontaminate
from deepmath_ext.errors import redact
from deepmath_ext.files import ParquetRows, atomic_paths, write_json_atomic, write_text_atomic

SCORE_DIGITS = 4  # cosines differ in the last float bits across batch shapes; rounding keeps reruns identical


def _problems_from_file(path: Path) -> list[BenchmarkProblem]:
    problems = []
    for index, row in enumerate(iter_deepmath(path, with_solutions=False)):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{path}: row {index} has no problem text (looked for 'question' and 'problem')")
        answer = "" if row.get("final_answer") is None else str(row["final_answer"])
        problems.append(BenchmarkProblem(path.stem, str(index), question.strip(), answer))
    return problems


def load_references(
    against: Iterable[str],
    data_dir: str | Path | None = None,
    allow_mismatch: bool = False,
    mismatches: dict[str, str] | None = None,
) -> list[BenchmarkProblem]:
    """Benchmark problems to check against: registry names (hub, or `data_dir`) and local file paths."""
    references: list[BenchmarkProblem] = []
    seen: set[str] = set()
    for item in against:
        if item in BENCHMARKS:
            problems = load_benchmark(item, data_dir, allow_mismatch, mismatches)
        elif Path(item).is_file():
            problems = _problems_from_file(Path(item))
        else:
            raise ValueError(
                f"--against {item!r} is neither a benchmark ({', '.join(BENCHMARKS)}) nor a file"
            )
        if not problems:
            raise ValueError(f"--against {item!r} has no problems")
        name = problems[0].benchmark
        if name in seen:
            raise ValueError(f"--against names benchmark {name!r} twice")
        seen.add(name)
        references.extend(problems)
    if not references:
        raise ValueError("nothing to check against: --against is empty")
    return references


def load_train_questions(train: str | Path) -> list[str]:
    """The `question` text of every training row, in input order; a row without one is an error."""
    questions = []
    for index, row in enumerate(iter_deepmath(train, with_solutions=False)):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(
                f"{train}: training row {index} has no question text (looked for 'question' and 'problem')"
            )
        questions.append(question)
    if not questions:
        raise ValueError(f"{train}: no training rows")
    return questions


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
    mismatches: dict[str, str] = {}
    references = load_references(against, data_dir, allow_mismatch, mismatches)
    questions = load_train_questions(train)
    result = decontaminate(questions, references, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_row_outputs(train, result, references, out)
    report = build_report(str(train), result, references, config)
    if allow_mismatch:  # loaded anyway, as asked: the report says how each copy differs
        report["benchmark_mismatches"] = dict(sorted(mismatches.items()))
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", render_markdown(report))
    return report


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


def _settings(config: DecontamConfig, result: DecontamResult) -> dict[str, Any]:
    settings: dict[str, Any] = {"stages": list(config.stages)}
    if "ngram" in config.stages:
        settings["ngram"] = {"n": config.ngram_size, "min_overlap": config.ngram_overlap}
    if "embed" in config.stages:
        settings["embed"] = {
            "model": result.embed_model,
            "threshold": config.threshold,
            "top_k": config.top_k,
            "skip_number_conflicts": config.skip_number_conflicts,
        }
    if config.judge is not None and "judge" in config.stages:
        settings["judge"] = {
            "model": config.judge.model,
            "endpoint": redact(config.judge.endpoint),
            "rule": "both orders YES" if config.judge.require_both else "either order YES",
        }
    return settings


def build_report(
    train: str, result: DecontamResult, references: Sequence[BenchmarkProblem], config: DecontamConfig
) -> dict[str, Any]:
    """Counts per benchmark: problems, rows flagged per stage, rows removed per deciding stage, problems hit."""
    problems = Counter(p.benchmark for p in references)
    benchmarks: dict[str, Any] = {}
    for name in dict.fromkeys(p.benchmark for p in references):  # in order of first appearance
        flagged = {
            stage: sum(references[h.reference].benchmark == name for h in hits)
            for stage, hits in result.hits.items()
        }
        removed = [h for h in result.removed.values() if references[h.reference].benchmark == name]
        benchmarks[name] = {
            "problems": problems[name],
            "flagged": flagged,
            "removed": dict(sorted(Counter(h.stage for h in removed).items())),
            "problems_found_in_train": len({h.reference for h in removed}),
        }
    report: dict[str, Any] = {
        "train": train,
        "rows": result.rows,
        "kept": result.rows - len(result.removed),
        "removed": len(result.removed),
        "removed_by_stage": dict(sorted(Counter(h.stage for h in result.removed.values()).items())),
        "flagged_by_stage": {stage: len(hits) for stage, hits in result.hits.items()},
        "settings": _settings(config, result),
        "benchmarks": benchmarks,
    }
    if "judge" in result.hits:
        report["judge"] = {"candidate_pairs": result.judge_candidates}
    return report


def render_markdown(report: dict[str, Any]) -> str:
    """report.md: a one-screen summary of `build_report`'s dict."""
    stages = report["settings"]["stages"]
    lines = [
        "# Decontamination report",
        "",
        f"Training data: `{report['train']}`: {report['rows']} rows, **{report['removed']} removed**, "
        f"{report['kept']} kept.",
        "",
        "## Settings",
        "",
        *(
            f"- {stage}: " + ", ".join(f"{k}={v}" for k, v in report["settings"][stage].items())
            for stage in stages
        ),
        "",
        "## Hits per benchmark",
        "",
        "Flagged: rows each stage matched to the benchmark. Removed: rows removed, by the first stage that "
        "decided. Problems found: benchmark problems with at least one removed training row.",
        "",
        "| benchmark | problems | "
        + " | ".join(f"flagged {s}" for s in stages)
        + " | removed | problems found |",
        "|---" * (len(stages) + 4) + "|",
    ]
    for name, entry in report["benchmarks"].items():
        flagged = " | ".join(str(entry["flagged"].get(s, 0)) for s in stages)
        removed = sum(entry["removed"].values())
        lines.append(
            f"| {name} | {entry['problems']} | {flagged} | {removed} | {entry['problems_found_in_train']} |"
        )
    if "judge" in report:
        judge = report["judge"]
        lines += [
            "",
            f"Judge: {judge['candidate_pairs']} candidate pairs asked in both orders, each reply a YES or NO "
            "(any other reply stops the command).",
        ]
    return "\n".join(lines) + "\n"
