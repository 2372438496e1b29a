"""Find recipes (packaged or a user's YAML file) and compose them with Hydra's compose API."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from hydra import compose, initialize_config_dir, initialize_config_module
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from deepmath_ext.errors import LaunchError
from deepmath_ext.launch.recipe_keys import RECIPES_MODULE

# Hydra's wording for an override whose key is not in the composed config.
_MISSING_KEY = re.compile(
    r"Could not override '([^']+)'|Could not append to config\. An item is already at '([^']+)'"
)


@dataclass(frozen=True)
class RecipeSource:
    """Where a recipe lives, in the form verl's main_ppo takes on its command line.

    A derived recipe (`deepmath-1.5b-faithful`) is a packaged config plus overrides that come before the
    user's: `config_name` and `overrides` say which.
    """

    name: str
    config_path: str
    config_name: str = ""
    overrides: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.config_name:
            object.__setattr__(self, "config_name", self.name)

    @property
    def file(self) -> Path:
        """The recipe's YAML file (a derived recipe's: the file it derives from)."""
        if self.config_path.startswith("pkg://"):
            from deepmath_ext.launch.recipe_keys import packaged_recipes_dir

            return packaged_recipes_dir() / f"{self.config_name}.yaml"
        return Path(self.config_path) / f"{self.config_name}.yaml"

    def hydra_arguments(self) -> list[str]:
        """`--config-path`, `--config-name` (and a derived recipe's overrides) for verl's main_ppo."""
        return [f"--config-path={self.config_path}", f"--config-name={self.config_name}", *self.overrides]


def list_recipes() -> list[str]:
    """Names of the packaged recipes (YAML files not starting with an underscore) and the derived ones."""
    from deepmath_ext.launch.reference import faithful_recipes

    files = resources.files(RECIPES_MODULE).iterdir()
    packaged = [
        f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml") and not f.name.startswith("_")
    ]
    return sorted(packaged + list(faithful_recipes()))


def find_recipe(name_or_path: str) -> RecipeSource:
    """A packaged recipe by name, or a recipe YAML file by path; LaunchError when neither exists."""
    if name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path).expanduser().resolve()
        if not path.is_file():
            raise LaunchError(f"recipe file not found: {path}")
        from deepmath_ext.launch.recipe_keys import load_recipe_yaml

        load_recipe_yaml(path)  # a YAML error is reported now, before verl is imported
        return RecipeSource(name=path.stem, config_path=str(path.parent))
    known = list_recipes()
    if name_or_path not in known:
        hint = difflib.get_close_matches(name_or_path, known, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise LaunchError(f"unknown recipe {name_or_path!r}{did_you_mean}; known recipes: {', '.join(known)}")
    from deepmath_ext.launch.reference import faithful_recipes

    run, overrides = faithful_recipes().get(name_or_path, (name_or_path, ()))
    return RecipeSource(name_or_path, f"pkg://{RECIPES_MODULE}", run, overrides)


def compose_recipe(source: RecipeSource, overrides: list[str]) -> DictConfig:
    """The recipe merged over verl's ppo_trainer with the overrides applied, unresolved.

    Each key of the recipe's files must be verl's or declared new (`recipe_keys`), before Hydra merges them.
    """
    from deepmath_ext.launch.recipe_keys import check_recipe_keys, packaged_recipes_dir

    check_recipe_keys(source.file, packaged_recipes_dir())
    try:
        return _compose(source, overrides)
    except HydraException as error:
        raise LaunchError(_explain_compose_error(source, overrides, error)) from error


def _compose(source: RecipeSource, overrides: list[str]) -> DictConfig:
    if source.config_path.startswith("pkg://"):
        context = initialize_config_module(config_module=RECIPES_MODULE, version_base=None)
    else:
        context = initialize_config_dir(config_dir=source.config_path, version_base=None)
    with context:
        return compose(config_name=source.config_name, overrides=[*source.overrides, *overrides])


def _explain_compose_error(source: RecipeSource, overrides: list[str], error: HydraException) -> str:
    """One line naming the bad override and, for a misspelt key, the nearest real keys."""
    message = " ".join(str(error).split())
    match = _MISSING_KEY.search(message)
    if match is None:
        return f"recipe {source.name!r}: {message}"
    key = match.group(1) or match.group(2)
    bad = next((o for o in overrides if o.lstrip("+~").startswith(f"{key}=")), key)
    try:
        known_keys = _dotted_keys(_compose(source, []))
    except HydraException:  # the recipe itself is broken too: report the override alone
        known_keys = []
    hints = difflib.get_close_matches(key, known_keys, n=3, cutoff=0.75)
    did_you_mean = f"; did you mean {', '.join(hints)}?" if hints else "; prefix it with '+' to add a new key"
    return f"override {bad!r}: {key!r} is not a key of recipe {source.name!r}{did_you_mean}"


def _dotted_keys(cfg: DictConfig) -> list[str]:
    """Every leaf and section of the config as a dotted path."""
    from deepmath_ext.launch.recipe_keys import dotted_items

    return [key for key, _ in dotted_items(OmegaConf.to_container(cfg, resolve=False))]
