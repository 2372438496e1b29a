"""The grading-policy registry: each reference rule's distinguishing behaviour, next to `strict`."""

from __future__ import annotations

import pytest
from verify_support import think

from deepmath_ext.data.benchmarks import needs_olympiad_judge
from deepmath_ext.verify import POLICY_NAMES, GradeStatus, VerifierPool, grade, grade_batch
from deepmath_ext.verify.olympiad_judge import olympiad_equal
from deepmath_ext.verify.reference import answer_line
from deepmath_ext.verify.reference_equal import math_equal

# Generous: these tests check verdicts, and a loaded machine must not turn one into a timeout.
DEADLINE_S = 30.0
SHORT_DEADLINE_S = 1.0
# math-verify's extraction regex is quadratic on unclosed display math: far past any short deadline.
BLOW_UP = "\\[ x" * 20_000


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout_s=DEADLINE_S) as verifier:
        yield verifier


def statuses(pool: VerifierPool, response: str, gold: str, olympiad_judge: bool = False) -> dict[str, str]:
    """The status of one response under every policy."""
    return {
        name: pool.submit(response, gold, policy=name, olympiad_judge=olympiad_judge).result().status.value
        for name in POLICY_NAMES
    }


def test_registry_names_and_default_policy(pool):
    assert POLICY_NAMES == ("strict", "reference", "reference-single-box", "reference-eval")
    response = think(r"\boxed{100001}")
    assert grade(response, "100000", pool=pool) == grade(response, "100000", policy="strict", pool=pool)


@pytest.mark.parametrize("call", [grade, grade_batch])
def test_unknown_policy_is_refused_with_the_known_names(call, pool):
    args = ("x", "1") if call is grade else (["x"], ["1"])
    with pytest.raises(
        ValueError, match=r"unknown grading policy 'lenient'; known policies: strict, reference, "
    ):
        call(*args, policy="lenient", pool=pool)


def test_relative_tolerance_1e4(pool):
    assert statuses(pool, think(r"\boxed{100001}"), "100000") == {
        "strict": "wrong",
        "reference": "correct_numeric",
        "reference-single-box": "correct_numeric",
        "reference-eval": "correct_numeric",
    }
    assert not grade(think(r"\boxed{100011}"), "100000", policy="reference", pool=pool).correct


@pytest.mark.parametrize(("pred", "gold"), [("200", "2"), ("0.25", "25"), ("25", "25\\%")])
def test_percentage_forms(pool, pred, gold):
    response = think(rf"\boxed{{{pred}}}")
    result = grade(response, gold, policy="reference", pool=pool)
    assert (result.correct, result.pred, result.detail) == (True, pred, "math_equal on the last box")
    assert grade(response, gold, pool=pool).correct is (pred == "25")


def test_think_rule(pool):
    no_think = r"The answer is \boxed{12}."
    assert statuses(pool, no_think, "12") == {
        "strict": "format_error",
        "reference": "format_error",
        "reference-single-box": "correct_exact",
        "reference-eval": "correct_exact",
    }
    # Only the text after the last </think> counts for the training reward, not for the evaluator.
    inside_only = r"<think>so \boxed{12}</think> I am not sure."
    assert statuses(pool, inside_only, "12") == {
        "strict": "no_answer",
        "reference": "no_answer",
        "reference-single-box": "correct_exact",
        "reference-eval": "correct_exact",
    }


def test_box_count(pool):
    hedged = think(r"It is \boxed{2} or maybe \boxed{3}.")
    assert statuses(pool, hedged, "3") == {
        "strict": "hedged",
        "reference": "correct_exact",
        "reference-single-box": "format_error",
        "reference-eval": "correct_exact",
    }
    result = grade("So the answer is $3$.", "3", policy="reference-single-box", pool=pool)
    assert (result.status, result.detail) == (GradeStatus.FORMAT_ERROR, "0 \\boxed in the response, not 1")


def test_math_verify_on_the_whole_graded_text(pool):
    unboxed = think(r"Therefore $x = \frac{1}{2}$.")
    result = grade(unboxed, "0.5", policy="reference", pool=pool)
    assert (result.status, result.pred, result.detail) == (
        GradeStatus.CORRECT_SYMBOLIC,
        None,
        "math-verify on the text",
    )
    assert grade(unboxed, "0.5", pool=pool).status == GradeStatus.NO_ANSWER


def test_answer_line_is_read_by_the_evaluator_only(pool):
    # math-verify refuses 100001 for 100000; only math_equal on the "The answer is:" line accepts it.
    response = think("So we get it.\nThe answer is: 100001")
    assert statuses(pool, response, "100000") == {
        "strict": "no_answer",
        "reference": "no_answer",
        "reference-single-box": "format_error",
        "reference-eval": "correct_numeric",
    }
    assert (
        grade(response, "100000", policy="reference-eval", pool=pool).detail
        == "math_equal on the answer line"
    )


def test_olympiad_judge_runs_for_olympiadbench_only(pool):
    # The judge reads the last line's $...$ spans after </think>, and an equation by its right side.
    response = r"<think>maybe \boxed{7}</think> Hence $x = 6$ and $y = 1$"
    plain = grade(response, "6, 1", policy="reference-eval", pool=pool)
    judged = grade(
        response,
        "6, 1",
        policy="reference-eval",
        olympiad_judge=needs_olympiad_judge("olympiadbench"),
        pool=pool,
    )
    assert (plain.status, judged.status) == (GradeStatus.WRONG, GradeStatus.CORRECT_SYMBOLIC)
    assert judged.detail == "olympiad judge"
    assert judged.pred == "7"  # the grade still names the last box


@pytest.mark.parametrize(
    ("text", "gold", "expected"),
    [
        (r"\boxed{3} and \boxed{2}", "2, 3", True),  # all boxes, comma parts in any order
        (r"\boxed{1 \pm \sqrt{2}}", r"1+\sqrt{2}, 1-\sqrt{2}", True),  # \pm expansion
        (r"\boxed{2, -2}", r"\pm 2", True),
        (r"\boxed{2}", r"\pm 2", False),  # part counts differ
        (r"\boxed{[1, 2)}", "[1,2)", True),
        (r"\boxed{(1, 2]}", "[1,2)", False),  # interval brackets matter
        (r"\boxed{1.000000001}", "1", True),  # absolute precision 1e-8
        (r"\boxed{1.0001}", "1", False),  # that math_equal's 1e-4 would accept
        (r"\boxed{2x+4y=6}", "x+2y=3", True),  # equations equal up to an integer factor
        (r"\boxed{2x+4y=7}", "x+2y=3", False),
        (r"\boxed{y = 5}", "5", True),  # the side after the last =
    ],
)
def test_olympiad_judge_rules(text, gold, expected):
    assert olympiad_equal(text, gold) is expected


@pytest.mark.parametrize(
    ("pred", "gold", "status"),
    [
        ("x = 3", "3", "correct_exact"),  # a short label is dropped
        (r"5 \text{ cm}", "5", "correct_exact"),
        ("1,000", "1000", "correct_numeric"),
        (r"\dfrac12", "0.5", "correct_symbolic"),
        ("(1,2)", "[1,2]", "correct_symbolic"),  # lists element-wise; the bracket kind is not compared
        ("(1,3)", "(1,2)", "wrong"),
        ("2x+1", "1+2x", "correct_symbolic"),
        ("3.1416", r"\pi", "correct_symbolic"),  # numerically within 1e-4
        ("3.14", r"\pi", "wrong"),
        ("-3", "3", "wrong"),
    ],
)
def test_math_equal_rules(pred, gold, status):
    assert math_equal(pred, gold).value == status


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("work\nThe answer is: $42$.", "42"),
        ("The answer is: 1\nThe answer is: 2", "2"),
        ("The answer is 7", None),
    ],
)
def test_answer_line(text, answer):
    assert answer_line(text) == answer


def test_reference_hang_is_killed_at_the_deadline_counted_once_and_memoised():
    with VerifierPool(workers=1, timeout_s=SHORT_DEADLINE_S) as short_pool:
        response = think(BLOW_UP + r" \boxed{41}")  # the last box is wrong, so math-verify reads the text
        # The same response twice is one check (memoised), so one kill and one count.
        first, second = [short_pool.submit(response, "42", policy="reference") for _ in range(2)]
        for result in (first.result(), second.result()):
            assert (result.status, result.pred) == (GradeStatus.TIMEOUT, "41")
            assert result.detail == f"reference check exceeded {SHORT_DEADLINE_S:g} s"
        assert short_pool.counts["timeouts"] == 1
        # The replacement worker grades the next item.
        after = short_pool.submit(think(r"So $\frac{1}{2}$."), "0.5", policy="reference").result()
        assert after.status == GradeStatus.CORRECT_SYMBOLIC


@pytest.mark.timeout(60)  # the in-process part is linear: a quadratic normal form would take hours here
def test_huge_answer_line_is_graded_in_the_caller_without_hanging(pool):
    response = "The answer is: 1" + " " * 200_000 + "2"
    result = grade(response, "12", policy="reference-eval", pool=pool)
    assert (result.status, result.detail) == (GradeStatus.CORRECT_EXACT, "math_equal on the answer line")


def test_batch_under_a_reference_policy_keeps_order(pool):
    responses = [think(r"\boxed{41}"), think(r"\boxed{42}")] * 8
    grades = grade_batch(responses, ["42"] * 16, policy="reference", pool=pool)
    assert [g.correct for g in grades] == [False, True] * 8
    assert {g.status for g in grades[::2]} == {GradeStatus.WRONG}
