"""`deepmath stats`: counts by difficulty and topic from raw or prepared data, JSON and PNG outputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from deepmath_ext.cli import main
from deepmath_ext.data.prepare import prepare_dataset
from deepmath_ext.data.stats import UNKNOWN, compute_stats, topic_prefix
from deepmath_ext.files import iter_row_file

SAMPLE = Path(__file__).resolve().parents[1] / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"


def test_topic_prefix_drops_the_mathematics_root():
    topic = "Mathematics -> Algebra -> Linear Algebra -> Determinants"
    assert topic_prefix(topic, 1) == "Algebra"
    assert topic_prefix(topic, 2) == "Algebra -> Linear Algebra"
    assert topic_prefix(None, 2) == topic_prefix("  ", 2) == UNKNOWN


def test_raw_and_prepared_data_give_the_same_counts(tmp_path: Path):
    raw = list(iter_row_file(SAMPLE))
    prepared = prepare_dataset(tmp_path, train=SAMPLE, val=(), progress=False).train_path
    from_raw, from_parquet = compute_stats(SAMPLE, topic_depth=1), compute_stats(prepared, topic_depth=1)
    assert from_raw.rows == from_parquet.rows == len(raw)
    assert from_raw.difficulty == from_parquet.difficulty == Counter(r["difficulty"] for r in raw)
    assert from_raw.topic == from_parquet.topic
    assert sum(from_raw.topic.values()) == len(raw)


def test_cli_writes_json_and_plots(tmp_path: Path, capsys):
    assert main(["stats", str(SAMPLE), "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "stats.json").read_text())
    assert summary["rows"] == len(list(iter_row_file(SAMPLE)))
    assert list(summary["difficulty"]) == sorted(summary["difficulty"], key=float)
    for png in ("difficulty.png", "topics.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{summary['rows']} rows" in capsys.readouterr().out
