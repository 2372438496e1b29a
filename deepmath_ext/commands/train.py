"""Compose, validate and launch a training recipe on verl."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from deepmath_ext.errors import Terminated

if TYPE_CHECKING:
    from deepmath_ext.launch import RecipeSource

EPILOG = """\
Examples:
  deepmath train smoke-1gpu actor_rollout_ref.model.path=/models/qwen0.5b --dry-run
  deepmath train deepmath-zero-7b data.train_files=/shared/train.parquet trainer.nnodes=2
  deepmath train --submit http://HEAD_IP:8265 deepmath-zero-7b data.train_files=/shared/train.parquet
Overrides use Hydra's syntax: key=value changes a key, +key=value adds one, ~key removes one.
"""
# Seconds the trainer's processes get to stop after Ctrl-C / SIGTERM is passed on, before they are killed.
STOP_GRACE_S = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register `deepmath train` options."""
    add = parser.add_argument
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add("recipe", nargs="?", help="a packaged recipe name (see --list) or a recipe YAML file")
    add("overrides", nargs="*", help="Hydra overrides of the recipe (key=value)")
    add("--dry-run", action="store_true", help="validate and print the command, do not launch")
    add(
        "--print-config",
        action="store_true",
        help="print the composed, resolved config as YAML on stdout (nothing else) and stop",
    )
    add(
        "--list",
        action="store_true",
        help="list the packaged recipes (model, nodes, template, reward) and stop",
    )
    add(
        "--submit",
        metavar="ADDRESS",
        help="submit to a running Ray cluster with `ray job submit` (dashboard address, e.g. http://head:8265)",
    )
    add(
        "--ship-package",
        action="store_true",
        help="with --submit: send deepmath_ext along (py_modules) for clusters where it is not pip-installed",
    )
    add(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="cuda (default): a local launch checks this machine's GPUs first; cpu: skip that check, for "
        "your own CPU setup (e.g. a verl platform plug-in of yours; --smoke-cpu brings one)",
    )
    smoke = parser.add_argument_group("CPU smoke run (needs vLLM's CPU build: scripts/cpu_engine_env.sh)")
    smoke.add_argument(
        "--smoke-cpu",
        action="store_true",
        help="run the recipe scaled down on CPU through verl's real trainer: a tiny random model around the "
        "recipe's tokenizer, the bundled DeepMath sample in the recipe's template, batch 2, n 2, 2 steps",
    )
    smoke.add_argument(
        "--tokenizer", metavar="PATH", help="with --smoke-cpu: tokenizer folder (default: the recipe's model)"
    )
    smoke.add_argument(
        "--smoke-dir",
        metavar="DIR",
        help="with --smoke-cpu: where the tiny model, data and checkpoints go (default: a new temp folder)",
    )


def run(args: argparse.Namespace) -> int:
    """Compose and check the recipe, then run verl's trainer on it (unless --dry-run / --print-config)."""
    from deepmath_ext.launch import LaunchError, list_recipes

    if args.list:
        return _list()
    if not args.recipe:
        raise LaunchError(f"name a recipe: {', '.join(list_recipes())}")
    return _run(args)


def _list() -> int:
    """One line per packaged recipe (name, model, nodes, template, reward policy), then its algorithm changes."""
    from deepmath_ext import launch
    from deepmath_ext.launch.reference import changes

    names = launch.list_recipes()
    width = max(len(name) for name in names)
    for name in names:
        print(f"{name:<{width}}  {launch.describe(launch.compose_recipe(launch.find_recipe(name), []))}")
        if found := changes(name):
            print(f"{'':<{width}}  changed from the reference run: {'; '.join(found)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from deepmath_ext import launch

    if (args.tokenizer or args.smoke_dir) and not args.smoke_cpu:
        raise launch.LaunchError("--tokenizer and --smoke-dir only apply with --smoke-cpu")
    overrides, env, changes = list(args.overrides), None, []
    # verl and its plug-ins print while loading: keep stdout for the config / summary alone.
    with contextlib.redirect_stdout(sys.stderr):
        source = launch.find_recipe(args.recipe)
        launch.load_verl_plugins()
        if args.smoke_cpu:
            overrides, env, changes = _smoke_setup(args, source)
        cfg = launch.compose_recipe(source, overrides)
        if not args.print_config:
            launch.validate_recipe(cfg)
    if args.print_config:
        sys.stdout.write(OmegaConf.to_yaml(cfg, resolve=True))
        return 0
    print(f"recipe {source.name} ({source.config_path}) is valid:\n{launch.summarize(cfg)}")
    if changes:
        print("smoke-cpu changes to the recipe:\n" + "\n".join(f"  {change}" for change in changes))
    if args.ship_package and not args.submit:
        raise launch.LaunchError("--ship-package only applies with --submit")
    if args.submit:
        return _submit(args, source)
    argv = launch.launch_command(source, overrides)
    print(f"command:\n  {launch.format_command(argv)}", flush=True)
    if args.dry_run:
        return 0
    if args.smoke_cpu:
        from deepmath_ext.cpu_smoke.smoke import check_cpu_engine

        check_cpu_engine()
    elif args.device == "cuda":
        launch.check_gpus(cfg)
    return run_in_process_group(argv, env=env)


def _smoke_setup(
    args: argparse.Namespace, source: RecipeSource
) -> tuple[list[str], dict[str, str], list[str]]:
    """The smoke's overrides before the user's, the environment that loads the CPU platform, the changes."""
    from deepmath_ext import launch
    from deepmath_ext.cpu_smoke import smoke

    if args.submit:
        raise launch.LaunchError("--smoke-cpu runs on this machine: it does not combine with --submit")
    from deepmath_ext.cpu_smoke import cpu_platform

    plan = smoke.plan_smoke(
        launch.compose_recipe(source, args.overrides), args.overrides, args.tokenizer, args.smoke_dir
    )
    return [*plan.overrides, *args.overrides], {**os.environ, **cpu_platform.environment()}, plan.changes


def _submit(args: argparse.Namespace, source: RecipeSource) -> int:
    from deepmath_ext.launch import command

    runtime_env = command.job_runtime_env(os.environ, args.ship_package)
    print(f"runtime env (values not shown):\n  {command.describe_runtime_env(runtime_env)}")
    # A packaged recipe is found by name on the cluster; a recipe file must be on storage every node sees.
    recipe = (
        args.recipe if source.config_path.startswith("pkg://") else f"{source.config_path}/{source.name}.yaml"
    )
    runtime_env_file = Path("RUNTIME_ENV_FILE") if args.dry_run else command.write_runtime_env(runtime_env)
    argv = command.submit_command(args.submit, runtime_env_file, recipe, args.overrides)
    print(f"command:\n  {command.format_command(argv)}", flush=True)
    if args.dry_run:
        return 0
    try:
        return run_in_process_group(argv)
    finally:
        runtime_env_file.unlink()


def run_in_process_group(
    argv: list[str], grace_s: float = STOP_GRACE_S, env: dict[str, str] | None = None
) -> int:
    """Run `argv` in a process group of its own; Ctrl-C or SIGTERM goes to the whole group, then kill."""
    process = subprocess.Popen(argv, start_new_session=True, env=env)
    try:
        return process.wait()
    except (KeyboardInterrupt, Terminated) as stop:
        _stop_group(
            process, signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM, grace_s
        )
        raise


def _stop_group(process: subprocess.Popen, signum: int, grace_s: float) -> None:
    """Send `signum` to the child's group, wait up to `grace_s` (or a second Ctrl-C), then SIGKILL the rest."""
    # The group outlives its leader while any member (a Ray worker, a data loader) is alive: kill it anyway.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    with contextlib.suppress(subprocess.TimeoutExpired, KeyboardInterrupt, Terminated):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
