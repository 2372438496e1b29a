"""The evaluation benchmarks as data (`benchmarks.json`), loaded from the hub or a local copy.

The registry is the one home of each benchmark's facts: source, fields, pins, display name and its
column in the DeepMath paper's table (`paper_column`; None for benchmarks the paper does not report).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from deepmath_ext.data.rowfiles import iter_row_file
from deepmath_ext.verify.extract import extract

logger = logging.getLogger(__name__)

_REGISTRY_FILE = "benchmarks.json"
# Unescaped `$` math delimiters in OlympiadBench answers ("$69$,$84$"); `\$` (a dollar sign) stays.
_MATH_DELIMITER = re.compile(r"(?<!\\)\$")


class BenchmarkMismatchError(ValueError):
    """A benchmark's row count or content hash differs from the registry."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """Where a benchmark lives and how its rows map to (id, problem, answer, categories)."""

    name: str
    display: str
    hf_id: str
    hf_split: str
    local_file: str
    problem_fields: tuple[str, ...]
    answer_fields: tuple[str, ...]
    answer_kind: str
    id_field: str | None
    category_fields: tuple[str, ...]
    expected_rows: int
    content_hash: str | None = None
    hf_config: str | None = None
    hf_revision: str = "main"
    paper_column: int | None = None


@dataclass(frozen=True)
class BenchmarkProblem:
    """One benchmark problem with its gold answer as the string the verifier grades against."""

    benchmark: str
    id: str
    problem: str
    answer: str
    categories: dict[str, str] = field(default_factory=dict)


def _text_answer(value: Any) -> str:
    return str(value).strip()


def _number_answer(value: Any) -> str:
    # The Qwen2.5-Math harness stores AMC answers as floats (27.0): keep integers integral.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _answer_list(value: Any) -> str:
    parts = value if isinstance(value, list) else [value]
    return ", ".join(_MATH_DELIMITER.sub("", str(part)).strip() for part in parts)


def _last_boxed_answer(value: Any) -> str:
    # The verifier's own extraction, so the gold is the box a correct response would have to match.
    found = extract(str(value), require_think=False)
    if not found.answers:
        raise ValueError(f"solution has no usable \\boxed{{...}} answer ({found.detail})")
    return found.answers[-1].strip()


# answer_kind in benchmarks.json -> how the gold string is made from the answer field's value.
ANSWER_EXTRACTORS: dict[str, Callable[[Any], str]] = {
    "text": _text_answer,
    "number": _number_answer,
    "answer_list": _answer_list,
    "last_boxed": _last_boxed_answer,
}


@cache
def _load_registry() -> dict[str, BenchmarkSpec]:
    entries = json.loads(resources.files(__package__).joinpath(_REGISTRY_FILE).read_text(encoding="utf-8"))
    specs = {}
    for name, entry in entries.items():
        tuples = {k: tuple(v) for k, v in entry.items() if isinstance(v, list)}
        specs[name] = BenchmarkSpec(name=name, **{**entry, **tuples})
        if specs[name].answer_kind not in ANSWER_EXTRACTORS:
            raise ValueError(f"{_REGISTRY_FILE}: {name} has unknown answer_kind {entry['answer_kind']!r}")
    return specs


BENCHMARKS: dict[str, BenchmarkSpec] = _load_registry()
# The DeepMath paper's benchmarks in its table's column order: the default evaluation set.
PAPER_BENCHMARKS: tuple[str, ...] = tuple(
    sorted(
        (n for n, s in BENCHMARKS.items() if s.paper_column is not None),
        key=lambda n: BENCHMARKS[n].paper_column,
    )
)


def display_name(name: str) -> str:
    """A benchmark's name in tables and plots (the name itself for benchmarks not in the registry)."""
    spec = BENCHMARKS.get(name)
    return spec.display if spec else name


def ordered_benchmarks(names: Iterable[str]) -> list[str]:
    """Paper benchmarks first, in the paper's column order, then any other name alphabetically."""
    names = set(names)
    return [b for b in PAPER_BENCHMARKS if b in names] + sorted(names - set(PAPER_BENCHMARKS))


def get_benchmark(name: str) -> BenchmarkSpec:
    """The spec of benchmark `name`; an unknown name raises ValueError listing the known ones."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; known benchmarks: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def _first_present(row: dict[str, Any], fields: tuple[str, ...], what: str, row_id: str) -> Any:
    for name in fields:
        if row.get(name) is not None:
            return row[name]
    raise ValueError(f"row {row_id}: no {what} field (looked for {', '.join(fields)})")


def problems_from_rows(spec: BenchmarkSpec, rows: Iterable[dict[str, Any]]) -> Iterator[BenchmarkProblem]:
    """Map raw rows of any copy (hub or local, any field spelling) to BenchmarkProblems."""
    to_answer = ANSWER_EXTRACTORS[spec.answer_kind]
    for index, row in enumerate(rows):
        raw_id = row.get(spec.id_field) if spec.id_field else None
        row_id = str(index if raw_id is None else raw_id)
        problem = _first_present(row, spec.problem_fields, "problem", f"{spec.name}:{row_id}")
        try:
            answer = to_answer(_first_present(row, spec.answer_fields, "answer", f"{spec.name}:{row_id}"))
        except ValueError as err:
            raise ValueError(f"{spec.name} row {row_id}: {err}") from err
        categories = {k: str(row[k]) for k in spec.category_fields if row.get(k) is not None}
        yield BenchmarkProblem(spec.name, row_id, str(problem).strip(), answer, categories)


def content_hash(problems: Iterable[BenchmarkProblem]) -> str:
    """sha256 over the sorted per-row hashes of (problem, answer): independent of ids, order and format."""
    row_hashes = sorted(hashlib.sha256(f"{p.problem}\x1f{p.answer}".encode()).hexdigest() for p in problems)
    return hashlib.sha256("\n".join(row_hashes).encode()).hexdigest()


def _raw_rows(spec: BenchmarkSpec, data_dir: str | Path | None) -> Iterable[dict[str, Any]]:
    if data_dir is None:
        import datasets

        return datasets.load_dataset(
            spec.hf_id, spec.hf_config, split=spec.hf_split, revision=spec.hf_revision
        )
    path = Path(data_dir)
    return iter_row_file(path if path.is_file() else path / spec.local_file)


def _check_against_spec(spec: BenchmarkSpec, problems: list[BenchmarkProblem], allow_mismatch: bool) -> None:
    problems_found = []
    if len(problems) != spec.expected_rows:
        problems_found.append(f"{len(problems)} rows, expected {spec.expected_rows}")
    digest = content_hash(problems)
    if spec.content_hash and digest != spec.content_hash:
        problems_found.append(f"content hash {digest[:12]}…, expected {spec.content_hash[:12]}…")
    if not problems_found:
        return
    message = f"benchmark {spec.name} does not match the registry: {'; '.join(problems_found)}"
    if not allow_mismatch:
        raise BenchmarkMismatchError(message + " (pass allow_mismatch=True to load it anyway)")
    logger.warning("%s; loading it anyway (allow_mismatch=True)", message)


def load_benchmark(
    name: str, data_dir: str | Path | None = None, allow_mismatch: bool = False
) -> list[BenchmarkProblem]:
    """Load benchmark `name` from the hub, or from `data_dir/<local_file>` (or a file) when given."""
    spec = get_benchmark(name)
    problems = list(problems_from_rows(spec, _raw_rows(spec, data_dir)))
    _check_against_spec(spec, problems, allow_mismatch)
    return problems
