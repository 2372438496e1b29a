"""What a fresh `import verl` gets from the plug-in: the template resolver and the trainer modes, registered
lazily, and R1-Distill rollouts' token builder (the reward manager is loaded by module path, never registered); whether verl finds the plug-in by its entry
point or by module name (a Ray job that shipped the package), and nothing when plug-ins are off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
import verl
from omegaconf import OmegaConf
report = {"manager_loaded_by_import_verl": "deepmath_ext.reward.manager" in sys.modules,
          "template_resolver": OmegaConf.has_resolver("deepmath.template")}
from transformers import AutoTokenizer
from verl.experimental.agent_loop import agent_loop
from verl.experimental.reward_loop.reward_manager import registry
from verl.trainer.ppo.v1 import trainer_base, PPOTrainerSync
from verl.utils.tokenizer import continuous_token_wiring as wiring
report["manager"] = getattr(registry.REWARD_MANAGER.get("deepmath"), "__module__", None)
modes = {m: c for m, c in trainer_base.TRAINER_REGISTRY.items() if m.startswith("deepmath_")}
report["trainer_modes"] = sorted(modes)
report["sync_mro"] = [c.__name__ for c in modes.get("deepmath_sync", PPOTrainerSync).__mro__[:3]]
def mode_seen_by_verl(cls, configured):
    trainer = cls.__new__(cls)
    trainer.trainer_mode = configured  # what PPOTrainer.__init__ does with trainer.v1.trainer_mode
    return trainer.trainer_mode
report["modes_seen_by_verl"] = {m: mode_seen_by_verl(c, m) for m, c in modes.items()}

def builder_name(create, tokenizer_dir, **kwargs):
    try:
        return type(create(AutoTokenizer.from_pretrained(tokenizer_dir), hf_model_type="qwen2", **kwargs)).__name__
    except ValueError as error:
        return f"ValueError: {error}"
r1, qwen = sys.argv[1], sys.argv[2]
report["verl_r1"] = builder_name(wiring.create_continuous_token_builder, r1)
report["agent_loop_r1"] = builder_name(agent_loop.create_continuous_token_builder, r1)
report["agent_loop_qwen"] = builder_name(agent_loop.create_continuous_token_builder, qwen)
report["agent_loop_r1_explicit_qwen"] = builder_name(
    agent_loop.create_continuous_token_builder, r1, model_family="qwen")
print(json.dumps(report))
"""
# How verl finds plug-ins (plug-ins load once per process, so each way gets a fresh interpreter).
ENVIRONMENTS = {
    "entry point": {},
    "plug-ins off": {"VERL_USE_EXTERNAL_PLUGINS": "none"},
    "module name": {"VERL_USE_EXTERNAL_PLUGINS": "none", "VERL_USE_EXTERNAL_MODULES": "deepmath_ext.plugin"},
}


@pytest.fixture(scope="module")
def fresh_verl(tokenizers_dir: Path):
    """`fresh_verl(way)`: PROBE's report from a fresh interpreter, run once per way and module."""
    r1, qwen = tokenizers_dir / "deepseek-r1-distill-qwen_assembled", tokenizers_dir / "qwen2.5-7b_assembled"
    reports: dict[str, dict] = {}

    def report(way: str) -> dict:
        if way not in reports:
            done = subprocess.run(
                [sys.executable, "-c", PROBE, str(r1), str(qwen)],
                env={**os.environ, **ENVIRONMENTS[way]},
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            reports[way] = json.loads(done.stdout.strip().splitlines()[-1])
        return reports[way]

    return report


def test_entry_point_is_installed():
    points = [ep for ep in entry_points(group="verl.plugins") if ep.name == "deepmath"]
    assert [ep.value for ep in points] == ["deepmath_ext.plugin"]


def test_import_verl_registers_resolver_and_trainer_modes_lazily_and_no_reward_manager(fresh_verl):
    report = fresh_verl("entry point")
    assert report["template_resolver"] is True
    # Recipes select the manager by module path (reward.reward_manager.source=importlib): nothing registers it.
    assert report["manager_loaded_by_import_verl"] is False
    assert report["manager"] is None
    assert report["trainer_modes"] == ["deepmath_colocate_async", "deepmath_separate_async", "deepmath_sync"]
    assert report["sync_mro"] == ["DeepMathPPOTrainerSync", "RewardTelemetryMixin", "PPOTrainerSync"]
    # verl branches on `trainer_mode == "sync"`: our modes must look like verl's own to the trainer.
    assert report["modes_seen_by_verl"] == {
        "deepmath_colocate_async": "colocate_async",
        "deepmath_separate_async": "separate_async",
        "deepmath_sync": "sync",
    }


def test_r1_distill_rollouts_fall_back_to_verls_default_builder(fresh_verl) -> None:
    report = fresh_verl("entry point")
    # verl alone: model_type qwen2 picks the Qwen builder, which needs <|im_end|> that R1's tokenizer lacks.
    assert report["verl_r1"].startswith("ValueError: Tokenizer does not define required token '<|im_end|>'")
    assert report["agent_loop_r1"] == "ContinuousTokenBuilder"
    assert report["agent_loop_qwen"] == "QwenContinuousTokenBuilder"  # Qwen models keep their builder
    assert report["agent_loop_r1_explicit_qwen"].startswith("ValueError")  # an explicit choice still fails


def test_verl_loads_the_plugin_by_module_name_when_entry_points_are_off(fresh_verl) -> None:
    # What a worker does when the package came with py_modules (no entry point to find).
    assert fresh_verl("module name") == fresh_verl("entry point")


def test_nothing_is_registered_when_verl_plugins_are_disabled(fresh_verl):
    report = fresh_verl("plug-ins off")
    assert report["manager"] is None and report["trainer_modes"] == [] and not report["template_resolver"]
    assert report["agent_loop_r1"].startswith("ValueError: Tokenizer does not define required token")
