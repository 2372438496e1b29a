"""Pathological inputs finish within the deadline and are counted, never hang or crash."""

from __future__ import annotations

import time

import pytest
from verify_support import think

from deepmath_ext.verify import GradeStatus, VerifierPool
from deepmath_ext.verify.extract import extract

DEADLINE_S = 1.0
LONG_THINKING = "We compute $a_n = n^2$ and check $\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$. " * 1500

# (name, response, gold, acceptable statuses)
PATHOLOGICAL = [
    ("100K-char thinking", think(r"\boxed{42}", LONG_THINKING), "42", {GradeStatus.CORRECT_EXACT}),
    ("100K-char answer part", think("x " * 50_000 + r"\boxed{42}"), "42", {GradeStatus.CORRECT_EXACT}),
    ("96K unclosed \\[", think("\\[" * 48_000 + r"\boxed{42}"), "42", {GradeStatus.CORRECT_EXACT}),
    ("tower answer", think(r"\boxed{10^{10^{10^{10}}}}"), "10", {GradeStatus.GUARDED}),
    ("tower gold", think(r"\boxed{10}"), "10^{10^{10^{10}}}", {GradeStatus.GUARDED}),
    ("equal towers", think(r"\boxed{10^{10^{10^{10}}}}"), "10^{10^{10^{10}}}", {GradeStatus.CORRECT_EXACT}),
    ("huge factorial", think(r"\boxed{100000!}"), "5", {GradeStatus.GUARDED}),
    ("huge binomial", think(r"\boxed{\binom{1000000}{500000}}"), "5", {GradeStatus.GUARDED}),
    ("long sum", think(r"\boxed{\sum_{k=1}^{20000} \frac{1}{k^2}}"), "1", {GradeStatus.GUARDED}),
    ("power of a sum", think(r"\boxed{(x+1)^{1000}-(x-1)^{1000}}"), "x", {GradeStatus.GUARDED}),
    ("huge exponent", think(r"\boxed{2^{123456789}}"), "5", {GradeStatus.GUARDED}),
    ("300-deep nesting", think(r"\boxed{" + "(" * 300 + "x" + ")" * 300 + "}"), "x", {GradeStatus.GUARDED}),
    ("300-deep braces", think(r"\boxed{" + "{" * 300 + "x" + "}" * 300 + "}"), "x", {GradeStatus.GUARDED}),
    ("unbalanced braces", think(r"\boxed{\frac{1}{2}"), r"\frac12", {GradeStatus.NO_ANSWER}),
    ("stray closing braces", think(r"}}}} \boxed{5} }}}"), "5", {GradeStatus.CORRECT_EXACT}),
    # Over MAX_BOX_CHARS: read as a box that never closes.
    (
        "3000-term sum",
        think(r"\boxed{" + "+".join(f"x^{{{i}}}" for i in range(3000)) + "}"),
        "x",
        {GradeStatus.NO_ANSWER},
    ),
    (
        "300-term sum",
        think(r"\boxed{" + "+".join(f"x^{{{i}}}" for i in range(300)) + "}"),
        "x",
        {GradeStatus.GUARDED},
    ),
    (
        "3000-term gold",
        think(r"\boxed{x}"),
        "+".join(f"x^{{{i}}}" for i in range(3000)),
        {GradeStatus.GUARDED},
    ),
    (
        "unicode answer",
        think("\\boxed{½ + √2 − ∞}"),
        r"\frac12+\sqrt2-\infty",
        {GradeStatus.CORRECT_SYMBOLIC},
    ),
    ("emoji and RTL", think("\\boxed{42} 🎉 \u202e"), "42", {GradeStatus.CORRECT_EXACT}),
    ("NUL bytes", think("\x00\\boxed{4\x002}"), "42", {GradeStatus.WRONG, GradeStatus.CORRECT_EXACT}),
    ("only backslashes", think("\\" * 100_000), "1", {GradeStatus.NO_ANSWER}),
    ("many boxes", think(r"\boxed{1}" * 20_000), "1", {GradeStatus.HEDGED}),
]


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout_s=DEADLINE_S) as verifier:
        yield verifier.start()  # timings below measure grading, not interpreter start-up


@pytest.mark.parametrize(
    ("name", "response", "gold", "statuses"), PATHOLOGICAL, ids=[p[0] for p in PATHOLOGICAL]
)
def test_pathological_input_is_graded_within_deadline(pool, name, response, gold, statuses):
    started = time.monotonic()
    result = pool.submit(response, gold).result()
    assert time.monotonic() - started < DEADLINE_S + 1.0, name
    assert result.status in statuses, result


def test_extraction_is_linear_in_response_length():
    """Doubling a degenerate response must not quadruple extraction time."""

    def seconds(size: int) -> float:
        text = think("{" * size + r"\boxed{" * 40 + "x")
        started = time.perf_counter()
        for _ in range(5):
            extract(text)
        return time.perf_counter() - started

    small, large = seconds(200_000), seconds(400_000)
    assert large < 3 * small + 0.05
