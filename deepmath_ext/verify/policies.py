"""The registry of grading policies: `strict` (ours, the default) and the reference research code's rules.

A policy's `decide` is its in-process part: it finds what the policy grades and settles the cheap cases
(a format failure, an answer equal as a string or a number). Everything else becomes a `WorkerCheck` that a
verifier worker runs under the pool's deadline, memoisation and status accounting (see docs/verifier.md).
Third-party policies are `Policy` objects registered in the `deepmath.rewards` entry-point group, or named
by `pkg://module:attribute`; the pool needs no change for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from deepmath_ext import extensions
from deepmath_ext.verify.executor import WorkerCheck
from deepmath_ext.verify.extract import graded_part
from deepmath_ext.verify.pipeline import decide_response, normalized_gold
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

DEFAULT_POLICY = "strict"


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


Decision = Grade | WorkerCheck


@dataclass(frozen=True)
class Policy:
    """A named grading rule; `decide(response, gold, require_think, olympiad_judge)` is its in-process part,
    returning a `Grade` or a `WorkerCheck`."""

    name: str
    decide: Callable[[str, str, bool, bool], Decision]


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


def _strict(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Decision:
    """deepmath's verifier: the last box after the last </think>, exact first, no tolerance."""
    return decide_response(response, gold, require_think)


def _reference(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Decision:
    """DeepMath's training reward: </think> required; after the last one, math_equal on the last box
    or math-verify on the text."""
    gold = _checked(response, gold)
    text = graded_part(response, require_think=True)
    if text is None:
        return Grade.of(GradeStatus.FORMAT_ERROR, None, "no </think>")
    box, answers = _boxed_answers(text)
    return _settle(box, ReferenceCheck(gold, reward_gold(gold), text, answers))


def _reference_single_box(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Decision:
    """The Zero-Math-7B reward: exactly one \\boxed; math_equal on it or math-verify on the response."""
    gold = _checked(response, gold)
    boxes = response.count("\\boxed")
    if boxes != 1:
        return Grade.of(
            GradeStatus.FORMAT_ERROR, last_box(response), f"{boxes} \\boxed in the response, not 1"
        )
    box, answers = _boxed_answers(response)
    return _settle(box, ReferenceCheck(gold, reward_gold(gold), response, answers))


def _reference_eval(response: str, gold: str, require_think: bool, olympiad_judge: bool) -> Decision:
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


POLICIES: dict[str, Policy] = {
    policy.name: policy
    for policy in (
        Policy("strict", _strict),
        Policy("reference", _reference),
        Policy("reference-single-box", _reference_single_box),
        Policy("reference-eval", _reference_eval),
    )
}
POLICY_NAMES = tuple(POLICIES)


def _is_policy(name: str) -> bool:
    try:
        return isinstance(extensions.load_object(name), Policy)
    except extensions.ExtensionError:  # a broken plug-in: naming it in a recipe or option reports why
        return False


def installed_policy_names() -> tuple[str, ...]:
    """The entry points of the `deepmath.rewards` group that are grading policies (terms share the group)."""
    return tuple(name for name in extensions.entry_point_names() if name not in POLICIES and _is_policy(name))


def policy_names() -> tuple[str, ...]:
    """Every policy a name selects: the built-ins, then the installed entry-point policies."""
    return (*POLICY_NAMES, *installed_policy_names())


def get_policy(name: str) -> Policy:
    """A built-in policy, a `Policy` entry point of `deepmath.rewards`, or `pkg://module:attribute`;
    an unknown name is an error listing the known ones."""
    if isinstance(name, str) and name in POLICIES:
        return POLICIES[name]
    known = isinstance(name, str) and (
        extensions.is_module_path(name) or name in extensions.entry_point_names()
    )
    if not known:
        raise ValueError(
            f"unknown grading policy {name!r}; known policies: {', '.join(policy_names())}, "
            "or pkg://module:attribute"
        )
    policy = extensions.load_object(name)  # a broken plug-in's error names it
    if not isinstance(policy, Policy):
        raise ValueError(f"grading policy {name!r} is a {type(policy).__name__}, not a Policy")
    return policy
