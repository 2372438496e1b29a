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


def test_stats_of_an_empty_file_is_refused_and_writes_nothing(tmp_path: Path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["stats", str(empty), "--out", str(tmp_path / "out")]) == 2
    assert f"{empty}: no rows to count" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_non_finite_difficulties_are_counted_together(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"difficulty": NaN}\n{"difficulty": NaN}\n{"difficulty": Infinity}\n{"difficulty": 2.0}\n'
    )
    assert compute_stats(source).to_dict()["difficulty"] == {"2.0": 1, "(not finite)": 3}
