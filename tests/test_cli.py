"""The `deepmath` command: every subcommand is wired, errors are clear, the quickstart works."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from http_stub import Cut, StubServer

from deepmath_ext.cli import SUBCOMMANDS, build_command_parser, main
from deepmath_ext.commands.quickstart import DEEPMATH_SAMPLE, RESPONSES_SAMPLE, SAMPLES
from deepmath_ext.verify import GradeStatus


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_builds_its_parser(name: str) -> None:
    parser = build_command_parser(name)
    assert parser.prog == f"deepmath {name}"
    assert callable(parser.get_default("_module").run)


def test_subcommand_modules_do_not_import_heavy_packages() -> None:
    # `deepmath grade --help` must stay instant: building every parser may not import torch/verl/ray.
    code = (
        "import sys; from deepmath_ext.cli import SUBCOMMANDS, build_command_parser\n"
        "[build_command_parser(n) for n in SUBCOMMANDS]\n"
        "print(sorted(m for m in ('torch', 'verl', 'ray', 'transformers', 'datasets', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_options_may_follow_positionals(capsys: pytest.CaptureFixture[str]) -> None:
    # `--list` after a recipe and an override: parsed as the option, not as one more override.
    assert main(["train", "smoke-1gpu", "trainer.nnodes=2", "--list"]) == 0
    assert "smoke-1gpu" in capsys.readouterr().out.split()


def test_unknown_command_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["gradee"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'gradee'" in err and "grade" in err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)


def test_quickstart_grades_prepares_and_scores(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quickstart", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    graded = [json.loads(line) for line in (tmp_path / "graded.jsonl").read_text().splitlines()]
    bundled = [
        json.loads(line) for line in (SAMPLES / RESPONSES_SAMPLE).read_text().splitlines() if line.strip()
    ]
    assert len(graded) == len(bundled) > 20
    # The hand labels, except where a symbolic check hit its deadline (a loaded machine: counted, not hidden).
    agreed = [
        (g["correct"], b["label"]) for g, b in zip(graded, bundled, strict=True) if g["status"] != "timeout"
    ]
    assert len(agreed) >= len(graded) - 2 and all(correct == label for correct, label in agreed)
    samples = [
        json.loads(line) for line in (SAMPLES / DEEPMATH_SAMPLE).read_text().splitlines() if line.strip()
    ]
    assert pq.read_metadata(tmp_path / "data" / "train.parquet").num_rows == len(samples)
    assert json.loads((tmp_path / "stats" / "stats.json").read_text())["rows"] == len(samples)
    # The reward step: every r1 solution scored once, and the mean agrees with the printed statuses.
    scored = re.search(r"(\d+) solutions scored through verl's reward loader: mean reward ([-+.\d]+)", out)
    statuses = dict(re.findall(r"(\w+) (\d+)", out.split("statuses: ")[-1].splitlines()[0]))
    counts = {status: int(n) for status, n in statuses.items()}
    assert int(scored.group(1)) == sum(counts.values()) == 3 * len(samples)
    correct = sum(n for status, n in counts.items() if GradeStatus(status).is_correct)
    assert float(scored.group(2)) == pytest.approx(
        (2 * correct - sum(counts.values())) / sum(counts.values()), abs=1e-3
    )
    assert correct > len(samples)  # most of DeepMath's r1 solutions are right


def test_quickstart_does_not_import_the_cli() -> None:
    # Dependencies point down: commands never import the dispatcher that imports them.
    code = "import sys, deepmath_ext.commands.quickstart; print('deepmath_ext.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> str:
    """Run `deepmath ARGV`, expect exit status 2 and `message` on stderr with no traceback; return stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--workers", "-1", "argument --workers: must be an integer >= 1, got -1"),
        ("--workers", "two", "argument --workers: expected an integer, got 'two'"),
        ("--timeout", "0", "argument --timeout: must be a number > 0, got 0"),
        ("--timeout", "nan", "argument --timeout: expected a finite number, got 'nan'"),
    ],
)
def test_bad_numbers_are_refused_before_work(tmp_path, capsys, option: str, value: str, message: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"response": "</think> \\boxed{1}", "gold": "1"}\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", str(source), option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["eval", "--model", "m", "--out", "r", "--temperature", "-1"],
            "--temperature: must be a number >= 0",
        ),
        (["eval", "--model", "m", "--out", "r", "--top-p", "1.5"], "--top-p: must be a number in (0, 1]"),
        (["eval", "--model", "m", "--out", "r", "--n", "0"], "--n: must be an integer >= 1, got 0"),
        (
            ["eval", "--model", "m", "--out", "r", "--benchmarks", ""],
            "--benchmarks: expected a comma-separated",
        ),
        (
            ["eval", "--model", "m", "--out", "r", "--top-k", "0"],
            "--top-k: must be -1 (off) or an integer >= 1",
        ),
        (["prepare", "--out", "o", "--val", " , "], "--val: expected a comma-separated list"),
        (["prepare", "--out", "o", "--limit", "0"], "--limit: must be an integer >= 1, got 0"),
        (["prepare", "--out", "o", "--difficulty-min", "nan"], "--difficulty-min: expected a finite number"),
        (["decontaminate", "--train", "t", "--out", "o", "--threshold", "2"], "must be a number in [0, 1]"),
    ],
)
def test_sampling_values_and_lists_are_validated_up_front(tmp_path, capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_grade_refuses_a_folder_as_output_before_grading(tmp_path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"response": "</think> \\boxed{1}", "gold": "1"}\n')
    _one_line_error(capsys, ["grade", str(source), "--out", str(tmp_path)], f"{tmp_path} is a folder")


def test_unwritable_output_names_the_output_not_a_temp_file(tmp_path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"response": "</think> \\boxed{1}", "gold": "1"}\n')
    target = source / "graded.jsonl"  # below a file: no folder can be made there, whoever runs the test
    err = _one_line_error(capsys, ["grade", str(source), "--out", str(target)], f"cannot write {target}")
    assert ".tmp" not in err


def test_missing_stats_input_is_a_one_line_error(tmp_path, capsys) -> None:
    _one_line_error(capsys, ["stats", str(tmp_path / "nope.jsonl")], "nope.jsonl")


def test_missing_engine_and_bad_model_path_are_one_line_errors(tmp_path, capsys, benchmarks_dir) -> None:
    # Neither leaves a traceback; both name what to do. (vLLM is not installed in the CPU test env.)
    argv = ["eval", "--out", str(tmp_path / "run"), "--data-dir", str(benchmarks_dir), "--template", "orz"]
    argv += ["--benchmarks", "aime24"]
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    _one_line_error(
        capsys, [*argv, "--model", str(model), "--backend", "vllm"], "pip install 'deepmath[vllm]'"
    )
    missing = tmp_path / "no-such-model"
    _one_line_error(capsys, [*argv, "--model", str(missing), "--backend", "hf"], str(missing))


def test_a_sigterm_lost_in_a_gc_callback_still_stops_grade_without_output(
    tmp_path, capsys, sigterm_lost_in_gc
) -> None:
    # The bug this pins: SIGTERM landed while Python ran a callback (there: the import lock's weakref
    # callback), the raise was printed as "Exception ignored ..." and lost, and the command exited 0.
    source = tmp_path / "in.jsonl"
    source.write_text('{"response": "</think> \\\\boxed{1}", "gold": "1"}\n')
    out = tmp_path / "graded.jsonl"
    out.write_text("previous run\n")
    assert main(["grade", str(source), "--out", str(out), "--workers", "1"]) == 143
    assert sigterm_lost_in_gc.fired  # the collector ran while `main` held SIGTERM
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.rstrip().splitlines()[-1] == "deepmath grade: terminated"
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graded.jsonl", "in.jsonl"]


# -- an output that is also an input ---------------------------------------------------------------


def _sample_rows(count: int = 3) -> list[dict]:
    lines = (SAMPLES / DEEPMATH_SAMPLE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def _deepmath_parquet(path) -> None:
    import pyarrow as pa

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(_sample_rows()), path)


def _input_at(tmp_path, written: str, spelling: str, make) -> str:
    """Make the input as OUT/`written` (the file the command writes) and name it by `spelling`."""
    real = tmp_path / "OUT" / written
    make(real)
    if spelling == "plain":
        return str(real)
    if spelling == "dotdot":
        return str(tmp_path / "OUT" / ".." / "OUT" / written)
    alias = tmp_path / f"alias{real.suffix}"
    (alias.symlink_to if spelling == "symlink" else alias.hardlink_to)(real)
    return str(alias)


# command, the file it writes into OUT that is made its input, how that input is made, the argv
OUTPUT_IS_INPUT = {
    "prepare": ("train.parquet", _deepmath_parquet, ["prepare", "--no-val", "--train", "IN", "--out", "OUT"]),
    "export-sft": ("sft.parquet", _deepmath_parquet, ["export-sft", "--train", "IN", "--out", "OUT"]),
    "decontaminate": (
        "clean.parquet",
        _deepmath_parquet,
        ["decontaminate", "--train", "IN", "--out", "OUT", "--stages", "ngram", "--against", "aime24"],
    ),
    "stats": (
        "stats.json",
        lambda p: p.parent.mkdir(parents=True) or p.write_text(json.dumps(_sample_rows())),
        ["stats", "IN", "--out", "OUT"],
    ),
    "grade": (
        "graded.jsonl",
        lambda p: p.parent.mkdir(parents=True) or p.write_text('{"response": "</think> 1", "gold": "1"}\n'),
        ["grade", "IN", "--out", "OUT/graded.jsonl"],
    ),
}


@pytest.mark.parametrize("spelling", ["plain", "dotdot", "symlink", "hardlink"])
@pytest.mark.parametrize("command", sorted(OUTPUT_IS_INPUT))
def test_no_command_overwrites_its_input_however_it_is_spelt(
    tmp_path, capsys, benchmarks_dir, command, spelling
) -> None:
    written, make, argv = OUTPUT_IS_INPUT[command]
    source = _input_at(tmp_path, written, spelling, make)
    before = (tmp_path / "OUT" / written).read_bytes()
    argv = [
        a.replace("OUT", str(tmp_path / "OUT")) if "OUT" in a else source if a == "IN" else a for a in argv
    ]
    if command in ("prepare", "decontaminate"):
        argv += ["--data-dir", str(benchmarks_dir)]
    _one_line_error(capsys, argv, "write the output elsewhere")
    assert (tmp_path / "OUT" / written).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "OUT").iterdir()) == [written]


def test_report_refuses_to_write_into_a_run_it_reads(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{}")
    (run / "report.md").write_text("the run's own report\n")
    for out in (run, run / "compare", tmp_path / "run" / ".." / "run"):
        _one_line_error(capsys, ["report", str(run), "--out", str(out)], "is inside the input folder")
    assert (run / "report.md").read_text() == "the run's own report\n"


# -- broken inputs: one line and exit status 2 from every subcommand, never a traceback ---------------

NESTED = "[" * 100_000  # a JSON value nested past Python's recursion limit


class _Misbehaving(StubServer):
    """An OpenAI-compatible server that misbehaves by the first part of the path: /strings, /cut, /empty."""

    def reply(self, method: str, path: str, body) -> tuple[int, object]:
        kind = path.split("/")[1]
        if method == "GET":
            models = ["tiny"] if kind == "strings" else [{"id": "tiny", "max_model_len": 4096}]
            return 200, {"object": "list", "data": models}
        if kind == "cut":
            return 200, Cut(b'{"choices": [')
        return 200, {"model": "tiny", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, data_root):
    """Broken files, a misbehaving server, and the paths the cases name: {name: str}."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "nested.jsonl").write_text(NESTED + "\n")
    (root / "empty.jsonl").write_text("")
    (root / "a-file").write_text("")
    for name, manifest, metrics in [("no-policies", {"n": 1}, "{}"), ("nested-run", {}, NESTED)]:
        (root / name).mkdir()
        (root / name / "manifest.json").write_text(json.dumps(manifest))
        (root / name / "metrics.json").write_text(metrics)
    (root / "model").mkdir()
    (root / "model" / "config.json").write_text("{}")
    head = "hydra:\n  searchpath: [pkg://verl.trainer.config]\ndefaults: [ppo_trainer, _self_]\n"
    (root / "syntax.yaml").write_text(head + "data: {train_batch_size: 8\n")
    (root / "python-tag.yaml").write_text(head + "data: !!python/object/apply:os.system [echo hi]\n")
    server = _Misbehaving()
    yield {
        "root": str(root),
        "bench": str(data_root / "benchmarks"),
        "tok": str(data_root / "tokenizers" / "qwen2.5-7b_assembled"),
        "url": f"http://127.0.0.1:{server.server_address[1]}",
        "secret_url": f"http://alice:s3cret@127.0.0.1:{server.server_address[1]}",
    }
    server.close()


EVAL = "eval --out {out} --data-dir {bench} --benchmarks aime24 --n 1 --template qwen-boxed"
SERVED = EVAL + " --model {tok} --backend openai --served-model-name tiny --max-retries 0 --base-url {url}"
# Every subcommand, fed what broke it before (issue 29's list among them).
BROKEN_INPUTS = {
    "grade-nested-json": "grade {root}/nested.jsonl --out {out}/g.jsonl",
    "grade-unknown-benchmark": "grade {root}/empty.jsonl --benchmark nope",
    "prepare-nested-json": "prepare --train {root}/nested.jsonl --no-val --out {out}",
    "prepare-nan-difficulty": "prepare --train {root}/empty.jsonl --difficulty-min nan --out {out}",
    "stats-nested-json": "stats {root}/nested.jsonl --out {out}",
    "stats-empty-file": "stats {root}/empty.jsonl --out {out}",
    "export-sft-nested-json": "export-sft --train {root}/nested.jsonl --out {out}",
    "decontaminate-nested-json": "decontaminate --train {root}/nested.jsonl --out {out} --stages ngram "
    "--against aime24 --data-dir {bench}",
    "report-nested-metrics": "report {root}/nested-run",
    "regrade-manifest-without-policies": "regrade {root}/no-policies",
    "train-yaml-syntax-error": "train --dry-run {root}/syntax.yaml",
    "train-python-tag": "train --dry-run {root}/python-tag.yaml",
    "quickstart-out-below-a-file": "quickstart --out {root}/a-file/out",
    "doctor-constraints-missing": "doctor --constraints {root}/no-such-constraints.txt",
    "eval-dtype-float7": EVAL + " --model {root}/model --dtype float7",
    "eval-policies-comma": EVAL + " --model {root}/model --policies ,",
    "eval-huge-seed": EVAL + " --model {root}/model --seed 100000000000000000000000",
    "eval-device-nonsense": EVAL + " --model {root}/model --backend hf --device nonsense",
    "eval-device-cuda-7": EVAL + " --model {root}/model --backend hf --device cuda:7",
    "eval-models-as-strings": SERVED + "/strings/v1",
    "eval-incomplete-read": SERVED + "/cut/v1",
    "eval-empty-choices": SERVED + "/empty/v1",
    "eval-secret-in-base-url": SERVED.replace("{url}", "{secret_url}") + "/strings/v1?api_key=s3cret",
}


def test_the_corpus_covers_every_subcommand() -> None:
    assert {case.split()[0] for case in BROKEN_INPUTS.values()} == set(SUBCOMMANDS)


@pytest.mark.parametrize("case", sorted(BROKEN_INPUTS))
def test_a_broken_input_is_one_line_and_exit_status_2(corpus, tmp_path, capsys, case) -> None:
    argv = BROKEN_INPUTS[case].format(**corpus, out=tmp_path / "out").split()
    try:
        status = main(argv)
    except SystemExit as stop:  # argparse's refusals exit from inside main
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2, err[-3000:]
    assert "Traceback" not in err and "s3cret" not in err, err[-3000:]
    ours = [line for line in err.splitlines() if line.startswith("deepmath ")]
    assert ours == [err.rstrip().splitlines()[-1]] and ours[0].startswith(f"deepmath {argv[0]}: error: "), err
