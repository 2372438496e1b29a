"""The exact command `deepmath train smoke-1gpu` prints, run for real with verl's main_ppo on this CPU-only
machine: it must get through config, Ray, our plug-in and dataset filtering, then stop at verl's GPU check."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from recipes_support import local_overrides

from deepmath_ext import launch

# Only for this 2-core machine: verl's TransferQueue wants several one-CPU Ray actors (logical CPUs
# suffice), and one storage unit instead of eight keeps it from waiting for CPUs that never free up.
CPU_MACHINE_OVERRIDES = [
    "ray_kwargs.ray_init.num_cpus=8",
    "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
]
VERL_GPU_CHECK = "Total available GPUs 0 is less than total desired GPUs 1"


@pytest.mark.slow
def test_smoke_recipe_runs_in_verl_until_the_gpu_check(shared_dir: Path, tmp_path: Path) -> None:
    overrides = local_overrides("smoke-1gpu", shared_dir, tmp_path / "cache")
    argv = launch.launch_command(launch.find_recipe("smoke-1gpu"), [*overrides, *CPU_MACHINE_OVERRIDES])
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "VERL_USE_EXTERNAL_PLUGINS")}
    # One stream, so the stages' order in it is the order they happened in.
    run = subprocess.run(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=400
    )
    log = run.stdout
    assert run.returncode != 0, log[-3000:]

    # Each stage's own message, in order: Ray started, the TaskRunner resolved the config (which needs
    # the plug-in's ${deepmath.template:...} resolver in that process), both datasets were filtered.
    train_rows = pq.read_metadata(overrides[1].split("=", 1)[1]).num_rows
    val_rows = pq.read_metadata(overrides[2].split("=", 1)[1]).num_rows
    stages = [
        "ray init kwargs",
        "'custom_chat_template': None",
        "'name': 'deepmath'",
        "Filtering prompts longer than 1024 tokens",
        f"filter dataset len: {train_rows}",
        f"filter dataset len: {val_rows}",
        VERL_GPU_CHECK,
    ]
    positions = [log.find(stage) for stage in stages]
    assert all(p >= 0 for p in positions), dict(zip(stages, positions, strict=True))
    assert positions == sorted(positions), dict(zip(stages, positions, strict=True))
    assert not re.search(r"Unsupported interpolation type deepmath|Unknown reward manager", log)
