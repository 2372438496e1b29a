"""`deepmath eval --ray` on a real (one-node, in-process) Ray session: engine actors with the hf backend on the
tiny model, one of them killed mid-unit. Every sample must be stored exactly once, with the texts of a run on one
engine here. The two-node run with vLLM's CPU build and a killed raylet is tests/test_engine_eval_cluster.py."""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from eval_support import build_data_dir, config_from_argv, eval_argv, read_generations

from deepmath_ext.errors import UserError
from deepmath_ext.evaluate import distributed
from deepmath_ext.evaluate.backends import SampleKey, create_backend
from deepmath_ext.evaluate.backends.hf import HFBackend
from deepmath_ext.evaluate.manifest import load_manifest
from deepmath_ext.evaluate.runner import EvalConfig, run_eval


class DiesOnce(HFBackend):
    """The hf backend, whose process exits after its first sample of a unit, once per test (`marker`): a lost
    node as its actor sees it."""

    def __init__(self, model: str, *, marker: str, **options: object) -> None:
        super().__init__(model, **options)
        self.marker = marker

    def stream(self, requests, sampling):
        for number, group in enumerate(super().stream(requests, sampling)):
            if number == 1 and _claim(self.marker):
                os._exit(1)
            yield group


def _claim(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def dies_once(name: str, model: str, *, marker: str, **options: object) -> HFBackend:
    """A backend factory (as `create_backend`): the hf backend that dies once."""
    assert name == "hf"
    return DiesOnce(model, marker=marker, **options)


@pytest.fixture
def eval_data_dir(tmp_path: Path) -> Path:
    """The evaluator tests' small benchmark folder (math500: 3 problems, aime24: 2)."""
    return build_data_dir(tmp_path / "data")


@pytest.fixture
def ray_here(ray_session):
    """The session's Ray, whose workers get this module's fake by value (they cannot import tests/)."""
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray_session
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _config(model: Path, data_dir: Path, out: Path) -> EvalConfig:
    # Units of two samples: the one that dies has stored one and loses one.
    return config_from_argv(eval_argv(model, data_dir, out, "--batch-size", "2"))


@pytest.mark.slow  # Ray and two engines
def test_a_lost_actor_loses_only_its_unstored_samples(ray_here, eval_tiny_model, eval_data_dir, tmp_path):
    marker = tmp_path / "died"
    generate = distributed.RayGenerate(
        backend_factory=functools.partial(dies_once, marker=str(marker)), cpu_actors_per_node=2
    )
    spread = _config(eval_tiny_model, eval_data_dir, tmp_path / "ray")
    run_eval(spread, generate=generate)
    run_eval(_config(eval_tiny_model, eval_data_dir, tmp_path / "here"))

    assert marker.exists() and generate.lost == 1
    by_ray, by_one = read_generations(spread.out), read_generations(tmp_path / "here")  # no key twice
    assert set(by_ray) == set(by_one) and len(by_one) == 10
    assert {k: r["text"] for k, r in by_ray.items()} == {k: r["text"] for k, r in by_one.items()}
    invocation = load_manifest(spread.out)["invocations"][-1]
    assert invocation["generated"] == 10
    assert invocation["ray"] == {"actors": 2, "units": 5, "lost_actors": 1}
    assert (spread.out / "report.md").is_file()


@pytest.mark.slow  # Ray and two engines
def test_a_rerun_on_the_cluster_generates_only_what_is_missing(
    ray_here, eval_tiny_model, eval_data_dir, tmp_path
):
    config = _config(eval_tiny_model, eval_data_dir, tmp_path / "run")
    run_eval(replace(config, n=1), generate=distributed.RayGenerate())
    first = read_generations(config.out)
    run_eval(config, generate=distributed.RayGenerate())
    both = read_generations(config.out)
    assert len(first) == 5 and len(both) == 10
    assert all(both[key]["text"] == record["text"] for key, record in first.items())
    assert load_manifest(config.out)["invocations"][-1]["ray"]["units"] == 3  # 3 + 2 new samples, units of 2


@pytest.mark.slow  # Ray and two engines
def test_preflight_names_the_node_and_the_unreadable_model(
    ray_here, eval_tiny_model, eval_data_dir, tmp_path
):
    config = _config(eval_tiny_model, eval_data_dir, tmp_path / "run")
    with pytest.raises(UserError, match=r"^--ray preflight: node [\d.]+: --model: /nowhere/model is missing"):
        distributed.preflight(replace(config, model="/nowhere/model"))
    assert distributed.preflight(config)  # the alive nodes


def test_work_units_keep_to_one_benchmark_and_the_planned_order():
    todo = [
        (None, SampleKey(b, str(p), i))
        for b, count in (("a", 3), ("b", 1))
        for p in range(count)
        for i in (0, 1)
    ]
    units = distributed.plan_units(todo, 4)
    assert [[key for _, key in unit.items] for unit in units] == [
        [key for _, key in todo[:4]],
        [key for _, key in todo[4:6]],
        [key for _, key in todo[6:]],
    ]
    with pytest.raises(ValueError, match="at least one sample"):
        distributed.plan_units(todo, 0)


def test_actor_slots_follow_gpus_per_tensor_parallel_group_else_one_per_cpu_node():
    def node(name: str, **resources: float) -> dict:
        return {"id": name, "address": name, "resources": {"CPU": 8, **resources}}

    config = EvalConfig(model="m", out=Path("o"), tensor_parallel_size=2)
    gpu = distributed.actor_slots([node("a", GPU=8), node("b", GPU=3), node("c")], config)
    assert [s.node_id for s in gpu] == ["a"] * 4 + ["b"] and gpu[0].resources == {"num_gpus": 2}
    cpu = distributed.actor_slots([node("a"), node("b")], config, cpu_per_node=2)
    assert [s.node_id for s in cpu] == ["a", "a", "b", "b"] and cpu[0].resources == {"num_cpus": 1}
    with pytest.raises(UserError, match="no node of the Ray cluster has 2 GPU"):
        distributed.actor_slots([node("a", GPU=1)], config)


def test_a_server_backend_is_refused_on_a_cluster(tmp_path):
    config = EvalConfig(model="m", out=tmp_path, backend="openai")
    with pytest.raises(UserError, match="--backend openai asks a server"):
        distributed.RayGenerate(create_backend)(config, None, [], None, lambda engine: "")


def test_no_cluster_at_the_address_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    import socket

    from deepmath_ext.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))  # no token of this machine's Ray
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["eval", "--model", str(tmp_path), "--out", str(tmp_path / "run"), "--ray", f"127.0.0.2:{port}"]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"deepmath eval: error: --ray 127.0.0.2:{port}: no Ray cluster answers")
    assert not (tmp_path / "run").exists()  # nothing written


def test_engines_that_describe_themselves_differently_are_not_mixed():
    engine = {"engine": "vllm", "engine_version": "0.32.0", "dtype": "bfloat16", "max_model_len": 4096}
    slots = [distributed.Slot(f"id{i}", f"10.0.0.{i}", {"num_gpus": 1}) for i in (1, 2)]
    same = {"a": (slots[0], engine), "b": (slots[1], dict(engine))}
    assert distributed.RayGenerate._same_engines(same) == engine
    other = {"a": (slots[0], engine), "b": (slots[1], {**engine, "engine_version": "0.31.0"})}
    with pytest.raises(
        UserError, match=r"nodes 10\.0\.0\.1 and 10\.0\.0\.2 differ \(engine_version: '0\.32\.0'"
    ):
        distributed.RayGenerate._same_engines(other)
