"""Third-party reward terms and grading policies: the `deepmath.rewards` entry-point group and `pkg://` paths.

A reference names a built-in, an entry point of the group (its name), or `pkg://module:attribute` (a one-off,
no packaging needed). `source_module` says which module a reference comes from, so a cluster launch can ship
it with the job (Ray `py_modules`), and `job_entry_points` the environment that resolves its name there.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

GROUP = "deepmath.rewards"
PKG_PREFIX = "pkg://"
# `name=module:attribute,...`: entry points of packages shipped to a Ray job as plain modules (Ray
# `py_modules` carry no distribution metadata); `job_entry_points` writes it.
ENTRY_POINTS_ENV = "DEEPMATH_REWARD_ENTRY_POINTS"


class ExtensionError(ValueError):
    """A reference that names nothing loadable, or something of the wrong kind."""


def is_module_path(reference: str) -> bool:
    """True for a `pkg://module:attribute` reference."""
    return reference.startswith(PKG_PREFIX)


@cache
def _entry_points() -> dict[str, EntryPoint]:
    shipped = (item.split("=", 1) for item in os.environ.get(ENTRY_POINTS_ENV, "").split(",") if "=" in item)
    points = {name: EntryPoint(name, value, GROUP) for name, value in shipped}
    return {**points, **{point.name: point for point in entry_points(group=GROUP)}}


def job_entry_points(references: list[str]) -> dict[str, str]:
    """The environment that lets a job's workers resolve these entry-point names without the distribution."""
    values = [f"{name}={_entry_points()[name].value}" for name in references if not is_module_path(name)]
    return {ENTRY_POINTS_ENV: ",".join(values)} if values else {}


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
    point = _entry_points().get(reference)
    if point is None:
        raise ExtensionError(f"{reference!r} is not an entry point of the {GROUP!r} group")
    try:
        return point.load()
    except Exception as error:  # a broken plug-in names itself rather than disappearing
        raise ExtensionError(f"entry point {reference!r} ({point.value}) does not load: {error!r}") from error


def source_module(reference: str) -> str:
    """The top-level module a third-party reference is imported from (what a Ray job must ship)."""
    if is_module_path(reference):
        value = reference.removeprefix(PKG_PREFIX)
    else:
        point = _entry_points().get(reference)
        if point is None:
            raise ExtensionError(f"{reference!r} is not an entry point of the {GROUP!r} group")
        value = point.value
    return value.partition(":")[0].split(".")[0]
