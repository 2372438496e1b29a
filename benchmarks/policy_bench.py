"""Grading-policy benchmark: seconds per 1,000 samples of every policy next to `strict`, in one run.

    python benchmarks/policy_bench.py [--synthetic 1024] [--seed 0] [--timeout-s 2.0]

Material, each graded by every policy with a fresh, started pool (worker start-up and memo are not shared):
(a) Qwen2.5-Math-Instruct's 800 MATH responses with Qwen's rule labels
    (../shared/data/verifier_eval/qwen25math_math_cot_100_rule_scored.jsonl; the labels are not ground
    truth). They have no thinking template, so each gets an empty `<think></think>` prefix: every policy
    then grades the whole answer and the `</think>` rules pass.
(b) the seeded DeepMath-style batch of verifier_bench.py (our own generator: long responses, about 1%
    pathological ones), labelled by the generator.
`reference-eval+judge` is `reference-eval` with benchmark="olympiadbench" (the olympiad judge also runs).
Prints per policy: seconds per 1,000 samples, accuracy, agreement with the labels, statuses and the pool's
timeout/death counts. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shared_data import data_path
from synthetic_responses import generate_groups

from deepmath_ext.verify import POLICY_NAMES, VerifierPool
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S, default_workers

QWEN_FILE = ("verifier_eval", "qwen25math_math_cot_100_rule_scored.jsonl")  # under the tests' data folder
# (row label, policy, benchmark passed to it)
RUNS = [
    *((name, name, None) for name in POLICY_NAMES),
    ("reference-eval+judge", "reference-eval", "olympiadbench"),
]


def qwen_material(path: Path) -> tuple[list[str], list[str], list[bool]]:
    """Responses (with an empty think block), golds and Qwen's labels of the 800-response file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the benchmark reads the shared verifier_eval data")
    responses, golds, labels = [], [], []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        for response, label in zip(row["code"], row["score"], strict=True):
            responses.append("<think>\n</think>\n" + response)
            golds.append(row["gt"])
            labels.append(bool(label))
    return responses, golds, labels


def synthetic_material(count: int, seed: int) -> tuple[list[str], list[str], list[bool]]:
    """verifier_bench.py's seeded batch: responses, golds and the generator's labels."""
    groups = generate_groups(count // 8, 8, seed=seed)
    return (
        [r.text for g in groups for r in g.responses],
        [g.gold for g in groups for _ in g.responses],
        [r.correct for g in groups for r in g.responses],
    )


def bench(name: str, material: tuple[list[str], list[str], list[bool]], timeout_s: float) -> None:
    """Grade the material under every policy and print one table row per policy."""
    responses, golds, labels = material
    chars = sum(map(len, responses)) / len(responses)
    print(
        f"\n## {name}: {len(responses)} responses, mean {chars:,.0f} characters, "
        f"{sum(labels)} labelled correct"
    )
    print("| policy | s per 1,000 | accuracy | agreement with labels | statuses | pool counts |")
    print("|---|---|---|---|---|---|")
    for label, policy, benchmark in RUNS:
        with VerifierPool(workers=default_workers(), timeout_s=timeout_s) as pool:
            pool.start()  # worker start-up is not grading time
            started = time.perf_counter()
            grades = pool.grade_batch(responses, golds, policy=policy, benchmark=benchmark)
            seconds = time.perf_counter() - started
            counts = pool.counts
        verdicts = [g.correct for g in grades]
        agree = sum(v == lab for v, lab in zip(verdicts, labels, strict=True)) / len(labels)
        statuses = dict(Counter(g.status.value for g in grades).most_common())
        print(
            f"| {label} | {seconds * 1000 / len(responses):.1f} | {sum(verdicts) / len(verdicts):.1%} "
            f"| {agree:.1%} | {statuses} | {dict(counts) or '-'} |"
        )


def main(argv: list[str] | None = None) -> int:
    """Run every policy on both materials and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=1024, help="synthetic responses (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--qwen-file", type=Path, help="default: the tests' data folder's copy")
    args = parser.parse_args(argv)
    print(f"{default_workers()} workers, deadline {args.timeout_s:g} s")
    bench(
        "Qwen2.5-Math MATH responses (verifier_eval)",
        qwen_material(args.qwen_file or data_path(*QWEN_FILE)),
        args.timeout_s,
    )
    if args.synthetic:
        bench("synthetic DeepMath-style batch", synthetic_material(args.synthetic, args.seed), args.timeout_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
