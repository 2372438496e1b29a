"""Property-based checks of the verifier's exact paths: equal values agree, different values never do."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from deepmath_ext.verify import GradeStatus, grade

THINK = "<think>\nLet me work it out.\n</think>\n\n"
integers = st.integers(min_value=-(10**12), max_value=10**12)
denominators = st.integers(min_value=1, max_value=10**6)
# Thinking text may say anything, boxes included, but cannot close the thinking section itself.
thinking_text = st.text(max_size=200).filter(lambda text: "</think>" not in text)


def boxed(answer: str, *, thinking: str = "Let me work it out.") -> str:
    return f"<think>\n{thinking}\n</think>\n\nSo the answer is $\\boxed{{{answer}}}$."


@settings(max_examples=200, deadline=None)
@given(integers, integers)
def test_integers_match_exactly_and_only_themselves(answer: int, gold: int) -> None:
    result = grade(boxed(str(answer)), str(gold))
    assert result.correct == (answer == gold)
    assert result.status in {GradeStatus.CORRECT_EXACT, GradeStatus.CORRECT_NUMERIC, GradeStatus.WRONG}


@settings(max_examples=200, deadline=None)
@given(integers, denominators)
def test_fraction_forms_agree_with_each_other(numerator: int, denominator: int) -> None:
    value = Fraction(numerator, denominator)
    latex = rf"\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
    latex = f"-{latex}" if value < 0 else latex
    assert grade(boxed(latex), f"{value.numerator}/{value.denominator}").correct
    assert grade(boxed(rf"\dfrac{{{numerator}}}{{{denominator}}}"), latex).correct


@settings(max_examples=200, deadline=None)
@given(integers, integers.filter(lambda n: n != 0))
def test_no_tolerance_between_different_rationals(numerator: int, shift: int) -> None:
    # Values a relative 1e-12 apart are still different answers: no rounding, no percentage guessing.
    gold = Fraction(numerator, 10**6)
    answer = gold + Fraction(shift, 10**18)
    assert not grade(boxed(f"{answer.numerator}/{answer.denominator}"), str(gold)).correct


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1000, max_value=10**15))
def test_thousands_separators_are_the_same_number(value: int) -> None:
    assert grade(boxed(f"{value:,}"), str(value)).correct
    assert grade(boxed(f"{value:,}".replace(",", r"\,")), str(value)).correct


@settings(max_examples=200, deadline=None)
@given(thinking_text, integers)
def test_only_the_text_after_the_last_think_is_graded(thinking: str, gold: int) -> None:
    right = grade(boxed(str(gold), thinking=thinking), str(gold))
    assert right.correct and right.pred == str(gold)
    # A correct answer inside the thinking earns nothing when the final answer is wrong.
    wrong = grade(boxed(str(gold + 1), thinking=f"{thinking} \\boxed{{{gold}}}"), str(gold))
    assert not wrong.correct


@settings(max_examples=100, deadline=None)
@given(integers, integers)
def test_two_different_boxed_answers_are_hedging(first: int, second: int) -> None:
    response = f"{THINK}It is $\\boxed{{{first}}}$, or possibly $\\boxed{{{second}}}$."
    result = grade(response, str(first))
    if first == second:
        assert result.correct
    else:
        assert result.status == GradeStatus.HEDGED and not result.correct
