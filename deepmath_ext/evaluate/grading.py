"""Grade a run's stored generations under each grading policy and group them per problem."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import needs_olympiad_judge
from deepmath_ext.errors import UserError
from deepmath_ext.evaluate.backends import SampleKey
from deepmath_ext.evaluate.metrics import ProblemResult, ScoredSample
from deepmath_ext.evaluate.store import GENERATIONS_FILE, GenerationStore, load_problems
from deepmath_ext.files import write_jsonl_atomic
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

GRADES_FILE = "grades.jsonl"
GRADE_CHUNK = 4096  # responses per grade_batch call: bounds memory and drives the progress bar
# Results per policy, then per benchmark.
PolicyResults = dict[str, dict[str, list[ProblemResult]]]


class IncompleteRunError(UserError):
    """Some (problem, sample) keys of the run have no stored generation."""


def _required_keys(problems: list[dict[str, Any]], n: int) -> list[SampleKey]:
    return [SampleKey(p["benchmark"], p["id"], i) for p in problems for i in range(n)]


def _chunks(keys: list[SampleKey]) -> list[list[SampleKey]]:
    """Runs of at most GRADE_CHUNK keys of one benchmark (policies may grade per benchmark)."""
    chunks: list[list[SampleKey]] = []
    for key in keys:
        if not chunks or chunks[-1][0].benchmark != key.benchmark or len(chunks[-1]) == GRADE_CHUNK:
            chunks.append([])
        chunks[-1].append(key)
    return chunks


def grade_run(
    run_dir: Path,
    *,
    n: int,
    require_think: bool,
    policies: Sequence[str],
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> tuple[PolicyResults, list[dict[str, Any]]]:
    """Grade samples 0..n-1 of every stored problem under each policy and write `grades.jsonl`.

    Returns the results per policy and benchmark, and the grader gap: the samples the policies disagree on.
    """
    from tqdm import tqdm

    from deepmath_ext.verify import grade_batch, normalize_answer

    problems = load_problems(run_dir)
    store = GenerationStore(run_dir / GENERATIONS_FILE)
    keys = _required_keys(problems, n)
    missing = [key for key in keys if key not in store]
    if missing:
        raise IncompleteRunError(
            f"{run_dir}: {len(missing)} of {len(keys)} samples are not generated yet (e.g. {missing[0]}); "
            "re-run the same `deepmath eval` command to finish them"
        )
    golds = {(p["benchmark"], p["id"]): p["answer"] for p in problems}
    grades: dict[str, list[Any]] = {policy: [] for policy in policies}
    with tqdm(total=len(keys) * len(policies), desc="grading", unit="sample") as bar:
        for chunk in _chunks(keys):
            responses = [store.records[k]["text"] for k in chunk]
            chunk_golds = [golds[(k.benchmark, k.problem_id)] for k in chunk]
            for policy in policies:
                grades[policy] += grade_batch(
                    responses,
                    chunk_golds,
                    policy=policy,
                    require_think=require_think,
                    olympiad_judge=needs_olympiad_judge(chunk[0].benchmark),
                    workers=workers,
                    timeout_s=timeout_s,
                )
                bar.update(len(chunk))
    rows = [
        {
            "benchmark": k.benchmark,
            "problem_id": k.problem_id,
            "index": k.index,
            "grades": {
                policy: {"correct": bool(g.correct), "status": str(g.status), "pred": g.pred}
                for policy, g in ((p, grades[p][i]) for p in policies)
            },
        }
        for i, k in enumerate(keys)
    ]
    write_jsonl_atomic(run_dir / GRADES_FILE, rows)
    results = {policy: _group(problems, store, rows, policy, normalize_answer) for policy in policies}
    return results, grader_gap(rows, golds)


def grader_gap(rows: list[dict[str, Any]], golds: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """The graded samples on which the policies disagree about correctness, with gold and each grade."""
    return [
        {
            **{k: row[k] for k in ("benchmark", "problem_id", "index")},
            "gold": golds[(row["benchmark"], row["problem_id"])],
            "grades": row["grades"],
        }
        for row in rows
        if len({g["correct"] for g in row["grades"].values()}) > 1
    ]


def _group(
    problems: list[dict[str, Any]],
    store: GenerationStore,
    rows: list[dict[str, Any]],
    policy: str,
    normalize: Callable[[str], str],
) -> dict[str, list[ProblemResult]]:
    samples: dict[tuple[str, str], list[ScoredSample]] = defaultdict(list)
    for row in rows:  # rows are in (problem, index) order, so each list comes out index-ordered
        record = store.records[SampleKey(row["benchmark"], row["problem_id"], row["index"])]
        grade = row["grades"][policy]
        samples[(row["benchmark"], row["problem_id"])].append(
            ScoredSample(
                correct=grade["correct"],
                status=grade["status"],
                # Majority votes count presentation variants (\\dfrac vs \\frac) as one answer.
                pred=None if grade["pred"] is None else normalize(grade["pred"]),
                finish_reason=record["finish_reason"],
                response_tokens=record["response_tokens"],
            )
        )
    results: dict[str, list[ProblemResult]] = defaultdict(list)
    for p in problems:
        key = (p["benchmark"], p["id"])
        results[p["benchmark"]].append(ProblemResult(p["id"], tuple(samples[key]), p.get("categories", {})))
    return dict(results)
