"""`deepmath train`: one clear error line per mistake before Ray starts, a pure-YAML --print-config,
and a --dry-run that validates on this GPU-less machine and prints the exact verl command."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from recipes_support import local_overrides

from deepmath_ext import launch
from deepmath_ext.cli import main

ERROR_PREFIX = "deepmath train: error: "


@pytest.fixture(scope="module")
def smoke(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Overrides that point smoke-1gpu at a tiny local model and sample data prepared for it."""
    return local_overrides("smoke-1gpu", data_root, tmp_path_factory.getbasetemp() / "recipes-cache")


@pytest.fixture(autouse=True)
def _local_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    # A launch goes to a Ray cluster when RAY_ADDRESS is set; these tests are about this machine.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


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
    lines = capfd.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == launch.list_recipes()
    omn = next(line for line in lines if line.startswith("deepmath-omn-1.5b "))
    assert omn.split(None, 1)[1] == (
        "nvidia/OpenMath-Nemotron-1.5B, 12x8 GPUs, template omn, reward strict (</think> required)"
    )
