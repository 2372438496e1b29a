"""What makes two samples comparable: the settings a run directory is pinned to."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from deepmath_ext.atomic_files import write_json_atomic
from deepmath_ext.evaluate.files import read_json, require_run_file

SETTINGS_FILE = "settings.json"

# Settings that change the distribution (or the seeded draw) of a sample. Samples generated under
# different values must not be mixed in one run; `n`, batch sizes and parallelism may change freely.
SAMPLE_SETTINGS = (
    "model",
    "backend",
    "dtype",
    "template",
    "template_fingerprint",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
)


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


def _differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    keys = sorted(set(stored) | set(current))
    return [
        f"{k}: {stored.get(k)!r} (stored) != {current.get(k)!r} (now)"
        for k in keys
        if stored.get(k) != current.get(k)
    ]


def pin_settings(
    run_dir: Path, samples: dict[str, Any], benchmark_hashes: dict[str, str], extra: dict[str, Any]
) -> dict:
    """Record the run's settings, or refuse if they conflict with the ones already stored there.

    Benchmarks may be added to a run; a benchmark whose content hash changed may not.
    `extra` (n, require_think, label) is informational and simply updated.
    """
    path = run_dir / SETTINGS_FILE
    stored = read_json(path) if path.exists() else None
    if stored is not None:
        problems = _differences(stored["samples"], samples)
        common = set(stored["benchmarks"]) & set(benchmark_hashes)
        problems += [
            f"benchmark {name} content hash: {stored['benchmarks'][name]} (stored) != {benchmark_hashes[name]} (now)"
            for name in sorted(common)
            if stored["benchmarks"][name] != benchmark_hashes[name]
        ]
        if problems:
            raise SettingsMismatchError(
                f"{run_dir} holds samples made with other settings; mixing them would be wrong. "
                "Use a new --out, or the stored settings:\n  " + "\n  ".join(problems)
            )
        benchmark_hashes = {**stored["benchmarks"], **benchmark_hashes}
    settings = {
        "samples": samples,
        "fingerprint": fingerprint(samples),
        "benchmarks": benchmark_hashes,
        **extra,
    }
    write_json_atomic(path, settings)
    return settings


def load_settings(run_dir: Path) -> dict[str, Any]:
    """The settings stored in a run directory."""
    return read_json(require_run_file(run_dir, SETTINGS_FILE))
