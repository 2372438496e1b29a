"""verl adapters: `compute_score` for `reward.custom_reward_function` and the `deepmath` reward manager.

The manager (`deepmath_ext.reward.manager`) imports verl and is loaded by the `verl.plugins` entry
point; importing this package stays light so `pkg://deepmath_ext.reward` is cheap to resolve.
"""

from deepmath_ext.reward.score import SCORE_KEYS, compute_score
from deepmath_ext.reward.settings import OverlongSettings, RewardSettings

__all__ = ["SCORE_KEYS", "OverlongSettings", "RewardSettings", "compute_score"]
