"""`deepmath decontaminate` end to end: output files, report contents, reruns, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from decontam_support import all_benchmark_problems, train_rows
from planting import plant_rows

from deepmath_ext.cli import main
from deepmath_ext.data import PAPER_BENCHMARKS

AGAINST = ",".join(PAPER_BENCHMARKS)


@pytest.fixture(scope="module")
def planted_train(tmp_path_factory, data_root, benchmarks_dir):
    """300 real MATH-train rows with 5 verbatim and 5 noisy benchmark plants, as a JSONL file."""
    references = all_benchmark_problems(benchmarks_dir)
    rows, plants = plant_rows(
        train_rows(data_root, "deepscaler_train_math.jsonl", 300), references, [], 5, seed=3
    )
    path = tmp_path_factory.mktemp("train") / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path, rows, plants, references


def _run(train: Path, out: Path, benchmarks_dir: Path | None, *extra: str, against: str = AGAINST) -> int:
    """`deepmath decontaminate`, n-gram stage only unless `extra` says otherwise; its exit code."""
    argv = ["decontaminate", "--train", str(train), "--against", against, "--out", str(out)]
    if benchmarks_dir is not None:
        argv += ["--data-dir", str(benchmarks_dir)]
    return main([*argv, "--stages", "ngram", *extra])


def test_outputs_hold_kept_and_removed_rows_and_the_report(planted_train, tmp_path, benchmarks_dir):
    train, rows, plants, references = planted_train
    assert _run(train, tmp_path / "out", benchmarks_dir) == 0
    removed = [json.loads(line) for line in (tmp_path / "out" / "removed.jsonl").read_text().splitlines()]
    assert [r["index"] for r in removed] == sorted(p.index for p in plants)
    for record, plant in zip(removed, sorted(plants, key=lambda p: p.index), strict=True):
        assert record["question"] == rows[plant.index]["question"]
        assert record["stage"] == "ngram" and record["score"] >= 0.8
        assert (record["benchmark"], record["benchmark_id"]) == (
            references[plant.reference].benchmark,
            references[plant.reference].id,
        )
        assert record["benchmark_problem"] == references[plant.reference].problem
    clean = pq.read_table(tmp_path / "out" / "clean.parquet").to_pylist()
    kept = [row for i, row in enumerate(rows) if i not in {p.index for p in plants}]
    assert [row["question"] for row in clean] == [row["question"] for row in kept]
    assert clean[0]["final_answer"] == kept[0]["final_answer"]

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["rows"], report["removed"], report["kept"]) == (len(rows), len(plants), len(kept))
    assert report["removed_by_stage"] == {"ngram": len(plants)}
    assert report["settings"] == {"stages": ["ngram"], "ngram": {"n": 13, "min_overlap": 0.8}}
    per_benchmark = {name: entry["removed"].get("ngram", 0) for name, entry in report["benchmarks"].items()}
    expected = {
        name: sum(references[p.reference].benchmark == name for p in plants) for name in per_benchmark
    }
    assert per_benchmark == expected
    assert sum(e["problems"] for e in report["benchmarks"].values()) == len(references) == 1547
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"{len(rows)} rows, **{len(plants)} removed**" in markdown
    assert "| math500 | 500 |" in markdown


def test_rerun_gives_identical_files(planted_train, tmp_path, benchmarks_dir):
    train = planted_train[0]
    assert _run(train, tmp_path / "a", benchmarks_dir) == 0
    assert _run(train, tmp_path / "b", benchmarks_dir) == 0
    for name in ("clean.parquet", "removed.jsonl", "report.json", "report.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "clean.parquet",
        "removed.jsonl",
        "report.json",
        "report.md",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no training rows"),
        ('{"question": "What is 1+1?"}\n{"final_answer": "3"}\n', "training row 1 has no question"),
        ('{"question": "What is 1+1?"}\n{"question": "  "}\n', "training row 1 has no question"),
        ('{"question": "x"}\nnot json\n', ":2: not valid JSON"),
    ],
)
def test_bad_training_file_is_a_clear_error(content, message, tmp_path, benchmarks_dir, capsys):
    train = tmp_path / "train.jsonl"
    train.write_text(content)
    assert _run(train, tmp_path / "out", benchmarks_dir) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "clean.parquet").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--against", "math501"], "neither a benchmark"),
        (["--stages", "ngram,judge"], "judge stage needs the embed stage"),
        (["--stages", "grep"], "unknown or no stages"),
        (["--judge-endpoint", "http://localhost:1/v1"], "go together"),
    ],
)
def test_bad_options_are_clear_errors(args, message, planted_train, tmp_path, benchmarks_dir, capsys):
    assert _run(planted_train[0], tmp_path / "out", benchmarks_dir, *args) == 2
    assert message in capsys.readouterr().err


def test_benchmark_file_without_problem_text_names_the_row(planted_train, tmp_path, benchmarks_dir, capsys):
    extra = tmp_path / "mytest.jsonl"
    extra.write_text('{"problem": "Find x if x+1=2."}\n{"answer": "3"}\n')
    code = _run(planted_train[0], tmp_path / "out", None, against=str(extra))
    assert code == 2
    assert f"{extra}: row 1 has no problem text" in capsys.readouterr().err


def test_local_problem_file_is_a_benchmark_of_its_own(planted_train, tmp_path):
    train, rows = planted_train[0], planted_train[1]
    extra = tmp_path / "newset.jsonl"
    extra.write_text(json.dumps({"problem": rows[10]["question"], "answer": "?"}) + "\n")
    code = _run(train, tmp_path / "out", None, against=str(extra))
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["benchmarks"] == {
        "newset": {
            "problems": 1,
            "flagged": {"ngram": 1},
            "removed": {"ngram": 1},
            "problems_found_in_train": 1,
        }
    }
    removed = json.loads((tmp_path / "out" / "removed.jsonl").read_text())
    assert (removed["index"], removed["benchmark"], removed["benchmark_id"]) == (10, "newset", "0")
