"""The one Ray runtime environment a `deepmath train --submit` job runs in, built from pieces.

Each piece adds variables and `py_modules`; none overwrites another. The pieces: the user's variables (a fixed
list of names passed through when set, plus any `--env NAME[=VALUE]`), the deepmath package when shipped, the
modules of the recipe's third-party reward plug-ins, and the CPU platform of a `--smoke-cpu` job. Variables
that hold module lists (VERL_USE_EXTERNAL_MODULES) are joined; any other variable set by two pieces to two
values is an error naming both.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepmath_ext.errors import LaunchError
from deepmath_ext.launch.checks import PLUGIN_MODULE

PACKAGE = PLUGIN_MODULE.split(".")[0]
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
# Where a recipe names third-party reward code: `reward.reward_kwargs.terms` (the `deepmath.rewards` entry-point
# group by name, or `pkg://module:function`) and verl's own `reward.custom_reward_function.path` (`pkg://module`).
REWARD_GROUP = "deepmath.rewards"
TERMS_KEY = "reward.reward_kwargs.terms"
CUSTOM_FUNCTION_KEY = "reward.custom_reward_function.path"
PKG_PREFIX = "pkg://"


@dataclass
class Piece:
    """Part of a runtime env: what it is for, its variables and its local module paths."""

    name: str
    env_vars: dict[str, str] = field(default_factory=dict)
    py_modules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plugin:
    """A third-party reward reference of the recipe and the top-level module it comes from."""

    key: str
    reference: str
    module: str
    entry_point: bool


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


def recipe_plugins(cfg: DictConfig) -> list[Plugin]:
    """The recipe's third-party reward references (built-in term names and deepmath's own modules excluded)."""
    found = []
    for reference in _terms(OmegaConf.select(cfg, TERMS_KEY)):
        if reference.startswith(PKG_PREFIX):
            found.append(_pkg_plugin(TERMS_KEY, reference))
        elif (point := _entry_point(reference)) is not None:
            found.append(Plugin(TERMS_KEY, reference, point.module.split(".")[0], True))
    custom = OmegaConf.select(cfg, CUSTOM_FUNCTION_KEY)
    if isinstance(custom, str) and custom.startswith(PKG_PREFIX):
        found.append(_pkg_plugin(CUSTOM_FUNCTION_KEY, custom))
    return [plugin for plugin in found if plugin.module != PACKAGE]


def plugins_piece(plugins: list[Plugin]) -> Piece:
    """Each plug-in's top-level module as found here, and for entry-point terms its distribution's metadata
    (a shipped module has no entry point otherwise: the term's name would not resolve on the nodes)."""
    paths: list[str] = []
    for plugin in plugins:
        paths.append(module_path(plugin))
        if plugin.entry_point:
            paths.append(_dist_info(plugin))
    return Piece("reward plug-ins", py_modules=list(dict.fromkeys(paths)))


def module_path(plugin: Plugin) -> str:
    """The folder (package) or file (single module) `plugin.module` imports from on this machine."""
    spec = importlib.util.find_spec(plugin.module)
    if spec is None:
        raise LaunchError(
            f"{plugin.key}: {plugin.reference}: module {plugin.module} is not importable here; install it on this "
            "machine so the job can ship it (or on every node)"
        )
    if plugin.module in sys.stdlib_module_names or spec.origin in (None, "built-in", "frozen"):
        raise LaunchError(f"{plugin.key}: {plugin.reference}: {plugin.module} is not a plug-in module")
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


def _terms(terms: object) -> Iterator[str]:
    """Term references of `reward.reward_kwargs.terms`: a mapping's keys (name -> weight) or a list's items."""
    if terms is None:
        return
    container = OmegaConf.to_container(terms, resolve=True) if OmegaConf.is_config(terms) else terms
    yield from (str(reference) for reference in container)


def _pkg_plugin(key: str, reference: str) -> Plugin:
    module = reference.removeprefix(PKG_PREFIX).partition(":")[0]
    if not module:
        raise LaunchError(f"{key}: {reference!r}: write pkg://module:function")
    return Plugin(key, reference, module.split(".")[0], False)


def _entry_point(name: str):
    return next((point for point in entry_points(group=REWARD_GROUP) if point.name == name), None)


def _dist_info(plugin: Plugin) -> str:
    """The `.dist-info` folder that declares `plugin`'s entry point (its `entry_points.txt`)."""
    point = _entry_point(plugin.reference)
    dist = point.dist
    if dist is None:
        raise LaunchError(
            f"{plugin.key}: entry point {plugin.reference!r} belongs to no installed distribution"
        )
    try:
        files = distribution(dist.name).files or []
    except PackageNotFoundError as error:
        raise LaunchError(f"{plugin.key}: {plugin.reference!r}: {error}") from error
    for file in files:
        if file.name == "entry_points.txt" and file.parent.name.endswith(".dist-info"):
            return str(Path(file.locate().parent).resolve())
    raise LaunchError(f"{plugin.key}: {plugin.reference!r}: {dist.name} has no entry_points.txt to ship")


def _items(value: str) -> list[str]:
    return [item for item in value.split(",") if item]
