"""The verl release deepmath is tested with, and the verl internals its overrides rely on.

verl loads plug-ins inside a `try` and logs failures at DEBUG, so an incompatible verl would otherwise show up
as a missing reward manager or a silently different trainer. `check_verl_version` makes the mismatch one
loud line; `missing_internals` lists what moved (run by `tests/test_verl_internals.py` on every CI run).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

TESTED_VERL = "0.9.1"


class VerlVersionError(ImportError):
    """The installed verl is not the release deepmath's overrides were tested with."""


def verl_version_error() -> str | None:
    """One line naming both versions when the installed verl is not TESTED_VERL, else None."""
    import verl

    found = getattr(verl, "__version__", "unknown")
    if found == TESTED_VERL:
        return None
    return (
        f"deepmath needs verl {TESTED_VERL} (its verl overrides are tested only there) but verl {found} is "
        f"installed: pip install verl=={TESTED_VERL}"
    )


def check_verl_version() -> None:
    """Raise VerlVersionError (one line, both versions) unless verl is TESTED_VERL."""
    error = verl_version_error()
    if error:
        raise VerlVersionError(error)


@dataclass(frozen=True)
class Internal:
    """A verl (or vLLM) name an override relies on; `parameters` must be among its parameters, `source` in its
    source text."""

    module: str
    attribute: str
    used_by: str
    parameters: tuple[str, ...] = ()
    source: str = ""


RELIED_ON: tuple[Internal, ...] = (
    Internal(
        "verl.experimental.reward_loop.reward_manager.dapo",
        "DAPORewardManager.__init__",
        "reward.manager",
        ("config", "tokenizer", "compute_score", "reward_router_address", "reward_model_tokenizer"),
    ),
    Internal("verl.experimental.agent_loop.agent_loop", "create_continuous_token_builder", "token_builder"),
    Internal(
        "verl.utils.tokenizer.continuous_token_wiring",
        "create_continuous_token_builder",
        "token_builder",
        ("tokenizer", "model_family"),
    ),
    # The error the fallback recognises (token_builder.MISSING_TOKEN_ERROR).
    Internal(
        "verl.utils.tokenizer.continuous_token",
        "require_token_id",
        "token_builder",
        source="Tokenizer does not define required token",
    ),
    Internal("verl.trainer.ppo.v1.trainer_base", "TRAINER_REGISTRY", "trainer_modes"),
    Internal("verl.trainer.ppo.v1.trainer_base", "register_trainer", "trainer_modes"),
    Internal(
        "verl.trainer.ppo.v1.trainer_base",
        "PPOTrainer._compute_metrics",
        "trainer_modes",
        ("batch", "metrics", "timing_raw", "global_steps", "epoch"),
    ),
    Internal(
        "verl.trainer.ppo.v1.trainer_base",
        "PPOTrainer.__init__",
        "trainer_modes",
        source="self.trainer_mode = self.config.trainer.v1.trainer_mode",
    ),
    Internal("verl.plugin.platform", "PlatformRegistry.register", "cpu_smoke.platform"),
    Internal("verl.plugin.platform", "PlatformBase", "cpu_smoke.platform"),
    Internal(
        "verl.utils.distributed", "initialize_global_process_group", "cpu_smoke.platform", source="cpu:gloo,"
    ),
    Internal("verl.workers.engine.fsdp.transformer_impl", "CPUOffloadPolicy", "cpu_smoke.platform"),
)
# Only in the CPU-engine environment (vLLM's CPU build).
RELIED_ON_ENGINE: tuple[Internal, ...] = (
    Internal(
        "vllm.model_executor.layers.utils",
        "dispatch_cpu_unquantized_gemm",
        "cpu_smoke.platform",
        ("layer", "remove_weight"),
    ),
)


def _problem(internal: Internal) -> str | None:
    where = f"{internal.module}.{internal.attribute} (used by deepmath_ext {internal.used_by})"
    try:
        target = importlib.import_module(internal.module)
        for part in internal.attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        return f"{where}: {error}"
    if internal.parameters:
        names = set(inspect.signature(target).parameters)
        lost = [name for name in internal.parameters if name not in names]
        if lost:
            return f"{where}: parameters {lost} are gone"
    if internal.source and internal.source not in inspect.getsource(target):
        return f"{where}: its source no longer contains {internal.source!r}"
    return None


def missing_internals(internals: tuple[Internal, ...] = RELIED_ON) -> list[str]:
    """One line per relied-on internal that moved, changed its parameters or its relied-on source."""
    return [problem for internal in internals if (problem := _problem(internal)) is not None]
