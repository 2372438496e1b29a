"""Multi-node submission: the Ray job's runtime env carries the user's variables (never interface names
they did not set), ships the package with its plug-in hook when asked, and keeps secrets off command lines."""

from __future__ import annotations

import json
import shlex
import stat
from pathlib import Path

import pytest
from recipes_support import local_overrides

from deepmath_ext.cli import main
from deepmath_ext.launch import command


def test_runtime_env_passes_only_variables_that_are_set() -> None:
    env = command.job_runtime_env({"WANDB_API_KEY": "k", "PATH": "/bin", "NCCL_SOCKET_IFNAME": ""}, False)
    assert env == {"env_vars": {"WANDB_API_KEY": "k"}}


def test_shipping_the_package_adds_it_and_the_plugin_hook() -> None:
    env = command.job_runtime_env({"GLOO_SOCKET_IFNAME": "eth7"}, True)
    (module_dir,) = env["py_modules"]
    assert (Path(module_dir) / "plugin.py").is_file() and Path(module_dir).name == "deepmath_ext"
    assert env["env_vars"] == {
        "GLOO_SOCKET_IFNAME": "eth7",
        "VERL_USE_EXTERNAL_MODULES": "deepmath_ext.plugin",
    }


def test_runtime_env_file_is_private_and_readable_back() -> None:
    runtime_env = {"env_vars": {"WANDB_API_KEY": "secret"}}
    path = command.write_runtime_env(runtime_env)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text()) == runtime_env
    finally:
        path.unlink()


def test_dry_run_submit_prints_the_ray_job_command_without_secrets(
    data_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    overrides = local_overrides("smoke-1gpu", data_root, tmp_path_factory.getbasetemp() / "recipes-cache")
    monkeypatch.setenv("WANDB_API_KEY", "very-secret-key")
    args = ["train", "--dry-run", "--submit", "http://head:8265", "--ship-package", "smoke-1gpu", *overrides]
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert "very-secret-key" not in out + err
    assert "WANDB_API_KEY" in out and "VERL_USE_EXTERNAL_MODULES" in out
    argv = shlex.split(out.split("command:\n", 1)[1].strip())
    separator = argv.index("--")
    assert argv[:separator] == [
        "ray",
        "job",
        "submit",
        "--address=http://head:8265",
        "--runtime-env=RUNTIME_ENV_FILE",
    ]
    assert argv[separator + 1 :] == [*command.CLUSTER_ENTRYPOINT, "smoke-1gpu", *overrides]
