"""`manifest.json`: everything that moves a published number, recorded per run."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
import time
from pathlib import Path
from typing import Any

from deepmath_ext.atomic_files import write_json_atomic
from deepmath_ext.evaluate.files import read_json, require_run_file

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
    """The verifier's own version string if it declares one, else the package version."""
    from deepmath_ext import verify

    declared = getattr(verify, "VERIFIER_VERSION", None) or getattr(verify, "__version__", None)
    return str(declared or f"deepmath {importlib.metadata.version('deepmath')}")


def environment() -> dict[str, Any]:
    """Versions and platform facts."""
    return {
        "versions": package_versions(),
        "verifier": verifier_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def write_manifest(run_dir: Path, manifest: dict[str, Any], invocation: dict[str, Any]) -> dict[str, Any]:
    """Write `manifest`, keeping the history of earlier invocations of the same run directory."""
    history = previous_manifest(run_dir).get("invocations", [])
    invocation = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **invocation}
    full = {**manifest, "invocations": [*history, invocation]}
    write_json_atomic(run_dir / MANIFEST_FILE, full)
    return full


def previous_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest an earlier invocation wrote in `run_dir`, or {} for a new run directory."""
    path = run_dir / MANIFEST_FILE
    return read_json(path) if path.exists() else {}


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a run directory."""
    return read_json(require_run_file(run_dir, MANIFEST_FILE))


def record_regrade(run_dir: Path, command: list[str]) -> None:
    """Note a re-grade in the manifest, with the verifier and package versions it used."""
    manifest = {k: v for k, v in load_manifest(run_dir).items() if k != "invocations"}
    write_manifest(run_dir, {**manifest, **environment()}, {"command": command, "regraded": True})
