"""Where a composed verl config's deepmath reward settings are read, so none is silently dropped.

verl passes `reward.reward_kwargs` to its reward manager and `reward.custom_reward_function.reward_kwargs` to
the custom function. The deepmath manager reads the first; verl's `naive`/`dapo` managers with deepmath's
`compute_score` pass it only the second (`dapo` itself still reads the overlong keys of the first).

The deepmath manager is selected through verl's public config alone (`MANAGER_SELECTION`): verl 0.9.1's
`resolve_reward_manager_cls` loads `reward.reward_manager.name` from `module.path` when `source` is `importlib`,
in the driver (the batch path's `assemble_rm_scores`) and in every `RewardLoopWorker` (`load_reward_manager`,
which both the batch and the per-sample path call), so no plug-in registers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deepmath_ext import extensions
from deepmath_ext.reward.grading import our_kwargs
from deepmath_ext.reward.score import RewardConfig
from deepmath_ext.reward.terms import BUILTIN_TERMS
from deepmath_ext.verify.policies import POLICIES

MANAGER_KWARGS = "reward.reward_kwargs"
CUSTOM_KWARGS = "reward.custom_reward_function.reward_kwargs"
MANAGER_KEY = "reward.reward_manager"
# The `reward.reward_manager` keys that select the deepmath manager (`deepmath_ext.reward.manager`).
MANAGER_SELECTION = {
    "source": "importlib",
    "name": "DeepMathRewardManager",
    "module.path": "pkg://deepmath_ext.reward.manager",
}
CUSTOM_PATH = "reward.custom_reward_function.path"
# `reward.custom_reward_function.path` values that load deepmath's compute_score.
DEEPMATH_SCORE_PATHS = frozenset({"pkg://deepmath_ext.reward", "pkg://deepmath_ext.reward.score"})
OUR_PACKAGE = __name__.split(".")[0]


@dataclass(frozen=True)
class Reference:
    """A third-party reward reference of a recipe: the config key naming it, the reference, its top-level module."""

    key: str
    reference: str
    module: str

    @property
    def entry_point(self) -> bool:
        """True for a name of the `deepmath.rewards` group (False: a `pkg://` path)."""
        return not extensions.is_module_path(self.reference)


def _select(cfg: Any, dotted: str) -> Any:
    node = cfg
    for part in dotted.split("."):
        node = node.get(part) if node is not None else None
    return node


def manager_overrides() -> list[str]:
    """The command-line overrides that select the deepmath manager."""
    return [f"{MANAGER_KEY}.{key}={value}" for key, value in MANAGER_SELECTION.items()]


def uses_deepmath_manager(cfg: Any) -> bool:
    """True when the config's `reward.reward_manager` selects the deepmath manager."""
    return all(_select(cfg, f"{MANAGER_KEY}.{key}") == value for key, value in MANAGER_SELECTION.items())


def describe_manager(cfg: Any) -> str:
    """`deepmath (DeepMathRewardManager)`, or verl's `source:name` of any other manager."""
    if uses_deepmath_manager(cfg):
        return f"deepmath ({MANAGER_SELECTION['name']})"
    return f"{_select(cfg, f'{MANAGER_KEY}.source')}:{_select(cfg, f'{MANAGER_KEY}.name')}"


def settings_location(cfg: Any) -> str | None:
    """The config key deepmath's reward settings are read from, or None when deepmath does not score."""
    if uses_deepmath_manager(cfg):
        return MANAGER_KWARGS
    custom = _select(cfg, "reward.custom_reward_function") or {}
    if custom.get("path") in DEEPMATH_SCORE_PATHS and custom.get("name") == "compute_score":
        return CUSTOM_KWARGS
    return None


def ignored_settings(cfg: Any) -> list[str]:
    """deepmath keys under `reward.reward_kwargs` that this config's reward never reads."""
    if settings_location(cfg) == MANAGER_KWARGS:
        return []
    return sorted(our_kwargs(_select(cfg, MANAGER_KWARGS)))


def ignored_settings_error(cfg: Any) -> str | None:
    """One line naming the ignored keys and where they belong, or None when every key is read."""
    ignored = ignored_settings(cfg)
    if not ignored:
        return None
    keys = ", ".join(f"{MANAGER_KWARGS}.{key}" for key in ignored)
    manager = _select(cfg, f"{MANAGER_KEY}.name")
    if settings_location(cfg) == CUSTOM_KWARGS:
        return (
            f"{keys} would be ignored: verl's {manager!r} manager passes deepmath's compute_score only "
            f"{CUSTOM_KWARGS}; move them there ({MANAGER_KWARGS} keeps overlong_buffer_cfg and max_resp_len)"
        )
    return (
        f"{keys} would be ignored: neither the deepmath manager nor deepmath's compute_score scores this run "
        f"(reward.reward_manager {describe_manager(cfg)}); select one (docs/reward.md) or remove them"
    )


def settings_in_use(cfg: Any) -> RewardConfig | None:
    """The parsed reward settings the run will use, or None when deepmath does not score it."""
    location = settings_location(cfg)
    if location is None:
        return None
    return RewardConfig.from_kwargs(_select(cfg, location), where=location)


def describe_settings(config: RewardConfig) -> str:
    """`terms accuracy 1, length 0.1; policy strict; correct / wrong 1.0 / -1.0; </think> required`."""
    terms = ", ".join(f"{term.name} {weight:g}" for term, weight, _ in config.terms)
    grading = config.grading
    think = "</think> required" if grading.require_think else "whole response"
    return (
        f"terms {terms}; policy {grading.policy}; correct / wrong {grading.correct_score:g} / "
        f"{grading.wrong_score:g}; {think}"
    )


def third_party_references(cfg: Any) -> list[Reference]:
    """The recipe's reward terms, grading policy and verl custom function that are neither built in nor
    deepmath's own: entry-point names or `pkg://` paths, each with the module it is imported from."""
    found = []
    config, location = settings_in_use(cfg), settings_location(cfg)
    if config is not None:
        found += [(f"{location}.terms", t.name) for t, _, _ in config.terms if t.name not in BUILTIN_TERMS]
        if config.grading.policy not in POLICIES:
            found.append((f"{location}.policy", config.grading.policy))
    custom = _select(cfg, CUSTOM_PATH)
    if isinstance(custom, str) and extensions.is_module_path(custom):
        found.append((CUSTOM_PATH, custom))
    references = [Reference(key, name, extensions.source_module(name)) for key, name in found]
    return [reference for reference in references if reference.module != OUR_PACKAGE]
