"""Notations read before normalisation: function names, angle-bracket tuples, repeating decimals."""

from __future__ import annotations

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.latex_repairs import FUNCTION_NAMES, SYMPY_NAMES

# `\operatorname{arccot}` is the function, not the product a*r*c*c*o*t (normalisation unwraps the text).
_FUNCTION_NAME = linear.compile(
    r"\\(?:operatorname|mathrm|text|textrm)\s*\{\s*(" + "|".join(FUNCTION_NAMES) + r")\s*\}"
)
# `\\left\\langle`, `\\rangle`: a macro (with its sizing prefix) whose whole name is checked.
_ANGLE = linear.compile(r"(?:\\(?:left|right)\s*)?\\([a-zA-Z]+)")
# 0.(3), 0.1(6): the digits in brackets repeat; 0.\dot{3}: the dotted digit repeats.
_BRACKET_PERIOD = linear.compile(r"([+-]?\d*)\.(\d*)\((\d+)\)")
_DOT_PERIOD = linear.compile(r"([+-]?\d*)\.(\d*)\\dot\s*\{?(\d)\}?")
# 0.333\ldots, 0.1666..., 0.142857142857\dots: the shortest tail written at least twice repeats.
_DOTS_PERIOD = linear.compile(r"([+-]?\d*)\.(\d+)\s*(?:\\ldots|\\dots|\\cdots|\.\.\.|…)")
MIN_REPEATS = 2


def _written_period(digits: str) -> tuple[str, str] | None:
    """(fixed digits, period) when the digits end with a block written MIN_REPEATS times or more."""
    for length in range(1, len(digits) // MIN_REPEATS + 1):
        period = digits[-length:]
        if digits.endswith(period * MIN_REPEATS):
            fixed = digits
            while fixed.endswith(period):
                fixed = fixed[: -len(period)]
            return fixed, period
    return None


def repeating_decimal(answer: str) -> str:
    """A repeating decimal in any of its notations as `0.1\\overline{6}`; other answers unchanged."""
    text = answer.strip()
    for pattern in (_BRACKET_PERIOD, _DOT_PERIOD):
        if match := pattern.fullmatch(text):
            return f"{match[1]}.{match[2]}\\overline{{{match[3]}}}"
    if (match := _DOTS_PERIOD.fullmatch(text)) and (split := _written_period(match[2])):
        return f"{match[1]}.{split[0]}\\overline{{{split[1]}}}"
    return answer


def _function_macro(match: linear.Match) -> str:
    """`\\operatorname{asinh}` as `\\arsinh `: the macro of a wrapped function name (sympy's names too)."""
    return f"\\{SYMPY_NAMES.get(match[1], match[1])} "


def _angle(match: linear.Match) -> str:
    return {"langle": "(", "rangle": ")"}.get(match[1], match[0])


def rewrite_notation(answer: str) -> str:
    """Function names as macros, `\\langle 1,2\\rangle` as `(1,2)`, repeating decimals as `\\overline`."""
    answer = _FUNCTION_NAME.sub(_function_macro, answer)
    if "angle" in answer:
        answer = _ANGLE.sub(_angle, answer)
    return repeating_decimal(answer)
