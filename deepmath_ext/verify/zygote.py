"""A zygote for verifier workers: one process imports sympy and math-verify once, then forks each worker.

A worker's start is then a fork (milliseconds) instead of an interpreter start, the imports and a warm-up
parse (most of a second): every slot of a pool is ready as soon as the zygote is, and a worker killed at
its deadline is replaced at once. The zygote is a plain subprocess (`python -m
deepmath_ext.verify.worker_main`), never a fork of the caller, so it does not re-import the caller's
`__main__` and inherits none of its threads or locks; it forks only while it has a single thread.

Protocol, over a `SOCK_SEQPACKET` Unix socket on the zygote's stdin: the zygote sends `READY` once warm;
the caller sends `FORK` with one end of a fresh socket pair (SCM_RIGHTS) and receives the child's pid,
with a pidfd where the platform has one, so the caller can kill the worker even though it is not its
parent, without a pid-reuse race. Each worker serves checks on its socket until the caller closes it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

READY, FORK = b"R", b"F"
_PID = struct.Struct("q")
FORK_REPLY_TIMEOUT_S = 30.0


class ZygoteLost(Exception):
    """The zygote process is gone (or never got ready in time): start a new one."""


def _wait_readable(sock: socket.socket, timeout_s: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))


class ForkedWorker:
    """The caller's handle on one forked worker: its pid, a pidfd to kill it by, and its job connection."""

    def __init__(self, pid: int, pidfd: int | None, connection: Connection) -> None:
        self.pid, self._pidfd, self.connection = pid, pidfd, connection

    def alive(self) -> bool:
        """Whether the process still runs (a pidfd becomes readable when its process exits)."""
        if self._pidfd is None:
            return _pid_exists(self.pid)
        poller = select.poll()
        poller.register(self._pidfd, select.POLLIN)
        return not poller.poll(0)

    def kill(self) -> None:
        """SIGKILL the worker, wait until it is gone, and release its connection and pidfd."""
        if self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                select.select([self._pidfd], [], [], FORK_REPLY_TIMEOUT_S)
            os.close(self._pidfd)
            self._pidfd = None
        elif _pid_exists(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        self.connection.close()

    def stop(self, timeout_s: float) -> None:
        """Close its connection so that it exits by itself; kill it if it has not within `timeout_s`."""
        self.connection.close()
        if self._pidfd is not None and not select.select([self._pidfd], [], [], timeout_s)[0]:
            self.kill()
        elif self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Zygote:
    """The caller's side: starts the zygote process at once (without waiting) and forks workers from it."""

    def __init__(self, memory_mb: int | None, start_timeout_s: float) -> None:
        # The caller's import path, exactly ('' is its working directory), and nothing ahead of it: with
        # PYTHONSAFEPATH (Python 3.11+) `-m` does not prepend the zygote's working directory, so the zygote
        # runs the caller's deepmath_ext even when another checkout is the working directory.
        path = os.pathsep.join(os.path.abspath(p) for p in sys.path)
        env = {**os.environ, "PYTHONPATH": path, "PYTHONSAFEPATH": "1"}
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "deepmath_ext.verify.worker_main", str(memory_mb or 0)],
                stdin=theirs,
                env=env,
                close_fds=True,
            )
        self._start_timeout_s = start_timeout_s
        self._ready = False
        self._lock = threading.Lock()

    def fork(self) -> ForkedWorker:
        """A new warm worker; waits for the zygote's warm-up the first time. Raises ZygoteLost."""
        with self._lock:
            if not self._ready:
                if not _wait_readable(self._control, self._start_timeout_s) or self._recv(1)[0] != READY:
                    raise ZygoteLost
                self._ready = True
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            with theirs:
                try:
                    socket.send_fds(self._control, [FORK], [theirs.fileno()])
                except OSError as error:
                    ours.close()
                    raise ZygoteLost from error
            try:
                if not _wait_readable(self._control, FORK_REPLY_TIMEOUT_S):
                    raise ZygoteLost
                message, fds = self._recv(_PID.size)
                if len(message) != _PID.size:
                    raise ZygoteLost
            except ZygoteLost:
                ours.close()
                raise
        connection = Connection(ours.detach())
        return ForkedWorker(_PID.unpack(message)[0], fds[0] if fds else None, connection)

    def _recv(self, size: int) -> tuple[bytes, list[int]]:
        try:
            message, fds, _flags, _address = socket.recv_fds(self._control, size, 1)
        except OSError as error:
            raise ZygoteLost from error
        if not message:
            raise ZygoteLost
        return message, fds

    def close(self) -> None:
        """End the zygote: it exits when its socket closes; killed if it does not (or is still starting)."""
        self._control.close()
        if not self._ready:
            self.process.kill()
        try:
            self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve_forks(control: socket.socket, serve_worker: Callable[[Connection], None]) -> None:
    """The zygote's loop (in the zygote process): fork one worker per request until the caller hangs up.

    Call it warm and single-threaded: the child continues from this state without re-importing anything.
    """
    gc.freeze()  # the warm objects stay out of the collector, so children do not copy their pages
    control.send(READY)
    children: set[int] = set()
    while True:
        message, fds, _flags, _address = socket.recv_fds(control, 1, 1)
        children -= _reap_exited_children()
        if not message:  # the caller closed the pool or died: no worker outlives the zygote
            _kill_and_reap(children)
            return
        if message != FORK or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        if threading.active_count() != 1:  # a fork beside other threads could copy a held lock
            raise RuntimeError("the verifier zygote must stay single-threaded")
        pid = os.fork()
        if pid == 0:
            control.close()
            code = 1
            try:
                serve_worker(Connection(fds[0]))
                code = 0
            finally:
                os._exit(code)  # never run the zygote's exit handlers or flush its buffers twice
        os.close(fds[0])
        children.add(pid)
        pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None  # before any reaping
        try:
            socket.send_fds(control, [_PID.pack(pid)], [] if pidfd is None else [pidfd])
        except OSError:  # the caller is gone
            _kill_and_reap(children)
            return
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _reap_exited_children() -> set[int]:
    """Collect the exit status of workers that ended (killed or hung up), so none stays a zombie."""
    reaped = set()
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.add(pid)


def _kill_and_reap(children: set[int]) -> None:
    """SIGKILL the workers still running and wait for every one of them."""
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # not yet reaped, so the pid is still this child's
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
