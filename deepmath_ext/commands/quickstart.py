"""Grade, prepare and score the bundled samples end to end (CPU, offline)."""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from importlib import resources
from pathlib import Path
from types import ModuleType

from deepmath_ext.commands import command_parser, grade, prepare, stats
from deepmath_ext.errors import UserError
from deepmath_ext.files import read_jsonl

SAMPLES = resources.files("deepmath_ext") / "samples"
RESPONSES_SAMPLE = "graded_responses.jsonl"
DEEPMATH_SAMPLE = "deepmath_sample.jsonl"
# verl's own loader for `reward.custom_reward_function`, configured as a recipe would configure it.
REWARD_FUNCTION = {"path": "pkg://deepmath_ext.reward", "name": "compute_score"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath quickstart`."""
    parser.add_argument("--out", default="quickstart_out", help="folder for everything written")


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _run_subcommand(name: str, module: ModuleType, argv: list[str]) -> None:
    """Run `deepmath NAME ARGV...` in-process, as a user would type it."""
    if status := module.run(command_parser(module, f"deepmath {name}").parse_args(argv)):
        raise UserError(f"`deepmath {name}` failed with status {status}")


def _score_through_verl(train_parquet: Path) -> None:
    """Score each bundled r1 solution with our reward, loaded by verl's own `get_custom_reward_fn`."""
    import pandas as pd
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    config = OmegaConf.create({"reward": {"custom_reward_function": REWARD_FUNCTION}})
    reward_fn = get_custom_reward_fn(config)
    rows = pd.read_parquet(train_parquet)
    with resources.as_file(SAMPLES / DEEPMATH_SAMPLE) as sample:
        samples = read_jsonl(sample)
    scores, statuses = [], Counter()
    for row in rows.itertuples():
        # problem_id is the row's 0-based position in the source file
        sample = samples[int(row.extra_info["problem_id"])]
        for key in ("r1_solution_1", "r1_solution_2", "r1_solution_3"):
            score = reward_fn(  # our compute_score is async, as verl's reward loop awaits it
                data_source=row.data_source,
                solution_str=sample[key],
                ground_truth=row.reward_model["ground_truth"],
                extra_info=row.extra_info,
            )
            result = asyncio.run(score)
            scores.append(result["score"])
            statuses[result["status"]] += 1
    mean = sum(scores) / len(scores)
    print(f"{len(scores)} solutions scored through verl's reward loader: mean reward {mean:+.3f}")
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))


def run(args: argparse.Namespace) -> int:
    """Grade the bundled responses, prepare the bundled DeepMath sample, and score it through verl."""
    out = Path(args.out)
    with resources.as_file(SAMPLES / RESPONSES_SAMPLE) as responses:
        _step(f"deepmath grade {RESPONSES_SAMPLE}")
        _run_subcommand("grade", grade, [str(responses), "--out", str(out / "graded.jsonl")])
    with resources.as_file(SAMPLES / DEEPMATH_SAMPLE) as sample:
        _step(f"deepmath prepare --template orz --train {DEEPMATH_SAMPLE}")
        _run_subcommand(
            "prepare",
            prepare,
            ["--template", "orz", "--train", str(sample), "--no-val", "--out", str(out / "data")],
        )
        _step(f"deepmath stats {DEEPMATH_SAMPLE}")
        _run_subcommand("stats", stats, [str(sample), "--out", str(out / "stats")])
    _step("reward through verl (reward.custom_reward_function: pkg://deepmath_ext.reward)")
    _score_through_verl(out / "data" / "train.parquet")
    print(f"\nquickstart done: everything is in {out}/")
    return 0
