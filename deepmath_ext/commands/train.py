"""Compose, validate and launch a training recipe on verl."""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys

EPILOG = """\
Options go before the recipe or after the last override, e.g.
  deepmath train --dry-run smoke-1gpu actor_rollout_ref.model.path=/models/qwen0.5b
  deepmath train deepmath-zero-7b data.train_files=/shared/train.parquet trainer.nnodes=2
Overrides use Hydra's syntax: key=value changes a key, +key=value adds one, ~key removes one.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register `deepmath train` options."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("recipe", nargs="?", help="a packaged recipe name (see --list) or a recipe YAML file")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the recipe (key=value)")
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and print the command, do not launch"
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the composed, resolved config as YAML on stdout (nothing else) and stop",
    )
    parser.add_argument("--list", action="store_true", help="list the packaged recipes and stop")


def run(args: argparse.Namespace) -> int:
    """Compose and check the recipe, then run verl's trainer on it (unless --dry-run / --print-config)."""
    from deepmath_ext.launch import LaunchError, list_recipes

    if args.list or not args.recipe:
        print("\n".join(list_recipes()))
        return 0 if args.list else 2
    try:
        return _run(args)
    except LaunchError as error:
        print(f"deepmath train: error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from deepmath_ext import launch

    # verl and its plug-ins print while loading: keep stdout for the config / summary alone.
    with contextlib.redirect_stdout(sys.stderr):
        source = launch.find_recipe(args.recipe)
        launch.load_verl_plugins()
        cfg = launch.compose_recipe(source, args.overrides)
        if not args.print_config:
            launch.validate_recipe(cfg)
    if args.print_config:
        sys.stdout.write(OmegaConf.to_yaml(cfg, resolve=True))
        return 0
    argv = launch.launch_command(source, args.overrides)
    print(f"recipe {source.name} ({source.config_path}) is valid:\n{launch.summarize(cfg)}")
    print(f"command:\n  {launch.format_command(argv)}", flush=True)
    if args.dry_run:
        return 0
    launch.check_gpus(cfg)
    return subprocess.run(argv, check=False).returncode
