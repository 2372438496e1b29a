"""`deepmath grade --policy`, `eval --policies` and `regrade --policies` list and accept the grading policies
installed as entry points of the `deepmath.rewards` group, not only the built-ins, and refuse an unknown one in
one line naming it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from deepmath_ext import extensions
from deepmath_ext.cli import build_command_parser, main
from deepmath_ext.verify import POLICY_NAMES, policy_names

DIST = "deepmath_test_policies"
# An in-process policy (no verifier worker needs to import it): correct when the box holds an even integer.
MODULE = """
from deepmath_ext.verify import Grade, GradeStatus
from deepmath_ext.verify.policies import Policy
from deepmath_ext.verify.reference import last_box


def _even(response, gold, require_think, olympiad_judge):
    box = last_box(response)
    if box is None or not box.isdigit():
        return Grade.of(GradeStatus.NO_ANSWER, box, "no integer box")
    return Grade.of(GradeStatus.CORRECT_EXACT if int(box) % 2 == 0 else GradeStatus.WRONG, box, "parity")


EVEN = Policy("even_box", _even)


def short_answers(response, gold, extra_info, settings):
    return float(len(response) < 100)
"""
# One policy, one reward term (they share the group) and one entry point that does not load.
ENTRY_POINTS = f"""[deepmath.rewards]
even_box = {DIST}:EVEN
short_answers = {DIST}:short_answers
broken_policy = {DIST}:MISSING
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test distribution importable here and its entry points visible to `importlib.metadata`."""
    site = tmp_path / "site"
    info = site / f"{DIST}-0.1.dist-info"
    info.mkdir(parents=True)
    (site / f"{DIST}.py").write_text(MODULE)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    # A fresh cache of the group, so the names it holds include this distribution's.
    monkeypatch.setattr(extensions, "_entry_points", cache(extensions._entry_points.__wrapped__))


@pytest.mark.usefixtures("installed")
def test_installed_policies_follow_the_builtins_and_terms_are_not_listed() -> None:
    assert policy_names() == (*POLICY_NAMES, "even_box")


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize("command", ["grade", "eval", "regrade"])
def test_the_help_lists_the_installed_policy(command: str) -> None:
    help_text = "".join(build_command_parser(command).format_help().split())  # argparse wraps at hyphens
    assert f"{','.join(POLICY_NAMES)},even_box,orpkg://module:attribute" in help_text
    assert "short_answers" not in help_text and "broken_policy" not in help_text


@pytest.mark.usefixtures("installed")
def test_grade_accepts_an_entry_point_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"response": r"so \boxed{4}", "gold": "7"}, {"response": r"so \boxed{7}", "gold": "7"}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["grade", str(source), "--policy", "even_box", "--workers", "1"]) == 0
    graded = [json.loads(line) for line in source.with_suffix(".graded.jsonl").read_text().splitlines()]
    # The plug-in's rule, not the verifier's: 4 is "correct" against gold 7, 7 is not.
    assert [(row["status"], row["pred"]) for row in graded] == [("correct_exact", "4"), ("wrong", "7")]
    assert "accuracy: 50.0% (1/2)" in capsys.readouterr().out


@pytest.mark.usefixtures("installed")
def test_eval_and_regrade_parse_an_entry_point_policy() -> None:
    eval_args = build_command_parser("eval").parse_args(
        ["--model", "m", "--out", "o", "--policies", "strict, even_box"]
    )
    assert eval_args.policies == ["strict", "even_box"]
    regrade_args = build_command_parser("regrade").parse_args(["run", "--policies", "even_box"])
    assert regrade_args.policies == ["even_box"]


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["grade", "in.jsonl", "--policy", "even_boxx"],
            "unknown grading policy 'even_boxx'; known policies: ",
        ),
        (
            ["eval", "--model", "m", "--out", "o", "--policies", "strict,nope"],
            "unknown grading policy 'nope'",
        ),
        (["grade", "in.jsonl", "--policy", "short_answers"], "'short_answers' is a function, not a Policy"),
        (["regrade", "run", "--policies", "broken_policy"], "entry point 'broken_policy'"),
    ],
)
def test_a_bad_policy_is_one_line_naming_it(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1
    assert message in err
    if "even_boxx" in message:
        assert "even_box, or pkg://module:attribute" in err
