"""`deepmath eval` over several models, such as a training run's checkpoints: one run each, one report.

Each model gets its own run folder under `--out` (`step_N` for a checkpoint), so each resumes on its own;
the folder itself gets the comparison report, `curve.json` and `curve.png`: avg@n against the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import display_name, ordered_benchmarks
from deepmath_ext.evaluate.backends import create_backend
from deepmath_ext.evaluate.checkpoints import ModelSpec, merged_model, resolve_models
from deepmath_ext.evaluate.runner import BackendFactory, EvalConfig, run_eval
from deepmath_ext.files import write_json_atomic

CURVE_FILE = "curve.json"
CURVE_PLOT = "curve.png"


def evaluate_models(
    config: EvalConfig, backend_factory: BackendFactory = create_backend
) -> list[dict[str, Any]]:
    """Evaluate every model `config.model` names (a path, hub id, checkpoint, glob or list); their metrics."""
    specs = resolve_models(config.model)
    if config.template is None and any(spec.actor for spec in specs):
        raise ValueError("a training checkpoint has no model family to pick a template by: pass --template")
    if len(specs) == 1:
        return [run_eval(_config_for(config, specs[0], config.out, config.label), backend_factory)]
    runs = [
        run_eval(_config_for(config, spec, config.out / spec.name, None), backend_factory) for spec in specs
    ]
    write_series_report(config.out, specs, runs)
    return runs


def _config_for(config: EvalConfig, spec: ModelSpec, out: Path, label: str | None) -> EvalConfig:
    """The single-model config for `spec`; a checkpoint is merged first and labelled by run and step."""
    if spec.actor is None:
        return replace(
            config, model=spec.model, out=out, label=label or (None if out == config.out else spec.name)
        )
    if label is None:
        run_name = spec.actor.parent.parent.name if spec.step is not None else spec.actor.parent.name
        label = f"{run_name} step {spec.step}" if spec.step is not None else run_name
    return replace(config, model=str(merged_model(spec.actor)), out=out, label=label)


def curve(specs: Sequence[ModelSpec], runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """avg@n and its interval per benchmark against the training step, under the runs' first grading policy.

    Models without a step (not checkpoints) are left out.
    """
    points = [(spec.step, run) for spec, run in zip(specs, runs, strict=True) if spec.step is not None]
    names = ordered_benchmarks({b for _, run in points for b in run["benchmarks"]})
    policy = runs[0]["run"]["policies"][0]

    def graded(run: dict[str, Any], name: str) -> dict[str, Any]:
        return run["benchmarks"][name]["policies"][policy]

    return {
        "policy": policy,
        "steps": [step for step, _ in points],
        "benchmarks": {
            name: [
                {"step": step, "avg@n": graded(run, name)["avg@n"], "ci95": graded(run, name)["ci95"]}
                for step, run in points
                if name in run["benchmarks"]
            ]
            for name in names
        },
    }


def render_curve(data: dict[str, Any]) -> list[str]:
    """Markdown table of avg@n (%) per step and benchmark."""
    names = list(data["benchmarks"])
    rows = [f"| Step | {' | '.join(display_name(n) for n in names)} |", "|---" * (len(names) + 1) + "|"]
    for step in data["steps"]:
        cells = []
        for name in names:
            point = next((p for p in data["benchmarks"][name] if p["step"] == step), None)
            cells.append(f"{100 * point['avg@n']:.1f}" if point else "–")
        rows.append(f"| {step} | {' | '.join(cells)} |")
    return rows


def write_series_report(out: Path, specs: Sequence[ModelSpec], runs: Sequence[dict[str, Any]]) -> None:
    """The comparison report of all runs, plus the avg@n-against-step table, curve.json and curve.png."""
    from deepmath_ext.evaluate.plots import plot_curve
    from deepmath_ext.evaluate.report import render_comparison, write_report

    data = curve(specs, runs)
    text = render_comparison(runs)
    if data["steps"]:
        heading = f"\n## avg@n (%) against the training step ({data['policy']} grading)\n\n"
        text += heading + "\n".join(render_curve(data)) + "\n"
    write_report(out, text, runs)
    write_json_atomic(out / CURVE_FILE, data)
    if data["steps"]:
        plot_curve(data, out / CURVE_PLOT)
