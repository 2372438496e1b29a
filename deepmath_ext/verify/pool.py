"""`VerifierPool`: cheap checks in the caller's thread, symbolic ones in worker processes, memoised; and
`grade`/`grade_batch` over shared pools, started lazily, one per (workers, timeout)."""

from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from deepmath_ext.verify.executor import DEFAULT_MEMORY_MB, SymbolicExecutor, WorkerCheck
from deepmath_ext.verify.pipeline import decide_answer
from deepmath_ext.verify.policies import DEFAULT_POLICY, Decision, get_policy
from deepmath_ext.verify.status import Grade

if TYPE_CHECKING:  # futures (and the logging they import) load with the first worker check, not here
    from concurrent.futures import Future

MAX_DEFAULT_WORKERS = 8
DEFAULT_TIMEOUT_S = 2.0
MEMO_SIZE = 200_000


def default_workers() -> int:
    """One worker per available CPU, at most MAX_DEFAULT_WORKERS."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cpus))


class VerifierPool:
    """A thread-safe grader; usable from any thread, event loop or Ray actor (no signals used)."""

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_mb: int | None = DEFAULT_MEMORY_MB,
    ) -> None:
        self.workers = workers or default_workers()
        self.timeout_s = timeout_s
        self._executor = SymbolicExecutor(self.workers, timeout_s, memory_mb)
        self._lock = threading.Lock()
        # A worker check's key -> its grade (without pred), finished or still running.
        self._memo: OrderedDict[tuple, Future[Grade]] = OrderedDict()

    def submit(
        self,
        response: str,
        gold: str,
        *,
        policy: str = DEFAULT_POLICY,
        require_think: bool = True,
        olympiad_judge: bool = False,
    ) -> Future[Grade]:
        """Grade one response under a policy (see `policies.POLICIES`); cheap cases are done on return.

        `require_think` is read by the `strict` policy only, `olympiad_judge` (see
        `deepmath_ext.data.benchmarks.needs_olympiad_judge`) by `reference-eval` only.
        """
        return self._finish(get_policy(policy).decide(response, gold, require_think, olympiad_judge))

    def submit_answer(self, pred: str, gold: str) -> Future[Grade]:
        """Grade an already extracted answer (no `</think>` or box needed)."""
        return self._finish(decide_answer(pred, gold))

    def grade_batch(
        self,
        responses: Sequence[str],
        golds: Sequence[str],
        *,
        policy: str = DEFAULT_POLICY,
        require_think: bool = True,
        olympiad_judge: bool = False,
        progress: bool = False,
    ) -> list[Grade]:
        """Grade responses[i] against golds[i] for every i, in order, under one policy."""
        if len(responses) != len(golds):
            raise ValueError(f"{len(responses)} responses but {len(golds)} gold answers")
        decide = get_policy(policy).decide  # an unknown name fails before any grading
        # A grade the caller's thread decided is final; only a worker check gets a future.
        decisions = (
            decide(response, gold, require_think, olympiad_judge)
            for response, gold in zip(responses, golds, strict=True)
        )
        outcomes: list[Grade | Future[Grade]] = [
            decision if isinstance(decision, Grade) else self._finish(decision) for decision in decisions
        ]
        if progress:
            from tqdm.auto import tqdm  # imported only when asked for: it is a tenth of the verifier's import

            outcomes = tqdm(outcomes, desc="grading", unit="item")
        return [outcome if isinstance(outcome, Grade) else outcome.result() for outcome in outcomes]

    def start(self, wait: bool = True) -> VerifierPool:
        """Start the worker processes now rather than at the first symbolic check; returns self.

        With `wait=False` only the zygote starts, in the background, and the call returns at once: the
        caller goes on grading the answers the exact path decides while sympy is imported there, and each
        worker is forked, warm, when its slot first needs it."""
        if wait:
            self._executor.start_workers()
        else:
            self._executor.start_in_background()
        return self

    @property
    def counts(self) -> dict[str, int]:
        """How many worker checks timed out and how many workers died, since start."""
        return dict(self._executor.counts)

    def worker_pids(self) -> list[int]:
        """Process ids of the live worker processes."""
        return self._executor.worker_pids()

    def zygote_pid(self) -> int | None:
        """Process id of the zygote the workers are forked from, or None before it starts."""
        return self._executor.zygote_pid()

    def close(self) -> None:
        """Stop the worker processes; pending symbolic checks still finish first."""
        self._executor.close()

    def __enter__(self) -> VerifierPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _finish(self, decision: Decision) -> Future[Grade]:
        """A done future for a grade; for a policy's `WorkerCheck`, the worker's grade as the check finishes it."""
        from concurrent.futures import Future

        result: Future[Grade] = Future()
        if isinstance(decision, Grade):
            result.set_result(decision)
            return result

        def deliver(done: Future[Grade]) -> None:
            error = done.exception()
            if error is not None:
                result.set_exception(error)
            else:
                result.set_result(decision.finish(done.result()))

        self._run_check(decision).add_done_callback(deliver)
        return result

    def _run_check(self, check: WorkerCheck) -> Future[Grade]:
        """The (shared) future of one worker check; checks of one class and memo key run once."""
        key = (type(check).__module__, type(check).__qualname__, check.memo_key())
        with self._lock:
            outcome = self._memo.get(key)
            if outcome is not None:
                self._memo.move_to_end(key)
                return outcome
            outcome = self._executor.submit(check)
            self._memo[key] = outcome
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return outcome


_pools: dict[tuple[int, float], VerifierPool] = {}
_pools_lock = threading.Lock()


def get_pool(workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> VerifierPool:
    """The process-wide pool for this (workers, timeout_s), closed at exit. Its zygote starts with the first
    symbolic check, so a batch the exact path decides never starts a process (or competes with one for a
    CPU); a caller that knows it will need workers starts it early with `.start(wait=False)`."""
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
    olympiad_judge: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    pool: VerifierPool | None = None,
) -> Grade:
    """Grade one response against its gold answer under a grading policy (default `strict`)."""
    pool = pool or get_pool(timeout_s=timeout_s)
    return pool.submit(
        response, gold, policy=policy, require_think=require_think, olympiad_judge=olympiad_judge
    ).result()


def grade_batch(
    responses: Sequence[str],
    golds: Sequence[str],
    *,
    policy: str = DEFAULT_POLICY,
    require_think: bool = True,
    olympiad_judge: bool = False,
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    pool: VerifierPool | None = None,
    progress: bool = False,
) -> list[Grade]:
    """Grade responses[i] against golds[i] under one policy; symbolic checks run in worker processes."""
    pool = pool or get_pool(workers, timeout_s)
    return pool.grade_batch(
        responses,
        golds,
        policy=policy,
        require_think=require_think,
        olympiad_judge=olympiad_judge,
        progress=progress,
    )
