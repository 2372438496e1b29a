"""Verifier benchmark: deepmath against math-verify, side by side, on agreement and on speed.

    python benchmarks/verifier_bench.py [--responses 2048] [--seed 0] [--skip-speed] [--skip-latency]

Agreement with labels this project did not generate, each graded by both graders:
  - Math-Verify's own regression suite (../shared/data/verifier_eval/math_verify_test_cases.jsonl, the
    cases a boxed-answer grader can read; labels by the Math-Verify maintainers);
  - Qwen2.5-Math's 800 MATH responses (../shared/data/verifier_eval/qwen25math_math_cot_100_rule_scored.jsonl;
    labels by Qwen's rule grader, not ground truth);
  - the hand-labelled adversarial battery (tests/fixtures/verifier_battery.tsv), per class.
Speed, on the seeded synthetic batch (benchmarks/synthetic_responses.py): items/s of math-verify as verl
calls it (one at a time, in-process) and of `grade_batch`, per-item latency, and the longest time the
caller's thread spent on one adversarial response and on answers generated like the property test's
(tests/test_verify_linear.py), for deepmath and for math-verify. Agreement on that batch is self-consistency (its
labels come from our own generator), printed as such. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hack_search import math_verify_accepts
from shared_data import data_dir
from synthetic_responses import generate_groups
from test_verify_battery import load_battery
from test_verify_linear import GAPS, ITEMS, NUMBERS, OPENERS, TAILS
from test_verify_peer import applicable_cases, qwen_rows
from verify_support import bare_answer

from deepmath_ext.verify import VerifierPool
from deepmath_ext.verify.extract import MAX_BOX_CHARS
from deepmath_ext.verify.pipeline import decide_response
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S, default_workers

# Generous: agreement, not speed, is measured on the labelled material.
AGREEMENT_TIMEOUT_S = 60.0


def percentiles(seconds: list[float]) -> str:
    """p50, p99 and max of per-item seconds, as one line in milliseconds."""
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {at(0.50) * 1e3:.2f} ms, p99 {at(0.99) * 1e3:.1f} ms, max {ordered[-1] * 1e3:.0f} ms"


def run_math_verify(responses: list[str], golds: list[str]) -> tuple[list[bool], list[float]]:
    """verl-style math-verify, sequential and in-process; per-item verdicts and seconds."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    verdicts, seconds = [], []
    for response, gold in zip(responses, golds, strict=True):
        started = time.perf_counter()
        verdicts.append(math_verify_accepts(response, gold))
        seconds.append(time.perf_counter() - started)
    return verdicts, seconds


def agreement(verdicts: list[bool], labels: list[bool]) -> str:
    """Share of verdicts equal to the labels, with the false positive and negative counts."""
    pairs = Counter(zip(verdicts, labels, strict=True))
    agree = pairs[True, True] + pairs[False, False]
    return (
        f"{agree}/{len(labels)} = {agree / len(labels):.1%} "
        f"({pairs[True, False]} false positives, {pairs[False, True]} false negatives)"
    )


def labelled_material() -> dict[str, list[tuple[str, str, str, bool]]]:
    """Per material: ("response" or "answer", the text, gold, label) rows."""
    suite = []
    for row, gold in applicable_cases(data_dir()):
        if "\\boxed" in row["pred"]:
            suite.append(("response", row["pred"], gold, bool(row["expected"])))
        else:
            suite.append(("answer", bare_answer(row["pred"]), gold, bool(row["expected"])))
    qwen = [("response", text, gold, label) for text, gold, label in qwen_rows(data_dir())]
    battery = [
        ("response" if case.is_response else "answer", case.pred, case.gold, case.correct)
        for case in load_battery()
    ]
    return {
        "Math-Verify regression suite (maintainers' labels)": suite,
        "Qwen2.5-Math 800 MATH responses (Qwen rule-grader labels)": qwen,
        "adversarial battery (hand labels)": battery,
    }


def report_agreement() -> None:
    """Agreement of both graders with each labelled material; per class for the battery."""
    battery_kinds = [case.kind for case in load_battery()]
    with VerifierPool(workers=default_workers(), timeout_s=AGREEMENT_TIMEOUT_S) as pool:
        for name, rows in labelled_material().items():
            futures = [
                pool.submit(text, gold, require_think=False)
                if how == "response"
                else pool.submit_answer(text, gold)
                for how, text, gold, _ in rows
            ]
            ours = [future.result().correct for future in futures]
            # math-verify extracts from any text; a bare answer is given to it as inline math.
            theirs = [
                math_verify_accepts(text if how == "response" else f"${text}$", gold)
                for how, text, gold, _ in rows
            ]
            labels = [label for *_, label in rows]
            print(f"{name}: {len(rows)} cases")
            print(f"  deepmath    {agreement(ours, labels)}")
            print(f"  math-verify {agreement(theirs, labels)}")
            if name.startswith("adversarial"):
                per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
                for kind, mine, peer, label in zip(battery_kinds, ours, theirs, labels, strict=True):
                    per_kind[kind][0] += 1
                    per_kind[kind][1] += mine == label
                    per_kind[kind][2] += peer == label
                print("  per class (cases: deepmath / math-verify agreeing):")
                for kind, (total, mine, peer) in per_kind.items():
                    print(f"    {kind:<11} {total:>3}: {mine:>3} / {peer:>3}")


def caller_thread_max(responses: list[str], golds: list[str]) -> str:
    """The longest in-process (caller-thread) decision over the given responses."""
    worst, worst_index = 0.0, 0
    for index, (response, gold) in enumerate(zip(responses, golds, strict=True)):
        started = time.perf_counter()
        decide_response(response, gold, True)
        elapsed = time.perf_counter() - started
        if elapsed > worst:
            worst, worst_index = elapsed, index
    return f"{worst * 1e3:.1f} ms (item {worst_index})"


def adversarial_responses() -> tuple[list[str], list[str]]:
    """Responses built to make the caller's thread slow: degenerate boxes, braces, huge sizes."""
    think = "<think>\nwork\n</think>\n"
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
    responses = [
        think + "".join(rf"\boxed{{{letter * 3990}}}" for letter in letters),
        think + r"\boxed{" + "a" * 3990 + "1}",
        think + "{" * 200_000 + r"\boxed{" * 40 + "x",
        think + "\\[" * 48_000 + r"\boxed{42}",
        think + r"\boxed{" + "(" * 1990 + "x" + ")" * 1990 + "}",
        think + r"\boxed{" + "1," * 1990 + "}",
        think + r"\boxed{\binom{10^{6}}{500000}}",
        think + r"\boxed{\sum_{k=1}^{10^9} \frac{1}{k}}",
        think + "".join(rf"\boxed{{{i} \pm {i}}}" for i in range(50)),
    ]
    return responses, ["x"] * len(responses)


def generated_answers(count: int, seed: int) -> list[str]:
    """Answers built like the property test's (tests/test_verify_linear.py): a number and an opener, a gap
    and an item repeated up to the box limit, a tail. Seeded; many are long."""
    rng = random.Random(seed)
    answers = []
    for _ in range(count):
        head = rng.choice(NUMBERS) + rng.choice(OPENERS) + rng.choice(ITEMS)
        block = rng.choice(GAPS) + rng.choice(ITEMS) + rng.choice(["", *ITEMS])
        repeats = rng.choice([8, 40, 200, MAX_BOX_CHARS])
        answers.append((head + block * repeats + rng.choice(TAILS) + rng.choice(TAILS))[:MAX_BOX_CHARS])
    return answers


def report_generated_answers(count: int, peer_count: int, seed: int) -> None:
    """The slowest caller-thread grade of the generated adversarial answers, ours and math-verify's."""
    answers = generated_answers(count, seed)
    responses = ["<think>x</think> \\boxed{" + answer + "}" for answer in answers]
    print(
        f"generated adversarial answers: {count}, mean {statistics.mean(map(len, answers)):,.0f} characters"
    )
    print(f"  caller-thread max, deepmath:    {caller_thread_max(responses, ['5'] * count)}")
    _, seconds = run_math_verify(responses[:peer_count], ["5"] * peer_count)
    worst = max(range(peer_count), key=seconds.__getitem__)
    print(
        f"  caller-thread max, math-verify: {seconds[worst] * 1e3:.1f} ms (item {worst}; first {peer_count})"
    )


def report_speed(args: argparse.Namespace) -> None:
    """Throughput and latency of both graders on the synthetic batch (labels: self-consistency)."""
    groups = generate_groups(args.responses // args.group_size, args.group_size, seed=args.seed)
    responses = [r.text for g in groups for r in g.responses]
    golds = [g.gold for g in groups for _ in g.responses]
    labels = [r.correct for g in groups for r in g.responses]
    mean_chars = statistics.mean(map(len, responses))
    print(f"synthetic batch: {len(responses)} responses, mean {mean_chars:,.0f} characters")

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
    print(f"caller-thread max, synthetic batch: {caller_thread_max(responses, golds)}")
    print(f"caller-thread max, adversarial responses: {caller_thread_max(*adversarial_responses())}")
    report_generated_answers(args.generated, args.generated_peer, args.seed)
    print("self-consistency (labels from our own generator, not independent):")
    print(f"  math-verify {agreement(mv_verdicts, labels)}")
    print(f"  deepmath    {agreement([g.correct for g in grades], labels)}")
    print(f"deepmath statuses: {dict(Counter(str(g.status) for g in grades).most_common())}; pool: {counts}")


def main(argv: list[str] | None = None) -> int:
    """Print agreement on the labelled material, then speed on the synthetic batch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=2048)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--skip-agreement", action="store_true", help="skip the labelled material")
    parser.add_argument("--skip-speed", action="store_true", help="skip the synthetic speed batch")
    parser.add_argument("--skip-latency", action="store_true", help="skip the one-at-a-time latency pass")
    parser.add_argument("--generated", type=int, default=2000, help="generated adversarial answers (ours)")
    parser.add_argument("--generated-peer", type=int, default=50, help="how many of them math-verify grades")
    args = parser.parse_args(argv)
    if not args.skip_agreement:
        report_agreement()
    if not args.skip_speed:
        report_speed(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
