"""The caller-side refutations (verify/interval.py) decide only what the symbolic check decides the same way.

A differential test: seeded random closed forms of the refuter's grammar (and near misses of it) are
parsed by the symbolic check's own path (math-verify, `symbolic.parse_answer`) and evaluated with sympy
at 40 digits; every value the refuter computes must enclose sympy's, and every pair it refutes must be
graded wrong by `symbolic_status`.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from deepmath_ext.verify.interval import evaluate, refutes
from deepmath_ext.verify.pipeline import PendingCheck, decide_answer
from deepmath_ext.verify.status import GradeStatus

sympy = pytest.importorskip("sympy")
symbolic = pytest.importorskip("deepmath_ext.verify.symbolic")

SEED, COUNT = 20261207, 300


def _leaf(rng: random.Random) -> str:
    return rng.choice(
        [
            str(rng.randint(0, 12)),
            f"{rng.randint(0, 99)}.{rng.randint(0, 99)}",
            r"\pi",
            rf"\frac{rng.randint(1, 9)}{rng.randint(1, 9)}",
            rf"\sqrt{{{rng.randint(0, 50)}}}",
        ]
    )


def random_closed_form(rng: random.Random, depth: int = 3) -> str:
    """A closed form of the grammar, with juxtaposition, signs, powers and roots mixed in."""
    if depth == 0 or rng.random() < 0.25:
        return _leaf(rng)
    a, b = random_closed_form(rng, depth - 1), random_closed_form(rng, depth - 1)
    return rng.choice(
        [
            f"{a}+{b}",
            f"{a}-{b}",
            rf"{a}\cdot{b}",
            rf"{a}\times{b}",
            f"{a}*{b}",
            f"{a}/{b}",
            f"{a}({b})",
            rf"{a}\sqrt{{{b}}}",
            rf"{a}\pi",
            f"-{a}",
            f"({a})^{rng.randint(0, 4)}",
            f"({a})^{{{rng.randint(-3, 3)}}}",
            f"({a})^{{{b}}}",
            rf"\frac{{{a}}}{{{b}}}",
            rf"\sqrt[{rng.randint(2, 5)}]{{{a}}}",
            f"{{{a}}}",
        ]
    )


def sympy_value(text: str):
    """The 40-digit value of `text` as the symbolic check parses it, or None when it is not a finite real."""
    parsed = symbolic.parse_answer(text)[1]
    if not parsed or not isinstance(parsed[0], sympy.Expr) or parsed[0].free_symbols:
        return None
    value = parsed[0].evalf(40)
    return value if value.is_real and value.is_finite else None


def enclosing(value, interval) -> bool:
    if isinstance(interval, Fraction):
        return value == sympy.Rational(interval.numerator, interval.denominator) or abs(
            value - sympy.Rational(interval.numerator, interval.denominator)
        ) <= sympy.Float("1e-35") * max(1, abs(value))
    lo, hi = interval
    return sympy.Float(lo, 40) <= value <= sympy.Float(hi, 40)


def generated() -> list[str]:
    rng = random.Random(SEED)
    return [random_closed_form(rng) for _ in range(COUNT)]


def test_every_value_encloses_the_symbolic_checks_reading():
    texts = generated()
    evaluated = [(text, evaluate(text)) for text in texts]
    accepted = [(text, value) for text, value in evaluated if value is not None]
    assert len(accepted) > COUNT // 3  # the grammar covers most of what it generates
    wrong = []
    for text, value in accepted:
        reference = sympy_value(text)
        if reference is not None and not enclosing(reference, value):
            wrong.append((text, value, reference))
    assert wrong == []


def test_every_refutation_is_a_wrong_grade_of_the_symbolic_check():
    texts = generated()
    rng = random.Random(SEED + 1)
    pairs = [(text, rng.choice(texts)) for text in texts] + [
        (text, text + "+10^{-12}") for text in texts[:40]
    ]
    refuted = [(pred, gold) for pred, gold in pairs if refutes(pred, gold)]
    assert len(refuted) > 50
    for pred, gold in refuted:
        assert symbolic.symbolic_status(pred, gold)[0] == GradeStatus.WRONG, (pred, gold)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        (r"\sqrt{34} + 3\sqrt{10}", "28"),  # a Qwen2.5-Math answer that used to wait for a worker
        ("C", "A"),
        (r"\frac{3\pi}{4}", r"\frac{4\pi}{3}"),
    ],
)
def test_refuted_answers_are_graded_wrong_in_the_caller(pred, gold):
    grade = decide_answer(pred, gold)
    assert not isinstance(grade, PendingCheck)
    assert grade.status == GradeStatus.WRONG and grade.detail is None


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("B", "b"),  # one name to the symbolic check
        ("1+10^{-12}", "1"),  # within its relative tolerance
        (r"(\sqrt{2}+1)^{40}-(\sqrt{2}-1)^{-40}", "0"),  # an interval too wide to decide
        (r"2\frac{1}{2}", r"\sqrt{6.25}"),  # a mixed number: not the grammar's
        (r"\sqrt[3]{-8}", "2"),  # odd roots of negatives follow a policy
        ("2^10", "1024"),  # LaTeX and latex2sympy disagree
    ],
)
def test_undecidable_pairs_are_left_to_the_worker(pred, gold):
    assert not refutes(pred, gold)


def test_the_parser_stays_linear_and_bounded():
    assert evaluate("-" * 4000 + "5") == -5 or evaluate("-" * 4000 + "5") == 5
    assert (
        evaluate("(" * 3000 + "1" + ")" * 3000) is None
    )  # deeper than MAX_DEPTH: refused, no recursion error
