"""Turn DeepMath-103K and the benchmarks into verl parquet files."""

from __future__ import annotations

import argparse

from deepmath_ext.commands import comma_separated, finite_float, positive_int
from deepmath_ext.data import DEEPMATH_HF_ID, PAPER_BENCHMARKS
from deepmath_ext.data.answer_types import ANSWER_TYPES, DEFAULT_ANSWER_TYPES, NON_VERIFIABLE
from deepmath_ext.data.benchmarks import ALLOW_MISMATCH_FLAG
from deepmath_ext.files import check_output_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath prepare`."""
    add = parser.add_argument
    add("--out", required=True, help="output folder for train.parquet, val.parquet, report")
    add("--template", default="orz", help="prompt template name (see deepmath_ext.templates)")
    add("--train", default=DEEPMATH_HF_ID, help="hub id, parquet/JSONL file or folder")
    add("--no-train", action="store_true", help="write only val.parquet")
    add("--val", type=comma_separated, default=list(PAPER_BENCHMARKS), help="comma-separated benchmarks")
    add("--no-val", action="store_true", help="write only train.parquet")
    add("--data-dir", help="local folder of <benchmark>.jsonl files instead of the hub")
    add("--difficulty-min", type=finite_float)
    add("--difficulty-max", type=finite_float)
    add("--topics", type=comma_separated, default=[], help="keep topics containing any of these")
    add(
        "--answer-types",
        type=comma_separated,
        default=list(DEFAULT_ANSWER_TYPES),
        help=f"keep training rows whose gold is of these kinds, read by the verifier's parser: "
        f"{', '.join(ANSWER_TYPES)}, or all (default: %(default)s; {', '.join(NON_VERIFIABLE)} are not "
        "verifiable as math). Counts in prepare_report.json; `all` skips the classification",
    )
    add("--max-prompt-tokens", type=positive_int, help="drop prompts longer than this (needs --tokenizer)")
    add("--tokenizer", help="tokenizer folder or hub id used to count prompt tokens")
    add("--limit", type=positive_int, help="read at most this many training rows")
    add("--strict", action="store_true", help="fail on any missing/empty/wrong-typed row")
    add(
        ALLOW_MISMATCH_FLAG,
        dest="allow_mismatch",
        action="store_true",
        help="load benchmarks that differ from the registry (recorded in the report)",
    )


def run(args: argparse.Namespace) -> int:
    """Prepare the data and print what was written, dropped and flagged."""
    from deepmath_ext.data.answer_types import parse_answer_types
    from deepmath_ext.data.prepare import RowSelection, prepare_dataset

    check_output_dir(args.out, inputs=[None if args.no_train else args.train])
    result = prepare_dataset(
        args.out,
        template=args.template,
        train=None if args.no_train else args.train,
        val=() if args.no_val else args.val,
        data_dir=args.data_dir,
        selection=RowSelection(
            args.difficulty_min,
            args.difficulty_max,
            tuple(args.topics),
            parse_answer_types(args.answer_types),
        ),
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
    if result.answer_types:
        counts = ", ".join(f"{kind} {n}" for kind, n in result.answer_types.most_common())
        print(f"train answer types: {counts}; kept {', '.join(parse_answer_types(args.answer_types))}")
    written = [str(path) for path in (result.train_path, result.val_path) if path is not None]
    print(f"wrote {', '.join(written)}; report: {result.report_path}")
    return 0
