"""Trainer modes `deepmath_<mode>`: verl 0.9.1's v1 trainers with `PPOTrainer._compute_metrics` extended.

Overrides `verl.trainer.ppo.v1.trainer_base.PPOTrainer._compute_metrics` (tested with verl 0.9.1): verl's own
metrics, then `reward.telemetry.summarize_reward_infos` of the step's `reward_extra_info`, read from
TransferQueue. verl has no config hook for training metrics, so this stays an override. verl resolves the
trainer class by name from `trainer.v1.trainer_mode` in its registry (`register_trainer`), and then branches on
`self.trainer_mode == "sync"` and reads `trainer.v1.<mode>`: the `trainer_mode` property strips our prefix so
`deepmath_sync` runs exactly as `sync`. A telemetry failure is a warning, never a stopped run.
"""

from __future__ import annotations

import logging
from typing import Any

from deepmath_ext.reward.telemetry import summarize_reward_infos

logger = logging.getLogger(__name__)
MODE_PREFIX = "deepmath_"


class RewardTelemetryMixin:
    """Adds `reward/status_rate/*`, `reward/acc_by_difficulty/*` to a v1 trainer's step metrics."""

    # verl's trainer branches on `self.trainer_mode == "sync"` (replay buffer, refills, weight sync) and
    # reads `trainer.v1.<mode>` settings, both from the configured name: strip our prefix so that
    # `deepmath_sync` behaves exactly like `sync`.
    @property
    def trainer_mode(self) -> str:
        return self._verl_trainer_mode

    @trainer_mode.setter
    def trainer_mode(self, mode: str) -> None:
        self._verl_trainer_mode = mode.removeprefix(MODE_PREFIX)

    def _compute_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        super()._compute_metrics(batch, metrics, timing_raw, global_steps=global_steps, epoch=epoch)
        try:
            metrics.update(summarize_reward_infos(step_reward_infos(batch)))
        except Exception:  # telemetry must never stop a training run
            logger.warning("deepmath reward telemetry failed at step %s", global_steps, exc_info=True)


def step_reward_infos(batch) -> list[dict[str, Any]]:
    """The deepmath `reward_extra_info` of each non-padding trajectory of a step, read from TransferQueue."""
    import transfer_queue as tq

    data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=["extra_fields"])
    infos = []
    for tag, value in zip(batch.tags, data["extra_fields"], strict=True):
        fields = getattr(value, "data", value)  # TransferQueue may wrap it in NonTensorData
        info = fields.get("reward_extra_info", {}) if isinstance(fields, dict) else {}
        if not tag.get("is_padding", False) and "status" in info:
            infos.append(info)
    return infos


def register_telemetry_trainers() -> list[str]:
    """Register `deepmath_<mode>` for every v1 trainer mode verl has registered; returns the new names."""
    from verl.trainer.ppo.v1 import trainer_base

    added = []
    for mode, trainer_cls in list(trainer_base.TRAINER_REGISTRY.items()):
        name = f"{MODE_PREFIX}{mode}"
        if mode.startswith(MODE_PREFIX) or name in trainer_base.TRAINER_REGISTRY:
            continue
        subclass = type(f"DeepMath{trainer_cls.__name__}", (RewardTelemetryMixin, trainer_cls), {})
        trainer_base.register_trainer(name)(subclass)
        added.append(name)
    logger.debug("registered verl trainer modes %s", added)
    return added
