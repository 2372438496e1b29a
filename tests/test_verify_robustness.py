"""Pathological inputs get their one expected status from the guards, never from a deadline or a crash.

(How long the caller's thread spends on them is measured in benchmarks/verifier_bench.py, not asserted.)
"""

from __future__ import annotations

import string

import pytest
from verify_support import think

from deepmath_ext.verify import GradeStatus, VerifierPool

DEADLINE_S = 1.0
LONG_THINKING = "We compute $a_n = n^2$ and check $\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$. " * 1500

# (name, response, gold, the one expected status)
PATHOLOGICAL = [
    ("100K-char thinking", think(r"\boxed{42}", LONG_THINKING), "42", GradeStatus.CORRECT_EXACT),
    ("100K-char answer part", think("x " * 50_000 + r"\boxed{42}"), "42", GradeStatus.CORRECT_EXACT),
    ("96K unclosed \\[", think("\\[" * 48_000 + r"\boxed{42}"), "42", GradeStatus.CORRECT_EXACT),
    ("tower answer", think(r"\boxed{10^{10^{10^{10}}}}"), "10", GradeStatus.GUARDED),
    ("tower gold", think(r"\boxed{10}"), "10^{10^{10^{10}}}", GradeStatus.GUARDED),
    ("equal towers", think(r"\boxed{10^{10^{10^{10}}}}"), "10^{10^{10^{10}}}", GradeStatus.CORRECT_EXACT),
    ("huge factorial", think(r"\boxed{100000!}"), "5", GradeStatus.GUARDED),
    ("huge binomial", think(r"\boxed{\binom{1000000}{500000}}"), "5", GradeStatus.GUARDED),
    ("long sum", think(r"\boxed{\sum_{k=1}^{20000} \frac{1}{k^2}}"), "1", GradeStatus.GUARDED),
    ("power of a sum", think(r"\boxed{(x+1)^{1000}-(x-1)^{1000}}"), "x", GradeStatus.GUARDED),
    ("huge exponent", think(r"\boxed{2^{123456789}}"), "5", GradeStatus.GUARDED),
    ("300-deep nesting", think(r"\boxed{" + "(" * 300 + "x" + ")" * 300 + "}"), "x", GradeStatus.GUARDED),
    ("300-deep braces", think(r"\boxed{" + "{" * 300 + "x" + "}" * 300 + "}"), "x", GradeStatus.GUARDED),
    ("unbalanced braces", think(r"\boxed{\frac{1}{2}"), r"\frac12", GradeStatus.NO_ANSWER),
    ("stray closing braces", think(r"}}}} \boxed{5} }}}"), "5", GradeStatus.CORRECT_EXACT),
    # Over MAX_BOX_CHARS: read as a box that never closes.
    (
        "3000-term sum",
        think(r"\boxed{" + "+".join(f"x^{{{i}}}" for i in range(3000)) + "}"),
        "x",
        GradeStatus.NO_ANSWER,
    ),
    (
        "300-term sum",
        think(r"\boxed{" + "+".join(f"x^{{{i}}}" for i in range(300)) + "}"),
        "x",
        GradeStatus.GUARDED,
    ),
    (
        "3000-term gold",
        think(r"\boxed{x}"),
        "+".join(f"x^{{{i}}}" for i in range(3000)),
        GradeStatus.GUARDED,
    ),
    (
        "unicode answer",
        think("\\boxed{½ + √2 − ∞}"),
        r"\frac12+\sqrt2-\infty",
        GradeStatus.CORRECT_EXACT,  # ½ and √2 are read as \frac{1}{2} and \sqrt{2}
    ),
    ("emoji and RTL", think("\\boxed{42} 🎉 \u202e"), "42", GradeStatus.CORRECT_EXACT),
    # Control characters are invisible, like zero-width spaces: dropped before reading the answer.
    ("NUL bytes", think("\x00\\boxed{4\x002}"), "42", GradeStatus.CORRECT_EXACT),
    ("only backslashes", think("\\" * 100_000), "1", GradeStatus.NO_ANSWER),
    ("many boxes", think(r"\boxed{1}" * 20_000), "1", GradeStatus.HEDGED),
    (
        "50 distinct 4000-letter boxes",
        think("".join(rf"\boxed{{{letter * 3990}}}" for letter in (string.ascii_letters[:50]))),
        "x",
        GradeStatus.HEDGED,
    ),
    ("4000-letter word box", think(r"\boxed{" + "a" * 3990 + "1}"), "abc", GradeStatus.GUARDED),
    ("huge binomial as a power", think(r"\boxed{\binom{10^{6}}{500000}}"), "5", GradeStatus.GUARDED),
    ("sum to 10^9", think(r"\boxed{\sum_{k=1}^{10^9} \frac{1}{k}}"), "1", GradeStatus.GUARDED),
    ("product to 10^{9}", think(r"\boxed{\prod_{k=1}^{10^{9}} k}"), "1", GradeStatus.GUARDED),
    ("factorial of a power", think(r"\boxed{(10^6)!}"), "1", GradeStatus.GUARDED),
]


@pytest.fixture(scope="module")
def pool():
    with VerifierPool(workers=2, timeout_s=DEADLINE_S) as verifier:
        yield verifier


@pytest.mark.parametrize(
    ("name", "response", "gold", "status"), PATHOLOGICAL, ids=[p[0] for p in PATHOLOGICAL]
)
def test_pathological_input_gets_its_status_without_a_deadline(pool, name, response, gold, status):
    timeouts_before = pool.counts.get("timeouts", 0)
    result = pool.submit(response, gold).result()
    assert result.status == status, result
    assert pool.counts.get("timeouts", 0) == timeouts_before, f"{name} needed the deadline"
