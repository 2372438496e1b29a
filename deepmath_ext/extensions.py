"""Third-party reward terms and grading policies: the `deepmath.rewards` entry-point group and `pkg://` paths.

A reference names a built-in, an entry point of the group (its name), or `pkg://module:attribute` (a one-off,
no packaging needed). `source_module` says which module a reference comes from, so a cluster launch can ship
it with the job (Ray `py_modules`), and `metadata_folder` the `.dist-info` folder it ships beside an entry
point's module, so that `importlib.metadata` resolves the name on the nodes as it does here.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "deepmath.rewards"
PKG_PREFIX = "pkg://"


class ExtensionError(ValueError):
    """A reference that names nothing loadable, or something of the wrong kind."""


def is_module_path(reference: str) -> bool:
    """True for a `pkg://module:attribute` reference."""
    return reference.startswith(PKG_PREFIX)


@cache
def _entry_points() -> dict[str, EntryPoint]:
    # importlib.metadata is imported here, not at module import: it is a fifth of the verifier's import time.
    from importlib.metadata import entry_points

    return {point.name: point for point in entry_points(group=GROUP)}


def _entry_point(name: str) -> EntryPoint:
    point = _entry_points().get(name)
    if point is None:
        raise ExtensionError(f"{name!r} is not an entry point of the {GROUP!r} group")
    return point


def entry_point_names() -> list[str]:
    """The names registered in the `deepmath.rewards` group by installed distributions."""
    return sorted(_entry_points())


def load_object(reference: str) -> Any:
    """The object a `pkg://module:attribute` reference or an entry-point name points to."""
    if is_module_path(reference):
        module_name, _, attribute = reference.removeprefix(PKG_PREFIX).partition(":")
        if not module_name or not attribute:
            raise ExtensionError(f"{reference!r}: write pkg://module:attribute")
        try:
            return getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ExtensionError(f"{reference!r} does not load: {error}") from error
    point = _entry_point(reference)
    try:
        return point.load()
    except Exception as error:  # a broken plug-in names itself rather than disappearing
        raise ExtensionError(f"entry point {reference!r} ({point.value}) does not load: {error!r}") from error


def source_module(reference: str) -> str:
    """The top-level module a third-party reference is imported from (what a Ray job must ship)."""
    value = reference.removeprefix(PKG_PREFIX) if is_module_path(reference) else _entry_point(reference).value
    return value.partition(":")[0].split(".")[0]


def metadata_folder(name: str) -> Path:
    """The `.dist-info` folder whose `entry_points.txt` declares entry point `name` (what a Ray job ships with
    the module: `py_modules` carry no distribution metadata, and without it the name resolves to nothing)."""
    dist = _entry_point(name).dist
    for file in (dist.files or []) if dist is not None else []:
        if file.name == "entry_points.txt" and file.parent.name.endswith(".dist-info"):
            return Path(file.locate()).parent.resolve()
    where = dist.name if dist is not None else "no distribution"
    raise ExtensionError(f"entry point {name!r} ({where}): no .dist-info/entry_points.txt to ship with it")
