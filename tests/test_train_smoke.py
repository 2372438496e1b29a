"""`deepmath train --smoke-cpu` without running it: the plan it prints, the CPU platform, the missing-engine error.

The real runs are the `engine` tests (tests/test_engine_*.py), which need `scripts/cpu_engine_env.sh`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from engine_support import QWEN_TOKENIZER, R1_TOKENIZER, shared_tokenizer

from deepmath_ext.cli import main
from deepmath_ext.launch import cpu_platform, smoke

pytestmark = pytest.mark.slow

ERROR_PREFIX = "deepmath train: error: "
# The other shipped recipes, each with a shared tokenizer of its model family (R1's stands in for OMN's).
OTHER_RECIPES = {
    "smoke-1gpu": QWEN_TOKENIZER,
    "deepmath-zero-math-7b": QWEN_TOKENIZER,
    "deepmath-1.5b": R1_TOKENIZER,
    "deepmath-omn-1.5b": R1_TOKENIZER,
}


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One --smoke-dir for the module's dry runs: each tiny model and prepared sample is built once."""
    return tmp_path_factory.mktemp("smoke")


@pytest.fixture(scope="module")
def dry_run(smoke_dir: Path) -> tuple[int, str, Path]:
    """`--smoke-cpu --dry-run` of deepmath-zero-7b: (exit code, stdout, smoke dir)."""
    tokenizer = shared_tokenizer(QWEN_TOKENIZER)
    argv = ["train", "deepmath-zero-7b", "--smoke-cpu", "--dry-run", "--tokenizer", str(tokenizer)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--smoke-dir", str(smoke_dir)])
    return code, out.getvalue(), smoke_dir


def test_dry_run_prints_the_summary_the_changes_and_the_command(dry_run: tuple[int, str, Path]) -> None:
    code, out, workdir = dry_run
    assert code == 0, out
    assert "recipe deepmath-zero-7b" in out and "is valid" in out
    assert "smoke-cpu changes to the recipe:" in out
    assert "algorithm.filter_groups.enable=false" in out
    command = shlex.split(out.split("command:\n", 1)[1].strip())
    assert command[1:3] == ["-m", "verl.trainer.main_ppo"]
    for override in cpu_platform.CPU_OVERRIDES:
        assert override in command
    assert f"actor_rollout_ref.model.path={workdir / ('tiny-model-' + QWEN_TOKENIZER)}" in command
    # Later overrides win in Hydra: the user's come after the smoke's.
    assert command.index("trainer.total_training_steps=2") > command.index(cpu_platform.CPU_OVERRIDES[0])


@pytest.mark.parametrize("recipe", sorted(OTHER_RECIPES))
def test_every_recipe_scaled_down_passes_verls_checks(recipe: str, smoke_dir: Path) -> None:
    tokenizer = shared_tokenizer(OTHER_RECIPES[recipe])
    argv = [
        "train",
        recipe,
        "--smoke-cpu",
        "--dry-run",
        "--tokenizer",
        str(tokenizer),
        "--smoke-dir",
        str(smoke_dir),
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0, out.getvalue()
    assert f"recipe {recipe}" in out.getvalue() and "is valid" in out.getvalue()


def test_smoke_data_is_prepared_with_the_recipes_template(dry_run: tuple[int, str, Path]) -> None:
    _, _, workdir = dry_run
    table = pq.read_table(workdir / "data-orz" / "train.parquet")
    assert table.schema.metadata[b"deepmath.template"] == b"orz"
    assert table.num_rows == smoke.SAMPLE_ROWS


def test_user_model_and_data_keep_dynamic_sampling(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {
            "actor_rollout_ref": {"model": {"path": "x", "custom_chat_template": "${deepmath.template:orz}"}},
            "algorithm": {"filter_groups": {"enable": True}},
        }
    )
    given = ["actor_rollout_ref.model.path=/m", "data.train_files=/t.parquet", "data.val_files=/t.parquet"]
    plan = smoke.plan_smoke(cfg, given, None, str(tmp_path))
    assert "algorithm.filter_groups.enable=false" not in plan.overrides
    assert not any(
        o.startswith(("actor_rollout_ref.model.path=", "data.train_files=")) for o in plan.overrides
    )


def test_recipe_without_a_registered_template_needs_data_files() -> None:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"actor_rollout_ref": {"model": {"custom_chat_template": None}}})
    with pytest.raises(smoke.LaunchError, match=r"pass data.train_files=\.\.\. data.val_files=\.\.\."):
        smoke.template_name(cfg)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="the CPU engine is installed here")
def test_missing_engine_names_the_install_command(
    dry_run: tuple[int, str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    _, _, workdir = dry_run
    code = main(
        [
            "train",
            "smoke-1gpu",
            "--smoke-cpu",
            "--smoke-dir",
            str(workdir),
            "--tokenizer",
            str(shared_tokenizer(QWEN_TOKENIZER)),
        ]
    )
    assert code == 2
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith(ERROR_PREFIX)]
    assert errors == [ERROR_PREFIX + smoke.INSTALL_HINT]


def test_cpu_platform_is_registered_but_never_auto_detected() -> None:
    from verl.plugin.platform import PlatformRegistry

    platform = PlatformRegistry.get("cpu")()
    assert platform.device_name == "cpu" and platform.communication_backend_name() == "gloo"
    assert not platform.is_platform_available(use_smi_check=True)
    assert platform.current_device() == torch.device("cpu")
    module = platform.device_module
    assert module.memory_allocated() == 0 and module.device_count() == 1
    free, total = module.mem_get_info()
    assert 0 < free <= total
    state = module.get_rng_state()
    first = torch.rand(1)
    module.set_rng_state(state)
    assert torch.equal(torch.rand(1), first)


def test_duplicate_gloo_backend_becomes_plain_gloo() -> None:
    seen = []
    init = cpu_platform._single_gloo(lambda *args, **kwargs: seen.append((args, kwargs)))
    init(backend="cpu:gloo,cpu:gloo", rank=0)
    init("cpu:gloo,cpu:gloo")
    init(backend="cpu:gloo,cuda:nccl")
    assert seen == [
        ((), {"backend": "gloo", "rank": 0}),
        (("gloo",), {}),
        ((), {"backend": "cpu:gloo,cuda:nccl"}),
    ]


def test_fsdp2_offload_never_pins_memory_on_the_cpu_platform() -> None:
    # In a fresh interpreter: activation patches verl's FSDP engine for the whole process.
    probe = (
        "import deepmath_ext.launch.cpu_platform\n"
        "from torch.distributed.fsdp import CPUOffloadPolicy\n"
        "from verl.workers.engine.fsdp import transformer_impl\n"
        "policy = transformer_impl.CPUOffloadPolicy(pin_memory=True)\n"
        "print(isinstance(policy, CPUOffloadPolicy), policy.pin_memory)\n"
    )
    env = {**os.environ, **cpu_platform.ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.split()[-2:] == ["True", "False"], result.stderr[-2000:]


def test_environment_loads_the_platform_module_after_existing_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERL_USE_EXTERNAL_MODULES", "deepmath_ext.plugin")
    env = cpu_platform.environment()
    assert env["VERL_USE_EXTERNAL_MODULES"] == f"deepmath_ext.plugin,{cpu_platform.MODULE}"
    assert env[cpu_platform.ACTIVE_FLAG] == "1" and env["VERL_PLATFORM"] == "cpu"


def test_environment_gives_workers_every_core_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cpu_platform.environment()["OMP_NUM_THREADS"] == str(len(os.sched_getaffinity(0)))
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_platform.environment()["OMP_NUM_THREADS"] == "3"


def test_options_of_the_smoke_need_smoke_cpu(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "smoke-1gpu", "--dry-run", "--tokenizer", "/x"]) == 2
    assert "--tokenizer and --smoke-dir only apply with --smoke-cpu" in capfd.readouterr().err
