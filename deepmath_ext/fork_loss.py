"""The reference fork's policy loss as a verl policy-loss plug-in (`policy_loss.loss_mode=deepmath-fork`).

The DeepMath runs executed zwhe99/verl at 05dc0fc, whose actor loss differs from verl 0.9.1's `vanilla`
in two ways (docs/training.md, "The fork's defaults"):
- no dual clip: the clipped PPO objective `max(-A r, -A clip(r, 1-lo, 1+hi))` alone, where 0.9.1 also caps
  a negative-advantage token's loss at `-A * clip_ratio_c`; the log-ratio is not clamped to +-20 either;
- aggregation: the token mean of each micro-batch, weighted by the micro-batch's share of the mini-batch's
  sequences (the fork's `use_dynamic_bsz` scaling), where 0.9.1's `token-mean` divides by the tokens of
  the whole mini-batch. With dynamic batch sizes the micro-batches hold different token counts, so the two
  weigh tokens differently.
Only the policy-gradient term: verl 0.9.1 adds the KL and entropy terms outside the policy loss, with
`loss_agg_mode`. Registered through verl's public `register_policy_loss`; tested on verl 0.9.1.
"""

from __future__ import annotations

from typing import Any

import torch

FORK_LOSS_MODE = "deepmath-fork"


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` over the positions where `mask` is set."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def micro_batch_weight(n_sequences: int, global_batch_info: dict[str, Any]) -> float:
    """The fork's scale of one micro-batch's token mean: its sequences over the mini-batch's, per rank.

    verl 0.9.1 averages gradients over `dp_size` ranks, so the global share is multiplied by `dp_size`
    (the convention of 0.9.1's own `agg_loss`). Without batch info (one micro-batch on one rank): 1.
    """
    global_batch_size = global_batch_info.get("global_batch_size")
    if not global_batch_size:
        return 1.0
    return n_sequences / global_batch_size * global_batch_info.get("dp_size", 1)


def fork_policy_loss(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config: Any = None,
    rollout_is_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Clipped PPO without dual clip, aggregated per micro-batch as the fork did (loss_agg_mode unused)."""
    low = config.clip_ratio_low if config.clip_ratio_low is not None else config.clip_ratio
    high = config.clip_ratio_high if config.clip_ratio_high is not None else config.clip_ratio
    log_ratio = log_prob - old_log_prob
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - low, 1.0 + high)
    losses = torch.maximum(unclipped, clipped)
    if rollout_is_weights is not None:
        losses = losses * rollout_is_weights
    weight = micro_batch_weight(response_mask.shape[0], dict(config.global_batch_info or {}))
    loss = masked_mean(losses, response_mask) * weight
    metrics = {
        "actor/pg_clipfrac": masked_mean(torch.gt(clipped, unclipped).float(), response_mask).item(),
        "actor/ppo_kl": masked_mean(-log_ratio, response_mask).detach().item(),
    }
    return loss, metrics


def register_fork_loss() -> None:
    """Add `deepmath-fork` to verl's policy-loss registry (idempotent)."""
    from verl.trainer.ppo.core_algos import register_policy_loss

    register_policy_loss(FORK_LOSS_MODE)(fork_policy_loss)
