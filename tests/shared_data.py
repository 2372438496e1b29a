"""Where the tests' read-only data lives (benchmarks/, tokenizers/, train_samples/, verifier_eval/).

Looked up once, in this order:
1. `$DEEPMATH_TEST_DATA`, when set (then it must be the folder: a wrong path is not silently replaced);
2. `../shared/data` beside the repository (the developers' machines and CI);
3. the Hugging Face hub dataset `$DEEPMATH_TEST_DATA_HUB` (default HUB_DATASET), downloaded once into the hub
   cache (`HF_HOME`), for a user with network.
Without any, `data_path` raises MissingTestData, and conftest turns it into one skip line naming all three.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

ENV_VAR = "DEEPMATH_TEST_DATA"
BESIDE_REPO = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HUB_ENV_VAR = "DEEPMATH_TEST_DATA_HUB"
# The same folder published as a hub dataset: `huggingface-cli upload HUB_DATASET ../shared/data . --repo-type
# dataset`. `repo@revision` pins a commit.
HUB_DATASET = "deepmath-project/test-data"


class MissingTestData(FileNotFoundError):
    """The test data, or one file of it, is not available; its message is the one skip line."""


def _from_hub(spec: str) -> Path:
    from huggingface_hub import snapshot_download

    repo, _, revision = spec.partition("@")
    return Path(snapshot_download(repo_id=repo, repo_type="dataset", revision=revision or None))


def locate() -> Path:
    """The test data folder, from the first source that has it (see the module docstring)."""
    hub = os.environ.get(HUB_ENV_VAR, HUB_DATASET)
    if explicit := os.environ.get(ENV_VAR):
        if Path(explicit).is_dir():
            return Path(explicit)
        raise MissingTestData(
            f"no test data: {ENV_VAR}={explicit} is not a folder (unset it to use {BESIDE_REPO} or the hub "
            f"dataset {hub})"
        )
    if BESIDE_REPO.is_dir():
        return BESIDE_REPO
    try:
        return _from_hub(hub)
    except Exception as error:  # offline, unknown repo, no huggingface_hub: each means "not from the hub"
        reason = (str(error).strip().splitlines() or [""])[0][:160]  # its first line says why
        raise MissingTestData(
            f"no test data: set {ENV_VAR}=DIR, or put it at {BESIDE_REPO}, or let the tests download the hub "
            f"dataset {hub} (needs network; it said: {type(error).__name__}: {reason})"
        ) from None


@functools.cache
def _located() -> Path | MissingTestData:
    try:
        return locate()
    except MissingTestData as missing:
        return missing


def data_dir() -> Path:
    """`locate()`, looked up once per process (a failed lookup too: the hub is asked once)."""
    found = _located()
    if isinstance(found, MissingTestData):
        raise MissingTestData(str(found))
    return found


def data_path(*parts: str) -> Path:
    """A path under the test data folder that must exist (MissingTestData, i.e. a skip, when it does not)."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise MissingTestData(f"test data lacks {'/'.join(parts)} (looked in {data_dir()})")
    return path
