"""The `deepmath` command: one entry point, one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand name -> module under deepmath_ext.commands. Each module exposes
# `add_arguments(parser)` and `run(args) -> int`, and its docstring's first line is the help text.
# Modules are imported only when their subcommand runs, so `deepmath grade` never imports torch or verl.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("quickstart", "Grade, prepare and score the bundled samples end to end (CPU, offline)."),
    "grade": ("grade", "Grade a JSONL file of responses against gold answers."),
    "prepare": ("prepare", "Turn DeepMath-103K and the benchmarks into verl parquet files."),
    "stats": ("stats", "Counts by difficulty and topic, with plots, for a dataset."),
    "export-sft": ("export_sft", "Export verified r1 solutions as a chat-format SFT parquet."),
    "train": ("train", "Compose, validate and launch a training recipe on verl."),
    "eval": ("evaluate", "Generate, grade and score a model on the benchmarks."),
    "regrade": ("regrade", "Re-grade the stored generations of an evaluation run."),
    "report": ("report", "Side-by-side table and plots of evaluation runs."),
    "decontaminate": ("decontaminate", "Find benchmark problems in training data."),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand's options."""
    parser = argparse.ArgumentParser(prog="deepmath", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(f"deepmath_ext.commands.{module_name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `deepmath` command line."""
    args = build_parser().parse_args(argv)
    return int(args._module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
