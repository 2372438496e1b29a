"""The project's user errors (one line, no traceback, exit status 2) and its interrupts (SIGINT, SIGTERM)."""

from __future__ import annotations

import http.client
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class UserError(Exception):
    """Bad input, a bad path or a missing piece of the environment; str(error) is the line the user sees."""


class LaunchError(UserError):
    """A training recipe cannot be composed, validated or launched."""


# What `deepmath` reports as a user error. ValueError and OSError carry the messages of bad rows, bad options,
# missing or unwritable files and bad model paths; ImportError those of a missing optional extra. The rest
# come from input no parser stops first: a broken HTTP reply (IncompleteRead), a too deeply nested value
# (RecursionError), a number too large for a library (OverflowError). The sources name the input where
# they can; these classes are the backstop that keeps any other occurrence to one line.
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    ValueError,
    OSError,
    ImportError,
    http.client.HTTPException,
    RecursionError,
    OverflowError,
)

# Credentials inside a URL: its user-info part (`user:secret@`) and query values whose names say secret.
_URL_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")
_SECRET_QUERY = re.compile(
    r"([?&][^=&\s]*(?:key|token|secret|password|passwd|auth|sig)[^=&\s]*=)[^&#\s]+", re.I
)
REDACTED = "***"


def redact(text: str) -> str:
    """`text` with the credentials of any URL in it replaced by ***: for manifests, logs and error lines."""
    return _SECRET_QUERY.sub(rf"\1{REDACTED}", _URL_USERINFO.sub(f"{REDACTED}@", text))


def one_line(error: BaseException, limit: int | None = None) -> str:
    """The error's message on one line, credentials redacted, cut at `limit` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
        text = f"{error.filename}: {text}"  # an OSError without a message says what it is about
    text = redact(text)
    return text if limit is None or len(text) <= limit else text[:limit] + "..."


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by `deepmath` so that cleanup runs as it does for Ctrl-C."""


# What each signal raises in the main thread while `interrupt_signals` is active.
_RAISES: dict[int, type[BaseException]] = {signal.SIGINT: KeyboardInterrupt, signal.SIGTERM: Terminated}
# The interrupt a signal asked for, recorded before it is raised. Python loses an exception raised by a
# handler that runs inside a weakref callback, __del__ or gc callback (it prints "Exception ignored in ..."
# and carries on), so every commit of output and the end of the command check this record too.
_requested: type[BaseException] | None = None
_held = False  # while outputs are renamed into place: the interrupt is raised once all of them are


def _record_and_raise(signum: int, frame: object) -> None:
    global _requested
    _requested = _RAISES[signum]
    if not _held:
        raise _requested


def raise_if_interrupted() -> None:
    """Raise the interrupt a signal asked for, if any (its own raise may have been lost in a callback)."""
    if _requested is not None:
        raise _requested


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Refuse to start the block after an interrupt; one arriving within it is raised when the block ends."""
    global _held
    raise_if_interrupted()
    _held = True
    try:
        yield
    finally:
        _held = False
    raise_if_interrupted()


def _unraisable_hook(previous: Callable[[Any], object]) -> Callable[[Any], object]:
    """Silence the lost raise of a recorded interrupt (it is raised again later); pass on anything else."""

    def hook(unraisable: Any) -> None:
        if _requested is None or not isinstance(unraisable.exc_value, _requested):
            previous(unraisable)

    return hook


@contextmanager
def interrupt_signals() -> Iterator[None]:
    """Within the block, SIGINT raises KeyboardInterrupt and SIGTERM Terminated, never lost.

    A signal whose handler someone else owns (a test runner, an embedding program, an ignored SIGINT) is
    left alone. If an interrupt's raise was lost, leaving the block raises it.
    """
    global _requested
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    ours = [signum for signum, default in defaults.items() if signal.getsignal(signum) is default]
    previous_hook = sys.unraisablehook
    _requested = None
    sys.unraisablehook = _unraisable_hook(previous_hook)  # first: a signal may land as soon as it is ours
    for signum in ours:
        signal.signal(signum, _record_and_raise)
    try:
        yield
        raise_if_interrupted()
    finally:
        for signum in ours:
            signal.signal(signum, defaults[signum])
        sys.unraisablehook = previous_hook
        _requested = None
