"""Counts by difficulty, topic and kind of gold answer, with plots, for a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepmath_ext.commands import positive_int
from deepmath_ext.files import check_output_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath stats`."""
    add = parser.add_argument
    add("data", help="DeepMath-shaped parquet/JSONL file or folder, or a prepared train.parquet")
    add(
        "--out",
        help="folder for stats.json, difficulty.png, topics.png, answer_types.png (default: DATA_stats)",
    )
    add("--topic-depth", type=positive_int, default=2, help="topic levels to group by (default 2)")
    add("--top", type=positive_int, default=15, help="topics to print")


def run(args: argparse.Namespace) -> int:
    """Count, print and plot."""
    from deepmath_ext.data.stats import compute_stats, write_stats

    out = Path(args.out) if args.out else Path(f"{Path(args.data).with_suffix('')}_stats")
    check_output_dir(out, inputs=[args.data])
    stats = compute_stats(args.data, topic_depth=args.topic_depth)
    paths = write_stats(stats, out)
    summary = stats.to_dict()
    print(f"{stats.rows} rows in {args.data}")
    print("difficulty: " + ", ".join(f"{k}: {v}" for k, v in summary["difficulty"].items()))
    print("answer types: " + ", ".join(f"{k}: {v}" for k, v in summary["answer_types"].items()))
    for topic, count in stats.topic.most_common(args.top):
        print(f"{count:8d}  {topic}")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
