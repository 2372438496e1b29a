"""Recipe files against verl's own config: every key must be one of verl's, every value of verl's type.

Hydra refuses a misspelt key on the command line (struct mode) but merges any key a config file brings,
so a recipe's `train_bach_size: 8` would leave verl's default of 1024 in place. Here each recipe file of the
chain (the recipe and the files its `defaults` name beside it or in the package, not verl's own) is read
as written, and each key must be in verl's composed `ppo_trainer` config (or another verl config the chain's
`defaults` name, such as `ppo_megatron_trainer`), lie under one of verl's free-form
maps (a `{}` default such as `override_config`), or lie under a key the file chain declares new:

    new_keys: [+reward.reward_kwargs]   # written as Hydra's add-override, `+KEY`

Values of the composed config (overrides included, resolved) are checked against verl's defaults: a number
where the default is a number, true/false where it is a bool, a finite number everywhere, and no negative
number where verl's default is not negative. Whether a number must be an integer only verl's dataclasses
know (its YAML writes `entropy_coeff: 0` for a float): they check their sections (`check_dataclass_sections`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from deepmath_ext.errors import LaunchError

RECIPES_MODULE = "deepmath_ext.recipes"

VERL_CONFIG_MODULE = "verl.trainer.config"
VERL_CONFIG_NAME = "ppo_trainer"
NEW_KEYS = "new_keys"  # the top-level list of a recipe file's declared new keys
NOT_SETTINGS = ("defaults", "hydra", NEW_KEYS)  # top-level keys of a recipe file that verl does not read


@functools.cache
def verl_defaults(name: str = VERL_CONFIG_NAME) -> dict[str, Any]:
    """verl's composed config `name` (e.g. ppo_trainer) as plain containers; {} when verl has no such config."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException

    with initialize_config_module(config_module=VERL_CONFIG_MODULE, version_base=None):
        try:
            return OmegaConf.to_container(compose(config_name=name), resolve=False)
        except HydraException:  # not verl's: composing the recipe reports it
            return {}


def load_recipe_yaml(path: Path) -> dict[str, Any]:
    """A recipe file as written (safe YAML: no `!!python` tags); LaunchError naming the file otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LaunchError(f"recipe file {path}: not valid YAML ({' '.join(str(error).split())})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LaunchError(f"recipe file {path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


def chain_files(recipe: Path, package_dir: Path) -> tuple[list[Path], list[str]]:
    """The recipe file and, recursively, the files its `defaults` list names beside it or in the package;
    and the names it takes from elsewhere (verl's configs, such as ppo_trainer)."""
    chain, others, todo = [], [], [recipe]
    while todo:
        path = todo.pop()
        if path in chain:
            continue
        chain.append(path)
        for entry in load_recipe_yaml(path).get("defaults") or []:
            if isinstance(entry, str) and entry != "_self_":
                found = [p for p in (d / f"{entry}.yaml" for d in (path.parent, package_dir)) if p.is_file()]
                todo += found[:1]
                others += [] if found else [entry]
    return chain, others


def dotted_items(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for each key of nested mappings, sections included."""
    if isinstance(node, dict):
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            yield dotted, value
            yield from dotted_items(value, f"{dotted}.")


def _known(key: str, defaults: dict[str, Any], new: set[str]) -> bool:
    """True when `key` is verl's, under one of verl's free-form maps, or under a declared new key."""
    node: Any = defaults
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if ".".join(parts[: depth + 1]) in new:
            return True
        if isinstance(node, dict) and not node and depth:  # a `{}` default: verl passes it on as given
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def declared_new(files: list[Path]) -> set[str]:
    """The keys the files declare new (`new_keys: [+KEY, ...]`); LaunchError for an entry without `+`."""
    new = set()
    for path in files:
        for entry in load_recipe_yaml(path).get(NEW_KEYS) or []:
            if not isinstance(entry, str) or not entry.startswith("+"):
                raise LaunchError(f"recipe file {path}: {NEW_KEYS} entries are written +KEY, got {entry!r}")
            new.add(entry[1:])
    return new


def check_recipe_keys(recipe: Path, package_dir: Path) -> None:
    """Every key of every file in the recipe's chain is verl's or declared new; LaunchError names the first."""
    import difflib

    files, bases = chain_files(recipe, package_dir)
    new = declared_new(files)
    configs = [verl_defaults(name) for name in dict.fromkeys([VERL_CONFIG_NAME, *bases])]
    for path in files:
        settings = {k: v for k, v in load_recipe_yaml(path).items() if k not in NOT_SETTINGS}
        for key, _ in dotted_items(settings):
            if not any(_known(key, config, new) for config in configs):
                known = [k for k, _ in dotted_items(configs[0])]
                near = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
                hint = f"did you mean {near[0]}? " if near else ""
                raise LaunchError(
                    f"recipe file {path}: {key!r} is not a key of verl's config; {hint}"
                    f"declare a new key in the file's `{NEW_KEYS}: [+{key}]`"
                )


def packaged_recipes_dir() -> Path:
    """The folder of the packaged recipes."""
    return Path(str(resources.files("deepmath_ext.recipes")))


def _value_problem(value: Any, default: Any) -> str | None:
    """Why `value` cannot stand where verl's default is `default`, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if value is None or default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int | float) and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "must be a number"
    if isinstance(default, int | float) and default >= 0 and value < 0:
        return "must be >= 0"
    return None


def check_values(cfg: DictConfig) -> None:
    """Each resolved value of verl's keys has its default's type and sign, and no number is NaN or infinite."""
    values = OmegaConf.to_container(cfg, resolve=True)
    defaults = verl_defaults()
    flat_defaults = dict(dotted_items(defaults))
    for key, value in dotted_items(values):
        if isinstance(value, dict | list):
            continue
        default = flat_defaults.get(key)
        if isinstance(default, str) and default.startswith(
            "${"
        ):  # an interpolation: its type is its target's
            default = None
        problem = _value_problem(value, default)
        if problem:
            raise LaunchError(f"{key}={value!r}: {problem} (verl's default: {default!r})")


def raw_value(cfg: DictConfig, key: str) -> Any:
    """The value at dotted `key` as written (an interpolation stays a string); None when the key is absent."""
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if not isinstance(node, DictConfig) or leaf not in node:
        return None
    return OmegaConf.to_container(node, resolve=False)[leaf]


def resolved_value(cfg: DictConfig, key: str) -> Any:
    """The value at dotted `key` with every interpolation resolved (a section as plain dicts and lists)."""
    value = OmegaConf.select(cfg, key)
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
