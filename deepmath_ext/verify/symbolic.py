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

from deepmath_ext.verify.latex_repairs import repair_parser, restore_functions, spell_for_parser
from deepmath_ext.verify.status import GradeStatus

# math-verify rounds to 6 decimals (so 1/2^99 "equals" 1/2^98); every number it calls equal, inside
# tuples, sets, intervals and matrices too, must also agree to this relative precision.
RELATIVE_PRECISION = sympy.Float("1e-10")
EVALF_DIGITS = 40
# A decimal is the exact value written: against a closed form it must agree in every digit it has and
# this many beyond (evaluated with that many more digits), so `0.49999999999` is not `\sin\frac{\pi}{6}`
# and 16 digits of sqrt 2 are not sqrt 2.
EXACT_EXTRA_DIGITS = 30
# Identities sympy cannot decide are checked at this many points (all must agree; enough must be real).
SPOT_POINTS = 8
# Both sides of a spot-checked identity are exact formulas evaluated with EVALF_DIGITS digits: they must
# agree far beyond any rounding (so `x + x/10^{20}` is not `x`).
SPOT_PRECISION = sympy.Float("1e-30")
MIN_SPOT_POINTS = 5
_UNEVALUABLE = (sympy.Sum, sympy.Product, sympy.Integral, sympy.Derivative, sympy.Limit)

# Units are stripped by our own normalisation, which knows a unit from a variable: math-verify's unit
# stripping reads `4h` as 4 and refuses `\sin(t)` for `\sin t`.
# No extraction without an anchor: when the whole box does not parse, math-verify would otherwise grade
# a fragment of it (`x-\frac{9}{2}-\sqrt2+e^e` read as -9/2), and two answers sharing that fragment
# would be equal.
_EXTRACTION = (
    LatexExtractionConfig(
        try_extract_without_anchor=False,
        normalization_config=NormalizationConfig(
            basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all", equations=False
        ),
    ),
    ExprExtractionConfig(),
)

# Timeouts are enforced from outside the worker (kill and respawn), so math-verify's own signal
# based timeouts are switched off; this silences its one warning about that.
logging.getLogger("math_verify").setLevel(logging.ERROR)
logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)
repair_parser()  # percentages parse (see latex_repairs); every policy's worker imports this module


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
    return _real_odd_roots(replaced)


def _is_odd_root_of_negative(expr: sympy.Basic) -> bool:
    return (
        isinstance(expr, sympy.Pow)
        and expr.exp.is_Rational
        and expr.exp.q % 2 == 1
        and expr.exp.q > 1
        and expr.base.is_negative is True
    )


def _real_odd_roots(value: sympy.Basic) -> sympy.Basic:
    """Odd roots of negative numbers are real (`\\sqrt[3]{-8}` is -2), not sympy's complex principal root."""
    if not isinstance(value, sympy.Basic) or not value.has(sympy.Pow):
        return value
    try:
        return value.replace(_is_odd_root_of_negative, lambda e: (-1) ** e.exp.p * (-e.base) ** e.exp)
    except (TypeError, ValueError, AttributeError):
        return value


@lru_cache(maxsize=8192)
def parse_answer(answer: str) -> tuple[tuple, tuple]:
    """math-verify's parse of one short answer (sympy object first, then the string): as parsed, and
    canonicalised (exact decimals, one symbol per name)."""
    latex = "\\boxed{" + spell_for_parser(answer) + "}"
    parsed = tuple(
        restore_functions(value) for value in parse(latex, list(_EXTRACTION), parsing_timeout=None)
    )
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


def _number(value: sympy.Expr, point: dict, digits: int = EVALF_DIGITS) -> sympy.Expr | None:
    number = value.evalf(digits, subs=point) if point else value.evalf(digits)
    if not number.is_number or number.has(sympy.zoo, sympy.nan) or not number.is_finite:
        return None
    return number


def _close(first: sympy.Expr, second: sympy.Expr, precision: sympy.Float) -> bool:
    scale = max(abs(first), abs(second))
    return bool(abs(first - second) <= precision * scale)


def numerically_equal(
    gold: sympy.Expr,
    pred: sympy.Expr,
    seed: str,
    precision: sympy.Float = RELATIVE_PRECISION,
    digits: int = EVALF_DIGITS,
) -> bool | None:
    """Whether two scalar expressions agree to a relative `precision` (at every spot point when they
    have free symbols), evaluated with `digits`; None when they cannot be evaluated at enough points."""
    symbols = sorted(gold.free_symbols | pred.free_symbols, key=lambda s: s.name)
    points = _points(symbols, seed) if symbols else [{}]
    agreed = 0
    for point in points:
        gold_number, pred_number = _number(gold, point, digits), _number(pred, point, digits)
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


def _decimal_digits(*values: object) -> int:
    """Digits of the longest decimal written in the answers (0 when there is none)."""
    floats = [f for v in values if isinstance(v, sympy.Basic) for f in v.atoms(sympy.Float)]
    return max((len(str(sympy.Rational(str(f)).p)) for f in floats), default=0)


def precise_enough(gold: object, pred: object, seed: str, decimal_digits: int = 0) -> bool:
    """False when some pair of numbers math-verify matched differs beyond RELATIVE_PRECISION, or at all
    when the answers hold decimals (`decimal_digits` > 0: a decimal is the exact value written)."""
    gold_parts, pred_parts = _parts(gold), _parts(pred)
    if gold_parts is not None and pred_parts is not None:
        if gold_parts[0] != pred_parts[0] or len(gold_parts[1]) != len(pred_parts[1]):
            return True  # shapes math-verify matches in its own way (a set against an equation list)
        pairs = zip(gold_parts[1], pred_parts[1], strict=True)
        return all(precise_enough(g, p, seed, decimal_digits) for g, p in pairs)
    if not (_evaluable(gold) and _evaluable(pred)):
        return True
    if decimal_digits:
        digits = EVALF_DIGITS + decimal_digits + EXACT_EXTRA_DIGITS
        precision = sympy.Float(10, digits) ** -(decimal_digits + EXACT_EXTRA_DIGITS)
        return numerically_equal(gold, pred, seed, precision, digits) is not False
    return numerically_equal(gold, pred, seed) is not False


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


_CASES_BEGIN, _CASES_END = "\\begin{cases}", "\\end{cases}"
_OTHERWISE = ("", "otherwise", "else", "elsewhere", "ifotherwise")


def _piecewise(answer: str) -> sympy.Piecewise | None:
    """A `cases` answer as a sympy Piecewise (math-verify reads none); None when it is not one."""
    if not (answer.startswith(_CASES_BEGIN) and answer.endswith(_CASES_END)):
        return None
    pieces = []
    for row in answer[len(_CASES_BEGIN) : -len(_CASES_END)].split("\\\\"):
        value, _, condition = row.partition("&")
        condition = condition.strip().removeprefix("if").strip(" ,")
        parsed_value = parse_answer(value)[1]
        parsed_condition = (
            sympy.true if condition in _OTHERWISE else (parse_answer(condition)[1] or [None])[0]
        )
        if not parsed_value or not isinstance(parsed_value[0], sympy.Expr):
            return None
        if not isinstance(parsed_condition, (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational)):
            return None
        pieces.append((parsed_value[0], parsed_condition))
    try:
        return sympy.Piecewise(*pieces) if pieces else None
    except (TypeError, ValueError):
        return None


def _piecewise_status(pred: str, gold: str) -> tuple[GradeStatus, str | None] | None:
    """A piecewise answer or gold (`|x|` against its cases) compared at the spot points; None otherwise."""
    gold_cases, pred_cases = _piecewise(gold), _piecewise(pred)
    if gold_cases is None and pred_cases is None:
        return None
    gold_value = gold_cases if gold_cases is not None else (parse_answer(gold)[1] or [None])[0]
    pred_value = pred_cases if pred_cases is not None else (parse_answer(pred)[1] or [None])[0]
    if _spot_checked_identity(gold_value, pred_value, pred + "\x00" + gold):
        return GradeStatus.CORRECT_SYMBOLIC, "numeric spot check"
    return GradeStatus.WRONG, None


def symbolic_status(pred: str, gold: str) -> tuple[GradeStatus, str | None]:
    """Status and detail of comparing two normalised, guarded answers with math-verify."""
    cases = _piecewise_status(pred, gold)
    if cases is not None:
        return cases
    gold_raw, gold_exact = parse_answer(gold)
    if not gold_raw:
        return GradeStatus.WRONG, "gold answer does not parse"
    pred_raw, pred_exact = parse_answer(pred)
    if not pred_raw:
        return GradeStatus.WRONG, "answer does not parse"
    seed = pred + "\x00" + gold
    if _differ_at_a_point(gold_exact[0], pred_exact[0], seed):
        return GradeStatus.WRONG, None  # a counterexample is proof enough, and far cheaper than verify
    # Decimals are the exact values written (2^{0.5} is sqrt 2, 0.49999999999 is not 1/2).
    if verify(list(gold_exact), list(pred_exact), timeout_seconds=None):
        if not precise_enough(gold_exact[0], pred_exact[0], seed, _decimal_digits(gold_raw[0], pred_raw[0])):
            return GradeStatus.WRONG, "equal only after rounding"
        return GradeStatus.CORRECT_SYMBOLIC, None
    if _spot_checked_identity(gold_raw[0], pred_raw[0], seed):
        return GradeStatus.CORRECT_SYMBOLIC, "numeric spot check"
    return GradeStatus.WRONG, None


def check_status(
    pred: str, gold: str | None, others: Sequence[str] = (), claims: Sequence[tuple[str, str]] = ()
) -> tuple[GradeStatus, str | None]:
    """The last box against the gold (None: already decided, a pass is CORRECT_SYMBOLIC); earlier boxes
    are one answer with it only when each equals it, else the response hedges; every equation written
    in a box (`claims`, (side, value) pairs) must hold, else the answer is wrong."""
    for side, value in claims:
        if not symbolic_status(side, value)[0].is_correct:
            return GradeStatus.WRONG, "false equation"
    for other in others:  # a counterexample point settles most of them cheaply (see symbolic_status)
        if not symbolic_status(other, pred)[0].is_correct:
            return GradeStatus.HEDGED, f"{len(others) + 1} different boxed answers"
    return (GradeStatus.CORRECT_SYMBOLIC, None) if gold is None else symbolic_status(pred, gold)
