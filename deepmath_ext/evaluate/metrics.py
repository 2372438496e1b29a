"""Accuracy statistics over n samples per problem: avg@n, pass@k, maj@k, bootstrap intervals."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


@dataclass(frozen=True)
class ScoredSample:
    """One graded sample with the generation facts the metrics need."""

    correct: bool
    status: str
    pred: str | None
    finish_reason: str
    response_tokens: int


@dataclass(frozen=True)
class ProblemResult:
    """The graded samples of one problem, ordered by sample index."""

    problem_id: str
    samples: tuple[ScoredSample, ...]
    categories: dict[str, str] = field(default_factory=dict)

    @property
    def num_correct(self) -> int:
        """How many samples are correct."""
        return sum(s.correct for s in self.samples)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al., 2021): 1 - C(n-c, k) / C(n, k), as a stable product."""
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def ks_for(n: int) -> list[int]:
    """k = 1, 2, 4, ... up to n, plus n itself."""
    ks = [2**i for i in range(n.bit_length()) if 2**i <= n]
    return ks if ks[-1] == n else [*ks, n]


def majority_correct(samples: Sequence[ScoredSample], k: int) -> bool:
    """Whether the most frequent extracted answer among the first k samples is correct.

    Samples without an answer do not vote; ties go to the answer seen first. Answers are compared as
    the strings in `pred`: the evaluator passes verifier-normalised answers (`grading.py`), so that
    `dfrac` and `frac` forms of one fraction vote together; raw strings would vote separately.
    """
    votes = Counter(s.pred.strip() for s in samples[:k] if s.pred is not None and s.pred.strip())
    if not votes:
        return False
    winner = max(votes, key=votes.__getitem__)  # max keeps the first of equal counts: insertion order
    return next(s.correct for s in samples[:k] if s.pred is not None and s.pred.strip() == winner)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between closest ranks (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(
    values: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, resampling problems with a fixed seed."""
    if not values:
        raise ValueError("bootstrap_ci needs at least one value")
    rng = random.Random(seed)
    m = len(values)
    means = sorted(sum(rng.choices(values, k=m)) / m for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    return percentile(means, tail), percentile(means, 1.0 - tail)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def category_breakdown(problems: Sequence[ProblemResult]) -> dict[str, dict[str, dict[str, float]]]:
    """avg@n per value of each category key (e.g. MATH level and subject)."""
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for p in problems:
        for key, value in p.categories.items():
            groups[key][str(value)].append(p.num_correct / len(p.samples))
    return {
        key: {
            value: {"problems": len(accs), "avg@n": _mean(accs)} for value, accs in sorted(by_value.items())
        }
        for key, by_value in sorted(groups.items())
    }


def benchmark_metrics(problems: Sequence[ProblemResult], n: int) -> dict[str, Any]:
    """Every statistic of one benchmark; each problem must have exactly n samples."""
    short = [p.problem_id for p in problems if len(p.samples) != n]
    if short:
        raise ValueError(f"{len(short)} problems do not have exactly n={n} samples (e.g. {short[0]})")
    if not problems:
        raise ValueError("no problems to score")
    accuracies = [p.num_correct / n for p in problems]
    samples = [s for p in problems for s in p.samples]
    lo, hi = bootstrap_ci(accuracies)
    return {
        "problems": len(problems),
        "n": n,
        "samples": len(samples),
        "avg@n": _mean(accuracies),
        "ci95": [lo, hi],
        "pass@k": {str(k): _mean([pass_at_k(n, p.num_correct, k) for p in problems]) for k in ks_for(n)},
        "maj@k": {
            str(k): _mean([float(majority_correct(p.samples, k)) for p in problems]) for k in ks_for(n)
        },
        "truncation_rate": sum(s.finish_reason == "length" for s in samples) / len(samples),
        "mean_response_tokens": _mean([s.response_tokens for s in samples]),
        "status_counts": dict(sorted(Counter(s.status for s in samples).items())),
        "categories": category_breakdown(problems),
    }


# The statistics that depend on how samples were graded; the rest (counts, truncation, lengths) do not.
GRADED_KEYS = ("avg@n", "ci95", "pass@k", "maj@k", "status_counts", "categories")


def policies_metrics(by_policy: dict[str, Sequence[ProblemResult]], n: int) -> dict[str, Any]:
    """One benchmark's statistics: the grading-independent ones once, the graded ones per policy."""
    per_policy = {policy: benchmark_metrics(problems, n) for policy, problems in by_policy.items()}
    first = next(iter(per_policy.values()))
    return {
        **{k: v for k, v in first.items() if k not in GRADED_KEYS},
        "policies": {policy: {k: m[k] for k in GRADED_KEYS} for policy, m in per_policy.items()},
    }
