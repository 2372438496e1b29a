"""The audit report of a decontamination run: counts per benchmark and stage, settings, as JSON and Markdown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from deepmath_ext.data import BenchmarkProblem
from deepmath_ext.decontam.pipeline import DecontamConfig, DecontamResult


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
            "endpoint": config.judge.endpoint,
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
        report["judge"] = {
            "candidate_pairs": result.judge_candidates,
            "unclear_answers": result.judge_unclear,
        }
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
            f"Judge: {judge['candidate_pairs']} candidate pairs asked in both orders, "
            f"{judge['unclear_answers']} answers neither YES nor NO (counted as NO).",
        ]
    return "\n".join(lines) + "\n"
