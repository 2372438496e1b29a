"""Side-by-side table and plots of evaluation runs (`deepmath report RUN_DIR...`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath report`."""
    add = parser.add_argument
    add("run_dirs", nargs="+", type=Path, help="directories written by `deepmath eval`")
    add("--baseline", help="published rows to add: `paper`, or a JSON file of the same shape")
    add("--out", type=Path, help="folder for report.md and the PNG plots (default: print only)")


def run(args: argparse.Namespace) -> int:
    """Print the comparison table; with --out also write it and the plots there."""
    from deepmath_ext.evaluate.report import (
        ACCURACY_PLOT,
        PASS_AT_K_PLOT,
        REPORT_FILE,
        load_baselines,
        render_comparison,
        write_report,
    )
    from deepmath_ext.evaluate.runner import METRICS_FILE
    from deepmath_ext.evaluate.store import run_lock
    from deepmath_ext.files import check_output_dir, read_json

    if args.out:  # the runs are inputs: their own report.md and plots are not this command's to replace
        check_output_dir(args.out, inputs=[*args.run_dirs, args.baseline])
    runs = []
    for run_dir in args.run_dirs:
        with run_lock(run_dir, shared=True):  # not while an eval or regrade rewrites it
            runs.append(read_json(run_dir / METRICS_FILE))
    baselines = load_baselines(args.baseline) if args.baseline else []
    text = render_comparison(runs, baselines)
    print(text)
    if args.out:
        write_report(args.out, text, runs, baselines)
        print(f"Wrote {args.out}/{REPORT_FILE}, {ACCURACY_PLOT}, {PASS_AT_K_PLOT}")
    return 0
