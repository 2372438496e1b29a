"""The `deepmath` command: one entry point, one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand name -> (module under deepmath_ext.commands, help). Each module exposes
# `add_arguments(parser)` and `run(args) -> int`. Only the module of the subcommand being run is
# imported, so `deepmath grade` never pays for torch, ray or verl.
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


def _top_level_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepmath",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        + "\n".join(f"  {name:<15}{help_text}" for name, (_, help_text) in SUBCOMMANDS.items())
        + "\n\nRun `deepmath COMMAND --help` for a command's options.",
    )
    parser.add_argument("command", choices=sorted(SUBCOMMANDS), metavar="COMMAND")
    return parser


def build_command_parser(name: str) -> argparse.ArgumentParser:
    """The argument parser of one subcommand, with its module attached as `_module`."""
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(f"deepmath_ext.commands.{module_name}")
    parser = argparse.ArgumentParser(prog=f"deepmath {name}", description=help_text)
    module.add_arguments(parser)
    parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `deepmath` command line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        _top_level_parser().parse_args(argv[:1] or ["--help"])
    # Intermixed: options may follow positionals, e.g. `deepmath train RECIPE key=value --dry-run`.
    args = build_command_parser(argv[0]).parse_intermixed_args(argv[1:])
    return int(args._module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
