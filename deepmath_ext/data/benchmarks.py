"""The evaluation benchmarks as data (`benchmarks.json`), loaded from the hub or a local copy.

The registry is the one home of each benchmark's facts: display name, column in the DeepMath paper's
table (`paper_column`; None for benchmarks the paper does not report), and two sources, `hub` (what
the reference evaluation reads) and `local` (a file under `--data-dir`), each with its own fields,
row count and content hash. A source whose pins are null is pinned on its first load instead: hub
sources in the user's pin file (`$DEEPMATH_CACHE_DIR/hub_pins.json`, default ~/.cache/deepmath), so
every later load must match it; local copies are only logged.
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

from deepmath_ext.endpoint import is_hub_id, require_hub
from deepmath_ext.files import cache_dir, iter_row_file
from deepmath_ext.verify.extract import extract

logger = logging.getLogger(__name__)

_REGISTRY_FILE = "benchmarks.json"
_CHOICE_LETTER = re.compile(r"\b[A-J]\b")
# Unescaped `$` math delimiters in OlympiadBench answers ("$69$,$84$"); `\$` (a dollar sign) stays.
_MATH_DELIMITER = re.compile(r"(?<!\\)\$")


class BenchmarkMismatchError(ValueError):
    """A benchmark's row count or content hash differs from the registry."""


@dataclass(frozen=True)
class BenchmarkSource:
    """One copy of a benchmark: where it is, which fields hold what, and its pins (None: not yet pinned)."""

    location: str  # hub id, or file name under --data-dir
    problem_fields: tuple[str, ...]
    answer_fields: tuple[str, ...]
    answer_kind: str
    category_fields: tuple[str, ...]
    expected_rows: int | None
    content_hash: str | None
    split: str = "test"
    revision: str = "main"
    config: str | None = None


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark: its names, its two sources, and how a problem becomes a prompt."""

    name: str
    display: str
    hub: BenchmarkSource
    local: BenchmarkSource
    id_field: str | None
    paper_column: int | None = None
    # The reference evaluator (policy reference-eval) also runs its olympiad judge on this benchmark.
    olympiad_judge: bool = False


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


def _choice_letter(value: Any) -> str:
    # A multiple-choice gold: the one capital letter in "B", "(B)" or "\\boxed{B}"; graded as that letter.
    letters = _CHOICE_LETTER.findall(str(value).replace("\\boxed", ""))
    if len(letters) != 1:
        raise ValueError(f"not one choice letter: {str(value)[:80]!r}")
    return letters[0]


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
    "choice": _choice_letter,
}


def _source(name: str, entry: dict[str, Any], location_key: str) -> BenchmarkSource:
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k != location_key}
    source = BenchmarkSource(location=entry[location_key], **fields)
    if source.answer_kind not in ANSWER_EXTRACTORS:
        raise ValueError(f"{_REGISTRY_FILE}: {name} has unknown answer_kind {source.answer_kind!r}")
    return source


@cache
def _load_registry() -> dict[str, BenchmarkSpec]:
    entries = json.loads(resources.files(__package__).joinpath(_REGISTRY_FILE).read_text(encoding="utf-8"))
    return {
        name: BenchmarkSpec(
            name=name,
            **{k: v for k, v in entry.items() if k not in ("hub", "local")},
            hub=_source(name, entry["hub"], "id"),
            local=_source(name, entry["local"], "file"),
        )
        for name, entry in entries.items()
    }


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


def needs_olympiad_judge(name: str | None) -> bool:
    """Whether policy `reference-eval` runs the olympiad judge on this benchmark (False for unknown names)."""
    spec = BENCHMARKS.get((name or "").lower())
    return spec is not None and spec.olympiad_judge


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


def problems_from_rows(
    spec: BenchmarkSpec, source: BenchmarkSource, rows: Iterable[dict[str, Any]]
) -> Iterator[BenchmarkProblem]:
    """Map raw rows of one source (hub or local, with that source's fields) to BenchmarkProblems."""
    to_answer = ANSWER_EXTRACTORS[source.answer_kind]
    first_row: dict[str, int] = {}  # id -> row: results are keyed by id, so a repeated id is no benchmark
    for index, row in enumerate(rows):
        raw_id = row.get(spec.id_field) if spec.id_field else None
        row_id = str(index if raw_id is None else raw_id)
        if first_row.setdefault(row_id, index) != index:
            raise ValueError(
                f"{spec.name}: rows {first_row[row_id] + 1} and {index + 1} have the same id {row_id!r}; "
                "each problem needs its own id"
            )
        problem = _first_present(row, source.problem_fields, "problem", f"{spec.name}:{row_id}")
        try:
            answer = to_answer(_first_present(row, source.answer_fields, "answer", f"{spec.name}:{row_id}"))
        except ValueError as err:
            raise ValueError(f"{spec.name} row {row_id}: {err}") from err
        categories = {k: str(row[k]) for k in source.category_fields if row.get(k) is not None}
        # The problem byte for byte, as the reference evaluation passes it (no strip: two rows of AMC23 and
        # OlympiadBench start or end with whitespace), and no suffix (GPQA's problem holds its choices).
        yield BenchmarkProblem(spec.name, row_id, str(problem), answer, categories)


# A user's benchmark file (`deepmath eval --benchmark-file NAME=path.jsonl`): its fields, one spelling each.
FILE_FIELDS = {"problem": ("problem",), "answer": ("answer",), "categories": ("level", "subject"), "id": "id"}


def file_benchmark(name: str, path: str | Path) -> BenchmarkSpec:
    """The spec of a user's benchmark file: `problem`, `answer`, optional `id`, `level`, `subject`.

    Pinned by the run that uses it (its content hash, like a registered benchmark's), not by the registry.
    """
    if name in BENCHMARKS:
        raise ValueError(f"benchmark file {path}: {name!r} is a registered benchmark's name; choose another")
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"benchmark file {path}: name {name!r} must be letters, digits, '-' or '_'")
    source = BenchmarkSource(
        location=str(Path(path).expanduser().resolve()),
        problem_fields=FILE_FIELDS["problem"],
        answer_fields=FILE_FIELDS["answer"],
        answer_kind="number",  # text as given; a JSON number 27.0 becomes "27"
        category_fields=FILE_FIELDS["categories"],
        expected_rows=None,
        content_hash=None,
    )
    return BenchmarkSpec(name=name, display=name, hub=source, local=source, id_field=FILE_FIELDS["id"])


def load_benchmark_file(spec: BenchmarkSpec) -> list[BenchmarkProblem]:
    """The problems of a user's benchmark file; a row without `problem` or `answer` raises naming it."""
    problems = list(problems_from_rows(spec, spec.local, iter_row_file(spec.local.location)))
    if not problems:
        raise ValueError(f"benchmark file {spec.local.location}: no rows")
    return problems


def content_hash(problems: Iterable[BenchmarkProblem]) -> str:
    """sha256 over the sorted per-row hashes of (problem, answer): independent of ids, order and format."""
    row_hashes = sorted(hashlib.sha256(f"{p.problem}\x1f{p.answer}".encode()).hexdigest() for p in problems)
    return hashlib.sha256("\n".join(row_hashes).encode()).hexdigest()


def _raw_rows(spec: BenchmarkSpec, data_dir: str | Path | None) -> Iterable[dict[str, Any]]:
    if data_dir is None:
        import datasets

        hub = spec.hub
        if is_hub_id(hub.location):  # a registry entry may also name a local folder `datasets` can read
            require_hub(f"benchmark {spec.name} ({hub.location})", "pass --data-dir with local copies")
        return datasets.load_dataset(hub.location, hub.config, split=hub.split, revision=hub.revision)
    path = Path(data_dir)
    return iter_row_file(path if path.is_file() else path / spec.local.location)


def hub_pins_file() -> Path:
    """The user's record of hub sources pinned on their first load."""
    return cache_dir() / "hub_pins.json"


def _first_load_pins(spec: BenchmarkSpec, found: dict[str, Any]) -> dict[str, Any]:
    """The hub pins recorded on an earlier load of this source, or `found`, recorded now (and said so)."""
    from deepmath_ext.files import write_json_atomic

    hub = spec.hub
    key = f"{spec.name} {hub.location}:{hub.split}@{hub.revision}"
    path = hub_pins_file()
    pins = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if key not in pins:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {**pins, key: found})
        logger.warning(
            "benchmark %s: first load of hub source %s; pinned %d rows, content hash %s in %s "
            "(later loads must match; copy them into benchmarks.json to pin them for everyone)",
            spec.name, key, found["expected_rows"], found["content_hash"], path,
        )  # fmt: skip
        return found
    return pins[key]


# The one spelling of the override, on every command that loads benchmarks (prepare, eval, decontaminate).
ALLOW_MISMATCH_FLAG = "--allow-benchmark-mismatch"


def _mismatch(spec: BenchmarkSpec, problems: list[BenchmarkProblem], from_hub: bool) -> str | None:
    """How a loaded copy of a benchmark differs from its pins (row count, content hash), or None."""
    source = spec.hub if from_hub else spec.local
    found = {"expected_rows": len(problems), "content_hash": content_hash(problems)}
    pins = {"expected_rows": source.expected_rows, "content_hash": source.content_hash}
    if None in pins.values():
        if not from_hub:
            logger.warning("benchmark %s: local copies are not pinned in the registry (%s)", spec.name, found)
            return None
        pins = {k: v if v is not None else _first_load_pins(spec, found)[k] for k, v in pins.items()}
    problems_found = []
    if found["expected_rows"] != pins["expected_rows"]:
        problems_found.append(f"{found['expected_rows']} rows, expected {pins['expected_rows']}")
    if found["content_hash"] != pins["content_hash"]:
        problems_found.append(
            f"content hash {found['content_hash'][:12]}…, expected {pins['content_hash'][:12]}…"
        )
    if not problems_found:
        return None
    return f"benchmark {spec.name} does not match the registry: {'; '.join(problems_found)}"


def load_benchmark(
    name: str,
    data_dir: str | Path | None = None,
    allow_mismatch: bool = False,
    mismatches: dict[str, str] | None = None,
) -> list[BenchmarkProblem]:
    """Load benchmark `name` from its hub source, or its local copy `data_dir/<file>` (or a file) when given.

    A copy that differs from its pins raises, unless `allow_mismatch`: then it is loaded, and how it differs
    is logged and put in `mismatches[name]` (for the caller's report).
    """
    spec = get_benchmark(name)
    source = spec.hub if data_dir is None else spec.local
    problems = list(problems_from_rows(spec, source, _raw_rows(spec, data_dir)))
    if message := _mismatch(spec, problems, from_hub=data_dir is None):
        if not allow_mismatch:
            raise BenchmarkMismatchError(f"{message} (pass {ALLOW_MISMATCH_FLAG} to load it anyway)")
        logger.warning("%s; loading it anyway (%s)", message, ALLOW_MISMATCH_FLAG)
        if mismatches is not None:
            mismatches[name] = message
    return problems
