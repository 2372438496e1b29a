"""Speed and peak memory of `deepmath prepare` on a synthetic DeepMath-103K-sized parquet, vs the peer.

Peer: the reference pipeline shape (verl's examples/data_preprocess): `datasets.load_dataset` of the
whole file, `.map(process_fn)` into verl's columns, `.to_parquet()`. Each run is a fresh subprocess
that reports its own peak RSS. Usage: python benchmarks/prepare_bench.py [--rows 103110] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLUTION_CHARS = 15_000
WORDS = [
    "let",
    "the",
    "sum",
    "of",
    "we",
    "compute",
    "so",
    "therefore",
    "hence",
    "integral",
    "limit",
    "prime",
    "root",
    "since",
    "thus",
    "value",
    "x",
    "y",
    "n",
    "k",
]


def _sentences(rng: random.Random, count: int) -> list[str]:
    return [
        " ".join(rng.choices(WORDS, k=rng.randint(8, 20)))
        + f" ${rng.randint(1, 999)}^{{{rng.randint(2, 9)}}}$."
        for _ in range(count)
    ]


def make_synthetic(path: Path, rows: int, seed: int = 0) -> None:
    """A DeepMath-shaped parquet: short question, answer, difficulty, topic, three ~15K-char solutions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    pool = _sentences(rng, 5000)
    per_solution = SOLUTION_CHARS // (sum(map(len, pool[:200])) // 200)
    writer = None
    for start in range(0, rows, 1000):
        batch = []
        for i in range(start, min(rows, start + 1000)):
            answer = str(rng.randint(0, 10_000))
            solutions = {
                f"r1_solution_{k}": " ".join(rng.choices(pool, k=per_solution))
                + f"\n</think>\n\\boxed{{{answer}}}"
                for k in (1, 2, 3)
            }
            question = f"Problem {i}: " + " ".join(rng.choices(pool, k=4))
            topic = f"Mathematics -> {rng.choice(['Algebra', 'Calculus', 'Geometry'])} -> Other"
            batch.append(
                {
                    "question": question,
                    "final_answer": answer,
                    "difficulty": rng.randint(6, 20) / 2,
                    "topic": topic,
                }
                | solutions
            )
        table = pa.Table.from_pylist(batch)
        writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    writer.close()


def run_ours(source: str, out: str) -> None:
    """`deepmath prepare` of `source` (training split only) into `out`."""
    from deepmath_ext.data.prepare import prepare_dataset

    prepare_dataset(out, train=source, val=(), progress=False)


def run_peer(source: str, out: str) -> None:
    """The peer pipeline: load the whole file with `datasets`, map rows into verl's columns, write parquet."""
    import datasets

    from deepmath_ext.templates import get_template

    template = get_template("orz")
    data = datasets.load_dataset("parquet", data_files=source, split="train", cache_dir=f"{out}/hf_cache")

    def process_fn(row: dict, index: int) -> dict:
        return {
            "data_source": "deepmath-103k",
            "prompt": template.messages(row["question"]),
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": row["final_answer"]},
            "extra_info": {
                "index": index,
                "split": "train",
                "difficulty": row["difficulty"],
                "topic": row["topic"],
            },
        }

    data = data.map(process_fn, with_indices=True, remove_columns=data.column_names)
    data.to_parquet(f"{out}/train.parquet")


def _measure(which: str, source: Path, workdir: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"{which}_", dir=workdir))
    cmd = [sys.executable, __file__, "--child", which, "--source", str(source), "--out", str(out)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def _child(which: str, source: str, out: str) -> None:
    start = time.perf_counter()
    {"ours": run_ours, "peer": run_peer}[which](source, out)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_mib}))


def main() -> None:
    """Generate the input once, then time ours and the peer in separate processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=103_110)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "deepmath_prepare_bench"
    )
    parser.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.source, args.out)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / f"synthetic_{args.rows}.parquet"
    if not source.exists():
        start = time.perf_counter()
        make_synthetic(source, args.rows)
        print(
            f"generated {source} ({source.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f}s"
        )
    ours, peer = _measure("ours", source, args.workdir), _measure("peer", source, args.workdir)
    for name, m in (("deepmath prepare", ours), ("peer (datasets load+map)", peer)):
        print(
            f"{name:26s} {args.rows / m['seconds']:9.0f} rows/s  {m['seconds']:7.1f} s  peak RSS {m['peak_rss_mib']:7.0f} MiB"
        )
    print(
        f"ratio ours/peer: time {ours['seconds'] / peer['seconds']:.2f}x, peak RSS {ours['peak_rss_mib'] / peer['peak_rss_mib']:.2f}x"
    )
    print(f"targets: peak RSS < 2048 MiB: {ours['peak_rss_mib'] < 2048}; < 10 min: {ours['seconds'] < 600}")


if __name__ == "__main__":
    main()
