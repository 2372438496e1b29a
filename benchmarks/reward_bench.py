"""Reward throughput end to end through verl's RewardLoopManager: `deepmath` vs `naive` + verl's math_verify.

Both arms score the same GRPO-shaped rollouts (groups of 16 sharing a prompt and gold) from
`benchmarks/synthetic_responses.py`, tokenised with the R1-distill tokenizer, with the same
`reward.num_workers`, after a warm-up batch of other rollouts. Prints samples/s for both, the ratio,
and each arm's agreement with the generator's labels.

    python benchmarks/reward_bench.py [--rollouts 2048] [--num-workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GROUP_SIZE = 16


def verl_math_verify_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """verl's own `math_verify.compute_score` behind the signature verl's managers call."""
    from verl.utils.reward_score import math_verify

    return math_verify.compute_score(solution_str, ground_truth)


ARMS = {
    "deepmath": ["reward.reward_manager.name=deepmath"],
    "verl naive + math_verify": [
        "reward.reward_manager.name=naive",
        f"reward.custom_reward_function.path={Path(__file__).resolve()}",
        "reward.custom_reward_function.name=verl_math_verify_score",
    ],
}


def rollouts(count: int, seed: int):
    """`count` labelled rollouts in groups of GROUP_SIZE (one prompt and gold per group)."""
    from reward_support import Rollout
    from synthetic_responses import generate_groups

    groups = generate_groups(count // GROUP_SIZE, GROUP_SIZE, seed=seed)
    rows = [Rollout(g.problem, r.text, g.gold) for g in groups for r in g.responses]
    labels = [r.correct for g in groups for r in g.responses]
    return rows, labels


def run_arm(overrides, batch, warm_up, labels, num_workers: int) -> tuple[float, float]:
    """(samples/s, agreement with labels) of one reward configuration."""
    import ray
    from reward_support import verl_config
    from verl.experimental.reward_loop import RewardLoopManager

    manager = RewardLoopManager(verl_config([f"reward.num_workers={num_workers}", *overrides]))
    try:
        manager.compute_rm_score(warm_up)  # actor start-up, tokenizer and worker-pool start-up
        started = time.perf_counter()
        output = manager.compute_rm_score(batch)
        elapsed = time.perf_counter() - started
    finally:
        for worker in manager.reward_loop_workers:  # verl names them; the next arm reuses the names
            ray.kill(worker)
    accs = [float(a) > 0 for a in output.non_tensor_batch["acc"]]
    agreement = sum(a == label for a, label in zip(accs, labels, strict=True)) / len(labels)
    return len(labels) / elapsed, agreement


def main(argv: list[str] | None = None) -> int:
    """Run both arms on the same rollouts and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=2048)
    parser.add_argument("--num-workers", type=int, default=2, help="reward.num_workers (Ray actors)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]

    import ray
    from reward_support import TOKENIZER_DIR, rollout_batch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    rows, labels = rollouts(args.rollouts, args.seed)
    warm_rows, _ = rollouts(GROUP_SIZE * args.num_workers, args.seed + 1)
    batch, warm_up = rollout_batch(tokenizer, rows), rollout_batch(tokenizer, warm_rows)
    ray.init(num_cpus=max(2, args.num_workers), include_dashboard=False, log_to_driver=False)
    results = {
        name: run_arm(overrides, batch, warm_up, labels, args.num_workers) for name, overrides in ARMS.items()
    }
    ray.shutdown()

    print(
        f"{len(rows)} rollouts ({len(rows) // GROUP_SIZE} groups of {GROUP_SIZE}), reward.num_workers={args.num_workers}"
    )
    for name, (rate, agreement) in results.items():
        print(f"  {name:<26} {rate:9.1f} samples/s   agreement with labels {agreement:.2%}")
    ours, peer = results["deepmath"][0], results["verl naive + math_verify"][0]
    print(f"  throughput ratio deepmath / verl: {ours / peer:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
