"""A training job on a running Ray cluster: token authentication, preflight, submission, and its end.

Ray 2.60's token authentication (read from its source: `ray/_private/authentication/`): a node, the job API
and `ray job submit` use a token only with `RAY_AUTH_MODE=token` in their environment, except that
`ray start --head` and a local `ray.init()` turn it on by themselves when they find a token. The token is found,
in this order, in `RAY_AUTH_TOKEN`, in the file named by `RAY_AUTH_TOKEN_PATH`, or in `~/.ray/auth_token`. So a
submitter that holds the head's token but leaves `RAY_AUTH_MODE` unset is refused ("Missing authentication
token"): `use_ray_token` applies the head's rule here too (Ray's own function, so its lookup order).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from deepmath_ext import extensions
from deepmath_ext.endpoint import is_hub_id
from deepmath_ext.errors import LaunchError, Terminated, one_line
from deepmath_ext.launch import probe
from deepmath_ext.launch.runtime_env import MODULES_VAR

if TYPE_CHECKING:  # the reward stack loads only where references are found
    from deepmath_ext.reward.recipe import Reference

# The job's entry point runs `deepmath train` on the cluster (it validates again, then starts verl's trainer).
CLUSTER_ENTRYPOINT = ("python", "-m", "deepmath_ext.cli", "train")
PROBE_ENTRYPOINT = ("python", "-m", probe.__name__)
PROBE_TIMEOUT_S = (
    300.0  # a first job on a node installs its runtime env (uploads py_modules) before it starts
)
STOP_TIMEOUT_S = (
    60.0  # Ray gives the job's processes 3 s after SIGTERM (RAY_JOB_STOP_WAIT_TIME_S), then kills
)
POLL_S = 1.0
AUTH_CHECK_JOB = "deepmath-auth-check"  # never submitted: asking for it only tests the token
TOKEN_FIX = (
    "copy the head node's token (`ray get-auth-token` there) to ~/.ray/auth_token on this machine, or set "
    "RAY_AUTH_TOKEN_PATH to a file holding it"
)
MODEL_KEY = "actor_rollout_ref.model.path"  # a local folder, or a hub id that each node downloads
# Checkpoint and data keys the preflight checks: (config key, must be written) -- read-only otherwise.
PATH_KEYS: tuple[tuple[str, bool], ...] = (
    ("data.train_files", False),
    ("data.val_files", False),
    (MODEL_KEY, False),
    ("trainer.default_local_dir", True),
)


@dataclass(frozen=True)
class Job:
    """A submitted job: its cluster address and id, and the commands that follow and stop it."""

    address: str
    job_id: str

    def follow_hint(self) -> str:
        """How to follow and stop the job from any shell that holds the cluster's token."""
        where = f"--address={shlex.quote(self.address)} {self.job_id}"
        return f"  follow: ray job logs --follow {where}\n  stop:   ray job stop {where}"


def use_ray_token() -> str:
    """Turn on Ray's token authentication in this process if Ray finds a token; say which mode is in use."""
    from ray._private.authentication.authentication_token_setup import (
        AUTH_MODE_ENV_VAR,
        maybe_enable_token_auth_if_token_available,
    )
    from ray.exceptions import AuthenticationError

    try:
        on = maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    except AuthenticationError as error:  # e.g. RAY_AUTH_TOKEN_PATH names a missing or empty file
        raise LaunchError(f"Ray token: {one_line(error).split('. Note:')[0]}") from error
    return (
        "token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)"
        if on
        else f"off ({AUTH_MODE_ENV_VAR}=token and a token turn it on)"
    )


def connect(address: str) -> Any:
    """A job client for the cluster's dashboard address, checked with one authenticated request (a job id that
    does not exist: Ray answers "not found" to a good token, 401 or 403 otherwise); refusals are one line."""
    from ray.job_submission import JobSubmissionClient

    with _cluster_errors(address):
        client = JobSubmissionClient(address)
        with contextlib.suppress(RuntimeError):  # the "does not exist" answer
            client.get_job_info(AUTH_CHECK_JOB)
    return client


def relative_paths(cfg: DictConfig, recipe_file: str | None) -> list[str]:
    """Problems found without the cluster: a local path that is relative resolves elsewhere on the nodes."""
    problems = [
        f"{key}: {path} is relative, so it resolves against the job's folder on the head node: give an absolute "
        "path on storage every node mounts"
        for key, path, _ in _paths(cfg)
        if not Path(path).is_absolute()
    ]
    if recipe_file and not Path(recipe_file).is_absolute():
        problems.append(f"recipe file {recipe_file} is relative: give its absolute path on shared storage")
    return problems


def probe_spec(cfg: DictConfig, runtime_env: dict, plugins: list[Reference], recipe_file: str | None) -> dict:
    """What every node must read, write and import for this job."""
    paths = [(key, path, write) for key, path, write in _paths(cfg) if Path(path).is_absolute()]
    read = [[key, path] for key, path, write in paths if not write]
    if recipe_file:
        read.append(["recipe file", recipe_file])
    modules = [m for m in runtime_env.get("env_vars", {}).get(MODULES_VAR, "").split(",") if m]
    return {
        "read": read,
        "write": [[key, path] for key, path, write in paths if write],
        "imports": [[MODULES_VAR, module] for module in modules]
        + [[f"{p.key}: {p.reference}", p.module] for p in plugins],
        "entry_points": [[p.key, extensions.GROUP, p.reference] for p in plugins if p.entry_point],
    }


def run_probe(client: Any, spec: dict, runtime_env: dict, timeout_s: float = PROBE_TIMEOUT_S) -> dict:
    """Run the probe job in the job's runtime env; its report, or a LaunchError with the probe's last line."""
    entrypoint = shlex.join([*PROBE_ENTRYPOINT, json.dumps(spec)])
    job_id = _new_id("deepmath-preflight")
    with _cluster_errors(client.get_address()):
        client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env, submission_id=job_id)
        status = _wait_terminal(client, job_id, timeout_s)
        logs = client.get_job_logs(job_id)
    for line in logs.splitlines():
        if line.startswith(probe.MARKER + " "):
            return json.loads(line.removeprefix(probe.MARKER + " "))
    # Without logs (e.g. the runtime env failed to install) Ray's own message says why.
    last = next((line for line in reversed(logs.splitlines()) if line.strip()), None)
    if last is None:
        with _cluster_errors(client.get_address()):
            last = f"{status}: {client.get_job_info(job_id).message}"
    fix = (
        "install deepmath on every node (pip install deepmath) or pass --ship-package"
        if f"No module named '{probe.__name__.split('.')[0]}'" in logs
        else "see `ray job logs " + job_id + "`"
    )
    raise LaunchError(f"preflight: the probe job {job_id} failed on the cluster ({last.strip()}): {fix}")


def cluster_problems(cfg: DictConfig, report: dict) -> list[str]:
    """The probe's findings: too few GPUs for trainer.nnodes x n_gpus_per_node, then each node's problems."""
    nnodes, per_node = int(cfg.trainer.nnodes), int(cfg.trainer.n_gpus_per_node)
    gpus = sorted((int(node["resources"].get("GPU", 0)) for node in report["nodes"]), reverse=True)
    problems = []
    if sum(count >= per_node for count in gpus) < nnodes:
        problems.append(
            f"trainer.nnodes={nnodes} x trainer.n_gpus_per_node={per_node} needs {nnodes} node(s) with "
            f"{per_node} GPU(s) each, but the cluster's {len(gpus)} node(s) offer {gpus or 'none'} GPUs: start "
            "more nodes (cluster/ray_start.sh) or lower trainer.nnodes / trainer.n_gpus_per_node"
        )
    return problems + probe.node_problems(report)


def submit(client: Any, entrypoint: list[str], runtime_env: dict, name: str) -> Job:
    """Submit the job under a fresh id (known before it starts, so an interrupt can always stop it)."""
    job = Job(client.get_address(), _new_id(f"deepmath-{name}"))
    with _cluster_errors(job.address):
        client.submit_job(
            entrypoint=shlex.join(entrypoint), runtime_env=runtime_env, submission_id=job.job_id
        )
    return job


def follow(client: Any, job: Job, out: Callable[[str], object] = sys.stdout.write) -> str:
    """Print the job's logs until it ends; Ctrl-C or SIGTERM stops the job, then is raised again."""
    from ray._common.utils import get_or_create_event_loop

    async def tail() -> None:
        async for lines in client.tail_job_logs(job.job_id):
            out(lines)
            sys.stdout.flush()

    try:
        get_or_create_event_loop().run_until_complete(tail())
        return str(client.get_job_status(job.job_id))
    except (KeyboardInterrupt, Terminated):
        status = stop(client, job)
        print(f"\nstopped Ray job {job.job_id} ({status})\n{job.follow_hint()}", file=sys.stderr, flush=True)
        raise


def stop(client: Any, job: Job, timeout_s: float = STOP_TIMEOUT_S) -> str:
    """`ray job stop`: ask Ray to stop the job and wait until it has (a second Ctrl-C stops waiting)."""
    with contextlib.suppress(KeyboardInterrupt, Terminated):
        client.stop_job(job.job_id)
        return _wait_terminal(client, job.job_id, timeout_s)
    return str(client.get_job_status(job.job_id))


def _wait_terminal(client: Any, job_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while (status := client.get_job_status(job_id)).is_terminal() is False:
        if time.monotonic() > deadline:
            raise LaunchError(f"Ray job {job_id} still {status} after {timeout_s:.0f} s")
        time.sleep(POLL_S)
    return str(status)


def _paths(cfg: DictConfig) -> Iterator[tuple[str, str, bool]]:
    """(key, path, written) for each local path the job uses (URIs and hub model ids are not files here)."""
    for key, written in PATH_KEYS:
        value = OmegaConf.select(cfg, key)
        for path in value if OmegaConf.is_list(value) or isinstance(value, list) else [value]:
            path = str(path)
            if path and path != "None" and "://" not in path and not (key == MODEL_KEY and is_hub_id(path)):
                yield key, path, written


def _new_id(prefix: str) -> str:
    return f"{prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@contextlib.contextmanager
def _cluster_errors(address: str) -> Iterator[None]:
    """Ray's refusals as one line naming the fix."""
    from ray.exceptions import AuthenticationError

    try:
        yield
    except AuthenticationError as error:
        raise LaunchError(
            f"the Ray cluster at {address} refused this machine's token ({_first(error)}): {TOKEN_FIX}"
        ) from error
    except ConnectionError as error:
        raise LaunchError(
            f"no Ray cluster answers at {address} ({_first(error)}): start one with cluster/ray_start.sh, or "
            "check the dashboard address (http://HEAD:8265)"
        ) from error


def _first(error: BaseException) -> str:
    return one_line(error).split(". Note:")[0].split(" Token authentication is")[0][:200]
