"""The one Ray runtime environment a `deepmath train --submit` job runs in, built from pieces.

Each piece adds variables and `py_modules`; none overwrites another. The pieces: the user's variables (a fixed
list of names passed through when set, plus any `--env NAME[=VALUE]`), the deepmath package when shipped, the
modules of the recipe's third-party reward plug-ins (`reward.recipe.third_party_references` names them; an
entry point's `.dist-info` folder travels with its module), and the CPU platform of a `--smoke-cpu` job.
Variables that hold module lists (VERL_USE_EXTERNAL_MODULES) are joined; any other variable set by two pieces
to two values is an error naming both.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from deepmath_ext import extensions
from deepmath_ext.errors import LaunchError
from deepmath_ext.launch.checks import PLUGIN_MODULE

if TYPE_CHECKING:  # the reward stack loads only where references are found
    from deepmath_ext.reward.recipe import Reference

MODULES_VAR = "VERL_USE_EXTERNAL_MODULES"
# Comma-separated lists: two pieces' values are joined (in order, without repeats) rather than one winning.
LIST_VARS = frozenset({MODULES_VAR, "VERL_USE_EXTERNAL_PLUGINS"})
# Forwarded to every Ray worker when set on the submitting machine (secrets included: they travel in the job's
# runtime env, never on a command line, and are never printed). Interface names pass only if the user sets them.
PASSTHROUGH_ENV = (
    "WANDB_API_KEY",
    "WANDB_ENTITY",
    "WANDB_PROJECT",
    "WANDB_MODE",
    "HF_TOKEN",
    "HF_HOME",
    "HF_HUB_OFFLINE",
    "DEEPMATH_DATA_DIR",
    "NCCL_SOCKET_IFNAME",
    "GLOO_SOCKET_IFNAME",
    "NCCL_IB_HCA",
    "VERL_USE_EXTERNAL_PLUGINS",
    MODULES_VAR,
)


@dataclass
class Piece:
    """Part of a runtime env: what it is for, its variables and its local module paths."""

    name: str
    env_vars: dict[str, str] = field(default_factory=dict)
    py_modules: list[str] = field(default_factory=list)


def user_piece(environ: Mapping[str, str], extra: Iterable[str] = ()) -> Piece:
    """The passthrough variables set in `environ`, plus each `--env NAME` (from `environ`) or `NAME=VALUE`."""
    env_vars = {key: environ[key] for key in PASSTHROUGH_ENV if environ.get(key)}
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep and name not in environ:
            raise LaunchError(f"--env {name}: not set in this shell (write --env {name}=VALUE)")
        env_vars[name] = value if sep else environ[name]
    return Piece("your variables", env_vars)


def package_piece() -> Piece:
    """The deepmath package itself; shipped modules have no entry points, so verl imports the plug-in by name."""
    return Piece(
        "the deepmath package",
        {MODULES_VAR: PLUGIN_MODULE},
        [str(Path(__file__).resolve().parents[1])],
    )


def plugins_piece(references: list[Reference]) -> Piece:
    """Each reference's top-level module as found here, and for an entry point its distribution's metadata
    (a shipped module has no entry point otherwise: the name would not resolve on the nodes)."""
    paths: list[str] = []
    for reference in references:
        paths.append(module_path(reference))
        if reference.entry_point:
            try:
                paths.append(str(extensions.metadata_folder(reference.reference)))
            except extensions.ExtensionError as error:
                raise LaunchError(f"{reference.key}: {error}") from error
    return Piece("reward plug-ins", py_modules=list(dict.fromkeys(paths)))


def module_path(reference: Reference) -> str:
    """The folder (package) or file (single module) `reference.module` imports from on this machine."""
    where = f"{reference.key}: {reference.reference}"
    spec = importlib.util.find_spec(reference.module)
    if spec is None:
        raise LaunchError(
            f"{where}: module {reference.module} is not importable here; install it on this machine so the job "
            "can ship it (or on every node)"
        )
    if reference.module in sys.stdlib_module_names or spec.origin in (None, "built-in", "frozen"):
        raise LaunchError(f"{where}: {reference.module} is not a plug-in module")
    if spec.submodule_search_locations:
        return str(Path(next(iter(spec.submodule_search_locations))).resolve())
    return str(Path(spec.origin).resolve())


def merge(pieces: Iterable[Piece]) -> dict:
    """One Ray runtime env from the pieces: variables added (lists joined), `py_modules` added in order."""
    env_vars: dict[str, str] = {}
    owner: dict[str, str] = {}
    modules: list[str] = []
    for piece in pieces:
        for name, value in piece.env_vars.items():
            if name in LIST_VARS and name in env_vars:
                env_vars[name] = ",".join(dict.fromkeys(_items(env_vars[name]) + _items(value)))
            elif name in env_vars and env_vars[name] != value:
                raise LaunchError(
                    f"runtime env: {name} is set both by {owner[name]} and by {piece.name}, to different values"
                )
            else:
                env_vars[name], owner[name] = value, piece.name
        modules += [path for path in piece.py_modules if path not in modules]
    runtime_env: dict = {}
    if modules:
        runtime_env["py_modules"] = modules
    if env_vars:
        runtime_env["env_vars"] = env_vars
    return runtime_env


def describe(runtime_env: dict) -> str:
    """The runtime env with variable names, not values (some are secrets); list variables in full."""
    modules = ", ".join(runtime_env.get("py_modules", [])) or "none"
    env_vars = runtime_env.get("env_vars", {})
    names = ", ".join(
        f"{name}={value}" if name in LIST_VARS else name for name, value in sorted(env_vars.items())
    )
    return f"py_modules: {modules}\n  env_vars: {names or 'none'}"


def _items(value: str) -> list[str]:
    return [item for item in value.split(",") if item]
