"""verl adapters: the async `compute_score` over reward terms and, in `deepmath_ext.reward.manager`, the
deepmath reward manager.

The manager imports verl and is loaded by verl from its module path (`reward.reward_manager.source=importlib`,
see `deepmath_ext.reward.recipe.MANAGER_SELECTION`); importing this package
stays light so `pkg://deepmath_ext.reward` is cheap to resolve. Plug-in authors use `reward_term` and
`sample_grade` (docs/reward.md, "Write a reward plug-in").
"""

from deepmath_ext.reward.grading import SCORE_KEYS, RewardSettings
from deepmath_ext.reward.score import RewardConfig, compute_score, is_valid_reward_key
from deepmath_ext.reward.terms import Term, get_term, reward_term, sample_grade

__all__ = [
    "SCORE_KEYS",
    "RewardConfig",
    "RewardSettings",
    "Term",
    "compute_score",
    "get_term",
    "is_valid_reward_key",
    "reward_term",
    "sample_grade",
]
