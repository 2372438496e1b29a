"""Generate, grade and score a model on the benchmarks (`deepmath eval`)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from deepmath_ext.commands import (
    comma_separated,
    grading_policies,
    non_negative_float,
    non_negative_int,
    policies_help,
    positive_float,
    positive_int,
    probability,
    ranged_int,
    top_k,
)
from deepmath_ext.data.benchmarks import ALLOW_MISMATCH_FLAG, BENCHMARKS
from deepmath_ext.evaluate import distributed
from deepmath_ext.evaluate.backends import BACKENDS, SEED_MAX, SamplingSettings
from deepmath_ext.evaluate.backends.openai import MIN_TOKENS_PER_S, REQUEST_TIMEOUT_BASE_S
from deepmath_ext.evaluate.runner import EvalConfig
from deepmath_ext.evaluate.series import evaluate_models
from deepmath_ext.templates import BOS_RULES, list_templates, model_families
from deepmath_ext.verify.pool import MAX_DEFAULT_WORKERS

# CLI option -> backend keyword, passed on only when given (each backend ignores the others' options).
BACKEND_OPTIONS = (
    "tokenizer",
    "max_model_len",
    "gpu_memory_utilization",
    "base_url",
    "served_model_name",
    "concurrency",
    "max_retries",
    "device",
    "request_timeout_s",
)
DTYPES = ("auto", "bfloat16", "float16", "float32")


def _backend_default(backend: str, option: str) -> Any:
    """A backend constructor's default for `option`, so --help shows the value actually used."""
    module_name, class_name = BACKENDS[backend].split(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return inspect.signature(backend_class).parameters[option].default


def _families() -> str:
    return "; ".join(f"{f['pattern']} -> {f['template']}" for f in model_families())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath eval`."""
    add = parser.add_argument
    add(
        "--model",
        required=True,
        help="model path or hub id; or a verl actor checkpoint (RUN/global_step_N[/actor]), merged to a Hugging "
        "Face folder beside it; or several, comma-separated or a quoted glob ('RUN/global_step_*'), each "
        "evaluated into OUT/step_N (or OUT/NAME) with one report and an avg@n-against-step curve in OUT",
    )
    add("--out", required=True, type=Path, help="run directory (created; re-use it to resume)")
    add(
        "--benchmarks",
        type=comma_separated,
        help=f"comma-separated benchmark names, of: {', '.join(BENCHMARKS)} (default: "
        f"{','.join(EvalConfig.benchmarks)}; none when --benchmark-file is given)",
    )
    add(
        "--benchmark-file",
        dest="benchmark_files",
        action="append",
        type=benchmark_file,
        default=[],
        metavar="NAME=PATH",
        help="a benchmark of your own, repeatable: a .jsonl/.json/.parquet file with `problem` and `answer`, "
        "optional `id`, `level`, `subject`; pinned by the run's content hash like the registered ones",
    )
    subset = parser.add_mutually_exclusive_group()
    subset.add_argument(
        "--limit", type=positive_int, metavar="N", help="the first N problems of every benchmark"
    )
    subset.add_argument(
        "--problems",
        type=problem_range,
        metavar="A:B",
        help="problems A to B-1 of every benchmark, in file order (the reference's start_idx:end_idx); "
        "a later run in the same --out may widen the range, not narrow or move it",
    )
    add(
        "--template",
        default=EvalConfig.template,
        help=f"prompt template: {', '.join(list_templates())} (default: by the model's family: {_families()}; "
        "a model of no known family needs --template)",
    )
    add(
        "--policies",
        type=grading_policies,
        default=",".join(EvalConfig.policies),
        help=f"comma-separated grading policies, of: {policies_help()}; samples are generated once "
        "and graded by each (default: %(default)s)",
    )
    add(
        "--bos",
        choices=BOS_RULES,
        default=EvalConfig.bos,
        help="single: the template's own BOS only; reference: the reference evaluation's tokenization, "
        "which doubles the BOS of R1-Distill tokenizers (default: %(default)s)",
    )
    add("--n", type=positive_int, default=EvalConfig.n, help="samples per problem (default: %(default)s)")
    add(
        "--temperature",
        type=non_negative_float,
        default=SamplingSettings.temperature,
        help="(default: %(default)s)",
    )
    add("--top-p", type=probability, default=SamplingSettings.top_p, help="(default: %(default)s)")
    add("--top-k", type=top_k, default=SamplingSettings.top_k, help="-1: no top-k (default: %(default)s)")
    add(
        "--max-tokens",
        type=positive_int,
        default=SamplingSettings.max_tokens,
        help="maximum response tokens (default: %(default)s)",
    )
    add(
        "--seed",
        type=ranged_int(0, SEED_MAX),
        default=EvalConfig.seed,
        help="sample i of every problem uses seed + i (default: %(default)s)",
    )
    add("--backend", choices=sorted(BACKENDS), default=EvalConfig.backend, help="(default: %(default)s)")
    add(
        "--tensor-parallel-size",
        type=positive_int,
        default=EvalConfig.tensor_parallel_size,
        help="vllm: GPUs per model (default: %(default)s)",
    )
    add(
        "--dtype",
        choices=DTYPES,
        default=EvalConfig.dtype,
        help="not used by --backend openai (default: %(default)s)",
    )
    add("--data-dir", type=Path, help="local folder of <benchmark>.jsonl files (default: the hub)")
    add(
        ALLOW_MISMATCH_FLAG,
        dest="allow_mismatch",
        action="store_true",
        help="run on benchmarks that differ from the registry",
    )
    add("--label", help="row name in reports (default: the model's last path component)")
    add(
        "--batch-size",
        type=positive_int,
        default=EvalConfig.batch_size,
        help="vllm: samples kept in the engine at once, refilled as each finishes (default: %(default)s); "
        "every finished sample is stored and fsynced at once, whatever the backend",
    )
    add("--tokenizer", help="tokenizer path or id (default: --model)")
    add("--max-model-len", type=positive_int, help="vllm: context length (default: the model's)")
    add(
        "--gpu-memory-utilization",
        type=probability,
        help="vllm: fraction of GPU memory for the engine; on vLLM's CPU build a fraction of RAM (e.g. 0.05) "
        f"(default: {_backend_default('vllm', 'gpu_memory_utilization')})",
    )
    add(
        "--engine-arg",
        dest="engine_args",
        action="append",
        type=engine_arg,
        default=[],
        metavar="KEY=VALUE",
        help="vllm: one more vllm.LLM argument, repeatable (max_num_batched_tokens=16384, enforce_eager=true, "
        "enable_chunked_prefill=false); VALUE is read as JSON when it parses, else as text",
    )
    add(
        "--base-url",
        help=f"openai: server URL ending in /v1 (default: {_backend_default('openai', 'base_url')})",
    )
    add("--served-model-name", help="openai: model name the server knows (default: --model)")
    add(
        "--concurrency",
        type=positive_int,
        help=f"openai: requests in flight (default: {_backend_default('openai', 'concurrency')})",
    )
    add(
        "--max-retries",
        type=non_negative_int,
        help=f"openai: retries per request (default: {_backend_default('openai', 'max_retries')})",
    )
    add("--device", help="hf: torch device (default: cuda if available, else cpu)")
    add(
        "--request-timeout",
        dest="request_timeout_s",
        type=positive_float,
        metavar="SECONDS",
        help="openai: seconds a request may wait for its answer, per attempt (default: "
        f"{REQUEST_TIMEOUT_BASE_S:.0f} + --max-tokens / {MIN_TOKENS_PER_S})",
    )
    add(
        "--ray",
        nargs="?",
        const=distributed.DEFAULT_ADDRESS,
        metavar="ADDRESS",
        help="generate on a Ray cluster: one engine actor per node (vllm: per --tensor-parallel-size GPUs), "
        "samples streamed back and stored here; ADDRESS is the head's HEAD:6379 (default without ADDRESS: "
        f"{distributed.DEFAULT_ADDRESS}, i.e. RAY_ADDRESS or the cluster started on this machine; default: off, one engine "
        "here). Ray's token is used as by `deepmath train --submit`",
    )
    add(
        "--grading-workers",
        type=positive_int,
        help=f"verifier worker processes (default: one per CPU core, at most {MAX_DEFAULT_WORKERS})",
    )
    add(
        "--grading-timeout",
        type=positive_float,
        default=EvalConfig.grading_timeout_s,
        help="seconds per symbolic check (default: %(default)s)",
    )


def benchmark_file(text: str) -> tuple[str, str]:
    """Parse one `--benchmark-file NAME=PATH`."""
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name.strip(), path.strip()


def problem_range(text: str) -> tuple[int, int]:
    """Parse `--problems A:B` (0 <= A < B)."""
    start, sep, end = text.partition(":")
    try:
        low, high = int(start), int(end)
    except ValueError:
        low = high = -1
    if not sep or not 0 <= low < high:
        raise argparse.ArgumentTypeError(f"expected A:B with 0 <= A < B, got {text!r}")
    return low, high


def engine_arg(text: str) -> tuple[str, object]:
    """Parse one `--engine-arg KEY=VALUE`: VALUE as JSON (numbers, true/false, objects) or else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value.lower() if value.lower() in ("true", "false") else value)
    except json.JSONDecodeError:
        return key.strip(), value


def backend_options(args: argparse.Namespace) -> dict[str, object]:
    """The backend keywords the arguments give; engine args only for the vllm backend, which reads them."""
    options = {k: getattr(args, k) for k in BACKEND_OPTIONS if getattr(args, k) is not None}
    if args.engine_args:
        if args.backend != "vllm":
            raise ValueError(f"--engine-arg is for --backend vllm, not {args.backend}")
        options["engine_args"] = dict(args.engine_args)
    return options


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    """The EvalConfig an argument namespace describes; an option named as a field is copied as given."""
    given = {f.name: getattr(args, f.name) for f in fields(EvalConfig) if hasattr(args, f.name)}
    files = dict(args.benchmark_files)
    if len(files) != len(args.benchmark_files):
        raise ValueError("--benchmark-file: each NAME once")
    benchmarks = args.benchmarks or ([] if files else list(EvalConfig.benchmarks))
    return EvalConfig(
        **{
            **given,
            "benchmarks": tuple(benchmarks),
            "benchmark_files": files,
            "problems": (0, args.limit) if args.limit else args.problems,
            "policies": tuple(args.policies),
            "sampling": SamplingSettings(args.temperature, args.top_p, args.top_k, args.max_tokens),
            "backend_options": backend_options(args),
            "grading_timeout_s": args.grading_timeout,
            "command": list(sys.argv),
        }
    )


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the accuracy table."""
    from deepmath_ext.evaluate.report import accuracy_table

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    if args.ray is None:
        runs = evaluate_models(config)
    else:
        with distributed.connect(args.ray) as generate:
            runs = evaluate_models(config, generate=generate)
    print("\n".join(accuracy_table(runs)))
    if len(runs) == 1:
        print(f"\nWrote {args.out}/report.md, metrics.json, manifest.json, generations.jsonl, grades.jsonl")
    else:
        print(f"\nWrote one run folder per model in {args.out}, and there report.md, curve.json, curve.png")
    return 0
