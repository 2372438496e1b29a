"""verl training checkpoints as eval models: find them, merge them with verl's merger (cached), order by step.

`deepmath train` leaves FSDP-sharded actor checkpoints (`RUN/global_step_N/actor`) that no inference engine
loads. `merged_model` turns one into a Hugging Face folder with verl's own model merger
(`python -m verl.model_merger merge --backend fsdp`), once: the result is kept beside the actor folder with a
fingerprint of the shards it came from, and merged again only when they change.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MERGED_DIR = "actor_merged_hf"  # beside `actor/`, inside the step's folder
MERGE_RECORD = "deepmath_merge.json"
STEP_DIR = re.compile(r"global_step_(\d+)$")


@dataclass(frozen=True)
class ModelSpec:
    """One model to evaluate: a path or hub id, or a verl actor checkpoint with its training step."""

    model: str
    actor: Path | None = None
    step: int | None = None

    @property
    def name(self) -> str:
        """A short name for run folders and report rows: `step_N` for a checkpoint, else the last component."""
        if self.step is not None:
            return f"step_{self.step}"
        return self.model.rstrip("/").rsplit("/", 1)[-1]


def actor_dir(path: Path) -> Path | None:
    """The verl FSDP actor checkpoint at `path` (or at `path/actor`, a step folder), if there is one."""
    for candidate in (path, path / "actor"):
        if (candidate / "fsdp_config.json").is_file() and (candidate / "huggingface").is_dir():
            return candidate
    return None


def _step(actor: Path) -> int | None:
    match = STEP_DIR.search(actor.parent.name)
    return int(match.group(1)) if match else None


def resolve_models(spec: str) -> list[ModelSpec]:
    """The models a `--model` value names: comma-separated items, each a path, a glob or a hub id.

    Checkpoints are ordered by training step; a glob that matches nothing is an error.
    """
    specs: list[ModelSpec] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        paths = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not paths:
            raise ValueError(f"--model {item!r} matches no file or folder")
        for path in paths:
            actor = actor_dir(Path(path))
            specs.append(ModelSpec(path, actor, _step(actor)) if actor else ModelSpec(path))
    if not specs:
        raise ValueError("--model names no model")
    if any(s.actor for s in specs):
        specs.sort(key=lambda s: (s.step is None, s.step or 0, s.model))
    names = [s.name for s in specs]
    if len(set(names)) < len(names):
        raise ValueError(f"--model names two models with one name ({', '.join(names)}); evaluate them apart")
    return specs


def checkpoint_fingerprint(actor: Path) -> str:
    """A hash of the checkpoint's files: names, sizes and modification times (re-saved shards change it)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in actor.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(actor)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def merged_model(actor: Path) -> Path:
    """A Hugging Face folder of `actor`'s weights, merged by verl's model merger and cached beside it."""
    target = actor.parent / MERGED_DIR
    fingerprint = checkpoint_fingerprint(actor)
    record = target / MERGE_RECORD
    if record.is_file() and json.loads(record.read_text())["fingerprint"] == fingerprint:
        return target
    work = actor.parent / f".{MERGED_DIR}.{os.getpid()}.tmp"  # mkdir, not mkdtemp: the umask's mode
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        command = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp"]
        command += ["--local_dir", str(actor), "--target_dir", str(work)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"verl's model merger failed on {actor}:\n{done.stderr[-2000:]}")
        facts = {"fingerprint": fingerprint, "source": str(actor), "command": command[1:]}
        (work / MERGE_RECORD).write_text(json.dumps(facts, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)  # an older merge of shards that have since changed
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
