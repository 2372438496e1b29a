"""Grade a JSONL file of responses against gold answers (`deepmath grade IN.jsonl`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from deepmath_ext.commands import grading_policy, policies_help, positive_float, positive_int
from deepmath_ext.data.benchmarks import BENCHMARKS
from deepmath_ext.errors import UserError
from deepmath_ext.files import atomic_path, check_output_file
from deepmath_ext.verify import DEFAULT_POLICY
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

CHUNK_ROWS = 4096


class BadRow(UserError):
    """A row that cannot be graded, with its line number."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deepmath grade`."""
    add = parser.add_argument
    add("input", type=Path, help="JSONL file, one response per line")
    add("--out", type=Path, help="graded JSONL (default: IN with .graded.jsonl)")
    add("--response-key", default="response", help="key of the model response")
    add("--gold-key", default="gold", help="key of the gold answer")
    add("--label-key", default="label", help="optional key of a reference label to compare with")
    add(
        "--no-require-think",
        dest="require_think",
        action="store_false",
        help="grade responses without </think> (strict policy)",
    )
    add(
        "--policy",
        type=grading_policy,
        default=DEFAULT_POLICY,
        help=f"grading policy: {policies_help()} (docs/verifier.md; the reference-* ones reproduce the "
        "DeepMath research code; default: %(default)s)",
    )
    add(
        "--benchmark",
        choices=sorted(BENCHMARKS),
        help="benchmark name for reference-eval (olympiadbench adds the olympiad judge)",
    )
    add("--workers", type=positive_int, help="verifier worker processes (default: one per CPU, max 8)")
    add("--timeout", type=positive_float, default=DEFAULT_TIMEOUT_S, help="seconds per symbolic check")
    add("--skip-bad", action="store_true", help="skip (and count) bad rows instead of stopping")


def _checked_row(line_number: int, line: str, response_key: str, gold_key: str) -> dict:
    """The row of one line, or BadRow naming the line and what is wrong with it."""
    from deepmath_ext.files import parse_object_line
    from deepmath_ext.verify.pipeline import normalized_gold

    try:
        row = parse_object_line(line, f"line {line_number}")
    except ValueError as error:
        raise BadRow(str(error)) from None
    for key in (response_key, gold_key):
        if key not in row:
            raise BadRow(f"line {line_number}: missing key {key!r} (keys: {sorted(row)})")
        if not isinstance(row[key], str):
            raise BadRow(f"line {line_number}: {key!r} must be a string, got {type(row[key]).__name__}")
    try:
        normalized_gold(row[gold_key])
    except ValueError as error:
        raise BadRow(f"line {line_number}: {error}") from None
    return row


def _chunks(path: Path, args: argparse.Namespace, skipped: Counter) -> Iterator[list[dict]]:
    """Checked rows in chunks; bad rows raise, or are counted and reported with --skip-bad."""
    chunk: list[dict] = []
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                chunk.append(_checked_row(line_number, line, args.response_key, args.gold_key))
            except BadRow as error:
                if not args.skip_bad:
                    raise
                skipped["bad rows"] += 1
                print(f"deepmath grade: skipped {error}", file=sys.stderr)
            if len(chunk) == CHUNK_ROWS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _summary(statuses: Counter, labels: Counter, skipped: Counter, seconds: float) -> list[str]:
    from deepmath_ext.verify import GradeStatus

    graded = sum(statuses.values())
    correct = sum(n for status, n in statuses.items() if GradeStatus(status).is_correct)
    lines = [
        f"graded {graded} responses in {seconds:.1f} s ({graded / max(seconds, 1e-9):.1f} items/s)",
        f"accuracy: {correct / max(graded, 1):.1%} ({correct}/{graded})",
        "statuses: " + ", ".join(f"{status} {n}" for status, n in statuses.most_common()),
    ]
    if labels:
        agree = labels[True]
        lines.append(
            f"agreement with labels: {agree / sum(labels.values()):.1%} ({agree}/{sum(labels.values())})"
        )
    if skipped:
        lines.append(f"skipped: {skipped['bad rows']} bad rows")
    return lines


def _grade_file(args: argparse.Namespace, out, skipped: Counter) -> tuple[Counter, Counter]:
    """Grade every chunk of the input into `out`; (status counts, label agreement counts)."""
    from tqdm.auto import tqdm

    from deepmath_ext.data.benchmarks import needs_olympiad_judge
    from deepmath_ext.verify import VerifierPool

    statuses: Counter = Counter()
    labels: Counter = Counter()
    with (
        VerifierPool(workers=args.workers, timeout_s=args.timeout) as pool,
        tqdm(desc="grading", unit="row", file=sys.stderr) as progress,
    ):
        for chunk in _chunks(args.input, args, skipped):
            futures = [
                pool.submit(
                    row[args.response_key],
                    row[args.gold_key],
                    policy=args.policy,
                    require_think=args.require_think,
                    olympiad_judge=needs_olympiad_judge(args.benchmark),
                )
                for row in chunk
            ]
            for row, future in zip(chunk, futures, strict=True):
                grade = future.result()
                statuses[grade.status] += 1
                if isinstance(row.get(args.label_key), bool):
                    labels[row[args.label_key] == grade.correct] += 1
                out.write(json.dumps({**row, **grade.to_dict()}, ensure_ascii=False) + "\n")
                progress.update()
    return statuses, labels


def run(args: argparse.Namespace) -> int:
    """Grade the file, write it atomically and print accuracy, status counts and speed."""
    out_path = args.out or args.input.with_suffix(".graded.jsonl")
    if not args.input.is_file():
        raise UserError(f"no such file {args.input}")
    check_output_file(out_path, inputs=[args.input])
    skipped: Counter = Counter()
    started = time.perf_counter()
    try:
        with atomic_path(out_path) as temp_path, temp_path.open("w", encoding="utf-8") as out:
            statuses, labels = _grade_file(args, out, skipped)
            if not statuses:  # nothing graded: refuse before the empty output replaces anything
                raise UserError(
                    f"{args.input}: no rows graded" + (f" ({skipped['bad rows']} skipped)" if skipped else "")
                )
    except BadRow as error:
        raise UserError(f"{error} (use --skip-bad to skip such rows)") from None
    print("\n".join(_summary(statuses, labels, skipped, time.perf_counter() - started)))
    print(f"wrote {out_path}")
    return 0
