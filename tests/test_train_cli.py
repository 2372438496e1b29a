"""`deepmath train`: one clear error line per mistake before Ray starts, a pure-YAML --print-config,
and a --dry-run that validates on this GPU-less machine and prints the exact verl command."""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from deepmath_ext import launch
from deepmath_ext.cli import main
from deepmath_ext.launch.recipe_keys import check_values, number_kinds

pytestmark = pytest.mark.usefixtures("local_launch")
ERROR_PREFIX = "deepmath train: error: "


def _error_line(capfd: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """(the single error line, stdout); fails if there is not exactly one."""
    out, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(lines) == 1, err
    return lines[0][len(ERROR_PREFIX) :], out


def test_unknown_recipe_names_the_known_ones(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dry-run", "deepmath-zero7b"]) == 2
    error, out = _error_line(capfd)
    assert error.startswith("unknown recipe 'deepmath-zero7b' (did you mean 'deepmath-zero-7b'?)")
    assert all(name in error for name in launch.list_recipes())
    assert out == ""


def test_override_typo_names_the_key_and_the_nearest_one(
    smoke: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke, "data.trian_files=/x.parquet"]) == 2
    error, _ = _error_line(capfd)
    assert error.startswith("override 'data.trian_files=/x.parquet': 'data.trian_files' is not a key")
    assert "did you mean data.train_files" in error


def test_missing_data_file_is_named(
    smoke: list[str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "val.parquet"
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke, f"data.val_files={missing}"]) == 2
    error, _ = _error_line(capfd)
    assert error == f"data.val_files: file not found: {missing} (create it with `deepmath prepare`)"


def test_a_data_file_without_rows_is_refused(
    smoke: list[str], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import pyarrow.parquet as pq

    train = next(o.split("=", 1)[1] for o in smoke if o.startswith("data.train_files="))
    empty = tmp_path / "empty.parquet"
    pq.write_table(pq.read_table(train).slice(0, 0), empty)  # same schema and template, no rows
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke, f"data.train_files={empty}"]) == 2
    error, _ = _error_line(capfd)
    assert error == f"data.train_files: {empty} has no rows"


def test_dry_run_validates_without_gpus_and_prints_the_command(
    smoke: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke]) == 0
    out, _ = capfd.readouterr()
    assert "recipe smoke-1gpu" in out and "${deepmath.template:qwen-boxed}" in out
    argv = shlex.split(out.split("command:\n", 1)[1].strip())
    assert argv[1:5] == [
        "-m",
        "verl.trainer.main_ppo",
        "--config-path=pkg://deepmath_ext.recipes",
        "--config-name=smoke-1gpu",
    ]
    assert argv[5:] == smoke


def test_launch_without_gpu_stops_before_ray(smoke: list[str], capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "smoke-1gpu", *smoke]) == 2
    error, out = _error_line(capfd)
    assert error.startswith("no GPU: torch sees no CUDA device and the recipe needs 1 per node")
    assert "is valid" in out  # validated first...
    assert "ray init kwargs" not in out  # ...and verl's trainer (which starts Ray) never ran


def test_print_config_writes_only_the_resolved_yaml(
    smoke: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--print-config", "smoke-1gpu", *smoke, "trainer.total_training_steps=3"]) == 0
    out, _ = capfd.readouterr()
    printed = yaml.safe_load(out)
    expected = launch.compose_recipe(
        launch.find_recipe("smoke-1gpu"), [*smoke, "trainer.total_training_steps=3"]
    )
    assert printed == OmegaConf.to_container(expected, resolve=True)
    assert printed["trainer"]["total_training_steps"] == 3


def test_list_prints_one_line_per_recipe(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--list"]) == 0
    out = capfd.readouterr().out.splitlines()
    lines = [line for line in out if not line.startswith(" ")]
    assert [line.split()[0] for line in lines] == launch.list_recipes()
    # each reference run's algorithm changes on the line below it; its faithful sibling keeps fewer
    changes = {name.split()[0]: change for name, change in itertools.pairwise(out) if change.startswith(" ")}
    assert "strict grading" in changes["deepmath-1.5b"] and "grad-norm skip" in changes["deepmath-1.5b"]
    assert "strict grading" not in changes["deepmath-1.5b-faithful"]
    assert "dual-clip" not in changes["deepmath-1.5b-faithful"] and "smoke-1gpu" not in changes
    omn = next(line for line in lines if line.startswith("deepmath-omn-1.5b "))
    assert omn.split(None, 1)[1] == (
        "nvidia/OpenMath-Nemotron-1.5B, 12x8 GPUs, template omn, reward strict (</think> required)"
    )


# -- recipe files: keys and values checked against verl's own config -----------------------------------

RECIPE_HEAD = (
    "hydra:\n  searchpath: [pkg://verl.trainer.config, pkg://deepmath_ext.recipes]\n"
    "defaults: [ppo_trainer, _deepmath_base, _self_]\n"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # The bug this pins: verl's default of 1024 silently replaced the intended 8.
        (
            "data: {train_bach_size: 8}\n",
            "'data.train_bach_size' is not a key of verl's config; did you mean data",
        ),
        ("new_keys: [mine.section]\nmine: {section: 1}\n", "new_keys entries are written +KEY"),
        ("data: {train_batch_size: 8\n", "not valid YAML"),
        ("data: !!python/object/apply:os.system [echo hi]\n", "not valid YAML"),
    ],
)
def test_a_recipe_file_with_a_misspelt_key_or_bad_yaml_is_refused(tmp_path, capfd, body, message) -> None:
    recipe = tmp_path / "my-run.yaml"
    recipe.write_text(RECIPE_HEAD + body)
    assert main(["train", "--dry-run", str(recipe)]) == 2
    error, _ = _error_line(capfd)
    assert message in error and str(recipe) in error


def test_keys_of_the_verl_config_a_recipe_builds_on_are_accepted(tmp_path) -> None:
    from deepmath_ext.launch.recipe_keys import check_recipe_keys, packaged_recipes_dir

    recipe = tmp_path / "megatron.yaml"
    recipe.write_text(
        "defaults: [ppo_megatron_trainer, _self_]\n"
        "actor_rollout_ref: {actor: {megatron: {context_parallel_size: 2}}}\n"
    )
    check_recipe_keys(recipe, packaged_recipes_dir())  # a megatron key: not in ppo_trainer, but in its base
    recipe.write_text(recipe.read_text().replace("context_parallel_size", "context_paralel_size"))
    with pytest.raises(launch.LaunchError, match="context_paralel_size' is not a key of verl's config"):
        check_recipe_keys(recipe, packaged_recipes_dir())


def test_a_key_declared_new_with_plus_is_accepted(tmp_path) -> None:
    recipe = tmp_path / "my-run.yaml"
    recipe.write_text(
        RECIPE_HEAD + "new_keys: [+mine]\nmine: {section: {a: 1}}\ndata: {train_batch_size: 8}\n"
    )
    cfg = launch.compose_recipe(launch.find_recipe(str(recipe)), [])
    assert (cfg.mine.section.a, cfg.data.train_batch_size) == (1, 8)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.train_batch_size=abc", "data.train_batch_size='abc': must be a number"),
        ("data.train_batch_size=-8", "data.train_batch_size=-8: must be >= 0"),
        (
            "actor_rollout_ref.actor.optim.lr=nan",
            "actor_rollout_ref.actor.optim.lr=nan: must be a finite number",
        ),
        ("trainer.val_before_train=maybe", "trainer.val_before_train='maybe': must be true or false"),
        # Integer keys: by verl's integer default (no dataclass checks trainer or data) or a dataclass's `int`.
        ("trainer.nnodes=1.5", "trainer.nnodes=1.5: must be an integer"),
        ("trainer.n_gpus_per_node=1.5", "trainer.n_gpus_per_node=1.5: must be an integer"),
        ("data.train_batch_size=8.5", "data.train_batch_size=8.5: must be an integer"),
        (
            "actor_rollout_ref.actor.ppo_mini_batch_size=4.5",
            "actor_rollout_ref.actor.ppo_mini_batch_size=4.5: must be",
        ),
        (
            "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1.5",
            "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1.5: must",
        ),
        ("trainer.total_training_steps=2.5", "trainer.total_training_steps=2.5: must be an integer"),
        # Copied by interpolation into other keys: the error names the key that was set.
        ("actor_rollout_ref.rollout.n=4.5", "actor_rollout_ref.rollout.n=4.5: must be an integer"),
        ("data.max_response_length=64.5", "data.max_response_length=64.5: must be an integer"),
    ],
)
def test_values_are_type_and_range_checked_before_launch(capfd, override, message) -> None:
    assert main(["train", "--dry-run", "smoke-1gpu", override]) == 2
    error, _ = _error_line(capfd)
    assert error.startswith(message)


@pytest.mark.parametrize(
    "override", ["actor_rollout_ref.actor.entropy_coeff=0.01", "actor_rollout_ref.rollout.top_p=0.9"]
)
def test_a_float_field_whose_default_verl_writes_as_an_integer_takes_a_float(override) -> None:
    cfg = launch.compose_recipe(launch.find_recipe("smoke-1gpu"), [override])
    check_values(cfg)  # verl's YAML writes 0 and 1; its dataclasses annotate them float
    assert number_kinds()[override.partition("=")[0]] is float
