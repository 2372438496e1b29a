"""Module-level grading functions over shared, lazily started verifier pools."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence

from deepmath_ext.verify.policies import DEFAULT_POLICY
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S, VerifierPool, default_workers
from deepmath_ext.verify.status import Grade

_pools: dict[tuple[int, float], VerifierPool] = {}
_pools_lock = threading.Lock()


def get_pool(workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> VerifierPool:
    """The process-wide pool for this (workers, timeout_s), started on first use, closed at exit."""
    key = (workers or default_workers(), float(timeout_s))
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = VerifierPool(workers=key[0], timeout_s=key[1])
        return pool


@atexit.register
def close_pools() -> None:
    """Stop every shared pool's workers."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def grade(
    response: str,
    gold: str,
    *,
    policy: str = DEFAULT_POLICY,
    require_think: bool = True,
    benchmark: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    pool: VerifierPool | None = None,
) -> Grade:
    """Grade one response against its gold answer under a grading policy (default `strict`)."""
    pool = pool or get_pool(timeout_s=timeout_s)
    return pool.submit(
        response, gold, policy=policy, require_think=require_think, benchmark=benchmark
    ).result()


def grade_batch(
    responses: Sequence[str],
    golds: Sequence[str],
    *,
    policy: str = DEFAULT_POLICY,
    require_think: bool = True,
    benchmark: str | None = None,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    pool: VerifierPool | None = None,
    progress: bool = False,
) -> list[Grade]:
    """Grade responses[i] against golds[i] under one policy; symbolic checks run in worker processes."""
    pool = pool or get_pool(workers, timeout_s)
    return pool.grade_batch(
        responses, golds, policy=policy, require_think=require_think, benchmark=benchmark, progress=progress
    )
