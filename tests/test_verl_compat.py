"""verl 0.9.1 work-arounds installed by the plug-in: R1-Distill rollouts get a token builder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
import verl
from transformers import AutoTokenizer
from verl.experimental.agent_loop import agent_loop
from verl.utils.tokenizer import continuous_token_wiring as wiring

def builder_name(create, tokenizer_dir, **kwargs):
    try:
        return type(create(AutoTokenizer.from_pretrained(tokenizer_dir), hf_model_type="qwen2", **kwargs)).__name__
    except ValueError as error:
        return f"ValueError: {error}"

r1, qwen = sys.argv[1], sys.argv[2]
print(json.dumps({
    "verl_r1": builder_name(wiring.create_continuous_token_builder, r1),
    "agent_loop_r1": builder_name(agent_loop.create_continuous_token_builder, r1),
    "agent_loop_qwen": builder_name(agent_loop.create_continuous_token_builder, qwen),
    "agent_loop_r1_explicit_qwen": builder_name(agent_loop.create_continuous_token_builder, r1, model_family="qwen"),
}))
"""


def probe(tokenizers_dir: Path, **env: str) -> dict:
    r1 = tokenizers_dir / "deepseek-r1-distill-qwen_assembled"
    qwen = tokenizers_dir / "qwen2.5-7b_assembled"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(r1), str(qwen)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_r1_distill_rollouts_fall_back_to_verls_default_builder(tokenizers_dir: Path) -> None:
    report = probe(tokenizers_dir)
    # verl alone: model_type qwen2 picks the Qwen builder, which needs <|im_end|> that R1's tokenizer lacks.
    assert report["verl_r1"].startswith("ValueError: Tokenizer does not define required token '<|im_end|>'")
    assert report["agent_loop_r1"] == "ContinuousTokenBuilder"
    assert report["agent_loop_qwen"] == "QwenContinuousTokenBuilder"  # Qwen models keep their builder
    assert report["agent_loop_r1_explicit_qwen"].startswith("ValueError")  # an explicit choice still fails


def test_without_the_plugin_verl_fails_for_r1_distill(tokenizers_dir: Path) -> None:
    report = probe(tokenizers_dir, VERL_USE_EXTERNAL_PLUGINS="none")
    assert report["agent_loop_r1"].startswith("ValueError: Tokenizer does not define required token")
