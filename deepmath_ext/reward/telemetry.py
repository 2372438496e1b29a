"""Per-step reward telemetry: the rate of each grade status, accuracy by difficulty bucket, the mean of each
numeric reward key.

verl 0.9.1 logs `reward_extra_info` only in validation (`val-aux/<source>/<key>/mean@N`, numeric keys
only); the training step's `_compute_metrics` reads `rm_scores` but never the extra info. The trainer
modes `deepmath_<mode>` (`deepmath_ext.verl_overrides.trainer_modes`) add `summarize_reward_infos` of the
step's trajectories.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deepmath_ext.verify import GradeStatus

logger = logging.getLogger(__name__)
METRIC_PREFIX = "reward"
NO_DIFFICULTY = ""
_SUMMARIZED = frozenset({"acc", "overlong"})  # reported as reward/acc and reward/overlong_rate


def difficulty_bucket(difficulty: Any, edges: Sequence[float]) -> str:
    """Bucket label of a DeepMath `difficulty` for sorted `edges`: 'lt5', '5to7', 'ge9'; '' when absent."""
    if difficulty is None or difficulty == "":
        return NO_DIFFICULTY
    try:
        value = float(difficulty)
    except (TypeError, ValueError):
        raise ValueError(f"extra_info.difficulty must be a number, got {difficulty!r}") from None
    if math.isnan(value):
        return NO_DIFFICULTY
    if value < edges[0]:
        return f"lt{edges[0]:g}"
    for low, high in itertools.pairwise(edges):
        if value < high:
            return f"{low:g}to{high:g}"
    return f"ge{edges[-1]:g}"


def summarize_reward_infos(infos: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Metrics of one step's `reward_extra_info` dicts (every status rate is present, zeros included)."""
    infos = list(infos)
    if not infos:
        return {}
    total = len(infos)
    statuses = Counter(str(info["status"]) for info in infos)
    metrics = {
        f"{METRIC_PREFIX}/status_rate/{status.value}": statuses[status.value] / total
        for status in GradeStatus
    }
    if "overlong" in infos[0]:  # verl's DAPO manager adds it with reward_kwargs.overlong_buffer_cfg.log
        metrics[f"{METRIC_PREFIX}/overlong_rate"] = sum(bool(info["overlong"]) for info in infos) / total
    metrics[f"{METRIC_PREFIX}/acc"] = sum(float(info["acc"]) for info in infos) / total
    by_bucket: dict[str, list[float]] = defaultdict(list)
    for info in infos:
        if info["difficulty_bucket"] != NO_DIFFICULTY:
            by_bucket[info["difficulty_bucket"]].append(float(info["acc"]))
    for bucket, accs in sorted(by_bucket.items()):
        metrics[f"{METRIC_PREFIX}/acc_by_difficulty/{bucket}"] = sum(accs) / len(accs)
        metrics[f"{METRIC_PREFIX}/count_by_difficulty/{bucket}"] = float(len(accs))
    metrics.update(numeric_means(infos))
    return metrics


def numeric_means(infos: list[Mapping[str, Any]]) -> dict[str, float]:
    """`reward/mean/<key>` of every numeric `reward_extra_info` key (each reward term's own keys included)."""
    numeric = [key for key, value in infos[0].items() if _is_number(value) and key not in _SUMMARIZED]
    return {
        f"{METRIC_PREFIX}/mean/{key}": sum(float(info[key]) for info in infos) / len(infos) for key in numeric
    }


def _is_number(value: Any) -> bool:
    """Numbers and booleans, numpy's included; never strings."""
    if isinstance(value, str | bytes):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
