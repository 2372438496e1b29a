"""Helpers shared by the decontamination tests: the real benchmarks, training samples and paraphrases."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from http_stub import StubServer

from deepmath_ext.data import PAPER_BENCHMARKS, BenchmarkProblem, iter_deepmath, load_benchmark
from deepmath_ext.decontam import normalize_text

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "decontam"


def all_benchmark_problems(benchmarks_dir: Path) -> list[BenchmarkProblem]:
    """Every problem of the six benchmarks, from the local copies in the test data."""
    return [p for name in PAPER_BENCHMARKS for p in load_benchmark(name, data_dir=benchmarks_dir)]


def paraphrases(references: list[BenchmarkProblem]) -> list[tuple[int, str]]:
    """The hand-written paraphrases as (position in `references`, text)."""
    position = {(p.benchmark, p.id): i for i, p in enumerate(references)}
    rows = [json.loads(line) for line in (FIXTURES / "paraphrases.jsonl").read_text().splitlines()]
    return [(position[(row["benchmark"], row["id"])], row["paraphrase"]) for row in rows]


def known_duplicates() -> dict[tuple[str, int], tuple[str, str]]:
    """Rows of the test data's train_samples checked by hand to copy a benchmark problem:
    (training file, row) -> (benchmark, id)."""
    rows = [json.loads(line) for line in (FIXTURES / "known_duplicates.jsonl").read_text().splitlines()]
    return {(row["train_file"], row["row"]): (row["benchmark"], row["benchmark_id"]) for row in rows}


def train_rows(data_root: Path, file: str, limit: int | None = None) -> list[dict[str, Any]]:
    """DeepMath-shaped rows of one train_samples file of the test data."""
    return list(iter_deepmath(data_root / "train_samples" / file, with_solutions=False, limit=limit))


_PROBLEMS = re.compile(r"Problem 1:\n(.*)\n\nProblem 2:\n(.*)\n\nAre Problem 1", re.DOTALL)


def same_after_normalising(first: str, second: str) -> str:
    """A judge that calls two problems the same when their normalised text is equal."""
    return "YES" if normalize_text(first) == normalize_text(second) else "NO"


def judge_stub(decide: Callable[[str, str], str]) -> StubServer:
    """An OpenAI-compatible judge: /v1/chat/completions answers `decide(problem 1, problem 2)`."""

    def reply(method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":  # the client's preflight
            return 200, {"object": "list", "data": [{"id": "judge"}]}
        first, second = _PROBLEMS.search(body["messages"][0]["content"]).groups()
        return 200, {"choices": [{"message": {"role": "assistant", "content": decide(first, second)}}]}

    return StubServer(reply)
