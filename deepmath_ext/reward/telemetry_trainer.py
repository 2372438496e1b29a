"""verl v1 trainer modes `deepmath_<mode>` that log reward telemetry each training step.

verl 0.9.1 logs `reward_extra_info` only in validation (`val-aux/<source>/<key>/mean@N`, numeric keys
only); the training step's `_compute_metrics` reads `rm_scores` but never the extra info. These
modes are verl's own trainers plus one override that adds `summarize_reward_infos` of the step's
trajectories, selected with `trainer.v1.trainer_mode=deepmath_sync` (or `deepmath_colocate_async`, ...).
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
