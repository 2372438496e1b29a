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
(transfer, padding, decoding, actor calls) costs before any grader runs. A fourth arm, `deepmath terms`, is the
same manager with `terms: {accuracy: 1.0, length: 0.1, repetition: 0.1}`: its throughput against plain
`deepmath` (`terms: {accuracy: 1.0}`) is what the reward-terms registry costs. `--terms-only` runs just those
two, alternating them `--repeats` times on fresh actors and reporting each arm's median.
Besides samples/s, each run reports the CPU time its reward actors and their verifier workers spent per
sample. `--in-process` instead scores the two terms arms with verl's `load_reward_manager` + `run_single` in
this process (no Ray), the verifier's memo warm, and reports this process's CPU ms per sample: the terms' own
cost, which a shared machine's load moves far less than the Ray figures.

    python benchmarks/reward_bench.py [--rollouts 2048] [--num-workers 2] [--terms-only --repeats 3]
    python benchmarks/reward_bench.py --in-process [--rollouts 1024 --repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deepmath_ext.reward.recipe import manager_overrides

REPO = Path(__file__).resolve().parents[1]
GROUP_SIZE = 16
PATHS = ("batch", "stream")
FLOOR = "floor: verl path, no grading"
TERMS = "deepmath terms"


def verl_math_verify_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """verl's own `math_verify.compute_score` behind the signature verl's managers call."""
    from verl.utils.reward_score import math_verify

    return math_verify.compute_score(solution_str, ground_truth)


def no_grading_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """No grading at all: measures verl's reward path alone."""
    return 0.0


ARMS = {
    "deepmath": manager_overrides(),
    TERMS: [
        *manager_overrides(),
        "+reward.reward_kwargs.terms={accuracy: 1.0, length: 0.1, repetition: 0.1}",
    ],
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


def _process_tree_cpu_s(actor) -> float:
    """CPU seconds of the actor's process and its descendants (the verifier workers), run inside the actor."""
    import psutil

    total = 0.0
    root = psutil.Process()
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # a worker the pool replaced after a timeout
            continue
        total += times.user + times.system
    return total


def reward_cpu_s(manager) -> float:
    """CPU seconds spent so far by the manager's reward actors and their verifier workers."""
    import ray

    return sum(
        ray.get([actor.__ray_call__.remote(_process_tree_cpu_s) for actor in manager.reward_loop_workers])
    )


def run_arm(
    overrides, path: str, batch, samples, warm_up, labels, num_workers: int
) -> tuple[float, float, float]:
    """(samples/s, agreement with labels, reward CPU ms per sample) of one configuration on one path, on fresh
    actors."""
    import ray
    from reward_support import verl_config
    from verl.experimental.reward_loop import RewardLoopManager

    manager = RewardLoopManager(verl_config([f"reward.num_workers={num_workers}", *overrides]))
    try:
        manager.compute_rm_score(warm_up)  # actor start-up, tokenizer and worker-pool start-up
        cpu, started = reward_cpu_s(manager), time.perf_counter()
        accs = score(manager, path, batch, samples)
        elapsed = time.perf_counter() - started
        cpu = reward_cpu_s(manager) - cpu
    finally:
        for actor in manager.reward_loop_workers:  # verl names them; the next run reuses the names
            ray.kill(actor)
    return len(labels) / elapsed, agreement(accs, labels), cpu / len(labels) * 1e3


def in_process_cpu_ms(tokenizer, samples, repeats: int) -> dict[str, float]:
    """Median CPU ms per sample of each terms arm's `run_single` in this process, the verifier memo warm."""
    import asyncio

    from reward_support import verl_config
    from verl.trainer.ppo.reward import load_reward_manager

    async def load(
        name: str,
    ):  # inside the loop: verl's manager keeps the running loop for its executor calls
        return load_reward_manager(
            verl_config([*ARMS[name], "+reward.reward_kwargs.verifier_workers=1"]), tokenizer
        )

    async def score_all(manager) -> None:
        await asyncio.gather(*(manager.run_single(sample) for sample in samples))

    loop = asyncio.new_event_loop()
    managers = {name: loop.run_until_complete(load(name)) for name in ("deepmath", TERMS)}
    for manager in managers.values():
        loop.run_until_complete(score_all(manager))  # the verifier's memo and the tokenizer warm up
    runs: dict[str, list[float]] = {name: [] for name in managers}
    for _ in range(repeats):
        for name, manager in managers.items():
            started = time.process_time()
            loop.run_until_complete(score_all(manager))
            runs[name].append((time.process_time() - started) / len(samples) * 1e3)
    loop.close()
    return {name: sorted(ms)[len(ms) // 2] for name, ms in runs.items()}


def main(argv: list[str] | None = None) -> int:
    """Run both arms on the same rollouts and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=2048)
    parser.add_argument("--num-workers", type=int, default=2, help="reward.num_workers (Ray actors)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--terms-only", action="store_true", help="only deepmath vs deepmath terms")
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each arm, alternating; medians reported"
    )
    parser.add_argument("--in-process", action="store_true", help="the terms arms' CPU time without Ray")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]

    import ray
    from reward_support import rollout_batch, tokenizer_dir
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    rows, labels = rollouts(args.rollouts, args.seed)
    warm_rows, _ = rollouts(GROUP_SIZE * args.num_workers, args.seed + 1)
    batch, warm_up = rollout_batch(tokenizer, rows), rollout_batch(tokenizer, warm_rows)
    if args.in_process:
        ms = in_process_cpu_ms(tokenizer, single_samples(batch), args.repeats)
        plain, terms = ms["deepmath"], ms[TERMS]
        print(f"{len(rows)} rollouts, in-process run_single, median of {args.repeats} run(s), CPU ms/sample:")
        print(f"  deepmath {plain:.3f}   deepmath terms {terms:.3f}   terms add {terms - plain:.3f} ms")
        return 0
    ray.init(num_cpus=max(2, args.num_workers), include_dashboard=False, log_to_driver=False)
    samples = single_samples(batch)
    arms = {name: ARMS[name] for name in ("deepmath", TERMS)} if args.terms_only else ARMS
    runs: dict[str, dict[str, list[tuple[float, float, float]]]] = {
        name: {path: [] for path in PATHS} for name in arms
    }
    for _ in range(args.repeats):  # alternating arms, so a slow spell of the machine hits both
        for name, overrides in arms.items():
            for path in PATHS:
                runs[name][path].append(
                    run_arm(overrides, path, batch, samples, warm_up, labels, args.num_workers)
                )
    ray.shutdown()
    results = {name: {path: _median(r) for path, r in by_path.items()} for name, by_path in runs.items()}
    cpu_ms = {name: {path: _median_cpu(r) for path, r in by_path.items()} for name, by_path in runs.items()}

    print(
        f"{len(rows)} rollouts ({len(rows) // GROUP_SIZE} groups of {GROUP_SIZE}), "
        f"reward.num_workers={args.num_workers}, median of {args.repeats} run(s)"
    )
    for path in PATHS:
        print(f"{path}:")
        for name, by_path in results.items():
            rate, agreed, _ = by_path[path]
            agreed_text = "n/a" if name == FLOOR else f"{agreed:.2%}"
            print(
                f"  {name:<30} {rate:9.1f} samples/s {cpu_ms[name][path]:7.2f} CPU ms/sample   "
                f"agreement with labels {agreed_text}"
            )
        cost = 1 - results[TERMS][path][0] / results["deepmath"][path][0]
        cpu_cost = cpu_ms[TERMS][path] / cpu_ms["deepmath"][path] - 1
        print(
            f"  terms registry (accuracy 1, length 0.1, repetition 0.1) costs {cost:.1%} of plain accuracy's "
            f"throughput, {cpu_cost:+.1%} reward CPU per sample"
        )
        if args.terms_only:
            continue
        ratio = results["deepmath"][path][0] / results["verl naive + math_verify"][path][0]
        print(f"  throughput ratio deepmath / verl: {ratio:.1f}x")
        floor_s, ours_s = len(rows) / results[FLOOR][path][0], len(rows) / results["deepmath"][path][0]
        print(f"  of deepmath's {ours_s:.1f} s, verl's path alone takes {floor_s:.1f} s")
    return 0


def _median(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The run of median throughput (with its agreement and CPU time)."""
    return sorted(runs)[len(runs) // 2]


def _median_cpu(runs: list[tuple[float, float, float]]) -> float:
    """The median reward CPU ms per sample of the runs."""
    return sorted(cpu for _, _, cpu in runs)[len(runs) // 2]


if __name__ == "__main__":
    sys.exit(main())
