"""The in-process part of grading: extraction, normalisation, exact decisions and guards."""

from __future__ import annotations

from dataclasses import dataclass

from deepmath_ext.verify.exact import collection, decide_exact
from deepmath_ext.verify.extract import extract
from deepmath_ext.verify.guards import guard_reason
from deepmath_ext.verify.normalize import normalize_answer
from deepmath_ext.verify.status import Grade, GradeStatus


@dataclass(frozen=True)
class PendingCheck:
    """An answer that only the symbolic check can decide."""

    pred: str  # the extracted answer as written
    pred_norm: str
    gold_norm: str


def normalized_gold(gold: str) -> str:
    """The normalised gold answer; a missing or empty gold is a data error."""
    if not isinstance(gold, str):
        raise TypeError(f"gold answer must be a string, got {type(gold).__name__}")
    normalized = normalize_answer(gold)
    if not normalized:
        raise ValueError(f"gold answer {gold!r} is empty after normalisation")
    return normalized


def _same_answer(first: str, second: str) -> bool:
    return decide_exact(first, second) in (GradeStatus.CORRECT_EXACT, GradeStatus.CORRECT_NUMERIC)


def _final_answer(answers: list[str], gold_norm: str) -> tuple[str | None, str | None]:
    """(normalised answer to grade, or None with the hedging detail) from the distinct boxed answers."""
    last = answers[-1]
    others = [answer for answer in answers[:-1] if not _same_answer(answer, last)]
    if not others:
        return last, None
    # Several boxes are one answer only when the gold is a list and the boxes spell it out.
    if len(collection(gold_norm)[1]) == len(answers) > 1:
        return ",".join(answers), None
    return None, f"{len(others) + 1} different boxed answers"


def decide_answer(pred: str, gold: str) -> Grade | PendingCheck:
    """Grade one extracted answer against the gold, or say that a symbolic check is needed."""
    return _decide([pred.strip()], normalized_gold(gold))


def decide_response(response: str, gold: str, require_think: bool = True) -> Grade | PendingCheck:
    """Grade one response against the gold, or say that a symbolic check is needed."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a string, got {type(response).__name__}")
    gold_norm = normalized_gold(gold)
    extraction = extract(response, require_think)
    if extraction.status is not None:
        return Grade.of(extraction.status, None, extraction.detail)
    return _decide([answer.strip() for answer in extraction.answers], gold_norm)


def _decide(raw_answers: list[str], gold_norm: str) -> Grade | PendingCheck:
    pred = raw_answers[-1]
    norms = [normalize_answer(raw) for raw in raw_answers]
    if not norms[-1]:
        return Grade.of(GradeStatus.NO_ANSWER, pred, "empty box")
    last_index = {norm: index for index, norm in enumerate(norms)}
    # Distinct non-empty answers, each at its last position, so the final box stays last.
    answers = [norm for index, norm in enumerate(norms) if norm and last_index[norm] == index]
    pred_norm, hedge_detail = _final_answer(answers, gold_norm)
    if pred_norm is None:
        return Grade.of(GradeStatus.HEDGED, pred, hedge_detail)
    if len(answers) > 1 and pred_norm not in last_index:
        pred = ", ".join(raw_answers[last_index[answer]] for answer in answers)  # boxes form a list
    status = decide_exact(pred_norm, gold_norm)
    if status is not None:
        return Grade.of(status, pred)
    reason = guard_reason(pred_norm) or guard_reason(gold_norm)
    if reason is not None:
        return Grade.of(GradeStatus.GUARDED, pred, reason)
    return PendingCheck(pred, pred_norm, gold_norm)
