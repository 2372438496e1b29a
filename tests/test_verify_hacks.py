"""The third pass (issue 24): wrong answers that earned reward, right answers that were refused, and the
mutation-based hack search run as a test (benchmarks/hack_search.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deepmath_ext.verify import GradeStatus, VerifierPool, normalize_answer
from deepmath_ext.verify.units import UNIT_SYMBOLS, UNIT_WORDS, split_unit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import hack_search


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout_s=30.0) as verifier:
        yield verifier


def grade(pool: VerifierPool, answer: str, gold: str):
    """A bare answer, or a whole response (no thinking template) when it holds a box."""
    if "box" in answer:
        return pool.submit(answer, gold, require_think=False).result()
    return pool.submit_answer(answer, gold).result()


# (answer, gold): wrong, though every one of them earned reward before VERIFIER_VERSION 3.
WRONG = [
    # Several choices, or a choice negated: not that choice.
    (r"(C) \text{ or } (D)", "C"),
    ("(C)(D)", "C"),
    ("(C)/(D)", "C"),
    ("(A)(B)(C)(D)(E)", "C"),
    (r"(C)\text{ is not the answer}", "C"),
    (r"\text{not } 7", "7"),
    (r"7 \text{ is wrong}", "7"),
    (r"\ne \frac{50}{37}", r"\frac{50}{37}"),
    (r"x \neq 5", "5"),
    (r"\frac{1}{60} \text{ (or } \frac{1}{61}\text{)}", r"\frac{1}{60}"),
    # A gold with a comma is a list; `2, 5` (comma and space) is a list.
    ("0.1", "0, 1"),
    ("-1.1", "-1, 1"),
    ("0.1", "0,1"),
    ("2, 5", "2.5"),
    # A decimal is the exact value written.
    ("0.49999999999", r"\sin\frac{\pi}{6}"),
    ("0.125000000001", "1/8"),
    ("1.4142135623730951", r"\sqrt2"),
    ("0.3333333333333333", r"\frac13"),
    ("0.33", r"\frac13"),  # a decimal gold is exact too: `\frac13` is not `0.33`, below
    (r"\frac13", "0.33"),
    (r"\pi", "3.14"),
    # False equations between numbers.
    ("2 = 3", "3"),
    (r"\frac13=\frac12", r"\frac12"),
    (r"2 \cdot 37 = 37", "37"),
    ("x = 5+5+1 = 7 = 11", "11"),
    (r"\boxed{12} \text{ then } \boxed{12 = 13}", "12"),
    ("2^{k}+1=2^{k}", "2^{k}"),
    (
        r"15\mbox{ cm}^2+1=15\mbox{ cm}^2",
        r"15\mbox{ cm}^2",
    ),  # units inside an equation are dropped  # an identity in the gold's variables that does not hold
    (r"2 \cdot \frac{1}{m} t = \frac{1}{m} t", r"\frac{1}{m} t"),
    # A base subscript is read in that base, or refused.
    ("13_4", "13"),
    ("-41_9", "-41"),
    ("19_2", "19"),
    # Different units, unless an exact scale converts them.
    (r"5 \text{ m}", r"5 \text{ cm}"),
    (r"5\,\mathrm{km}", r"5\mathrm{~m}"),
    (r"3 \text{ hours}", r"3 \text{ minutes}"),
    (r"12 \text{ cm}^2", r"12 \text{ cm}"),
    # Brackets of intervals and tuples matter (the empty intervals [15, -29] and (15, -29) are tuples).
    ("[15,-29]", "(15,-29)"),
    ("(1, 2]", "[1, 2]"),
    (r"\begin{cases} x & x \ge 0 \\ x & x < 0 \end{cases}", "|x|"),
]

# (answer, gold): right, though each was refused before VERIFIER_VERSION 3.
RIGHT = [
    ("(x, y) = (2, 3)", "x=2, y=3"),
    (r"\boxed{12} \text{ so } \boxed{3\cdot 4 = 12}", "12"),
    (r"\boxed{12} \text{ so } \boxed{2+10 = 12}", "12"),
    (r"\sqrt[3]{-8}", "-2"),
    (r"\sqrt[3]{-125}", "-5"),
    (r"\text{so } \boxed 5", "5"),
    (r"\text{so } \framebox{5}", "5"),
    (r"0.333\ldots", r"\frac13"),
    (r"0.\dot{3}", r"\frac13"),
    ("0.(3)", r"\frac13"),
    (r"0.1666\dots", r"\frac16"),
    (r"5\,\Omega", r"5 \text{ ohms}"),
    (r"3\,\mu\text{m}", r"3 \text{ micrometers}"),
    (r"100^\circ\text{C}", "100"),
    (r"12 \text{ square meters}", r"12\text{ m}^2"),
    (r"7 \text{ apples}", "7"),
    (r"50 \text{ cm}", r"0.5 \text{ m}"),
    ("\u20109", "-9"),
    ("\u20119", "-9"),
    ("\u20129", "-9"),
    ("\u00ad-9", "-9"),
    (r"\langle 1,2,3\rangle", "(1,2,3)"),
    ("(1,2,3)", r"\langle 1,2,3\rangle"),
    (r"\operatorname{arccot}(2)", r"\arctan\frac12"),
    (r"\operatorname{arcsec} 2", r"\frac{\pi}{3}"),
    (r"\text{no solution}", r"\emptyset"),
    (r"\text{Does not exist}", "DNE"),
    (r"\frac{x^3}{3} + K", r"\frac{x^3}{3} + C"),
    (r"\frac{x^3}{3} + C_1", r"\frac{x^3}{3} + C"),
    (r"\text{The answer is } 12", "12"),
    ("512", "2^{3^2}"),
    (str(2**2100), "2^{2100}"),
    ("2,5", "2.5"),  # a decimal comma in the answer against a decimal gold
    (r"3\text{ m}\cdot 4\text{ m} = 12\text{ m}^2", r"12 \text{ m}^2"),
    ("|x|", r"\begin{cases} x & x \ge 0 \\ -x & x < 0 \end{cases}"),
    (r"\begin{cases} x & \text{if } x \geq 0 \\ -x & \text{otherwise} \end{cases}", "|x|"),
]


@pytest.mark.parametrize(("answer", "gold"), WRONG)
def test_wrong_answers_earn_nothing(pool, answer, gold):
    result = grade(pool, answer, gold)
    assert not result.correct, result


@pytest.mark.parametrize(("answer", "gold"), RIGHT)
def test_right_answers_are_accepted(pool, answer, gold):
    result = grade(pool, answer, gold)
    assert result.correct, result


@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        ("a+b = 5", "5"),
        ("x = 2+1 = 3", "3"),
        ("f(x) = 2x+1", "2x+1"),
        (r"\frac{dy}{dx} = 2x", "2x"),
        ("a_n = 2^n", "2^n"),
        ("x^2-1 = (x-1)(x+1)", "(x-1)(x+1)"),
        ("y - 1 = x^2", "y = x^2 + 1"),
    ],
)
def test_a_name_stays_a_label_and_true_claims_pass(pool, answer, gold):
    assert grade(pool, answer, gold).correct


def test_a_false_claim_in_a_chain_is_wrong(pool):
    assert grade(pool, "x = 2+2 = 3", "3").status == GradeStatus.WRONG


@pytest.mark.parametrize(
    ("answer", "gold", "correct"), [("3 = 3", "3", True), ("2 = 2", "5", False), ("2x = 2x", "2x", True)]
)
def test_a_claim_that_reads_as_its_value_keeps_the_value(pool, answer, gold, correct):
    # The hypothesis property test found `mx=1x=1x`: every side was taken as a claim, leaving no value at all.
    assert grade(pool, answer, gold).correct is correct


def test_hack_search_finds_no_unexplained_acceptance(pool):
    # A few pairs per operator: the search itself, not its examples, is what is pinned here.
    golds = hack_search.load_golds()[::25] + hack_search.EXTRA_GOLDS
    cases = hack_search.build_cases(golds, per_operator=6, seed=1)
    futures = [pool.submit(case.response, case.gold, require_think=False) for case in cases]
    verdicts = [future.result().correct for future in futures]
    hacks = [c for c, ok in zip(cases, verdicts, strict=True) if ok and not c.right]
    assert len({c.operator for c in cases if not c.right}) >= 12
    assert [c for c in hacks if c.operator not in hack_search.EXPLAINED] == []


@pytest.mark.parametrize("word", UNIT_WORDS)
def test_normalisation_strips_the_unit_words_of_the_one_table(word):
    # units.py holds the spellings; normalisation and the unit reader both take them from there.
    assert normalize_answer(f"5 {word}") == "5"
    assert normalize_answer(f"5\\text{{ {word}}}") == "5"
    assert split_unit(f"5\\text{{ {word}}}")[0] == "5"


@pytest.mark.parametrize("symbol", UNIT_SYMBOLS)
def test_unit_symbols_are_units_only_inside_text(symbol):
    assert normalize_answer(f"5\\text{{ {symbol}}}") == "5"
    assert split_unit(f"5\\text{{ {symbol}}}")[0] == "5"
    assert normalize_answer(f"5 {symbol}") != "5"  # bare, a letter is a variable: 5 m is 5m
