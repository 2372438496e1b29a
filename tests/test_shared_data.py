"""Where the tests find their data: DEEPMATH_TEST_DATA, then ../shared/data beside the repository, then the hub;
without any, one skip line naming the three."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import shared_data
from shared_data import ENV_VAR, HUB_ENV_VAR, MissingTestData, locate

REPO = Path(__file__).resolve().parents[1]
# A hub dataset nobody publishes: with network the hub answers 404, without it the lookup fails; either way
# nothing is downloaded.
NO_SUCH_DATASET = "deepmath-tests/no-such-dataset"


@pytest.fixture
def beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for ../shared/data, and no DEEPMATH_TEST_DATA."""
    folder = tmp_path / "shared" / "data"
    folder.mkdir(parents=True)
    monkeypatch.setattr(shared_data, "BESIDE_REPO", folder)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv(HUB_ENV_VAR, NO_SUCH_DATASET)
    return folder


def test_the_variable_comes_first(beside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "own"
    own.mkdir()
    monkeypatch.setenv(ENV_VAR, str(own))
    assert locate() == own


def test_then_the_folder_beside_the_repository(beside: Path) -> None:
    assert locate() == beside


def test_a_wrong_variable_is_not_replaced_by_the_folder_beside(beside, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(MissingTestData, match=f"{ENV_VAR}=.*nowhere is not a folder"):
        locate()


def test_nothing_found_is_one_line_naming_the_three_options(beside: Path) -> None:
    beside.rmdir()
    with pytest.raises(MissingTestData) as missing:
        locate()
    line = str(missing.value)
    assert "\n" not in line
    assert f"{ENV_VAR}=DIR" in line and str(beside) in line and NO_SUCH_DATASET in line


@pytest.mark.slow  # a pytest process whose evaluator fixture imports torch before it skips
def test_a_data_needing_test_skips_with_that_line(tmp_path: Path) -> None:
    env = {**os.environ, ENV_VAR: str(tmp_path / "nowhere"), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_data_benchmarks.py::test_gold_answers_follow_each_benchmarks_convention",
         "tests/test_eval_run.py::test_a_model_of_no_known_family_needs_a_template"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    # pytest folds the same reason into one summary line: "SKIPPED [2] <where>: <reason>"
    assert done.returncode == 0 and "2 skipped" in done.stdout, done.stdout[-2000:]
    assert len(skips) == 1 and skips[0].startswith("SKIPPED [2]")
    assert f"{ENV_VAR}={tmp_path / 'nowhere'} is not a folder" in skips[0]
