"""`deepmath eval` over several models, such as a training run's checkpoints: one run each, one report.

Each model gets its own run folder under `--out` (`step_N` for a checkpoint), so each resumes on its own;
the folder itself gets the comparison report, `curve.json` and `curve.png`: avg@n against the step.

`deepmath train` leaves FSDP-sharded actor checkpoints (`RUN/global_step_N/actor`) that no inference engine
loads. `merged_model` turns one into a Hugging Face folder with verl's own model merger
(`python -m verl.model_merger merge --backend fsdp`), once: the result is kept beside the actor folder with a
fingerprint of the shards it came from, and merged again only when they change.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import display_name, ordered_benchmarks
from deepmath_ext.evaluate.backends import create_backend
from deepmath_ext.evaluate.runner import BackendFactory, EvalConfig, Generate, run_eval
from deepmath_ext.files import write_json_atomic

CURVE_FILE = "curve.json"
CURVE_PLOT = "curve.png"
MERGED_DIR = "actor_merged_hf"  # beside `actor/`, inside the step's folder
MERGE_RECORD = "deepmath_merge.json"
STEP_DIR = re.compile(r"global_step_(\d+)$")


@dataclass(frozen=True)
class ModelSpec:
    """One model to evaluate: a path or hub id, or a verl actor checkpoint with its training step."""

    model: str
    actor: Path | None = None
    step: int | None = None

    @property
    def name(self) -> str:
        """A short name for run folders and report rows: `step_N` for a checkpoint, else the last component."""
        if self.step is not None:
            return f"step_{self.step}"
        return self.model.rstrip("/").rsplit("/", 1)[-1]


def actor_dir(path: Path) -> Path | None:
    """The verl FSDP actor checkpoint at `path` (or at `path/actor`, a step folder), if there is one."""
    for candidate in (path, path / "actor"):
        if (candidate / "fsdp_config.json").is_file() and (candidate / "huggingface").is_dir():
            return candidate
    return None


def _step(actor: Path) -> int | None:
    match = STEP_DIR.search(actor.parent.name)
    return int(match.group(1)) if match else None


def resolve_models(spec: str) -> list[ModelSpec]:
    """The models a `--model` value names: comma-separated items, each a path, a glob or a hub id.

    Checkpoints are ordered by training step; a glob that matches nothing is an error.
    """
    specs: list[ModelSpec] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        paths = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not paths:
            raise ValueError(f"--model {item!r} matches no file or folder")
        for path in paths:
            actor = actor_dir(Path(path))
            specs.append(ModelSpec(path, actor, _step(actor)) if actor else ModelSpec(path))
    if not specs:
        raise ValueError("--model names no model")
    if any(s.actor for s in specs):
        specs.sort(key=lambda s: (s.step is None, s.step or 0, s.model))
    names = [s.name for s in specs]
    if len(set(names)) < len(names):
        raise ValueError(f"--model names two models with one name ({', '.join(names)}); evaluate them apart")
    return specs


def checkpoint_fingerprint(actor: Path) -> str:
    """A hash of the checkpoint's files: names, sizes and modification times (re-saved shards change it)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in actor.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(actor)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def merged_model(actor: Path) -> Path:
    """A Hugging Face folder of `actor`'s weights, merged by verl's model merger and cached beside it."""
    target = actor.parent / MERGED_DIR
    fingerprint = checkpoint_fingerprint(actor)
    record = target / MERGE_RECORD
    if record.is_file() and json.loads(record.read_text())["fingerprint"] == fingerprint:
        return target
    work = actor.parent / f".{MERGED_DIR}.{os.getpid()}.tmp"  # mkdir, not mkdtemp: the umask's mode
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        command = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp"]
        command += ["--local_dir", str(actor), "--target_dir", str(work)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"verl's model merger failed on {actor}:\n{done.stderr[-2000:]}")
        facts = {"fingerprint": fingerprint, "source": str(actor), "command": command[1:]}
        (work / MERGE_RECORD).write_text(json.dumps(facts, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)  # an older merge of shards that have since changed
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def evaluate_models(
    config: EvalConfig, backend_factory: BackendFactory = create_backend, generate: Generate | None = None
) -> list[dict[str, Any]]:
    """Evaluate every model `config.model` names (a path, hub id, checkpoint, glob or list); their metrics.

    `generate`: how each run's missing samples are made (`run_eval`'s; default one engine here).
    """
    specs = resolve_models(config.model)
    if config.template is None and any(spec.actor for spec in specs):
        raise ValueError("a training checkpoint has no model family to pick a template by: pass --template")
    if len(specs) == 1:
        return [run_eval(_config_for(config, specs[0], config.out, config.label), backend_factory, generate)]
    runs = [
        run_eval(_config_for(config, spec, config.out / spec.name, None), backend_factory, generate)
        for spec in specs
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
    from deepmath_ext.evaluate.report import plot_curve, render_comparison, write_report

    data = curve(specs, runs)
    text = render_comparison(runs)
    if data["steps"]:
        heading = f"\n## avg@n (%) against the training step ({data['policy']} grading)\n\n"
        text += heading + "\n".join(render_curve(data)) + "\n"
    write_report(out, text, runs)
    write_json_atomic(out / CURVE_FILE, data)
    if data["steps"]:
        plot_curve(data, out / CURVE_PLOT)
