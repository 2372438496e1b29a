"""Verifier benchmark: deepmath's grade_batch against math-verify in-process, on one seeded batch.

    python benchmarks/verifier_bench.py [--responses 2048] [--seed 0] [--skip-latency]

(a) math-verify the way verl calls it: `verify(parse("\\boxed{gold}"), parse(response))`, one item at
a time in this process (main thread, so its signal timeouts work); (b) `grade_batch` with the
default workers. Prints items/s of each and the ratio, per-item latency percentiles, and each one's
agreement with the generator's labels. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_responses import generate_groups

from deepmath_ext.verify import VerifierPool
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S, default_workers


def percentiles(seconds: list[float]) -> str:
    """p50, p99 and max of per-item seconds, as one line in milliseconds."""
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {at(0.50) * 1e3:.2f} ms, p99 {at(0.99) * 1e3:.1f} ms, max {ordered[-1] * 1e3:.0f} ms"


def run_math_verify(responses: list[str], golds: list[str]) -> tuple[list[bool], list[float]]:
    """verl-style math-verify, sequential and in-process; per-item verdicts and seconds."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    verdicts, seconds = [], []
    for response, gold in zip(responses, golds, strict=True):
        started = time.perf_counter()
        try:
            verdict = bool(verify(parse("\\boxed{" + gold + "}"), parse(response)))
        except Exception:
            verdict = False
        seconds.append(time.perf_counter() - started)
        verdicts.append(verdict)
    return verdicts, seconds


def agreement(verdicts: list[bool], labels: list[bool]) -> str:
    """Share of verdicts equal to the labels, with the false positive and negative counts."""
    pairs = Counter(zip(verdicts, labels, strict=True))
    agree = pairs[True, True] + pairs[False, False]
    return f"{agree / len(labels):.2%} ({pairs[True, False]} false positives, {pairs[False, True]} false negatives)"


def main(argv: list[str] | None = None) -> int:
    """Run both graders on the same batch and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=2048)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--skip-latency", action="store_true", help="skip the one-at-a-time latency pass")
    args = parser.parse_args(argv)

    groups = generate_groups(args.responses // args.group_size, args.group_size, seed=args.seed)
    responses = [r.text for g in groups for r in g.responses]
    golds = [g.gold for g in groups for _ in g.responses]
    labels = [r.correct for g in groups for r in g.responses]
    mean_chars = statistics.mean(map(len, responses))
    print(
        f"batch: {len(responses)} responses, mean {mean_chars:,.0f} characters, {sum(labels)} labelled correct"
    )

    started = time.perf_counter()
    mv_verdicts, mv_seconds = run_math_verify(responses, golds)
    mv_rate = len(responses) / (time.perf_counter() - started)

    workers = default_workers()
    with VerifierPool(workers=workers, timeout_s=args.timeout_s) as pool:
        pool.start()  # worker start-up is not grading time
        started = time.perf_counter()
        grades = pool.grade_batch(responses, golds)
        ours_rate = len(responses) / (time.perf_counter() - started)
        counts = pool.counts
    ours_verdicts = [g.correct for g in grades]

    print(f"math-verify (verl style, in-process): {mv_rate:8.1f} items/s; {percentiles(mv_seconds)}")
    print(f"deepmath grade_batch ({workers} workers):   {ours_rate:8.1f} items/s")
    print(f"throughput ratio: {ours_rate / mv_rate:.1f}x")
    if not args.skip_latency:
        with VerifierPool(workers=workers, timeout_s=args.timeout_s) as pool:
            pool.start()
            ours_seconds = []
            for response, gold in zip(responses, golds, strict=True):
                one = time.perf_counter()
                pool.submit(response, gold).result()
                ours_seconds.append(time.perf_counter() - one)
        print(f"deepmath per-item latency (one at a time): {percentiles(ours_seconds)}")
    print(f"agreement with labels: math-verify {agreement(mv_verdicts, labels)}")
    print(f"                       deepmath    {agreement(ours_verdicts, labels)}")
    print(f"deepmath statuses: {dict(Counter(g.status for g in grades).most_common())}; pool: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
