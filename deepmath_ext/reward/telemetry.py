"""Per-step reward telemetry: the rate of each grade status and accuracy by difficulty bucket."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deepmath_ext.verify import GradeStatus

METRIC_PREFIX = "reward"
NO_DIFFICULTY = ""


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
    return metrics
