"""`deepmath prepare`: verl-schema parquet, validation report, and loading in verl's own RLHFDataset."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from deepmath_ext.cli import main
from deepmath_ext.data import PAPER_BENCHMARKS, TRAIN_DATA_SOURCE
from deepmath_ext.data.prepare import RowSelection, prepare_dataset
from deepmath_ext.data.validation import DataValidationError
from deepmath_ext.files import iter_row_file

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


def test_strict_lists_every_defect_and_writes_nothing(tmp_path: Path, capsys):
    with pytest.raises(
        DataValidationError, match=r": 4 invalid rows \(empty_final_answer 1, missing_question 1, "
    ):
        prepare_dataset(tmp_path, train=DEFECTS, val=(), strict=True, progress=False)
    listed = capsys.readouterr().err.splitlines()
    assert [line.split(": row ")[1] for line in listed] == [
        "2: empty_final_answer",
        "1: missing_question",
        "7: wrong_type_difficulty",
        "3: wrong_type_final_answer",
    ]  # all of them in one pass, not only the first
    assert list(tmp_path.iterdir()) == []  # the temp parquet was removed, nothing renamed into place


def test_a_row_with_two_defects_is_one_dropped_row(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"final_answer": 5, "difficulty": "x"}\n{"question": "1+1?", "final_answer": "2"}\n')
    report = prepare_dataset(tmp_path / "out", train=source, val=(), progress=False).reports["train"]
    assert report.read == 2 == report.written + sum(report.dropped_counts.values())
    assert report.dropped == {"missing_question": ["0"]}
    assert report.defects == {
        "missing_question": ["0"],
        "wrong_type_final_answer": ["0"],
        "wrong_type_difficulty": ["0"],
    }
    assert report.invalid_rows == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--difficulty-min", "9", "--difficulty-max", "5"], "no rows left to write (read 26"),
        (["--no-val", "--topics", "no such topic"], "no rows left to write"),
    ],
)
def test_prepare_writing_no_rows_is_an_error_and_changes_nothing(tmp_path: Path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["prepare", "--out", str(out), "--train", str(SAMPLE), "--no-val", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []


def test_no_train_and_no_val_is_an_error(tmp_path: Path, capsys):
    assert main(["prepare", "--out", str(tmp_path / "o"), "--no-train", "--no-val"]) == 2
    assert "nothing to write" in capsys.readouterr().err


def test_a_failed_prepare_leaves_the_previous_output_whole(tmp_path: Path, benchmarks_dir: Path, capsys):
    argv = ["prepare", "--out", str(tmp_path), "--train", str(SAMPLE), "--data-dir", str(benchmarks_dir)]
    assert main([*argv, "--val", "aime24"]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["prepare_report.json", "train.parquet", "val.parquet"]
    # The benchmark (a copy short of one row) is refused after the training split is complete: nothing changes.
    (tmp_path / "bench").mkdir()
    lines = (benchmarks_dir / "aime24.jsonl").read_text().splitlines()[:-1]
    (tmp_path / "bench" / "aime24.jsonl").write_text("\n".join(lines) + "\n")
    bad = ["prepare", "--out", str(tmp_path), "--train", str(SAMPLE), "--data-dir", str(tmp_path / "bench")]
    assert main([*bad, "--val", "aime24"]) == 2
    err = capsys.readouterr().err
    assert "29 rows, expected 30" in err and "(pass --allow-benchmark-mismatch to load it anyway)" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "bench"} == before
    # With the override the copy is used, and the report records how it differs.
    assert main([*bad, "--val", "aime24", "--allow-benchmark-mismatch"]) == 0
    report = json.loads((tmp_path / "prepare_report.json").read_text())
    assert "29 rows, expected 30" in report["benchmark_mismatches"]["aime24"]


def test_no_val_removes_an_old_val_file_with_the_new_train_file(tmp_path: Path, benchmarks_dir: Path):
    argv = ["prepare", "--out", str(tmp_path), "--train", str(SAMPLE), "--data-dir", str(benchmarks_dir)]
    assert main([*argv, "--val", "aime24"]) == 0
    assert main([*argv, "--no-val", "--limit", "5"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepare_report.json", "train.parquet"]
    assert pq.read_metadata(tmp_path / "train.parquet").num_rows == 5


def test_difficulty_and_topic_selection_are_counted(tmp_path: Path):
    selection = RowSelection(difficulty_min=2.0, difficulty_max=8.0, topics=("geometry", "Number Theory"))
    report = prepare_dataset(tmp_path, train=DEFECTS, val=(), selection=selection, progress=False).reports[
        "train"
    ]
    # Rows 0, 4 and 5 have difficulty 1.0 and row 9 has 9.0; selection runs before deduplication.
    assert report.dropped["difficulty_out_of_range"] == ["0", "4", "5", "9"]
    assert "topic_not_selected" not in report.dropped  # rows 6 (geometry) and 8 (number theory) remain
    assert report.written == 2


def test_problem_answer_training_files_map_onto_deepmath_fields(tmp_path: Path, data_root: Path):
    math_train = data_root / "train_samples" / "deepscaler_train_math.jsonl"
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


def test_cli_prepare_writes_files_and_reports(tmp_path: Path, benchmarks_dir: Path, capsys):
    code = main(
        ["prepare", "--out", str(tmp_path), "--train", str(SAMPLE), "--data-dir", str(benchmarks_dir),
         "--val", "aime24,amc23", "--template", "r1-distill"]
    )  # fmt: skip
    assert code == 0
    assert pq.read_metadata(tmp_path / "val.parquet").num_rows == 70
    assert "train: read 26, wrote 26" in capsys.readouterr().out
    assert main(["prepare", "--out", str(tmp_path), "--no-train", "--val", "gsm8k"]) == 2
