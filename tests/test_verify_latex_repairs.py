"""The repairs of latex2sympy2_extended: percentages parse, and functions without a token read as themselves."""

from __future__ import annotations

import ast
import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from verify_support import think

from deepmath_ext.verify import GradeStatus, VerifierPool
from deepmath_ext.verify.latex_repairs import MISSING_ACCESSORS, MISSING_FUNCTIONS, SYMPY_NAMES, repair_parser
from deepmath_ext.verify.symbolic import parse_answer


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=1, timeout_s=5.0) as verifier:
        yield verifier


def _accessors(parser_source: Path) -> dict[str, set[str]]:
    """Token accessors (upper-case methods) of every context class in a generated parser's source."""
    tree = ast.parse(parser_source.read_text())
    return {
        node.name: {f.name for f in node.body if isinstance(f, ast.FunctionDef) and f.name.isupper()}
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name.endswith("Context")
    }


def test_the_installed_parser_has_every_accessor_the_converter_was_written_for():
    # The converter is written against the antlr 4.13 parser; whatever that one has, ours must answer.
    from latex2sympy2_extended.antlr_parser import PSParser

    generated = Path(importlib.util.find_spec("latex2sympy2_extended.gen").origin).parent
    newest = _accessors(generated / "antlr4_13_2" / "PSParser.py")
    repair_parser()
    missing = [
        f"{context}.{token}"
        for context, tokens in newest.items()
        for token in tokens
        if not hasattr(getattr(PSParser, context, None), token)
    ]
    assert missing == [], f"add them to MISSING_ACCESSORS: {missing}"
    assert {token for _, _, token in MISSING_ACCESSORS} == {"FUNC_GAMMA"}


decimals = st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(decimals, st.sampled_from(["", " "]))
def test_percentages_parse_to_their_value(value: Decimal, space: str) -> None:
    from latex2sympy2_extended import latex2sympy

    repair_parser()
    parsed = latex2sympy(f"{value}{space}\\%")  # raised AttributeError (FUNC_GAMMA) before the repair
    exact = parsed.xreplace({f: sympy.Rational(str(f)) for f in parsed.atoms(sympy.Float)}).doit()
    assert exact == sympy.Rational(str(value)) / 100


def _percent(value: Decimal, form: str, space: str) -> str:
    if form == "fraction":
        fraction = sympy.Rational(str(value))
        sign = "-" if fraction < 0 else ""
        return f"{sign}\\frac{{{abs(fraction.p)}}}{{{fraction.q}}}{space}\\%"
    return f"{value}{space}\\%"


# Every spacing and operand a percentage is written with, the ones latex2sympy's grammar refuses too.
SPACINGS = ["", " ", "  ", "\\,", "\\ ", "~"]


@settings(max_examples=100, deadline=None)
@given(decimals, st.sampled_from(["decimal", "fraction"]), st.sampled_from(SPACINGS))
def test_every_percent_form_grades_by_the_convention(pool, value: Decimal, form: str, space: str) -> None:
    answer = _percent(value, form, space)
    parse_answer(answer)  # whatever the grammar refuses, no parser exception escapes math-verify
    response = think(rf"\boxed{{{answer}}}")
    assert pool.submit(response, str(value)).result().correct
    if value:
        assert not pool.submit(response, str(value / 100)).result().correct


# Percent forms against golds: the sign is dropped (docs/verifier.md), never a x100 guess.
PERCENTS = [
    (r"62.5\%", "62.5", True),
    (r"62.5\%", r"\frac{125}{2}", True),
    (r"62.5\%", r"62.5\%", True),
    (r"62.5 \%", r"62.5\%", True),
    (r"\frac{125}{2}\%", "62.5", True),
    (r"62.5\%", "0.625", False),
    (r"0.625", r"62.5\%", False),
    (r"62.5\%", "62.6", False),
    (r"-3.5\%", "-3.5", True),
    (r"62.5 \text{ percent}", "62.5", True),
    (r"(62.5\%, 3)", "(62.5, 3)", True),
    (r"x = 62.5\%", "62.5", True),
]


def _value(latex: str) -> sympy.Expr:
    parsed = parse_answer(latex)[1]
    assert parsed, f"{latex} does not parse"
    return parsed[0]


X = sympy.Symbol("x", real=True)


def _agree(value: sympy.Expr, expected: sympy.Expr) -> bool:
    """Equal at x = 3/2 to 25 digits (complex values included: asech(3/2) is not real)."""
    return abs(complex((value - expected).evalf(30, subs={X: sympy.Rational(3, 2)}))) < 1e-25


# Every function of the table, in every way it is written, against sympy's own function.
FUNCTIONS = [
    (name, spelling.format(name=name), expected(getattr(sympy, function), getattr(sympy, inverse)))
    for name, (_, function, inverse) in MISSING_FUNCTIONS.items()
    for spelling, expected in [
        (r"\{name}(2)", lambda f, g: f(2)),
        (r"\{name} 2", lambda f, g: f(2)),
        (r"\{name} x", lambda f, g: f(X)),
        (r"\{name}^2 x", lambda f, g: f(X) ** 2),
        (r"\{name}^{{3}}(x+1)", lambda f, g: f(X + 1) ** 3),
        (r"\{name}^{{-1}} x", lambda f, g: g(X)),
        (r"\frac{{1}}{{2}}\{name} 2x + 1", lambda f, g: f(2 * X) / 2 + 1),
        (r"\operatorname{{{name}}}(x)", lambda f, g: f(X)),
    ]
]


@pytest.mark.parametrize(("name", "latex", "expected"), FUNCTIONS)
def test_functions_without_a_token_are_themselves(name, latex, expected):
    from deepmath_ext.verify.notation import rewrite_notation

    value = _value(rewrite_notation(latex))
    assert _agree(value, expected), (latex, value)


@pytest.mark.parametrize("name", sorted(SYMPY_NAMES))
def test_sympy_names_of_functions_are_those_functions(name):
    # `sympy.latex` writes `\operatorname{asinh}^{2}{\left(x \right)}`: read back as sympy's asinh(x)**2.
    from deepmath_ext.verify.notation import rewrite_notation

    function = getattr(sympy, name)
    expected = function(X) ** 2 + function(X + 1)
    value = _value(rewrite_notation(sympy.latex(expected)))
    assert _agree(value, expected), (name, value)


# Functions graded by value; then boxes that do not parse as a whole, never graded by a fragment (found by
# the hack search's fuzz: math-verify read both of the first such pair as -9/2), and letter exponents.
REPAIRED = [
    *PERCENTS,
    (r"\coth x", r"\frac{\cosh x}{\sinh x}", True),
    (r"\coth x", r"\cot(hx)", False),
    (r"\sech^2 x", r"1 - \tanh^2 x", True),
    (r"\csch 2", r"\frac{2}{e^{2} - e^{-2}}", True),
    (r"\operatorname{arcoth} 3", r"\frac{1}{2}\ln 2", True),
    (r"\arcsech \frac{1}{2}", r"\ln(2+\sqrt3)", True),
    (r"\coth x", r"\tanh x", False),
    (r"x - \frac{9}{2} - \sqrt{2} + e^{e}", r"- \frac{9}{2} - \sqrt{2} + e^{e}", False),
    (r"x-\frac{9}{2}+\#", r"-\frac{9}{2}", False),
    (r"y+\frac{1}{3}@", r"\frac{1}{3}", False),
    (r"e^e", r"\exp(e)", True),
    (r"2^e x", r"x \cdot 2^{e}", True),
    (r"x^e + 1", r"x^{e} + 2", False),
]


@pytest.mark.parametrize(("pred", "gold", "correct"), REPAIRED)
def test_repaired_forms_grade_as_the_conventions_say(pool, pred, gold, correct):
    grade = pool.submit(think(rf"\boxed{{{pred}}}"), gold).result()
    assert grade.correct is correct, grade
    assert grade.status is not GradeStatus.TIMEOUT
