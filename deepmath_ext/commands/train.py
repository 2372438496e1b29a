"""Compose, validate and launch a training recipe on verl."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from deepmath_ext.errors import Terminated

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from deepmath_ext.launch import RecipeSource

EPILOG = """\
Examples:
  deepmath train smoke-1gpu actor_rollout_ref.model.path=/models/qwen0.5b --dry-run
  deepmath train deepmath-zero-7b data.train_files=/shared/train.parquet trainer.nnodes=2
  deepmath train --submit http://HEAD_IP:8265 deepmath-zero-7b data.train_files=/shared/train.parquet
  deepmath train --submit http://HEAD_IP:8265 --detach deepmath-zero-7b ...   # submit, print the job id, return
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
        help="submit to a running Ray cluster as a Ray job (its dashboard address, e.g. http://head:8265): "
        "preflight checks on every node, then the job's logs follow here (docs/training.md: Run on a Ray cluster)",
    )
    add(
        "--ship-package",
        action="store_true",
        help="with --submit: send deepmath_ext along (py_modules) for clusters where it is not pip-installed",
    )
    add(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="with --submit: one more variable for the job's runtime env (its value here, or VALUE); repeatable",
    )
    add(
        "--detach",
        action="store_true",
        help="with --submit: return once the job is submitted (Ctrl-C then leaves it running); without it, "
        "the job's logs follow here and Ctrl-C or SIGTERM stops the job",
    )
    add(
        "--no-preflight",
        action="store_true",
        help="with --submit: skip the probe job that checks GPUs, paths and plug-in imports on every node",
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
        "recipe's tokenizer, the bundled DeepMath sample in the recipe's template, batch 2, n 2, 2 steps; with "
        "--submit, on a cluster of CPU nodes each started with --num-gpus=1 (--smoke-dir on shared storage)",
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

    _check_flags(args)
    # The cluster is asked first (seconds), so a refused token or a wrong address shows before validation.
    client = _connect(args.submit) if args.submit and not (args.dry_run or args.print_config) else None
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
    if args.submit:
        return _submit(args, client, source, cfg, overrides, env)
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


# Options that only mean something with another one: (option, its attribute, the one it needs).
DEPENDENT_FLAGS = (
    ("--tokenizer", "tokenizer", "smoke_cpu"),
    ("--smoke-dir", "smoke_dir", "smoke_cpu"),
    ("--ship-package", "ship_package", "submit"),
    ("--env", "env", "submit"),
    ("--detach", "detach", "submit"),
    ("--no-preflight", "no_preflight", "submit"),
)


def _check_flags(args: argparse.Namespace) -> None:
    from deepmath_ext.launch import LaunchError

    for flag, attribute, needed in DEPENDENT_FLAGS:
        if getattr(args, attribute) and not getattr(args, needed):
            raise LaunchError(f"{flag} only applies with --{needed.replace('_', '-')}")


# A job attaches to the running cluster, where ray.init refuses resource counts: the smoke's own
# `ray_kwargs.ray_init.*` (logical GPUs and CPUs for a one-machine Ray) are left out of a submitted smoke.
ATTACHED_RAY_INIT = "ray_kwargs.ray_init."


def _smoke_setup(
    args: argparse.Namespace, source: RecipeSource
) -> tuple[list[str], dict[str, str], list[str]]:
    """The smoke's overrides before the user's, the environment that loads the CPU platform, the changes."""
    from deepmath_ext import launch
    from deepmath_ext.cpu_smoke import cpu_platform, smoke

    plan = smoke.plan_smoke(
        launch.compose_recipe(source, args.overrides), args.overrides, args.tokenizer, args.smoke_dir
    )
    overrides = plan.overrides
    if args.submit:
        overrides = [o for o in overrides if not smoke.given_keys([o]).pop().startswith(ATTACHED_RAY_INIT)]
        return [*overrides, *args.overrides], cpu_platform.environment(), plan.changes
    return [*overrides, *args.overrides], {**os.environ, **cpu_platform.environment()}, plan.changes


def _connect(address: str) -> Any:
    """A job client of the cluster, after an authenticated request has gone through."""
    from deepmath_ext.launch import cluster

    print(f"Ray auth: {cluster.use_ray_token()}", flush=True)
    return cluster.connect(address)


def _submit(
    args: argparse.Namespace,
    client: Any,
    source: RecipeSource,
    cfg: DictConfig,
    overrides: list[str],
    smoke_env: dict[str, str] | None,
) -> int:
    """Build the job's runtime env, check the cluster, submit, then follow the job (or return, --detach)."""
    from deepmath_ext.launch import cluster, probe, runtime_env
    from deepmath_ext.launch.runtime_env import Piece
    from deepmath_ext.reward.recipe import third_party_references

    plugins = third_party_references(cfg)
    pieces = [runtime_env.user_piece(os.environ, args.env)]
    if args.ship_package:
        pieces.append(runtime_env.package_piece())
    if plugins:
        pieces.append(runtime_env.plugins_piece(plugins))
    if smoke_env:
        pieces.append(Piece("the --smoke-cpu platform", smoke_env))
    job_env = runtime_env.merge(pieces)
    print(f"runtime env (values not shown):\n  {runtime_env.describe(job_env)}")
    # A packaged recipe is found by name on the cluster; a recipe file must be on storage every node sees.
    packaged = source.config_path.startswith("pkg://")
    recipe_file = None if packaged else f"{source.config_path}/{source.name}.yaml"
    entrypoint = [*cluster.CLUSTER_ENTRYPOINT, recipe_file or source.name, *overrides]
    print(f"job entrypoint:\n  {shlex.join(entrypoint)}", flush=True)
    problems = cluster.relative_paths(cfg, recipe_file)
    if args.dry_run:
        _report(problems, fatal=False)
        return 0
    if not args.no_preflight:
        spec = cluster.probe_spec(cfg, job_env, plugins, recipe_file)
        report = cluster.run_probe(client, spec, job_env)
        for line in probe.lost_nodes(report):  # the GPU count below is of the nodes that are left
            print(f"preflight: warning: {line}", file=sys.stderr)
        problems += cluster.cluster_problems(cfg, report)
    _report(problems, fatal=True)
    job = cluster.submit(client, entrypoint, job_env, source.name)
    print(f"submitted Ray job {job.job_id}\n{job.follow_hint()}", flush=True)
    if args.detach:
        return 0
    status = cluster.follow(client, job)
    print(f"Ray job {job.job_id}: {status}", file=sys.stderr)
    return 0 if status == "SUCCEEDED" else 1


def _report(problems: list[str], fatal: bool) -> None:
    """Each preflight problem on its own line; then, if fatal, one error that counts them."""
    from deepmath_ext.launch import LaunchError

    for problem in problems:
        print(f"preflight: {problem}", file=sys.stderr)
    if problems and fatal:
        raise LaunchError(
            f"preflight found {len(problems)} problem(s), each above with its fix; nothing submitted"
        )


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
