"""The generation store, the run lock and the settings pin: crash leftovers, duplicates, mixing."""

from __future__ import annotations

import json

import pytest

from deepmath_ext.errors import UserError
from deepmath_ext.evaluate.backends import Generation, GenerationRequest, SampleKey
from deepmath_ext.evaluate.manifest import SettingsMismatchError, check_pinned
from deepmath_ext.evaluate.store import GenerationStore, run_lock
from deepmath_ext.files import write_text_atomic


def _batch(benchmark: str, problem: str, indices: range):
    requests = [GenerationRequest(SampleKey(benchmark, problem, i), "prompt", 42 + i) for i in indices]
    generations = [Generation(f"text {i}", "stop" if i % 2 else "length", 5 + i, 3) for i in indices]
    return list(zip(requests, generations, strict=True))


def test_append_then_reopen(tmp_path):
    path = tmp_path / "generations.jsonl"
    store = GenerationStore(path)
    store.append(_batch("math500", "p1", range(2)), fingerprint="fp")
    store.append(_batch("math500", "p2", range(1)), fingerprint="fp")
    reopened = GenerationStore(path)
    assert len(reopened) == 3
    record = reopened.records[SampleKey("math500", "p1", 1)]
    assert record["text"] == "text 1" and record["seed"] == 43 and record["finish_reason"] == "stop"
    assert record["settings"] == "fp"


def test_partial_last_line_from_a_crash_is_dropped_and_cut(tmp_path):
    path = tmp_path / "generations.jsonl"
    GenerationStore(path).append(_batch("aime24", "60", range(2)), fingerprint="fp")
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"benchmark": "aime24", "problem_id": "61", "ind')
    store = GenerationStore(path)
    assert len(store) == 2
    assert path.read_bytes() == whole  # the next append starts on a clean line
    store.append(_batch("aime24", "61", range(1)), fingerprint="fp")
    assert len(GenerationStore(path)) == 3


def test_corrupt_or_duplicate_lines_are_named(tmp_path):
    path = tmp_path / "generations.jsonl"
    GenerationStore(path).append(_batch("amc23", "0", range(2)), fingerprint="fp")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "not json", lines[1]]) + "\n")
    with pytest.raises(ValueError, match=r"generations.jsonl:2: not a generation record"):
        GenerationStore(path)
    path.write_text("\n".join([lines[0], lines[1], lines[0]]) + "\n")
    with pytest.raises(ValueError, match=r"generations.jsonl:3: duplicate sample"):
        GenerationStore(path)


def test_appending_a_stored_key_is_refused(tmp_path):
    store = GenerationStore(tmp_path / "generations.jsonl")
    store.append(_batch("amc23", "0", range(1)), fingerprint="fp")
    with pytest.raises(ValueError, match="already stored"):
        store.append(_batch("amc23", "0", range(1)), fingerprint="fp")
    assert len(GenerationStore(tmp_path / "generations.jsonl")) == 1


def test_run_lock_is_exclusive(tmp_path):
    with (
        run_lock(tmp_path),
        pytest.raises(UserError, match="in use by another deepmath process"),
        run_lock(tmp_path),
    ):
        pass
    with run_lock(tmp_path):  # released after use
        pass


def test_readers_share_the_lock_and_exclude_writers(tmp_path):
    with run_lock(tmp_path):  # a writer leaves the lock file behind; readers lock it
        pass
    with (  # two readers at once, and no writer while they read
        run_lock(tmp_path, shared=True),
        run_lock(tmp_path, shared=True),
        pytest.raises(UserError, match="in use"),
        run_lock(tmp_path),
    ):
        pass
    with run_lock(tmp_path), pytest.raises(UserError, match="in use"), run_lock(tmp_path, shared=True):
        pass


def test_a_reader_writes_nothing_into_the_run(tmp_path, capsys):
    # A run without a lock file (an older or copied run, someone else's): `report` reads it and leaves it as it was.
    from deepmath_ext.cli import main

    run = tmp_path / "run"
    run.mkdir()
    policies = {"strict": {"avg@n": 0.5, "ci95": [0.4, 0.6]}}
    metrics = {
        "run": {"label": "r", "n": 1, "model": "m", "fingerprint": "f", "policies": ["strict"]},
        "benchmarks": {"aime24": {"policies": policies}},
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    with run_lock(run, shared=True):
        assert [p.name for p in run.iterdir()] == ["metrics.json"]
    assert main(["report", str(run)]) == 0
    assert "50.0" in capsys.readouterr().out  # the run was read: its accuracy is in the table
    assert [p.name for p in run.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("command", ["regrade", "report"])
def test_regrade_and_report_wait_for_no_writer(tmp_path, capsys, command):
    # The bug this pins: regrade cut what it took for a partial last line while an eval was writing it.
    from deepmath_ext.cli import main

    run = tmp_path / "run"
    run.mkdir()
    manifest = {"pinned": {}, "label": "r", "n": 1, "require_think": False, "policies": ["strict"]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "generations.jsonl").write_bytes(
        b'{"benchmark": "a", "problem_id": "1", "ind'
    )  # a line being written
    with run_lock(run):  # an eval at work
        assert main([command, str(run)]) == 2
    assert f"{run} is in use by another deepmath process" in capsys.readouterr().err
    assert (run / "generations.jsonl").read_bytes().endswith(b'"ind')


@pytest.mark.parametrize("name", [".lock", "generations.jsonl"])
def test_a_symlink_in_a_run_directory_is_refused_and_its_target_untouched(tmp_path, name):
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / name).symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"), run_lock(run):
        GenerationStore(run / "generations.jsonl").append(_batch("aime24", "1", range(1)), "fp")
    with pytest.raises(UserError, match="symbolic link"):  # opened with O_NOFOLLOW, lock or not
        GenerationStore(run / name)
    assert target.read_text() == "keep me\n"


SAMPLES = {"model": {"fingerprint": "abc"}, "temperature": 0.6, "seed": 42}


def test_check_pinned_allows_new_benchmarks_and_refuses_changes(tmp_path):
    pinned = {"samples": SAMPLES, "server": None, "benchmarks": {"math500": "h1"}}
    check_pinned(tmp_path, pinned, {"samples": SAMPLES, "benchmarks": {"math500": "h1", "aime24": "h2"}})
    changed = {**SAMPLES, "temperature": 1.0, "seed": 1}
    with pytest.raises(SettingsMismatchError) as err:
        check_pinned(tmp_path, pinned, {"samples": changed, "benchmarks": {"math500": "other"}})
    message = str(err.value)
    assert "temperature: 0.6 (stored) != 1.0 (now)" in message
    assert "seed: 42 (stored) != 1 (now)" in message
    assert "benchmark math500 content hash: h1 (stored) != other (now)" in message


def test_check_pinned_compares_what_the_server_reports(tmp_path):
    pinned = {"samples": SAMPLES, "server": {"id": "m", "max_model_len": 32768}, "benchmarks": {}}
    now = {"samples": SAMPLES, "server": {"id": "m", "max_model_len": 4096}, "benchmarks": {}}
    with pytest.raises(
        SettingsMismatchError, match=r"server max_model_len: 32768 \(stored\) != 4096 \(now\)"
    ):
        check_pinned(tmp_path, pinned, now)


def test_before_first_append_runs_once_before_anything_is_written(tmp_path):
    path = tmp_path / "generations.jsonl"
    store = GenerationStore(path)
    seen = []
    store.before_first_append = lambda: seen.append(path.exists())
    store.append(_batch("math500", "p1", range(1)), fingerprint="fp")
    store.append(_batch("math500", "p2", range(1)), fingerprint="fp")
    assert seen == [False]  # once, and before the first line


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "one")
    write_text_atomic(tmp_path / "a.txt", "two")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "two"
