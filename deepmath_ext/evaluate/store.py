"""Append-only, crash-safe store of generations keyed by (benchmark, problem id, sample index)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from deepmath_ext.errors import UserError
from deepmath_ext.evaluate.backends import Finished, Generation, GenerationRequest, SampleKey
from deepmath_ext.files import read_jsonl, require_run_file, write_jsonl_atomic

log = logging.getLogger(__name__)

GENERATIONS_FILE = "generations.jsonl"
PROBLEMS_FILE = "problems.jsonl"
LOCK_FILE = ".lock"


class GenerationStore:
    """`generations.jsonl`: one line per sample, appended and fsynced as samples finish, never rewritten.

    A crash can only leave a partial last line; it is dropped (and logged) when the store opens.
    `before_first_append`, when set, runs once before this store object first writes (the run's pin).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[SampleKey, dict[str, Any]] = {}
        self.before_first_append: Callable[[], None] | None = None
        if path.exists():
            self._load()

    def _load(self) -> None:
        with open_run_file(self.path, os.O_RDWR) as f:  # the caller holds the run's exclusive lock
            data = f.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                log.warning(
                    "%s: dropping a partial last line of %d bytes left by a crash", self.path, len(data) - end
                )
                f.truncate(end)
        for lineno, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = SampleKey(str(record["benchmark"]), str(record["problem_id"]), int(record["index"]))
            except (json.JSONDecodeError, KeyError, ValueError) as exc:
                raise ValueError(f"{self.path}:{lineno}: not a generation record ({exc})") from exc
            if key in self.records:
                raise ValueError(f"{self.path}:{lineno}: duplicate sample {key}")
            self.records[key] = record

    def __contains__(self, key: SampleKey) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, finished: Sequence[Finished], fingerprint: str) -> None:
        """Append finished samples (what finished together), then flush and fsync before returning."""
        records = {req.key: _record(req, gen, fingerprint) for req, gen in finished}
        if len(records) < len(finished):
            raise ValueError("a sample appears twice in one append")
        for key in records:
            if key in self.records:
                raise ValueError(f"sample {key} is already stored")
        if self.before_first_append is not None:
            self.before_first_append()
            self.before_first_append = None
        with open_run_file(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as f:
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values()).encode())
            f.flush()
            os.fsync(f.fileno())
        self.records.update(records)


def _record(request: GenerationRequest, generation: Generation, fingerprint: str) -> dict[str, Any]:
    return {
        "benchmark": request.key.benchmark,
        "problem_id": request.key.problem_id,
        "index": request.key.index,
        "seed": request.seed,
        "settings": fingerprint,
        "finish_reason": generation.finish_reason,
        "response_tokens": generation.response_tokens,
        "prompt_tokens": generation.prompt_tokens,
        "text": generation.text,
    }


def save_problems(run_dir: Path, problems: Sequence[dict[str, Any]]) -> None:
    """Keep the graded problems (ids, golds, categories) in the run, merged with earlier benchmarks."""
    path = run_dir / PROBLEMS_FILE
    new_benchmarks = {p["benchmark"] for p in problems}
    kept = (
        [p for p in load_problems(run_dir) if p["benchmark"] not in new_benchmarks] if path.exists() else []
    )
    write_jsonl_atomic(path, [*kept, *problems])


def load_problems(run_dir: Path) -> list[dict[str, Any]]:
    """The problems stored in a run directory."""
    return read_jsonl(require_run_file(run_dir, PROBLEMS_FILE))


def open_run_file(path: Path, flags: int) -> Any:
    """A binary file object of a run file opened with O_NOFOLLOW: a symlink there is refused, never followed."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UserError(f"{path} is a symbolic link; a run directory holds no links") from None
        raise
    return os.fdopen(fd, "r+b" if flags & os.O_RDWR else "rb" if flags == os.O_RDONLY else "ab")


def refuse_links(run_dir: Path) -> None:
    """UserError when an entry of `run_dir` is a symbolic link: a write through it would land elsewhere."""
    links = sorted(p.name for p in run_dir.iterdir() if p.is_symlink()) if run_dir.is_dir() else []
    if links:
        raise UserError(
            f"{run_dir} holds symbolic links ({', '.join(links)}); a run directory holds no links"
        )


@contextlib.contextmanager
def run_lock(run_dir: Path, *, shared: bool = False) -> Iterator[None]:
    """Lock a run directory: exclusive for a command that writes it (eval, regrade), shared for one that reads.

    Readers exclude writers and writers each other, so nobody reads a store while a line is being written
    or truncated. A writer creates the lock file before it writes anything; a reader writes nothing into
    the run, not even the lock file: it locks the one a writer left, and reads a run that has none (never
    written by this version, or copied without it) or whose lock it may not open (someone else's, a
    read-only copy) without a lock. Such a run has no writer that started before the reader did.
    """
    if not shared:
        run_dir.mkdir(parents=True, exist_ok=True)
    elif not run_dir.is_dir():
        yield  # nothing to lock: reading its files names what is missing
        return
    refuse_links(run_dir)
    try:
        lock = open_run_file(run_dir / LOCK_FILE, os.O_RDONLY if shared else os.O_RDWR | os.O_CREAT)
    except OSError as error:
        if not shared or error.errno not in (errno.ENOENT, errno.EACCES, errno.EPERM):
            raise
        yield
        return
    with lock:
        try:
            fcntl.flock(lock, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UserError(f"{run_dir} is in use by another deepmath process") from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
