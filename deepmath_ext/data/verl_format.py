"""verl 0.9.1 RLHFDataset rows and an atomic, batched parquet writer for them."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from deepmath_ext.atomic_files import temp_path_beside
from deepmath_ext.templates import PromptTemplate

ABILITY = "math"
REWARD_STYLE = "rule"
WRITE_BATCH_ROWS = 2048


def verl_schema() -> Any:
    """The arrow schema of a prepared file: chat-message prompt, data_source, reward_model, extra_info."""
    import pyarrow as pa

    return pa.schema(
        [
            ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
            ("data_source", pa.string()),
            ("ability", pa.string()),
            ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
            (
                "extra_info",
                pa.struct(
                    [
                        ("index", pa.int64()),
                        ("split", pa.string()),
                        ("problem_id", pa.string()),
                        ("difficulty", pa.float64()),
                        ("topic", pa.string()),
                    ]
                ),
            ),
        ]
    )


def verl_row(
    template: PromptTemplate,
    *,
    question: str,
    answer: str,
    data_source: str,
    index: int,
    split: str,
    problem_id: str,
    difficulty: float | None = None,
    topic: str | None = None,
) -> dict[str, Any]:
    """One RLHFDataset row: the template's chat messages (not rendered; verl renders them)."""
    return {
        "prompt": template.messages(question),
        "data_source": data_source,
        "ability": ABILITY,
        "reward_model": {"style": REWARD_STYLE, "ground_truth": answer},
        "extra_info": {
            "index": index,
            "split": split,
            "problem_id": problem_id,
            "difficulty": None if difficulty is None else float(difficulty),
            "topic": topic,
        },
    }


class AtomicParquetWriter:
    """Writes rows in batches to a temp file beside `path`; renames it over `path` only on success."""

    def __init__(self, path: str | Path, schema: Any, metadata: dict[str, str] | None = None) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.schema = schema.with_metadata(metadata or {})
        self._tmp = temp_path_beside(self.path)
        self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
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

    def commit(self) -> Path:
        """Flush, close and move the file into place."""
        self._flush()
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temp file; `path` is left as it was."""
        self._writer.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
