"""Re-grade the stored generations of an evaluation run (`deepmath regrade RUN_DIR`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepmath_ext.commands import grading_policies, policies_help, positive_float, positive_int
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath regrade`."""
    add = parser.add_argument
    add("run_dir", type=Path, help="a directory written by `deepmath eval`")
    add(
        "--policies",
        type=grading_policies,
        default=[],
        help=f"grading policies to add to the run's own (of: {policies_help()}); every policy "
        "is graded again, nothing is generated (default: only the run's own)",
    )
    add("--grading-workers", type=positive_int, help="verifier worker processes")
    add(
        "--grading-timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds per symbolic check (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Grade again with the installed verifier; rewrite grades, metrics, report; note it in the manifest."""
    from deepmath_ext.evaluate.manifest import load_manifest, record_regrade
    from deepmath_ext.evaluate.report import policy_table
    from deepmath_ext.evaluate.runner import METRICS_FILE, finalize_run
    from deepmath_ext.evaluate.store import run_lock
    from deepmath_ext.files import read_json
    from deepmath_ext.verify import get_policy

    metrics_path = args.run_dir / METRICS_FILE
    for policy in args.policies:
        get_policy(policy)
    load_manifest(args.run_dir)  # no run directory: say so before a lock file is made there
    with run_lock(args.run_dir):  # exclusive: a running eval may be appending to the store
        policies = list(dict.fromkeys([*load_manifest(args.run_dir)["policies"], *args.policies]))
        before = read_json(metrics_path)["run"]["verifier"] if metrics_path.exists() else None
        metrics = finalize_run(
            args.run_dir, policies=policies, workers=args.grading_workers, timeout_s=args.grading_timeout
        )
        record_regrade(args.run_dir, list(sys.argv), policies)
    print("\n".join(policy_table(metrics)))
    verifier = metrics["run"]["verifier"]
    if before is not None and before != verifier:
        print(f"\nThe verifier changed: the earlier grades were made by {before}, these by {verifier}.")
    return 0
