"""Recipe files against verl's own config: every key must be one of verl's, every value of verl's type.

Hydra refuses a misspelt key on the command line (struct mode) but merges any key a config file brings,
so a recipe's `train_bach_size: 8` would leave verl's default of 1024 in place. Here each recipe file of the
chain (the recipe and the files its `defaults` name beside it or in the package, not verl's own) is read
as written, and each key must be in verl's composed `ppo_trainer` config (or another verl config the chain's
`defaults` name, such as `ppo_megatron_trainer`), lie under one of verl's free-form
maps (a `{}` default such as `override_config`), or lie under a key the file chain declares new:

    new_keys: [+reward.reward_kwargs]   # written as Hydra's add-override, `+KEY`

Values of the composed config (overrides included, resolved) are checked against verl's defaults: a number
where the default is a number, true/false where it is a bool, a finite number everywhere, no negative
number where verl's default is not negative, and an integer where the key is an integer (`number_kinds`).
verl's dataclasses do not check that (`trainer.nnodes=1.5` and `ppo_mini_batch_size=8.5` reach the trainer):
a key is an integer when its section's dataclass annotates it `int`, or, with no annotation, when verl's
default is an integer; an annotation `float` wins over an integer default (verl's YAML writes
`entropy_coeff: 0` for a float).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
import re
import typing
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
# Integer keys that verl leaves null and no dataclass annotates (so `number_kinds` cannot tell).
NULL_INTEGER_KEYS = (
    "data.val_batch_size",
    "data.gen_batch_size",
    "data.seed",
    "trainer.total_training_steps",
    "trainer.max_actor_ckpt_to_keep",
    "trainer.max_critic_ckpt_to_keep",
    "actor_rollout_ref.ref.log_prob_micro_batch_size",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu",
    "ray_kwargs.ray_init.num_cpus",
)


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


def _annotated_kind(annotation: Any) -> type | None:
    """int or float for an annotation of that number type (Optional included), else None."""
    if isinstance(annotation, str):  # unresolved under `from __future__ import annotations`
        names = set(re.findall(r"\w+", annotation)) - {"Optional", "None", "typing"}
        return {frozenset({"int"}): int, frozenset({"float"}): float}.get(frozenset(names))
    kinds = {arg for arg in typing.get_args(annotation) if arg is not type(None)} or {annotation}
    return next(iter(kinds)) if kinds in ({int}, {float}) else None


def _dataclass_kinds(target: Any) -> dict[str, type]:
    """{field: int or float} of the dataclass a section's `_target_` names ({} when it is none or missing)."""
    module, _, name = str(target).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except Exception:  # an optional backend's config (megatron, ...): no annotations to read
        return {}
    if not dataclasses.is_dataclass(cls):
        return {}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # a forward reference to a name only imported for type checkers
        hints = {field.name: field.type for field in dataclasses.fields(cls)}
    return {key: kind for key, hint in hints.items() if (kind := _annotated_kind(hint)) is not None}


@functools.cache
def number_kinds() -> dict[str, type]:
    """{dotted key: int or float} for verl's numeric keys: the section dataclass's annotation, else the type of
    verl's integer default, else `NULL_INTEGER_KEYS`."""
    kinds: dict[str, type] = dict.fromkeys(NULL_INTEGER_KEYS, int)

    def walk(node: dict[str, Any], prefix: str) -> None:
        annotated = _dataclass_kinds(node["_target_"]) if "_target_" in node else {}
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif key in annotated:
                kinds[f"{prefix}{key}"] = annotated[key]
            elif isinstance(value, int) and not isinstance(value, bool):
                kinds[f"{prefix}{key}"] = int

    walk(verl_defaults(), "")
    return kinds


def _value_problem(value: Any, default: Any, kind: type | None = None) -> str | None:
    """Why `value` cannot stand where verl's default is `default` and its number kind `kind`, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if value is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    numeric = kind is not None or isinstance(default, int | float)
    if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "must be a number"
    if kind is int and not isinstance(value, int):
        return "must be an integer"
    if isinstance(default, int | float) and default >= 0 and value < 0:
        return "must be >= 0"
    return None


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


def check_values(cfg: DictConfig) -> None:
    """Each resolved value of verl's keys has its default's type and sign, an integer where the key is one, and
    no number is NaN or infinite."""
    values = OmegaConf.to_container(cfg, resolve=True)
    written = dict(dotted_items(OmegaConf.to_container(cfg, resolve=False)))
    flat_defaults = dict(dotted_items(verl_defaults()))
    kinds = number_kinds()
    # Keys written as an interpolation last: a bad value is reported at the key that was set, not at a copy.
    for key, value in sorted(dotted_items(values), key=lambda item: _is_interpolation(written.get(item[0]))):
        if isinstance(value, dict | list):
            continue
        default = flat_defaults.get(key)
        if _is_interpolation(default):  # its type is its target's
            default = None
        problem = _value_problem(value, default, kinds.get(key))
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
