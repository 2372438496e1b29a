"""Generate, grade and score a model on the benchmarks (`deepmath eval`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from deepmath_ext.commands import comma_separated
from deepmath_ext.evaluate.backends import BACKENDS, SamplingSettings
from deepmath_ext.evaluate.runner import EvalConfig, run_eval

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
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath eval`."""
    parser.add_argument("--model", required=True, help="model path or hub id")
    parser.add_argument(
        "--out", required=True, type=Path, help="run directory (created; re-use it to resume)"
    )
    parser.add_argument(
        "--benchmarks", default=",".join(EvalConfig.benchmarks), help="comma-separated benchmark names"
    )
    parser.add_argument(
        "--template", default=EvalConfig.template, help="prompt template name (see deepmath_ext.templates)"
    )
    parser.add_argument("--n", type=int, default=EvalConfig.n, help="samples per problem")
    parser.add_argument("--temperature", type=float, default=SamplingSettings.temperature)
    parser.add_argument("--top-p", type=float, default=SamplingSettings.top_p)
    parser.add_argument("--top-k", type=int, default=SamplingSettings.top_k, help="-1: no top-k")
    parser.add_argument(
        "--max-tokens", type=int, default=SamplingSettings.max_tokens, help="maximum response tokens"
    )
    parser.add_argument(
        "--seed", type=int, default=EvalConfig.seed, help="sample i of every problem uses seed + i"
    )
    parser.add_argument("--backend", choices=sorted(BACKENDS), default=EvalConfig.backend)
    parser.add_argument("--tensor-parallel-size", type=int, default=EvalConfig.tensor_parallel_size)
    parser.add_argument("--dtype", default=EvalConfig.dtype, help="bfloat16, float16, float32 or auto")
    parser.add_argument(
        "--data-dir", type=Path, help="local folder of <benchmark>.jsonl files (default: the hub)"
    )
    parser.add_argument(
        "--allow-mismatch", action="store_true", help="run on benchmarks that differ from the registry"
    )
    parser.add_argument("--label", help="row name in reports (default: the model's last path component)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=EvalConfig.batch_size,
        help="samples per generate call and per fsync",
    )
    parser.add_argument("--tokenizer", help="tokenizer path or id (default: --model)")
    parser.add_argument("--max-model-len", type=int, help="vllm: context length")
    parser.add_argument("--gpu-memory-utilization", type=float, help="vllm: fraction of GPU memory")
    parser.add_argument("--base-url", help="openai: server URL ending in /v1")
    parser.add_argument("--served-model-name", help="openai: model name the server knows (default: --model)")
    parser.add_argument("--concurrency", type=int, help="openai: requests in flight")
    parser.add_argument("--max-retries", type=int, help="openai: retries per request")
    parser.add_argument("--device", help="hf: torch device (default cuda if available)")
    parser.add_argument("--grading-workers", type=int, help="verifier worker processes")
    parser.add_argument(
        "--grading-timeout",
        type=float,
        default=EvalConfig.grading_timeout_s,
        help="seconds per symbolic check",
    )


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    """The EvalConfig an argument namespace describes."""
    return EvalConfig(
        model=args.model,
        out=args.out,
        benchmarks=tuple(comma_separated(args.benchmarks)),
        template=args.template,
        n=args.n,
        sampling=SamplingSettings(args.temperature, args.top_p, args.top_k, args.max_tokens),
        seed=args.seed,
        backend=args.backend,
        dtype=args.dtype,
        tensor_parallel_size=args.tensor_parallel_size,
        backend_options={k: getattr(args, k) for k in BACKEND_OPTIONS if getattr(args, k) is not None},
        data_dir=args.data_dir,
        allow_mismatch=args.allow_mismatch,
        batch_size=args.batch_size,
        label=args.label,
        grading_workers=args.grading_workers,
        grading_timeout_s=args.grading_timeout,
        command=list(sys.argv),
    )


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the accuracy table."""
    from deepmath_ext.evaluate.report import accuracy_table

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        metrics = run_eval(config_from_args(args))
    except (ValueError, RuntimeError) as exc:  # settings/benchmark mismatches, a busy or incomplete run
        print(f"deepmath eval: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(accuracy_table([metrics])))
    print(f"\nWrote {args.out}/report.md, metrics.json, manifest.json, generations.jsonl, grades.jsonl")
    return 0
