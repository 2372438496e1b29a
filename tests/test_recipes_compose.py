"""Every packaged recipe composes over verl 0.9.1's config, passes the launcher's checks (verl's own among
them) and prints its config on CPU; tests/test_recipes_reference.py checks the reference settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from recipes_support import RECIPE_TEMPLATES, RECIPE_TOKENIZERS, local_overrides

from deepmath_ext import launch
from deepmath_ext.launch.reference import FAITHFUL_SUFFIX, load_reference
from deepmath_ext.reward.recipe import uses_deepmath_manager
from deepmath_ext.templates import get_template

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Session-wide folder for tiny models and prepared data (the helpers build each once)."""
    launch.load_verl_plugins()
    return tmp_path_factory.getbasetemp() / "recipes-cache"


def _compose(recipe: str, overrides: list[str] | None = None):
    return launch.compose_recipe(launch.find_recipe(recipe), overrides or [])


def test_packaged_recipes_are_listed_without_the_shared_base() -> None:
    faithful = {f"{run}{FAITHFUL_SUFFIX}" for run in load_reference().runs}
    assert launch.list_recipes() == sorted([*RECIPE_TOKENIZERS, *faithful])


@pytest.mark.parametrize("run", load_reference().runs)
def test_faithful_recipe_validates_with_the_forks_loss(run: str, data_root: Path, cache_dir: Path) -> None:
    """verl's own checks pass on the faithful sibling, and the plug-in's policy loss is what it names."""
    from verl.trainer.ppo.core_algos import get_policy_loss_fn

    source = launch.find_recipe(run + FAITHFUL_SUFFIX)
    cfg = launch.compose_recipe(source, local_overrides(run, data_root, cache_dir))
    launch.validate_recipe(cfg)
    assert (
        get_policy_loss_fn(cfg.actor_rollout_ref.actor.policy_loss.loss_mode).__name__ == "fork_policy_loss"
    )
    argv = launch.launch_command(source, ["trainer.nnodes=1"])
    assert argv[4:6] == [f"--config-name={run}", *source.overrides[:1]] and argv[-1] == "trainer.nnodes=1"


@pytest.mark.parametrize("recipe", sorted(RECIPE_TOKENIZERS))
def test_recipe_composes_and_validates(recipe: str, data_root: Path, cache_dir: Path) -> None:
    cfg = _compose(recipe, local_overrides(recipe, data_root, cache_dir))
    launch.validate_recipe(cfg)
    # The template resolver hands verl the registry's chat template, the one the data was prepared with.
    expected = get_template(RECIPE_TEMPLATES[recipe]).chat_template
    assert cfg.actor_rollout_ref.model.custom_chat_template == expected
    assert uses_deepmath_manager(cfg)  # selected by module path: no plug-in registration
    assert cfg.reward.custom_reward_function.path is None  # the deepmath manager refuses one


@pytest.mark.parametrize("recipe", sorted(RECIPE_TOKENIZERS))
def test_recipe_prints_its_resolved_config(
    recipe: str, data_root: Path, cache_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from deepmath_ext.cli import main

    overrides = local_overrides(recipe, data_root, cache_dir)
    assert main(["train", "--print-config", recipe, *overrides]) == 0
    printed = yaml.safe_load(capfd.readouterr().out)
    expected = OmegaConf.to_container(_compose(recipe, overrides), resolve=True)
    assert printed == expected and printed["trainer"]["experiment_name"] == recipe


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
    assert (cfg.data.train_batch_size, cfg.trainer.nnodes, uses_deepmath_manager(cfg)) == (64, 2, True)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("actor_rollout_ref.actor.loss_agg_mode=token-meen", "loss_agg_mode"),
        ("+reward.reward_kwargs.require_thinking=true", "require_thinking"),
        ("reward.reward_manager.name=deepmaths", "deepmaths"),
        ("actor_rollout_ref.model.custom_chat_template=${deepmath.template:orzz}", "orzz"),
        ("reward.reward_kwargs.overlong_buffer_cfg.len=99999", "overlong_buffer.len"),
        ("trainer.v1.trainer_mode=deepmath_synch", "deepmath_synch"),
        ("+reward.reward_kwargs.policy=referense", "unknown grading policy 'referense'"),
    ],
)
def test_bad_values_fail_validation_naming_the_culprit(
    override: str, named: str, data_root: Path, cache_dir: Path
) -> None:
    cfg = _compose("smoke-1gpu", [*local_overrides("smoke-1gpu", data_root, cache_dir), override])
    with pytest.raises(launch.LaunchError, match=named):
        launch.validate_recipe(cfg)


def test_data_prepared_with_another_template_is_rejected(data_root: Path, cache_dir: Path) -> None:
    # smoke-1gpu's tiny model, but the orz-prepared data of deepmath-zero-7b.
    smoke = local_overrides("smoke-1gpu", data_root, cache_dir)
    zero = local_overrides("deepmath-zero-7b", data_root, cache_dir)
    cfg = _compose("smoke-1gpu", [smoke[0], *zero[1:]])
    with pytest.raises(launch.LaunchError, match="prepared with template 'orz'"):
        launch.validate_recipe(cfg)
