"""The `deepmath` command: every subcommand is wired, errors are clear, the quickstart works."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deepmath_ext.cli import SUBCOMMANDS, build_command_parser, main
from deepmath_ext.commands.quickstart import RESPONSES_SAMPLE, SAMPLES


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
    bundled = (SAMPLES / RESPONSES_SAMPLE).read_text(encoding="utf-8").splitlines()
    assert len(graded) == len([line for line in bundled if line.strip()]) > 20
    assert {"correct", "status", "pred"} <= set(graded[0])
    assert (tmp_path / "data" / "train.parquet").stat().st_size > 0
    assert "scored through verl's reward loader" in out
    assert "mean reward" in out
