"""Report tables and baselines on hand-made metrics: layout, flags, baseline files."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from deepmath_ext.data.benchmarks import PAPER_BENCHMARKS, display_name, ordered_benchmarks
from deepmath_ext.evaluate.report import (
    accuracy_table,
    baseline_flags,
    baseline_sets,
    load_baselines,
    render_comparison,
)


def _run(label: str, benchmarks: dict[str, tuple[float, float, float]], policy: str = "strict") -> dict:
    """Metrics with only what the tables read: avg@n and its interval per benchmark, under one policy."""
    return {
        "run": {"label": label, "n": 16, "model": f"org/{label}", "fingerprint": "f", "policies": [policy]},
        "benchmarks": {
            name: {"policies": {policy: {"avg@n": a, "ci95": [lo, hi]}}}
            for name, (a, lo, hi) in benchmarks.items()
        },
    }


def _two_policies(
    label: str, strict: tuple[float, float, float], reference: tuple[float, float, float]
) -> dict:
    run = _run(label, {"aime24": strict})
    run["run"]["policies"] = ["strict", "reference-eval"]
    run["benchmarks"]["aime24"]["policies"]["reference-eval"] = _run(label, {"aime24": reference})[
        "benchmarks"
    ]["aime24"]["policies"]["strict"]
    return run


def test_published_numbers_are_compared_with_the_reference_eval_row():
    # strict 10% is far below the published 20.4, reference-eval 21% is within its interval: no flag.
    run = _two_policies("DeepMath-Zero-7B", (0.10, 0.05, 0.15), (0.21, 0.15, 0.27))
    assert baseline_flags([run], load_baselines("paper")) == []
    table = "\n".join(accuracy_table([run], load_baselines("paper")))
    assert "| DeepMath-Zero-7B [strict] (n=16) | – | – | – | – | 10.0 [5.0, 15.0] | – |" in table
    assert "| DeepMath-Zero-7B [reference-eval] (n=16) | – | – | – | – | 21.0 [15.0, 27.0] | – |" in table
    # A run graded without reference-eval is compared through its own first policy.
    assert (
        len(
            baseline_flags(
                [_run("DeepMath-Zero-7B", {"aime24": (0.10, 0.05, 0.15)})], load_baselines("paper")
            )
        )
        == 1
    )


def test_paper_order_then_other_benchmarks():
    names = ["zeta", "aime25", "math500", "minerva", "amc23", "aime24", "olympiadbench", "alpha"]
    assert ordered_benchmarks(names) == [
        "math500", "amc23", "olympiadbench", "minerva", "aime24", "aime25", "alpha", "zeta",
    ]  # fmt: skip


def test_display_names_come_from_the_registry():
    assert [display_name(b) for b in PAPER_BENCHMARKS] == [
        "MATH500", "AMC23", "OlympiadBench", "Minerva", "AIME24", "AIME25",
    ]  # fmt: skip
    assert display_name("not-registered") == "not-registered"


def test_the_package_has_no_import_cycle():
    """No module of deepmath_ext imports (at module level or in a function) one that imports it back."""
    import deepmath_ext

    root = Path(deepmath_ext.__file__).parent
    modules = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                targets = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            graph[name] |= {t for t in targets if t in modules and t != name}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            t == goal or (t not in seen and not seen.add(t) and reaches(t, goal, seen)) for t in graph[start]
        )

    assert "deepmath_ext.evaluate.report" in graph["deepmath_ext.evaluate.runner"]  # the graph is read
    assert [name for name in graph if reaches(name, name, set())] == []


def test_bundled_paper_numbers():
    rows = load_baselines("paper")
    zero = next(r for r in rows if r.model == "DeepMath-Zero-7B")
    assert [zero.scores[b] for b in ordered_benchmarks(list(zero.scores))] == [
        85.5,
        64.7,
        51.0,
        45.3,
        20.4,
        17.5,
    ]
    released = [r for r in rows if r.model == "DeepMath-1.5B"]
    assert len(released) == 2  # first published and released checkpoint
    assert {r.scores["aime24"] for r in released} == {39.8, 37.3}
    assert {r.display for r in released} == {
        "DeepMath-1.5B (published, first version)",
        "DeepMath-1.5B (published, released checkpoint)",
    }  # the two rows of one model stay apart in tables and plot legends
    assert "paper" in baseline_sets()
    peers = {r.model: r for r in rows if "peer row" in r.source}
    assert set(peers) == {
        "Qwen2.5-7B", "Open-Reasoner-Zero-7B", "Qwen-2.5-7B-SimpleRL-Zoo",
        "DeepSeek-R1-Distill-Qwen-1.5B", "DeepScaleR-1.5B-Preview", "STILL-3-1.5B-preview",
    }  # fmt: skip
    assert peers["DeepScaleR-1.5B-Preview"].matches("agentica-org/DeepScaleR-1.5B-Preview")
    assert [peers["Qwen2.5-7B"].scores[b] for b in PAPER_BENCHMARKS] == [54.8, 35.3, 27.8, 16.2, 7.7, 5.4]


def test_flags_only_published_numbers_outside_the_interval():
    run = _run("DeepMath-Zero-7B", {"math500": (0.85, 0.83, 0.87), "aime24": (0.30, 0.25, 0.35)})
    flags = baseline_flags([run], load_baselines("paper"))
    assert flags == [
        "DeepMath-Zero-7B AIME24: 30.0 [25.0, 35.0] vs 20.4 published "
        "(DeepMath-103K paper (He et al., 2025, arXiv:2504.11456), main results table)"
    ]  # MATH500 85.5 lies inside [83, 87]
    table = "\n".join(accuracy_table([run], load_baselines("paper")))
    assert "| DeepMath-Zero-7B (n=16) | 85.0 [83.0, 87.0] | – | – | – | 30.0 [25.0, 35.0] † | – |" in table
    other = _run("Some-Other-Model", {"aime24": (0.9, 0.85, 0.95)})
    assert baseline_flags([other], load_baselines("paper")) == []  # no published row of that model


def test_baseline_file_of_the_same_shape(tmp_path):
    path = tmp_path / "mine.json"
    rows = [{"model": "Peer-7B", "source": "their README", "scores": {"math500": 80.0}}]
    path.write_text(json.dumps({"peers": {"rows": rows}}))
    text = render_comparison([_run("Peer-7B", {"math500": (0.7, 0.65, 0.75)})], load_baselines(str(path)))
    assert "| Peer-7B (published) | 80.0 |" in text
    assert "- Peer-7B MATH500: 70.0 [65.0, 75.0] vs 80.0 published (their README)" in text
    path.write_text(json.dumps({"peers": {"rows": [{"model": "Peer-7B", "scores": {}}]}}))
    with pytest.raises(ValueError, match="baseline set 'peers' row 0: KeyError"):
        load_baselines(str(path))
    with pytest.raises(ValueError, match="unknown baseline 'nope'; bundled: paper"):
        load_baselines("nope")


def test_comparison_says_when_runs_were_graded_by_different_verifiers():
    old, new = _run("A", {"math500": (0.5, 0.4, 0.6)}), _run("B", {"math500": (0.5, 0.4, 0.6)})
    old["run"]["verifier"], new["run"]["verifier"] = "deepmath-verify 1", "deepmath-verify 2"
    text = render_comparison([old, new])
    assert "graded by different verifier versions (deepmath-verify 1, deepmath-verify 2)" in text
    new["run"]["verifier"] = "deepmath-verify 1"
    assert "different verifier versions" not in render_comparison([old, new])
