"""A 2-node Ray cluster on this machine, token authentication on, trains the smoke recipe through `cluster/submit.sh`.

The nodes are started by the users' `cluster/ray_start.sh` (loopback, one logical GPU each: verl's CPU platform
places its workers by the `GPU` resource); the job is `smoke-1gpu --smoke-cpu` with `trainer.nnodes=2`, submitted
as users submit. Ray's state API must show verl's training workers on both nodes, the job must finish its two
steps with the reward telemetry, and a second submission, interrupted with Ctrl-C once verl's workers are up,
must leave the job STOPPED and none of its workers alive. Marked `engine` (vLLM's CPU build).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray_cluster
from engine_support import CORRELATION_KEY, QWEN_TOKENIZER, shared_tokenizer, step_metrics
from ray_cluster import CLUSTER_DIR, LocalCluster, Watch, wait_until

from deepmath_ext.launch import cluster

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]
HANG_S = 1500  # a guard against a hung submitter, far above any run's length (not a speed check)

NODE_RESOURCES = ("--num-gpus=1", "--num-cpus=16")  # verl asks 3 CPUs per GPU bundle, TransferQueue several
# verl's colocated actor/rollout/ref worker class (verl.single_controller.ray.base.create_colocated_worker_cls).
TRAINING_WORKER = "WorkerDict"


@pytest.fixture
def two_nodes() -> Iterator[LocalCluster]:
    with ray_cluster.two_nodes(*NODE_RESOURCES) as local:
        yield local


def _submit(local: LocalCluster, workdir: Path, metrics: str, *extra: str) -> subprocess.Popen:
    """`cluster/submit.sh smoke-1gpu --smoke-cpu ... trainer.nnodes=2`, output in one stream; the tiny model and
    data are built once in `workdir`, each run's metrics go to `metrics`."""
    tokenizer = shared_tokenizer(QWEN_TOKENIZER)
    env = local.environ(
        RAY_HEAD_ADDRESS="127.0.0.1",
        RAY_DASHBOARD_PORT=str(local.dashboard_port),
        HF_HUB_OFFLINE="1",
    )
    argv = [
        str(CLUSTER_DIR / "submit.sh"),
        "smoke-1gpu",
        "--smoke-cpu",
        "--tokenizer",
        str(tokenizer),
        "--smoke-dir",
        str(workdir),
        "--env",
        f"VERL_FILE_LOGGER_PATH={workdir / metrics}",
        *extra,
        "trainer.nnodes=2",
        "trainer.logger=[console,file]",
    ]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _actors(local: LocalCluster) -> list:
    from ray.util.state import list_actors

    return list_actors(address=local.address, limit=10_000)


def _training_workers(local: LocalCluster) -> list:
    return [actor for actor in _actors(local) if TRAINING_WORKER in actor.class_name]


def test_two_node_cluster_trains_the_smoke_recipe_and_ctrl_c_stops_a_job(
    two_nodes: LocalCluster, tmp_path: Path
) -> None:
    from ray.util.state import list_nodes

    started = time.monotonic()
    worker_nodes: set[str] = set()  # the node of every verl training worker listed (a finished job's may go)

    def place_workers() -> None:
        worker_nodes.update(w.node_id for w in _training_workers(two_nodes) if w.node_id)

    with two_nodes.authenticated(), Watch(place_workers) as watch:
        trained = _submit(two_nodes, tmp_path, "metrics.jsonl")
        log, _ = trained.communicate(timeout=HANG_S)
        trained_s = time.monotonic() - started
        assert trained.returncode == 0, log[-6000:]
        assert "Ray auth: token" in log and "submitted Ray job" in log and ": SUCCEEDED" in log
        nodes = {node.node_id for node in list_nodes(address=two_nodes.address)}
        assert len(nodes) == 2 and worker_nodes == nodes, [
            (a.class_name, a.node_id) for a in _actors(two_nodes)
        ]
        metrics = step_metrics(tmp_path)
        assert len(metrics) == 2
        for step in metrics:
            assert step[CORRELATION_KEY] > 0.9
            assert any(key.startswith("reward/status_rate/") for key in step)

        interrupted = _submit(two_nodes, tmp_path, "interrupted.jsonl", "--no-preflight")
        job_id, seen = "", []
        for line in interrupted.stdout:
            seen.append(line)
            job_id = line.split()[-1] if line.startswith("submitted Ray job") else job_id
            if "ray init kwargs" in line:  # verl's driver is up; its workers follow
                break

        def workers_up() -> bool:
            assert interrupted.poll() is None, "".join(seen)[
                -4000:
            ]  # the job ended before its workers started
            return any(w.state == "ALIVE" for w in _training_workers(two_nodes))

        wait_until(workers_up)
        interrupted.send_signal(signal.SIGINT)
        rest, _ = interrupted.communicate(timeout=HANG_S)
        assert interrupted.returncode == 130, rest[-3000:]
        assert f"stopped Ray job {job_id} (STOPPED)" in rest
        assert str(cluster.connect(two_nodes.address).get_job_status(job_id)) == "STOPPED"
        # The job is STOPPED; Ray then ends its actors (the module's timeout mark fails a hang here).
        wait_until(lambda: not any(w.state == "ALIVE" for w in _training_workers(two_nodes)))
    print(
        f"\n2-node smoke: trained in {trained_s:.0f} s, whole test {time.monotonic() - started:.0f} s, "
        f"peak used memory {watch.peak} MiB (the whole machine's)"
    )
