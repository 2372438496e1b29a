"""Counts by difficulty, topic and kind of gold answer for raw DeepMath-shaped data or a prepared parquet,
with plots."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepmath_ext.data.answer_types import ANSWER_TYPES, NON_VERIFIABLE, with_answer_types
from deepmath_ext.data.deepmath import iter_deepmath
from deepmath_ext.errors import UserError
from deepmath_ext.files import iter_row_file, pyplot, save_png_atomic, write_json_atomic

UNKNOWN = "(unknown)"
NOT_FINITE = "(not finite)"  # NaN or inf: counted together (each NaN would be a key of its own)
TOPIC_ROOT = "Mathematics"
TOPIC_SEPARATOR = " -> "


@dataclass
class DatasetStats:
    """Row count and counts per difficulty value, per topic prefix and per kind of gold answer."""

    source: str
    rows: int = 0
    difficulty: Counter = field(default_factory=Counter)
    topic: Counter = field(default_factory=Counter)
    answer_types: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary, difficulties in ascending order and topics by count."""
        return {
            "source": self.source,
            "rows": self.rows,
            "difficulty": {
                str(k): v for k, v in sorted(self.difficulty.items(), key=lambda kv: _sort_key(kv[0]))
            },
            "topic": dict(self.topic.most_common()),
            "answer_types": {kind: self.answer_types.get(kind, 0) for kind in ANSWER_TYPES},
            "non_verifiable_answer_types": list(NON_VERIFIABLE),
        }


def _sort_key(value: Any) -> tuple[int, float]:
    return (1, 0.0) if value in (UNKNOWN, NOT_FINITE) else (0, float(value))


def topic_prefix(topic: Any, depth: int) -> str:
    """The first `depth` levels of a DeepMath topic path, without the common 'Mathematics' root."""
    if not isinstance(topic, str) or not topic.strip():
        return UNKNOWN
    parts = [p.strip() for p in topic.split(TOPIC_SEPARATOR.strip())]
    if parts[0] == TOPIC_ROOT and len(parts) > 1:
        parts = parts[1:]
    return TOPIC_SEPARATOR.join(parts[:depth])


def _rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """(difficulty, topic, answer) dicts from a prepared verl parquet (extra_info, the reward model's ground
    truth) or from raw rows."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        if "extra_info" in pq.ParquetFile(path).schema_arrow.names:
            for row in iter_row_file(path, columns=["extra_info", "reward_model"]):
                gold = (row.get("reward_model") or {}).get("ground_truth")
                yield {**(row["extra_info"] or {}), "answer": gold}
            return
    for row in iter_deepmath(path, with_solutions=False):
        yield {**row, "answer": row.get("final_answer")}


def compute_stats(path: str | Path, topic_depth: int = 2) -> DatasetStats:
    """Stream `path` once and count rows by difficulty and topic; UserError when it holds no rows."""
    stats = DatasetStats(source=str(path))
    for row, kind in with_answer_types(_rows(path), "answer"):
        stats.rows += 1
        stats.answer_types[kind] += 1
        stats.difficulty[_difficulty_key(row.get("difficulty"))] += 1
        stats.topic[topic_prefix(row.get("topic"), topic_depth)] += 1
    if not stats.rows:
        raise UserError(f"{path}: no rows to count")
    return stats


def _difficulty_key(value: Any) -> Any:
    if value is None:
        return UNKNOWN
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_FINITE
    return value


def _plot_difficulty(stats: DatasetStats, path: Path) -> None:
    plt = pyplot()
    items = sorted(stats.difficulty.items(), key=lambda kv: _sort_key(kv[0]))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar([str(k) for k, _ in items], [v for _, v in items], color="tab:blue")
    ax.set(xlabel="difficulty", ylabel="rows", title=f"Difficulty ({stats.rows} rows)")
    save_png_atomic(fig, path)


def _plot_topics(stats: DatasetStats, path: Path, top: int = 25) -> None:
    plt = pyplot()
    items = stats.topic.most_common(top)[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(items) + 1.5))
    ax.barh([k for k, _ in items], [v for _, v in items], color="tab:green")
    ax.set(xlabel="rows", title=f"Topics (top {len(items)} of {len(stats.topic)})")
    save_png_atomic(fig, path)


def _plot_answer_types(stats: DatasetStats, path: Path) -> None:
    plt = pyplot()
    counts = [stats.answer_types.get(kind, 0) for kind in ANSWER_TYPES]
    colors = ["tab:gray" if kind in NON_VERIFIABLE else "tab:purple" for kind in ANSWER_TYPES]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(ANSWER_TYPES, counts, color=colors)
    ax.set(ylabel="rows", title=f"Kinds of gold answer ({stats.rows} rows; gray: not verifiable as math)")
    save_png_atomic(fig, path)


def write_stats(stats: DatasetStats, out_dir: str | Path) -> dict[str, Path]:
    """Write stats.json, difficulty.png, topics.png and answer_types.png into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = ("difficulty", "topics", "answer_types")
    paths = {"json": out / "stats.json", **{name: out / f"{name}.png" for name in names}}
    write_json_atomic(paths["json"], stats.to_dict())
    _plot_difficulty(stats, paths["difficulty"])
    _plot_topics(stats, paths["topics"])
    _plot_answer_types(stats, paths["answer_types"])
    return paths
