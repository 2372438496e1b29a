"""math-verify as the reference research code ran it (0.7.0), on top of the installed math-verify 0.9.

The reference installs math-verify 0.7.0 (with latex2sympy2_extended 1.10.1); deepmath's strict policy
uses 0.9. Three changes between them alter grades of real answers, and `pinned_math_verify()` undoes
them for the duration of one reference check (rewritten here from 0.7.0's behaviour, not copied):

- Unit words. 0.9 deletes a unit word after a number at the end of an answer (`4h` reads as 4 and
  `\\frac13\\pi r^2 h` as `\\frac13\\pi r^2`; `h` and `t` are in its list). 0.7.0's unit pattern asked
  for whitespace and a letter at the same position, so it never matched and every unit word stayed.
- Symbols. When two expressions involving a symbol match none of its symbol rules, 0.9 compares their
  printed forms (`\\mathbf{9}` parses as the symbol `9`, which then equals the number 9); 0.7.0 called
  them different.
- Percentages. 0.9 takes an integer percentage as equal to the bare integer (`28\\%` = `28`); 0.7.0
  compared values (`28\\%` is 0.28). (That a percentage parses at all with the antlr 4.9.3 runtime is
  `latex_repairs.repair_parser`'s doing, for every policy.)

- Solved equations. To compare two equations by their solutions, 0.7.0 sorted the lists of solution
  dicts with `sorted`, which fails for two or more solutions (dicts do not order), so such equations were
  different (`x^2/16 + y^2/12 = 1/4` against `x^2/4 + y^2/3 = 1`); 0.9 orders them by value.
- Boxes. 0.9 drops a box equal to the box after it (`\\boxed{004} ... \\boxed{004}` reads as one
  004) and, when only the last answer is wanted, takes two boxes less than 10 characters apart; 0.7.0 kept
  every box (`004,004`) and joined two boxes only when a separator (`and`, `or`, `,`, `;`, even inside a
  word) stood in the under-70 characters between them.
- Percent words. 0.9 reads `percentage` and `pct` as `\\%` and `percent` only as a whole word;
  0.7.0 knew only `percent` (anywhere, so `percentage` became `\\%age`) and wrote it as `\\\\%`.

The swaps replace module-level names that math-verify looks up at call time. Verifier workers run one
check at a time in one thread, so nothing else sees them, and the strict policy keeps 0.9's behaviour.
Tested with math-verify 0.9.0 and latex2sympy2_extended 1.11.0; a version without these names is
refused loudly rather than graded differently.

The one stdlib `re` pattern here is math-verify's own replacement table (it looks around, so RE2 cannot
run it), handed back to math-verify, which runs it in the verifier worker under the check's timeout;
`tests/test_verify_linear.py` allows `re` in this module for that function only.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.latex_repairs import repair_parser

PINNED_VERSION = "0.7.0"
TESTED_WITH = "math-verify 0.9.0, latex2sympy2_extended 1.11.0"
# 0.7.0's unit pattern never matched (an empty set of characters); one group keeps 0.9's `\1` valid.
_NO_UNIT = linear.compile(r"[^\x00-\x{10ffff}]()")


def _no_units(current: re.Pattern[str]) -> linear.Pattern:
    return _NO_UNIT


def _symbol_rule_applies(gold: object, pred: object) -> bool:
    """Whether one of math-verify's symbol rules covers the pair (e vs E, a product of symbols, two
    symbols); outside them 0.7.0 answered False."""
    from sympy import E, Mul, Symbol

    def is_e(symbol: object) -> bool:
        return isinstance(symbol, Symbol) and symbol.name.lower() == "e"

    def symbol_product(expression: object) -> bool:
        return isinstance(expression, Mul) and all(a == E or isinstance(a, Symbol) for a in expression.args)

    return (
        (is_e(gold) and pred == E)
        or (is_e(pred) and gold == E)
        or (isinstance(gold, Symbol) and (isinstance(pred, Symbol) or symbol_product(pred)))
        or (isinstance(pred, Symbol) and symbol_product(gold))
    )


def _symbols_as_pinned(current: Callable[..., bool]) -> Callable[..., bool]:
    def compare_symbols(gold: object, pred: object) -> bool:
        return _symbol_rule_applies(gold, pred) and current(gold, pred)

    return compare_symbols


def _percent_of_integer(expression: object) -> bool:
    from sympy import Integer, Mul, Rational, UnevaluatedExpr

    return (
        isinstance(expression, Mul)
        and len(expression.args) == 2
        and expression.args[1] == UnevaluatedExpr(Rational(1, 100))
        and isinstance(expression.args[0], Integer)
    )


def _numeric_as_pinned(current: Callable[..., bool]) -> Callable[..., bool]:
    from sympy import Integer

    def numeric_eq(a: object, b: object, float_rounding: int, numeric_precision: int) -> bool:
        a_percent, b_percent = _percent_of_integer(a), _percent_of_integer(b)
        if a_percent != b_percent and isinstance(b if a_percent else a, Integer):
            return a.doit() == b.doit()  # an integer percentage against an integer: compare values
        return current(a, b, float_rounding, numeric_precision)

    return numeric_eq


def _solve_as_pinned(current: Callable[..., bool]) -> Callable[..., bool]:
    def solve_and_compare(gold: object, pred: object, float_rounding: int, numeric_precision: int) -> bool:
        from math_verify import grader
        from sympy import Eq, solve

        # Plain `sorted`: two or more solution dicts raise TypeError, and the pair is then not equal.
        gold_solutions = sorted(solve(gold, gold.free_symbols))
        pred_solutions = sorted(solve(pred, pred.free_symbols))
        if not (isinstance(gold, Eq) and isinstance(pred, Eq)):
            return grader.sympy_expr_eq(gold_solutions, pred_solutions, float_rounding, numeric_precision)
        return all(
            all(
                g_key == p_key and grader.sympy_expr_eq(g_value, p_value, float_rounding, numeric_precision)
                for (g_key, g_value), (p_key, p_value) in zip(
                    sorted(g.items()), sorted(p.items()), strict=False
                )
            )
            for g, p in zip(
                gold_solutions, pred_solutions, strict=False
            )  # 0.7.0 paired up to the shorter list
        )

    return solve_and_compare


# 0.7.0 joined two boxes when one of these stood between them (even inside a word).
PINNED_SEPARATORS = ("and", "or", ",", ";")


def _closing_brace(text: str, opening: int, limit: int) -> int | None:
    depth = 1
    for index in range(opening + 1, limit):
        depth += (text[index] == "{") - (text[index] == "}")
        if depth == 0:
            return index
    return None


def _boxes_as_pinned(current: Callable[..., str]) -> Callable[..., str]:
    def extract_boxed_content(text: str, mode: str = "last") -> str:
        """The boxes' contents joined by commas, right to left (0.7.0: no deduplication)."""
        found: list[str] = []
        limit, later_box = len(text), None
        while True:
            start = max(text.rfind("\\boxed", 0, limit), text.rfind("\\fbox", 0, limit))
            if start < 0:
                break
            brace = start + (6 if text.startswith("\\boxed", start) else 5)
            while brace < limit and text[brace].isspace():
                brace += 1
            if brace >= limit:
                break
            close = _closing_brace(text, brace, limit) if text[brace] == "{" else None
            if close is None:  # no brace or unbalanced: the rest is the answer if nothing came after
                found = found or [text[brace:]]
                break
            between = text[close + 1 : later_box] if later_box is not None else ""
            if (
                mode == "last"
                and later_box is not None
                and not (len(between) < 70 and any(separator in between for separator in PINNED_SEPARATORS))
            ):
                break
            found.append(text[brace + 1 : close].strip())
            limit = later_box = start
        return ",".join(reversed(found)) if found else text

    return extract_boxed_content


# 0.7.0's percent words: (name, pattern, replacement); 0.9's other percent entries did not exist.
PINNED_PERCENT_WORDS = {"percent": r"\s*percent", "percent_in_text": r"\\text{percent}"}
PINNED_PERCENT_REPLACEMENT = "\\\\%"
_NEW_PERCENT_WORDS = frozenset({"percentage", "percentage_in_text", "pct", "pct_in_text"})


def _pinned_replacements() -> list[tuple[str, str, str]]:
    """0.9's table of LaTeX replacements with the percent words as 0.7.0 had them."""
    from latex2sympy2_extended import math_normalization

    return [
        (name, PINNED_PERCENT_WORDS[name], PINNED_PERCENT_REPLACEMENT)
        if name in PINNED_PERCENT_WORDS
        else entry
        for entry in math_normalization.to_replace_patterns
        if (name := entry[0]) not in _NEW_PERCENT_WORDS
    ]


def _replacement_regex(current: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in _pinned_replacements()))


def _replacement_table(current: dict[str, str]) -> dict[str, str]:
    return {name: replacement for name, _, replacement in _pinned_replacements()}


# (module, name, the 0.7.0 behaviour built from 0.9's object under that name)
OVERRIDES: tuple[tuple[str, str, Callable], ...] = (
    ("latex2sympy2_extended.math_normalization", "units_regex", _no_units),
    ("latex2sympy2_extended.math_normalization", "extract_boxed_content", _boxes_as_pinned),
    ("latex2sympy2_extended.math_normalization", "to_replace_regex", _replacement_regex),
    ("latex2sympy2_extended.math_normalization", "replacements", _replacement_table),
    ("math_verify.grader", "sympy_compare_symbols", _symbols_as_pinned),
    ("math_verify.grader", "sympy_numeric_eq", _numeric_as_pinned),
    ("math_verify.grader", "sympy_solve_and_compare", _solve_as_pinned),
)


@contextmanager
def pinned_math_verify() -> Iterator[None]:
    """Inside this block, math-verify grades as 0.7.0 did (see the module docstring)."""
    repair_parser()
    saved = []
    try:
        for module_name, name, pinned in OVERRIDES:
            module = importlib.import_module(module_name)
            if not hasattr(module, name):
                raise RuntimeError(
                    f"{module_name} has no {name}: the reference policies reproduce math-verify "
                    f"{PINNED_VERSION} on top of {TESTED_WITH}; install those versions"
                )
            current = getattr(module, name)
            saved.append((module, name, current))
            setattr(module, name, pinned(current))
        yield
    finally:
        for owner, name, current in reversed(saved):
            setattr(owner, name, current)
