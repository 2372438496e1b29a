"""Fault injection: SIGINT, SIGTERM and kill -9 at a random point of grade, prepare and eval, then a rerun.

After any interrupt the rerun must give exactly what an uninterrupted run gives: nothing lost, nothing
duplicated, the same metrics. Ctrl-C and SIGTERM must also leave no partial or temporary file and exit with
one line; kill -9 cannot clean up, so it may leave a hidden temp file, but never a partial output.
The random points come from one seeded generator (FAULT_SEED to vary them); each test says what it waits
for before drawing its delay, so the signal lands while the command is working.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from eval_support import SUBSET_ROWS, build_data_dir, eval_argv, read_generations

from deepmath_ext.cli import main

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("FAULT_SEED", "20261201"))
# (signal, exit status of the interrupted command): Ctrl-C and SIGTERM unwind, kill -9 cannot.
SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)]
SIGNAL_IDS = [s.name for s, _ in SIGNALS]
GRADE_ROWS = 8_000  # ~10 s of grading here: still running when the signal lands (at most 1 s in)
PREPARE_COPIES = 4  # copies of the shared training samples (~34K rows, several seconds of work)
STARTUP_DEADLINE_S = 300  # generous: only guards against a command that never starts working


def _deepmath(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "deepmath_ext.cli", *argv],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a command typed at a terminal
        # A test runner started in the background inherits an ignored SIGINT; a terminal's command does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(process: subprocess.Popen, ready, what: str) -> None:
    """Poll until `ready()` while the command runs; fail if it exits or never gets there."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while not ready():
        assert process.poll() is None, f"finished before {what}: {process.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"never got to {what}"
        time.sleep(0.01)


def _interrupt(process: subprocess.Popen, signum: int, delay_s: float) -> str:
    """Send `signum` after `delay_s` (the command must still be running); wait; return its stderr.

    Ctrl-C goes to the whole process group, as a terminal sends it (worker processes included);
    SIGTERM and kill -9 go to the command's process alone, as `kill PID` sends them.
    """
    time.sleep(delay_s)
    assert process.poll() is None, "the command finished before the signal: make the input larger"
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, err = process.communicate(timeout=STARTUP_DEADLINE_S)
    return err


def _check_exit(err: str, status: int, expected: int, command: str) -> None:
    assert status == expected, err[-2000:]
    if expected > 0:  # unwound: one line, no traceback
        assert "Traceback" not in err, err[-2000:]
        word = "interrupted" if expected == 130 else "terminated"
        assert err.rstrip().splitlines()[-1] == f"deepmath {command}: {word}"


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


# grade ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grade_case(tmp_path_factory) -> tuple[Path, bytes]:
    """A large grading input and the output of one uninterrupted run."""
    folder = tmp_path_factory.mktemp("grade")
    rows = []
    for i in range(GRADE_ROWS):  # mostly exact answers (fast), one in 50 symbolic, one in 5 wrong
        pred, gold = (f"x+{i}", f"{i}+x") if i % 50 == 0 else (str(i), str(i))
        gold = gold if i % 5 else f"{i + 1}"
        rows.append(json.dumps({"id": i, "response": f"</think> so $\\boxed{{{pred}}}$", "gold": gold}))
    source = folder / "responses.jsonl"
    source.write_text("\n".join(rows) + "\n")
    reference = folder / "reference.jsonl"
    assert main(["grade", str(source), "--out", str(reference), "--workers", "1"]) == 0
    return source, reference.read_bytes()


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=SIGNAL_IDS)
def test_grade_interrupted_keeps_the_old_output_and_rerun_matches(grade_case, tmp_path, signum, status):
    source, reference = grade_case
    out = tmp_path / "graded.jsonl"
    out.write_text("previous run\n")
    process = _deepmath(["grade", str(source), "--out", str(out), "--workers", "1"])
    _wait_for(process, lambda: any(p.stat().st_size > 0 for p in tmp_path.glob(".*.tmp")), "writing rows")
    err = _interrupt(process, signum, random.Random(f"{SEED}-grade-{signum}").uniform(0.0, 1.0))
    _check_exit(err, process.returncode, status, "grade")
    assert out.read_text() == "previous run\n"  # never a half-written output
    if signum != signal.SIGKILL:
        assert _temp_files(tmp_path) == []
    assert main(["grade", str(source), "--out", str(out), "--workers", "1"]) == 0
    assert out.read_bytes() == reference


# prepare --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepare_case(tmp_path_factory, data_root: Path, benchmarks_dir: Path) -> tuple[list[str], Path]:
    """A ~68K-row DeepMath-shaped training file, the prepare arguments, and one uninterrupted output."""
    folder = tmp_path_factory.mktemp("prepare")
    samples = [
        line
        for path in sorted((data_root / "train_samples").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    train = folder / "train.jsonl"
    with train.open("w", encoding="utf-8") as f:
        for copy in range(PREPARE_COPIES):
            for line in samples:
                row = json.loads(line)
                row["problem"] = row.get("problem", row.get("question", "")) + f" (copy {copy})"
                f.write(json.dumps(row) + "\n")
    argv = ["--train", str(train), "--data-dir", str(benchmarks_dir), "--val", "aime24,amc23"]
    reference = folder / "reference"
    assert main(["prepare", "--out", str(reference), *argv]) == 0
    return argv, reference


def _prepared(folder: Path) -> dict[str, object]:
    """What a prepare output holds, independent of parquet encoding details."""
    return {
        "train": pq.read_table(folder / "train.parquet").to_pylist(),
        "val": pq.read_table(folder / "val.parquet").to_pylist(),
        "report": json.loads((folder / "prepare_report.json").read_text())["splits"],
    }


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=SIGNAL_IDS)
def test_prepare_interrupted_changes_nothing_and_rerun_matches(prepare_case, tmp_path, signum, status):
    argv, reference = prepare_case
    out = tmp_path / "data"
    process = _deepmath(["prepare", "--out", str(out), *argv])
    _wait_for(process, lambda: any(p.stat().st_size > 0 for p in tmp_path.rglob(".*.tmp")), "writing rows")
    err = _interrupt(process, signum, random.Random(f"{SEED}-prepare-{signum}").uniform(0.0, 1.0))
    _check_exit(err, process.returncode, status, "prepare")
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert [name for name in left if not name.startswith(".")] == []  # nothing, or only kill -9 temps
    if signum != signal.SIGKILL:
        assert left == []
    assert main(["prepare", "--out", str(out), *argv]) == 0
    assert _prepared(out) == _prepared(reference)


# eval -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eval_case(eval_tiny_model, tmp_path_factory) -> tuple[Path, Path]:
    """The tiny model's benchmark folder and one uninterrupted run (fsync after every sample)."""
    data_dir = build_data_dir(tmp_path_factory.mktemp("benchmarks"))
    reference = tmp_path_factory.mktemp("runs") / "reference"
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, reference, "--batch-size", "1")]) == 0
    return data_dir, reference


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())["benchmarks"]


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=SIGNAL_IDS)
def test_eval_interrupted_then_rerun_loses_and_repeats_nothing(
    eval_tiny_model, eval_case, tmp_path, signum, status
):
    data_dir, reference = eval_case
    argv = ["eval", *eval_argv(eval_tiny_model, data_dir, tmp_path / "run", "--batch-size", "1")]
    total = 2 * sum(SUBSET_ROWS.values())
    stored = tmp_path / "run" / "generations.jsonl"
    # The random point: after a random number of stored samples (the store fsyncs each one).
    at = random.Random(f"{SEED}-eval-{signum}").randint(1, total - 2)
    process = _deepmath(argv)
    _wait_for(process, lambda: stored.exists() and stored.read_bytes().count(b"\n") >= at, f"{at} samples")
    err = _interrupt(process, signum, 0.0)
    _check_exit(err, process.returncode, status, "eval")
    assert not (tmp_path / "run" / "metrics.json").exists()
    kept = stored.read_bytes().count(b"\n")
    assert main(argv) == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["invocations"][-1]["generated"] == total - kept  # only what was missing
    resumed, expected = read_generations(tmp_path / "run"), read_generations(reference)  # fails on duplicates
    assert set(resumed) == set(expected)
    assert {k: r["text"] for k, r in resumed.items()} == {k: r["text"] for k, r in expected.items()}
    assert _metrics(tmp_path / "run") == _metrics(reference)


# train ----------------------------------------------------------------------------------------------

# A stand-in for `python -m verl.trainer.main_ppo`: it starts a worker (as Ray does) and both record their
# pids. With "stubborn" both ignore SIGTERM and SIGINT, as a trainer busy writing a checkpoint might.
_TRAINER = """
import os, signal, subprocess, sys, time
stubborn = sys.argv[2] == "stubborn"
code = "import signal, time\\nif %r:\\n    signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGINT, signal.SIG_IGN)\\ntime.sleep(600)" % stubborn
worker = subprocess.Popen([sys.executable, "-c", code])
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {worker.pid}")
time.sleep(600)
"""
# `deepmath train` after validation: the trainer runs in its own process group under cli.main's signal setup.
_LAUNCHER = """
import sys
from deepmath_ext.commands.train import run_in_process_group
from deepmath_ext.errors import Terminated, interrupt_signals
try:
    with interrupt_signals():
        run_in_process_group([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]], grace_s=2.0)
except (KeyboardInterrupt, Terminated):
    sys.exit(3)
"""


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("behaviour", ["obedient", "stubborn"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_train_passes_the_signal_to_the_trainer_group_then_kills_it(tmp_path, signum, behaviour):
    pids_file = tmp_path / "pids"
    launcher = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, _TRAINER, str(pids_file), behaviour],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in _deepmath
    )
    _wait_for(launcher, lambda: pids_file.exists() and " " in pids_file.read_text(), "the trainer's start")
    trainer, worker = map(int, pids_file.read_text().split())
    launcher.send_signal(signum)
    assert launcher.wait(timeout=STARTUP_DEADLINE_S) == 3  # the interrupt reached the launcher and unwound
    # Nothing the trainer started outlives `deepmath train` (stubborn ones are killed after the grace period).
    deadline = time.monotonic() + 30  # SIGKILL is delivered asynchronously: allow the kernel a moment
    while (_alive(trainer) or _alive(worker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(trainer) and not _alive(worker)


# preflight ------------------------------------------------------------------------------------------


@pytest.fixture
def closed_port_url() -> str:
    """A local URL nothing listens on: a port the kernel handed out, then closed again."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_dead_openai_server_fails_at_once_naming_the_way_out(
    eval_tiny_model, tmp_path, closed_port_url, capsys
):
    data_dir = build_data_dir(tmp_path / "benchmarks")
    argv = eval_argv(eval_tiny_model, data_dir, tmp_path / "run")
    argv[argv.index("hf")] = "openai"
    # One connection attempt, no retries: the error comes from the preflight, not from a request's retry loop.
    assert main(["eval", *argv, "--base-url", closed_port_url, "--max-retries", "5"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach {closed_port_url}: URLError" in err
    assert "start the server (e.g. `vllm serve MODEL`) or pass --base-url" in err
    assert "retry" not in err and "gave up" not in err
    assert not (tmp_path / "run" / "generations.jsonl").exists()


def test_a_dead_judge_fails_before_any_stage_runs(tmp_path, closed_port_url, benchmarks_dir, capsys):
    train = tmp_path / "train.jsonl"
    train.write_text('{"question": "What is 1+1?", "final_answer": "2"}\n')
    argv = ["decontaminate", "--train", str(train), "--against", "aime24", "--data-dir", str(benchmarks_dir)]
    argv += ["--out", str(tmp_path / "out"), "--stages", "ngram,embed,judge"]
    assert main([*argv, "--judge-endpoint", closed_port_url, "--judge-model", "m"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach {closed_port_url}: URLError" in err and "--judge-endpoint" in err
    assert "embed" not in err  # no progress bar of the embed stage: it never started
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "resource"),
    [
        (
            ["prepare", "--out", "OUT", "--train", "someone/some-dataset", "--no-val"],
            "dataset someone/some-dataset",
        ),
        (["prepare", "--out", "OUT", "--no-train", "--val", "aime24"], "benchmark aime24"),
    ],
)
def test_an_unreachable_hub_fails_at_once_naming_the_way_out(tmp_path, monkeypatch, capsys, argv, resource):
    # A closed local port stands in for the hub; HF_HUB_OFFLINE unset, so the preflight checks it.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{resource}" in err and "is on the Hugging Face hub, which cannot be reached" in err
    assert "or set HF_HUB_OFFLINE=1 to use the local cache" in err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# modes ----------------------------------------------------------------------------------------------


def test_outputs_are_readable_by_the_group_and_others_under_umask_022(tmp_path, benchmarks_dir):
    # Teammates and Ray workers running as another user read what `prepare` and `grade` write.
    import stat

    source = tmp_path / "in.jsonl"
    source.write_text('{"response": "</think> \\\\boxed{1}", "gold": "1"}\n')
    sample = Path(__file__).resolve().parents[1] / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"
    data = ["--train", str(sample), "--val", "aime24", "--data-dir", str(benchmarks_dir)]
    commands = [
        ["grade", str(source), "--out", str(tmp_path / "graded.jsonl"), "--workers", "1"],
        ["prepare", "--out", str(tmp_path / "data"), *data],
    ]
    for argv in commands:
        shell = ["sh", "-c", 'umask 022 && exec "$0" "$@"']  # the umask of a typical login
        done = subprocess.run(
            [*shell, sys.executable, "-m", "deepmath_ext.cli", *argv], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
    written = [tmp_path / "graded.jsonl", *sorted((tmp_path / "data").iterdir())]
    assert len(written) == 4
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: "0o644" for p in written
    }
