"""Compose the packaged Hydra recipes over verl's config, validate them on CPU, and launch verl's trainer."""

from deepmath_ext.errors import LaunchError
from deepmath_ext.launch.checks import CHECKS, check_gpus, load_verl_plugins, validate_recipe
from deepmath_ext.launch.command import describe, format_command, launch_command, summarize
from deepmath_ext.launch.recipe_keys import RECIPES_MODULE
from deepmath_ext.launch.recipes import RecipeSource, compose_recipe, find_recipe, list_recipes

__all__ = [
    "CHECKS",
    "RECIPES_MODULE",
    "LaunchError",
    "RecipeSource",
    "check_gpus",
    "compose_recipe",
    "describe",
    "find_recipe",
    "format_command",
    "launch_command",
    "list_recipes",
    "load_verl_plugins",
    "summarize",
    "validate_recipe",
]
