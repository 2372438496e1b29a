"""Every file the package reads or writes: atomic writes, strict JSON/JSONL reads, row files, parquet and PNGs.

Writes go to a hidden temp file beside the target and are renamed over it only on success, so an
interrupted command leaves the previous file (or none), never half of one. Reads name the file (and the
line) of every error.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from deepmath_ext.errors import UserError, interrupts_held

PARQUET_BATCH_ROWS = 1024
WRITE_BATCH_ROWS = 2048
PNG_DPI = 120


def cache_dir() -> Path:
    """The user's deepmath cache (hub pins, embeddings): $DEEPMATH_CACHE_DIR, else ~/.cache/deepmath."""
    return Path(os.environ.get("DEEPMATH_CACHE_DIR", "~/.cache/deepmath")).expanduser()


# -- writing ----------------------------------------------------------------------------------------


# Local files and folders the running command reads (`claim_inputs`): no output may replace one of
# these files, lie inside one of these folders, or be deleted as stale. Checked when an output's temp file
# is made and again just before it is renamed into place, so every file written through this module is
# covered, whatever spelling (relative, `..`, a symlink, a hard link) named it. `cli.main` clears it.
_inputs: list[Path] = []


def claim_inputs(paths: Iterable[str | Path | None]) -> None:
    """Record local files or folders this command reads, so that no output of it replaces or enters them."""
    for path in paths:
        if path is not None and Path(path).expanduser().exists():
            _inputs.append(Path(path).expanduser())


@contextmanager
def input_claims() -> Iterator[None]:
    """A scope with no claimed inputs (one command), restoring the outer claims when it ends."""
    saved = list(_inputs)
    _inputs.clear()
    try:
        yield
    finally:
        _inputs[:] = saved


def refuse_input_target(path: str | Path) -> None:
    """UserError when writing (or deleting) `path` would change a claimed input file or folder."""
    target = Path(path).expanduser()
    where = target.resolve()
    for source in _inputs:
        if source.is_dir():
            folder = source.resolve()
            if where == folder or folder in where.parents:
                raise UserError(f"{target} is inside the input folder {source}; write the output elsewhere")
        elif target.exists() and source.exists() and os.path.samefile(target, source):
            raise UserError(f"{target} is the input file {source}; write the output elsewhere")


def check_output_file(path: str | Path, inputs: Sequence[str | Path | None] = ()) -> None:
    """Refuse, before any work, an output path that is a folder, an input, or in an unwritable place."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; give the path of the file to write")
    claim_inputs(inputs)
    refuse_input_target(path)
    _check_creatable(path)


def check_output_dir(path: str | Path, inputs: Sequence[str | Path | None] = ()) -> None:
    """Refuse, before any work, an output folder that is a file, in an input folder, or unwritable.

    `inputs` are claimed (`claim_inputs`): each output file is checked against them when it is written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file; give a folder for the outputs")
    claim_inputs(inputs)
    refuse_input_target(path)
    _check_creatable(path / "output")


def _check_creatable(path: Path) -> None:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the nearest existing ancestor is where the missing folders get made
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path}: {folder} is not a writable folder")


def temp_path_beside(path: str | Path) -> Path:
    """Create an empty hidden temp file in `path`'s folder (made if missing) and return its path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder as the target, so the final os.replace is a rename within one filesystem (atomic).
        # Mode 0o666 less the umask, as for any new file: teammates and Ray workers of another user can
        # read what the group may read (tempfile.mkstemp would make every output 0600).
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:  # name the file the user asked for, not the hidden temp file
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    return tmp


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temp path beside `path` that replaces `path` when the block succeeds and is removed otherwise."""
    with atomic_paths({"file": path}) as temps:
        yield temps["file"]


@contextmanager
def atomic_paths(
    paths: Mapping[str, str | Path], stale: Sequence[str | Path] = ()
) -> Iterator[dict[str, Path]]:
    """Temp paths for several outputs that replace them together (and delete `stale`) when the block succeeds.

    Nothing changes on failure or interrupt (also one whose raise a callback lost: see `interrupt_signals`);
    on success the renames follow each other within microseconds, an interrupt waiting until they are done.
    """
    for path in [*paths.values(), *stale]:
        refuse_input_target(path)
    with ExitStack() as cleanup:
        temps = {}
        for name, path in paths.items():
            temps[name] = temp_path_beside(path)
            cleanup.callback(temps[name].unlink, missing_ok=True)
        yield temps
        for path in [*paths.values(), *stale]:  # inputs read while the outputs were being made
            refuse_input_target(path)
        with interrupts_held():  # an interrupted command commits nothing, and never half of a group
            for name, path in paths.items():
                os.replace(temps[name], path)
            for path in stale:
                Path(path).unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8) and fsync it: the content of a temp path from `atomic_path(s)`."""
    with Path(path).open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        # Without the fsync a crash just after the rename can leave an empty file in place of the old one.
        os.fsync(f.fileno())


def write_json(path: str | Path, value: Any) -> None:
    """Write `value` as indented JSON and fsync it (see `write_text`)."""
    write_text(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    """Atomically write `text` (UTF-8) to `path`, fsynced before the rename."""
    with atomic_path(path) as tmp:
        write_text(tmp, text)


def write_json_atomic(path: str | Path, value: Any) -> None:
    """Atomically write `value` as indented JSON."""
    with atomic_path(path) as tmp:
        write_json(tmp, value)


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Atomically write one JSON object per line."""
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


class ParquetRows:
    """Writes dict rows to a parquet file in batches (give it a temp path from `atomic_path(s)`)."""

    def __init__(self, path: str | Path, schema: Any, metadata: dict[str, str] | None = None) -> None:
        import pyarrow.parquet as pq

        self.schema = schema.with_metadata(metadata or {})
        self._writer = pq.ParquetWriter(Path(path), self.schema, compression="zstd")
        self._pending: list[dict[str, Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        """Queue one row; a full batch goes to disk."""
        self._pending.append(row)
        if len(self._pending) >= WRITE_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, schema=self.schema))
            self._pending = []

    def __enter__(self) -> ParquetRows:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self._flush()
        self._writer.close()


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'deepmath[eval]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png_atomic(fig: Any, path: str | Path) -> None:
    """Save a matplotlib figure as PNG through a temp file, then close it."""
    with atomic_path(path) as tmp:
        # The temp name ends in .tmp, so matplotlib cannot infer the format from it.
        fig.savefig(tmp, dpi=PNG_DPI, bbox_inches="tight", format="png")
    pyplot().close(fig)


# -- reading ----------------------------------------------------------------------------------------


def _loads(text: str, where: str) -> Any:
    """json.loads, with a ValueError naming `where` for bad JSON and for a value nested too deeply to parse."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise ValueError(f"{where}: not valid JSON (nested too deeply)") from None


def parse_object_line(line: str, where: str) -> dict[str, Any]:
    """The JSON object on `line`; ValueError prefixed with `where` (e.g. "file.jsonl:3") otherwise."""
    row = _loads(line, where)
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the objects of a JSONL file, skipping blank lines."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                yield parse_object_line(line, f"{path}:{line_number}")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All objects of a JSONL file."""
    return list(iter_jsonl(path))


def read_json(path: Path) -> Any:
    """Read a JSON file, naming the file when it does not parse."""
    return _loads(path.read_text(encoding="utf-8"), str(path))


def require_run_file(run_dir: Path, name: str) -> Path:
    """`run_dir / name`, raising FileNotFoundError when it is missing: `run_dir` is then no run directory."""
    path = run_dir / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: {run_dir} is not an evaluation run directory")
    return path


def _iter_json_array(path: Path) -> Iterator[dict[str, Any]]:
    rows = _loads(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON array of objects")
    yield from rows


def _iter_parquet(path: Path, columns: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    present = set(parquet.schema_arrow.names)
    wanted = None if columns is None else [c for c in columns if c in present]
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
        yield from batch.to_pylist()


def iter_row_file(path: str | Path, columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of a .jsonl/.json/.parquet file; `columns` limits what parquet reads (others ignore it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    claim_inputs([path])
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _iter_parquet(path, columns)
    if suffix == ".json":
        return _iter_json_array(path)
    if suffix in (".jsonl", ".ndjson"):
        return iter_jsonl(path)
    raise ValueError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json or .parquet)")
