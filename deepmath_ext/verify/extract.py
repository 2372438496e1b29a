"""Find the graded part of a response and the boxed answers in it, in linear time."""

from __future__ import annotations

import re
from dataclasses import dataclass

from deepmath_ext.verify.status import GradeStatus

THINK_CLOSE = "</think>"
# More boxes than this in the graded part is an answer dump, not a final answer.
MAX_BOXES = 50
# A box whose closing brace is further than this is malformed (and scanning it could be quadratic).
MAX_BOX_CHARS = 4000

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
# What the strict policy reads as a box: also `\framebox{...}`, and `\boxed 5`, one token as TeX boxes it.
STRICT_BOX_OPEN = re.compile(r"\\(?:boxed|fbox|framebox)(?![a-zA-Z])\s*(?:\{|(?=[0-9a-zA-Z]))")
# Escaped braces and backslashes are literal characters, not TeX groups.
_BRACE_TOKEN = re.compile(r"\\[\\{}]|[{}]")


@dataclass(frozen=True)
class Extraction:
    """The boxed answers found (raw text, in order) or the status that ends grading early."""

    answers: tuple[str, ...] = ()
    status: GradeStatus | None = None
    detail: str | None = None


def graded_part(response: str, require_think: bool) -> str | None:
    """The text after the last `</think>`; the whole text if thinking is not required and absent."""
    cut = response.rfind(THINK_CLOSE)
    if cut >= 0:
        return response[cut + len(THINK_CLOSE) :]
    return None if require_think else response


def _closing_brace(text: str, start: int) -> int:
    """Index of the brace closing the group opened just before `start`, or -1."""
    depth = 1
    for match in _BRACE_TOKEN.finditer(text, start, min(len(text), start + MAX_BOX_CHARS)):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                return match.start()
    return -1


def boxed_spans(text: str, opener: re.Pattern[str] = _BOX_OPEN) -> list[tuple[int, int]] | None:
    """(start, end) of each top-level box's content, end -1 when unclosed; None when too many."""
    opens = list(opener.finditer(text))
    if len(opens) > MAX_BOXES:
        return None
    spans: list[tuple[int, int]] = []
    covered_until = -1
    for match in opens:
        start = match.end()
        if start <= covered_until:
            continue  # nested inside the previous box
        braced = match.group().endswith("{")
        end = _closing_brace(text, start) if braced else start + 1
        spans.append((start, end))
        covered_until = end
    return spans


def extract(response: str, require_think: bool = True) -> Extraction:
    """The boxed answers of a response, or why there are none."""
    text = graded_part(response, require_think)
    if text is None:
        return Extraction(status=GradeStatus.FORMAT_ERROR, detail="no </think>")
    spans = boxed_spans(text, STRICT_BOX_OPEN)
    if spans is None:
        return Extraction(status=GradeStatus.HEDGED, detail=f"more than {MAX_BOXES} boxed answers")
    if not spans:
        return Extraction(status=GradeStatus.NO_ANSWER, detail="no boxed answer")
    if spans[-1][1] < 0:
        return Extraction(
            status=GradeStatus.NO_ANSWER, detail=f"last box not closed within {MAX_BOX_CHARS} characters"
        )
    answers = tuple(text[start:end] for start, end in spans if end >= 0)
    return Extraction(answers=answers)
