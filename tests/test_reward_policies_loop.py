"""verl's RewardLoopManager with the deepmath manager under the reference's grading policies (issue 12):
`reward.reward_kwargs.policy` decides the status, the reward and `acc`."""

from __future__ import annotations

import pytest
from reward_support import Rollout, rollout_batch, scores_at_last_token, verl_config

pytestmark = pytest.mark.slow
# The module-scoped `tokenizer` fixture (`ray_session` is in conftest).
pytest_plugins = ("reward_support",)

THINK = "<think>\nWorking.\n</think>\n"
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
def policy_manager(request, ray_session):
    """A RewardLoopManager (one reward actor) grading under the policy; its actor is killed afterwards."""
    from verl.experimental.reward_loop import RewardLoopManager

    overrides = ["reward.num_workers=1", "reward.reward_manager.name=deepmath"]
    overrides += [f"+reward.reward_kwargs.policy={request.param}", "+reward.reward_kwargs.verifier_workers=1"]
    manager = RewardLoopManager(verl_config(overrides))
    yield request.param, manager
    for worker in manager.reward_loop_workers:  # the next manager reuses the actor names
        ray_session.kill(worker)


def test_reward_loop_manager_grades_under_the_policy(policy_manager, tokenizer):
    policy, manager = policy_manager
    batch = rollout_batch(tokenizer, ROLLOUTS)
    output = manager.compute_rm_score(batch)
    statuses = STATUSES[policy]
    assert list(output.non_tensor_batch["status"]) == statuses
    assert scores_at_last_token(output, batch) == [1.0 if s.startswith("correct") else -1.0 for s in statuses]
    assert list(output.non_tensor_batch["acc"]) == [float(s.startswith("correct")) for s in statuses]
