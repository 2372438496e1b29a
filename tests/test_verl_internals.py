"""verl's internals that deepmath's overrides rely on are where they were (else this fails, naming each), and an
untested verl release stops the plug-in, the reward manager and `deepmath train` in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deepmath_ext.errors import LaunchError
from deepmath_ext.verl_overrides import compat
from deepmath_ext.verl_overrides.compat import (
    RELIED_ON,
    RELIED_ON_ENGINE,
    TESTED_VERL,
    Internal,
    missing_internals,
)

pytestmark = pytest.mark.slow


def test_every_relied_on_verl_internal_is_still_there():
    assert missing_internals() == []
    assert {internal.used_by for internal in RELIED_ON} >= {
        "token_builder",
        "trainer_modes",
        "reward.manager",
    }


@pytest.mark.engine
def test_every_relied_on_vllm_cpu_internal_is_still_there():
    assert missing_internals(RELIED_ON_ENGINE) == []


def test_a_moved_or_changed_internal_is_named():
    moved = Internal("verl.trainer.ppo.v1.trainer_base", "PPOTrainer._compute_metricz", "trainer_modes")
    changed = Internal(
        "verl.trainer.ppo.v1.trainer_base", "PPOTrainer._compute_metrics", "trainer_modes", ("batch", "step")
    )
    rewritten = Internal("verl.utils.distributed", "initialize_global_process_group", "x", source="nccl-only")
    problems = missing_internals((moved, changed, rewritten))
    assert len(problems) == 3
    assert "_compute_metricz" in problems[0] and "parameters ['step'] are gone" in problems[1]
    assert "no longer contains 'nccl-only'" in problems[2]


def test_an_untested_verl_fails_loudly_in_one_line(monkeypatch):
    import verl

    from deepmath_ext import plugin
    from deepmath_ext.launch import load_verl_plugins

    monkeypatch.setattr(verl, "__version__", "0.10.0")
    error = compat.verl_version_error()
    assert "\n" not in error and f"verl {TESTED_VERL}" in error and "verl 0.10.0" in error
    assert plugin.install() is False
    with pytest.raises(LaunchError, match=r"0\.10\.0"):
        load_verl_plugins()


def test_the_reward_manager_refuses_an_untested_verl():
    probe = "import verl; verl.__version__ = '0.8.0'; import deepmath_ext.reward.manager"
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": "none"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert (
        f"VerlVersionError: deepmath needs verl {TESTED_VERL}" in done.stderr and "verl 0.8.0" in done.stderr
    )


def test_the_manager_loads_through_verls_public_importlib_config_without_the_plugin():
    """`reward.reward_manager.source=importlib` with a `pkg://` module path: no plug-in registration needed."""
    probe = (
        "from omegaconf import OmegaConf\n"
        "from verl.trainer.ppo.reward import resolve_reward_manager_cls\n"
        "from deepmath_ext.reward.recipe import manager_overrides\n"
        "cfg = OmegaConf.from_dotlist(manager_overrides())\n"
        "cls = resolve_reward_manager_cls(cfg)\n"
        "print(cls.__module__, cls.__name__)\n"
    )
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": "none"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "deepmath_ext.reward.manager DeepMathRewardManager"
