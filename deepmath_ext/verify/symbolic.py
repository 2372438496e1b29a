"""The symbolic check (math-verify on the two short answers); runs inside worker processes only."""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Sequence
from functools import lru_cache

import sympy
from latex2sympy2_extended import NormalizationConfig
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import BooleanAtom

from deepmath_ext.verify.status import GradeStatus

# math-verify rounds to 6 decimals (so 1/2^99 "equals" 1/2^98); every number it calls equal, inside
# tuples, sets, intervals and matrices too, must also agree to this relative precision.
RELATIVE_PRECISION = sympy.Float("1e-10")
EVALF_DIGITS = 40
# Identities sympy cannot decide are checked at this many points (all must agree; enough must be real).
SPOT_POINTS = 8
# Both sides of a spot-checked identity are exact formulas evaluated with EVALF_DIGITS digits: they must
# agree far beyond any rounding (so `x + x/10^{20}` is not `x`).
SPOT_PRECISION = sympy.Float("1e-30")
MIN_SPOT_POINTS = 5
_UNEVALUABLE = (sympy.Sum, sympy.Product, sympy.Integral, sympy.Derivative, sympy.Limit)

# Units are stripped by our own normalisation, which knows a unit from a variable: math-verify's unit
# stripping reads `4h` as 4 and refuses `\sin(t)` for `\sin t`.
_EXTRACTION = (
    LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all", equations=False
        )
    ),
    ExprExtractionConfig(),
)

# Timeouts are enforced from outside the worker (kill and respawn), so math-verify's own signal
# based timeouts are switched off; this silences its one warning about that.
logging.getLogger("math_verify").setLevel(logging.ERROR)
logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)


def _canonical(value: object) -> object:
    """Floats as the exact decimals written (2^{0.5} is sqrt 2), one symbol per name, `i` the imaginary unit."""
    if not isinstance(value, sympy.Basic):
        return value
    floats = {f: sympy.Rational(str(f)) for f in value.atoms(sympy.Float)}
    symbols = {
        s: sympy.I if s.name == "i" else sympy.Symbol(s.name, real=True) for s in value.atoms(sympy.Symbol)
    }
    try:
        replaced = value.xreplace({**floats, **symbols})
        if isinstance(replaced, BooleanAtom) and not isinstance(value, BooleanAtom):
            with sympy.evaluate(False):  # Eq(x, Interval(...)) must stay an equation, not become False
                replaced = value.xreplace({**floats, **symbols})
    except (TypeError, ValueError, AttributeError):
        return value
    return replaced


@lru_cache(maxsize=8192)
def parse_answer(answer: str) -> tuple[tuple, tuple]:
    """math-verify's parse of one short answer (sympy object first, then the string): as parsed, and
    canonicalised (exact decimals, one symbol per name)."""
    parsed = tuple(parse("\\boxed{" + answer + "}", list(_EXTRACTION), parsing_timeout=None))
    return parsed, tuple(_canonical(value) for value in parsed)


def _points(symbols: Sequence[sympy.Symbol], seed: str) -> list[dict]:
    """SPOT_POINTS assignments of both-signed irrational-looking values, fixed per pair of answers."""
    generator = random.Random(zlib.crc32(seed.encode()))
    return [
        {
            s: sympy.Float(generator.choice((-1, 1)) * generator.uniform(0.3, 3.0), EVALF_DIGITS)
            for s in symbols
        }
        for _ in range(SPOT_POINTS)
    ]


def _number(value: sympy.Expr, point: dict) -> sympy.Expr | None:
    number = value.evalf(EVALF_DIGITS, subs=point) if point else value.evalf(EVALF_DIGITS)
    if not number.is_number or number.has(sympy.zoo, sympy.nan) or not number.is_finite:
        return None
    return number


def _close(first: sympy.Expr, second: sympy.Expr, precision: sympy.Float) -> bool:
    scale = max(abs(first), abs(second))
    return bool(abs(first - second) <= precision * scale)


def numerically_equal(
    gold: sympy.Expr, pred: sympy.Expr, seed: str, precision: sympy.Float = RELATIVE_PRECISION
) -> bool | None:
    """Whether two scalar expressions agree to a relative `precision` (at every spot point when they
    have free symbols); None when they cannot be evaluated at enough points."""
    symbols = sorted(gold.free_symbols | pred.free_symbols, key=lambda s: s.name)
    points = _points(symbols, seed) if symbols else [{}]
    agreed = 0
    for point in points:
        gold_number, pred_number = _number(gold, point), _number(pred, point)
        if gold_number is None or pred_number is None:
            continue
        if not _close(gold_number, pred_number, precision):
            return False
        agreed += 1
    return agreed >= (MIN_SPOT_POINTS if symbols else 1) or None


def _parts(value: object) -> tuple[str, list] | None:
    """(kind, ordered parts) of a structure math-verify compares part by part; None for a scalar."""
    if isinstance(value, sympy.MatrixBase):
        return f"matrix{value.shape}", list(value)
    if isinstance(value, sympy.Interval):
        return "interval", [value.start, value.end]
    if isinstance(value, sympy.FiniteSet) and all(_is_number(p) for p in value.args):
        return "set", sorted(value.args, key=lambda p: float(sympy.re(p.evalf())))
    if isinstance(value, (sympy.Tuple, tuple, list)):
        return "tuple", list(value)
    if isinstance(value, sympy.Eq):
        return f"equation {value.lhs}", [value.rhs]  # x = value: the values compare; other relations don't
    return None


def precise_enough(gold: object, pred: object, seed: str) -> bool:
    """False when some pair of numbers math-verify matched differs beyond RELATIVE_PRECISION."""
    gold_parts, pred_parts = _parts(gold), _parts(pred)
    if gold_parts is not None and pred_parts is not None:
        if gold_parts[0] != pred_parts[0] or len(gold_parts[1]) != len(pred_parts[1]):
            return True  # shapes math-verify matches in its own way (a set against an equation list)
        return all(precise_enough(g, p, seed) for g, p in zip(gold_parts[1], pred_parts[1], strict=True))
    if _evaluable(gold) and _evaluable(pred):
        return numerically_equal(gold, pred, seed) is not False
    return True


def _is_number(value: object) -> bool:
    return isinstance(value, sympy.Expr) and not value.free_symbols and value.is_finite is not False


def _evaluable(value: object) -> bool:
    """A scalar formula of numbers, symbols and elementary functions (cheap to evaluate at a point)."""
    return isinstance(value, sympy.Expr) and not value.has(*_UNEVALUABLE) and not value.atoms(AppliedUndef)


def _spot_checked_identity(gold: object, pred: object, seed: str) -> bool:
    """An identity sympy could not prove (trig, rearranged products): true at every spot point.

    Only formulas with free variables and no decimals qualify: closed-form numbers are the exact
    comparison's (and the 1e-10 rule's) to decide, never a spot check's."""
    if not (_evaluable(gold) and _evaluable(pred)) or gold.has(sympy.Float) or pred.has(sympy.Float):
        return False
    if not (gold.free_symbols or pred.free_symbols):
        return False
    return bool(numerically_equal(_canonical(gold), _canonical(pred), seed, SPOT_PRECISION))


def _differ_at_a_point(gold: object, pred: object, seed: str) -> bool:
    """True when two scalar formulas evaluate to different numbers (at some spot point)."""
    return _evaluable(gold) and _evaluable(pred) and numerically_equal(gold, pred, seed) is False


def symbolic_status(pred: str, gold: str) -> tuple[GradeStatus, str | None]:
    """Status and detail of comparing two normalised, guarded answers with math-verify."""
    gold_raw, gold_exact = parse_answer(gold)
    if not gold_raw:
        return GradeStatus.WRONG, "gold answer does not parse"
    pred_raw, pred_exact = parse_answer(pred)
    if not pred_raw:
        return GradeStatus.WRONG, "answer does not parse"
    seed = pred + "\x00" + gold
    if _differ_at_a_point(gold_exact[0], pred_exact[0], seed):
        return GradeStatus.WRONG, None  # a counterexample is proof enough, and far cheaper than verify
    # Exact decimals first (2^{0.5} is sqrt 2); as parsed second, where a long decimal may stand for
    # an irrational value (1.4142135623730951 for sqrt 2) within the 1e-10 rule checked below.
    attempts = [(gold_exact, pred_exact)]
    if any(isinstance(v, sympy.Basic) and v.has(sympy.Float) for v in (gold_raw[0], pred_raw[0])):
        attempts.append((gold_raw, pred_raw))
    for gold_parsed, pred_parsed in attempts:
        if verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None):
            if not precise_enough(gold_parsed[0], pred_parsed[0], seed):
                return GradeStatus.WRONG, "equal only after rounding"
            return GradeStatus.CORRECT_SYMBOLIC, None
    if _spot_checked_identity(gold_raw[0], pred_raw[0], seed):
        return GradeStatus.CORRECT_SYMBOLIC, "numeric spot check"
    return GradeStatus.WRONG, None


def check_status(pred: str, gold: str | None, others: Sequence[str] = ()) -> tuple[GradeStatus, str | None]:
    """The last box against the gold (None: already decided, a pass is CORRECT_SYMBOLIC); earlier boxes
    are one answer with it only when each equals it, else the response hedges."""
    for other in others:  # a counterexample point settles most of them cheaply (see symbolic_status)
        if not symbolic_status(other, pred)[0].is_correct:
            return GradeStatus.HEDGED, f"{len(others) + 1} different boxed answers"
    return (GradeStatus.CORRECT_SYMBOLIC, None) if gold is None else symbolic_status(pred, gold)
