"""Worker processes for the symbolic check, with a hard per-item deadline enforced by kill and respawn."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import Future
from multiprocessing.connection import Connection

from deepmath_ext.verify.status import Grade, GradeStatus

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 3072
WORKER_START_TIMEOUT_S = 120.0
_STOP = object()


class _WorkerLost(Exception):
    """The worker process died while checking an item."""


class _Worker:
    """One worker subprocess and the pipes to it; it starts in the background."""

    def __init__(self, memory_mb: int | None) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deepmath_ext.verify.worker_main", str(memory_mb or 0)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        # Connection objects frame and pickle messages over the two pipes.
        self._requests = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self._replies = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self._ready = False
        self._ready_lock = threading.Lock()  # a serving thread and a start-up thread may both wait

    def wait_ready(self) -> None:
        """Block until the worker has imported and warmed up; replace or fail if it died."""
        with self._ready_lock:
            self._wait_ready()

    def _wait_ready(self) -> None:
        if self._ready:
            return
        try:
            ready = self._replies.poll(WORKER_START_TIMEOUT_S) and self._replies.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            if self.process.returncode is not None and self.process.returncode < 0:
                raise _WorkerLost  # killed by a signal while starting: replace it
            raise RuntimeError(f"verifier worker did not start (exit code {self.process.returncode})")
        self._ready = True

    def check(self, job: tuple, timeout_s: float) -> Grade | None:
        """The grade (without `pred`), or None when the deadline passed (the caller must then kill this worker)."""
        self.wait_ready()  # start-up time does not count against the item's deadline
        try:
            self._requests.send(job)
            if not self._replies.poll(timeout_s):
                return None
            status, detail = self._replies.recv()
        except (EOFError, OSError) as error:
            raise _WorkerLost from error
        return Grade.of(GradeStatus(status), None, detail)

    def kill(self) -> None:
        """Stop the process at once (SIGKILL) and release the pipes."""
        self.process.kill()
        self.process.wait()
        self._requests.close()
        self._replies.close()

    def stop(self) -> None:
        """Close its input so it exits; kill it if it does not (at once when it is still starting)."""
        if not self._ready:
            self.kill()
            return
        self._requests.close()
        try:
            self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._replies.close()


class SymbolicExecutor:
    """A pool of worker processes; each one is served by a thread that enforces the deadline."""

    def __init__(self, workers: int, timeout_s: float, memory_mb: int | None = DEFAULT_MEMORY_MB) -> None:
        if workers < 1 or timeout_s <= 0:
            raise ValueError(f"need workers >= 1 and timeout_s > 0, got {workers} and {timeout_s}")
        self.timeout_s = timeout_s
        self.counts: Counter[str] = Counter()
        self._memory_mb = memory_mb
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        # Started by the first symbolic check (many batches never need one) or by `start_*`. The first
        # worker starts alone, so that on a small machine it is ready in one import time rather than
        # sharing the CPUs with the others; the other slots start theirs once it is ready (`_first_up`).
        self._workers: list[_Worker | None] = [None] * workers
        self._first_up = threading.Event()
        self._slot_locks = [threading.Lock() for _ in range(workers)]
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, args=(slot,), name=f"deepmath-verifier-{slot}", daemon=True)
            for slot in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, check: str, *args: object) -> Future[Grade]:
        """Queue one named check (see `worker_main.CHECKS`) with its picklable arguments."""
        if self._closed:
            raise RuntimeError("the verifier pool is closed")
        future: Future[Grade] = Future()
        self._jobs.put((future, (check, *args)))
        return future

    def start_workers(self) -> None:
        """Start every worker now and wait until each is ready (instead of at its first check)."""
        for worker in [self._slot_worker(slot) for slot in range(len(self._workers))]:
            worker.wait_ready()
        self._first_up.set()

    def start_in_background(self) -> None:
        """Start the first worker now and the others once it is ready; return at once."""
        first = self._slot_worker(0)

        def wait_for_first() -> None:
            with contextlib.suppress(Exception):  # the first check on this slot replaces or reports it
                first.wait_ready()
            self._first_up.set()

        threading.Thread(target=wait_for_first, name="deepmath-verifier-start", daemon=True).start()

    def _slot_worker(self, slot: int) -> _Worker:
        with self._slot_locks[slot]:
            worker = self._workers[slot]
            if worker is None:
                worker = self._workers[slot] = _Worker(self._memory_mb)
            return worker

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and fault tests)."""
        return [w.process.pid for w in self._workers if w is not None and w.process.poll() is None]

    def close(self) -> None:
        """Stop the serving threads and their worker processes."""
        if self._closed:
            return
        self._closed = True
        self._first_up.set()
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _serve(self, slot: int) -> None:
        if slot > 0:
            self._start_after_first(slot)
        while (job := self._jobs.get()) is not _STOP:
            future, check = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._check_with_retry(slot, check))
                except Exception as error:
                    future.set_exception(error)
            self._first_up.set()  # the first worker has served (or failed) a check
        worker = self._workers[slot]
        if worker is not None:
            worker.stop()

    def _start_after_first(self, slot: int) -> None:
        """Take no check before this slot's worker is ready, and start it only once the first one is."""
        self._first_up.wait()
        if self._closed:
            return
        with contextlib.suppress(Exception):  # its first check replaces or reports it
            self._slot_worker(slot).wait_ready()

    def _check_with_retry(self, slot: int, check: tuple) -> Grade:
        """Check on this slot's worker; a worker that dies gets one replacement try."""
        for _attempt in range(2):
            worker = self._slot_worker(slot)
            try:
                outcome = worker.check(check, self.timeout_s)
            except _WorkerLost:
                self._replace(slot, "worker_deaths")
                continue
            if outcome is None:
                self._replace(slot, "timeouts")
                return Grade.of(GradeStatus.TIMEOUT, None, f"{check[0]} check exceeded {self.timeout_s:g} s")
            return outcome
        return Grade.of(GradeStatus.TIMEOUT, None, "verifier worker died twice on this item")

    def _replace(self, slot: int, reason: str) -> None:
        """Kill this slot's worker and start its replacement in the background."""
        with self._lock:
            self.counts[reason] += 1
        with self._slot_locks[slot]:
            worker = self._workers[slot]
            if worker is not None:
                worker.kill()
            # The replacement starts now, in the background, ready for this slot's next check.
            self._workers[slot] = _Worker(self._memory_mb)
        logger.info("verifier worker %d replaced (%s)", slot, reason)
