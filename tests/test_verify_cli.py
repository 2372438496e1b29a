"""`deepmath grade`: the bundled sample, bad rows, atomic output."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from deepmath_ext.cli import main

SAMPLE = resources.files("deepmath_ext") / "samples" / "graded_responses.jsonl"


def write_jsonl(path, rows) -> None:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))


def test_bundled_sample_grades_as_hand_labelled(tmp_path, capsys):
    out = tmp_path / "graded.jsonl"
    with resources.as_file(SAMPLE) as sample:
        assert main(["grade", str(sample), "--out", str(out), "--workers", "1"]) == 0
        source = [json.loads(line) for line in sample.read_text().splitlines()]
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in graded] == [row["id"] for row in source]
    assert [row["correct"] for row in graded] == [row["label"] for row in source]
    summary = capsys.readouterr().out
    assert f"agreement with labels: 100.0% ({len(source)}/{len(source)})" in summary
    assert "items/s" in summary and "statuses: " in summary


def test_bad_row_is_an_error_naming_the_line_and_writes_nothing(tmp_path, capsys):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, [{"response": "</think>\\boxed{1}", "gold": "1"}, {"response": "</think>\\boxed{1}"}])
    assert main(["grade", str(source), "--out", str(out)]) == 2
    assert "line 2: missing key 'gold'" in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [source]  # no temp file left behind


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a list"]', "line 2: expected a JSON object"),
        ('{"response": 5, "gold": "1"}', "line 2: 'response' must be a string"),
        ('{"response": "x", "gold": " "}', "line 2: gold answer"),
    ],
)
def test_skip_bad_counts_and_reports_skipped_rows(tmp_path, capsys, bad_line, message):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(
        source, [{"response": "</think>\\boxed{1}", "gold": "1"}, bad_line, {"response": "x", "gold": "2"}]
    )
    assert main(["grade", str(source), "--out", str(out), "--skip-bad", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert message in captured.err
    assert "skipped: 1 bad rows" in captured.out
    assert [json.loads(line)["status"] for line in out.read_text().splitlines()] == [
        "correct_exact",
        "format_error",
    ]


def test_custom_keys_and_no_think_requirement(tmp_path):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"completion": "So $\\boxed{0.5}$.", "answer": "\\frac12"}])
    argv = [
        "grade",
        str(source),
        "--response-key",
        "completion",
        "--gold-key",
        "answer",
        "--no-require-think",
    ]
    assert main([*argv, "--workers", "1"]) == 0
    (row,) = [json.loads(line) for line in (tmp_path / "in.graded.jsonl").read_text().splitlines()]
    assert row["status"] == "correct_numeric" and row["pred"] == "0.5"


def test_policy_option_grades_by_the_reference_rules(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"response": "<think>x</think> So $\\boxed{100001}$.", "gold": "100000"}])
    assert main(["grade", str(source), "--workers", "1", "--policy", "reference"]) == 0
    (row,) = [json.loads(line) for line in (tmp_path / "in.graded.jsonl").read_text().splitlines()]
    assert (row["status"], row["detail"]) == ("correct_numeric", "math_equal on the last box")
    assert main(["grade", str(source), "--workers", "1"]) == 0  # strict by default: no tolerance
    (row,) = [json.loads(line) for line in (tmp_path / "in.graded.jsonl").read_text().splitlines()]
    assert row["status"] == "wrong"
    with pytest.raises(SystemExit):
        main(["grade", str(source), "--policy", "lenient"])
    assert "unknown grading policy 'lenient'" in capsys.readouterr().err


def test_missing_input_file_is_an_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink"])
def test_output_that_is_the_input_is_refused_whatever_its_spelling(tmp_path, capsys, spelling):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"response": "</think>\\boxed{1}", "gold": "1"}, "{broken"])
    before = source.read_bytes()
    out = {"same": source, "dotted": tmp_path / "." / "sub" / ".." / "in.jsonl"}.get(spelling)
    (tmp_path / "sub").mkdir()
    if spelling == "symlink":
        out = tmp_path / "link.jsonl"
        out.symlink_to(source)
    if spelling == "hardlink":
        out = tmp_path / "hard.jsonl"
        out.hardlink_to(source)
    assert main(["grade", str(source), "--out", str(out), "--skip-bad", "--workers", "1"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert source.read_bytes() == before


@pytest.mark.parametrize(
    ("lines", "message"),
    [([], "no rows graded"), (["", "  "], "no rows graded"), (["{bad", "[1]"], "no rows graded (2 skipped)")],
)
def test_grading_nothing_is_an_error(tmp_path, capsys, lines, message):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(line + "\n" for line in lines))
    assert main(["grade", str(source), "--out", str(out), "--skip-bad", "--workers", "1"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
