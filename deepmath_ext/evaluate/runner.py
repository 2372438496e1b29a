"""`deepmath eval` end to end: pin settings, generate what is missing, grade, score, report."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepmath_ext.atomic_files import write_json_atomic
from deepmath_ext.data.benchmarks import PAPER_BENCHMARKS
from deepmath_ext.evaluate.backends import (
    Backend,
    GenerationRequest,
    SampleKey,
    SamplingSettings,
    create_backend,
)
from deepmath_ext.evaluate.backends.base import effective_max_tokens
from deepmath_ext.evaluate.grading import grade_run
from deepmath_ext.evaluate.manifest import environment, previous_manifest, verifier_version, write_manifest
from deepmath_ext.evaluate.metrics import benchmark_metrics
from deepmath_ext.evaluate.report import write_run_report
from deepmath_ext.evaluate.settings import load_settings, pin_settings, sample_settings
from deepmath_ext.evaluate.store import GENERATIONS_FILE, GenerationStore, run_lock, save_problems
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


@dataclass
class EvalConfig:
    """One `deepmath eval` invocation."""

    model: str
    out: Path
    benchmarks: Sequence[str] = PAPER_BENCHMARKS
    template: str = "qwen-boxed"
    n: int = 16
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    seed: int = 42
    backend: str = "vllm"
    dtype: str = "bfloat16"
    tensor_parallel_size: int = 1
    backend_options: dict[str, Any] = field(default_factory=dict)
    data_dir: Path | None = None
    allow_mismatch: bool = False
    batch_size: int = 1024
    label: str | None = None
    grading_workers: int | None = None
    grading_timeout_s: float = DEFAULT_TIMEOUT_S
    command: list[str] = field(default_factory=lambda: list(sys.argv))


BackendFactory = Callable[..., Backend]


def run_eval(config: EvalConfig, backend_factory: BackendFactory = create_backend) -> dict[str, Any]:
    """Generate every missing (problem, sample), then grade and score the whole run; returns metrics."""
    from deepmath_ext.data.benchmarks import content_hash, load_benchmark
    from deepmath_ext.templates import get_template

    if config.n < 1:
        raise ValueError(f"n must be at least 1, got {config.n}")
    template = get_template(config.template)
    with run_lock(config.out):
        problems = {b: load_benchmark(b, config.data_dir, config.allow_mismatch) for b in config.benchmarks}
        settings = pin_settings(
            config.out,
            _sample_settings(config, template.fingerprint()),
            {b: content_hash(ps) for b, ps in problems.items()},
            {
                "n": config.n,
                "require_think": template.thinking,
                "label": config.label or default_label(config.model),
            },
        )
        save_problems(config.out, [_problem_row(p) for ps in problems.values() for p in ps])
        store = GenerationStore(config.out / GENERATIONS_FILE)
        todo = [
            (p, SampleKey(p.benchmark, p.id, i))
            for ps in problems.values()
            for p in ps
            for i in range(config.n)
            if SampleKey(p.benchmark, p.id, i) not in store
        ]
        log.info(
            "%d of %d samples to generate", len(todo), sum(len(ps) for ps in problems.values()) * config.n
        )
        engine = _generate(config, template, todo, store, settings["fingerprint"], backend_factory)
        _write_eval_manifest(config, template, problems, settings, store, engine, generated=len(todo))
    return finalize_run(config.out, workers=config.grading_workers, timeout_s=config.grading_timeout_s)


def default_label(model: str) -> str:
    """A row label for a model path or hub id: its last path component."""
    return model.rstrip("/").rsplit("/", 1)[-1]


def _sample_settings(config: EvalConfig, template_fingerprint: str) -> dict[str, Any]:
    return sample_settings(
        {
            "model": config.model,
            "backend": config.backend,
            "dtype": config.dtype,
            "template": config.template,
            "template_fingerprint": template_fingerprint,
            **config.sampling.as_dict(),
            "seed": config.seed,
        }
    )


def _problem_row(problem: Any) -> dict[str, Any]:
    return {
        "benchmark": problem.benchmark,
        "id": problem.id,
        "answer": problem.answer,
        "categories": problem.categories,
        "problem": problem.problem,
    }


def _generate(
    config: EvalConfig,
    template: Any,
    todo: list[tuple[Any, SampleKey]],
    store: GenerationStore,
    fingerprint: str,
    backend_factory: BackendFactory,
) -> dict[str, Any]:
    """Generate `todo` in batches, appending each batch to the store; returns the engine description."""
    from tqdm import tqdm

    if not todo:
        return previous_manifest(config.out).get("engine", {})
    backend = backend_factory(
        config.backend,
        config.model,
        dtype=config.dtype,
        tensor_parallel_size=config.tensor_parallel_size,
        seed=config.seed,
        **config.backend_options,
    )
    try:
        prompts: dict[tuple[str, str], str] = {}
        with tqdm(total=len(todo), desc="generating", unit="sample") as bar:
            for start in range(0, len(todo), config.batch_size):
                batch = []
                for problem, key in todo[start : start + config.batch_size]:
                    prompt_key = (problem.benchmark, problem.id)
                    if prompt_key not in prompts:
                        prompts[prompt_key] = template.render(backend.tokenizer, problem.problem)
                    # One seed per sample index, as the reference evaluation does: sample i uses seed + i.
                    batch.append(GenerationRequest(key, prompts[prompt_key], config.seed + key.index))
                store.append(batch, backend.generate(batch, config.sampling), fingerprint)
                bar.update(len(batch))
        return backend.describe()
    finally:
        backend.close()


def _write_eval_manifest(
    config: EvalConfig,
    template: Any,
    problems: dict[str, list[Any]],
    settings: dict[str, Any],
    store: GenerationStore,
    engine: dict[str, Any],
    generated: int,
) -> None:
    from deepmath_ext.data.benchmarks import get_benchmark

    longest_prompt = max((r["prompt_tokens"] for r in store.records.values()), default=0)
    manifest = {
        "model": config.model,
        "label": settings["label"],
        "backend": config.backend,
        "engine": engine,
        "dtype": config.dtype,
        "tensor_parallel_size": config.tensor_parallel_size,
        "sampling": {
            **config.sampling.as_dict(),
            "n": config.n,
            "seed": config.seed,
            "seed_rule": "sample i: seed + i",
        },
        "longest_prompt_tokens": longest_prompt,
        "effective_max_tokens": effective_max_tokens(
            config.sampling.max_tokens, engine.get("max_model_len"), longest_prompt
        ),
        "template": {
            "name": template.name,
            "fingerprint": template.fingerprint(),
            "thinking": template.thinking,
            "system_prompt": template.system_prompt,
            "prefix": template.prefix,
            "suffix": template.suffix,
            "chat_template": template.chat_template or "(the tokenizer's own)",
        },
        # A run may add benchmarks one command at a time: keep those recorded by earlier invocations.
        "benchmarks": previous_manifest(config.out).get("benchmarks", {})
        | {
            name: {
                "rows": len(ps),
                "content_hash": settings["benchmarks"][name],  # pinned (and so computed) just before
                "registry_hash": get_benchmark(name).content_hash,
                "source": str(config.data_dir) if config.data_dir else get_benchmark(name).hf_id,
            }
            for name, ps in problems.items()
        },
        "batch_size": config.batch_size,
        **environment(),
    }
    write_manifest(config.out, manifest, {"command": config.command, "generated": generated})


def finalize_run(
    run_dir: Path, *, workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    """Grade the stored generations, then write `metrics.json`, `report.md` and the plots."""
    settings = load_settings(run_dir)
    results = grade_run(
        run_dir,
        n=settings["n"],
        require_think=settings["require_think"],
        workers=workers,
        timeout_s=timeout_s,
    )
    return write_scores(run_dir, settings, results)


def write_scores(run_dir: Path, settings: dict[str, Any], results: dict[str, list[Any]]) -> dict[str, Any]:
    """Score graded results per benchmark and write `metrics.json`, `report.md` and the plots."""
    n = settings["n"]
    metrics = {
        "run": {
            "label": settings["label"],
            "fingerprint": settings["fingerprint"],
            "n": n,
            **settings["samples"],
            "verifier": verifier_version(),
        },
        "benchmarks": {name: benchmark_metrics(problems, n) for name, problems in results.items()},
    }
    write_json_atomic(run_dir / METRICS_FILE, metrics)
    write_run_report(run_dir, metrics)
    return metrics
