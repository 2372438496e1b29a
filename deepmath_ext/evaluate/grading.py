"""Grade a run's stored generations with the shared verifier and group them per problem."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepmath_ext.atomic_files import write_jsonl_atomic
from deepmath_ext.evaluate.backends.base import SampleKey
from deepmath_ext.evaluate.metrics import ProblemResult, ScoredSample
from deepmath_ext.evaluate.store import GENERATIONS_FILE, GenerationStore, load_problems
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

GRADES_FILE = "grades.jsonl"
GRADE_CHUNK = 4096  # responses per grade_batch call: bounds memory and drives the progress bar


class IncompleteRunError(RuntimeError):
    """Some (problem, sample) keys of the run have no stored generation."""


def _required_keys(problems: list[dict[str, Any]], n: int) -> list[SampleKey]:
    return [SampleKey(p["benchmark"], p["id"], i) for p in problems for i in range(n)]


def grade_run(
    run_dir: Path,
    *,
    n: int,
    require_think: bool,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[str, list[ProblemResult]]:
    """Grade samples 0..n-1 of every stored problem, write `grades.jsonl`, return results per benchmark."""
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
    grades = []
    with tqdm(total=len(keys), desc="grading", unit="sample") as bar:
        for start in range(0, len(keys), GRADE_CHUNK):
            chunk = keys[start : start + GRADE_CHUNK]
            responses = [store.records[k]["text"] for k in chunk]
            chunk_golds = [golds[(k.benchmark, k.problem_id)] for k in chunk]
            grades += grade_batch(
                responses, chunk_golds, require_think=require_think, workers=workers, timeout_s=timeout_s
            )
            bar.update(len(chunk))
    rows = [
        {**_key_fields(k), "correct": bool(g.correct), "status": str(g.status), "pred": g.pred}
        for k, g in zip(keys, grades, strict=True)
    ]
    write_jsonl_atomic(run_dir / GRADES_FILE, rows)
    return _group(problems, store, rows, normalize_answer)


def _key_fields(key: SampleKey) -> dict[str, Any]:
    return {"benchmark": key.benchmark, "problem_id": key.problem_id, "index": key.index}


def _group(
    problems: list[dict[str, Any]],
    store: GenerationStore,
    rows: list[dict[str, Any]],
    normalize: Callable[[str], str],
) -> dict[str, list[ProblemResult]]:
    samples: dict[tuple[str, str], list[ScoredSample]] = defaultdict(list)
    for row in rows:  # rows are in (problem, index) order, so each list comes out index-ordered
        record = store.records[SampleKey(row["benchmark"], row["problem_id"], row["index"])]
        samples[(row["benchmark"], row["problem_id"])].append(
            ScoredSample(
                correct=row["correct"],
                status=row["status"],
                # Majority votes count presentation variants (\\dfrac vs \\frac) as one answer.
                pred=None if row["pred"] is None else normalize(row["pred"]),
                finish_reason=record["finish_reason"],
                response_tokens=record["response_tokens"],
            )
        )
    results: dict[str, list[ProblemResult]] = defaultdict(list)
    for p in problems:
        key = (p["benchmark"], p["id"])
        results[p["benchmark"]].append(ProblemResult(p["id"], tuple(samples[key]), p.get("categories", {})))
    return dict(results)
