"""verl adapters: the async `compute_score` and, in `deepmath_ext.reward.manager`, the `deepmath` manager.

The manager imports verl and is registered by the `verl.plugins` entry point; importing this package
stays light so `pkg://deepmath_ext.reward` is cheap to resolve.
"""

from deepmath_ext.reward.score import SCORE_KEYS, RewardSettings, compute_score

__all__ = ["SCORE_KEYS", "RewardSettings", "compute_score"]
