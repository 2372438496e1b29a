"""Decontamination quality and speed, ours beside open-r1's 8-gram method measured in the same run.

Quality: real training-style rows (../shared/data/train_samples) with benchmark problems planted
verbatim, with formatting noise, and as hand-written paraphrases; recall per kind and stage, and false
positives on the unplanted rows (rows checked by hand to be real benchmark copies are reported apart).
Scale: 103,110 synthetic training rows against all six benchmarks (1,547 problems): n-gram stage and
whole command time, embedding throughput (measured on a sample, extrapolated), peak memory.

    python benchmarks/decontam_bench.py [--quality] [--scale] [--embed-sample 1000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from decontam_support import all_benchmark_problems, known_duplicates, paraphrases  # noqa: E402
from planting import plant_rows, score_plants  # noqa: E402
from shared_data import data_path  # noqa: E402

from deepmath_ext.data import BENCHMARKS, BenchmarkProblem, iter_deepmath  # noqa: E402
from deepmath_ext.decontam import DecontamConfig, DecontamResult, Hit, decontaminate_to_dir  # noqa: E402
from deepmath_ext.decontam.pipeline import embed_candidates, ngram_hits  # noqa: E402

TRAIN_FILES = ("deepscaler_train_aime_1983_2023.jsonl", "deepscaler_train_math.jsonl")
SCALE_ROWS = 103_110
THRESHOLDS = (0.75, 0.8, 0.85, 0.9, 0.95)


def peer_contaminated(
    questions: Sequence[str], references: Sequence[BenchmarkProblem], n: int = 8
) -> list[int]:
    """open-r1's scripts/decontaminate.py method: lower-case, split on whitespace, flag any shared 8-gram."""

    def grams(text: str) -> set[str]:
        words = " ".join(text.lower().strip().split()).split()
        return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}

    lookup = set().union(*(grams(p.problem) for p in references))
    return [i for i, q in enumerate(questions) if not grams(q).isdisjoint(lookup)]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def training_rows() -> tuple[list[dict], set[int]]:
    """The shared training samples, concatenated, and the rows among them known to copy a benchmark."""
    rows, known = [], set()
    duplicates = known_duplicates()
    for file in TRAIN_FILES:
        for row_no, row in enumerate(iter_deepmath(data_path("train_samples", file), with_solutions=False)):
            if (file, row_no) in duplicates:
                known.add(len(rows))
            rows.append(row)
    return rows, known


def quality(references: list[BenchmarkProblem], per_kind: int) -> dict:
    """Recall and false positives on the shared samples with plants: n-gram, embed per threshold, the peer."""
    base, known = training_rows()
    rows, plants = plant_rows(base, references, paraphrases(references), per_kind=per_kind, seed=0)
    # Indices of the known duplicates after planting shifted them.
    position = {id(row): i for i, row in enumerate(rows)}
    known_after = {position[id(base[i])] for i in known}
    questions = [r["question"] for r in rows]
    config = DecontamConfig(threshold=min(THRESHOLDS))
    result = DecontamResult(rows=len(rows))
    result.hits["ngram"] = ngram_hits(questions, references, config)
    per_row, _ = embed_candidates(questions, references, config)
    figures = {"rows": len(rows), "plants": len(plants), "known_duplicates": len(known_after), "embed": {}}
    for threshold in THRESHOLDS:
        result.hits["embed"] = [h[0] for h in per_row if h and h[0].score >= threshold]
        figures["embed"][str(threshold)] = score_plants(result, plants, known_after)
    planted = {p.index: p for p in plants}
    peer = set(peer_contaminated(questions, references))
    figures["peer_open_r1_8gram"] = {
        "recall": {
            k: sum(p.index in peer for p in plants if p.kind == k) / sum(p.kind == k for p in plants)
            for k in ("verbatim", "noisy", "paraphrase")
        },
        "false_positives": sum(i not in planted and i not in known_after for i in peer),
        "known_duplicates_found": len(peer & known_after),
    }
    result.hits["embed"] = [h[0] for h in per_row if h and h[0].score >= DecontamConfig().threshold]
    figures["unplanted_flags_at_defaults"] = _unexplained(result, planted, known_after, questions, references)
    return figures


def _unexplained(
    result: DecontamResult, planted: dict, known: set[int], questions: list[str], refs: list[BenchmarkProblem]
) -> list[dict]:
    flags: list[Hit] = [
        h for hits in result.hits.values() for h in hits if h.index not in planted and h.index not in known
    ]
    return [
        {
            "stage": h.stage,
            "score": round(h.score, 4),
            "row": h.index,
            "question": questions[h.index][:160],
            "benchmark": f"{refs[h.reference].benchmark}:{refs[h.reference].id}",
            "problem": refs[h.reference].problem[:160],
        }
        for h in flags
    ]


def synthetic_rows(count: int, seed: int = 0) -> list[dict]:
    """`count` training-style rows: the shared samples with their numbers redrawn (seeded)."""
    rng = random.Random(seed)
    base = [
        row
        for file in TRAIN_FILES
        for row in iter_deepmath(data_path("train_samples", file), with_solutions=False)
    ]
    rows = []
    for _ in range(count):
        row = rng.choice(base)
        question = re.sub(r"\d+", lambda m: str(rng.randint(2, 10 ** len(m.group()))), row["question"])
        rows.append({**row, "question": question})
    return rows


def scale(references: list[BenchmarkProblem], embed_sample: int) -> dict:
    """On SCALE_ROWS synthetic rows: n-gram stage, peer and n-gram-only command times, embedding rate, memory."""
    rows = synthetic_rows(SCALE_ROWS)
    questions = [r["question"] for r in rows]
    figures: dict = {"rows": len(rows), "benchmark_problems": len(references)}
    start = time.perf_counter()
    ngram_hits(questions, references, DecontamConfig())
    figures["ngram_stage_s"] = time.perf_counter() - start
    start = time.perf_counter()
    peer_contaminated(questions, references)
    figures["peer_open_r1_8gram_s"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.jsonl"
        train.write_text("".join(json.dumps(r) + "\n" for r in rows))
        start = time.perf_counter()
        decontaminate_to_dir(
            train,
            list(BENCHMARKS),
            Path(tmp) / "out",
            DecontamConfig(stages=("ngram",)),
            data_dir=data_path("benchmarks"),
        )
        figures["ngram_command_s"] = time.perf_counter() - start
    figures["peak_rss_ngram_mib"] = peak_rss_mib()
    figures.update(_embed_throughput(questions, references, embed_sample))
    figures["peak_rss_mib"] = peak_rss_mib()
    return figures


def _embed_throughput(questions: list[str], references: list[BenchmarkProblem], sample: int) -> dict:
    import torch

    from deepmath_ext.decontam.embed import encode, load_encoder

    encoder = load_encoder()
    texts = random.Random(1).sample(questions, sample)
    encode(encoder, texts[:64])  # warm-up
    start = time.perf_counter()
    encode(encoder, texts)
    rate = sample / (time.perf_counter() - start)
    return {
        "embed_device": str(encoder.device),
        "torch_threads": torch.get_num_threads(),
        "embed_sample": sample,
        "embed_rows_per_s": rate,
        "embed_extrapolated_s": SCALE_ROWS / rate,
    }


def main() -> int:
    """Run the chosen parts (both by default) and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quality", action="store_true", help="planted-contamination recall and false positives"
    )
    parser.add_argument("--scale", action="store_true", help="103,110-row timing and memory")
    parser.add_argument(
        "--per-kind", type=int, default=100, help="verbatim and noisy plants each (default 100)"
    )
    parser.add_argument("--embed-sample", type=int, default=1000, help="rows embedded to measure throughput")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    references = all_benchmark_problems(data_path("benchmarks"))
    figures = {}
    if args.quality or not args.scale:
        figures["quality"] = quality(references, args.per_kind)
    if args.scale or not args.quality:
        figures["scale"] = scale(references, args.embed_sample)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
