"""The symbolic check (math-verify on the two short answers); runs inside worker processes only."""

from __future__ import annotations

import logging
from functools import lru_cache

import sympy
from math_verify import parse, verify

from deepmath_ext.verify.status import GradeStatus

# math-verify rounds to 6 decimals (so 1/2^99 "equals" 1/2^98); an equality it finds between two
# plain numbers must also hold to this relative precision.
RELATIVE_PRECISION = sympy.Float("1e-10")
EVALF_DIGITS = 40

# Timeouts are enforced from outside the worker (kill and respawn), so math-verify's own signal
# based timeouts are switched off; this silences its one warning about that.
logging.getLogger("math_verify").setLevel(logging.ERROR)


@lru_cache(maxsize=8192)
def parse_answer(answer: str) -> tuple:
    """math-verify's parse of one short answer (sympy object first, then the string)."""
    return tuple(parse("\\boxed{" + answer + "}", parsing_timeout=None))


def _plain_number(value: object) -> sympy.Expr | None:
    """`value` evaluated to a number when it is a closed-form scalar expression, else None."""
    if not isinstance(value, sympy.Expr) or value.free_symbols:
        return None
    number = value.evalf(EVALF_DIGITS)
    return number if number.is_number and number.is_finite else None


def equal_only_after_rounding(gold: object, pred: object) -> bool:
    """True when two closed-form numbers math-verify called equal differ beyond RELATIVE_PRECISION."""
    gold_number, pred_number = _plain_number(gold), _plain_number(pred)
    if gold_number is None or pred_number is None:
        return False
    scale = max(abs(gold_number), abs(pred_number))
    return bool(abs(gold_number - pred_number) > RELATIVE_PRECISION * scale)


def symbolic_status(pred: str, gold: str) -> tuple[GradeStatus, str | None]:
    """Status and detail of comparing two normalised, guarded answers with math-verify."""
    gold_parsed = parse_answer(gold)
    if not gold_parsed:
        return GradeStatus.WRONG, "gold answer does not parse"
    pred_parsed = parse_answer(pred)
    if not pred_parsed:
        return GradeStatus.WRONG, "answer does not parse"
    if not verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None):
        return GradeStatus.WRONG, None
    if equal_only_after_rounding(gold_parsed[0], pred_parsed[0]):
        return GradeStatus.WRONG, "equal only after rounding"
    return GradeStatus.CORRECT_SYMBOLIC, None
