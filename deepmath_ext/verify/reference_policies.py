"""The reference research code's grading policies (`reference`, `reference-single-box`, `reference-eval`).

Their in-process part; what they check in a worker is `reference.reference_status`. Imported at a reference
policy's first use (`policies.POLICIES` registers them lazily), so a grader using `strict` never loads the
reference's extraction and `math_equal` modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepmath_ext.verify.executor import WorkerCheck
from deepmath_ext.verify.extract import graded_part
from deepmath_ext.verify.pipeline import normalized_gold
from deepmath_ext.verify.reference import (
    ReferenceCheck,
    answer_line,
    evaluator_gold,
    last_box,
    reference_status,
    reward_gold,
)
from deepmath_ext.verify.reference_equal import cheap_equal
from deepmath_ext.verify.status import Grade, GradeStatus


@dataclass(frozen=True)
class PolicyCheck(WorkerCheck):
    """A response that only a verifier worker can grade under a reference policy."""

    pred: str | None  # the extracted answer as written, if any
    check: ReferenceCheck
    label: ClassVar[str] = "reference"

    def memo_key(self) -> tuple:
        return (self.check.digest(),)

    def run(self) -> tuple[GradeStatus, str | None]:
        return reference_status(self.check)


def _settle(pred: str | None, check: ReferenceCheck) -> Grade | PolicyCheck:
    """A grade when an extracted answer is equal without sympy, else the worker check."""
    for source, answer in check.answers:
        status = cheap_equal(answer, check.gold)
        if status is not None and status.is_correct:
            return Grade.of(status, pred, f"math_equal on the {source}")
    return PolicyCheck(pred, check)


def _boxed_answers(text: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    box = last_box(text)
    return box, ((("last box", box),) if box is not None else ())


def _checked(response: object, gold: str) -> str:
    if not isinstance(response, str):
        raise TypeError(f"response must be a string, got {type(response).__name__}")
    normalized_gold(gold)  # the same data errors as the strict policy: no gold, or an empty one
    return gold.strip()


def reference(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Grade | WorkerCheck:
    """DeepMath's training reward: </think> required; after the last one, math_equal on the last box
    or math-verify on the text."""
    gold = _checked(response, gold)
    text = graded_part(response, require_think=True)
    if text is None:
        return Grade.of(GradeStatus.FORMAT_ERROR, None, "no </think>")
    box, answers = _boxed_answers(text)
    return _settle(box, ReferenceCheck(gold, reward_gold(gold), text, answers))


def reference_single_box(
    response: str, gold: str, require_think: bool, olympiad_judge: bool
) -> Grade | WorkerCheck:
    """The Zero-Math-7B reward: exactly one \\boxed; math_equal on it or math-verify on the response."""
    gold = _checked(response, gold)
    boxes = response.count("\\boxed")
    if boxes != 1:
        return Grade.of(
            GradeStatus.FORMAT_ERROR, last_box(response), f"{boxes} \\boxed in the response, not 1"
        )
    box, answers = _boxed_answers(response)
    return _settle(box, ReferenceCheck(gold, reward_gold(gold), response, answers))


def reference_eval(
    response: str, gold: str, require_think: bool, olympiad_judge: bool
) -> Grade | WorkerCheck:
    """The reference evaluator: math_equal on the last box or on a final "The answer is:" line, or
    math-verify on the whole response; with `olympiad_judge` (OlympiadBench) also the olympiad judge on the
    text after the first </think>."""
    gold = _checked(response, gold)
    box, answers = _boxed_answers(response)
    line = answer_line(response)
    if line is not None:
        answers += (("answer line", line),)
    judge_text = None
    if olympiad_judge:
        # the evaluator's own cut: between the FIRST </think> and the next one, stripped
        judge_text = response.split("</think>")[1].strip() if "</think>" in response else response
    check = ReferenceCheck(gold, evaluator_gold(gold), response, answers, judge_text)
    return _settle(box if box is not None else line, check)
