"""The grading-policy registry: each reference rule's distinguishing behaviour, next to `strict`."""

from __future__ import annotations

import importlib

import pytest
from verify_support import think

from deepmath_ext.data.benchmarks import needs_olympiad_judge
from deepmath_ext.verify import POLICY_NAMES, GradeStatus, VerifierPool, grade, grade_batch
from deepmath_ext.verify.math_verify_pin import OVERRIDES, pinned_math_verify
from deepmath_ext.verify.olympiad_judge import olympiad_equal
from deepmath_ext.verify.reference import answer_line, last_box, math_verify_equal, reward_gold
from deepmath_ext.verify.reference_equal import math_equal, python_syntax

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


# Each verdict is the reference's own OBJudge (uni_eval.py, run in its environment by reference_driver.py).
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
        (r"\boxed{y = 5}", "5", True),  # the side after the =
        (r"so there are $\mathbf{2 0}$ lineups.", "20", True),  # digits apart are one number
        ("$1:00$", "$12:00$", False),  # a division by zero equals nothing
        (r"\boxed{\infty}", "5", False),
        (r"\boxed{10^{400}}", "5", False),
        (r"\boxed{0}", r"\infty", False),
    ],
)
def test_olympiad_judge_rules(text, gold, expected):
    assert olympiad_equal(text, gold) is expected


# Each verdict below is the reference's own `math_equal` (zwhe99/DeepMath utils/openmathinst_utils.py, run in
# its environment by benchmarks/reference_driver.py), not our reading of it.
@pytest.mark.parametrize(
    ("pred", "gold", "correct"),
    [
        ("100001", "100000", True),  # relative 1e-4
        ("100011", "100000", False),
        ("200", "2", True),  # gold x100
        ("0.25", "25", True),  # gold /100
        ("x = 3", "3", False),  # no label dropping (math-verify accepts it, not math_equal)
        (r"5 \text{ cm}", "5", True),  # a trailing \text unit
        (r"5 \text{ meters}", "5", True),
        ("1,000", "1000", True),
        (r"\dfrac12", "0.5", True),
        ("(1,2)", "[1,2]", False),  # different brackets are different
        ("(1,2)", "(1,2.00001)", True),  # same brackets: element by element
        ("2, 3", "3, 2", False),  # comma lists in order
        ("2x+1", "1+2x", True),
        ("3.1416", r"\pi", False),  # its LaTeX parser reads \pi as a symbol: no numeric value
        ("-3", "3", False),
        ("[2,5)", "(2,5)", False),  # half-open is not open
        (r"9999 \frac{6}{7}", "10{,}000", False),
        ("4h", "4", False),
        (r"3 \frac{1}{2}", "3.5", True),  # a mixed number
        ("2^10", "1024", False),  # Python syntax first: `^` is XOR there
        ("1011_2", "1011", True),
        (r"\text{Monday}", "Monday", True),
    ],
)
def test_math_equal_matches_the_reference(pred, gold, correct):
    assert math_equal(pred, gold).is_correct is correct


# Answers that are no number at all, or that overflow a float, against numeric golds; and 0 against gold
# \infty. A tolerance relative to inf is inf, so a comparison `|a - b| <= tol * max(|a|, |b|)` accepted
# every one; the reference (math.isclose) refuses them all.
OVERFLOW_HACKS = (
    r"\infty",
    r"-\infty",
    "10^{400}",
    "e^{1000}",
    "1000!",
    "1e400",
    r"\text{inf}",
)
# math-verify evaluates a tower while it reads the text: the deadline ends it (a counted timeout).
TOWER = "9^{9^{9^9}}"
REFERENCE_POLICIES = ("reference", "reference-single-box", "reference-eval")


@pytest.mark.parametrize("policy", REFERENCE_POLICIES)
def test_infinity_and_overflow_earn_no_reward(pool, policy):
    pairs = [(hack, gold) for hack in OVERFLOW_HACKS for gold in ("5", r"\frac{1}{2}", "-3", "100000")]
    pairs += [("0", r"\infty"), ("1", r"\infty"), (r"-\infty", r"\infty")]
    responses = [think(rf"So the answer is \boxed{{{answer}}}.") for answer, _ in pairs]
    grades = pool.grade_batch(responses, [gold for _, gold in pairs], policy=policy)
    assert [pair for pair, g in zip(pairs, grades, strict=True) if g.correct] == []
    # ... while a true infinity or a true huge number still counts.
    same = pool.grade_batch(
        [think(r"\boxed{\infty}"), think(r"\boxed{10^{400}}")], [r"\infty", "10^{400}"], policy=policy
    )
    assert [g.correct for g in same] == [True, True]


def test_a_tower_earns_no_reward():
    with VerifierPool(workers=1, timeout_s=SHORT_DEADLINE_S) as short_pool:
        for policy in REFERENCE_POLICIES:
            result = short_pool.submit(think(rf"\boxed{{{TOWER}}}"), "5", policy=policy).result()
            assert result.status in (GradeStatus.WRONG, GradeStatus.TIMEOUT)


# Each verdict is math-verify 0.7.0's, run in the reference's environment.
@pytest.mark.parametrize(
    ("text", "gold", "correct"),
    [
        (r"so $4h$", "4", False),  # 0.9 strips `h` as a unit; 0.7.0 did not
        (r"so $\frac13\pi r^2 h$", r"\frac13\pi r^2", False),
        (r"the answer is $\mathbf{9}$.", "9", False),  # the symbol `9` is not the number 9 in 0.7.0
        (r"so $28$", r"28\%", False),  # 0.7.0 compares a percentage by value
        (r"so $0.28$", r"28\%", True),
        (r"so $62.5 \%$", "62.5%", True),  # percentages parse (latex2sympy 1.11 + antlr 4.9.3 did not)
        (r"so $\frac{1}{2}$", "0.5", True),
        (r"$\boxed{28 pct}", r"$28\%$", False),  # `pct` is no percent word in 0.7.0
        ("28 percent", r"$28\%$", True),
        (r"so $x^2/16 + y^2/12 = 1/4$", "x^2/4 + y^2/3 = 1", False),  # 0.7.0 could not sort two solutions
        (r"so $2x+2y=6$", "x+y=3", True),
        (r"so $\boxed{1,2}$", r"\boxed{1}\boxed{2}", False),  # adjacent boxes without a separator: the last
        (r"so $\boxed{1,2}$", r"\boxed{1}, \boxed{2}", True),
    ],
)
def test_math_verify_is_pinned_to_the_reference_version(text, gold, correct):
    assert math_verify_equal(text, reward_gold(gold)) is correct


def test_the_pin_leaves_math_verify_as_it_was():
    def current() -> list[object]:
        return [getattr(importlib.import_module(module), name) for module, name, _ in OVERRIDES]

    before = current()
    with pytest.raises(KeyError), pinned_math_verify():
        assert all(inside is not outside for inside, outside in zip(current(), before, strict=True))
        raise KeyError("an error inside the block restores everything too")
    assert all(after is outside for after, outside in zip(current(), before, strict=True))


@pytest.mark.parametrize(
    ("text", "box"),
    [
        (r"a \boxed{1} b \boxed{2}", "2"),
        (r"\boxed{\boxed{5}}", "5"),  # the last `\boxed` even when nested
        (r"\boxed{3} then \boxed 4", None),  # the last `\boxed` has no brace: no answer
        (r"\fbox{5}", None),
        (r"\boxed{\frac{1}{2}", None),  # unbalanced
        (r"\boxed{}", ""),
    ],
)
def test_last_box_as_the_reference_reads_it(text, box):
    assert last_box(text) == box


@pytest.mark.parametrize("text", ["__import__('os')", "exit()", "input()", "open(x)", "x.evalf", "S(1)"])
def test_python_syntax_reading_never_runs_code(text):
    assert python_syntax(text) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("work\nThe answer is: $42$.", "$42$."),  # as written: math_equal normalises it
        ("The answer is: 1\nThe answer is: 2", "2"),
        ("The answer is: 7\n", "7"),  # one trailing newline is allowed
        ("The answer is: 7\nmore text", None),  # only the final line counts
        ("The answer is: 7\n\n", None),
        ("The answer is 7", None),
        ("The answer is: 3 The answer is: 4", "3 The answer is: 4"),  # from the first prefix on the line
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
    # The reference reads digits apart as a sum (`1 2` is `1+2`): the normal form must scan the gap once.
    response = "The answer is: 1" + " " * 200_000 + "2"
    result = grade(response, "1+2", policy="reference-eval", pool=pool)
    assert (result.status, result.detail) == (GradeStatus.CORRECT_EXACT, "math_equal on the answer line")


@pytest.mark.timeout(60)
def test_long_gap_after_frac_is_one_pass(pool):
    response = "The answer is: \\frac" + " " * 200_000 + "12"
    result = grade(response, r"\frac12", policy="reference-eval", pool=pool)
    assert (result.status, result.detail) == (GradeStatus.CORRECT_EXACT, "math_equal on the answer line")


def test_batch_under_a_reference_policy_keeps_order(pool):
    responses = [think(r"\boxed{41}"), think(r"\boxed{42}")] * 8
    grades = grade_batch(responses, ["42"] * 16, policy="reference", pool=pool)
    assert [g.correct for g in grades] == [False, True] * 8
    assert {g.status for g in grades[::2]} == {GradeStatus.WRONG}
