"""No silent drops: with verl's dapo manager and deepmath's compute_score, grading settings left in
`reward.reward_kwargs` stop the launch before Ray starts; the dry-run prints the settings actually used."""

from __future__ import annotations

import pytest

from deepmath_ext.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_launch")]
ERROR_PREFIX = "deepmath train: error: "
DAPO_WITH_OUR_SCORE = [
    "reward.reward_manager.source=register",
    "reward.reward_manager.name=dapo",
    "reward.custom_reward_function.path=pkg://deepmath_ext.reward",
    "reward.custom_reward_function.name=compute_score",
]
# smoke-1gpu's grading keys, moved to where verl's dapo manager passes them to compute_score.
MOVED = [
    "~reward.reward_kwargs.correct_score",
    "~reward.reward_kwargs.wrong_score",
    "~reward.reward_kwargs.require_think",
    "+reward.custom_reward_function.reward_kwargs.require_think=false",
    "+reward.custom_reward_function.reward_kwargs.policy=reference-single-box",
]


def test_settings_the_dapo_manager_would_drop_stop_the_launch(smoke, capfd):
    assert main(["train", "smoke-1gpu", *smoke, *DAPO_WITH_OUR_SCORE]) == 2
    err = capfd.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith(ERROR_PREFIX)]
    for key in ("correct_score", "require_think", "wrong_score"):
        assert f"reward.reward_kwargs.{key}" in line
    assert "move them there" in line and "reward.custom_reward_function.reward_kwargs" in line
    assert "overlong_buffer_cfg" not in line.split(" would be ignored")[0]  # dapo reads those itself


def test_dry_run_prints_the_settings_the_reward_reads(smoke, capfd):
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke, *DAPO_WITH_OUR_SCORE, *MOVED]) == 0
    out = capfd.readouterr().out
    assert (
        "terms accuracy 1; policy reference-single-box; correct / wrong 1 / -1; whole response "
        "(from reward.custom_reward_function.reward_kwargs)"
    ) in out
    assert (
        main(
            [
                "train",
                "--dry-run",
                "smoke-1gpu",
                *smoke,
                "+reward.reward_kwargs.terms={accuracy: 1, length: 0.1}",
            ]
        )
        == 0
    )
    assert "terms accuracy 1, length 0.1; policy strict" in capfd.readouterr().out


def test_a_misspelt_term_setting_stops_the_launch(smoke, capfd):
    overrides = [
        "+reward.reward_kwargs.terms={accuracy: 1, length: 0.1}",
        "+reward.reward_kwargs.length.max_lenght=9",
    ]
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke, *overrides]) == 2
    assert "'max_lenght'" in capfd.readouterr().err


def test_dynamic_sampling_needs_the_accuracy_terms_acc(smoke, capfd):
    overrides = ["algorithm.filter_groups.enable=true", "+reward.reward_kwargs.terms={format: 1.0}"]
    assert main(["train", "--dry-run", "smoke-1gpu", *smoke, *overrides]) == 2
    assert "algorithm.filter_groups.metric=acc is not a key" in capfd.readouterr().err
