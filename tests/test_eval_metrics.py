"""Metrics against hand-computed values and brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from deepmath_ext.evaluate.metrics import (
    ProblemResult,
    ScoredSample,
    benchmark_metrics,
    bootstrap_ci,
    ks_for,
    majority_correct,
    pass_at_k,
    percentile,
)


def _sample(
    correct: bool, pred: str | None = None, status: str | None = None, finish: str = "stop", tokens: int = 10
):
    return ScoredSample(correct, status or ("correct_exact" if correct else "wrong"), pred, finish, tokens)


def _brute_pass_at_k(outcomes: list[bool], k: int) -> float:
    """Fraction of all k-subsets of the samples that contain a correct one."""
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_pass_at_k_equals_brute_force_enumeration(n):
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(outcomes, k), abs=1e-12), (n, c, k)


def test_pass_at_k_closed_forms():
    assert pass_at_k(16, 4, 1) == pytest.approx(4 / 16)  # pass@1 is the mean accuracy
    assert pass_at_k(16, 0, 8) == 0.0
    assert pass_at_k(16, 16, 1) == 1.0
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 2, 5)


def test_ks_are_powers_of_two_then_n():
    assert ks_for(16) == [1, 2, 4, 8, 16]
    assert ks_for(6) == [1, 2, 4, 6]
    assert ks_for(1) == [1]


def test_majority_vote_by_hand():
    samples = [_sample(False, "3"), _sample(True, "4"), _sample(True, "4"), _sample(False, " 5 ")]
    assert majority_correct(samples, 1) is False  # only "3" votes
    assert majority_correct(samples, 2) is False  # 3 vs 4 tie: the first answer seen wins
    assert majority_correct(samples, 3) is True  # 4 has two votes
    assert majority_correct(samples, 4) is True
    unanswered = [_sample(False, None), _sample(False, None, "no_answer"), _sample(True, "7")]
    assert majority_correct(unanswered, 3) is True  # samples without an answer do not vote
    assert majority_correct(unanswered, 2) is False  # nobody voted


def test_percentile_interpolates_like_numpy_default():
    assert percentile([0.0, 10.0], 0.25) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.975) == pytest.approx(4.9)


def test_bootstrap_interval_on_known_data():
    assert bootstrap_ci([0.25] * 50) == (0.25, 0.25)  # no spread, no width
    values = [1.0] * 200 + [0.0] * 200
    lo, hi = bootstrap_ci(values)
    half_width = 1.96 * math.sqrt(0.25 / 400)  # normal approximation of the mean of 400 fair coins
    assert lo == pytest.approx(0.5 - half_width, abs=0.012)
    assert hi == pytest.approx(0.5 + half_width, abs=0.012)
    assert bootstrap_ci(values) == (lo, hi)  # fixed seed: reproducible
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    slo, shi = bootstrap_ci(shuffled)  # other draws, same data: the width must hold
    assert shi - slo == pytest.approx(hi - lo, abs=0.02)


def test_benchmark_metrics_by_hand():
    p1 = ProblemResult(
        "a",
        (
            _sample(True, "4"),
            _sample(False, "5", finish="length", tokens=30),
            _sample(True, "4"),
            _sample(False, None, "no_answer", tokens=20),
        ),
        {"level": "1"},
    )
    p2 = ProblemResult(
        "b",
        (*(_sample(False, "9", tokens=20) for _ in range(3)), _sample(False, None, "hedged")),
        {"level": "2"},
    )
    m = benchmark_metrics([p1, p2], 4)
    assert m["problems"] == 2 and m["samples"] == 8
    assert m["avg@n"] == pytest.approx((2 / 4 + 0) / 2)
    assert m["pass@k"] == pytest.approx({"1": 0.25, "2": (1 - 1 / 6) / 2, "4": 0.5})
    assert m["maj@k"] == pytest.approx(
        {"1": 0.5, "2": 0.5, "4": 0.5}
    )  # p1's majority "4" is right, p2's "9" wrong
    assert m["truncation_rate"] == pytest.approx(1 / 8)
    assert m["mean_response_tokens"] == pytest.approx((10 + 30 + 10 + 20 + 20 * 3 + 10) / 8)
    assert m["status_counts"] == {"correct_exact": 2, "hedged": 1, "no_answer": 1, "wrong": 4}
    assert m["categories"] == {
        "level": {"1": {"problems": 1, "avg@n": 0.5}, "2": {"problems": 1, "avg@n": 0.0}}
    }
    lo, hi = m["ci95"]
    assert lo == 0.0 and hi == 0.5  # two problems: resampled means are 0, 0.25 or 0.5


def test_benchmark_metrics_refuses_ragged_samples():
    ragged = [ProblemResult("a", (_sample(True),)), ProblemResult("b", (_sample(True), _sample(False)))]
    with pytest.raises(ValueError, match="exactly n=2"):
        benchmark_metrics(ragged, 2)
