"""`manifest.json`, the one record of a run: what moves its numbers, and every invocation.

Its `pinned` part (sample settings, model identity, server facts, benchmark content hashes and their
fingerprint) is what a re-run is compared against; it is written when a run stores its first sample,
so a run that fails before generating anything pins nothing.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
import time
from pathlib import Path
from typing import Any

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
    """Write `manifest`, keeping earlier invocations of the run directory and adding `invocation`."""
    history = previous_manifest(run_dir).get("invocations", [])
    if invocation is not None:
        history = [*history, {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **invocation}]
    full = {**manifest, "invocations": history}
    write_json_atomic(run_dir / MANIFEST_FILE, full)
    return full


def previous_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest an earlier invocation wrote in `run_dir`, or {} for a new run directory."""
    path = run_dir / MANIFEST_FILE
    return read_json(path) if path.exists() else {}


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a run directory."""
    return read_json(require_run_file(run_dir, MANIFEST_FILE))


def record_regrade(run_dir: Path, command: list[str], policies: list[str]) -> None:
    """Note a re-grade in the manifest, with its policies and the verifier and package versions it used."""
    manifest = {k: v for k, v in load_manifest(run_dir).items() if k != "invocations"}
    write_manifest(
        run_dir,
        {**manifest, **environment(), "policies": policies},
        {"command": command, "regraded": True, "policies": policies, "verifier": verifier_version()},
    )
