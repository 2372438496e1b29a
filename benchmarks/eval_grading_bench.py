"""Evaluator overhead: grading and bookkeeping of a 16 x 1,547-problem run, against generation time.

    python benchmarks/eval_grading_bench.py [--n 16] [--peer-sample 512] [--seed 0]

Builds a run directory of stored responses (seeded, realistic DeepMath-style responses from
`synthetic_responses.py`, spread over the six benchmarks with their real row counts), then times
(1) appending them to generations.jsonl with one fsync per sample, as the hf and openai backends do at
worst (vLLM stores each engine step's finished samples with one fsync), (2) reopening the store as a resume does,
(3) grading them with the shared verifier (`grade_run`), (4) metrics, report and plots.

The peer figure is the reference evaluation's grader, math-verify called in-process on each whole
response, timed on a seeded subsample and scaled to the full run. Generation time is NOT measured
here (no GPU): it is an assumption stated on the command line and printed with the result.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_responses import generate_groups

from deepmath_ext.evaluate.backends import Generation, GenerationRequest, SampleKey
from deepmath_ext.evaluate.grading import grade_run
from deepmath_ext.evaluate.manifest import load_manifest, write_manifest
from deepmath_ext.evaluate.runner import write_scores
from deepmath_ext.evaluate.store import GENERATIONS_FILE, GenerationStore, save_problems

# Rows per benchmark in the DeepMath paper's evaluation (1,547 problems in all).
ROWS = {"math500": 500, "amc23": 40, "olympiadbench": 675, "minerva": 272, "aime24": 30, "aime25": 30}
SAMPLE_SETTINGS = {
    "model": {"fingerprint": "synthetic"}, "backend": "vllm", "dtype": "bfloat16", "template": "r1-distill",
    "template_fingerprint": "synthetic", "bos": "single", "temperature": 0.6, "top_p": 0.95, "top_k": -1,
    "max_tokens": 32768, "seed": 0,
}  # fmt: skip
CHARS_PER_TOKEN = 3.5  # rough ratio for English+LaTeX with the Qwen tokenizer; only sets the length column


def build_run(run_dir: Path, n: int, seed: int, policies: list[str]) -> tuple[list[str], list[str], float]:
    """Write the manifest, problems and all generations; returns responses, golds and the write seconds."""
    groups = generate_groups(sum(ROWS.values()), group_size=n, seed=seed)
    names = [name for name, rows in ROWS.items() for _ in range(rows)]
    pinned = {"samples": SAMPLE_SETTINGS, "server": None, "benchmarks": dict.fromkeys(ROWS, "synthetic")}
    write_manifest(
        run_dir,
        {
            "pinned": {**pinned, "fingerprint": "synthetic"},
            **{
                "n": n,
                "require_think": True,
                "label": "synthetic",
                "policies": policies,
                "model": "synthetic",
            },
        },
    )
    save_problems(
        run_dir,
        [
            {"benchmark": b, "id": str(i), "answer": g.gold, "categories": {}, "problem": g.problem}
            for i, (b, g) in enumerate(zip(names, groups, strict=True))
        ],
    )
    store = GenerationStore(run_dir / GENERATIONS_FILE)
    requests, generations = [], []
    for i, (b, g) in enumerate(zip(names, groups, strict=True)):
        for k, r in enumerate(g.responses):
            requests.append(GenerationRequest(SampleKey(b, str(i), k), "", seed + k))
            tokens = int(len(r.text) / CHARS_PER_TOKEN)
            generations.append(Generation(r.text, "length" if r.kind == "truncated" else "stop", tokens, 200))
    started = time.perf_counter()
    for finished in zip(requests, generations, strict=True):  # each sample stored as it finishes
        store.append([finished], "fp")
    write_s = time.perf_counter() - started
    golds = [g.gold for g in groups for _ in range(n)]
    return [gen.text for gen in generations], golds, write_s


def time_peer(responses: list[str], golds: list[str], sample: int, seed: int) -> float:
    """Seconds math-verify (the reference grader) would take on the whole run, from a subsample."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    picked = random.Random(seed).sample(range(len(responses)), min(sample, len(responses)))
    started = time.perf_counter()
    for i in picked:
        with contextlib.suppress(Exception):
            verify(parse("\\boxed{" + golds[i] + "}"), parse(responses[i]))
    return (time.perf_counter() - started) * len(responses) / len(picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-sample", type=int, default=512, help="responses math-verify is timed on")
    parser.add_argument("--workers", type=int, help="verifier processes (default: the verifier's default)")
    parser.add_argument("--policies", default="strict", help="comma-separated grading policies")
    parser.add_argument(
        "--mean-response-tokens", type=float, default=6000.0, help="assumed, for generation time"
    )
    parser.add_argument(
        "--gen-tokens-per-s", type=float, default=40000.0, help="assumed aggregate decode throughput"
    )
    args = parser.parse_args()

    policies = args.policies.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        t0 = time.perf_counter()
        responses, golds, write_s = build_run(run_dir, args.n, args.seed, policies)
        print(
            f"built {len(responses)} responses ({sum(map(len, responses)) / 1e6:.0f} MB of text) in {time.perf_counter() - t0:.0f} s"
        )
        started = time.perf_counter()
        GenerationStore(run_dir / GENERATIONS_FILE)
        reopen_s = time.perf_counter() - started
        started = time.perf_counter()
        results, gap = grade_run(
            run_dir, n=args.n, require_think=True, policies=policies, workers=args.workers
        )
        grade_s = time.perf_counter() - started
        started = time.perf_counter()
        write_scores(run_dir, load_manifest(run_dir), policies, results, gap)
        report_s = time.perf_counter() - started
        peer_s = time_peer(responses, golds, args.peer_sample, args.seed)

    samples = len(responses)
    generation_s = samples * args.mean_response_tokens / args.gen_tokens_per_s
    ours = write_s + reopen_s + grade_s + report_s
    print(f"\n{samples} samples ({sum(ROWS.values())} problems x n={args.n})")
    print(f"  append + fsync per sample {write_s:8.1f} s")
    print(f"  reopen store (resume)     {reopen_s:8.1f} s")
    print(f"  grade (grade_run)         {grade_s:8.1f} s  ({samples / grade_s:.0f} samples/s)")
    print(f"  metrics + report + plots  {report_s:8.1f} s")
    print(f"  total bookkeeping+grading {ours:8.1f} s")
    print(
        f"peer: math-verify in-process on whole responses, {peer_s:8.1f} s (scaled from {args.peer_sample} samples)"
    )
    print(f"ratio peer/ours grading: {peer_s / grade_s:.1f}x")
    print(
        f"assumed generation: {samples} x {args.mean_response_tokens:.0f} tokens at {args.gen_tokens_per_s:.0f} tokens/s"
        f" = {generation_s / 60:.0f} min"
    )
    print(f"grading + bookkeeping = {100 * ours / generation_s:.2f}% of generation time")


if __name__ == "__main__":
    main()
