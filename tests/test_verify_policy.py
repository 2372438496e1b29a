"""The grading policy: equivalent forms accepted, wrong answers and reward hacks refused, conventions pinned."""

from __future__ import annotations

import pytest
from verify_support import think

from deepmath_ext.verify import Grade, GradeStatus, VerifierPool


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout_s=5.0) as verifier:
        yield verifier


def answer_grade(pool: VerifierPool, pred: str, gold: str) -> Grade:
    return pool.submit_answer(pred, gold).result()


# (pred, gold): the same answer written another way.
EQUIVALENT = [
    ("0.5", r"\frac12"),
    (r"\dfrac{1}{2}", "1/2"),
    (r"\tfrac{1}{2}", "0.5"),
    ("½", r"\frac{1}{2}"),
    ("√2", r"\sqrt{2}"),
    ("∞", r"\infty"),
    ("−5", "-5"),
    ("４２", "42"),
    ("4\u200b2", "42"),
    ("π", r"\pi"),
    ("25", r"25\%"),
    (r"10\,000", "10000"),
    ("1,000", "1000"),
    (r"32,\! 349", "32349"),
    ("7.", "7"),
    (r"30^\circ", "30"),
    (r"5 \text{ cm}", "5"),
    (r"\text{Yes}", "yes"),
    (r"\text{(C)}", "C"),
    ("x=2, x=3", "2, 3"),
    (r"x = 2 \text{ or } x = 3", "2, 3"),
    ("3, 2", "2, 3"),
    (r"\{3, 2\}", r"\{2, 3\}"),
    (r"\left( 1, 2 \right)", "(1,2)"),
    (r"\begin{bmatrix}1 & 2\end{bmatrix}", r"\begin{pmatrix}1 & 2\end{pmatrix}"),
    ("y=2x+1", "2x+1"),
    (r"3\times10^5", "300000"),
    (r"3\frac12", r"\frac72"),
    ("1011_{2}", "1011_2"),
    ("1011", "1011_2"),
    (r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}\sqrt{3}"),
    ("x^2+2x+1", "(x+1)^2"),
    (r"\sin^2 x + \cos^2 x", "1"),
    ("(1,2]", r"\left(1, 2\right]"),
    (r"(-\infty, 3)", "x < 3"),  # an interval answers an inequality gold
    (r"[2, \infty]", r"[2, \infty)"),  # sympy's reals have no point at infinity
    ("x = 5+6 = 11", "11"),  # a chain is read by its last side
    ("1,22", "1.22"),  # a decimal comma in the answer, against a decimal gold
]

# (pred, gold): different answers, including the peers' false positives from the policy note.
DIFFERENT = [
    ("100001", "100000"),  # no relative tolerance
    ("200", "2"),  # no x100 percentage guess
    ("0.25", r"25\%"),  # a percent sign is dropped, not divided by 100
    ("3.14", r"\pi"),
    (r"\frac{1}{2^{98}}", r"\frac{1}{2^{99}}"),  # math-verify's 6-decimal rounding calls these equal
    ("0.333", r"\frac13"),
    ("0.3333333", r"\frac13"),  # 7 digits are not the value
    ("0.1250001", r"\frac18"),  # a terminating value must be given exactly
    ("(2, 1)", "(1, 2)"),  # tuples are ordered
    ("(1,2)", "[1,2]"),
    ("x+1", "x-1"),
    (r"1+\frac{1}{e}", r"1-\frac{1}{e}"),
    ("no", "yes"),
    ("even", "odd"),
    ("11", "1011_2"),  # asked in base 2: the decimal value is not the base-2 numeral
    ("2, 3", "2"),
    (r"\ln 5", r"\log 5"),  # \log is base 10 (math-verify's reading), \ln is natural
    ("x < 3", r"(-\infty, 3)"),  # an inequality does not answer a question asking for a set
    ("0.0833333333333333", r"\frac{1}{12}"),  # a decimal is the exact value written
    ("1.22", "1,22"),  # a gold with a comma is a list
    (r"\frac{\pi}{3}", r"60^\circ"),  # no degree/radian conversion
]


@pytest.mark.parametrize(("pred", "gold"), EQUIVALENT)
def test_equivalent_forms_are_accepted(pool, pred, gold):
    grade = answer_grade(pool, pred, gold)
    assert grade.correct, grade


@pytest.mark.parametrize(("pred", "gold"), DIFFERENT)
def test_different_answers_are_refused(pool, pred, gold):
    grade = answer_grade(pool, pred, gold)
    assert not grade.correct, grade
    assert grade.status == GradeStatus.WRONG


# (response, gold, status): what extraction decides before any comparison.
EXTRACTION = [
    (think(r"The answer is $\boxed{42}$."), "42", GradeStatus.CORRECT_EXACT),
    (think(r"So \boxed{42}.", thinking=r"maybe \boxed{41}"), "42", GradeStatus.CORRECT_EXACT),
    (think(r"So \boxed{41}.", thinking=r"clearly \boxed{42}"), "42", GradeStatus.WRONG),
    (r"<think>I think \boxed{42}", "42", GradeStatus.FORMAT_ERROR),  # truncated before </think>
    (r"No think tags at all: \boxed{42}", "42", GradeStatus.FORMAT_ERROR),
    (think("The answer is 42."), "42", GradeStatus.NO_ANSWER),  # no fallback to the last number
    (think(r"$\boxed{2}$, or possibly $\boxed{3}$"), "2", GradeStatus.HEDGED),
    (think(r"\boxed{3}? No: \boxed{2}"), "2", GradeStatus.HEDGED),
    (think(r"$\boxed{2}$ ... as computed, $\boxed{2}$"), "2", GradeStatus.CORRECT_EXACT),
    (think(r"$\boxed{1/2}$, i.e. $\boxed{\frac{1}{2}}$"), "0.5", GradeStatus.CORRECT_NUMERIC),
    (think(r"$\boxed{2}$ and $\boxed{3}$"), "2, 3", GradeStatus.CORRECT_EXACT),  # boxes spell out a list
    (think(r"$\boxed{3}$ and $\boxed{2}$"), "2, 3", GradeStatus.CORRECT_NUMERIC),
    (think(r"Answer: \boxed{}"), "42", GradeStatus.NO_ANSWER),
    (think(r"\boxed{42} then \boxed{}"), "42", GradeStatus.NO_ANSWER),  # the final box is empty
    (think(r"\boxed{42"), "42", GradeStatus.NO_ANSWER),  # unclosed final box
    (think(r"\fbox{42}"), "42", GradeStatus.CORRECT_EXACT),
    (think(r"\boxed{\boxed{42}}"), "42", GradeStatus.CORRECT_EXACT),
    (think(r"\boxed{\text{the answer is not } 7}"), "7", GradeStatus.WRONG),
    (think(r"\boxed{3 \text{ or } 4}"), "3", GradeStatus.WRONG),
    (think(r"\boxed{x = 7 \implies 7 = 7}"), "7", GradeStatus.WRONG),
    (think(r"\boxed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}"), "7", GradeStatus.WRONG),  # a dump of numbers
    (think(r"\boxed{\phantom{2}} is 4, so \boxed{4}"), "4", GradeStatus.CORRECT_EXACT),
    (think("".join(rf"\boxed{{{i}}}" for i in range(60))), "59", GradeStatus.HEDGED),
]


@pytest.mark.parametrize(("response", "gold", "status"), EXTRACTION)
def test_extraction_policy(pool, response, gold, status):
    grade = pool.submit(response, gold).result()
    assert grade.status == status, grade
    assert grade.correct == status.is_correct


def test_without_think_requirement_the_whole_response_is_graded(pool):
    grade = pool.submit(r"Thus \boxed{42}.", "42", require_think=False).result()
    assert grade.correct
    # A </think> still marks where the answer starts.
    assert not pool.submit(think("", thinking=r"\boxed{42}"), "42", require_think=False).result().correct


def test_grade_carries_the_extracted_answer(pool):
    grade = pool.submit(think(r"so $\boxed{\dfrac{3}{4}}$."), "0.75").result()
    assert grade.pred == r"\dfrac{3}{4}"
    assert grade.status == GradeStatus.CORRECT_NUMERIC
    assert grade.to_dict()["status"] == "correct_numeric"


def test_bad_gold_is_a_clear_error(pool):
    with pytest.raises(ValueError, match="empty"):
        pool.submit(think(r"\boxed{1}"), "  ")
    with pytest.raises(TypeError, match="gold"):
        pool.submit(think(r"\boxed{1}"), None)
