"""The in-process part of grading: extraction, normalisation, exact decisions and guards."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import ClassVar

from deepmath_ext.verify.exact import (
    collection,
    decide_claims,
    decide_exact,
    is_decimal_comma_of,
    parse_rational,
    split_claims,
)
from deepmath_ext.verify.executor import WorkerCheck
from deepmath_ext.verify.extract import extract
from deepmath_ext.verify.guards import MAX_ANSWER_CHARS, guard_reason, small_tower_value
from deepmath_ext.verify.interval import refutes
from deepmath_ext.verify.normalize import normalize_answer
from deepmath_ext.verify.notation import rewrite_notation
from deepmath_ext.verify.prose import canonical_words, hedging_words, strip_answer_is
from deepmath_ext.verify.status import Grade, GradeStatus
from deepmath_ext.verify.units import Unit, conversion, drop_inner_units, split_unit

# A box this long is not even normalised (it could only be graded as identical to the gold): the caller's
# thread stays fast on a response of 50 boxes of 4,000 characters.
MAX_NORMALIZED_CHARS = 2 * MAX_ANSWER_CHARS
# At most this many earlier boxes are compared with the last one symbolically; more is a dump, not notation.
MAX_SYMBOLIC_BOXES = 4
# Golds normalised once per problem: a group of rollouts, or an evaluation's samples, share one gold.
GOLD_CACHE_SIZE = 65_536
# The same boxes against the same gold are decided once: a group of rollouts or an evaluation's samples
# repeat answers (600 long Qwen2.5-Math responses hold 107 distinct pairs). Only short boxes are kept, so
# the cache stays under about 60 MB whatever the answers.
DECISION_CACHE_SIZE = 65_536
MAX_CACHED_CHARS = 512


@dataclass(frozen=True)
class PendingCheck(WorkerCheck):
    """An answer that only the symbolic check can decide (the `strict` policy's worker check)."""

    pred: str  # the extracted answer as written
    pred_norm: str
    gold_norm: str
    # Earlier boxes that must equal the last one symbolically (else the response hedges).
    others: tuple[str, ...] = ()
    # The last box's grade when the exact path already decided it (only the boxes are left to check).
    decided: GradeStatus | None = None
    # (side, value) of equations written in the boxes (`3\cdot 4 = 12`): each must hold, else wrong.
    claims: tuple[tuple[str, str], ...] = ()
    label: ClassVar[str] = "symbolic"

    def memo_key(self) -> tuple:
        # With `decided`, the exact path graded the last box: only the earlier boxes are left to check.
        return (
            self.pred_norm,
            None if self.decided is not None else self.gold_norm,
            self.others,
            self.claims,
        )

    def run(self) -> tuple[GradeStatus, str | None]:
        from deepmath_ext.verify.symbolic import check_status  # sympy: imported in the worker only

        return check_status(*self.memo_key())

    def finish(self, grade: Grade) -> Grade:
        if self.decided is not None and grade.correct:
            return Grade.of(self.decided, self.pred)  # the boxes agree
        return replace(grade, pred=self.pred)


def _answer_form(raw: str) -> tuple[str, Unit | None]:
    """(normalised answer, its unit or None): a leading "the answer is" and a trailing unit removed."""
    value, unit = split_unit(rewrite_notation(strip_answer_is(raw)))
    if "=" in value:
        value = drop_inner_units(value)
    normalized = canonical_words(normalize_answer(value))
    return small_tower_value(normalized) or normalized, unit


def gold_form(gold: str) -> tuple[str, Unit | None]:
    """The normalised gold answer and its unit; a missing or empty gold is a data error."""
    if not isinstance(gold, str):
        raise TypeError(f"gold answer must be a string, got {type(gold).__name__}")
    return _gold_form(gold)


@lru_cache(maxsize=GOLD_CACHE_SIZE)
def _gold_form(gold: str) -> tuple[str, Unit | None]:
    normalized, unit = _answer_form(gold)
    if not normalized:
        raise ValueError(f"gold answer {gold!r} is empty after normalisation")
    return normalized, unit


def normalized_gold(gold: str) -> str:
    """The normalised gold answer; a missing or empty gold is a data error."""
    return gold_form(gold)[0]


def _convert(pred_norm: str, pred_unit: Unit | None, gold_unit: Unit | None) -> str | None:
    """The answer in the gold's unit; None when both name units that no exact scale converts."""
    if not pred_unit or not gold_unit or pred_unit == gold_unit:
        return pred_norm
    factor, value = conversion(pred_unit, gold_unit), parse_rational(pred_norm)
    if factor is None or value is None:
        return None
    converted = value * factor
    return (
        str(converted.numerator)
        if converted.denominator == 1
        else f"{converted.numerator}/{converted.denominator}"
    )


def _final_answer(answers: list[str], gold_norm: str) -> tuple[str | None, tuple[str, ...], str | None]:
    """(answer to grade, earlier boxes only sympy can compare with it, hedging detail) of distinct boxes."""
    last = answers[-1]
    relations = [(answer, _compare_boxes(answer, last)) for answer in answers[:-1]]
    different = [answer for answer, status in relations if status is not None and not status.is_correct]
    undecided = tuple(answer for answer, status in relations if status is None)
    if not different and not undecided:
        return last, (), None
    # Several boxes are one answer only when the gold is a list and the boxes spell it out.
    if len(collection(gold_norm)[1]) == len(answers) > 1:
        return ",".join(answers), (), None
    if different or len(undecided) > MAX_SYMBOLIC_BOXES or any(guard_reason(answer) for answer in undecided):
        return None, (), f"{len(different) + len(undecided) + 1} different boxed answers"
    return last, undecided, None


def _compare_boxes(answer: str, last: str) -> GradeStatus | None:
    """Whether two distinct normalised boxes are the same answer; over-long ones never are."""
    if max(len(answer), len(last)) > MAX_ANSWER_CHARS:
        return GradeStatus.WRONG
    return decide_exact(answer, last)[0]


def decide_answer(pred: str, gold: str) -> Grade | PendingCheck:
    """Grade one extracted answer against the gold, or say that a symbolic check is needed."""
    gold_form(gold)  # checked before the cache: a gold that is not a string gets gold_form's TypeError
    return _decide_boxes((pred.strip(),), gold)


def decide_response(response: str, gold: str, require_think: bool = True) -> Grade | PendingCheck:
    """Grade one response against the gold, or say that a symbolic check is needed."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a string, got {type(response).__name__}")
    gold_form(gold)  # a bad gold is an error whatever the response
    extraction = extract(response, require_think)
    if extraction.status is not None:
        return Grade.of(extraction.status, None, extraction.detail)
    return _decide_boxes(tuple(answer.strip() for answer in extraction.answers), gold)


def _decide_boxes(raw_answers: tuple[str, ...], gold: str) -> Grade | PendingCheck:
    """`_decide` on a response's boxes, from the cache when they are short (the result is immutable)."""
    if sum(map(len, raw_answers)) <= MAX_CACHED_CHARS:
        return _decide_cached(raw_answers, gold)
    return _decide(raw_answers, *gold_form(gold))


@lru_cache(maxsize=DECISION_CACHE_SIZE)
def _decide_cached(raw_answers: tuple[str, ...], gold: str) -> Grade | PendingCheck:
    return _decide(raw_answers, *gold_form(gold))


def _decide(
    raw_answers: tuple[str, ...], gold_norm: str, gold_unit: Unit | None = None
) -> Grade | PendingCheck:
    pred = raw_answers[-1]
    if len(raw_answers) == 1 and is_decimal_comma_of(pred, gold_norm):
        return Grade.of(GradeStatus.CORRECT_NUMERIC, pred)
    forms = [_answer_form(raw) if len(raw) <= MAX_NORMALIZED_CHARS else (raw, None) for raw in raw_answers]
    norms = [norm for norm, _ in forms]
    if not norms[-1]:
        return Grade.of(GradeStatus.NO_ANSWER, pred, "empty box")
    if hedging_words(norms[-1]) - hedging_words(gold_norm):
        return Grade.of(GradeStatus.WRONG, pred, "hedging or negating words")
    converted = _convert(norms[-1], forms[-1][1], gold_unit)
    if converted is None:
        return Grade.of(GradeStatus.WRONG, pred, "a different unit")
    norms[-1] = converted
    identities = "=" not in gold_norm  # an equation gold is compared as a relation, not as claims
    split = [
        split_claims(norm, identities) if len(norm) <= MAX_ANSWER_CHARS else (norm, ()) for norm in norms
    ]
    norms = [norm for norm, _ in split]
    true_so_far, claims = decide_claims(tuple(claim for _, box_claims in split for claim in box_claims))
    if not true_so_far:
        return Grade.of(GradeStatus.WRONG, pred, "false equation")
    last_index = {norm: index for index, norm in enumerate(norms)}
    # Distinct non-empty answers, each at its last position, so the final box stays last.
    answers = [norm for index, norm in enumerate(norms) if norm and last_index[norm] == index]
    pred_norm, others, hedge_detail = _final_answer(answers, gold_norm)
    if pred_norm is None:
        return Grade.of(GradeStatus.HEDGED, pred, hedge_detail)
    if len(answers) > 1 and pred_norm not in last_index:
        pred = ", ".join(raw_answers[last_index[answer]] for answer in answers)  # boxes form a list
    if len(pred_norm) > MAX_NORMALIZED_CHARS and pred_norm != gold_norm:
        return Grade.of(GradeStatus.GUARDED, pred, f"answer longer than {MAX_NORMALIZED_CHARS} characters")
    status, pred_norm, gold_norm = decide_exact(pred_norm, gold_norm)
    if status is not None and not ((others or claims) and status.is_correct):
        return Grade.of(status, pred)
    reason = next((guard_reason(side) for claim in claims for side in claim if guard_reason(side)), None)
    reason = reason or guard_reason(pred_norm) or (None if status is not None else guard_reason(gold_norm))
    if reason is not None:
        return Grade.of(GradeStatus.GUARDED, pred, reason)
    if status is None and not others and not claims and refutes(pred_norm, gold_norm):
        return Grade.of(GradeStatus.WRONG, pred)  # what the symbolic check would say, without a worker
    return PendingCheck(pred, pred_norm, gold_norm, others, status, claims)
