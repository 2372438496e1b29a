"""A real smoke run: `deepmath train smoke-1gpu --smoke-cpu`, two GRPO steps of the tiny random model on CPU.

Marked `engine`: run in the CPU-engine environment (`scripts/cpu_engine_env.sh DIR`, then
`DIR/bin/python -m pytest -m engine`). The run starts Ray, verl's workers and vLLM's CPU engine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from engine_support import CORRELATION_KEY, QWEN_TOKENIZER, run_smoke, shared_tokenizer, step_metrics
from eval_support import SUBSET_ROWS, build_data_dir, eval_argv, parse_eval_args, read_generations

from deepmath_ext.commands import evaluate as evaluate_command
from deepmath_ext.evaluate.series import MERGED_DIR

pytestmark = [pytest.mark.engine, pytest.mark.timeout(2400)]


def test_smoke_run_trains_two_steps_and_its_checkpoint_evaluates(tmp_path: Path) -> None:
    tokenizer = shared_tokenizer(QWEN_TOKENIZER)
    result = run_smoke("smoke-1gpu", tmp_path, "--tokenizer", str(tokenizer))
    log = result.stdout
    assert result.returncode == 0, log[-4000:]
    assert "is valid:" in log and "smoke-cpu changes to the recipe:" in log
    # Each stage's own message, in order: Ray started, the TaskRunner resolved the config (which needs the
    # plug-in's ${deepmath.template:...} resolver in that process), the datasets were filtered: the smoke
    # trains and validates on its one prepared sample.
    (train,) = tmp_path.glob("data-*/train.parquet")
    filtered = f"filter dataset len: {pq.read_metadata(train).num_rows}"
    stages = ["ray init kwargs", "'name': 'deepmath'", "Filtering prompts longer than", filtered]
    positions = {stage: log.find(stage) for stage in stages}
    assert -1 not in positions.values() and list(positions.values()) == sorted(positions.values()), positions
    assert log.count(filtered) == 2  # training and validation data
    assert not re.search(r"Unsupported interpolation type deepmath|Unknown reward manager", log)
    metrics = step_metrics(tmp_path)
    assert len(metrics) == 2
    for step in metrics:
        assert step[CORRELATION_KEY] > 0.9
        assert any(key.startswith("reward/status_rate/") for key in step)
    assert (tmp_path / "checkpoints" / "global_step_2" / "actor").is_dir()
    # From the smoke run's checkpoint to numbers: verl's merger, then the evaluator (hf backend, no second engine).
    out, actor = tmp_path / "eval", tmp_path / "checkpoints" / "global_step_2" / "actor"
    argv = eval_argv(actor, build_data_dir(tmp_path / "benchmarks"), out)
    assert evaluate_command.run(parse_eval_args(argv)) == 0
    assert len(read_generations(out)) == 2 * sum(SUBSET_ROWS.values())
    assert json.loads((out / "manifest.json").read_text())["model"] == str(actor.parent / MERGED_DIR)
