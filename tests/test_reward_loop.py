"""The deepmath manager in verl's RewardLoopManager, inside Ray actors (each loads it by its module path, as
the recipes select it): the scores, hard deadlines, and the reference's grading policies."""

from __future__ import annotations

import numpy as np
import pytest
from reward_support import Rollout, rollout_batch, scores_at_last_token, verl_config
from verify_support import SLOW_GOLD, SLOW_PRED

from deepmath_ext.reward.recipe import manager_overrides
from deepmath_ext.verify import grade

pytestmark = pytest.mark.slow
# The module-scoped `tokenizer` fixture (`ray_session` is in conftest).
pytest_plugins = ("reward_support",)

TIMEOUT_S = 1.0
THINK = "<think>\nWorking.\n</think>\n"
# verl splits a batch in reward.num_workers chunks; items 0 and 2 need the symbolic check, so the first
# batch also waits until both actors' verifier workers have started (start-up is outside the deadline).
NORMAL = [
    Rollout("Square of x+1?", THINK + r"$\boxed{x^2+2x+1}$", "(x+1)^2", extra_info={"difficulty": 5.5}),
    Rollout("Two plus two?", THINK + r"$\boxed{5}$", "4", data_source="math500"),
    Rollout("Simplify.", THINK + r"$\boxed{\sqrt{8}}$", r"2\sqrt{2}", data_source="amc23"),
    Rollout("Ten thousand?", r"<think>It is $\boxed{10\,000}$", "10000", extra_info={"difficulty": 8}),
]
HANGING = Rollout("Expand.", THINK + rf"$\boxed{{{SLOW_PRED}}}$", SLOW_GOLD, data_source="aime25")


@pytest.fixture(scope="module")
def reward_loop(ray_session):
    """`reward_loop(*overrides)`: a RewardLoopManager with the deepmath manager, one alive at a time (verl names
    its actors by position, so the last one's actors are killed before another starts)."""
    from verl.experimental.reward_loop import RewardLoopManager

    alive: dict[tuple[str, ...], RewardLoopManager] = {}  # at most one

    def kill_alive() -> None:
        for manager in alive.values():
            for worker in manager.reward_loop_workers:
                ray_session.kill(worker)
        alive.clear()

    def get(*overrides: str) -> RewardLoopManager:
        if overrides not in alive:
            kill_alive()
            config = verl_config([*manager_overrides(), *overrides])
            alive[overrides] = RewardLoopManager(config)
        return alive[overrides]

    yield get
    kill_alive()


@pytest.fixture
def manager(reward_loop):
    """Two reward actors, one verifier worker each, a short deadline."""
    return reward_loop(
        "reward.num_workers=2",
        "+reward.reward_kwargs.verifier_workers=1",
        f"+reward.reward_kwargs.verifier_timeout_s={TIMEOUT_S}",
    )


def test_reward_loop_manager_scores_match_direct_grades(manager, tokenizer):
    from deepmath_ext.reward import SCORE_KEYS

    batch = rollout_batch(tokenizer, NORMAL)
    output = manager.compute_rm_score(batch)
    expected = [grade(r.response, r.gold) for r in NORMAL]
    assert scores_at_last_token(output, batch) == [1.0 if g.correct else -1.0 for g in expected]
    assert output.meta_info["reward_extra_keys"] == list(SCORE_KEYS)
    assert list(output.non_tensor_batch["status"]) == [g.status for g in expected]
    assert list(output.non_tensor_batch["difficulty_bucket"]) == ["5to7", "", "", "7to9"]
    assert output.batch["rm_scores"].sum().item() == sum(1.0 if g.correct else -1.0 for g in expected)


def test_hanging_item_is_killed_at_its_deadline_and_the_next_batch_scores(manager, tokenizer):
    # Passes alone: the deadline runs from when a worker takes the item, so cold workers cannot fire it.
    # No wall-clock assertion: the `timeout` status is set only when the pool's deadline killed the worker.
    batch = rollout_batch(tokenizer, [HANGING, *NORMAL])
    output = manager.compute_rm_score(batch)
    assert output.non_tensor_batch["timeout"].tolist() == [True, False, False, False, False]
    assert output.non_tensor_batch["status"][0] == "timeout"
    assert scores_at_last_token(output, batch)[0] == -1.0

    again = rollout_batch(tokenizer, NORMAL)
    second = manager.compute_rm_score(again)
    assert not np.any(second.non_tensor_batch["timeout"].astype(bool))
    assert scores_at_last_token(second, again) == [
        1.0 if grade(r.response, r.gold).correct else -1.0 for r in NORMAL
    ]


# Grading policies (issue 12): `reward.reward_kwargs.policy` decides the status, the reward and `acc`.
# reward_func needs </think> and accepts a 1e-4 relative error; reward_func_2 needs exactly one box.
ROLLOUTS = [
    Rollout("Population?", THINK + r"About $\boxed{100001}$.", "100000"),
    Rollout("Two plus two?", r"$\boxed{4}$, surely $\boxed{4}$", "4"),
    Rollout("Half?", r"It is $\boxed{\frac{1}{2}}$", "0.5"),
]
STATUSES = {
    "reference": ["correct_numeric", "format_error", "format_error"],
    "reference-single-box": ["correct_numeric", "format_error", "correct_symbolic"],
}


@pytest.fixture(params=sorted(STATUSES))
def policy_manager(request, reward_loop):
    """One reward actor grading under the policy."""
    policy = request.param
    overrides = [f"+reward.reward_kwargs.policy={policy}", "+reward.reward_kwargs.verifier_workers=1"]
    return policy, reward_loop("reward.num_workers=1", *overrides)


def test_reward_loop_manager_grades_under_the_policy(policy_manager, tokenizer):
    policy, manager = policy_manager
    batch = rollout_batch(tokenizer, ROLLOUTS)
    output = manager.compute_rm_score(batch)
    statuses = STATUSES[policy]
    assert list(output.non_tensor_batch["status"]) == statuses
    assert scores_at_last_token(output, batch) == [1.0 if s.startswith("correct") else -1.0 for s in statuses]
    assert list(output.non_tensor_batch["acc"]) == [float(s.startswith("correct")) for s in statuses]
