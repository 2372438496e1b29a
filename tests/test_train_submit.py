"""`deepmath train --submit`: the job's one runtime env, Ray's token, the preflight probe and the job's end.

The runtime env is built from real pieces (a real distribution with a `deepmath.rewards` entry point on disk);
the cluster tests start a real Ray head with `cluster/ray_start.sh` (token authentication on, loopback only).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from ray_cluster import LocalCluster
from recipes_support import local_overrides

from deepmath_ext import extensions
from deepmath_ext.cli import main
from deepmath_ext.errors import LaunchError
from deepmath_ext.launch import cluster, probe, runtime_env
from deepmath_ext.launch.runtime_env import MODULES_VAR, Piece
from deepmath_ext.reward.recipe import Reference, manager_overrides, third_party_references

# --- the runtime env ------------------------------------------------------------------------------------


def _plugin_dist(root: Path, name: str = "my_terms") -> Path:
    """A real installed-looking distribution: package `name` and a dist-info whose entry point names a term."""
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("def length_penalty(**kwargs):\n    return 0.0\n")
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[deepmath.rewards]\nshort_answers = {name}:length_penalty\n")
    (info / "RECORD").write_text(
        f"{name}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/entry_points.txt,,\n"
    )
    return root


def test_user_variables_pass_only_when_set_and_env_adds_more() -> None:
    environ = {"WANDB_API_KEY": "k", "PATH": "/bin", "NCCL_SOCKET_IFNAME": "", "MY_FLAG": "7"}
    piece = runtime_env.user_piece(environ, ["MY_FLAG", "OTHER=x"])
    assert piece.env_vars == {"WANDB_API_KEY": "k", "MY_FLAG": "7", "OTHER": "x"}
    with pytest.raises(LaunchError, match="--env NOT_SET: not set in this shell"):
        runtime_env.user_piece(environ, ["NOT_SET"])


def test_shipping_the_package_adds_to_the_users_modules_rather_than_replacing_them() -> None:
    user = runtime_env.user_piece({MODULES_VAR: "my_pkg.hooks", "GLOO_SOCKET_IFNAME": "x7"})
    env = runtime_env.merge([user, runtime_env.package_piece()])
    (module_dir,) = env["py_modules"]
    assert (Path(module_dir) / "plugin.py").is_file() and Path(module_dir).name == "deepmath_ext"
    assert env["env_vars"] == {"GLOO_SOCKET_IFNAME": "x7", MODULES_VAR: "my_pkg.hooks,deepmath_ext.plugin"}


def test_two_pieces_that_disagree_on_a_variable_are_an_error() -> None:
    with pytest.raises(LaunchError, match="OMP_NUM_THREADS is set both by your variables and by smoke"):
        runtime_env.merge(
            [Piece("your variables", {"OMP_NUM_THREADS": "4"}), Piece("smoke", {"OMP_NUM_THREADS": "2"})]
        )


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`_plugin_dist` importable in this process, its entry point visible, and a one-off module with a policy."""
    site = _plugin_dist(tmp_path / "site")
    (site / "one_off.py").write_text(
        "from deepmath_ext.verify.policies import POLICIES\n"
        "def score(**kwargs):\n    return 1.0\n"
        "lenient = POLICIES['strict']\n"
    )
    monkeypatch.syspath_prepend(str(site))
    # A fresh cache of the group, so the names it holds include this distribution's.
    monkeypatch.setattr(extensions, "_entry_points", cache(extensions._entry_points.__wrapped__))
    return site.resolve()


def test_recipe_plugins_ship_their_modules_and_entry_point_metadata(plugin_site: Path) -> None:
    reward = {
        "reward_manager": OmegaConf.from_dotlist(manager_overrides()).reward.reward_manager,
        "reward_kwargs": {
            "terms": {"accuracy": 1.0, "short_answers": 0.1, "pkg://one_off:score": 0.5},
            "policy": "pkg://one_off:lenient",
        },
        "custom_reward_function": {"path": "pkg://one_off", "name": "score"},
    }
    plugins = third_party_references(OmegaConf.create({"reward": reward}))
    assert [(p.key, p.reference, p.module, p.entry_point) for p in plugins] == [
        ("reward.reward_kwargs.terms", "short_answers", "my_terms", True),
        ("reward.reward_kwargs.terms", "pkg://one_off:score", "one_off", False),
        ("reward.reward_kwargs.policy", "pkg://one_off:lenient", "one_off", False),
        ("reward.custom_reward_function.path", "pkg://one_off", "one_off", False),
    ]  # `accuracy` is built in: nothing to ship
    env = runtime_env.merge([runtime_env.plugins_piece(plugins)])
    shipped = ["my_terms", "my_terms-0.1.dist-info", "one_off.py"]
    assert env == {"py_modules": [str(plugin_site / name) for name in shipped]}


def test_an_entry_point_without_shippable_metadata_names_its_key(plugin_site: Path) -> None:
    record = plugin_site / "my_terms-0.1.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("entry_points.txt", "other.txt"))
    plugin = Reference("reward.reward_kwargs.terms", "short_answers", "my_terms")
    with pytest.raises(
        LaunchError, match=r"terms: entry point 'short_answers' \(my_terms\): no \.dist-info/"
    ):
        runtime_env.plugins_piece([plugin])


def test_a_plugin_that_does_not_import_here_names_its_key() -> None:
    plugin = Reference("reward.reward_kwargs.terms", "pkg://no_such_module_x:f", "no_such_module_x")
    with pytest.raises(LaunchError, match=r"terms: pkg://no_such_module_x:f: module no_such_module_x is not"):
        runtime_env.plugins_piece([plugin])


def test_dry_run_submit_prints_the_runtime_env_and_entrypoint_without_secrets(
    data_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    overrides = local_overrides("smoke-1gpu", data_root, tmp_path_factory.getbasetemp() / "recipes-cache")
    overrides.append("trainer.default_local_dir=checkpoints/run1")
    monkeypatch.setenv("WANDB_API_KEY", "very-secret-key")
    monkeypatch.setenv(MODULES_VAR, "deepmath_ext.reward")
    args = ["train", "--dry-run", "--submit", "http://head:8265", "--ship-package", "smoke-1gpu", *overrides]
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert "very-secret-key" not in out + err
    assert "WANDB_API_KEY" in out and f"{MODULES_VAR}=deepmath_ext.reward,deepmath_ext.plugin" in out
    entrypoint = shlex.split(out.split("job entrypoint:\n", 1)[1].splitlines()[0])
    assert entrypoint == [*cluster.CLUSTER_ENTRYPOINT, "smoke-1gpu", *overrides]
    assert "preflight: trainer.default_local_dir: checkpoints/run1 is relative" in err


# --- a real Ray head with token authentication ----------------------------------------------------------


@pytest.fixture(scope="module")
def head() -> Iterator[LocalCluster]:
    local = LocalCluster(auth=True)
    try:
        local.start_head("--num-cpus=2", "--num-gpus=0")
        yield local
    finally:
        local.stop()


def _deepmath(local: LocalCluster, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "deepmath_ext.cli", "train", "--submit", local.address, *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_ray_start_turned_token_auth_on_because_a_token_was_found(head: LocalCluster) -> None:
    assert "token authentication on" in head.log(0)


def test_a_submitter_without_the_token_is_told_where_the_token_lives(head: LocalCluster) -> None:
    env = head.environ()
    del env["RAY_AUTH_TOKEN_PATH"]
    result = _deepmath(head, ["smoke-1gpu"], env)  # refused before the recipe is even composed
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "refused this machine's token" in line and "~/.ray/auth_token" in line


@pytest.mark.slow  # about 45 s: the recipe is validated here (verl, the tiny model) before the probe job
def test_preflight_reports_gpus_relative_checkpoints_and_a_plugin_missing_on_the_nodes(
    head: LocalCluster, data_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    overrides = local_overrides("smoke-1gpu", data_root, tmp_path_factory.getbasetemp() / "recipes-cache")
    # A hook module installed on this machine only: verl imports it here, the nodes do not have it.
    (tmp_path / "deepmath_local_hooks.py").write_text("")
    pythonpath = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = head.environ(**{MODULES_VAR: "deepmath_local_hooks", "PYTHONPATH": pythonpath})
    result = _deepmath(head, ["smoke-1gpu", *overrides, "trainer.default_local_dir=ckpt/run1"], env)
    assert result.returncode == 2, result.stderr[-3000:]
    problems = [line for line in result.stderr.splitlines() if line.startswith("preflight: ")]
    assert len(problems) == 3, problems
    relative, gpus, plugin = problems
    assert "trainer.default_local_dir: ckpt/run1 is relative" in relative
    assert "trainer.nnodes=1 x trainer.n_gpus_per_node=1 needs 1 node(s)" in gpus and "[0] GPUs" in gpus
    assert "`import deepmath_local_hooks` fails on this node" in plugin
    assert "Ray auth: token" in result.stdout
    assert "preflight found 3 problem(s)" in result.stderr and "submitted" not in result.stdout


def test_a_node_lost_during_the_probe_is_named_and_its_gpus_are_not_counted() -> None:
    # The probe's report when Ray listed a node alive that died before its check ran.
    report = {
        "nodes": [{"id": "a1", "address": "127.0.0.2", "resources": {"GPU": 8.0}}],
        "problems": [],
        "lost": ["127.0.0.3"],
    }
    cfg = OmegaConf.create({"trainer": {"nnodes": 2, "n_gpus_per_node": 8}})
    assert probe.lost_nodes(report) == [
        "node 127.0.0.3 left the cluster before its check ran; it takes no work"
    ]
    (gpus,) = cluster.cluster_problems(cfg, report)
    assert "needs 2 node(s) with 8 GPU(s) each, but the cluster's 1 node(s) offer [8] GPUs" in gpus


def test_the_probe_checks_paths_and_shipped_plugins_on_every_node(head: LocalCluster, tmp_path: Path) -> None:
    if os.access("/proc/sys", os.W_OK):
        pytest.skip("/proc/sys is writable here: no read-only folder to test an unwritable checkpoint path")
    package = _plugin_dist(tmp_path / "site")
    spec = {
        "read": [["data.train_files", str(tmp_path / "absent.parquet")]],
        "write": [["trainer.default_local_dir", "/proc/sys/deepmath-checkpoints/run1"]],
        "imports": [["terms: short_answers", "my_terms"], ["terms: missing", "not_shipped_mod"]],
        "entry_points": [["reward.reward_kwargs.terms", extensions.GROUP, "short_answers"]],
    }
    shipped = {"py_modules": [str(package / "my_terms"), str(package / "my_terms-0.1.dist-info")]}
    with head.authenticated():
        report = cluster.run_probe(cluster.connect(head.address), spec, shipped)
    ((_, problems),) = report["problems"]
    assert len(problems) == 3, problems
    assert "absent.parquet is missing on this node" in problems[0]
    assert "/proc/sys/deepmath-checkpoints/run1 is not writable" in problems[1]
    assert "`import not_shipped_mod` fails" in problems[2]  # the shipped package and its entry point resolve


SUBMITTER = textwrap.dedent(
    """
    import sys
    from deepmath_ext.cli import INTERRUPTED_STATUS, TERMINATED_STATUS
    from deepmath_ext.errors import Terminated, interrupt_signals
    from deepmath_ext.launch import cluster

    entry = ["python", "-c", "import time; print('job-started', flush=True); time.sleep(600)"]
    try:
        with interrupt_signals():
            cluster.use_ray_token()
            client = cluster.connect(sys.argv[1])
            job = cluster.submit(client, entry, {}, "sleeper")
            print("submitted", job.job_id, flush=True)
            if sys.argv[2] == "detach":
                sys.exit(0)
            cluster.follow(client, job)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED_STATUS)
    except Terminated:
        sys.exit(TERMINATED_STATUS)
    """
)


def _submitter(head: LocalCluster, mode: str) -> tuple[subprocess.Popen, str]:
    """A submitter following a long job; returns once the job's own output has reached it."""
    process = subprocess.Popen(
        [sys.executable, "-c", SUBMITTER, head.address, mode],
        env={**head.environ(), "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    job_id = ""
    for line in process.stdout:
        job_id = line.split()[1] if line.startswith("submitted ") else job_id
        if "job-started" in line or (mode == "detach" and job_id):
            return process, job_id
    raise AssertionError(f"the submitter ended early: {process.wait()} {process.stderr.read()[-2000:]}")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stopping_the_submitter_stops_the_job(head: LocalCluster, signum: int, status: int) -> None:
    process, job_id = _submitter(head, "follow")
    process.send_signal(signum)
    assert process.wait(timeout=120) == status
    err = process.stderr.read()
    assert (
        f"stopped Ray job {job_id} (STOPPED)" in err
        and f"ray job logs --follow --address={head.address}" in err
    )
    with head.authenticated():
        assert str(cluster.connect(head.address).get_job_status(job_id)) == "STOPPED"


def test_a_detached_job_keeps_running_after_the_submitter_returns(head: LocalCluster) -> None:
    process, job_id = _submitter(head, "detach")
    assert process.wait(timeout=60) == 0
    with head.authenticated():
        client = cluster.connect(head.address)
        deadline = time.monotonic() + 60
        while str(client.get_job_status(job_id)) != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert str(client.get_job_status(job_id)) == "RUNNING"
        assert cluster.stop(client, cluster.Job(head.address, job_id)) == "STOPPED"


@pytest.mark.slow  # a second Ray head (about 40 s on a loaded 2-core machine)
def test_a_cluster_without_auth_takes_jobs_from_a_machine_that_holds_a_token() -> None:
    # A local `ray.init()` once wrote ~/.ray/auth_token here, so the submitter sends a token the cluster ignores.
    open_head = LocalCluster(auth=False)
    try:
        open_head.start_head("--num-cpus=1", "--num-gpus=0")
        assert "token authentication off" in open_head.log(0)
        (open_head.root / "home" / ".ray").mkdir(parents=True)
        (open_head.root / "home" / ".ray" / "auth_token").write_text("stale-local-token")
        process, job_id = _submitter(open_head, "detach")
        assert process.wait(timeout=60) == 0
        with open_head.authenticated():
            client = cluster.connect(open_head.address)
            assert cluster.stop(client, cluster.Job(open_head.address, job_id)) == "STOPPED"
    finally:
        open_head.stop()


def test_an_address_where_no_cluster_answers_is_one_line() -> None:
    with pytest.raises(
        LaunchError, match=r"no Ray cluster answers at http://127.0.0.1:9 .*cluster/ray_start.sh"
    ):
        cluster.connect("http://127.0.0.1:9")
