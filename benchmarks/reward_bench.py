"""Reward throughput end to end through verl's RewardLoopManager: `deepmath` vs `naive` + verl's math_verify.

Both arms score the same GRPO-shaped rollouts (groups of 16 sharing a prompt and gold) from
`benchmarks/synthetic_responses.py`, tokenised with the R1-distill tokenizer, with the same
`reward.num_workers`, on fresh reward actors after a warm-up batch of other rollouts (so no
memo carries over), along two of verl's paths:
- batch: `RewardLoopManager.compute_rm_score(batch)`, one DataProto padded to the longest response;
- stream: one `compute_score.remote(sample)` per rollout on the manager's reward actors, as verl's v1
  agent loop calls them while rollouts finish (no padding to the batch's longest response).
Prints samples/s for both arms, the ratio, and each arm's agreement with the generator's labels, plus
the floor: verl's naive manager with a reward function that grades nothing, i.e. what verl's own path
(transfer, padding, decoding, actor calls) costs before any grader runs.

    python benchmarks/reward_bench.py [--rollouts 2048] [--num-workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GROUP_SIZE = 16
PATHS = ("batch", "stream")
FLOOR = "floor: verl path, no grading"


def verl_math_verify_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """verl's own `math_verify.compute_score` behind the signature verl's managers call."""
    from verl.utils.reward_score import math_verify

    return math_verify.compute_score(solution_str, ground_truth)


def no_grading_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """No grading at all: measures verl's reward path alone."""
    return 0.0


ARMS = {
    "deepmath": ["reward.reward_manager.name=deepmath"],
    "verl naive + math_verify": [
        "reward.reward_manager.name=naive",
        f"reward.custom_reward_function.path={Path(__file__).resolve()}",
        "reward.custom_reward_function.name=verl_math_verify_score",
    ],
    FLOOR: [
        "reward.reward_manager.name=naive",
        f"reward.custom_reward_function.path={Path(__file__).resolve()}",
        "reward.custom_reward_function.name=no_grading_score",
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


def single_samples(batch) -> list:
    """Each row of a padded batch as its own unpadded one-sample DataProto, as the agent loop sends it."""
    from verl import DataProto

    width = batch.batch["prompts"].shape[1]
    samples = []
    for i in range(len(batch)):
        mask = batch.batch["attention_mask"][i]
        start, end = width - int(mask[:width].sum()), width + int(mask[width:].sum())
        tensors = {
            "prompts": batch.batch["prompts"][i : i + 1, start:],
            "responses": batch.batch["responses"][i : i + 1, : end - width],
            "attention_mask": mask[start:end].unsqueeze(0),
        }
        samples.append(
            DataProto.from_dict(tensors, {k: v[i : i + 1] for k, v in batch.non_tensor_batch.items()})
        )
    return samples


def agreement(accs, labels) -> float:
    """Share of rollouts whose reward says correct exactly when the label does."""
    return sum((float(a) > 0) == label for a, label in zip(accs, labels, strict=True)) / len(labels)


def score(manager, path: str, batch, samples) -> list[float]:
    """`acc` of every rollout along one of verl's two reward paths."""
    import ray

    if path == "batch":
        return list(manager.compute_rm_score(batch).non_tensor_batch["acc"])
    actors = manager.reward_loop_workers
    refs = [actors[i % len(actors)].compute_score.remote(sample) for i, sample in enumerate(samples)]
    return [out["reward_extra_info"]["acc"] for out in ray.get(refs)]


def run_arm(overrides, path: str, batch, samples, warm_up, labels, num_workers: int) -> tuple[float, float]:
    """(samples/s, agreement with labels) of one reward configuration on one path, on fresh actors."""
    import ray
    from reward_support import verl_config
    from verl.experimental.reward_loop import RewardLoopManager

    manager = RewardLoopManager(verl_config([f"reward.num_workers={num_workers}", *overrides]))
    try:
        manager.compute_rm_score(warm_up)  # actor start-up, tokenizer and worker-pool start-up
        started = time.perf_counter()
        accs = score(manager, path, batch, samples)
        elapsed = time.perf_counter() - started
    finally:
        for actor in manager.reward_loop_workers:  # verl names them; the next run reuses the names
            ray.kill(actor)
    return len(labels) / elapsed, agreement(accs, labels)


def main(argv: list[str] | None = None) -> int:
    """Run both arms on the same rollouts and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=2048)
    parser.add_argument("--num-workers", type=int, default=2, help="reward.num_workers (Ray actors)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]

    import ray
    from reward_support import rollout_batch, tokenizer_dir
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    rows, labels = rollouts(args.rollouts, args.seed)
    warm_rows, _ = rollouts(GROUP_SIZE * args.num_workers, args.seed + 1)
    batch, warm_up = rollout_batch(tokenizer, rows), rollout_batch(tokenizer, warm_rows)
    ray.init(num_cpus=max(2, args.num_workers), include_dashboard=False, log_to_driver=False)
    samples = single_samples(batch)
    results = {
        name: {
            path: run_arm(overrides, path, batch, samples, warm_up, labels, args.num_workers)
            for path in PATHS
        }
        for name, overrides in ARMS.items()
    }
    ray.shutdown()

    print(
        f"{len(rows)} rollouts ({len(rows) // GROUP_SIZE} groups of {GROUP_SIZE}), reward.num_workers={args.num_workers}"
    )
    for path in PATHS:
        print(f"{path}:")
        for name, by_path in results.items():
            rate, agreed = by_path[path]
            agreed_text = "n/a" if name == FLOOR else f"{agreed:.2%}"
            print(f"  {name:<30} {rate:9.1f} samples/s   agreement with labels {agreed_text}")
        ratio = results["deepmath"][path][0] / results["verl naive + math_verify"][path][0]
        print(f"  throughput ratio deepmath / verl: {ratio:.1f}x")
        floor_s, ours_s = len(rows) / results[FLOOR][path][0], len(rows) / results["deepmath"][path][0]
        print(f"  of deepmath's {ours_s:.1f} s, verl's path alone takes {floor_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
