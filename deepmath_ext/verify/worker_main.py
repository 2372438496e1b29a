"""Entry point of the verifier's zygote process: `python -m deepmath_ext.verify.worker_main MEMORY_MB`.

It imports sympy and math-verify, runs one warm-up check and then forks the pool's workers on request
(`zygote.serve_forks`); each worker serves checks with `serve_checks`. The zygote is a plain subprocess
(not a multiprocessing child), so it never re-imports the caller's `__main__`: grading works from scripts
without a main guard, notebooks, stdin and Ray actors alike.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
from multiprocessing.connection import Connection

from deepmath_ext.verify.executor import WorkerCheck
from deepmath_ext.verify.pipeline import PendingCheck
from deepmath_ext.verify.status import GradeStatus
from deepmath_ext.verify.zygote import serve_forks

# A job is any policy's `WorkerCheck`; this one loads math-verify's grammar and sympy before the first.
WARM_UP = PendingCheck(r"\frac{x^2-1}{x+1}", r"\frac{x^2-1}{x+1}", "x-1")


def _cap_memory(memory_mb: int) -> None:
    """Cap this process's address space so a runaway sympy call fails with MemoryError."""
    if memory_mb > 0:
        import resource

        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def check(job: WorkerCheck | bytes) -> tuple[str, str | None]:
    """(status, detail) of one check (or its pickle); errors grade the item, they never end the worker."""
    try:
        # Unpickled here, so a policy whose module this process cannot import fails its item, not the worker.
        status, detail = (pickle.loads(job) if isinstance(job, bytes) else job).run()
    except (MemoryError, RecursionError) as error:
        status, detail = GradeStatus.GUARDED, f"{type(error).__name__} in symbolic check"
    except Exception as error:
        status, detail = GradeStatus.WRONG, f"symbolic check failed: {type(error).__name__}"
    return status.value, detail


def serve_checks(connection: Connection) -> None:
    """A forked worker's loop: WorkerCheck -> (status, detail) until the caller closes the connection."""
    while True:
        try:
            job = connection.recv_bytes()
        except (EOFError, OSError):
            return
        connection.send(check(job))


def main() -> None:
    """Warm up, then fork workers for the caller over the socket on stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.dup2(2, 1)  # anything a library prints goes to stderr
    control = socket.socket(fileno=0)
    _cap_memory(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    # The first parse loads math-verify's grammar (about a second): do it once, before any fork.
    check(WARM_UP)
    serve_forks(control, serve_checks)


if __name__ == "__main__":
    main()
