"""The exact command a recipe runs as (verl's trainer here, or `ray job submit` with a runtime environment
that carries what every node's workers need), and a short summary of the settings that matter."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig

from deepmath_ext.launch.checks import PLUGIN_MODULE
from deepmath_ext.launch.recipes import RecipeSource, raw_value, resolved_value

TRAINER_MODULE = "verl.trainer.main_ppo"

# (label, dotted keys shown as "a / b") printed by `deepmath train`; templates show as written, not expanded.
SUMMARY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model", ("actor_rollout_ref.model.path",)),
    ("chat template", ("actor_rollout_ref.model.custom_chat_template",)),
    ("train / val files", ("data.train_files", "data.val_files")),
    ("reward manager", ("reward.reward_manager.name",)),
    (
        "overlong on / len / factor",
        (
            "reward.reward_kwargs.overlong_buffer_cfg.enable",
            "reward.reward_kwargs.overlong_buffer_cfg.len",
            "reward.reward_kwargs.overlong_buffer_cfg.penalty_factor",
        ),
    ),
    ("advantage", ("algorithm.adv_estimator",)),
    (
        "filter groups / metric / inflight",
        (
            "algorithm.filter_groups.enable",
            "algorithm.filter_groups.metric",
            "algorithm.filter_groups.max_inflight_gen_batches",
        ),
    ),
    ("train / mini batch", ("data.train_batch_size", "actor_rollout_ref.actor.ppo_mini_batch_size")),
    ("n / temperature", ("actor_rollout_ref.rollout.n", "actor_rollout_ref.rollout.temperature")),
    ("prompt / response tokens", ("data.max_prompt_length", "data.max_response_length")),
    (
        "lr / warm-up / weight decay",
        (
            "actor_rollout_ref.actor.optim.lr",
            "actor_rollout_ref.actor.optim.lr_warmup_steps",
            "actor_rollout_ref.actor.optim.weight_decay",
        ),
    ),
    (
        "clip low / high",
        ("actor_rollout_ref.actor.clip_ratio_low", "actor_rollout_ref.actor.clip_ratio_high"),
    ),
    (
        "KL loss / coef / in reward",
        (
            "actor_rollout_ref.actor.use_kl_loss",
            "actor_rollout_ref.actor.kl_loss_coef",
            "algorithm.use_kl_in_reward",
        ),
    ),
    ("nodes x GPUs", ("trainer.nnodes", "trainer.n_gpus_per_node")),
    ("steps / save every", ("trainer.total_training_steps", "trainer.save_freq")),
    ("loggers", ("trainer.logger",)),
)


def describe(cfg: DictConfig) -> str:
    """One line for `deepmath train --list`: model, nodes x GPUs, template, reward policy."""
    from deepmath_ext.reward.recipe import settings_in_use

    template = _display(cfg, "actor_rollout_ref.model.custom_chat_template")
    template = template.removeprefix("${deepmath.template:").removesuffix("}")
    reward = settings_in_use(cfg)
    if reward is None:
        policy = "not deepmath's"
    else:
        think = "</think> required" if reward.grading.require_think else "whole response"
        policy = f"{reward.grading.policy} ({think})"
    return (
        f"{_display(cfg, 'actor_rollout_ref.model.path')}, "
        f"{_display(cfg, 'trainer.nnodes')}x{_display(cfg, 'trainer.n_gpus_per_node')} GPUs, "
        f"template {template}, reward {policy}"
    )


def launch_command(source: RecipeSource, overrides: list[str], python: str = sys.executable) -> list[str]:
    """argv of `python -m verl.trainer.main_ppo` running the recipe with the user's overrides."""
    return [python, "-m", TRAINER_MODULE, *source.hydra_arguments(), *overrides]


def format_command(argv: list[str]) -> str:
    """The command as a shell would take it (quoted where needed)."""
    return shlex.join(argv)


def summarize(cfg: DictConfig) -> str:
    """One `label  value` line per key setting of the composed recipe; the reward settings as the reward
    reads them (from wherever the selected manager takes them)."""
    from deepmath_ext.reward.recipe import describe_settings, settings_in_use, settings_location

    rows = [(label, " / ".join(_display(cfg, key) for key in keys)) for label, keys in SUMMARY]
    reward = settings_in_use(cfg)
    used = (
        "not deepmath's" if reward is None else f"{describe_settings(reward)} (from {settings_location(cfg)})"
    )
    rows.insert(_REWARD_ROW, ("reward settings", used))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


_REWARD_ROW = next(i for i, (label, _) in enumerate(SUMMARY) if label == "reward manager") + 1


def _display(cfg: DictConfig, key: str) -> str:
    raw = raw_value(cfg, key)
    if isinstance(raw, str) and raw.startswith("${deepmath."):
        return raw  # the template's name, not the whole resolved template
    return str(resolved_value(cfg, key))


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


def describe_runtime_env(runtime_env: dict) -> str:
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
