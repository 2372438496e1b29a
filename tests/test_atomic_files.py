"""Atomic writes: the target changes only when the write succeeds, and no temp file is left either way."""

from __future__ import annotations

import json

import pytest

from deepmath_ext.atomic_files import atomic_path, write_json_atomic, write_jsonl_atomic


def test_failed_block_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_parent_folder_is_created_and_json_round_trips(tmp_path):
    write_json_atomic(tmp_path / "a" / "b.json", {"x": "é"})
    write_jsonl_atomic(tmp_path / "a" / "c.jsonl", [{"i": 1}, {"i": 2}])
    assert (tmp_path / "a" / "b.json").read_text(encoding="utf-8") == '{\n  "x": "é"\n}\n'
    lines = (tmp_path / "a" / "c.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"i": 1}, {"i": 2}]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.json", "c.jsonl"]
