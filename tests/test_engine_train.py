"""A real smoke run: `deepmath train smoke-1gpu --smoke-cpu`, two GRPO steps of the tiny random model on CPU.

Marked `engine`: run in the CPU-engine environment (`scripts/cpu_engine_env.sh DIR`, then
`DIR/bin/python -m pytest -m engine`). The run starts Ray, verl's workers and vLLM's CPU engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_support import (
    CORRELATION_KEY,
    QWEN_TOKENIZER,
    assert_launch_stages,
    evaluate_checkpoint,
    run_smoke,
    shared_tokenizer,
    step_metrics,
)
from eval_support import SUBSET_ROWS

from deepmath_ext.evaluate.series import MERGED_DIR

# The full tier's: CI's engine tier proves the same wiring through the deepmath-1.5b learning check (launch
# stages, checkpoint to evaluation) and smoke-1gpu itself through the 2-node cluster test.
pytestmark = [pytest.mark.engine, pytest.mark.full, pytest.mark.timeout(2400)]


def test_smoke_run_trains_two_steps_and_its_checkpoint_evaluates(tmp_path: Path) -> None:
    tokenizer = shared_tokenizer(QWEN_TOKENIZER)
    result = run_smoke("smoke-1gpu", tmp_path, "--tokenizer", str(tokenizer))
    log = result.stdout
    assert result.returncode == 0, log[-4000:]
    assert "is valid:" in log and "smoke-cpu changes to the recipe:" in log
    # The smoke trains and validates on its one prepared sample.
    (train,) = tmp_path.glob("data-*/train.parquet")
    assert_launch_stages(log, train)
    metrics = step_metrics(tmp_path)
    assert len(metrics) == 2
    for step in metrics:
        assert step[CORRELATION_KEY] > 0.9
        assert any(key.startswith("reward/status_rate/") for key in step)
    assert (tmp_path / "checkpoints" / "global_step_2" / "actor").is_dir()
    # From the smoke run's checkpoint to numbers: verl's merger, then the evaluator (hf backend, no second engine).
    actor = tmp_path / "checkpoints" / "global_step_2" / "actor"
    out = tmp_path / "eval"
    assert len(evaluate_checkpoint(actor, out)) == 2 * sum(SUBSET_ROWS.values())
    assert json.loads((out / "manifest.json").read_text())["model"] == str(actor.parent / MERGED_DIR)
