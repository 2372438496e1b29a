"""The multi-node shell scripts: valid bash, Ray commands built from environment variables only, and Ray's token
authentication decided the same way on every node (Ray's own token lookup, through `ray get-auth-token`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ray_cluster import CLUSTER_DIR as SCRIPTS
from ray_cluster import clean_environ

# Interface-name shapes that must never be written into a script (they belong to one cluster).
INTERFACE_NAME = re.compile(r"\b(eth\d+|ib\d+|enp\w+|ens\d+|bond\d+|mlx5_\d+)\b")


def _run(
    script: str, env: dict[str, str], *args: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # submit.sh runs `deepmath train` with this interpreter; HOME without ~/.ray/auth_token unless a test adds one.
    base = clean_environ(DEEPMATH_PYTHON=sys.executable, HOME=str(home or Path("/nonexistent-home")))
    return subprocess.run(
        [str(SCRIPTS / script), *args], env={**base, **env}, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("script", ["ray_start.sh", "submit.sh", "slurm_train.sbatch", "ray_auth.sh"])
def test_script_is_valid_bash_without_hard_coded_interfaces(script: str) -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPTS / script)], check=False).returncode == 0
    assert os.access(SCRIPTS / script, os.X_OK) or script == "ray_auth.sh"  # sourced, not run
    assert INTERFACE_NAME.search((SCRIPTS / script).read_text()) is None


def test_head_and_worker_commands_come_from_the_environment() -> None:
    head = _run("ray_start.sh", {"DRY_RUN": "1", "RAY_DASHBOARD_PORT": "9000"})
    assert head.stdout.split() == [
        "ray", "start", "--head", "--port=6379", "--dashboard-host=0.0.0.0", "--dashboard-port=9000"
    ]  # fmt: skip
    env = {"DRY_RUN": "1", "RAY_HEAD_ADDRESS": "10.1.2.3", "RAY_NUM_GPUS": "4", "RAY_BLOCK": "1"}
    worker = _run("ray_start.sh", env, "--num-cpus=8")
    assert worker.stdout.split() == [
        "ray", "start", "--address=10.1.2.3:6379", "--num-gpus=4", "--block", "--num-cpus=8"
    ]  # fmt: skip


def test_token_auth_is_on_wherever_ray_finds_a_token(tmp_path: Path) -> None:
    off = _run("ray_start.sh", {"DRY_RUN": "1", "RAY_HEAD_ADDRESS": "10.1.2.3"})
    assert off.returncode == 0 and "token authentication off" in off.stderr
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("t0k3n")
    found = _run("ray_start.sh", {"DRY_RUN": "1", "RAY_HEAD_ADDRESS": "10.1.2.3"}, home=tmp_path)
    assert found.returncode == 0 and "token authentication on (RAY_AUTH_MODE=token)" in found.stderr
    disabled = _run("ray_start.sh", {"DRY_RUN": "1", "RAY_AUTH_MODE": "disabled"}, home=tmp_path)
    assert "token authentication off (RAY_AUTH_MODE=disabled" in disabled.stderr


def test_a_worker_asked_for_token_auth_without_a_token_names_the_fix() -> None:
    worker = _run("ray_start.sh", {"DRY_RUN": "1", "RAY_HEAD_ADDRESS": "10.1.2.3", "RAY_AUTH_MODE": "token"})
    assert worker.returncode == 2 and worker.stdout == ""
    assert "no Ray token on this node: copy the head's ~/.ray/auth_token here" in worker.stderr
    head = _run("ray_start.sh", {"DRY_RUN": "1", "RAY_AUTH_MODE": "token"})
    assert head.returncode == 0 and "would generate ~/.ray/auth_token" in head.stderr


def test_interface_variables_pass_through_only_when_set() -> None:
    quiet = _run("ray_start.sh", {"DRY_RUN": "1"})
    assert "IFNAME" not in quiet.stderr
    told = _run("ray_start.sh", {"DRY_RUN": "1", "NCCL_SOCKET_IFNAME": "my-fabric"})
    assert "passing NCCL_SOCKET_IFNAME=my-fabric" in told.stderr


def test_submit_needs_the_head_address_and_reaches_deepmath_train() -> None:
    missing = _run("submit.sh", {}, "smoke-1gpu")
    assert missing.returncode != 0 and "set RAY_HEAD_ADDRESS" in missing.stderr
    wired = _run("submit.sh", {"RAY_HEAD_ADDRESS": "10.1.2.3", "DRY_RUN": "1"}, "no-such-recipe")
    assert wired.returncode == 2
    assert "deepmath train: error: unknown recipe 'no-such-recipe'" in wired.stderr
