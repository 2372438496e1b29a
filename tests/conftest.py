"""Shared pytest fixtures: the read-only test data (shared_data.py finds it), engines, caches and signals."""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
from shared_data import MissingTestData, data_dir, data_path


def pytest_configure(config: pytest.Config) -> None:
    # Under `--dist loadfile`, xdist would hand out files by their number of tests, the few long ones last.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    if "PYTEST_XDIST_WORKER" in os.environ:
        # One torch/OpenMP thread per worker (and the processes it starts): the workers share the cores.
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with a `slow` test first: with one file per xdist worker at a time, the long ones start
    early and the many short ones fill in around them, so the workers finish together."""
    slow_modules = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in slow_modules)  # stable: each group keeps its order


def _skip_without_data(item: pytest.Item):
    """Missing test data (shared_data.MissingTestData), in a fixture or a test, is one skip line, not an error."""
    try:
        return (yield)
    except MissingTestData as missing:
        pytest.skip(str(missing))


pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_skip_without_data)
pytest_runtest_call = pytest.hookimpl(wrapper=True)(_skip_without_data)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The test data folder (benchmarks/, tokenizers/, train_samples/, verifier_eval/)."""
    return data_dir()


@pytest.fixture(scope="session")
def benchmarks_dir() -> Path:
    """Local copies of the six benchmarks as <name>.jsonl."""
    return data_path("benchmarks")


@pytest.fixture(scope="session")
def tokenizers_dir() -> Path:
    """Offline Qwen2.5 / R1-distill tokenizers (qwen2.5-7b_assembled, deepseek-r1-distill-qwen_assembled, ...)."""
    return data_path("tokenizers")


@pytest.fixture(scope="session")
def smoke(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Overrides that point smoke-1gpu at a tiny local model and sample data prepared for it."""
    from recipes_support import local_overrides

    return local_overrides("smoke-1gpu", data_root, tmp_path_factory.getbasetemp() / "recipes-cache")


@pytest.fixture
def local_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A launch goes to a Ray cluster when RAY_ADDRESS is set; tests of launches on this machine unset it."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


@pytest.fixture(scope="session")
def eval_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The evaluator tests' tiny random Qwen2, built once per session."""
    from eval_support import build_tiny_model, single_threaded_torch

    single_threaded_torch()
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def ray_session():
    """One 2-CPU Ray session for the whole run (starting Ray costs 10-40 s here).

    Reward actors have fixed names, so each test that starts a reward manager kills its actors when done.
    """
    import ray

    sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # ray.init makes SIGTERM exit the process; later tests in this process check `deepmath`'s own handling.
    signal.signal(signal.SIGTERM, sigterm)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test starts with an empty deepmath cache (embeddings), so none depends on another's run.
    monkeypatch.setenv("DEEPMATH_CACHE_DIR", str(tmp_path / "deepmath-cache"))


@pytest.fixture(autouse=True)
def _own_input_claims():
    # The inputs a command claims (deepmath_ext.files.claim_inputs) live for one `deepmath` command; a test
    # that calls library code directly gets its own scope, so no test sees another's claims.
    from deepmath_ext.files import input_claims

    with input_claims():
        yield


@pytest.fixture
def sigterm_lost_in_gc():
    """Lose one SIGTERM in `deepmath`: the first garbage collection once `main` has installed its handler (and
    `.when()` holds) runs it inside a gc callback, where Python drops what it raises (as it did in the import
    lock's weakref callback). `.fired` lists the collector phase it fired in.
    """
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # so `main` installs its own handler
    lost, thresholds = SimpleNamespace(fired=[], when=lambda: True), gc.get_threshold()

    def lose_once(phase: str, info: dict) -> None:
        handler = signal.getsignal(signal.SIGTERM)
        if not lost.fired and callable(handler) and lost.when():
            lost.fired.append(phase)
            gc.set_threshold(*thresholds)
            handler(signal.SIGTERM, None)

    gc.callbacks.append(lose_once)
    gc.set_threshold(1)  # collect at once, so it fires as soon as it may
    yield lost
    gc.callbacks.remove(lose_once)
    gc.set_threshold(*thresholds)
