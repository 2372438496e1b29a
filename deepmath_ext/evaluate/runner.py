"""`deepmath eval` end to end: generate what is missing (pinning the run on its first sample), grade, score."""

from __future__ import annotations

import dataclasses
import functools
import logging
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepmath_ext.data.benchmarks import PAPER_BENCHMARKS, get_benchmark
from deepmath_ext.errors import raise_if_interrupted, redact
from deepmath_ext.evaluate.backends import (
    SEED_MAX,
    Backend,
    GenerationRequest,
    SampleKey,
    SamplingSettings,
    create_backend,
    effective_max_tokens,
)
from deepmath_ext.evaluate.grading import PolicyResults, grade_run
from deepmath_ext.evaluate.manifest import (
    REMOTE_BACKENDS,
    SettingsMismatchError,
    check_pinned,
    environment,
    fingerprint,
    load_manifest,
    model_identity,
    previous_manifest,
    sample_settings,
    server_model,
    verifier_version,
    write_manifest,
)
from deepmath_ext.evaluate.metrics import policies_metrics
from deepmath_ext.evaluate.report import write_run_report
from deepmath_ext.evaluate.store import GENERATIONS_FILE, GenerationStore, run_lock, save_problems
from deepmath_ext.files import check_output_dir, write_json_atomic
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


@dataclass
class EvalConfig:
    """One `deepmath eval` invocation."""

    model: str
    out: Path
    benchmarks: Sequence[str] = PAPER_BENCHMARKS
    template: str | None = None  # None: the model family's template (templates/families.json)
    bos: str = "single"
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
    policies: Sequence[str] = ("strict", "reference-eval")
    grading_workers: int | None = None
    grading_timeout_s: float = DEFAULT_TIMEOUT_S
    command: list[str] = field(default_factory=lambda: list(sys.argv))
    problems: tuple[int, int] | None = None  # rows [start, end) of every benchmark (None: all)
    benchmark_files: dict[str, str] = field(default_factory=dict)  # name -> a user's benchmark file


BackendFactory = Callable[..., Backend]


def run_eval(
    config: EvalConfig, backend_factory: BackendFactory = create_backend, generate: Generate | None = None
) -> dict[str, Any]:
    """Generate every missing (problem, sample), then grade and score the whole run; returns metrics.

    `generate` produces the missing samples (default: one engine here, `generate_here`); `deepmath eval --ray`
    passes one that spreads them over a Ray cluster. Planning, pinning and the store stay here either way.
    """
    from deepmath_ext.data.benchmarks import content_hash, load_benchmark, load_benchmark_file
    from deepmath_ext.templates import get_template, template_for_model
    from deepmath_ext.verify import get_policy

    if config.n < 1:
        raise ValueError(f"n must be at least 1, got {config.n}")
    if config.seed + config.n - 1 > SEED_MAX:  # sample i is drawn with seed + i
        raise ValueError(f"--seed {config.seed} + --n {config.n} - 1 exceeds the largest seed, {SEED_MAX}")
    for policy in config.policies:
        get_policy(policy)  # an unknown name stops the run before anything is generated
    template = get_template(config.template or template_for_model(config.model))
    samples = _sample_settings(config, template)  # a path that is no model fails here, before any output
    # The run's own files inside the model (or tokenizer) folder would change its fingerprint: no resume.
    check_output_dir(config.out, inputs=[config.model, config.backend_options.get("tokenizer")])
    with run_lock(config.out):
        mismatches: dict[str, str] = {}
        problems = {
            b: load_benchmark(b, config.data_dir, config.allow_mismatch, mismatches)
            for b in config.benchmarks
        }
        problems |= {name: load_benchmark_file(spec) for name, spec in file_specs(config).items()}
        hashes = {b: content_hash(ps) for b, ps in problems.items()}  # the whole benchmark's content
        problems = select_problems(problems, config.problems)
        store = GenerationStore(config.out / GENERATIONS_FILE)
        if len(store):  # refuse other settings or another model before loading any model
            current = {"samples": samples, "benchmarks": hashes, "selection": _selection(config)}
            _check_against_run(config, store, current)
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

        invocation = {"id": secrets.token_hex(6), "command": [redact(arg) for arg in config.command]}

        def pin(engine: dict[str, Any]) -> str:
            return _pin(config, template, problems, hashes, store, engine, invocation)

        generate = generate or functools.partial(generate_here, backend_factory=backend_factory)
        engine, facts = (
            generate(config, template, todo, store, pin)
            if todo
            else (previous_manifest(config.out).get("engine", {}), {})
        )
        _write_eval_manifest(
            config,
            template,
            problems,
            mismatches,
            store,
            engine,
            {**invocation, "generated": len(todo), **facts},
        )
    return finalize_run(config.out, workers=config.grading_workers, timeout_s=config.grading_timeout_s)


def file_specs(config: EvalConfig) -> dict[str, Any]:
    """The specs of the run's benchmark files (`--benchmark-file NAME=PATH`)."""
    from deepmath_ext.data.benchmarks import file_benchmark

    return {name: file_benchmark(name, path) for name, path in config.benchmark_files.items()}


def select_problems(
    problems: dict[str, list[Any]], selection: tuple[int, int] | None
) -> dict[str, list[Any]]:
    """Rows [start, end) of each benchmark, in file order (the reference's start_idx / end_idx)."""
    if selection is None:
        return problems
    start, end = selection
    if not 0 <= start < end:
        raise ValueError(f"--problems {start}:{end}: need 0 <= start < end")
    empty = [name for name, ps in problems.items() if len(ps) <= start]
    if empty:
        raise ValueError(f"--problems {start}:{end} selects no problem of {', '.join(empty)}")
    return {name: ps[start:end] for name, ps in problems.items()}


def _selection(config: EvalConfig) -> list[int] | None:
    return list(config.problems) if config.problems else None


def covers(selection: list[int] | None, stored: list[int] | None) -> bool:
    """Whether a selection of rows holds every row of the `stored` one (None: every row)."""
    if selection is None:
        return True
    return stored is not None and selection[0] <= stored[0] and selection[1] >= stored[1]


def default_label(model: str) -> str:
    """A row label for a model path or hub id: its last path component."""
    return model.rstrip("/").rsplit("/", 1)[-1]


def _sample_settings(config: EvalConfig, template: Any) -> dict[str, Any]:
    return sample_settings(
        {
            "model": model_identity(config.model),
            # None: the model's own tokenizer (covered by the model's identity); else pinned by content too
            "tokenizer": _tokenizer_identity(config.backend_options.get("tokenizer")),
            "backend": config.backend,
            "dtype": None if config.backend in REMOTE_BACKENDS else config.dtype,
            "template": template.name,
            "template_fingerprint": template.fingerprint(),
            "bos": config.bos,
            **config.sampling.as_dict(),
            "seed": config.seed,
        }
    )


def _tokenizer_identity(tokenizer: str | None) -> dict[str, Any] | None:
    return None if tokenizer is None else model_identity(tokenizer)


def _check_against_run(config: EvalConfig, store: GenerationStore, current: dict[str, Any]) -> None:
    """Refuse settings that differ from those the stored samples were made with.

    A selection of problems may grow (the run extends to the new rows), never shrink or move: the report
    scores every stored sample, so it would hold problems the command did not ask for.
    """
    pinned = previous_manifest(config.out).get("pinned")
    if pinned is None:  # the pin is written before the first sample, so only a foreign folder lacks it
        raise SettingsMismatchError(
            f"{config.out} holds {len(store)} samples but no pinned settings in its manifest; use a new --out"
        )
    check_pinned(config.out, pinned, current)
    stored = pinned.get("selection")
    if not covers(current["selection"], stored):

        def show(selection: list[int] | None) -> str:
            return "all" if selection is None else f"{selection[0]}:{selection[1]}"

        raise SettingsMismatchError(
            f"{config.out} holds samples of problems {show(stored)}, which --problems "
            f"{show(current['selection'])} does not cover; use a new --out, or a selection that holds them"
        )


def _pin(
    config: EvalConfig,
    template: Any,
    problems: dict[str, list[Any]],
    hashes: dict[str, str],
    store: GenerationStore,
    engine: dict[str, Any],
    invocation: dict[str, Any],
) -> str:
    """Check the started engine (its `describe()`) against the run, and pin the run when its first sample is
    stored. Returns the settings fingerprint every stored sample carries.
    """
    current = {
        "samples": _sample_settings(config, template),  # a hub model's revision is known once it loaded
        "server": server_model(engine) if config.backend in REMOTE_BACKENDS else None,
        "benchmarks": hashes,
        "selection": _selection(config),
    }
    if len(store):
        _check_against_run(config, store, current)
    previous = previous_manifest(config.out)
    pinned_benchmarks = previous.get("pinned", {}).get("benchmarks", {}) if len(store) else {}
    pinned = {**current, "benchmarks": {**pinned_benchmarks, **hashes}}
    pinned["fingerprint"] = fingerprint({k: pinned[k] for k in ("samples", "server")})

    def write_pin() -> None:
        save_problems(config.out, [_problem_row(p) for ps in problems.values() for p in ps])
        write_manifest(
            config.out,
            {**previous, **_run_fields(config, template), "pinned": pinned},
            {**invocation, "generated": "interrupted"},  # replaced by the count when the command ends
        )

    store.before_first_append = write_pin
    return pinned["fingerprint"]


def _run_fields(config: EvalConfig, template: Any) -> dict[str, Any]:
    """The run's fields that may change between invocations, and that grading reads."""
    return {
        "label": config.label or default_label(config.model),
        "n": config.n,
        "require_think": template.thinking,
        "policies": list(config.policies),
    }


def _problem_row(problem: Any) -> dict[str, Any]:
    return {
        "benchmark": problem.benchmark,
        "id": problem.id,
        "answer": problem.answer,
        "categories": problem.categories,
        "problem": problem.problem,
    }


# What a generator returns: the engine facts for the manifest, and facts of its own for the invocation record.
Generated = tuple[dict[str, Any], dict[str, Any]]
# generate(config, template, todo, store, pin): store every sample of `todo`; `pin(engine facts)` -> fingerprint.
Generate = Callable[
    [EvalConfig, Any, list[tuple[Any, SampleKey]], GenerationStore, Callable[[dict[str, Any]], str]],
    Generated,
]


def start_backend(config: EvalConfig, backend_factory: BackendFactory = create_backend) -> Backend:
    """The run's backend, started with its settings (here, or on a cluster's node)."""
    return backend_factory(
        config.backend,
        config.model,
        dtype=config.dtype,
        tensor_parallel_size=config.tensor_parallel_size,
        seed=config.seed,
        max_in_flight=config.batch_size,
        **config.backend_options,
    )


def generate_here(
    config: EvalConfig,
    template: Any,
    todo: list[tuple[Any, SampleKey]],
    store: GenerationStore,
    pin: Callable[[dict[str, Any]], str],
    backend_factory: BackendFactory = create_backend,
) -> Generated:
    """Generate `todo` on one engine here, storing each sample as soon as it finishes."""
    backend = start_backend(config, backend_factory)
    try:
        settings_fingerprint = pin(backend.describe())
        with progress_bar(len(todo)) as bar:
            for finished in backend.stream(
                sample_requests(config, template, backend.tokenizer, todo), config.sampling
            ):
                store.append(finished, settings_fingerprint)
                bar.update(len(finished))
                raise_if_interrupted()  # a SIGTERM whose raise a callback lost stops here, not hours later
        return backend.describe(), {}
    finally:
        backend.close()


def progress_bar(total: int) -> Any:
    """The progress bar of stored samples."""
    from tqdm import tqdm

    return tqdm(total=total, desc="generating", unit="sample")


def sample_requests(
    config: EvalConfig, template: Any, tokenizer: Any, todo: Sequence[tuple[Any, SampleKey]]
) -> Iterator[GenerationRequest]:
    """The requests for `todo`, each problem's prompt rendered once, as the backend asks for them."""
    prompts: dict[tuple[str, str], str] = {}
    for problem, key in todo:
        prompt_key = (problem.benchmark, problem.id)
        if prompt_key not in prompts:
            prompts[prompt_key] = template.render(tokenizer, problem.problem, bos=config.bos)
        # One seed per sample index, as the reference evaluation does: sample i uses seed + i.
        yield GenerationRequest(key, prompts[prompt_key], config.seed + key.index)


def _write_eval_manifest(
    config: EvalConfig,
    template: Any,
    problems: dict[str, list[Any]],
    mismatches: dict[str, str],
    store: GenerationStore,
    engine: dict[str, Any],
    invocation: dict[str, Any],
) -> None:
    previous = previous_manifest(config.out)
    longest_prompt = max((r["prompt_tokens"] for r in store.records.values()), default=0)
    manifest = {
        "pinned": previous["pinned"],
        **_run_fields(config, template),
        "model": config.model,
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
        "selection": _selection(config),  # rows [start, end) of every benchmark; None: all
        "longest_prompt_tokens": longest_prompt,
        "effective_max_tokens": effective_max_tokens(
            config.sampling.max_tokens, engine.get("max_model_len"), longest_prompt
        ),
        "template": {
            **{k: v for k, v in dataclasses.asdict(template).items() if k != "description"},
            "chosen_by": "--template" if config.template else "the model family table",
            "bos": config.bos,
            "fingerprint": template.fingerprint(),
            "chat_template": template.chat_template or "(the tokenizer's own)",
        },
        # A run may add benchmarks one command at a time: keep those recorded by earlier invocations.
        "benchmarks": previous.get("benchmarks", {})
        | {
            name: {
                "rows": len(ps),
                "content_hash": previous["pinned"]["benchmarks"][name],
                "source": _source_description(config, name),
                # loaded under --allow-benchmark-mismatch: how this copy differs from its pins (None: not)
                **({"mismatch": mismatches.get(name)} if config.allow_mismatch else {}),
            }
            for name, ps in problems.items()
        },
        "batch_size": config.batch_size,
        **environment(),
    }
    write_manifest(config.out, manifest, invocation)


def _source_description(config: EvalConfig, name: str) -> dict[str, Any]:
    """Where a benchmark was read from, and what the registry pins for that source."""
    if name in config.benchmark_files:  # pinned by this run's content hash alone
        return {"location": file_specs(config)[name].local.location, "benchmark_file": True}
    spec = get_benchmark(name)
    source = spec.local if config.data_dir else spec.hub
    where = (
        {"data_dir": str(config.data_dir)}
        if config.data_dir
        else {"split": source.split, "revision": source.revision}
    )
    return {
        "location": source.location,
        **where,
        "registry_hash": source.content_hash,
        "registry_rows": source.expected_rows,
    }


def finalize_run(
    run_dir: Path,
    *,
    policies: Sequence[str] | None = None,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Grade the stored generations under each policy (default: the run's), then write metrics and report."""
    manifest = load_manifest(run_dir)
    policies = list(policies or manifest["policies"])
    results, gap = grade_run(
        run_dir,
        n=manifest["n"],
        require_think=manifest["require_think"],
        policies=policies,
        workers=workers,
        timeout_s=timeout_s,
    )
    return write_scores(run_dir, manifest, policies, results, gap)


def write_scores(
    run_dir: Path,
    manifest: dict[str, Any],
    policies: Sequence[str],
    results: PolicyResults,
    gap: list[dict[str, Any]],
) -> dict[str, Any]:
    """Score graded results per benchmark and policy; write `metrics.json`, `report.md` and the plots."""
    n = manifest["n"]
    samples = manifest["pinned"]["samples"]
    metrics = {
        "run": {
            "label": manifest["label"],
            "fingerprint": manifest["pinned"]["fingerprint"],
            "n": n,
            **samples,
            "model": manifest["model"],
            "model_identity": samples["model"],
            "verifier": verifier_version(),
            "policies": list(policies),
        },
        "benchmarks": {
            name: policies_metrics({policy: results[policy][name] for policy in policies}, n)
            for name in results[policies[0]]
        },
        "grader_gap": gap,
    }
    write_json_atomic(run_dir / METRICS_FILE, metrics)
    write_run_report(run_dir, metrics)
    return metrics
