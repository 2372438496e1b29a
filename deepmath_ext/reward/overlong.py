"""Overlong reward shaping with the formula of verl's core `dapo` reward manager."""

from __future__ import annotations

from deepmath_ext.reward.settings import RewardSettings


def overlong_reward(valid_response_len: int, settings: RewardSettings) -> float:
    """Penalty (<= 0) for a response running into the last `overlong_buffer_cfg.len` tokens; 0 when off."""
    cfg = settings.overlong_buffer_cfg
    if not cfg.enable:
        return 0.0
    exceed_len = valid_response_len - (settings.max_resp_len - cfg.len)
    return float(min(-exceed_len / cfg.len * cfg.penalty_factor, 0.0))
