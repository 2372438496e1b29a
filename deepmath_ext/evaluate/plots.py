"""PNG plots of evaluation runs (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import display_name, ordered_benchmarks
from deepmath_ext.evaluate.baselines import BaselineRow
from deepmath_ext.files import pyplot, save_png_atomic


def plot_accuracy(runs: Sequence[dict[str, Any]], baselines: Sequence[BaselineRow], path: Path) -> None:
    """Grouped bars of avg@n per benchmark with 95% intervals; published numbers as markers."""
    plt = pyplot()
    names = ordered_benchmarks({b for r in runs for b in r["benchmarks"]})
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    for i, run in enumerate(runs):
        xs = [
            j + (i - (len(runs) - 1) / 2) * width for j, name in enumerate(names) if name in run["benchmarks"]
        ]
        benches = [run["benchmarks"][name] for name in names if name in run["benchmarks"]]
        acc = [100 * b["avg@n"] for b in benches]
        err = [
            [a - 100 * b["ci95"][0] for a, b in zip(acc, benches, strict=True)],
            [100 * b["ci95"][1] - a for a, b in zip(acc, benches, strict=True)],
        ]
        ax.bar(xs, acc, width, yerr=err, capsize=3, label=run["run"]["label"])
    for base in baselines:
        points = [(j, base.scores[name]) for j, name in enumerate(names) if name in base.scores]
        if points:
            ax.plot(*zip(*points, strict=True), marker="D", linestyle="none", label=base.display)
    ax.set_xticks(range(len(names)), [display_name(n) for n in names])
    ax.set_ylabel("avg@n accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    save_png_atomic(fig, path)


def plot_pass_at_k(runs: Sequence[dict[str, Any]], path: Path) -> None:
    """pass@k against k (log scale), one panel per benchmark, one line per run."""
    plt = pyplot()
    names = ordered_benchmarks({b for r in runs for b in r["benchmarks"]})
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for run in runs:
            if name in run["benchmarks"]:
                curve = sorted((int(k), 100 * v) for k, v in run["benchmarks"][name]["pass@k"].items())
                ax.plot(*zip(*curve, strict=True), marker="o", label=run["run"]["label"])
        ax.set_xscale("log", base=2)
        ax.set_title(display_name(name))
        ax.set_xlabel("k")
    axes[0][0].set_ylabel("pass@k (%)")
    axes[0][-1].legend(fontsize=7)
    save_png_atomic(fig, path)


def plot_curve(curve: dict[str, Any], path: Path) -> None:
    """avg@n (%) against the training step, one line per benchmark, with its 95% interval as a band."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curve["benchmarks"].items():
        steps = [p["step"] for p in points]
        ax.plot(steps, [100 * p["avg@n"] for p in points], marker="o", label=display_name(name))
        ax.fill_between(
            steps, [100 * p["ci95"][0] for p in points], [100 * p["ci95"][1] for p in points], alpha=0.15
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("avg@n accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    save_png_atomic(fig, path)
