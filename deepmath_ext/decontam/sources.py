"""The two sides of a decontamination run: benchmark problems (names or files) and training questions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from deepmath_ext.data import BENCHMARKS, BenchmarkProblem, iter_deepmath, load_benchmark


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
    against: Iterable[str], data_dir: str | Path | None = None, allow_mismatch: bool = False
) -> list[BenchmarkProblem]:
    """Benchmark problems to check against: registry names (hub, or `data_dir`) and local file paths."""
    references: list[BenchmarkProblem] = []
    seen: set[str] = set()
    for item in against:
        if item in BENCHMARKS:
            problems = load_benchmark(item, data_dir=data_dir, allow_mismatch=allow_mismatch)
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


def reference_labels(references: Sequence[BenchmarkProblem]) -> list[str]:
    """The benchmark names in the order they first appear in `references`."""
    return list(dict.fromkeys(p.benchmark for p in references))
