"""The closed set of grade statuses and the `Grade` record every check returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class GradeStatus(str, Enum):
    """Why a response got its grade; the three `correct_*` values are the only correct ones."""

    CORRECT_EXACT = "correct_exact"  # normalised answer strings are identical
    CORRECT_NUMERIC = "correct_numeric"  # both are exact rationals with the same value
    CORRECT_SYMBOLIC = "correct_symbolic"  # math-verify found them equivalent
    WRONG = "wrong"  # an answer was found and it does not match
    NO_ANSWER = "no_answer"  # no (non-empty) boxed answer in the graded part
    HEDGED = "hedged"  # several distinct boxed answers
    FORMAT_ERROR = "format_error"  # a thinking response without `</think>`
    TIMEOUT = "timeout"  # the symbolic check ran past its deadline or its worker died
    GUARDED = "guarded"  # too long, too deep or too huge to hand to sympy

    def __str__(self) -> str:
        return self.value

    @property
    def is_correct(self) -> bool:
        """True for the three correct statuses."""
        return self in _CORRECT


_CORRECT = frozenset({GradeStatus.CORRECT_EXACT, GradeStatus.CORRECT_NUMERIC, GradeStatus.CORRECT_SYMBOLIC})


@dataclass(frozen=True)
class Grade:
    """One grade with its evidence: the extracted answer, the status and a short reason."""

    correct: bool
    status: GradeStatus
    pred: str | None = None
    detail: str | None = None

    @classmethod
    def of(cls, status: GradeStatus, pred: str | None = None, detail: str | None = None) -> Grade:
        """A grade whose `correct` flag follows from its status."""
        return cls(correct=status.is_correct, status=status, pred=pred, detail=detail)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields (the status as its string value)."""
        return {**asdict(self), "status": self.status.value}
