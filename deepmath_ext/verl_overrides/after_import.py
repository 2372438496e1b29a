"""Run a callback right after a module has been imported by its own loader (an `importlib` meta-path hook).

The plug-in registers into verl registries that live in heavy modules (the reward loop: about 1.5 s; the v1
trainers: about 9 s on 2 cores), which most verl processes never import. Registering right after verl itself
imports them keeps `import verl` as cheap as without the plug-in. This replaces no verl function: it only
observes imports. Tested with verl 0.9.1 on CPython 3.10-3.11.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
from collections.abc import Callable

logger = logging.getLogger(__name__)


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
        run_step(self.callback)


def run_step(step: Callable[[], None]) -> None:
    """Run one plug-in step; a failure is logged at WARNING (verl would hide it at DEBUG) and stops nothing else."""
    try:
        step()
    except Exception:
        logger.warning("deepmath verl plug-in: %s failed", step.__name__, exc_info=True)


def after_import(name: str, callback: Callable[[], None]) -> None:
    """Call `callback` once `name` is imported (now, if it already is)."""
    if name in sys.modules:
        run_step(callback)
    elif not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, callback))
