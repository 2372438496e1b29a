"""Refutations in the caller's thread: answers the symbolic check would grade wrong, found without sympy.

A cold process should not wait most of a second for a worker to import sympy only to learn that
`\\sqrt{34}+3\\sqrt{10}` is not 28. Two rules, each deciding only what the symbolic check decides the
same way (`tests/test_verify_interval.py` checks that against it):

- Two bare Latin letters that differ (ignoring case, as the symbolic check does) are different answers.
- A variable-free closed form (integers and decimals, `+ - * / \\cdot \\times`, `^`, `\\frac`, `\\sqrt`,
  `\\sqrt[n]`, `\\pi`, parentheses) is evaluated into a rigorous interval: exact rationals while they stay
  small, then floats rounded outwards at every step. When the answer's and the gold's intervals are
  apart by more than RELATIVE_GAP of their size, no real value of the two differs by less than the
  symbolic check's 1e-10 relative tolerance, so it would find them different too.

The parser mirrors latex2sympy's precedence (juxtaposition binds tighter than `*` and `/`) and refuses
everything it is unsure of (`2^10`, `\\sqrt2`, a digit after a factor, negative radicands): a refusal
only sends the pair to the worker as before. It reads each character once (no regex) and stops at
MAX_DEPTH nested groups, so it is linear in the answer.
"""

from __future__ import annotations

import math
from fractions import Fraction

RELATIVE_GAP = 1e-8  # far above the symbolic check's relative tolerance (1e-10)
MAX_DEPTH = 40
MAX_EXACT_BITS = 4096  # exact rationals larger than this are evaluated as intervals
MAX_EXPONENT = 4096
MAX_ROOT = 64
_ROUNDING = 2.0**-50  # a few ulps: every float step below is within one ulp of the exact result
_POW_ROUNDING = 1e-12  # libm's pow is not correctly rounded: allow far more than its error
_MULTIPLY = ("*", "\\cdot", "\\times")
_MACROS = ("\\frac", "\\dfrac", "\\sqrt", "\\pi", "\\cdot", "\\times")

Interval = tuple[float, float]
Value = Fraction | Interval


class _Refused(Exception):
    """Outside the grammar, or not evaluable with certainty: leave the pair to the symbolic check."""


def refutes(pred: str, gold: str) -> bool:
    """True when the symbolic check would certainly grade `pred` wrong against `gold` (both normalised)."""
    if (
        len(pred) == len(gold) == 1
        and pred.isascii()
        and gold.isascii()
        and pred.isalpha()
        and gold.isalpha()
    ):
        return pred.lower() != gold.lower()
    pred_value, gold_value = evaluate(pred), evaluate(gold)
    if pred_value is None or gold_value is None:
        return False
    (pred_lo, pred_hi), (gold_lo, gold_hi) = _interval(pred_value), _interval(gold_value)
    gap = max(pred_lo - gold_hi, gold_lo - pred_hi)
    return gap > RELATIVE_GAP * max(abs(pred_lo), abs(pred_hi), abs(gold_lo), abs(gold_hi))


def evaluate(text: str) -> Value | None:
    """The exact value or an enclosing interval of a variable-free closed form; None outside the grammar."""
    parser = _Parser(text)
    try:
        value = parser.expression()
        if parser.position != len(text):
            raise _Refused
        return value
    except (_Refused, OverflowError, ZeroDivisionError, ValueError):
        return None


class _Parser:
    """Recursive descent over the answer, evaluating as it goes (latex2sympy's precedence)."""

    def __init__(self, text: str) -> None:
        self.text, self.position, self.depth = text, 0, 0

    def expression(self) -> Value:
        self._enter()
        value = self._product()
        while (sign := self._peek_char()) in ("+", "-"):
            self.position += 1
            value = _add(value, _negate(self._product()) if sign == "-" else self._product())
        self.depth -= 1
        return value

    def _product(self) -> Value:
        value = self._unary()
        while True:
            if self._accept("/"):
                value = _divide(value, self._unary())
            elif any(self._accept(op) for op in _MULTIPLY):
                value = _multiply(value, self._unary())
            else:
                return value

    def _unary(self) -> Value:
        negative = False
        while (sign := self._peek_char()) in ("+", "-"):
            self.position += 1
            negative ^= sign == "-"
        value = self._power()
        # Juxtaposition (`3\sqrt{10}`, `2\pi`) binds tighter than `*` and `/`, as in latex2sympy. Only a
        # root or pi may follow: math-verify reads `2(3)` as 5 and `\pi(2)` as a function, and
        # `2\frac{1}{2}` is a mixed number.
        while self._at_juxtaposed_factor():
            value = _multiply(value, self._power())
        return _negate(value) if negative else value

    def _power(self) -> Value:
        start = self.position
        base = self._atom()
        if not self._accept("^"):
            return base
        if not (self.text[start].isdigit() or self.text[start] == "(" or self.text.startswith("\\pi", start)):
            raise _Refused  # `\sqrt{2}^2`, `\frac12^2`: precedence we do not mirror
        exponent = self._group("{", "}") if self._peek_char() == "{" else self._digit()
        if self._peek_char() == "^":
            raise _Refused  # towers: latex2sympy's reading is not obvious
        return _power(base, exponent)

    def _atom(self) -> Value:
        char = self._peek_char()
        if char.isdigit():
            return self._number()
        if char == "(":
            return self._group("(", ")")
        if char == "{":
            return self._group("{", "}")
        if self._accept("\\pi"):
            return _widen(math.pi, math.pi)
        if self._accept("\\frac") or self._accept("\\dfrac"):
            numerator = self._argument()
            return _divide(numerator, self._argument())
        if self._accept("\\sqrt"):
            index = self._group("[", "]") if self._peek_char() == "[" else Fraction(2)
            return _root(self._group("{", "}"), index)
        raise _Refused

    def _argument(self) -> Value:
        """A `\\frac` argument: a group or one digit (`\\frac12` is a half)."""
        return self._group("{", "}") if self._peek_char() == "{" else self._digit(single=False)

    def _group(self, opening: str, closing: str) -> Value:
        if not self._accept(opening):
            raise _Refused
        value = self.expression()
        if not self._accept(closing):
            raise _Refused
        return value

    def _digit(self, single: bool = True) -> Fraction:
        char = self._peek_char()
        if not (char.isascii() and char.isdigit()) or (single and self._peek_char(1).isdigit()):
            raise _Refused  # `2^10` is 2^1 * 0 in LaTeX but 2^10 in latex2sympy
        self.position += 1
        return Fraction(int(char))

    def _number(self) -> Fraction:
        start = self.position
        while self._peek_char().isascii() and self._peek_char().isdigit():
            self.position += 1
        if self._peek_char() == "." and self._peek_char(1).isdigit():
            self.position += 1
            while self._peek_char().isascii() and self._peek_char().isdigit():
                self.position += 1
        if self.position == start or self._peek_char() in (".", ","):
            raise _Refused
        return Fraction(self.text[start : self.position])

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused

    def _peek_char(self, ahead: int = 0) -> str:
        index = self.position + ahead
        return self.text[index] if index < len(self.text) else ""

    def _at_juxtaposed_factor(self) -> bool:
        r"""Whether a factor multiplied by juxtaposition starts here; refuses unknown macros (`\log`)."""
        if self._peek_char() != "\\":
            return False
        if not any(self.text.startswith(macro, self.position) for macro in _MACROS):
            raise _Refused
        return self.text.startswith("\\sqrt", self.position) or self.text.startswith("\\pi", self.position)

    def _accept(self, token: str) -> bool:
        if not self.text.startswith(token, self.position):
            return False
        end = self.position + len(token)
        if token[0] == "\\" and end < len(self.text) and self.text[end].isalpha():
            return False  # `\pi` is not a prefix of `\pit`
        self.position = end
        return True


def _widen(lo: float, hi: float, rounding: float = _ROUNDING) -> Interval:
    """Round an interval outwards; refuse values out of range."""
    lo = math.nextafter(lo - abs(lo) * rounding, -math.inf)
    hi = math.nextafter(hi + abs(hi) * rounding, math.inf)
    if not (math.isfinite(lo) and math.isfinite(hi)) or max(abs(lo), abs(hi)) > 1e300:
        raise _Refused
    return lo, hi


def _interval(value: Value) -> Interval:
    if isinstance(value, Fraction):
        as_float = value.numerator / value.denominator  # int / int is correctly rounded
        return _widen(as_float, as_float)
    return value


def _exact(value: Value) -> bool:
    return (
        isinstance(value, Fraction)
        and value.numerator.bit_length() + value.denominator.bit_length() <= MAX_EXACT_BITS
    )


def _negate(value: Value) -> Value:
    if isinstance(value, Fraction):
        return -value
    return -value[1], -value[0]


def _add(left: Value, right: Value) -> Value:
    if _exact(left) and _exact(right):
        return left + right
    (a, b), (c, d) = _interval(left), _interval(right)
    return _widen(a + c, b + d)


def _multiply(left: Value, right: Value) -> Value:
    if _exact(left) and _exact(right):
        return left * right
    (a, b), (c, d) = _interval(left), _interval(right)
    products = (a * c, a * d, b * c, b * d)
    return _widen(min(products), max(products))


def _divide(left: Value, right: Value) -> Value:
    if _exact(left) and _exact(right):
        return left / right  # ZeroDivisionError: refused
    c, d = _interval(right)
    if c <= 0 <= d:
        raise _Refused
    return _multiply(left, _widen(1 / d, 1 / c))


def _power(base: Value, exponent: Value) -> Value:
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        n = exponent.numerator
        if abs(n) > MAX_EXPONENT:
            raise _Refused
        if (
            _exact(base)
            and abs(n) * (base.numerator.bit_length() + base.denominator.bit_length()) <= MAX_EXACT_BITS
        ):
            return base**n  # ZeroDivisionError for 0^{-1}: refused
        lo, hi = _interval(base)
        if n < 0:
            return _divide(Fraction(1), _power((lo, hi), Fraction(-n)))
        ends = (lo**n, hi**n)
        if n % 2 == 0 and lo < 0 < hi:
            return _widen(0.0, max(ends), _POW_ROUNDING)
        return _widen(min(ends), max(ends), _POW_ROUNDING)
    lo, hi = _interval(base)
    if lo <= 0:
        raise _Refused  # a real power of a non-positive number: sympy's branch, not ours
    e_lo, e_hi = _interval(exponent)
    corners = [x**e for x in (lo, hi) for e in (e_lo, e_hi)]
    return _widen(min(corners), max(corners), _POW_ROUNDING)


def _root(radicand: Value, index: Value) -> Value:
    if not (isinstance(index, Fraction) and index.denominator == 1 and 2 <= index.numerator <= MAX_ROOT):
        raise _Refused
    lo, hi = _interval(radicand)
    if lo < 0:
        raise _Refused  # odd roots of negatives follow a policy (real roots); leave them to the worker
    if index == 2:
        return _widen(math.sqrt(lo), math.sqrt(hi))
    return _widen(lo ** (1 / index.numerator), hi ** (1 / index.numerator), _POW_ROUNDING)
