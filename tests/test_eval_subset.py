"""`deepmath eval --limit/--problems` (a subset of every benchmark, recorded and pinned) and
`--benchmark-file NAME=PATH` (a user's benchmark, pinned by content), end to end with the hf backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_support import build_data_dir, config_from_argv, eval_argv, parse_eval_args, read_generations

from deepmath_ext.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return build_data_dir(tmp_path_factory.mktemp("benchmarks"))


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def test_a_subset_is_recorded_may_grow_and_may_not_shrink(eval_tiny_model, data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, run, "--limit", "1")]) == 0
    first = {(b, i) for b, i, _ in read_generations(run)}
    assert {b for b, _ in first} == {"math500", "aime24"} and len(first) == 2  # one problem each
    assert _manifest(run)["selection"] == _manifest(run)["pinned"]["selection"] == [0, 1]

    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, run, "--problems", "0:3")]) == 0
    grown = {(b, i) for b, i, _ in read_generations(run)}
    assert first < grown and len(grown) == 5  # math500 has 3 rows here, aime24 2
    assert _manifest(run)["pinned"]["selection"] == [0, 3]
    assert _manifest(run)["invocations"][-1]["generated"] == 3 * 2

    capsys.readouterr()
    before = (run / "generations.jsonl").read_bytes()
    for narrower in (["--limit", "1"], ["--problems", "1:3"], []):
        code = main(["eval", *eval_argv(eval_tiny_model, data_dir, run, *narrower)])
        assert code == (0 if not narrower else 2)
    # no subset at all is every row, which covers 0:3; the narrower ones are refused and name the range
    assert "holds samples of problems 0:3, which --problems 0:1 does not cover" in capsys.readouterr().err
    # the stored rows were all the rows: nothing generated, so the pin still names what the samples cover
    assert (run / "generations.jsonl").read_bytes() == before
    assert (_manifest(run)["selection"], _manifest(run)["pinned"]["selection"]) == (None, [0, 3])


def test_a_subset_that_selects_nothing_is_refused(eval_tiny_model, data_dir, tmp_path, capsys):
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, tmp_path / "run", "--problems", "2:9")]) == 2
    assert "--problems 2:9 selects no problem of aime24" in capsys.readouterr().err
    assert not (tmp_path / "run" / "generations.jsonl").exists()


@pytest.mark.parametrize("bad", ["3", "3:1", "a:b", "-1:2", "1:1"])
def test_problem_ranges_are_checked(bad: str, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_eval_args(["--model", "m", "--out", "o", f"--problems={bad}"])
    assert exit_info.value.code == 2 and "expected A:B with 0 <= A < B" in capsys.readouterr().err


def test_limit_and_problems_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        parse_eval_args(["--model", "m", "--out", "o", "--limit", "2", "--problems", "0:2"])
    assert "not allowed with argument" in capsys.readouterr().err


def _write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"id": "q1", "problem": "What is 2+3?", "answer": "5", "level": "easy"},
    {"id": "q2", "problem": " Compute $7 \\times 6$.\n", "answer": 42, "level": "hard", "subject": "arith"},
]


def test_a_benchmark_file_is_evaluated_reported_and_pinned(eval_tiny_model, data_dir, tmp_path, capsys):
    mine = _write_rows(tmp_path / "mine.jsonl", ROWS)
    argv = [*eval_argv(eval_tiny_model, data_dir, tmp_path / "run"), "--benchmark-file", f"mine={mine}"]
    argv[argv.index("--benchmarks") : argv.index("--benchmarks") + 2] = []  # the file alone
    assert config_from_argv(argv).benchmarks == ()
    assert main(["eval", *argv]) == 0
    run = tmp_path / "run"
    assert {(b, i) for b, i, _ in read_generations(run)} == {("mine", "q1"), ("mine", "q2")}
    problems = [json.loads(line) for line in (run / "problems.jsonl").read_text().splitlines()]
    assert [(p["problem"], p["answer"]) for p in problems] == [(r["problem"], str(r["answer"])) for r in ROWS]
    metrics = json.loads((run / "metrics.json").read_text())["benchmarks"]["mine"]
    assert set(metrics["policies"]["strict"]["categories"]) == {"level", "subject"}
    assert "| Model | mine |" in (run / "report.md").read_text()
    source = _manifest(run)["benchmarks"]["mine"]["source"]
    assert source == {"location": str(mine.resolve()), "benchmark_file": True}

    _write_rows(mine, [ROWS[0], {**ROWS[1], "answer": "41"}])  # the same name, other content
    capsys.readouterr()
    assert main(["eval", *argv]) == 2
    assert "benchmark mine content hash" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rows", "name", "message"),
    [
        ([{"problem": "p"}], "mine", "mine:0: no answer field (looked for answer)"),
        ([{"question": "p", "answer": "1"}], "mine", "no problem field (looked for problem)"),
        ([{"problem": "p", "answer": "1"}], "amc23", "'amc23' is a registered benchmark's name"),
        ([], "mine", "no rows"),
    ],
)
def test_a_bad_benchmark_file_fails_naming_it(
    eval_tiny_model, data_dir, tmp_path, capsys, rows, name, message
):
    path = _write_rows(tmp_path / "bad.jsonl", rows)
    argv = [*eval_argv(eval_tiny_model, data_dir, tmp_path / "run"), "--benchmark-file", f"{name}={path}"]
    assert main(["eval", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "generations.jsonl").exists()
