"""What the reference (DeepMath research code) graders read in a response, and their full check.

The reference rewards and evaluator call a response correct when ANY of their checks passes:
`math_equal` on an extracted answer (the last box; for the evaluator also a "The answer is:" line),
math-verify on the whole graded text, and for OlympiadBench the olympiad judge. `reference_status`
runs them in that order (the symbolic ones, so it runs in a verifier worker under its deadline).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from deepmath_ext.verify import linear
from deepmath_ext.verify.extract import boxed_spans
from deepmath_ext.verify.olympiad_judge import olympiad_equal
from deepmath_ext.verify.reference_equal import math_equal
from deepmath_ext.verify.status import GradeStatus

# Deadlines are enforced from outside the worker; math-verify's signal-based ones stay off.
logging.getLogger("math_verify").setLevel(logging.ERROR)

# MetaMath-style final line: everything after the last "The answer is:" up to the end of its line.
_ANSWER_LINE = linear.compile(r"The answer is:\s*([^\n]+)")


def last_box(text: str) -> str | None:
    """The content of the last closed `\\boxed{}`/`\\fbox{}` of the text, or None."""
    closed = [(start, end) for start, end in boxed_spans(text) or [] if end >= 0]
    if not closed:
        return None
    start, end = closed[-1]
    return text[start:end].strip() or None


def answer_line(text: str) -> str | None:
    """The answer of the last "The answer is: X" line (math delimiters and a final period removed)."""
    matches = _ANSWER_LINE.findall(text)
    if not matches:
        return None
    answer = matches[-1].strip().rstrip(".").strip().strip("$").strip()
    return answer or None


@dataclass(frozen=True)
class ReferenceCheck:
    """One response as a reference grader sees it (picklable: it travels to a verifier worker)."""

    gold: str
    text: str  # what math-verify reads as a whole
    answers: tuple[tuple[str, str], ...] = ()  # (where it came from, answer) pairs for math_equal
    judge_text: str | None = None  # what the olympiad judge reads, when it runs

    def digest(self) -> str:
        """A short key for memoising the check (the texts themselves are too long to keep by the 100,000)."""
        fields = (self.gold, self.text, repr(self.answers), repr(self.judge_text))
        return hashlib.blake2b("\0".join(fields).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def math_verify_equal(text: str, gold: str) -> bool:
    """math-verify's default extraction from the whole text, against the gold in a box."""
    from math_verify import parse, verify

    gold_parsed = parse("\\boxed{" + gold + "}", parsing_timeout=None)
    pred_parsed = parse(text, parsing_timeout=None)
    return bool(gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None))


def reference_status(check: ReferenceCheck) -> tuple[GradeStatus, str | None]:
    """Correct when any of the reference's checks passes; the detail says which one."""
    for source, answer in check.answers:
        status = math_equal(answer, check.gold)
        if status.is_correct:
            return status, f"math_equal on the {source}"
    if math_verify_equal(check.text, check.gold):
        return GradeStatus.CORRECT_SYMBOLIC, "math-verify on the text"
    if check.judge_text is not None and olympiad_equal(check.judge_text, check.gold):
        return GradeStatus.CORRECT_SYMBOLIC, "olympiad judge"
    if not check.answers:
        return GradeStatus.NO_ANSWER, "no boxed answer"
    return GradeStatus.WRONG, None
