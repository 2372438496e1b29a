"""The fork's policy loss (`deepmath-fork`) in verl 0.9.1's registry, against verl's own `vanilla` loss and
against the fork's aggregation rule computed by hand."""

from __future__ import annotations

import pytest
import torch

from deepmath_ext import launch
from deepmath_ext.fork_loss import FORK_LOSS_MODE


@pytest.fixture(scope="module")
def core_algos():
    launch.load_verl_plugins()
    from verl.trainer.ppo import core_algos

    return core_algos


def _config(**batch_info):
    from verl.workers.config import FSDPActorConfig

    config = FSDPActorConfig(
        strategy="fsdp",
        ppo_mini_batch_size=4,
        use_dynamic_bsz=True,
        ppo_max_token_len_per_gpu=100,
        rollout_n=1,
        clip_ratio_low=0.2,
        clip_ratio_high=0.28,
    )
    config.global_batch_info.update(batch_info)
    return config


def _batch(seed: int, rows: int, lengths: list[int], sign: float | None = None):
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    old = -torch.rand(rows, width, generator=generator)
    new = old + 0.6 * torch.randn(rows, width, generator=generator)
    advantages = torch.randn(rows, 1, generator=generator).expand(rows, width).clone()
    if sign is not None:
        advantages = sign * advantages.abs()
    mask = torch.zeros(rows, width)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    return {"old_log_prob": old, "log_prob": new, "advantages": advantages, "response_mask": mask}


def test_the_loss_is_in_verls_registry(core_algos) -> None:
    assert core_algos.get_policy_loss_fn(FORK_LOSS_MODE).__module__ == "deepmath_ext.fork_loss"


def test_equals_vanilla_where_dual_clip_cannot_act(core_algos) -> None:
    """Positive advantages, one micro-batch on one rank: dual clip is idle and both aggregations agree."""
    batch = _batch(0, 4, [5, 3, 7, 2], sign=1.0)
    fork, _ = core_algos.get_policy_loss_fn(FORK_LOSS_MODE)(**batch, config=_config())
    vanilla, _ = core_algos.get_policy_loss_fn("vanilla")(**batch, config=_config())
    assert torch.allclose(fork, vanilla)


def test_no_dual_clip_on_negative_advantages(core_algos) -> None:
    batch = _batch(1, 4, [6, 6, 6, 6], sign=-1.0)
    batch["log_prob"] = batch["old_log_prob"] + 2.0  # ratio e^2 > clip_ratio_c = 3: vanilla caps the loss
    fork, _ = core_algos.get_policy_loss_fn(FORK_LOSS_MODE)(**batch, config=_config())
    vanilla, _ = core_algos.get_policy_loss_fn("vanilla")(**batch, config=_config())
    expected = (-batch["advantages"] * torch.exp(torch.tensor(2.0))).mean()  # max(-A r, -A clip(r)) = -A r
    assert torch.allclose(fork, expected) and vanilla < fork


def test_micro_batches_weigh_as_in_the_fork(core_algos) -> None:
    """Two micro-batches of a 6-sequence mini-batch on 2 ranks: each token mean times n_micro / (6 / 2)."""
    loss_fn = core_algos.get_policy_loss_fn(FORK_LOSS_MODE)
    first, second = _batch(2, 2, [9, 8]), _batch(3, 1, [2])
    info = {"dp_size": 2, "global_batch_size": 6}
    total = sum(loss_fn(**b, config=_config(**info))[0] for b in (first, second))
    per_token = []
    for b in (first, second):
        low, high = 0.8, 1.28
        ratio = torch.exp(b["log_prob"] - b["old_log_prob"])
        losses = torch.maximum(-b["advantages"] * ratio, -b["advantages"] * ratio.clamp(low, high))
        per_token.append((losses * b["response_mask"]).sum() / b["response_mask"].sum())
    by_hand = per_token[0] * 2 / 3 + per_token[1] * 1 / 3
    assert torch.allclose(total, by_hand)
    # verl's token-mean over the same rank's tokens weighs the two micro-batches 17 : 2 instead of 2 : 1.
    tokens = 19
    token_mean = sum(
        core_algos.get_policy_loss_fn("vanilla")(
            **b, config=_config(dp_size=2, global_batch_size=6, batch_num_tokens=2 * tokens)
        )[0]
        for b in (first, second)
    )
    assert not torch.allclose(total, token_mean)


def test_the_forks_sampler_order_is_0_9_1s_for_the_same_seed() -> None:
    """The fork shuffled with torch's RandomSampler, 0.9.1 with torchdata's: one seed, one order."""
    from torch.utils.data import RandomSampler as ForkSampler
    from torchdata.stateful_dataloader.sampler import RandomSampler

    rows = list(range(500))
    fork = list(ForkSampler(rows, generator=torch.Generator().manual_seed(1)))
    ours = list(RandomSampler(rows, generator=torch.Generator().manual_seed(1)))
    assert fork == ours and fork != rows
