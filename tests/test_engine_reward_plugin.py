"""One real `--smoke-cpu` GRPO step with the example reward plug-in (examples/reward_plugin), pip-installed into
a throwaway --target folder: its term scores the rollouts in verl's reward actors and its key reaches the
step metrics. Marked `engine` and `full`: the full engine tier runs it, on demand (`pytest -m engine`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_support import QWEN_TOKENIZER, run_smoke, shared_tokenizer, step_metrics

pytestmark = [pytest.mark.engine, pytest.mark.full, pytest.mark.timeout(1800)]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reward_plugin"
TERMS = [
    "+reward.reward_kwargs.terms={accuracy: 0.0, length_penalised: 1.0}",
    "+reward.reward_kwargs.length_penalised.budget=20",
    "trainer.total_training_steps=1",
]


def test_one_smoke_step_scores_with_the_plugin(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True,
        cwd=tmp_path,
    )  # fmt: skip
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(target)) if p)
    tokenizer = shared_tokenizer(QWEN_TOKENIZER)
    result = run_smoke(
        "smoke-1gpu", tmp_path, "--tokenizer", str(tokenizer), *TERMS, env={"PYTHONPATH": path}
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "terms accuracy 0, length_penalised 1" in result.stdout
    (step,) = step_metrics(tmp_path)
    # A random model's 64-token responses run past the 20-character budget: the penalty is on.
    assert 0.0 < step["reward/mean/length_penalty"] <= 0.5
    assert "reward/status_rate/no_answer" in step  # accuracy (weight 0) still feeds the telemetry
