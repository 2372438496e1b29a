"""verl 0.9.1 RLHFDataset rows and an atomic, batched parquet writer for them."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from deepmath_ext.endpoint import is_hub_id, require_hub
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


class ParquetRows:
    """Writes dict rows to a parquet file in batches (give it a temp path from `deepmath_ext.files`)."""

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


class PromptLengthLimit:
    """Counts prompt tokens exactly as verl's `filter_overlong_prompts` does (template applied)."""

    def __init__(self, tokenizer: Any, template: PromptTemplate, max_tokens: int) -> None:
        if isinstance(tokenizer, str | Path):
            from transformers import AutoTokenizer

            if is_hub_id(tokenizer):
                require_hub(f"tokenizer {tokenizer}", "pass a local tokenizer folder with --tokenizer")

            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self.tokenizer, self.template, self.max_tokens = tokenizer, template, max_tokens

    def too_long(self, question: str, completion: str = "") -> bool:
        """True when the rendered prompt (plus `completion`) has more than `max_tokens` tokens."""
        text = self.template.render(self.tokenizer, question) + completion
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) > self.max_tokens
