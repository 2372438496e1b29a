"""verl plug-in (entry point `verl.plugins: deepmath`), imported by `import verl` in every process.

verl 0.9.1 loads it with `entry_point.load()`, i.e. by importing this module, at the end of
`verl/__init__.py`, and swallows any exception at DEBUG level. So each step here is independent and
logs its own failure at WARNING: a broken template registry must not cost us the reward manager.
Registering into verl's registries needs the heavy modules that hold them (the reward loop: about
1.5 s; the v1 trainers: about 9 s on 2 cores), which most verl processes never import. So each
registration runs right after verl itself imports the registry's package, through an import hook:
`import verl` stays as cheap as without the plug-in.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
from collections.abc import Callable

# Standard library only: importing it here keeps `import verl` cheap.
from deepmath_ext.verl_compat import AGENT_LOOP_MODULE, install_token_builder_fallback

logger = logging.getLogger(__name__)
REWARD_MANAGER_PACKAGE = "verl.experimental.reward_loop.reward_manager"
TRAINER_PACKAGE = "verl.trainer.ppo.v1"


def _register_reward_manager() -> None:
    import deepmath_ext.reward.manager  # noqa: F401  (registers `deepmath` on import)


def _register_template_resolver() -> None:
    from deepmath_ext.templates import register_template_resolver

    register_template_resolver()


def _register_telemetry_trainers() -> None:
    from deepmath_ext.reward.telemetry import register_telemetry_trainers

    register_telemetry_trainers()


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs `callback` right after module `name` has been executed by its own loader."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback, self.loader = name, callback, None

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name or self.loader is not None:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self.loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.__spec__.loader = module.__loader__ = self.loader
        _run_step(self.callback)


def _run_step(step: Callable[[], None]) -> None:
    try:
        step()
    except Exception:
        logger.warning("deepmath verl plug-in: %s failed", step.__name__, exc_info=True)


def _after_import(name: str, callback: Callable[[], None]) -> None:
    """Call `callback` once `name` is imported (now, if it already is)."""
    if name in sys.modules:
        _run_step(callback)
    elif not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, callback))


_run_step(_register_template_resolver)
_after_import(REWARD_MANAGER_PACKAGE, _register_reward_manager)
_after_import(TRAINER_PACKAGE, _register_telemetry_trainers)
_after_import(AGENT_LOOP_MODULE, install_token_builder_fallback)
