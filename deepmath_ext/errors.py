"""The project's user errors: what `deepmath` reports in one line, without a traceback, exit status 2."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """Bad input, a bad path or a missing piece of the environment; str(error) is the line the user sees."""


class LaunchError(UserError):
    """A training recipe cannot be composed, validated or launched."""


# What `deepmath` reports as a user error. ValueError and OSError carry the messages of bad rows, bad options,
# missing or unwritable files and bad model paths; ImportError those of a missing optional extra.
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, ValueError, OSError, ImportError)


def one_line(error: BaseException, limit: int | None = None) -> str:
    """The error's message on one line, cut at `limit` characters (an OSError without a message says what it is)."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
        text = f"{error.filename}: {text}"
    return text if limit is None or len(text) <= limit else text[:limit] + "..."


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by `deepmath` so that cleanup runs as it does for Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def sigterm_raises_terminated() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread (unless SIGTERM already has a handler)."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield  # someone else (a test runner, an embedding program) owns SIGTERM
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
