"""The in-process part of grading: extraction, normalisation, exact decisions and guards."""

from __future__ import annotations

from dataclasses import dataclass

from deepmath_ext.verify.exact import decide_exact, split_top_level
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
    """(normalised answer to grade, or None with the hedging detail) from all boxed answers."""
    last = answers[-1]
    others = [answer for answer in answers[:-1] if not _same_answer(answer, last)]
    if not others:
        return last, None
    # Several boxes are one answer only when the gold is a list and the boxes spell it out.
    distinct = list(dict.fromkeys(answers))
    if len(split_top_level(gold_norm)) == len(distinct) > 1:
        return ",".join(distinct), None
    return None, f"{len(others) + 1} different boxed answers"


def decide_answer(pred: str, gold: str) -> Grade | PendingCheck:
    """Grade one extracted answer against the gold, or say that a symbolic check is needed."""
    return _decide(pred.strip(), [normalize_answer(pred)], normalized_gold(gold))


def decide_response(response: str, gold: str, require_think: bool = True) -> Grade | PendingCheck:
    """Grade one response against the gold, or say that a symbolic check is needed."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a string, got {type(response).__name__}")
    gold_norm = normalized_gold(gold)
    extraction = extract(response, require_think)
    if extraction.status is not None:
        return Grade.of(extraction.status, None, extraction.detail)
    answers = [normalize_answer(answer) for answer in extraction.answers]
    return _decide(extraction.answers[-1].strip(), answers, gold_norm)


def _decide(pred: str, answers: list[str], gold_norm: str) -> Grade | PendingCheck:
    if not answers[-1]:
        return Grade.of(GradeStatus.NO_ANSWER, pred, "empty box")
    answers = [answer for answer in answers if answer]
    pred_norm, hedge_detail = _final_answer(answers, gold_norm)
    if pred_norm is None:
        return Grade.of(GradeStatus.HEDGED, pred, hedge_detail)
    status = decide_exact(pred_norm, gold_norm)
    if status is not None:
        return Grade.of(status, pred)
    reason = guard_reason(pred_norm) or guard_reason(gold_norm)
    if reason is not None:
        return Grade.of(GradeStatus.GUARDED, pred, reason)
    return PendingCheck(pred, pred_norm, gold_norm)
