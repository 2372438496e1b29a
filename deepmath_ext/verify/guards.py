"""Guards that keep answers sympy would choke on (towers, huge factorials, deep nesting) away from it."""

from __future__ import annotations

import math

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.exact import is_closed_form
from deepmath_ext.verify.linear import Pattern

MAX_ANSWER_CHARS = 600
MAX_NESTING = 24
MAX_EXPONENT = 10**5
MAX_FACTORIAL_ARGUMENT = 2000
# (x+1)^{1000} is a 1001-term expansion for sympy; powers of a variable alone (x^{1000}) are cheap.
MAX_POWER_OF_SUM = 64
# sympy adds \sum_{k=1}^{20000} 1/k^2 term by term as exact rationals (tens of seconds).
MAX_SUM_TERMS = 1000

_EXPONENT_LITERAL = linear.compile(r"\^\s*\{?\s*(\d+)")
# A bound or argument: a numeral, or a power / scientific form of numerals (10^{6}, 10^9, 2\cdot 10^5).
_SIZE = r"(\d+(?:\s*(?:\\times|\\cdot|\*)\s*\d+)?(?:\s*\^\s*(?:\{\s*\d+\s*\}|\d))?)"
_FACTORIAL = linear.compile(rf"(?:\{{\s*{_SIZE}\s*\}}|\(\s*{_SIZE}\s*\)|{_SIZE})\s*!")
_BINOMIAL = linear.compile(rf"\\(?:binom|dbinom|tbinom|choose)\s*\{{\s*{_SIZE}\s*\}}")
_HYPER_OPERATORS = linear.compile(r"\\uparrow|\\Uparrow|↑")
_UNBRACED_TOWER = linear.compile(r"\^\s*[\w.]+\s*\^")
_POWER_OF_GROUP = linear.compile(r"\)\s*\^\s*\{?\s*(\d+)")
_SUM_BOUND = linear.compile(
    rf"\\(?:sum|prod)\s*_\s*(?:\{{[^{{}}]*\}}|\S)\s*\^\s*(?:\{{\s*{_SIZE}\s*\}}|(\d))"
)
_SIZE_PARTS = linear.compile(r"(\d+)(?:\s*(?:\\times|\\cdot|\*)\s*(\d+))?(?:\s*\^\s*\{?\s*(\d+)\s*\}?)?")


# A tower of integers whose value has at most this many digits is evaluated (`2^{3^2}` is 512).
MAX_TOWER_DIGITS = 1000
_TOWER_LEVEL = linear.compile(r"(\d+)\^")


def small_tower_value(answer: str) -> str | None:
    """The decimal value of an integer power tower (`2^{3^2}`, two levels or more) that is small enough."""
    bases, rest = [], answer
    while match := _TOWER_LEVEL.match(rest):
        bases.append(int(match[1]))
        rest = rest[match.end() :]
        if rest.startswith("{") and rest.endswith("}"):
            rest = rest[1:-1]
    if len(bases) < 2 or not rest.isdigit() or len(rest) > 6:
        return None
    value = int(rest)
    for base in reversed(bases):
        if base > 1 and value * math.log10(base) > MAX_TOWER_DIGITS:
            return None
        value = base**value
    return str(value)


def _nesting_and_tower(text: str) -> tuple[int, bool]:
    """Deepest bracket nesting, and whether an exponent group contains another power."""
    depth = deepest = 0
    exponent_depths: list[int] = []
    previous = ""
    for char in text:
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
            if previous == "^":
                exponent_depths.append(depth)
        elif char in ")}]":
            if exponent_depths and exponent_depths[-1] == depth:
                exponent_depths.pop()
            depth -= 1
        elif char == "^" and exponent_depths:
            return deepest, True
        if not char.isspace():
            previous = char
    return deepest, False


def _size(text: str) -> int:
    """The value of a numeral, product or power of numerals, capped just above every limit."""
    match = _SIZE_PARTS.fullmatch(text.strip())
    if match is None:
        return 0
    base = int(match[2] or match[1])
    exponent = int(match[3] or 1)
    if base > 1 and exponent * len(str(base)) > 12:
        return 10**13
    return (int(match[1]) if match[2] else 1) * base**exponent


def _largest(pattern: Pattern, text: str) -> int:
    return max((_size(next(g for g in m.groups() if g)) for m in pattern.finditer(text)), default=0)


def guard_reason(answer: str) -> str | None:
    """Why a normalised answer must not reach sympy, or None when it is safe."""
    if len(answer) > MAX_ANSWER_CHARS:
        return f"answer longer than {MAX_ANSWER_CHARS} characters"
    deepest, tower = _nesting_and_tower(answer)
    if deepest > MAX_NESTING:
        return f"nesting deeper than {MAX_NESTING}"
    # A tower of numbers is astronomically large; with a variable in it (e^{x^2}) it is just a formula.
    numeric = is_closed_form(answer)
    if (numeric and (tower or _UNBRACED_TOWER.search(answer))) or _HYPER_OPERATORS.search(answer):
        return "exponent tower"
    if any(int(m[1]) > MAX_EXPONENT for m in _EXPONENT_LITERAL.finditer(answer)):
        return f"exponent above {MAX_EXPONENT}"
    if not numeric and any(int(m[1]) > MAX_POWER_OF_SUM for m in _POWER_OF_GROUP.finditer(answer)):
        return f"power of a bracketed expression above {MAX_POWER_OF_SUM}"
    if _largest(_SUM_BOUND, answer) > MAX_SUM_TERMS:
        return f"sum or product of more than {MAX_SUM_TERMS} terms"
    if max(_largest(_FACTORIAL, answer), _largest(_BINOMIAL, answer)) > MAX_FACTORIAL_ARGUMENT:
        return f"factorial or binomial of more than {MAX_FACTORIAL_ARGUMENT}"
    return None
