"""verl plug-in (entry point `verl.plugins: deepmath`), imported by `import verl` in every process.

verl 0.9.1 loads it with `entry_point.load()`, i.e. by importing this module, at the end of
`verl/__init__.py`, and swallows any exception at DEBUG level. So:
- a verl other than the tested release is reported on stderr in one line naming both versions, and nothing
  is registered (`deepmath train` then stops with the same line; `deepmath_ext.reward.manager` raises it);
- each step is independent and logs its own failure at WARNING: a broken template registry must not cost
  us the trainer modes.
Registrations into verl's heavy registries run right after verl imports them (`verl_overrides.after_import`),
so `import verl` stays as cheap as without the plug-in. The reward manager needs no registration: recipes
select it by module path through verl's public config (`deepmath_ext.reward.recipe.MANAGER_SELECTION`).
What still needs the hook has no public config in verl 0.9.1: the trainer modes (`trainer.v1.trainer_mode`
resolves only against `TRAINER_REGISTRY`), the policy loss (`loss_mode` only against `POLICY_LOSS_REGISTRY`)
and the R1-Distill token builder (verl picks it from `model_type` alone). Every override of a verl internal lives in
`deepmath_ext.verl_overrides`, one module each. The reference fork's policy loss (`deepmath-fork`,
`deepmath_ext/fork_loss.py`) joins verl's policy-loss registry the same way.
"""

from __future__ import annotations

import logging
import sys

from deepmath_ext.verl_overrides.after_import import after_import, run_step
from deepmath_ext.verl_overrides.compat import verl_version_error
from deepmath_ext.verl_overrides.token_builder import AGENT_LOOP_MODULE, install_token_builder_fallback

logger = logging.getLogger(__name__)
TRAINER_PACKAGE = "verl.trainer.ppo.v1"
CORE_ALGOS_MODULE = "verl.trainer.ppo.core_algos"


def _register_template_resolver() -> None:
    from deepmath_ext.templates import register_template_resolver

    register_template_resolver()


def _register_telemetry_trainers() -> None:
    from deepmath_ext.verl_overrides.trainer_modes import register_telemetry_trainers

    register_telemetry_trainers()


def _register_fork_loss() -> None:
    from deepmath_ext.fork_loss import register_fork_loss

    register_fork_loss()


def install() -> bool:
    """Register everything in this process; False (after one loud line) on an untested verl."""
    error = verl_version_error()
    if error:
        print(f"deepmath verl plug-in not loaded: {error}", file=sys.stderr)
        return False
    run_step(_register_template_resolver)
    after_import(TRAINER_PACKAGE, _register_telemetry_trainers)
    after_import(AGENT_LOOP_MODULE, install_token_builder_fallback)
    after_import(CORE_ALGOS_MODULE, _register_fork_loss)
    return True


install()
