"""The learning check's curve as a PNG: per-step metrics of a real `deepmath train --smoke-cpu` GRPO run.

Runs the learning check of tests/test_engine_learning.py for one recipe (a primed tiny model, questions whose gold
is 1, dynamic sampling on) in the CPU-engine environment, then plots `reward/acc` and the rollout/actor
log-prob correlation against the step; or plots an existing run's metrics.jsonl.

    .engine-venv/bin/python benchmarks/learning_curve.py --recipe deepmath-zero-7b --out docs/learning_curve.png
    python benchmarks/learning_curve.py --metrics RUN/metrics.jsonl --out docs/learning_curve.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from engine_support import step_metrics  # noqa: E402

CURVES = (
    ("reward/acc", "reward/acc (trained groups)"),
    ("training/rollout_actor_probs_pearson_corr", "rollout/actor log-prob corr."),
)


def run_learning_check(recipe: str, workdir: Path) -> Path:
    """Run the learning check's GRPO for `recipe` in `workdir`; return the folder holding metrics.jsonl."""
    from test_engine_learning import LEARNING_RECIPES, learning_run, primed_model

    template, tokenizer = next(p.values[1:] for p in LEARNING_RECIPES if p.values[0] == recipe)
    started = time.monotonic()
    result = learning_run(recipe, template, primed_model(template, tokenizer, workdir), workdir)
    print(f"{recipe}: exit {result.returncode} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-4000:])
    return workdir


def plot(metrics: list[dict], title: str, out: Path) -> None:
    """Save one panel per curve, step on the x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = range(1, len(metrics) + 1)
    fig, axes = plt.subplots(1, len(CURVES), figsize=(9, 3.2))
    for ax, (key, label) in zip(axes, CURVES, strict=True):
        ax.plot(steps, [m.get(key, float("nan")) for m in metrics], marker="o")
        ax.set_xlabel("GRPO step")
        ax.set_title(label, fontsize=10)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--recipe", help="run the learning check for this recipe")
    source.add_argument("--metrics", type=Path, help="plot an existing run's metrics.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--title", default="learning check", help="the plot's title with --metrics")
    args = parser.parse_args()
    if args.metrics:
        workdir, title = args.metrics.parent, args.title
    else:
        workdir = run_learning_check(args.recipe, Path(tempfile.mkdtemp(prefix="learning-")))
        title = f"learning check, {args.recipe} reward settings (tiny primed Qwen2, CPU)"
    plot(step_metrics(workdir), title, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
