"""The kind of a gold answer, read with the verifier's own normaliser and parser (`deepmath prepare
--answer-types`, `deepmath stats`): what a verifiable-math RL run can reward, and what it cannot.

About 18% of DeepMath-103K golds are yes/no, words or forms the verifier cannot parse (the reference
repository's issue #1). A run rewards them by string match at best, and a yes/no gold teaches guessing.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import threading
from collections.abc import Iterable, Iterator
from multiprocessing import get_context
from typing import Any

from deepmath_ext.verify.exact import parse_rational, strip_assignment
from deepmath_ext.verify.guards import guard_reason
from deepmath_ext.verify.normalize import normalize_answer

# The kinds, in the order reports list them; the last three are not verifiable as math.
ANSWER_TYPES = ("numeric", "expression", "set", "interval", "choice", "boolean", "text", "other")
NON_VERIFIABLE = ("boolean", "text", "other")
DEFAULT_ANSWER_TYPES = tuple(kind for kind in ANSWER_TYPES if kind not in NON_VERIFIABLE)
DESCRIPTIONS = {
    "numeric": "a number: integer, fraction, decimal, or a constant such as \\sqrt{2} or \\pi",
    "expression": "a formula with variables, or an equation",
    "set": "a set, list or tuple of values",
    "interval": "an interval or a union of intervals",
    "choice": "a multiple-choice letter A-E",
    "boolean": "yes / no / true / false",
    "text": "words (e.g. `converges`, `proof`)",
    "other": "nothing the verifier can parse (or too large to parse safely)",
}

# Rows classified per batch; a batch this small or smaller stays in this process (no pool start-up).
BATCH_ROWS = 2048
IN_PROCESS_ROWS = 256

_BOOLEAN = frozenset({"yes", "no", "true", "false"})
_CHOICE = re.compile(r"[A-E]")
_WORDS = re.compile(r"[a-z][a-z ]*")  # normalize_answer lower-cases word answers


def answer_type(gold: Any) -> str:
    """The kind of one gold answer (one of ANSWER_TYPES)."""
    from deepmath_ext.verify.symbolic import parse_answer  # math-verify and sympy: only when needed

    if not isinstance(gold, str):
        return "other"
    text = strip_assignment(normalize_answer(gold))
    if not text:
        return "other"
    if text in _BOOLEAN:
        return "boolean"
    if _CHOICE.fullmatch(text):
        return "choice"
    if parse_rational(text) is not None:
        return "numeric"
    if _WORDS.fullmatch(text):
        return "text"
    if guard_reason(text) is not None:
        return "other"
    parsed = [value for value in parse_answer(text)[1] if not isinstance(value, str)]
    return _sympy_kind(parsed[0]) if parsed else "other"


def _sympy_kind(value: Any) -> str:
    import sympy

    if isinstance(value, (sympy.Interval, sympy.Union)):
        return "interval"
    if isinstance(value, (sympy.FiniteSet, sympy.Tuple, sympy.Set)):
        return "set"
    if isinstance(value, sympy.Expr) and not value.free_symbols:
        return "numeric"
    return "expression"


def parse_answer_types(names: Iterable[str]) -> tuple[str, ...]:
    """Validated kinds from `--answer-types` (`all`: every kind); an unknown name raises ValueError."""
    names = tuple(names)
    if names == ("all",):
        return ANSWER_TYPES
    unknown = [name for name in names if name not in ANSWER_TYPES]
    if unknown or not names:
        raise ValueError(
            f"unknown answer type(s) {', '.join(unknown) or '(none)'}; known: {', '.join(ANSWER_TYPES)}"
        )
    return names


def with_answer_types(
    rows: Iterable[dict[str, Any]], gold: str, workers: int | None = None
) -> Iterator[tuple[dict[str, Any], str]]:
    """(row, kind of row[gold]) in order. math-verify's parser takes 0.05-0.4 s for a new formula, so each
    distinct gold is classified once, and batches by `workers` processes (default: the usable cores); a
    short input stays in this process."""
    rows = iter(rows)
    first = list(itertools.islice(rows, IN_PROCESS_ROWS + 1))
    if len(first) <= IN_PROCESS_ROWS:
        yield from ((row, answer_type(row.get(gold))) for row in first)
        return
    known: dict[str, str] = {}
    pool = _start_pool(workers or len(os.sched_getaffinity(0)))
    try:
        for batch in _batches(itertools.chain(first, rows)):
            golds = [row.get(gold) for row in batch]
            new = list(dict.fromkeys(g for g in golds if isinstance(g, str) and g not in known))
            known.update(zip(new, pool.map(answer_type, new, chunksize=32), strict=True))
            yield from (
                (row, known[g] if isinstance(g, str) else "other")
                for row, g in zip(batch, golds, strict=True)
            )
    finally:  # interrupted or done: the workers go with us (Ctrl-C reaches them too; they ignore it)
        pool.terminate()
        pool.join()


def _start_pool(workers: int) -> Any:
    """A spawn pool whose workers ignore Ctrl-C from their first instruction (an ignored signal stays
    ignored across exec), so a Ctrl-C to the process group stops the command alone, which ends them."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        return get_context("spawn").Pool(workers)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, BATCH_ROWS)):
        yield batch
