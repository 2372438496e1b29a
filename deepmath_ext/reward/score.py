"""`compute_score` for verl's reward managers: an async grade through the verifier pool."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from deepmath_ext.reward.settings import RewardSettings
from deepmath_ext.reward.telemetry import difficulty_bucket
from deepmath_ext.verify import VERIFIER_VERSION, Grade, GradeStatus, get_pool

# The keys of every dict compute_score returns; verl builds its arrays from the first sample's keys.
SCORE_KEYS = (
    "score",
    "acc",
    "pred",
    "status",
    "timeout",
    "format_ok",
    "difficulty_bucket",
    "verifier_version",
)


def grade_to_result(grade: Grade, settings: RewardSettings, difficulty: Any = None) -> dict[str, Any]:
    """The fixed-key reward dict of one grade (timeouts and format errors score as wrong)."""
    return {
        "score": float(settings.correct_score if grade.correct else settings.wrong_score),
        "acc": float(grade.correct),
        "pred": grade.pred or "",
        "status": str(grade.status),
        "timeout": grade.status == GradeStatus.TIMEOUT,
        "format_ok": grade.status != GradeStatus.FORMAT_ERROR,
        "difficulty_bucket": difficulty_bucket(difficulty, settings.difficulty_buckets),
        # which grading semantics scored this rollout (dumped rollouts and logs can be told apart)
        "verifier_version": VERIFIER_VERSION,
    }


async def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Grade one response for verl; `kwargs` are the reward kwargs (see docs/reward.md).

    Every `data_source` goes to the same verifier. The cheap checks of `submit` (extraction,
    normalisation, exact comparison) run in a thread and the symbolic check in a worker process, so
    neither blocks the reward loop's event loop.
    """
    settings = RewardSettings.from_kwargs(kwargs, where="reward kwargs")
    pool = get_pool(settings.verifier_workers, settings.verifier_timeout_s)
    future = await asyncio.to_thread(
        pool.submit,
        solution_str,
        str(ground_truth),
        policy=settings.policy,
        require_think=settings.require_think,
    )
    grade = await asyncio.wrap_future(future)
    return grade_to_result(grade, settings, (extra_info or {}).get("difficulty"))
