"""JSON Lines reading shared by the grader, the data loaders, the evaluator and the quickstart."""

from __future__ import annotations

import re

import pytest

from deepmath_ext.jsonl_files import iter_jsonl, parse_object_line, read_jsonl


def test_reads_objects_and_skips_blank_lines(tmp_path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"a": 2}\n', encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n{"a": \n', ":2: not valid JSON"),
        ('{"a": 1}\n\n[1, 2]\n', ":3: expected a JSON object, got list"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    rows = iter_jsonl(path)
    assert next(rows) == {"a": 1}  # streamed: rows before the bad line are delivered
    with pytest.raises(ValueError, match=f"^{re.escape(str(path) + message)}"):
        next(rows)


def test_parse_object_line_uses_the_given_location() -> None:
    with pytest.raises(ValueError, match=r"^line 7: expected a JSON object, got str"):
        parse_object_line('"text"', "line 7")
