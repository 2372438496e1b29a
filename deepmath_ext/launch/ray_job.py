"""`ray job submit` of a recipe, with a runtime environment that carries what every node's workers need."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from deepmath_ext.launch.checks import PLUGIN_MODULE

# Forwarded to every Ray worker when set on the submitting machine (secrets included: they travel in a
# private runtime-env file, never on a command line). Interface names are passed only if the user sets them.
PASSTHROUGH_ENV = (
    "WANDB_API_KEY",
    "WANDB_ENTITY",
    "WANDB_MODE",
    "HF_TOKEN",
    "HF_HOME",
    "HF_HUB_OFFLINE",
    "DEEPMATH_DATA_DIR",
    "NCCL_SOCKET_IFNAME",
    "GLOO_SOCKET_IFNAME",
    "NCCL_IB_HCA",
    "VERL_USE_EXTERNAL_PLUGINS",
)
# The job's entry point runs `deepmath train` on the cluster (it validates again, then starts verl's trainer).
CLUSTER_ENTRYPOINT = ("python", "-m", "deepmath_ext.cli", "train")


def job_runtime_env(environ: Mapping[str, str], ship_package: bool) -> dict:
    """Ray runtime_env for the job: passthrough variables and, if shipped, the package plus its plug-in hook."""
    env_vars = {key: environ[key] for key in PASSTHROUGH_ENV if environ.get(key)}
    runtime_env: dict = {}
    if ship_package:
        # Shipped modules have no entry points: verl imports the plug-in by module name instead.
        env_vars["VERL_USE_EXTERNAL_MODULES"] = PLUGIN_MODULE
        runtime_env["py_modules"] = [str(Path(__file__).resolve().parents[1])]
    if env_vars:
        runtime_env["env_vars"] = env_vars
    return runtime_env


def describe(runtime_env: dict) -> str:
    """The runtime env with variable names but not their values (some are secrets)."""
    modules = ", ".join(runtime_env.get("py_modules", [])) or "none"
    names = ", ".join(sorted(runtime_env.get("env_vars", {}))) or "none"
    return f"py_modules: {modules}; env_vars: {names}"


def write_runtime_env(runtime_env: dict) -> Path:
    """The runtime env as a file only this user can read (it may hold WANDB_API_KEY)."""
    handle, name = tempfile.mkstemp(prefix="deepmath-runtime-env-", suffix=".yaml")
    with os.fdopen(handle, "w") as out:
        json.dump(runtime_env, out)  # JSON is YAML, which `ray job submit --runtime-env` reads
    return Path(name)


def submit_command(address: str, runtime_env_file: Path, recipe: str, overrides: list[str]) -> list[str]:
    """argv of `ray job submit` running `deepmath train RECIPE overrides...` on the cluster."""
    return [
        "ray",
        "job",
        "submit",
        f"--address={address}",
        f"--runtime-env={runtime_env_file}",
        "--",
        *CLUSTER_ENTRYPOINT,
        recipe,
        *overrides,
    ]
