"""Find benchmark problems in training data (n-grams, embeddings, LLM judge) and write a cleaned copy."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from deepmath_ext.commands import comma_separated, positive_int, unit_interval
from deepmath_ext.data import PAPER_BENCHMARKS
from deepmath_ext.data.benchmarks import ALLOW_MISMATCH_FLAG
from deepmath_ext.decontam import DecontamConfig, JudgeConfig, decontaminate_to_dir
from deepmath_ext.errors import UserError
from deepmath_ext.files import check_output_dir

DEFAULT_AGAINST = ",".join(PAPER_BENCHMARKS)
DEFAULTS = DecontamConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath decontaminate`."""
    add = parser.add_argument

    def add_with_default(flag: str, kind: Callable[[str], float], default: float, text: str) -> None:
        add(flag, type=kind, default=default, help=f"{text} (default {default})")

    add("--train", required=True, help="training data: a .parquet/.jsonl file, a folder of them, or a hub id")
    add(
        "--against",
        type=comma_separated,
        default=comma_separated(DEFAULT_AGAINST),
        help=f"comma-separated benchmark names and/or local problem files (default: {DEFAULT_AGAINST})",
    )
    add("--out", required=True, help="output folder: clean.parquet, removed.jsonl, report.json, report.md")
    add(
        "--stages",
        type=comma_separated,
        default=list(DEFAULTS.stages),
        help=f"comma-separated, of ngram,embed,judge (default: {','.join(DEFAULTS.stages)})",
    )
    add_with_default("--ngram", positive_int, DEFAULTS.ngram_size, "word n-gram size")
    add_with_default(
        "--ngram-overlap",
        unit_interval,
        DEFAULTS.ngram_overlap,
        "share of a benchmark problem's n-grams a row must contain to be flagged",
    )
    add(
        "--embed-model",
        help="local sentence-transformers model folder (default: the packaged all-MiniLM-L6-v2)",
    )
    add_with_default(
        "--threshold",
        unit_interval,
        DEFAULTS.threshold,
        "cosine similarity at which a row is flagged, or sent to the judge",
    )
    add_with_default("--top-k", positive_int, DEFAULTS.top_k, "benchmark neighbours per row")
    add(
        "--keep-number-conflicts",
        action="store_true",
        help="also flag embedding neighbours whose numbers conflict with the row's (same template, other numbers)",
    )
    add("--batch-size", type=positive_int, default=DEFAULTS.embed_batch_size, help="embedding batch size")
    add("--judge-endpoint", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    add("--judge-model", help="model name served by the judge endpoint")
    add("--judge-both", action="store_true", help="remove only when both orders say YES (default: either)")
    add_with_default("--judge-workers", positive_int, JudgeConfig.workers, "concurrent judge requests")
    add_with_default(
        "--judge-max-tokens",
        positive_int,
        JudgeConfig.max_tokens,
        "reply tokens per judgement (a judge that thinks before its YES/NO needs hundreds)",
    )
    add("--data-dir", help="folder of local <benchmark>.jsonl files instead of the hub")
    add(
        ALLOW_MISMATCH_FLAG,
        dest="allow_mismatch",
        action="store_true",
        help="load benchmarks whose rows differ from the registry (recorded in the report)",
    )


def _judge_config(args: argparse.Namespace) -> JudgeConfig | None:
    if not (args.judge_endpoint or args.judge_model):
        return None
    if not (args.judge_endpoint and args.judge_model):
        raise UserError("--judge-endpoint and --judge-model go together")
    return JudgeConfig(
        args.judge_endpoint,
        args.judge_model,
        args.judge_both,
        args.judge_workers,
        max_tokens=args.judge_max_tokens,
    )


def run(args: argparse.Namespace) -> int:
    """Run the stages and write the output folder; print a one-line summary."""
    check_output_dir(args.out, inputs=[args.train, *args.against])  # --against may name files
    config = DecontamConfig(
        stages=tuple(args.stages),
        ngram_size=args.ngram,
        ngram_overlap=args.ngram_overlap,
        embed_model=args.embed_model,
        threshold=args.threshold,
        top_k=args.top_k,
        skip_number_conflicts=not args.keep_number_conflicts,
        embed_batch_size=args.batch_size,
        judge=_judge_config(args),
    )
    report = decontaminate_to_dir(
        args.train, args.against, args.out, config, args.data_dir, args.allow_mismatch
    )
    print(
        f"{report['removed']} of {report['rows']} rows removed {report['removed_by_stage']}; wrote {args.out}"
    )
    return 0
