"""Find the graded part of a response and the boxed answers in it, in linear time."""

from __future__ import annotations

from dataclasses import dataclass

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.status import GradeStatus

THINK_CLOSE = "</think>"
# More boxes than this in the graded part is an answer dump, not a final answer.
MAX_BOXES = 50
# A box whose closing brace is further than this is malformed (and scanning it could be quadratic).
MAX_BOX_CHARS = 4000

_BOX_OPEN = linear.compile(r"\\(?:boxed|fbox)\s*\{")
# What the strict policy reads as a box: also `\\framebox{...}`, and `\\boxed 5`, one token as TeX boxes it
# (group 1, a longer macro name, must be empty; group 2 is `{` or the boxed token).
_STRICT_BOX_OPEN = linear.compile(r"\\(?:boxed|fbox|framebox)([a-zA-Z]*)\s*(\{|[0-9a-zA-Z])?")


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
    """Index of the brace closing the group opened just before `start`, or -1 (a scan, no regex)."""
    depth, index, limit = 1, start, min(len(text), start + MAX_BOX_CHARS)
    while index < limit:
        char = text[index]
        if char == "\\":
            index += 2  # `\{`, `\}` and `\\` are literal characters, not TeX groups
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _box_starts(text: str, strict: bool) -> list[tuple[int, bool]]:
    """(content start, braced) of each box opening; unbraced (`\\boxed 5`) only in the strict reading."""
    if not strict:
        return [(match.end(), True) for match in _BOX_OPEN.finditer(text)]
    return [
        (match.end() if match[2] == "{" else match.start(2), match[2] == "{")
        for match in _STRICT_BOX_OPEN.finditer(text)
        if not match[1] and match[2] is not None
    ]


def boxed_spans(text: str, strict: bool = False) -> list[tuple[int, int]] | None:
    """(start, end) of each top-level box's content, end -1 when unclosed; None when too many.

    `strict` also reads `\\framebox{...}` and the one-token `\\boxed 5` (the strict policy's reading)."""
    starts = _box_starts(text, strict)
    if len(starts) > MAX_BOXES:
        return None
    spans: list[tuple[int, int]] = []
    covered_until = -1
    for start, braced in starts:
        if start <= covered_until:
            continue  # nested inside the previous box
        end = _closing_brace(text, start) if braced else start + 1
        spans.append((start, end))
        covered_until = end
    return spans


def extract(response: str, require_think: bool = True) -> Extraction:
    """The boxed answers of a response, or why there are none."""
    text = graded_part(response, require_think)
    if text is None:
        return Extraction(status=GradeStatus.FORMAT_ERROR, detail="no </think>")
    spans = boxed_spans(text, strict=True)
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
