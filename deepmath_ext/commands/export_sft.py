"""Export verified r1 solutions as a chat-format SFT parquet."""

from __future__ import annotations

import argparse

from deepmath_ext.commands import positive_int
from deepmath_ext.data import DEEPMATH_HF_ID
from deepmath_ext.files import check_output_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath export-sft`."""
    add = parser.add_argument
    add("--out", required=True, help="output folder for sft.parquet and sft_report.json")
    add("--train", default=DEEPMATH_HF_ID, help="hub id, parquet/JSONL file or folder")
    add("--template", default="r1-distill", help="prompt template for the user turn")
    add("--max-tokens", type=positive_int, help="drop prompt+solution longer than this (needs --tokenizer)")
    add("--tokenizer", help="tokenizer folder or hub id used to count tokens")
    add("--no-require-think", action="store_true", help="grade whole solutions without </think>")
    add("--limit", type=positive_int, help="read at most this many rows")
    add("--workers", type=positive_int, help="verifier worker processes (default: CPU count)")


def run(args: argparse.Namespace) -> int:
    """Grade every r1 solution against final_answer and write the accepted ones."""
    from deepmath_ext.data.sft_export import export_sft

    check_output_dir(args.out, inputs=[args.train])
    result = export_sft(
        args.train,
        args.out,
        template=args.template,
        require_think=not args.no_require_think,
        max_tokens=args.max_tokens,
        tokenizer=args.tokenizer,
        limit=args.limit,
        workers=args.workers,
    )
    report = result.report
    print(f"rows read {report.read}; solutions kept {report.written}; dropped {report.dropped_counts}")
    print(f"verifier statuses: {dict(result.grade_statuses)}")
    print(f"wrote {result.path}; report: {result.report_path}")
    return 0
