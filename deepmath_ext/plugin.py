"""verl plug-in (entry point `verl.plugins: deepmath`), imported by `import verl` in every process.

verl 0.9.1 loads it with `entry_point.load()`, i.e. by importing this module, at the end of
`verl/__init__.py`, and swallows any exception at DEBUG level. So each step here is independent and
logs its own failure at WARNING: a broken template registry must not cost us the reward manager.
Registering into verl's registries needs the heavy modules that hold them (the reward loop: about
1.5 s; the v1 trainers: about 9 s on 2 cores), which most verl processes never import. So each
registration runs right after verl itself imports the registry's package, through an import hook:
`import verl` stays as cheap as without the plug-in. It also installs work-arounds for verl 0.9.1 gaps
that the DeepMath recipes hit (the R1-Distill token builder), and adds the reference fork's policy loss
(`deepmath-fork`, deepmath_ext/fork_loss.py) to verl's policy-loss registry.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import logging
import sys
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)
REWARD_MANAGER_PACKAGE = "verl.experimental.reward_loop.reward_manager"
TRAINER_PACKAGE = "verl.trainer.ppo.v1"
AGENT_LOOP_MODULE = "verl.experimental.agent_loop.agent_loop"
CORE_ALGOS_MODULE = "verl.trainer.ppo.core_algos"
MISSING_TOKEN_ERROR = "Tokenizer does not define required token"
DEFAULT_FAMILY = "default"


def _register_reward_manager() -> None:
    import deepmath_ext.reward.manager  # noqa: F401  (registers `deepmath` on import)


def _register_template_resolver() -> None:
    from deepmath_ext.templates import register_template_resolver

    register_template_resolver()


def _register_telemetry_trainers() -> None:
    from deepmath_ext.reward.telemetry import register_telemetry_trainers

    register_telemetry_trainers()


def _register_fork_loss() -> None:
    from deepmath_ext.fork_loss import register_fork_loss

    register_fork_loss()


def with_default_builder_fallback(create: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap verl's `create_continuous_token_builder` to fall back to its default builder.

    verl picks the rollout's token builder from config.json's model_type alone. DeepSeek-R1-Distill-Qwen
    says `qwen2` but its tokenizer has no `<|im_end|>`, so the Qwen builder raises in every agent-loop
    worker and the deepmath-1.5b recipe could not roll out at all. verl's default builder renders the
    R1 prompt exactly (tests/test_data_verl.py), so use it when, and only when, an inferred family
    lacks its chat tokens; an explicitly chosen family still fails loudly.
    """
    if getattr(create, "deepmath_fallback", False):
        return create

    @functools.wraps(create)
    def create_builder(tokenizer: Any, *args: Any, model_family: Any = "auto", **kwargs: Any) -> Any:
        try:
            return create(tokenizer, *args, model_family=model_family, **kwargs)
        except ValueError as error:
            if str(model_family) != "auto" or MISSING_TOKEN_ERROR not in str(error):
                raise
            logger.warning("%s; deepmath uses verl's default Continuous Token builder instead", error)
            return create(tokenizer, *args, model_family=DEFAULT_FAMILY, **kwargs)

    create_builder.deepmath_fallback = True
    return create_builder


def install_token_builder_fallback() -> None:
    """Patch the agent loop's reference to the builder factory (it imports the name directly)."""
    agent_loop = sys.modules[AGENT_LOOP_MODULE]
    agent_loop.create_continuous_token_builder = with_default_builder_fallback(
        agent_loop.create_continuous_token_builder
    )


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
_after_import(CORE_ALGOS_MODULE, _register_fork_loss)
