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

from deepmath_ext.verify.math_verify_pin import pinned_math_verify
from deepmath_ext.verify.olympiad_judge import olympiad_equal
from deepmath_ext.verify.reference_equal import math_equal
from deepmath_ext.verify.status import GradeStatus

# Deadlines are enforced from outside the worker; math-verify's signal-based ones stay off.
logging.getLogger("math_verify").setLevel(logging.ERROR)

# The evaluator's MetaMath-style answer line, `The answer is: (.+)$` searched without MULTILINE: only the
# final line counts (a single trailing newline allowed), from its first occurrence of this prefix.
ANSWER_PREFIX = "The answer is: "
BOX_OPEN = "\\boxed{"


def reward_gold(gold: str) -> str:
    """How the reference rewards hand the gold to math-verify: `\\boxed{$gold$}`."""
    return f"\\boxed{{${gold}$}}"


def evaluator_gold(gold: str) -> str:
    """How the reference evaluator hands the gold to math-verify: `\\boxed{$gold}$` (its own spelling)."""
    return f"\\boxed{{${gold}}}$"


def last_box(text: str) -> str | None:
    """The content of the text's last `\\boxed`, as the reference reads it (linear time).

    Only the last occurrence of `\\boxed` counts, even inside another box; when no `{` follows it
    directly, or its braces never balance, there is no answer (`\\fbox` is not read).
    """
    start = text.rfind("\\boxed")
    if start < 0 or not text.startswith(BOX_OPEN, start):
        return None
    depth = 0
    for index in range(start + len(BOX_OPEN) - 1, len(text)):
        char = text[index]
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return text[start + len(BOX_OPEN) : index]
    return None


def answer_line(text: str) -> str | None:
    """What follows the first "The answer is: " of the final line, as written, or None."""
    final_line = text.removesuffix("\n").rsplit("\n", 1)[-1]
    start = final_line.find(ANSWER_PREFIX)
    if start < 0:
        return None
    return final_line[start + len(ANSWER_PREFIX) :] or None


@dataclass(frozen=True)
class ReferenceCheck:
    """One response as a reference grader sees it (picklable: it travels to a verifier worker)."""

    gold: str
    math_verify_gold: str  # the gold as the grader hands it to math-verify (reward_gold, evaluator_gold)
    text: str  # what math-verify reads as a whole
    answers: tuple[tuple[str, str], ...] = ()  # (where it came from, answer) pairs for math_equal
    judge_text: str | None = None  # what the olympiad judge reads, when it runs

    def digest(self) -> str:
        """A short key for memoising the check (the texts themselves are too long to keep by the 100,000)."""
        fields = (self.gold, self.math_verify_gold, self.text, repr(self.answers), repr(self.judge_text))
        return hashlib.blake2b("\0".join(fields).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def math_verify_equal(text: str, gold: str) -> bool:
    """math-verify's default extraction from the whole text against the gold as the grader spells it,
    with the reference's math-verify 0.7.0 behaviour (math_verify_pin)."""
    from math_verify import parse, verify

    with pinned_math_verify():
        gold_parsed = parse(gold, parsing_timeout=None)
        pred_parsed = parse(text, parsing_timeout=None)
        return bool(gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None))


def reference_status(check: ReferenceCheck) -> tuple[GradeStatus, str | None]:
    """Correct when any of the reference's checks passes; the detail says which one."""
    for source, answer in check.answers:
        status = math_equal(answer, check.gold)
        if status.is_correct:
            return status, f"math_equal on the {source}"
    if math_verify_equal(check.text, check.math_verify_gold):
        return GradeStatus.CORRECT_SYMBOLIC, "math-verify on the text"
    if check.judge_text is not None and olympiad_equal(check.judge_text, check.gold):
        return GradeStatus.CORRECT_SYMBOLIC, "olympiad judge"
    if not check.answers:
        return GradeStatus.NO_ANSWER, "no boxed answer"
    return GradeStatus.WRONG, None
