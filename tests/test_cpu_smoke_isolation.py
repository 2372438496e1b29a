"""The CPU smoke's verl and vLLM patches never reach a GPU run: a normal launch neither sets their environment
nor imports them, and they refuse to install in a process that sees a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from deepmath_ext.cli import main
from deepmath_ext.commands import train as train_command
from deepmath_ext.cpu_smoke import cpu_platform

pytestmark = pytest.mark.slow
# What a verl process of the launch ends up with: the plug-in, verl's trainer registry and engines imported.
PROBE = """
import json, sys
import torch.distributed
import verl
from verl.plugin.platform import PlatformRegistry
from verl.trainer.ppo.v1 import trainer_base
import verl.workers.engine.fsdp.transformer_impl as fsdp
print(json.dumps({
    "smoke_modules": sorted(m for m in sys.modules if m.startswith("deepmath_ext.cpu_smoke")),
    "plugin_loaded": "deepmath_ext.plugin" in sys.modules,
    "gloo_patched": getattr(torch.distributed.init_process_group, "_deepmath_cpu", False),
    "offload_policy": fsdp.CPUOffloadPolicy.__name__,
}))
"""


def test_a_normal_launch_does_not_install_the_cpu_patches(smoke, monkeypatch):
    launched = []
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # skip this machine's GPU check; nothing is contacted
    monkeypatch.setattr(
        train_command, "run_in_process_group", lambda argv, env=None: launched.append((argv, env)) or 0
    )
    assert main(["train", "smoke-1gpu", *smoke]) == 0
    [(argv, env)] = launched
    assert env is None  # the launch inherits this environment, which has none of the smoke's variables
    assert not set(cpu_platform.ENVIRONMENT) & set(os.environ)
    assert not set(cpu_platform.CPU_OVERRIDES) & set(argv)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "smoke_modules": [], "plugin_loaded": True, "gloo_patched": False, "offload_policy": "CPUOffloadPolicy"
    }  # fmt: skip


def test_the_cpu_patches_refuse_a_process_that_sees_a_gpu(monkeypatch):
    # This machine has no GPU: stand in the answer torch would give on one.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(cpu_platform.GpuVisibleError, match="never install on a GPU run"):
        cpu_platform.activate()
    assert not getattr(torch.distributed.init_process_group, "_deepmath_cpu", False)
