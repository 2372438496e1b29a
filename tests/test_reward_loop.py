"""The `deepmath` manager inside Ray: plug-in loading in an actor, verl's RewardLoopManager, hard deadlines."""

from __future__ import annotations

import numpy as np
import pytest
from reward_support import Rollout, rollout_batch, scores_at_last_token, verl_config
from verify_support import SLOW_GOLD, SLOW_PRED

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
def manager(ray_session):
    from verl.experimental.reward_loop import RewardLoopManager

    config = verl_config(
        [
            "reward.num_workers=2",
            "reward.reward_manager.name=deepmath",
            "+reward.reward_kwargs.verifier_workers=1",
            f"+reward.reward_kwargs.verifier_timeout_s={TIMEOUT_S}",
        ]
    )
    manager = RewardLoopManager(config)
    yield manager
    for worker in manager.reward_loop_workers:  # the next manager reuses the actor names
        ray_session.kill(worker)


def test_entry_point_registers_deepmath_inside_a_ray_actor(ray_session):
    @ray_session.remote(num_cpus=0)
    class Probe:
        def manager_module(self) -> str:
            import verl  # noqa: F401  (loads the verl.plugins entry points)
            from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

            return get_reward_manager_cls("deepmath").__module__

    probe = Probe.remote()
    assert ray_session.get(probe.manager_module.remote()) == "deepmath_ext.reward.manager"


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
