"""The `verl.plugins` entry point: what a fresh `import verl` registers, and that it stays cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

PROBE = """
import json, sys
import verl
from omegaconf import OmegaConf
report = {"manager_loaded_by_import_verl": "deepmath_ext.reward.manager" in sys.modules,
          "template_resolver": OmegaConf.has_resolver("deepmath.template")}
from verl.experimental.reward_loop.reward_manager import registry
report["manager"] = getattr(registry.REWARD_MANAGER.get("deepmath"), "__module__", None)
from verl.trainer.ppo.v1 import trainer_base, PPOTrainerSync
modes = {m: c for m, c in trainer_base.TRAINER_REGISTRY.items() if m.startswith("deepmath_")}
report["trainer_modes"] = sorted(modes)
report["sync_mro"] = [c.__name__ for c in modes.get("deepmath_sync", PPOTrainerSync).__mro__[:3]]
def mode_seen_by_verl(cls, configured):
    trainer = cls.__new__(cls)
    trainer.trainer_mode = configured  # what PPOTrainer.__init__ does with trainer.v1.trainer_mode
    return trainer.trainer_mode
report["modes_seen_by_verl"] = {m: mode_seen_by_verl(c, m) for m, c in modes.items()}
print(json.dumps(report))
"""


def probe(**env: str) -> dict:
    """Run PROBE in a fresh interpreter (plug-ins load once per process) and return its report."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_entry_point_is_installed():
    points = [ep for ep in entry_points(group="verl.plugins") if ep.name == "deepmath"]
    assert [ep.value for ep in points] == ["deepmath_ext.plugin"]


def test_import_verl_registers_manager_resolver_and_trainer_modes_lazily():
    report = probe()
    assert report["template_resolver"] is True
    assert report["manager_loaded_by_import_verl"] is False  # registered when verl loads its registry
    assert report["manager"] == "deepmath_ext.reward.manager"
    assert report["trainer_modes"] == ["deepmath_colocate_async", "deepmath_separate_async", "deepmath_sync"]
    assert report["sync_mro"] == ["DeepMathPPOTrainerSync", "RewardTelemetryMixin", "PPOTrainerSync"]
    # verl branches on `trainer_mode == "sync"`: our modes must look like verl's own to the trainer.
    assert report["modes_seen_by_verl"] == {
        "deepmath_colocate_async": "colocate_async",
        "deepmath_separate_async": "separate_async",
        "deepmath_sync": "sync",
    }


def test_nothing_is_registered_when_verl_plugins_are_disabled():
    report = probe(VERL_USE_EXTERNAL_PLUGINS="none")
    assert report["manager"] is None and report["trainer_modes"] == [] and not report["template_resolver"]
