"""Re-grade the stored generations of an evaluation run (`deepmath regrade RUN_DIR`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath regrade`."""
    parser.add_argument("run_dir", type=Path, help="a directory written by `deepmath eval`")
    parser.add_argument("--grading-workers", type=int, help="verifier worker processes")
    parser.add_argument(
        "--grading-timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per symbolic check"
    )


def run(args: argparse.Namespace) -> int:
    """Grade again with the installed verifier; rewrite grades, metrics, report; note it in the manifest."""
    from deepmath_ext.evaluate.files import read_json
    from deepmath_ext.evaluate.manifest import load_manifest, record_regrade
    from deepmath_ext.evaluate.report import accuracy_table
    from deepmath_ext.evaluate.runner import METRICS_FILE, finalize_run

    metrics_path = args.run_dir / METRICS_FILE
    try:
        before = read_json(metrics_path)["run"]["verifier"] if metrics_path.exists() else None
        metrics = finalize_run(args.run_dir, workers=args.grading_workers, timeout_s=args.grading_timeout)
        record_regrade(args.run_dir, list(sys.argv), load_manifest(args.run_dir)["policies"])
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"deepmath regrade: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(accuracy_table([metrics])))
    if before is not None and before != metrics["run"]["verifier"]:
        print(
            f"\nThe verifier changed: the earlier grades were made by {before}, these by {metrics['run']['verifier']}."
        )
    return 0
