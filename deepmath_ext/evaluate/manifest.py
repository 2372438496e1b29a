"""`manifest.json`, the one record of a run: what moves its numbers, and every invocation.

Its `pinned` part (sample settings, model identity, server facts, benchmark content hashes and their
fingerprint) is what a re-run is compared against: what makes two samples comparable. It is written when
a run stores its first sample, so a run that fails before generating anything pins nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from deepmath_ext.errors import UserError
from deepmath_ext.files import read_json, require_run_file, write_json_atomic

MANIFEST_FILE = "manifest.json"
# Distributions whose versions change generations or grades.
VERSIONED_PACKAGES = ("deepmath", "math-verify", "sympy", "vllm", "torch", "transformers")


def package_versions() -> dict[str, str | None]:
    """Installed version of each package that matters, None when absent."""
    versions: dict[str, str | None] = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def verifier_version() -> str:
    """The verifier's version (`deepmath_ext.verify.VERIFIER_VERSION`): it changes whenever grades may."""
    from deepmath_ext.verify import VERIFIER_VERSION

    return str(VERIFIER_VERSION)


def environment() -> dict[str, Any]:
    """Versions and platform facts."""
    return {
        "versions": package_versions(),
        "verifier": verifier_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def write_manifest(
    run_dir: Path, manifest: dict[str, Any], invocation: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write `manifest`, keeping earlier invocations of the run directory and adding `invocation`.

    An invocation with an "id" replaces the entry of the same id: a command records itself when it starts
    writing (so one that is interrupted is recorded too) and again with what it did when it ends.
    """
    history = previous_manifest(run_dir).get("invocations", [])
    if invocation is not None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **invocation}
        same = [i for i, old in enumerate(history) if "id" in entry and old.get("id") == entry["id"]]
        history = [*history[: same[0]], entry, *history[same[0] + 1 :]] if same else [*history, entry]
    full = {**manifest, "invocations": history}
    write_json_atomic(run_dir / MANIFEST_FILE, full)
    return full


def previous_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest an earlier invocation wrote in `run_dir`, or {} for a new run directory."""
    path = run_dir / MANIFEST_FILE
    return read_json(path) if path.exists() else {}


# What grading and scoring read from a manifest: a file without them is no run's manifest.
REQUIRED_FIELDS = ("pinned", "label", "n", "require_think", "policies")


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a run directory; ValueError naming what is missing when it lacks a required field."""
    path = require_run_file(run_dir, MANIFEST_FILE)
    manifest = read_json(path)
    missing = [key for key in REQUIRED_FIELDS if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: not the manifest of a `deepmath eval` run")
    return manifest


def record_regrade(run_dir: Path, command: list[str], policies: list[str]) -> None:
    """Note a re-grade in the manifest, with its policies and the verifier and package versions it used."""
    manifest = {k: v for k, v in load_manifest(run_dir).items() if k != "invocations"}
    write_manifest(
        run_dir,
        {**manifest, **environment(), "policies": policies},
        {"command": command, "regraded": True, "policies": policies, "verifier": verifier_version()},
    )


# Settings that change the distribution (or the seeded draw) of a sample. Samples generated under
# different values must not be mixed in one run; `n`, batch sizes and parallelism may change freely.
SAMPLE_SETTINGS = (
    "model",
    "tokenizer",
    "backend",
    "dtype",
    "template",
    "template_fingerprint",
    "bos",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
)
# A remote server chooses its own dtype; what it reports about the model it serves is pinned instead.
REMOTE_BACKENDS = frozenset({"openai"})
SERVER_MODEL_FACTS = ("id", "root", "max_model_len")
# Model files up to this size are hashed whole; larger ones (weights) by size and three sampled blocks.
WHOLE_HASH_LIMIT = 16 * 2**20
SAMPLE_BLOCK = 2**20


class SettingsMismatchError(ValueError):
    """A re-run asked for settings that differ from those the stored samples were made with."""


def fingerprint(values: dict[str, Any]) -> str:
    """A short stable hash of a JSON-able dict."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def sample_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The subset of `values` that pins samples, failing if one is absent."""
    missing = [key for key in SAMPLE_SETTINGS if key not in values]
    if missing:
        raise KeyError(f"sample settings lack {missing}")
    return {key: values[key] for key in SAMPLE_SETTINGS}


def _file_digest(path: Path) -> str:
    """sha256 of a file, whole when small, else of its size and three sampled blocks (cheap for weights)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        if size <= WHOLE_HASH_LIMIT:
            digest.update(f.read())
        else:
            for offset in (0, size // 2, size - SAMPLE_BLOCK):
                f.seek(offset)
                digest.update(f.read(SAMPLE_BLOCK))
    return digest.hexdigest()


def folder_fingerprint(folder: Path) -> str:
    """A hash of a model folder's files (config, tokenizer, weights): names, sizes and content digests.

    Only the top level counts, as transformers and vLLM read it; hidden files (caches, locks) do not.
    A checkpoint folder rewritten by a later save gets another fingerprint, while any spelling of the
    same folder (`tiny`, `tiny/`, an absolute path) gets the same one.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"model folder {folder} holds no files")
    entries = [f"{p.name}\x1f{_file_digest(p)}" for p in files]
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]


def _cached_snapshot(hub_id: str) -> Path | None:
    """The local snapshot folder of a hub model in the Hugging Face cache, if it was downloaded."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(hub_id, local_files_only=True))
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None


def model_identity(model: str) -> dict[str, Any]:
    """What a model is, not how it is spelled: a local folder's fingerprint, or hub id + revision.

    A hub id resolves to its cached snapshot (commit hash and fingerprint); before the first download
    the revision is unknown (None), so a run pins it when its first sample is stored.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return {"fingerprint": folder_fingerprint(path)}
    if path.exists() or model.count("/") > 1 or model.startswith((".", "/", "~")):
        raise ValueError(f"model {model!r} is neither a model folder nor a hub id")
    snapshot = _cached_snapshot(model)
    return {
        "hub_id": model,
        "revision": snapshot.name if snapshot else None,
        "fingerprint": folder_fingerprint(snapshot) if snapshot else None,
    }


def server_model(engine: dict[str, Any]) -> dict[str, Any]:
    """The facts an OpenAI-compatible server reports about the model it serves (its /v1/models entry)."""
    info = engine.get("server_model_info")
    if not isinstance(info, dict) or not info.get("id"):
        raise UserError(
            f"the server at {engine.get('base_url')} does not report the model "
            f"{engine.get('served_model')!r} in /v1/models ({info!r}); cannot pin what generated the samples"
        )
    return {key: info.get(key) for key in SERVER_MODEL_FACTS}


def differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per key whose value differs: `key: stored (stored) != current (now)`."""
    keys = sorted(set(stored) | set(current))
    return [
        f"{k}: {stored.get(k)!r} (stored) != {current.get(k)!r} (now)"
        for k in keys
        if stored.get(k) != current.get(k)
    ]


def check_pinned(run_dir: Path, pinned: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse `current` settings that differ from the `pinned` ones of a run that holds samples.

    Both are {"samples": ..., "benchmarks": {name: content hash}}, and `current` holds "server" (what
    a remote server reports, or None) once the backend started. Benchmarks may be added to a run, but
    a benchmark whose content changed may not.
    """
    problems = differences(pinned["samples"], current["samples"])
    if "server" in current:
        problems += [
            f"server {line}" for line in differences(pinned["server"] or {}, current["server"] or {})
        ]
    common = set(pinned["benchmarks"]) & set(current["benchmarks"])
    problems += [
        f"benchmark {name} content hash: {pinned['benchmarks'][name]} (stored) != "
        f"{current['benchmarks'][name]} (now)"
        for name in sorted(common)
        if pinned["benchmarks"][name] != current["benchmarks"][name]
    ]
    if problems:
        raise SettingsMismatchError(
            f"{run_dir} holds samples made with other settings; mixing them would be wrong. "
            "Use a new --out, or the stored settings:\n  " + "\n  ".join(problems)
        )
