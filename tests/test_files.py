"""deepmath_ext.files: atomic writes (the target changes only on success, no temp file is left, the umask's
mode) and JSON Lines reads whose errors name the file and line."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import weakref

import pytest

from deepmath_ext.errors import Terminated, UserError, interrupt_signals, interrupts_held
from deepmath_ext.files import (
    atomic_path,
    atomic_paths,
    iter_jsonl,
    parse_object_line,
    read_jsonl,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)


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


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_outputs_get_the_mode_the_umask_gives_a_new_file(tmp_path, umask_022):
    # tempfile.mkstemp would make every output 0600, unreadable to teammates and Ray workers of other users.
    write_text_atomic(tmp_path / "out.txt", "x")
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644


def test_unwritable_target_is_named_instead_of_the_temp_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match=f"^cannot write {re.escape(str(blocker / 'out.txt'))}: ") as error:
        write_text_atomic(blocker / "out.txt", "x")
    assert ".tmp" not in str(error.value)


def test_several_outputs_replace_together_or_not_at_all(tmp_path):
    a, b, stale = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "stale.txt"
    for path in (a, stale):
        path.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_paths({"a": a, "b": b}, stale=[stale]) as temps:
        temps["a"].write_text("new")
        raise KeyboardInterrupt  # after the first file is complete, before the second
    assert (a.read_text(), b.exists(), stale.exists()) == ("old", False, True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "stale.txt"]
    with atomic_paths({"a": a, "b": b}, stale=[stale]) as temps:
        temps["a"].write_text("new a")
        temps["b"].write_text("new b")
    assert (a.read_text(), b.read_text(), stale.exists()) == ("new a", "new b", False)


# -- interrupts -------------------------------------------------------------------------------------


def _lose_sigterm_in_a_callback() -> None:
    """Run the SIGTERM handler as Python does when the signal lands in a weakref callback: its raise is lost."""

    class Box:
        pass

    box = Box()
    ref = weakref.ref(box, lambda _: signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None))
    del box  # the callback runs here; what it raises goes to sys.unraisablehook, and the code runs on
    assert ref() is None


def test_a_sigterm_lost_in_a_callback_stops_the_commit_and_the_block(tmp_path, capsys):
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # no test runner owns it here
    target = tmp_path / "out.txt"
    target.write_text("old")
    ran_on = []
    with pytest.raises(Terminated), interrupt_signals():
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            _lose_sigterm_in_a_callback()
            ran_on.append("after the signal")  # the raise was lost: only the commit can refuse now
        ran_on.append("after the commit")
    assert ran_on == ["after the signal"]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left behind
    assert capsys.readouterr().err == ""  # the lost raise is not printed: the interrupt is raised again
    # Outside the block the signal is the default again and nothing stays recorded.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_a_sigterm_lost_where_nothing_is_committed_is_raised_when_the_block_ends(tmp_path):
    with pytest.raises(Terminated), interrupt_signals():
        _lose_sigterm_in_a_callback()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_during_the_renames_is_raised_once_all_outputs_are_in_place(tmp_path):
    renamed = []
    with pytest.raises(Terminated), interrupt_signals(), interrupts_held():
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)  # as when it lands between two renames
        renamed.append("the rest of the group")
    assert renamed == ["the rest of the group"]
