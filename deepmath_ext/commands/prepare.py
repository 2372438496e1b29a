"""Turn DeepMath-103K and the benchmarks into verl parquet files."""

from __future__ import annotations

import argparse

from deepmath_ext.commands import comma_separated, positive_int
from deepmath_ext.data import DEEPMATH_HF_ID, PAPER_BENCHMARKS
from deepmath_ext.data.benchmarks import ALLOW_MISMATCH_FLAG
from deepmath_ext.files import check_output_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath prepare`."""
    parser.add_argument("--out", required=True, help="output folder for train.parquet, val.parquet, report")
    parser.add_argument("--template", default="orz", help="prompt template name (see deepmath_ext.templates)")
    parser.add_argument("--train", default=DEEPMATH_HF_ID, help="hub id, parquet/JSONL file or folder")
    parser.add_argument("--no-train", action="store_true", help="write only val.parquet")
    parser.add_argument(
        "--val", type=comma_separated, default=list(PAPER_BENCHMARKS), help="comma-separated benchmarks"
    )
    parser.add_argument("--no-val", action="store_true", help="write only train.parquet")
    parser.add_argument("--data-dir", help="local folder of <benchmark>.jsonl files instead of the hub")
    parser.add_argument("--difficulty-min", type=float)
    parser.add_argument("--difficulty-max", type=float)
    parser.add_argument(
        "--topics", type=comma_separated, default=[], help="keep topics containing any of these"
    )
    parser.add_argument(
        "--max-prompt-tokens", type=positive_int, help="drop prompts longer than this (needs --tokenizer)"
    )
    parser.add_argument("--tokenizer", help="tokenizer folder or hub id used to count prompt tokens")
    parser.add_argument("--limit", type=positive_int, help="read at most this many training rows")
    parser.add_argument("--strict", action="store_true", help="fail on any missing/empty/wrong-typed row")
    parser.add_argument(
        ALLOW_MISMATCH_FLAG,
        dest="allow_mismatch",
        action="store_true",
        help="load benchmarks that differ from the registry (recorded in the report)",
    )


def run(args: argparse.Namespace) -> int:
    """Prepare the data and print what was written, dropped and flagged."""
    from deepmath_ext.data.prepare import RowSelection, prepare_dataset

    check_output_dir(args.out)
    result = prepare_dataset(
        args.out,
        template=args.template,
        train=None if args.no_train else args.train,
        val=() if args.no_val else args.val,
        data_dir=args.data_dir,
        selection=RowSelection(args.difficulty_min, args.difficulty_max, tuple(args.topics)),
        max_prompt_tokens=args.max_prompt_tokens,
        tokenizer=args.tokenizer,
        limit=args.limit,
        strict=args.strict,
        allow_benchmark_mismatch=args.allow_mismatch,
    )
    for name, report in result.reports.items():
        flagged = {reason: len(ids) for reason, ids in report.flagged.items()}
        print(
            f"{name}: read {report.read}, wrote {report.written}, dropped {report.dropped_counts}, flagged {flagged}"
        )
    written = [str(path) for path in (result.train_path, result.val_path) if path is not None]
    print(f"wrote {', '.join(written)}; report: {result.report_path}")
    return 0
