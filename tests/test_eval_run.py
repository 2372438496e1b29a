"""`deepmath eval` / `regrade` / `report` end to end with the hf backend on a tiny random Qwen2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eval_support import (
    SUBSET_ROWS,
    build_data_dir,
    eval_argv,
    parse_eval_args,
    read_generations,
)

from deepmath_ext.cli import main
from deepmath_ext.commands import evaluate as evaluate_command
from deepmath_ext.evaluate.backends import create_backend
from deepmath_ext.evaluate.runner import run_eval

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return build_data_dir(tmp_path_factory.mktemp("benchmarks"))


@pytest.fixture(scope="module")
def reference_run(eval_tiny_model, data_dir, tmp_path_factory) -> Path:
    """One uninterrupted run that the other tests inspect or compare against."""
    out = tmp_path_factory.mktemp("runs") / "reference"
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, out)]) == 0
    return out


def _problems(data_dir: Path):
    from deepmath_ext.data.benchmarks import load_benchmark

    return {name: load_benchmark(name, data_dir, allow_mismatch=True) for name in SUBSET_ROWS}


def test_run_writes_every_key_once_with_its_seed(reference_run, data_dir):
    problems = _problems(data_dir)
    expected = {(b, p.id, i) for b, ps in problems.items() for p in ps for i in range(2)}
    records = read_generations(reference_run)
    assert set(records) == expected
    for (_, _, index), record in records.items():
        assert record["seed"] == 7 + index  # sample i uses seed + i
        assert record["finish_reason"] in ("stop", "length")
        assert 1 <= record["response_tokens"] <= 16
    grades = [json.loads(line) for line in (reference_run / "grades.jsonl").read_text().splitlines()]
    assert {(g["benchmark"], g["problem_id"], g["index"]) for g in grades} == expected
    for name in ("accuracy.png", "pass_at_k.png"):
        assert (reference_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_manifest_records_what_moves_the_numbers(reference_run, eval_tiny_model, data_dir):
    import torch
    import transformers

    from deepmath_ext.data.benchmarks import content_hash
    from deepmath_ext.templates import get_template

    manifest = json.loads((reference_run / "manifest.json").read_text())
    template = get_template("qwen-boxed")
    assert manifest["model"] == str(eval_tiny_model)
    assert manifest["engine"]["engine"] == "transformers"
    assert manifest["engine"]["engine_version"] == transformers.__version__
    assert manifest["versions"]["torch"] == torch.__version__
    assert manifest["versions"]["vllm"] is None  # not installed here, and recorded as such
    assert manifest["dtype"] == "float32" and manifest["engine"]["dtype"] == "float32"
    assert manifest["sampling"] == {
        "temperature": 0.6, "top_p": 1.0, "top_k": -1, "max_tokens": 16, "n": 2, "seed": 7,
        "seed_rule": "sample i: seed + i",
    }  # fmt: skip
    assert manifest["effective_max_tokens"] == 16  # the 2048-token context leaves room for all 16
    assert manifest["template"]["fingerprint"] == template.fingerprint()
    assert manifest["template"]["system_prompt"] == template.system_prompt
    for name, problems in _problems(data_dir).items():
        assert manifest["benchmarks"][name]["content_hash"] == content_hash(problems)
        assert manifest["benchmarks"][name]["rows"] == SUBSET_ROWS[name]
        # run with --allow-benchmark-mismatch on subsets: the manifest says how each copy differs
        assert f": {SUBSET_ROWS[name]} rows, expected " in manifest["benchmarks"][name]["mismatch"]
    assert isinstance(manifest["invocations"][0]["command"], list)
    assert manifest["invocations"][0]["generated"] == 2 * sum(SUBSET_ROWS.values())


def test_metrics_and_report_layout(reference_run, eval_tiny_model):
    metrics = json.loads((reference_run / "metrics.json").read_text())
    assert (
        metrics["run"]["n"] == 2 and metrics["run"]["label"] == eval_tiny_model.name
    )  # the model folder's name
    assert metrics["run"]["policies"] == ["strict", "reference-eval"]  # the default: both
    for name, rows in SUBSET_ROWS.items():
        bench = metrics["benchmarks"][name]
        assert bench["problems"] == rows and bench["samples"] == 2 * rows
        for graded in bench["policies"].values():
            assert sum(graded["status_counts"].values()) == 2 * rows
            assert set(graded["pass@k"]) == {"1", "2"}
            assert graded["ci95"][0] <= graded["avg@n"] <= graded["ci95"][1]
    assert set(metrics["benchmarks"]["math500"]["policies"]["strict"]["categories"]) == {"level", "subject"}
    report = (reference_run / "report.md").read_text()
    assert "| Model | MATH500 | AIME24 |" in report  # the paper's column order: MATH500 ... AIME24
    assert "| Benchmark | strict | reference-eval | samples graded differently |" in report
    assert "### MATH500 by level" in report and "### MATH500 by subject" in report


def test_rerun_generates_nothing_and_refuses_changed_settings(
    reference_run, eval_tiny_model, data_dir, capsys
):
    before = (reference_run / "generations.jsonl").read_bytes()
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, reference_run)]) == 0
    assert (reference_run / "generations.jsonl").read_bytes() == before
    manifest = json.loads((reference_run / "manifest.json").read_text())
    assert [i["generated"] for i in manifest["invocations"]][-1] == 0
    assert manifest["engine"]["engine"] == "transformers"  # kept from the run that generated

    capsys.readouterr()
    changed = eval_argv(
        eval_tiny_model, data_dir, reference_run, "--temperature", "0.7", "--template", "default"
    )
    assert main(["eval", *changed]) == 2
    err = capsys.readouterr().err
    assert "temperature: 0.6 (stored) != 0.7 (now)" in err
    assert "template: 'qwen-boxed' (stored) != 'default' (now)" in err
    assert (reference_run / "generations.jsonl").read_bytes() == before


def test_a_model_of_no_known_family_needs_a_template(eval_tiny_model, data_dir, tmp_path, capsys):
    argv = eval_argv(eval_tiny_model, data_dir, tmp_path / "run")
    del argv[argv.index("--template") : argv.index("--template") + 2]
    assert main(["eval", *argv]) == 2
    err = capsys.readouterr().err
    assert f"no template is known for the model '{eval_tiny_model}'" in err and "r1-distill" in err
    assert not (tmp_path / "run").exists()


def test_benchmark_mismatch_stops_the_run(eval_tiny_model, data_dir, tmp_path, capsys):
    argv = [
        a for a in eval_argv(eval_tiny_model, data_dir, tmp_path / "run") if a != "--allow-benchmark-mismatch"
    ]
    assert main(["eval", *argv]) == 2
    err = capsys.readouterr().err
    assert "math500" in err and "3 rows, expected 500" in err
    assert not (tmp_path / "run" / "generations.jsonl").exists()


def _regraded_copy(reference_run: Path, dest: Path) -> Path:
    """A copy of the run: sample 0 boxes every gold, sample 1 states it on an unboxed answer line."""
    shutil.copytree(reference_run, dest)
    golds = {
        (p["benchmark"], p["id"]): p["answer"] for p in map(json.loads, (dest / "problems.jsonl").open())
    }
    lines = []
    for record in read_generations(dest).values():
        gold = golds[(record["benchmark"], record["problem_id"])]
        record["text"] = {
            0: f"So the answer is \\boxed{{{gold}}}.",
            # No box: the strict policy finds no answer, the reference evaluator reads the answer line.
            1: f"Working done.\nThe answer is: {gold}",
        }[record["index"]]
        lines.append(json.dumps(record))
    (dest / "generations.jsonl").write_text("\n".join(lines) + "\n")
    return dest


def test_regrade_scores_stored_generations_under_each_policy(reference_run, tmp_path):
    run = _regraded_copy(reference_run, tmp_path / "edited")
    assert main(["regrade", str(run), "--grading-workers", "1"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    for name in SUBSET_ROWS:
        strict = metrics["benchmarks"][name]["policies"]["strict"]
        assert strict["avg@n"] == 0.5 and strict["ci95"] == [0.5, 0.5]  # every problem: 1 of 2 right
        assert strict["pass@k"] == {"1": 0.5, "2": 1.0}
        assert strict["maj@k"]["1"] == 1.0  # the first sample alone is the majority, and it is right
        assert strict["status_counts"]["no_answer"] == SUBSET_ROWS[name]
        reference = metrics["benchmarks"][name]["policies"]["reference-eval"]
        assert reference["avg@n"] == 1.0 and reference["pass@k"] == {"1": 1.0, "2": 1.0}
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["invocations"][-1]["regraded"] is True

    # The grader gap: every sample 1, with its gold and each policy's prediction and status.
    gap = metrics["grader_gap"]
    assert {(s["benchmark"], s["index"]) for s in gap} == {(b, 1) for b in SUBSET_ROWS}
    assert len(gap) == sum(SUBSET_ROWS.values())
    first = gap[0]
    assert first["grades"]["strict"] == {"correct": False, "status": "no_answer", "pred": None}
    assert first["grades"]["reference-eval"]["correct"] is True
    report = (run / "report.md").read_text()
    assert f"| MATH500 | 50.0 [50.0, 50.0] | 100.0 [100.0, 100.0] | {SUBSET_ROWS['math500']} of 6 |" in report
    assert f"| MATH500 | {first['problem_id']} | 1 | `{first['gold']}` | – no_answer | " in report


def test_regrade_says_when_the_verifier_changed(reference_run, tmp_path, capsys):
    from deepmath_ext.verify import VERIFIER_VERSION

    run = shutil.copytree(reference_run, tmp_path / "old-verifier")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["run"]["verifier"] = "deepmath-verify 0-old"
    (run / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    assert main(["regrade", str(run), "--grading-workers", "1"]) == 0
    assert (
        f"the earlier grades were made by deepmath-verify 0-old, these by {VERIFIER_VERSION}"
        in capsys.readouterr().out
    )
    assert json.loads((run / "manifest.json").read_text())["invocations"][-1]["verifier"] == VERIFIER_VERSION


def test_regrade_adds_a_policy_without_generating(eval_tiny_model, data_dir, tmp_path):
    out = tmp_path / "strict-only"
    argv = eval_argv(eval_tiny_model, data_dir, out, "--policies", "strict")
    assert main(["eval", *argv]) == 0
    assert json.loads((out / "metrics.json").read_text())["run"]["policies"] == ["strict"]
    before = (out / "generations.jsonl").read_bytes()
    assert main(["regrade", str(out), "--grading-workers", "1", "--policies", "reference"]) == 0
    assert (out / "generations.jsonl").read_bytes() == before
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["policies"] == ["strict", "reference"]
    assert set(metrics["benchmarks"]["aime24"]["policies"]) == {"strict", "reference"}
    grades = [json.loads(line) for line in (out / "grades.jsonl").read_text().splitlines()]
    assert all(set(g["grades"]) == {"strict", "reference"} for g in grades)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["policies"] == ["strict", "reference"]
    assert manifest["invocations"][-1]["policies"] == ["strict", "reference"]
    assert (
        "| Benchmark | strict | reference | samples graded differently |" in (out / "report.md").read_text()
    )


def test_report_compares_runs_with_paper_numbers(reference_run, tmp_path, capsys):
    run = _regraded_copy(reference_run, tmp_path / "edited")
    assert main(["regrade", str(run), "--grading-workers", "1"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["run"]["label"] = "DeepMath-1.5B"  # pretend it is the published model: 50% is far off
    (run / "metrics.json").write_text(json.dumps(metrics))
    argv = [str(reference_run), str(run), "--baseline", "paper", "--out", str(tmp_path / "cmp")]
    assert main(["report", *argv]) == 0
    text = (tmp_path / "cmp" / "report.md").read_text()
    assert "| Model | MATH500 | AMC23 | OlympiadBench | Minerva | AIME24 | AIME25 |" in text
    assert "| DeepMath-Zero-7B (published) | 85.5 | 64.7 | 51.0 | 45.3 | 20.4 | 17.5 |" in text
    # Published rows are compared with the reference-eval row only, and the report says so.
    assert "| DeepMath-1.5B [strict] (n=2) | 50.0 [50.0, 50.0] | – | – | – | 50.0 [50.0, 50.0] | – |" in text
    assert (
        "| DeepMath-1.5B [reference-eval] (n=2) | 100.0 [100.0, 100.0] † | – | – | – | 100.0 [100.0, 100.0] † | – |"
        in text
    )
    assert "each run's reference-eval row is compared with them" in text
    assert "- DeepMath-1.5B [reference-eval] MATH500: 100.0 [100.0, 100.0] vs 89.9 published" in text
    assert "- DeepMath-1.5B [reference-eval] AIME24: 100.0 [100.0, 100.0] vs 39.8 published" in text
    flagged = [line for line in text.splitlines() if line.startswith("- DeepMath-1.5B ") and " vs " in line]
    assert len(flagged) == 4  # two benchmarks x two published rows of that model, reference-eval only
    assert (
        "| DeepMath-1.5B (published, released checkpoint) | 89.9 | 82.3 | 61.8 | 42.5 | 37.3 | 30.8 |" in text
    )
    for name in ("accuracy.png", "pass_at_k.png"):
        assert (tmp_path / "cmp" / name).read_bytes()[:4] == b"\x89PNG"


class InterruptedBackend:
    """A real backend whose stream is interrupted (as by Ctrl-C) after `groups` finished groups."""

    def __init__(self, backend, groups: int) -> None:
        self.backend, self.groups = backend, groups

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def stream(self, requests, sampling):
        for done, group in enumerate(self.backend.stream(requests, sampling), 1):
            yield group
            if done == self.groups:
                raise KeyboardInterrupt


def test_interrupt_keeps_every_finished_sample(reference_run, eval_tiny_model, data_dir, tmp_path):
    out = tmp_path / "interrupted"
    config = evaluate_command.config_from_args(parse_eval_args(eval_argv(eval_tiny_model, data_dir, out)))
    with pytest.raises(KeyboardInterrupt):
        run_eval(config, lambda *a, **k: InterruptedBackend(create_backend(*a, **k), groups=3))
    stored = read_generations(out)
    assert len(stored) == 3  # each finished sample was stored before the next was asked for
    reference = read_generations(reference_run)
    assert all(record["text"] == reference[key]["text"] for key, record in stored.items())
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, out)]) == 0
    assert {k: r["text"] for k, r in read_generations(out).items()} == {
        k: r["text"] for k, r in reference.items()
    }
    # Both invocations are kept: the interrupted one (recorded when it pinned the run) and the resume.
    invocations = json.loads((out / "manifest.json").read_text())["invocations"]
    assert [i["generated"] for i in invocations] == ["interrupted", 10 - 3]


def test_a_sigterm_lost_in_a_callback_stops_eval_at_the_next_stored_sample(
    eval_tiny_model, data_dir, tmp_path, capsys, sigterm_lost_in_gc
):
    out = tmp_path / "run"
    stored = out / "generations.jsonl"
    sigterm_lost_in_gc.when = lambda: stored.exists()  # lost while generating, after the run's first commits
    assert main(["eval", *eval_argv(eval_tiny_model, data_dir, out, "--batch-size", "1")]) == 143
    assert sigterm_lost_in_gc.fired
    assert 0 < len(read_generations(out)) < 2 * sum(SUBSET_ROWS.values())  # kept what it had, then stopped
    assert not (out / "metrics.json").exists()
    assert capsys.readouterr().err.rstrip().splitlines()[-1] == "deepmath eval: terminated"
