"""Checks a composed recipe must pass before any GPU or Ray process starts, in the order they run."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from deepmath_ext.endpoint import is_hub_id, require_hub
from deepmath_ext.errors import LaunchError, one_line
from deepmath_ext.launch.recipe_keys import check_values

PLUGIN_MODULE = "deepmath_ext.plugin"
# Registered by the plug-in on `import verl`; its presence shows verl loaded the plug-in.
TEMPLATE_RESOLVER = "deepmath.template"
DATA_KEYS = ("data.train_files", "data.val_files")
ERROR_CHARS = 400  # of a verl or Hydra error quoted in a LaunchError
# Parquet schema metadata written by `deepmath prepare`: the template the prompts were built with.
PREPARED_TEMPLATE_KEY = b"deepmath.template"
# Building its dataclass loads the tokenizer and HF config from the model path (local or the hub).
MODEL_SECTION = "actor_rollout_ref.model"
# The dataclass sections of verl's config that `omega_conf_to_dataclass` builds (and so checks).
DATACLASS_SECTIONS = (
    "algorithm",
    "actor_rollout_ref.actor",
    "actor_rollout_ref.rollout",
    MODEL_SECTION,
)


def load_verl_plugins() -> None:
    """Import verl (which loads its plug-ins) and fail if ours did not load, with the reason."""
    import verl  # noqa: F401  (importing verl loads every `verl.plugins` entry point)

    from deepmath_ext.verl_overrides.compat import verl_version_error

    version_error = verl_version_error()
    if version_error:
        raise LaunchError(version_error)
    if OmegaConf.has_resolver(TEMPLATE_RESOLVER):
        return
    try:
        importlib.import_module(PLUGIN_MODULE)
    except Exception as error:
        raise LaunchError(
            f"the deepmath verl plug-in ({PLUGIN_MODULE}) fails to import: {error!r}"
        ) from error
    raise LaunchError(
        "verl did not load the deepmath plug-in: install the package (pip install -e .) so its `verl.plugins` "
        f"entry point exists, check VERL_USE_EXTERNAL_PLUGINS, or set VERL_USE_EXTERNAL_MODULES={PLUGIN_MODULE}"
    )


def validate_recipe(cfg: DictConfig) -> None:
    """Run every check on the composed config; the first failure raises LaunchError."""
    for check in CHECKS:
        check(cfg)


def check_resolves(cfg: DictConfig) -> None:
    """Every interpolation resolves: environment variables, ${deepmath.template:NAME}, cross references."""
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except Exception as error:
        raise LaunchError(f"config does not resolve: {one_line(error, ERROR_CHARS)}") from error


def check_verl_rules(cfg: DictConfig) -> None:
    """verl's own `validate_config` (batch sizes, micro batches, critic, KL, LoRA...)."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    except Exception as error:
        raise LaunchError(f"verl rejects the config: {one_line(error, ERROR_CHARS)}") from error


def check_dataclass_sections(cfg: DictConfig) -> None:
    """Build verl's dataclasses for each section; the model section loads the tokenizer and HF config."""
    from verl.utils.config import omega_conf_to_dataclass

    model = str(OmegaConf.select(cfg, f"{MODEL_SECTION}.path"))
    if is_hub_id(model):
        require_hub(f"{MODEL_SECTION}.path={model}", f"set {MODEL_SECTION}.path to a local model folder")
    for section in DATACLASS_SECTIONS:
        try:
            omega_conf_to_dataclass(OmegaConf.select(cfg, section))
        except Exception as error:
            where = (
                f"{section} (path={cfg.actor_rollout_ref.model.path})"
                if section == MODEL_SECTION
                else section
            )
            raise LaunchError(f"{where}: {one_line(error, ERROR_CHARS)}") from error


def check_reward_settings(cfg: DictConfig) -> None:
    """deepmath's reward settings sit where the selected reward reads them (no key silently ignored) and parse."""
    from deepmath_ext.reward.recipe import ignored_settings_error, settings_in_use

    error = ignored_settings_error(cfg)
    if error:
        raise LaunchError(error)
    try:
        reward = settings_in_use(cfg)
    except ValueError as error:
        raise LaunchError(one_line(error, ERROR_CHARS)) from error
    metric = OmegaConf.select(cfg, "algorithm.filter_groups.metric")
    if reward and OmegaConf.select(cfg, "algorithm.filter_groups.enable") and metric not in reward.keys:
        raise LaunchError(
            f"algorithm.filter_groups.metric={metric} is not a key of the reward's terms {list(reward.keys)}: "
            "keep `accuracy` in reward_kwargs.terms (weight 0.0 keeps its keys without its score)"
        )


def check_reward(cfg: DictConfig) -> None:
    """The reward manager resolves and accepts its settings: it is built here as each reward worker builds it
    (verl's DAPO checks of the overlong buffer, our misspelt-key check); no verifier worker starts."""
    from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls

    from deepmath_ext.reward.recipe import describe_manager, manager_overrides

    where = f"reward.reward_manager {describe_manager(cfg)}"
    try:
        manager_cls = resolve_reward_manager_cls(cfg)
    except Exception as error:
        raise LaunchError(
            f"{where}: {one_line(error, ERROR_CHARS)}; verl's own managers are selected with "
            f"reward.reward_manager.source=register, deepmath's with {' '.join(manager_overrides())}"
        ) from error
    try:
        manager_cls(config=cfg, tokenizer=None, compute_score=get_custom_reward_fn(cfg))
    except Exception as error:
        raise LaunchError(f"{where}: {one_line(error, ERROR_CHARS)}") from error


def check_trainer_mode(cfg: DictConfig) -> None:
    """`trainer.v1.trainer_mode` names a registered v1 trainer (ours add reward telemetry to verl's)."""
    from verl.trainer.ppo.v1 import get_trainer_cls

    try:
        get_trainer_cls(cfg.trainer.v1.trainer_mode)
    except ValueError as error:
        raise LaunchError(f"trainer.v1.trainer_mode: {one_line(error, ERROR_CHARS)}") from error


def check_data_files(cfg: DictConfig) -> None:
    """Every local train and validation file exists and has rows (remote URIs such as hdfs:// are left to verl)."""
    import pyarrow.parquet as pq

    for key, path in _local_data_files(cfg):
        if not Path(path).expanduser().is_file():
            raise LaunchError(f"{key}: file not found: {path} (create it with `deepmath prepare`)")
        if path.endswith(".parquet") and pq.read_metadata(Path(path).expanduser()).num_rows == 0:
            raise LaunchError(f"{key}: {path} has no rows")


def check_data_template(cfg: DictConfig) -> None:
    """Files written by `deepmath prepare` record their template: it must match the recipe's."""
    from deepmath_ext.reward.recipe import settings_location
    from deepmath_ext.templates import get_template

    chat_template = OmegaConf.select(cfg, f"{MODEL_SECTION}.custom_chat_template")
    location = settings_location(cfg)
    require_think = location and OmegaConf.select(cfg, f"{location}.require_think", default=None)
    for key, path, name in _prepared_templates(cfg):
        template = get_template(name)
        if template.chat_template != chat_template:
            raise LaunchError(
                f"{key}: {path} was prepared with template {name!r} but the recipe uses another chat template; "
                f"run `deepmath prepare --template` with the recipe's template or set "
                f"{MODEL_SECTION}.custom_chat_template='${{deepmath.template:{name}}}'"
            )
        if require_think and not template.thinking:
            raise LaunchError(
                f"{key}: {path} was prepared with template {name!r}, which has no </think> section, but "
                f"{location}.require_think=true would score every response as a format error"
            )


def _prepared_templates(cfg: DictConfig) -> list[tuple[str, str, str]]:
    """(config key, path, template name) for each local parquet file that records its template."""
    import pyarrow.parquet as pq

    found = []
    for key, path in _local_data_files(cfg):
        if path.endswith(".parquet"):
            metadata = pq.read_schema(Path(path).expanduser()).metadata or {}
            name = metadata.get(PREPARED_TEMPLATE_KEY)
            if name is not None:
                found.append((key, path, name.decode()))
    return found


def check_gpus(cfg: DictConfig) -> None:
    """A local launch needs this machine's GPUs; with RAY_ADDRESS set, verl checks the cluster's."""
    if os.environ.get("RAY_ADDRESS"):
        return
    import torch

    found = torch.cuda.device_count()
    wanted = cfg.trainer.n_gpus_per_node
    if found == 0:
        raise LaunchError(
            f"no GPU: torch sees no CUDA device and the recipe needs {wanted} per node "
            "(--dry-run validates without GPUs; set RAY_ADDRESS to submit to a Ray cluster)"
        )
    if cfg.trainer.nnodes == 1 and found < wanted:
        raise LaunchError(f"trainer.n_gpus_per_node={wanted} but this machine has {found} GPU(s)")


def _local_data_files(cfg: DictConfig) -> Iterator[tuple[str, str]]:
    """(config key, path) for each train and validation file not behind a URI scheme such as hdfs://."""
    for key in DATA_KEYS:
        for path in _as_list(OmegaConf.select(cfg, key)):
            if "://" not in path:
                yield key, path


def _as_list(value: object) -> list[str]:
    if isinstance(value, ListConfig | list | tuple):
        return [str(v) for v in value]
    return [] if value is None else [str(value)]


# Cheap checks first, so a typo is reported before the model's tokenizer is loaded.
CHECKS: tuple[Callable[[DictConfig], None], ...] = (
    check_resolves,
    check_values,
    check_data_files,
    check_data_template,
    check_reward_settings,
    check_reward,
    check_trainer_mode,
    check_verl_rules,
    check_dataclass_sections,
)
