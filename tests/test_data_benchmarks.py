"""The benchmark registry against the real local copies in the test data (benchmarks/)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import pytest

from deepmath_ext.data import (
    BENCHMARKS,
    PAPER_BENCHMARKS,
    BenchmarkMismatchError,
    get_benchmark,
    load_benchmark,
)
from deepmath_ext.data.benchmarks import content_hash, problems_from_rows
from deepmath_ext.files import iter_row_file

EXPECTED_ROWS = {
    "math500": 500,
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "olympiadbench": 675,
    "minerva": 272,
}


def test_registry_names_and_counts_match_the_issue():
    assert set(BENCHMARKS) == {*EXPECTED_ROWS, "polymath-en", "gpqa-diamond"}
    assert {name: BENCHMARKS[name].local.expected_rows for name in PAPER_BENCHMARKS} == EXPECTED_ROWS
    assert {name: BENCHMARKS[name].hub.expected_rows for name in PAPER_BENCHMARKS} == EXPECTED_ROWS
    assert all(len(BENCHMARKS[name].local.content_hash) == 64 for name in PAPER_BENCHMARKS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_local_copy_loads_with_unique_ids_and_nonempty_fields(benchmarks_dir: Path, name: str):
    problems = load_benchmark(name, data_dir=benchmarks_dir)
    assert len(problems) == EXPECTED_ROWS[name]
    assert len({p.id for p in problems}) == len(problems)
    assert all(p.problem and p.answer and p.benchmark == name for p in problems)


def test_gold_answers_follow_each_benchmarks_convention(benchmarks_dir: Path):
    amc = load_benchmark("amc23", data_dir=benchmarks_dir)
    assert amc[0].answer == "27"  # stored as the float 27.0
    minerva = load_benchmark("minerva", data_dir=benchmarks_dir)
    # row 0's solution ends in `=\boxed{1.6} \mathrm{~cm}`: the box's content, not the unit after it.
    assert (minerva[0].id, minerva[0].answer) == ("0", "1.6")
    olympiad = {p.id: p for p in load_benchmark("olympiadbench", data_dir=benchmarks_dir)}
    raw = {str(r["id"]): r for r in iter_row_file(benchmarks_dir / "olympiadbench.jsonl")}
    multi = next(i for i, r in raw.items() if r["final_answer"] == ["$69$,$84$"])
    assert olympiad[multi].answer == "69,84"  # `$` delimiters stripped, parts kept
    assert olympiad["1606"].categories["subfield"] == "Combinatorics"


def test_ids_are_the_dataset_id_or_the_row_index(benchmarks_dir: Path):
    math500 = load_benchmark("math500", data_dir=benchmarks_dir)
    assert math500[0].id == "test/precalculus/807.json"
    assert math500[0].categories == {"level": "2", "subject": "Precalculus"}
    aime25 = load_benchmark("aime25", data_dir=benchmarks_dir)  # this copy has no id column
    assert [p.id for p in aime25[:3]] == ["0", "1", "2"]
    assert load_benchmark("aime24", data_dir=benchmarks_dir)[0].id == "60"


@pytest.mark.parametrize(
    ("name", "alt_file", "overrides"),
    [
        ("olympiadbench", "olympiadbench_deepscaler.jsonl", {}),  # question/final_answer renamed
        ("aime25", "aime25_lightr1.jsonl", {}),  # integer answers, string ids
        ("math500", "math500_deepscaler.jsonl", {}),  # other columns, no level/subject
    ],
)
def test_content_hash_survives_format_differences_between_copies(
    benchmarks_dir: Path, name: str, alt_file: str, overrides: dict
):
    spec = get_benchmark(name)
    source = dataclasses.replace(spec.local, **overrides)
    alt = list(problems_from_rows(spec, source, iter_row_file(benchmarks_dir / "alt" / alt_file)))
    assert content_hash(alt) == spec.local.content_hash


def test_content_hash_ignores_row_order(benchmarks_dir: Path):
    problems = load_benchmark("aime24", data_dir=benchmarks_dir)
    assert content_hash(reversed(problems)) == content_hash(problems)
    changed = [dataclasses.replace(problems[0], answer="205"), *problems[1:]]
    assert content_hash(changed) != content_hash(problems)


def test_minerva_gold_comes_from_the_solution_not_a_copys_answer_column(benchmarks_dir: Path):
    # DeepScaleR's Minerva copy carries its own re-extracted `answer` list ("8.7 \\times 10^{8}" where the
    # boxed solution says "8.7e8"); the registry derives the gold from `solution` in every copy.
    alt_file = benchmarks_dir / "alt" / "minerva_math_deepscaler.jsonl"
    spec = get_benchmark("minerva")
    assert content_hash(load_benchmark("minerva", data_dir=alt_file)) == spec.local.content_hash
    answer_column = dataclasses.replace(spec.local, answer_fields=("answer",), answer_kind="answer_list")
    assert (
        content_hash(problems_from_rows(spec, answer_column, iter_row_file(alt_file)))
        != spec.local.content_hash
    )


def test_copy_with_a_changed_answer_is_reported(benchmarks_dir: Path, tmp_path: Path, caplog):
    rows = list(iter_row_file(benchmarks_dir / "aime24.jsonl"))
    rows[3]["answer"] = "999"
    (tmp_path / "aime24.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(BenchmarkMismatchError, match=r"aime24.*content hash"):
        load_benchmark("aime24", data_dir=tmp_path)
    with caplog.at_level(logging.WARNING):
        problems = load_benchmark("aime24", data_dir=tmp_path, allow_mismatch=True)
    assert problems[3].answer == "999"
    assert "does not match the registry" in caplog.text


def test_missing_rows_are_reported(benchmarks_dir: Path, tmp_path: Path):
    lines = (benchmarks_dir / "aime24.jsonl").read_text().splitlines()[:-1]
    (tmp_path / "aime24.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(BenchmarkMismatchError, match="29 rows, expected 30"):
        load_benchmark("aime24", data_dir=tmp_path)


def test_minerva_row_without_a_box_names_the_row(tmp_path: Path):
    rows = [{"idx": 7, "problem": "p", "solution": "no box here", "type": "t"}]
    (tmp_path / "minerva_math.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(ValueError, match=r"minerva row 7: solution has no usable \\boxed"):
        load_benchmark("minerva", data_dir=tmp_path, allow_mismatch=True)


def test_unknown_benchmark_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown benchmark 'gsm8k'.*math500.*minerva"):
        get_benchmark("gsm8k")


FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"


def _renamed(rows, renames: dict[str, str]):
    return [{renames.get(k, k): v for k, v in row.items()} for row in rows]


@pytest.mark.parametrize(
    ("name", "renames"),
    [
        ("math500", {"answer": "expected_answer", "subject": "type"}),
        ("aime24", {"answer": "expected_answer"}),
    ],
)
def test_hub_sources_read_the_fields_the_reference_reads(benchmarks_dir: Path, name: str, renames: dict):
    # The reference reads MATH500 and AIME24 from `expected_answer`; rows shaped that way give the same
    # problems as the local copy, whose gold is in `answer`.
    spec = get_benchmark(name)
    rows = list(iter_row_file(benchmarks_dir / spec.local.location))
    hub_problems = list(problems_from_rows(spec, spec.hub, _renamed(rows, renames)))
    assert content_hash(hub_problems) == spec.local.content_hash
    with pytest.raises(ValueError, match=r"no answer field \(looked for expected_answer\)"):
        list(problems_from_rows(spec, spec.hub, rows))


def test_gpqa_builds_a_choice_prompt_and_grades_the_letter():
    spec = get_benchmark("gpqa-diamond")
    problems = load_benchmark(
        "gpqa-diamond", data_dir=FIXTURES / "gpqa_diamond_mc/data/test-00000-of-00001.jsonl"
    )
    assert [p.answer for p in problems] == ["B", "D", "A", "C"]  # "B", "\boxed{D}", "(A)", "C"
    assert all(p.problem.endswith(spec.prompt_suffix) and "\nD) " in p.problem for p in problems)
    assert [p.categories for p in problems][:2] == [{"domain": "Physics"}, {"domain": "Chemistry"}]
    with pytest.raises(ValueError, match=r"gpqa-diamond row 0: not one choice letter: 'A or B'"):
        list(problems_from_rows(spec, spec.local, [{"problem": "q", "solution": "A or B", "domain": "x"}]))


def test_polymath_reads_question_answer_and_level():
    problems = load_benchmark("polymath-en", data_dir=FIXTURES / "pm_en/data/test-00000-of-00001.jsonl")
    assert [(p.id, p.answer, p.categories) for p in problems][:2] == [
        ("low-0", "56", {"level": "low"}),
        ("medium-0", "5", {"level": "medium"}),
    ]


def test_a_hub_source_without_pins_is_pinned_on_its_first_load(tmp_path: Path, monkeypatch, caplog):
    import datasets

    from deepmath_ext.data import benchmarks

    monkeypatch.setenv("DEEPMATH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf"))
    copy = shutil.copytree(FIXTURES / "pm_en", tmp_path / "pm_en")  # stands in for zwhe99/pm-en
    spec = get_benchmark("polymath-en")
    assert spec.hub.expected_rows is None and spec.hub.content_hash is None
    monkeypatch.setitem(
        benchmarks.BENCHMARKS,
        spec.name,
        dataclasses.replace(spec, hub=dataclasses.replace(spec.hub, location=str(copy))),
    )
    with caplog.at_level(logging.WARNING):
        first = load_benchmark("polymath-en")
    assert "first load of hub source" in caplog.text and "pinned 4 rows" in caplog.text
    pins = json.loads(benchmarks.hub_pins_file().read_text())
    assert list(pins.values()) == [{"expected_rows": 4, "content_hash": content_hash(first)}]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert load_benchmark("polymath-en") == first
    assert "first load" not in caplog.text  # pinned once
    data = copy / "data" / "test-00000-of-00001.jsonl"
    data.write_text(data.read_text().replace('"answer": "56"', '"answer": "57"'))
    shutil.rmtree(tmp_path / "hf")
    with pytest.raises(BenchmarkMismatchError, match=r"polymath-en.*content hash"):
        load_benchmark("polymath-en")
