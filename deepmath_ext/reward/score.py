"""`compute_score` for `reward.custom_reward_function`, and how a grade becomes a reward dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepmath_ext.reward.routing import check_data_source
from deepmath_ext.reward.settings import VERL_CALL_KWARGS, RewardSettings
from deepmath_ext.verify import Grade, GradeStatus, get_pool

# The keys of every dict compute_score returns; verl builds its arrays from the first sample's keys.
SCORE_KEYS = ("score", "acc", "pred", "status", "timeout", "format_ok")


def grade_to_result(grade: Grade, settings: RewardSettings) -> dict[str, Any]:
    """The fixed-key reward dict of one grade (timeouts and format errors score as wrong)."""
    return {
        "score": float(settings.correct_score if grade.correct else settings.wrong_score),
        "acc": float(grade.correct),
        "pred": grade.pred or "",
        "status": str(grade.status),
        "timeout": grade.status == GradeStatus.TIMEOUT,
        "format_ok": grade.status != GradeStatus.FORMAT_ERROR,
    }


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Grade one response for verl; `kwargs` are `reward.custom_reward_function.reward_kwargs`."""
    settings = RewardSettings.from_kwargs(
        {k: v for k, v in kwargs.items() if k not in VERL_CALL_KWARGS},
        where="reward.custom_reward_function.reward_kwargs",
    )
    check_data_source(data_source)
    pool = get_pool(settings.verifier_workers, settings.verifier_timeout_s)
    grade = pool.submit(solution_str, ground_truth, require_think=settings.require_think).result()
    return grade_to_result(grade, settings)
