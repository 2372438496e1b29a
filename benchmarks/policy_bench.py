"""Grading-policy benchmark: seconds per 1,000 samples of every policy next to `strict`, in one run.

    python benchmarks/policy_bench.py [--synthetic 1024] [--seed 0] [--timeout-s 2.0]

Material, each graded by every policy with a fresh, started pool (worker start-up and memo are not shared):
(a) Qwen2.5-Math-Instruct's 800 MATH responses with Qwen's rule labels
    (../shared/data/verifier_eval/qwen25math_math_cot_100_rule_scored.jsonl; the labels are not ground
    truth). They have no thinking template, so each gets an empty `<think></think>` prefix: every policy
    then grades the whole answer and the `</think>` rules pass.
(b) the seeded DeepMath-style batch of verifier_bench.py (our own generator: long responses, about 1%
    pathological ones), labelled by the generator.
`reference-eval+judge` is `reference-eval` with benchmark="olympiadbench" (the olympiad judge also runs).
Prints per policy: seconds per 1,000 samples, accuracy, agreement with the labels, statuses and the pool's
timeout/death counts. Not a test: figures depend on the machine and its load.

    python benchmarks/policy_bench.py --against-reference VENV_PYTHON [--reference-repo GIT_DIR]

instead grades a comparison set with every reference policy AND with the reference research code itself
(reference_driver.py, run by VENV_PYTHON: an environment with the reference's pins, math-verify 0.7.0,
antlr4-python3-runtime 4.11.0, sympy 1.13.1), and prints their agreement per policy and per material.
The reference's source is read from a fetched copy of github:zwhe99/DeepMath at REFERENCE_COMMIT. The
comparison set is responses nobody wrote for this comparison (comparison_material); the disagreements
are written to --disagreements for reading.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shared_data import data_path
from synthetic_responses import generate_groups

from deepmath_ext.data.benchmarks import needs_olympiad_judge
from deepmath_ext.verify import POLICY_NAMES, VerifierPool
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S, default_workers

QWEN_FILE = ("verifier_eval", "qwen25math_math_cot_100_rule_scored.jsonl")  # under the tests' data folder
REFERENCE_REPO = Path("/work/.mirror/zwhe99+DeepMath/repo")
REFERENCE_COMMIT = "0d97187"  # the commit the reference runs and notes/reference-runs.md are read from
REFERENCE_FILES = {"openmathinst_utils.py": "utils/openmathinst_utils.py", "uni_eval.py": "uni_eval.py"}
THINK = "<think>\n</think>\n"  # lets the </think> rules pass on material without a thinking template
# (row label, policy, benchmark passed to it)
RUNS = [
    *((name, name, None) for name in POLICY_NAMES),
    ("reference-eval+judge", "reference-eval", "olympiadbench"),
]


def qwen_material(path: Path) -> tuple[list[str], list[str], list[bool]]:
    """Responses (with an empty think block), golds and Qwen's labels of the 800-response file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the benchmark reads the shared verifier_eval data")
    responses, golds, labels = [], [], []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        for response, label in zip(row["code"], row["score"], strict=True):
            responses.append("<think>\n</think>\n" + response)
            golds.append(row["gt"])
            labels.append(bool(label))
    return responses, golds, labels


def synthetic_material(count: int, seed: int) -> tuple[list[str], list[str], list[bool]]:
    """verifier_bench.py's seeded batch: responses, golds and the generator's labels."""
    groups = generate_groups(count // 8, 8, seed=seed)
    return (
        [r.text for g in groups for r in g.responses],
        [g.gold for g in groups for _ in g.responses],
        [r.correct for g in groups for r in g.responses],
    )


def bench(name: str, material: tuple[list[str], list[str], list[bool]], timeout_s: float) -> None:
    """Grade the material under every policy and print one table row per policy."""
    responses, golds, labels = material
    chars = sum(map(len, responses)) / len(responses)
    print(
        f"\n## {name}: {len(responses)} responses, mean {chars:,.0f} characters, "
        f"{sum(labels)} labelled correct"
    )
    print("| policy | s per 1,000 | accuracy | agreement with labels | statuses | pool counts |")
    print("|---|---|---|---|---|---|")
    for label, policy, benchmark in RUNS:
        with VerifierPool(workers=default_workers(), timeout_s=timeout_s) as pool:
            pool.start()  # worker start-up is not grading time
            started = time.perf_counter()
            grades = pool.grade_batch(
                responses, golds, policy=policy, olympiad_judge=needs_olympiad_judge(benchmark)
            )
            seconds = time.perf_counter() - started
            counts = pool.counts
        verdicts = [g.correct for g in grades]
        agree = sum(v == lab for v, lab in zip(verdicts, labels, strict=True)) / len(labels)
        statuses = dict(Counter(g.status.value for g in grades).most_common())
        print(
            f"| {label} | {seconds * 1000 / len(responses):.1f} | {sum(verdicts) / len(verdicts):.1%} "
            f"| {agree:.1%} | {statuses} | {dict(counts) or '-'} |"
        )


def _jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the comparison reads the shared data and the bundled sample"
        )
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def comparison_material() -> list[tuple[str, str, str]]:
    """(material, response, gold) triples: responses written by models and people, none for this comparison.

    Qwen2.5-Math's 800 MATH responses, and the first of each problem against the NEXT problem's gold (wrong
    by construction); the bundled DeepMath sample's R1-style solutions; the reference solutions of MATH500,
    OlympiadBench (no boxes: the judge reads their last line) and 300 AIME problems; and math-verify's own
    regression pairs (the prediction as the response). Responses without `</think>` get an empty think block.
    """
    triples = []
    qwen = _jsonl(data_path(*QWEN_FILE))
    for row in qwen:
        triples += [("qwen-math", THINK + response, row["gt"]) for response in row["code"]]
    for row, following in zip(qwen, qwen[1:] + qwen[:1], strict=True):
        triples.append(("qwen-math-other-gold", THINK + row["code"][0], following["gt"]))
    for row in _jsonl(Path(__file__).resolve().parents[1] / "deepmath_ext/samples/deepmath_sample.jsonl"):
        triples += [("deepmath-sample", row[f"r1_solution_{i}"], row["final_answer"]) for i in (1, 2, 3)]
    for row in _jsonl(data_path("benchmarks", "math500.jsonl")):
        triples.append(("math500-solutions", THINK + row["solution"], row["answer"]))
    for row in _jsonl(data_path("benchmarks", "olympiadbench.jsonl")):
        triples.append(("olympiad-solutions", THINK + "\n".join(row["solution"]), row["final_answer"][0]))
    for row in _jsonl(data_path("train_samples", "deepscaler_train_aime_1983_2023.jsonl"))[:300]:
        triples.append(("aime-solutions", THINK + row["solution"], str(row["answer"])))
    for row in _jsonl(data_path("verifier_eval", "math_verify_test_cases.jsonl")):
        triples.append(("math-verify-tests", THINK + row["pred"], row["gold"]))
    return triples


def _pair_key(response: str, gold: str) -> str:
    return hashlib.blake2b(f"{gold}\0{response}".encode(), digest_size=12).hexdigest()


def reference_verdicts(pairs: list[tuple[str, str]], python: str, repo: Path, cache: Path) -> list[dict]:
    """The reference code's verdicts on every pair (reference_driver.py in its environment), cached by pair."""
    known = {}
    if cache.is_file():
        known = {row["key"]: row for row in map(json.loads, cache.read_text().splitlines())}
    missing = [(r, g) for r, g in pairs if _pair_key(r, g) not in known]
    if missing:
        with tempfile.TemporaryDirectory() as source:
            for name, path in REFERENCE_FILES.items():
                text = subprocess.run(
                    ["git", "-C", str(repo), "show", f"{REFERENCE_COMMIT}:{path}"],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                Path(source, name).write_text(text)
            lines = "".join(json.dumps({"response": r, "gold": g}) + "\n" for r, g in missing)
            driver = Path(__file__).with_name("reference_driver.py")
            done = subprocess.run(
                [python, str(driver), source], input=lines, capture_output=True, text=True, check=True
            )
        with cache.open("a") as out:
            for (response, gold), line in zip(missing, done.stdout.splitlines(), strict=True):
                row = {"key": _pair_key(response, gold), **json.loads(line)}
                known[row["key"]] = row
                out.write(json.dumps(row) + "\n")
    return [known[_pair_key(r, g)] for r, g in pairs]


def compare_with_reference(args: argparse.Namespace) -> None:
    """Agreement of every reference policy with the reference code, per material, and the disagreements."""
    triples = comparison_material()
    pairs = [(response, gold) for _, response, gold in triples]
    theirs = reference_verdicts(pairs, args.against_reference, args.reference_repo, args.reference_cache)
    responses, golds = [r for r, _ in pairs], [g for _, g in pairs]
    materials = sorted(set(m for m, _, _ in triples))
    print(f"{len(triples)} pairs; {', '.join(f'{m} {sum(t[0] == m for t in triples)}' for m in materials)}")
    print("| policy | agreement | disagreements: we accept / they accept | " + " | ".join(materials) + " |")
    print("|---|---|---|" + "---|" * len(materials))
    disagreements = []
    for label, policy, benchmark in RUNS[1:]:
        with VerifierPool(workers=default_workers(), timeout_s=args.timeout_s) as pool:
            grades = pool.grade_batch(
                responses, golds, policy=policy, olympiad_judge=needs_olympiad_judge(benchmark)
            )
        agree = [g.correct == row[label] for g, row in zip(grades, theirs, strict=True)]
        ours_only = sum(g.correct and not ok for g, ok in zip(grades, agree, strict=True))
        per_material = [
            f"{sum(a for a, t in zip(agree, triples, strict=True) if t[0] == m) / sum(t[0] == m for t in triples):.1%}"
            for m in materials
        ]
        print(
            f"| {label} | {sum(agree) / len(agree):.2%} | {ours_only} / {agree.count(False) - ours_only} "
            f"| {' | '.join(per_material)} |"
        )
        for grade, row, ok, (material, response, gold) in zip(grades, theirs, agree, triples, strict=True):
            if not ok:
                disagreements.append(
                    {
                        "policy": label,
                        "material": material,
                        "gold": gold,
                        "ours": grade.correct,
                        "status": grade.status.value,
                        "pred": grade.pred,
                        "detail": grade.detail,
                        "theirs": {k: v for k, v in row.items() if k != "key"},
                        "response": response,
                    }
                )
    if args.disagreements:
        args.disagreements.write_text("".join(json.dumps(d) + "\n" for d in disagreements))
        print(f"{len(disagreements)} disagreements written to {args.disagreements}")


def main(argv: list[str] | None = None) -> int:
    """Run every policy on both materials and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=1024, help="synthetic responses (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--qwen-file", type=Path, help="default: the tests' data folder's copy")
    parser.add_argument("--against-reference", metavar="VENV_PYTHON", help="compare with the reference code")
    parser.add_argument(
        "--reference-repo", type=Path, default=REFERENCE_REPO, help="git dir of its fetched copy"
    )
    parser.add_argument(
        "--reference-cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "deepmath-reference-verdicts.jsonl",
    )
    parser.add_argument("--disagreements", type=Path, help="write the disagreements here (JSON lines)")
    args = parser.parse_args(argv)
    args.qwen_file = args.qwen_file or data_path(*QWEN_FILE)
    print(f"{default_workers()} workers, deadline {args.timeout_s:g} s")
    if args.against_reference:
        compare_with_reference(args)
        return 0
    bench("Qwen2.5-Math MATH responses (verifier_eval)", qwen_material(args.qwen_file), args.timeout_s)
    if args.synthetic:
        bench("synthetic DeepMath-style batch", synthetic_material(args.synthetic, args.seed), args.timeout_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
