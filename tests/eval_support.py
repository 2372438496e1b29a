"""Helpers for the evaluator tests: a tiny random Qwen2 model and a small benchmark folder."""

from __future__ import annotations

import json
from pathlib import Path

from shared_data import data_path
from tiny_models import build_tiny_qwen2

from deepmath_ext.commands import command_parser
from deepmath_ext.commands import evaluate as evaluate_command

TOKENIZER = "qwen2.5-7b_assembled"
# Benchmark -> rows kept in the small local copy (first rows of the real file).
SUBSET_ROWS = {"math500": 3, "aime24": 2}


def build_tiny_model(out_dir: Path) -> Path:
    """Save a randomly initialised 2-layer Qwen2 with the real Qwen2.5 tokenizer; return its folder."""
    return build_tiny_qwen2(data_path("tokenizers", TOKENIZER), out_dir, layers=2, max_positions=2048)


def build_data_dir(out_dir: Path) -> Path:
    """A local benchmark folder holding the first rows of a few real benchmark files."""
    from deepmath_ext.data.benchmarks import get_benchmark

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in SUBSET_ROWS.items():
        local_file = get_benchmark(name).local.location
        lines = data_path("benchmarks", local_file).read_text(encoding="utf-8").splitlines()[:rows]
        (out_dir / local_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir


def eval_argv(model: Path, data_dir: Path, out: Path, *extra: str) -> list[str]:
    """`deepmath eval` arguments for a fast hf run on the small benchmark folder."""
    return [
        "--model", str(model), "--out", str(out), "--data-dir", str(data_dir), "--allow-benchmark-mismatch",
        "--benchmarks", ",".join(SUBSET_ROWS), "--template", "qwen-boxed", "--backend", "hf",
        "--dtype", "float32", "--device", "cpu", "--n", "2", "--max-tokens", "16", "--seed", "7", "--top-p", "1.0",
        "--grading-workers", "1", *extra,
    ]  # fmt: skip


def engine_eval_argv(model: Path, data_dir: Path, out: Path, backend: str, *extra: str) -> list[str]:
    """`eval_argv` for an engine backend (`vllm`, `openai`) instead of hf."""
    argv = eval_argv(model, data_dir, out, *extra)
    argv[argv.index("hf")] = backend
    device = argv.index("--device")
    del argv[device : device + 2]  # hf only
    return argv


def single_threaded_torch() -> None:
    """Use one torch thread: on a small shared CPU, thread contention makes sampling ~5x slower."""
    import torch

    torch.set_num_threads(1)


def read_generations(run_dir: Path) -> dict[tuple[str, str, int], dict]:
    """Stored generations by (benchmark, problem id, sample index), failing on duplicates."""
    records = {}
    for line in (run_dir / "generations.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        key = (r["benchmark"], r["problem_id"], r["index"])
        assert key not in records, f"duplicate {key}"
        records[key] = r
    return records


def parse_eval_args(argv: list[str]):
    """`deepmath eval` arguments parsed by the command's own parser (for tests of single options)."""
    return command_parser(evaluate_command, "deepmath eval").parse_args(argv)


def config_from_argv(argv: list[str]):
    """The EvalConfig `deepmath eval argv` describes."""
    return evaluate_command.config_from_args(parse_eval_args(argv))
