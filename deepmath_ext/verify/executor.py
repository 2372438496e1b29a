"""Worker processes for the symbolic check, with a hard per-item deadline enforced by kill and re-fork."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from deepmath_ext.verify.status import Grade, GradeStatus

if TYPE_CHECKING:  # the zygote's modules (sockets, multiprocessing) and futures load with the first check
    from concurrent.futures import Future

    from deepmath_ext.verify.zygote import ForkedWorker, Zygote

DEFAULT_MEMORY_MB = 3072
WORKER_START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 2.0
_STOP = object()


class WorkerCheck:
    """What a grading policy hands to the pool when only a verifier worker can decide: a picklable check.

    `run` executes in the worker process under the pool's deadline and memory cap (its class must be
    importable there); `memo_key` says which checks are the same (run once, shared); `finish` turns the
    worker's grade into the caller's (by default: the grade with this check's extracted answer).
    """

    pred: str | None
    label: ClassVar[str] = "worker"  # names the check in a timeout's detail

    def memo_key(self) -> tuple:
        """Checks with equal keys (and of the same class) have the same outcome."""
        raise NotImplementedError

    def run(self) -> tuple[GradeStatus, str | None]:
        """(status, detail) of the check; runs in a verifier worker."""
        raise NotImplementedError

    def finish(self, grade: Grade) -> Grade:
        """The caller's grade from the worker's (which has no `pred`)."""
        return replace(grade, pred=self.pred)


class _WorkerLost(Exception):
    """The worker process died while checking an item."""


class _Worker:
    """One slot's worker: forked from the executor's zygote on first use (or by `wait_ready`)."""

    def __init__(self, fork: Callable[[], ForkedWorker]) -> None:
        self._fork = fork
        self._process: ForkedWorker | None = None
        self._lock = threading.Lock()  # a serving thread and a start-up thread may both wait

    @property
    def pid(self) -> int | None:
        """The process id, or None before the fork."""
        return None if self._process is None else self._process.pid

    def alive(self) -> bool:
        """Whether the worker is forked and still running."""
        return self._process is not None and self._process.alive()

    def wait_ready(self) -> None:
        """Fork the worker unless it is; blocks until the zygote is warm (the first time only)."""
        with self._lock:
            if self._process is None:
                self._process = self._fork()

    def check(self, job: WorkerCheck, timeout_s: float) -> Grade | None:
        """The grade (without `pred`), or None when the deadline passed (the caller must then kill this worker)."""
        self.wait_ready()  # start-up time does not count against the item's deadline
        connection = self._process.connection
        try:
            connection.send(job)
            if not connection.poll(timeout_s):
                return None
            status, detail = connection.recv()
        except (EOFError, OSError) as error:
            raise _WorkerLost from error
        return Grade.of(GradeStatus(status), None, detail)

    def kill(self) -> None:
        """Stop the process at once (SIGKILL) and release its connection."""
        if self._process is not None:
            self._process.kill()

    def stop(self) -> None:
        """Close its connection so it exits; kill it if it does not."""
        if self._process is not None:
            self._process.stop(STOP_TIMEOUT_S)


class SymbolicExecutor:
    """A pool of worker processes forked from one zygote; each is served by a thread that enforces the
    deadline (a worker past it is killed and a new one forked)."""

    def __init__(self, workers: int, timeout_s: float, memory_mb: int | None = DEFAULT_MEMORY_MB) -> None:
        if workers < 1 or timeout_s <= 0:
            raise ValueError(f"need workers >= 1 and timeout_s > 0, got {workers} and {timeout_s}")
        self.timeout_s = timeout_s
        self.counts: Counter[str] = Counter()
        self._memory_mb = memory_mb
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        # The zygote starts at the first symbolic check (many batches never need one) or at `start_*`;
        # each slot forks its worker from it when it first needs one.
        self._zygote: Zygote | None = None
        self._zygote_lock = threading.Lock()
        self._workers = [_Worker(self._fork) for _ in range(workers)]
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, args=(slot,), name=f"deepmath-verifier-{slot}", daemon=True)
            for slot in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, check: WorkerCheck) -> Future[Grade]:
        """Queue one check for a worker."""
        if self._closed:
            raise RuntimeError("the verifier pool is closed")
        from concurrent.futures import Future

        future: Future[Grade] = Future()
        self._jobs.put((future, check))
        return future

    def start_workers(self) -> None:
        """Start every worker now and wait until each is ready (instead of at its first check)."""
        for slot in range(len(self._workers)):
            self._workers[slot].wait_ready()

    def start_in_background(self) -> None:
        """Start the zygote now (imports and warm-up in its own process) and return at once."""
        self._current_zygote()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and fault tests)."""
        return [w.pid for w in self._workers if w.alive()]

    def zygote_pid(self) -> int | None:
        """Process id of the zygote that forks the workers, or None before it starts."""
        zygote = self._zygote
        return None if zygote is None else zygote.process.pid

    def close(self) -> None:
        """Stop the serving threads, their worker processes and the zygote."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join()
        with self._zygote_lock:
            if self._zygote is not None:
                self._zygote.close()

    def _current_zygote(self) -> Zygote:
        with self._zygote_lock:
            if self._closed:
                raise RuntimeError("the verifier pool is closed")
            if self._zygote is None:
                from deepmath_ext.verify.zygote import Zygote

                self._zygote = Zygote(self._memory_mb, WORKER_START_TIMEOUT_S)
            return self._zygote

    def _fork(self) -> ForkedWorker:
        """A warm worker from the zygote; a zygote killed by a signal (or too slow to start) is replaced once."""
        from deepmath_ext.verify.zygote import ZygoteLost

        for _attempt in range(2):
            zygote = self._current_zygote()
            try:
                return zygote.fork()
            except ZygoteLost:
                code = self._drop_zygote(zygote)
            if code is not None and code >= 0:
                break
        raise RuntimeError(f"verifier worker did not start (exit code {code})")

    def _drop_zygote(self, zygote: Zygote) -> int | None:
        """Close a zygote that failed; its exit code (negative: killed by a signal) or None."""
        with self._zygote_lock:
            code = zygote.process.poll()
            if self._zygote is zygote:
                self._zygote = None
                zygote.close()
        return code

    def _serve(self, slot: int) -> None:
        while (job := self._jobs.get()) is not _STOP:
            future, check = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._check_with_retry(slot, check))
                except Exception as error:
                    future.set_exception(error)
        self._workers[slot].stop()

    def _check_with_retry(self, slot: int, check: WorkerCheck) -> Grade:
        """Check on this slot's worker; a worker that dies gets one replacement try."""
        for _attempt in range(2):
            try:
                outcome = self._workers[slot].check(check, self.timeout_s)
            except _WorkerLost:
                self._replace(slot, "worker_deaths")
                continue
            if outcome is None:
                self._replace(slot, "timeouts")
                return Grade.of(
                    GradeStatus.TIMEOUT, None, f"{check.label} check exceeded {self.timeout_s:g} s"
                )
            return outcome
        return Grade.of(GradeStatus.TIMEOUT, None, "verifier worker died twice on this item")

    def _replace(self, slot: int, reason: str) -> None:
        """Kill this slot's worker; its replacement is forked at the slot's next check."""
        with self._lock:
            self.counts[reason] += 1
        self._workers[slot].kill()
        self._workers[slot] = _Worker(self._fork)
        import logging  # only here: a grader that never replaces a worker need not load logging

        logging.getLogger(__name__).info("verifier worker %d replaced (%s)", slot, reason)
