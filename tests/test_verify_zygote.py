"""The verifier's zygote: workers are forks of one warm, single-threaded process, and no process outlives
the pool, whether it is closed, its process exits, or it never grades anything (asserted on /proc)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from verify_support import SLOW_GOLD, SLOW_PRED, think

from deepmath_ext.verify import GradeStatus, VerifierPool

REPO = Path(__file__).resolve().parents[1]
SYMBOLIC = (think(r"\boxed{4x}"), "x+3x")


def process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process from /proc, or None when it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    state = process_state(pid)
    return state is not None and state[0] != "Z"


def thread_count(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def run_python(code: str, cwd: Path | None = None) -> dict:
    """Run `code` in a fresh interpreter with this checkout first on the path; its last stdout line as JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    command = [sys.executable, "-c", textwrap.dedent(code)]
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_workers_are_forks_of_one_single_threaded_zygote():
    with VerifierPool(workers=2, timeout_s=30.0) as pool:
        pool.start()
        zygote, workers = pool.zygote_pid(), pool.worker_pids()
        assert len(workers) == 2 and zygote not in workers
        assert all(process_state(pid)[1] == zygote for pid in workers)
        assert process_state(zygote)[1] == os.getpid()
        assert thread_count(zygote) == 1  # forking beside another thread could copy a held lock
        assert pool.submit(*SYMBOLIC).result().status == GradeStatus.CORRECT_SYMBOLIC
    assert not any(is_running(pid) for pid in [zygote, *workers])


def test_a_worker_killed_at_its_deadline_is_reaped_and_re_forked():
    with VerifierPool(workers=1, timeout_s=1.0) as pool:
        pool.start()
        zygote, [victim] = pool.zygote_pid(), pool.worker_pids()
        assert pool.submit(think(rf"\boxed{{{SLOW_PRED}}}"), SLOW_GOLD).result().status == GradeStatus.TIMEOUT
        assert pool.submit(*SYMBOLIC).result().status == GradeStatus.CORRECT_SYMBOLIC
        [replacement] = pool.worker_pids()
        # The zygote reaps before it forks, and the pool waited for the kill: no zombie is left behind.
        assert process_state(victim) is None
        assert replacement != victim and process_state(replacement)[1] == zygote == pool.zygote_pid()


def test_a_killed_zygote_is_replaced():
    with VerifierPool(workers=1, timeout_s=30.0) as pool:
        pool.start()
        first = pool.zygote_pid()
        os.kill(first, signal.SIGKILL)
        os.kill(pool.worker_pids()[0], signal.SIGKILL)  # the slot must fork again, from a new zygote
        assert pool.submit(*SYMBOLIC).result().status == GradeStatus.CORRECT_SYMBOLIC
        assert pool.zygote_pid() not in (None, first)


def test_the_background_pool_stops_when_its_process_exits():
    pids = run_python(
        """
        import json
        from verify_support import think
        from deepmath_ext.verify import get_pool, grade
        grade(think(r"\\boxed{4x}"), "x+3x")  # starts the shared pool, forks a worker; never closed here
        pool = get_pool()
        print(json.dumps({"zygote": pool.zygote_pid(), "workers": pool.worker_pids()}))
        """
    )
    assert pids["zygote"] and pids["workers"]
    assert not any(is_running(pid) for pid in [pids["zygote"], *pids["workers"]])


def test_exiting_while_the_zygote_is_still_starting_leaves_nothing():
    pids = run_python(
        """
        import json
        from deepmath_ext.verify import get_pool
        pool = get_pool().start(wait=False)  # as the reward manager does; the process exits at once
        print(json.dumps({"zygote": pool.zygote_pid()}))
        """
    )
    assert pids["zygote"] and not is_running(pids["zygote"])


def test_grading_what_the_exact_path_decides_starts_no_process():
    result = run_python(
        """
        import json, os, sys
        from verify_support import think
        from deepmath_ext.verify import get_pool, grade_batch
        grades = grade_batch([think(r"\\boxed{5}"), think(r"\\boxed{\\sqrt{34}+3\\sqrt{10}}")], ["5", "28"])
        tasks = os.listdir("/proc/self/task")
        children = [c for t in tasks for c in open(f"/proc/self/task/{t}/children").read().split()]
        # What only a worker check needs: sympy, and the futures (with logging) that carry its grade.
        loaded = [name for name in ("sympy", "math_verify", "concurrent.futures") if name in sys.modules]
        print(json.dumps({"statuses": [g.status for g in grades], "zygote": get_pool().zygote_pid(),
                          "children": children, "loaded": loaded}))
        """
    )
    assert result == {"statuses": ["correct_exact", "wrong"], "zygote": None, "children": [], "loaded": []}


def test_importing_the_grader_starts_no_process():
    children = run_python(
        """
        import json, os
        import deepmath_ext.verify, deepmath_ext.reward.score
        tasks = os.listdir("/proc/self/task")
        print(json.dumps([c for t in tasks for c in open(f"/proc/self/task/{t}/children").read().split()]))
        """
    )
    assert children == []


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH needs Python 3.11")
def test_the_zygote_runs_the_callers_package_not_one_in_its_working_directory(tmp_path):
    decoy = tmp_path / "deepmath_ext" / "verify"
    decoy.mkdir(parents=True)
    (tmp_path / "deepmath_ext" / "__init__.py").write_text("raise ImportError('the decoy checkout')\n")
    (decoy / "__init__.py").write_text("")
    (decoy / "worker_main.py").write_text("raise SystemExit(3)\n")
    result = run_python(
        """
        import json, sys
        sys.path.remove("")  # as a script run from elsewhere: the caller imports this checkout, not the decoy
        from verify_support import think
        from deepmath_ext.verify import grade
        print(json.dumps({"status": grade(think(r"\\boxed{4x}"), "x+3x").status}))
        """,
        cwd=tmp_path,
    )
    assert result == {"status": "correct_symbolic"}
