"""Cold-start benchmark: a fresh process grades a batch of long responses, deepmath against math-verify.

    python benchmarks/cold_start_bench.py [--responses 600] [--repeats 3]

Material we did not generate: the longest responses of Qwen2.5-Math's 800 MATH responses
(verifier_eval/qwen25math_math_cot_100_rule_scored.jsonl in the test data, found as the tests find it), with their gold answers.
Each grader runs in its own fresh Python process, `--repeats` times; a run's clock starts before the
grader is imported (the material is read first, the same for both) and stops when the last grade is in,
so deepmath's figure includes starting its worker pool. deepmath_ext is byte-compiled first, as an install
is (the peer's bytecode is in site-packages). `--synthetic` runs the seeded synthetic batch
(benchmarks/synthetic_responses.py, long thinking sections) instead: self-generated, printed as such. Printed: the median items/s of each grader, with
and without its import, and their ratio. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shared_data import MissingTestData, data_dir

QWEN_FILE = ("verifier_eval", "qwen25math_math_cot_100_rule_scored.jsonl")
PACKAGE = Path(__file__).resolve().parents[1] / "deepmath_ext"
GRADERS = ("math-verify", "deepmath")


def longest_responses(count: int) -> list[tuple[str, str]]:
    """(response, gold) of the `count` longest Qwen responses."""
    path = data_dir().joinpath(*QWEN_FILE)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    pairs = [(response, row["answer"]) for row in rows for response in row["code"]]
    return sorted(pairs, key=lambda pair: -len(pair[0]))[:count]


def synthetic_responses(count: int) -> list[tuple[str, str]]:
    """(response, gold) of the seeded synthetic batch (benchmarks/synthetic_responses.py): our own material."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from synthetic_responses import generate_groups

    groups = generate_groups(count // 8, 8, seed=0)
    return [(response.text, group.gold) for group in groups for response in group.responses]


def grade_in_this_process(grader: str, pairs: list[tuple[str, str]], think: bool) -> dict[str, float]:
    """Import the grader and grade every pair; seconds from before the import, and for the import."""
    started = time.perf_counter()
    if grader == "deepmath":
        from deepmath_ext.verify import grade_batch

        imported = time.perf_counter()
        verdicts = [
            g.correct for g in grade_batch([r for r, _ in pairs], [g for _, g in pairs], require_think=think)
        ]
    else:
        import logging

        from math_verify import parse, verify

        logging.getLogger("math_verify").setLevel(logging.CRITICAL)
        imported = time.perf_counter()
        verdicts = []
        for response, gold in pairs:  # as verl calls it: verify(parse("\\boxed{gold}"), parse(response))
            try:
                verdicts.append(bool(verify(parse("\\boxed{" + gold + "}"), parse(response))))
            except Exception:
                verdicts.append(False)
    finished = time.perf_counter()
    return {"seconds": finished - started, "import_s": imported - started, "correct": sum(verdicts)}


def run_fresh(grader: str, material: Path, think: bool) -> dict[str, float]:
    """One run of a grader in a fresh interpreter."""
    command = [sys.executable, __file__, "--child", grader, "--material", str(material)]
    command += ["--synthetic"] if think else []
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print cold-process throughput of both graders on the same batch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--synthetic", action="store_true", help="the seeded synthetic batch (our own material) instead"
    )
    parser.add_argument("--child", choices=GRADERS, help=argparse.SUPPRESS)
    parser.add_argument("--material", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        pairs = [tuple(pair) for pair in json.loads(args.material.read_text(encoding="utf-8"))]
        print(json.dumps(grade_in_this_process(args.child, pairs, args.synthetic)))
        return 0
    try:
        pairs = synthetic_responses(args.responses) if args.synthetic else longest_responses(args.responses)
    except (MissingTestData, FileNotFoundError) as missing:
        print(f"material not found: {missing}", file=sys.stderr)
        return 2
    # As `pip install` does (the peer's site-packages hold bytecode too); an editable checkout may have none.
    compileall.compile_dir(PACKAGE, quiet=1)
    mean_chars = statistics.mean(len(response) for response, _ in pairs)
    name = (
        "synthetic responses (our own generator)" if args.synthetic else "longest Qwen2.5-Math MATH responses"
    )
    print(f"{len(pairs)} {name}, mean {mean_chars:,.0f} characters; a fresh process per run")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        material = Path(tmp) / "pairs.json"
        material.write_text(json.dumps(pairs), encoding="utf-8")
        for grader in GRADERS:
            runs = [run_fresh(grader, material, args.synthetic) for _ in range(args.repeats)]
            seconds = statistics.median(run["seconds"] for run in runs)
            graded = statistics.median(run["seconds"] - run["import_s"] for run in runs)
            rates[grader] = (len(pairs) / seconds, len(pairs) / graded)
            each = ", ".join(f"{run['seconds']:.2f}" for run in runs)
            print(
                f"{grader:<12} {rates[grader][0]:8.0f} items/s cold ({seconds:.2f} s; runs {each}); "
                f"{rates[grader][1]:8.0f} items/s without the import; {runs[0]['correct']} graded correct"
            )
    ours, theirs = rates["deepmath"], rates["math-verify"]
    print(f"ratio: {ours[0] / theirs[0]:.1f}x cold, {ours[1] / theirs[1]:.1f}x without the imports")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
