"""`deepmath eval --ray` on a 2-node Ray cluster on this machine (token auth on), with vLLM's CPU build.

Two models (the tiny Qwen2 with two layers and with one: two checkpoints that sample differently) x two benchmarks,
n = 8, units of 4 samples. Once the first model's first samples are stored, the worker node's raylet is killed
(SIGKILL, by its pid): the run must finish on the head node, store every sample exactly once, and its texts must
equal those of a run on one engine here (no --ray) with the same seeds. Marked `engine` (vLLM's CPU build).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray_cluster
from eval_support import SUBSET_ROWS, TOKENIZER, build_data_dir, engine_eval_argv, read_generations
from ray_cluster import LOOPBACK_NODE, LocalCluster, Watch, wait_until
from shared_data import data_path
from tiny_models import build_tiny_qwen2

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]
HANG_S = 1500  # a guard against a hung command, far above any run's length (not a speed check)

N = 8
KV_CACHE_BYTES = 64 * 2**20
# Four logical CPUs a node: one engine actor each (an engine on a CPU node uses the node's cores), the probe.
NODE_RESOURCES = ("--num-cpus=4",)
SAMPLES_PER_MODEL = N * sum(SUBSET_ROWS.values())


@pytest.fixture
def two_nodes() -> Iterator[LocalCluster]:
    with ray_cluster.two_nodes(*NODE_RESOURCES) as local:
        yield local


def _eval(
    models: list[Path], data_dir: Path, out: Path, env: dict[str, str], *extra: str
) -> subprocess.Popen:
    """`deepmath eval` of `models` with the vllm backend, small: n 8, 32 tokens, units (--batch-size) of 4; its
    output goes to OUT.log (a pipe nobody reads while the test waits could fill and stop it)."""
    argv = engine_eval_argv(models[0], data_dir, out, "vllm", "--n", str(N), "--max-tokens", "32")
    argv[argv.index("--model") + 1] = ",".join(map(str, models))
    argv += ["--batch-size", "4", "--engine-arg", "enforce_eager=true"]
    argv += ["--engine-arg", f"kv_cache_memory_bytes={KV_CACHE_BYTES}", *extra]
    command = [sys.executable, "-m", "deepmath_ext.cli", "eval", *argv]
    with Path(f"{out}.log").open("w") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _finish(run: subprocess.Popen, out: Path) -> str:
    """Wait for the command; its output."""
    run.wait(timeout=HANG_S)
    return Path(f"{out}.log").read_text()


def _stored(run_dir: Path) -> int:
    path = run_dir / "generations.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_eval_spread_over_two_nodes_survives_a_lost_node(two_nodes, eval_tiny_model, tmp_path):
    models = [
        eval_tiny_model,
        build_tiny_qwen2(data_path("tokenizers", TOKENIZER), tmp_path / "one-layer", layers=1),
    ]
    names = [model.name for model in models]
    data_dir = build_data_dir(tmp_path / "data")
    env = two_nodes.environ(HF_HUB_OFFLINE="1")
    spread, here = tmp_path / "spread", tmp_path / "here"
    started = time.monotonic()
    with two_nodes.authenticated(), Watch() as watch:
        run = _eval(models, data_dir, spread, env, "--ray", f"{LOOPBACK_NODE}:{two_nodes.port}")

        def first_samples_stored() -> bool:
            assert run.poll() is None, _finish(run, spread)[-4000:]  # it ended before storing a sample
            return _stored(spread / names[0]) > 0

        wait_until(first_samples_stored, every_s=0.2)
        stored_at_kill = _stored(spread / names[0])
        two_nodes.kill_raylet(1)
        log = _finish(run, spread)
        spread_s = time.monotonic() - started
    assert run.returncode == 0, log[-6000:]
    assert stored_at_kill < SAMPLES_PER_MODEL  # the node was lost mid-run

    started_here = time.monotonic()
    alone = _eval(models, data_dir, here, env)
    alone_log = _finish(alone, here)
    assert alone.returncode == 0, alone_log[-6000:]
    here_s = time.monotonic() - started_here

    texts = {}
    for name in names:
        by_ray, by_one = read_generations(spread / name), read_generations(here / name)  # each key once
        assert len(by_ray) == SAMPLES_PER_MODEL and set(by_ray) == set(by_one)
        assert {k: r["text"] for k, r in by_ray.items()} == {k: r["text"] for k, r in by_one.items()}, name
        texts[name] = {k: r["text"] for k, r in by_ray.items()}
        manifest = json.loads((spread / name / "manifest.json").read_text())
        assert manifest["engine"]["engine"] == "vllm"
    assert texts[names[0]] != texts[names[1]]  # two models: a mix-up would show
    first = json.loads((spread / names[0] / "manifest.json").read_text())["invocations"][-1]
    assert first["generated"] == SAMPLES_PER_MODEL and first["ray"]["actors"] == 2
    assert first["ray"]["lost_actors"] == 1 and "lost the engine actor on node" in log
    assert (spread / "report.md").is_file() and (spread / "curve.json").is_file()
    print(
        f"\n2-node eval --ray: {spread_s:.0f} s with the node lost after {stored_at_kill} samples; the same on one "
        f"engine here {here_s:.0f} s; peak used memory {watch.peak} MiB (the whole machine's)"
    )
