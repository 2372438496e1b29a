"""Every packaged recipe composes over verl 0.9.1's config and passes the launcher's checks; the two
reference recipes carry the reference runs' settings (issue 5), mapped to 0.9.1 keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf
from recipes_support import RECIPE_TEMPLATES, RECIPE_TOKENIZERS, local_overrides

from deepmath_ext import launch
from deepmath_ext.templates import get_template


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Session-wide folder for tiny models and prepared data (the helpers build each once)."""
    launch.load_verl_plugins()
    return tmp_path_factory.getbasetemp() / "recipes-cache"


def _compose(recipe: str, overrides: list[str] | None = None):
    return launch.compose_recipe(launch.find_recipe(recipe), overrides or [])


def test_packaged_recipes_are_listed_without_the_shared_base() -> None:
    assert launch.list_recipes() == sorted(RECIPE_TOKENIZERS)


@pytest.mark.parametrize("recipe", sorted(RECIPE_TOKENIZERS))
def test_recipe_composes_and_validates(recipe: str, shared_dir: Path, cache_dir: Path) -> None:
    cfg = _compose(recipe, local_overrides(recipe, shared_dir, cache_dir))
    launch.validate_recipe(cfg)
    # The template resolver hands verl the registry's chat template, the one the data was prepared with.
    expected = get_template(RECIPE_TEMPLATES[recipe]).chat_template
    assert cfg.actor_rollout_ref.model.custom_chat_template == expected
    assert cfg.reward.reward_manager.name == "deepmath"
    assert cfg.reward.custom_reward_function.path is None  # the deepmath manager refuses one


def _values(cfg, keys: dict[str, object]) -> dict[str, object]:
    return {key: OmegaConf.select(cfg, key) for key in keys}


def test_zero_7b_has_the_reference_settings() -> None:
    cfg = _compose("deepmath-zero-7b")
    train_batch, gen_batch = 512, 1536  # the reference's train / generation batch sizes
    expected = {
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-7B",
        "algorithm.adv_estimator": "grpo",
        "data.train_batch_size": train_batch,
        "algorithm.filter_groups.enable": True,
        "algorithm.filter_groups.metric": "acc",
        "algorithm.filter_groups.max_inflight_gen_batches": gen_batch // train_batch,
        "trainer.v1.trainer_mode": "deepmath_sync",  # verl's sync trainer + per-step reward telemetry
        "data.max_prompt_length": 2048,
        "data.max_response_length": 10240,
        "actor_rollout_ref.actor.optim.lr": 1e-6,
        "actor_rollout_ref.actor.optim.lr_warmup_steps": 10,
        "actor_rollout_ref.actor.optim.weight_decay": 0.1,
        "actor_rollout_ref.actor.ppo_mini_batch_size": 32,
        "actor_rollout_ref.actor.use_dynamic_bsz": True,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 32768,
        "algorithm.use_kl_in_reward": False,
        "actor_rollout_ref.actor.use_kl_loss": False,
        "actor_rollout_ref.actor.clip_ratio_low": 0.2,
        "actor_rollout_ref.actor.clip_ratio_high": 0.28,
        "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.rollout.n": 16,
        "actor_rollout_ref.rollout.temperature": 1.0,
        "reward.reward_kwargs.overlong_buffer_cfg.enable": True,
        "reward.reward_kwargs.overlong_buffer_cfg.len": 2048,
        "reward.reward_kwargs.overlong_buffer_cfg.penalty_factor": 1.0,
        "reward.reward_kwargs.max_resp_len": 10240,
        "reward.reward_kwargs.correct_score": 1.0,
        "reward.reward_kwargs.wrong_score": -1.0,
        "reward.reward_kwargs.require_think": True,
        "trainer.nnodes": 8,
        "trainer.n_gpus_per_node": 8,
        "trainer.save_freq": 10,
        "trainer.total_training_steps": 500,
        "trainer.logger": ["console", "wandb"],
    }
    assert _values(cfg, expected) == expected
    assert cfg.actor_rollout_ref.model.custom_chat_template == get_template("orz").chat_template


def test_1_5b_has_the_reference_settings() -> None:
    cfg = _compose("deepmath-1.5b")
    train_batch, gen_batch = 128, 384
    expected = {
        "actor_rollout_ref.model.path": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
        "data.train_batch_size": train_batch,
        "algorithm.filter_groups.max_inflight_gen_batches": gen_batch // train_batch,
        "data.max_response_length": 24576,
        "reward.reward_kwargs.max_resp_len": 24576,
        "actor_rollout_ref.actor.use_kl_loss": True,
        "actor_rollout_ref.actor.kl_loss_coef": 0.001,
        "algorithm.use_kl_in_reward": False,
        "actor_rollout_ref.actor.clip_ratio_low": 0.2,
        "actor_rollout_ref.actor.clip_ratio_high": 0.27,
        "actor_rollout_ref.actor.ulysses_sequence_parallel_size": 2,
        "actor_rollout_ref.actor.fsdp_config.param_offload": True,
        "actor_rollout_ref.actor.fsdp_config.optimizer_offload": True,
        "actor_rollout_ref.ref.fsdp_config.param_offload": True,
        "actor_rollout_ref.rollout.temperature": 0.6,
        "reward.reward_kwargs.overlong_buffer_cfg.len": 4096,
        "trainer.nnodes": 8,
        "trainer.n_gpus_per_node": 8,
        "trainer.total_training_steps": 1800,
    }
    assert _values(cfg, expected) == expected
    r1 = get_template("r1-distill")
    assert r1.system_prompt is None and cfg.actor_rollout_ref.model.custom_chat_template == r1.chat_template
    # verl derives the reference's Ulysses size from the actor's: the reference policy shards the same way.
    assert cfg.actor_rollout_ref.ref.ulysses_sequence_parallel_size == 2


def test_smoke_recipe_is_one_gpu_two_steps() -> None:
    cfg = _compose("smoke-1gpu")
    assert (cfg.trainer.nnodes, cfg.trainer.n_gpus_per_node, cfg.trainer.total_training_steps) == (1, 1, 2)
    assert cfg.actor_rollout_ref.rollout.tensor_model_parallel_size == 1
    assert "wandb" not in cfg.trainer.logger


def test_a_users_recipe_file_extends_the_shared_base(tmp_path: Path) -> None:
    recipe = tmp_path / "my-run.yaml"
    recipe.write_text(
        "hydra:\n  searchpath: [pkg://verl.trainer.config, pkg://deepmath_ext.recipes]\n"
        "defaults: [ppo_trainer, _deepmath_base, _self_]\n"
        "data: {train_batch_size: 64}\n"
    )
    source = launch.find_recipe(str(recipe))
    cfg = launch.compose_recipe(source, ["trainer.nnodes=2"])
    assert source.config_path == str(tmp_path) and source.name == "my-run"
    assert (cfg.data.train_batch_size, cfg.trainer.nnodes, cfg.reward.reward_manager.name) == (
        64,
        2,
        "deepmath",
    )


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("actor_rollout_ref.actor.loss_agg_mode=token-meen", "loss_agg_mode"),
        ("+reward.reward_kwargs.require_thinking=true", "require_thinking"),
        ("reward.reward_manager.name=deepmaths", "deepmaths"),
        ("actor_rollout_ref.model.custom_chat_template=${deepmath.template:orzz}", "orzz"),
        ("reward.reward_kwargs.overlong_buffer_cfg.len=99999", "overlong_buffer_cfg.len"),
        ("trainer.v1.trainer_mode=deepmath_synch", "deepmath_synch"),
    ],
)
def test_bad_values_fail_validation_naming_the_culprit(
    override: str, named: str, shared_dir: Path, cache_dir: Path
) -> None:
    cfg = _compose("smoke-1gpu", [*local_overrides("smoke-1gpu", shared_dir, cache_dir), override])
    with pytest.raises(launch.LaunchError, match=named):
        launch.validate_recipe(cfg)


def test_data_prepared_with_another_template_is_rejected(shared_dir: Path, cache_dir: Path) -> None:
    # smoke-1gpu's tiny model, but the orz-prepared data of deepmath-zero-7b.
    smoke = local_overrides("smoke-1gpu", shared_dir, cache_dir)
    zero = local_overrides("deepmath-zero-7b", shared_dir, cache_dir)
    cfg = _compose("smoke-1gpu", [smoke[0], *zero[1:]])
    with pytest.raises(launch.LaunchError, match="prepared with template 'orz'"):
        launch.validate_recipe(cfg)
