"""The exact command a recipe runs as (verl's trainer) and a short summary of the settings that matter."""

from __future__ import annotations

import shlex
import sys

from omegaconf import DictConfig

from deepmath_ext.launch.recipe_keys import raw_value, resolved_value
from deepmath_ext.launch.recipes import RecipeSource

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
