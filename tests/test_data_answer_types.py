"""Kinds of gold answer read with the verifier's parser: `prepare --answer-types` (filter and report) and
`deepmath stats` (counts and plot), on the bundled sample and the shared training samples."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from deepmath_ext.cli import main
from deepmath_ext.data.answer_types import (
    ANSWER_TYPES,
    DEFAULT_ANSWER_TYPES,
    NON_VERIFIABLE,
    answer_type,
    with_answer_types,
)
from deepmath_ext.data.prepare import RowSelection, prepare_dataset
from deepmath_ext.data.stats import compute_stats, write_stats
from deepmath_ext.files import iter_row_file

SAMPLE = Path(__file__).resolve().parents[1] / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"


@pytest.mark.parametrize(
    ("gold", "kind"),
    [
        # golds of the MATH training file (../shared/data/train_samples), and DeepMath-style forms
        ("0", "numeric"),
        ("\\frac{\\sqrt{3}}{2}", "numeric"),
        ("x = 5", "numeric"),  # the verifier reads a label `x =` as no part of the value
        ("16x^2+4x+5", "expression"),
        ("(t-7)(t+7)", "expression"),
        ("(3, -1, 2)", "set"),
        ("-2, 2", "set"),
        ("\\{1, 2\\}", "set"),
        ("[0,3)", "interval"),
        ("(-\\infty, 3] \\cup (4, 5)", "interval"),
        ("\\text{B}", "choice"),
        ("Yes", "boolean"),
        ("\\text{False}", "boolean"),
        ("\\text{Friday}", "text"),
        ("converges", "text"),
        ("", "other"),
        (None, "other"),
        ("10^{10^{10^{10}}}", "other"),  # the verifier's guards keep it from sympy
    ],
)
def test_each_gold_gets_its_kind(gold, kind: str) -> None:
    assert answer_type(gold) == kind


def test_the_default_keeps_the_verifiable_kinds() -> None:
    assert set(DEFAULT_ANSWER_TYPES) | set(NON_VERIFIABLE) == set(ANSWER_TYPES)
    assert {"boolean", "text", "other"} == set(NON_VERIFIABLE)


def _with_golds(tmp_path: Path, golds: list[str]) -> Path:
    """The bundled sample's rows with these golds instead (the questions stay real and distinct)."""
    rows = list(iter_row_file(SAMPLE))[: len(golds)]
    path = tmp_path / "golds.jsonl"
    path.write_text(
        "".join(json.dumps({**r, "final_answer": g}) + "\n" for r, g in zip(rows, golds, strict=True))
    )
    return path


GOLDS = ["2", "Yes", "x^2+1", "No", "[0,1)", "\\text{converges}", "(1,2,3)", "7"]


def test_prepare_counts_every_kind_and_keeps_the_verifiable_ones(tmp_path: Path) -> None:
    result = prepare_dataset(tmp_path / "out", train=_with_golds(tmp_path, GOLDS), val=(), progress=False)
    report = json.loads(result.report_path.read_text())["answer_types"]
    assert {k: v for k, v in report["counts"].items() if v} == {
        "numeric": 2, "boolean": 2, "expression": 1, "interval": 1, "text": 1, "set": 1,
    }  # fmt: skip
    assert report["dropped"] == list(NON_VERIFIABLE) and report["kept"] == list(DEFAULT_ANSWER_TYPES)
    dropped = result.reports["train"].dropped
    assert (dropped["answer_type_boolean"], dropped["answer_type_text"]) == (["1", "3"], ["5"])
    golds = [r["reward_model"]["ground_truth"] for r in pq.read_table(result.train_path).to_pylist()]
    assert golds == ["2", "x^2+1", "[0,1)", "(1,2,3)", "7"]


def test_prepare_keeps_only_the_requested_kinds(tmp_path: Path) -> None:
    selection = RowSelection(answer_types=("boolean",))
    result = prepare_dataset(
        tmp_path / "out", train=_with_golds(tmp_path, GOLDS), val=(), selection=selection, progress=False
    )
    golds = [r["reward_model"]["ground_truth"] for r in pq.read_table(result.train_path).to_pylist()]
    assert golds == ["Yes", "No"]


def test_the_bundled_sample_is_all_numeric(tmp_path: Path) -> None:
    """The sample's 26 golds are integers and fractions: nothing dropped, all counted."""
    result = prepare_dataset(tmp_path, train=SAMPLE, val=(), progress=False)
    counts = json.loads(result.report_path.read_text())["answer_types"]["counts"]
    assert counts["numeric"] == sum(counts.values()) == result.reports["train"].read


def test_a_pool_classifies_as_this_process_does(data_root: Path) -> None:
    """Above 256 rows the kinds come from worker processes; the same kinds, in the same order."""
    path = data_root / "train_samples" / "deepscaler_train_math.jsonl"
    rows = list(iter_row_file(path))[:300]
    pooled = list(with_answer_types(rows, "answer", workers=2))
    assert [row for row, _ in pooled] == rows
    assert [kind for _, kind in pooled] == [answer_type(row["answer"]) for row in rows]
    assert {"numeric", "expression"} <= {kind for _, kind in pooled}


def test_stats_count_and_plot_the_kinds_of_raw_and_prepared_data(tmp_path: Path) -> None:
    raw = _with_golds(tmp_path, GOLDS)
    stats = compute_stats(raw)
    assert stats.answer_types["boolean"] == 2 and sum(stats.answer_types.values()) == stats.rows == len(GOLDS)
    paths = write_stats(stats, tmp_path / "stats")
    assert paths["answer_types"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text())["answer_types"]["text"] == 1
    prepared = prepare_dataset(tmp_path / "out", train=raw, val=(), progress=False).train_path
    kinds = compute_stats(prepared).answer_types
    assert set(kinds) == {"numeric", "expression", "interval", "set"}  # what prepare kept, read back


def _prepare_sample(out: Path, answer_types: str) -> int:
    """`deepmath prepare` of the bundled sample into `out`, keeping `answer_types`; its exit code."""
    return main(
        ["prepare", "--out", str(out), "--train", str(SAMPLE), "--no-val", "--answer-types", answer_types]
    )


def test_cli_rejects_an_unknown_kind(tmp_path: Path, capsys) -> None:
    assert _prepare_sample(tmp_path / "o", "numbr") == 2
    assert "unknown answer type(s) numbr" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_keeping_every_kind_classifies_nothing(tmp_path: Path) -> None:
    assert _prepare_sample(tmp_path / "o", "all") == 0
    report = json.loads((tmp_path / "o" / "prepare_report.json").read_text())["answer_types"]
    assert report["counts"] is None and report["kept"] == list(ANSWER_TYPES) and report["dropped"] == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_an_interrupted_classification_unwinds_cleanly(tmp_path: Path, data_root: Path, signum) -> None:
    """The pool's workers stop with the command, which ends on its one line, no traceback, no output."""
    train = data_root / "train_samples" / "deepscaler_train_math.jsonl"  # minutes of parsing
    argv = [sys.executable, "-m", "deepmath_ext.cli", "prepare", "--out", str(tmp_path / "o"), "--no-val"]
    process = subprocess.Popen(
        [*argv, "--train", str(train)], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    children = _wait_for_children(process.pid)
    os.killpg(process.pid, signum) if signum == signal.SIGINT else process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    assert err.rstrip().splitlines()[-1] == f"deepmath prepare: {word}" and "Traceback" not in err, err[
        -2000:
    ]
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []
    deadline = time.monotonic() + 30  # the resource tracker leaves when its pipe closes
    while any(_running(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_running(child) for child in children)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_for_children(pid: int, timeout_s: float = 120.0) -> list[int]:
    """The pool's worker processes once they are up (children of `pid` running deepmath's spawn)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) >= 2:  # the resource tracker and at least one worker
            time.sleep(2.0)  # let the workers import and take a batch
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        time.sleep(0.2)
    raise AssertionError("the classification pool never started")
