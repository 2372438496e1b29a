"""`deepmath prepare`: verl-schema parquet, validation report, and loading in verl's own RLHFDataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from deepmath_ext.commands import prepare as prepare_command
from deepmath_ext.data import PAPER_BENCHMARKS, TRAIN_DATA_SOURCE
from deepmath_ext.data.prepare import RowSelection, prepare_dataset
from deepmath_ext.data.rowfiles import iter_row_file
from deepmath_ext.data.validation import DataValidationError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"
DEFECTS = REPO / "tests" / "fixtures" / "data" / "defects.jsonl"
BENCHMARK_ROWS = 500 + 30 + 30 + 40 + 675 + 272


def _accounted(split: dict) -> int:
    return split["written"] + sum(split["dropped_counts"].values())


def test_sample_and_benchmarks_prepare_into_verl_schema(tmp_path: Path, benchmarks_dir: Path):
    result = prepare_dataset(tmp_path, train=SAMPLE, data_dir=benchmarks_dir, progress=False)
    train = pq.read_table(result.train_path).to_pylist()
    val = pq.read_table(result.val_path).to_pylist()
    sample_rows = list(iter_row_file(SAMPLE))
    assert len(train) == len(sample_rows) >= 20
    assert len(val) == BENCHMARK_ROWS
    first = train[0]
    assert first["prompt"] == [{"role": "user", "content": sample_rows[0]["question"]}]  # orz: no system
    assert first["reward_model"] == {"style": "rule", "ground_truth": sample_rows[0]["final_answer"]}
    assert first["extra_info"]["difficulty"] == sample_rows[0]["difficulty"]
    assert first["extra_info"]["topic"] == sample_rows[0]["topic"]
    assert [r["extra_info"]["index"] for r in val] == list(range(len(val)))
    assert {r["data_source"] for r in train} == {TRAIN_DATA_SOURCE}
    assert {r["data_source"] for r in val} == set(PAPER_BENCHMARKS)  # the default validation sets
    assert all(r["extra_info"]["split"] == "test" for r in val)
    report = json.loads(result.report_path.read_text())
    assert report["template"] == "orz"
    assert all(_accounted(split) == split["read"] for split in report["splits"].values())


def test_qwen_boxed_rows_carry_the_system_turn(tmp_path: Path):
    result = prepare_dataset(tmp_path, template="qwen-boxed", train=SAMPLE, val=(), progress=False)
    prompt = pq.read_table(result.train_path).to_pylist()[0]["prompt"]
    assert [m["role"] for m in prompt] == ["system", "user"]
    assert result.val_path is None


def test_every_defect_is_counted_and_listed_by_id(tmp_path: Path):
    result = prepare_dataset(tmp_path, train=DEFECTS, val=(), progress=False)
    report = result.reports["train"]
    assert report.dropped == {
        "missing_question": ["1"],
        "empty_final_answer": ["2"],
        "wrong_type_final_answer": ["3"],
        "duplicate_exact": ["4"],  # row 0 again
        "duplicate_normalised": ["5"],  # row 0 with other case, spacing and no `$`
        "wrong_type_difficulty": ["7"],
    }
    assert report.flagged == {"answer_in_question": ["6"]}  # "... Answer: 144"
    written = pq.read_table(result.train_path).to_pylist()
    assert [r["extra_info"]["problem_id"] for r in written] == ["0", "6", "8", "9"]
    assert report.read == 10 == report.written + sum(report.dropped_counts.values())


def test_strict_fails_naming_rows_and_writes_nothing(tmp_path: Path):
    with pytest.raises(DataValidationError, match=r"missing_question: 1.*wrong_type_final_answer: 3"):
        prepare_dataset(tmp_path, train=DEFECTS, val=(), strict=True, progress=False)
    assert list(tmp_path.iterdir()) == []  # the temp parquet was removed, nothing renamed into place


def test_difficulty_and_topic_selection_are_counted(tmp_path: Path):
    selection = RowSelection(difficulty_min=2.0, difficulty_max=8.0, topics=("geometry", "Number Theory"))
    report = prepare_dataset(tmp_path, train=DEFECTS, val=(), selection=selection, progress=False).reports[
        "train"
    ]
    # Rows 0, 4 and 5 have difficulty 1.0 and row 9 has 9.0; selection runs before deduplication.
    assert report.dropped["difficulty_out_of_range"] == ["0", "4", "5", "9"]
    assert "topic_not_selected" not in report.dropped  # rows 6 (geometry) and 8 (number theory) remain
    assert report.written == 2


def test_problem_answer_training_files_map_onto_deepmath_fields(tmp_path: Path, shared_dir: Path):
    math_train = shared_dir / "data" / "train_samples" / "deepscaler_train_math.jsonl"
    raw = list(iter_row_file(math_train))
    result = prepare_dataset(tmp_path, train=math_train, val=(), progress=False)
    report = result.reports["train"]
    # The real file has rows without an answer; each one is listed, none silently lost.
    for row_id in report.dropped["missing_final_answer"]:
        assert raw[int(row_id)].get("answer") is None
    for row_id in report.dropped["empty_final_answer"]:
        assert not raw[int(row_id)]["answer"].strip()
    assert report.read == len(raw) == report.written + sum(report.dropped_counts.values())
    first = pq.read_table(result.train_path).slice(0, 1).to_pylist()[0]
    assert first["reward_model"]["ground_truth"] == raw[0]["answer"]
    assert first["extra_info"]["topic"] == raw[0]["type"]


def test_limit_reads_only_that_many_rows(tmp_path: Path):
    report = prepare_dataset(tmp_path, train=SAMPLE, val=(), limit=5, progress=False).reports["train"]
    assert (report.read, report.written) == (5, 5)


def _prepare_cli(argv: list[str]) -> int:
    # The command module alone: the `deepmath` dispatcher also imports every other area's commands.
    parser = argparse.ArgumentParser()
    prepare_command.add_arguments(parser)
    return prepare_command.run(parser.parse_args(argv))


def test_cli_prepare_writes_files_and_reports(tmp_path: Path, benchmarks_dir: Path, capsys):
    code = _prepare_cli(
        ["--out", str(tmp_path), "--train", str(SAMPLE), "--data-dir", str(benchmarks_dir),
         "--val", "aime24,amc23", "--template", "r1-distill"]
    )  # fmt: skip
    assert code == 0
    assert pq.read_metadata(tmp_path / "val.parquet").num_rows == 70
    assert "train: read 26, wrote 26" in capsys.readouterr().out
    assert _prepare_cli(["--out", str(tmp_path), "--no-train", "--val", "gsm8k"]) == 1
