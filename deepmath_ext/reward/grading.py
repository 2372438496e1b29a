"""The grading settings (`reward_kwargs`' top-level keys) and how one grade becomes the `accuracy` term's
reward dict: the score, `acc` and the fixed keys every sample carries."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepmath_ext.reward.telemetry import difficulty_bucket
from deepmath_ext.verify import DEFAULT_POLICY, VERIFIER_VERSION, Grade, GradeStatus, get_policy
from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

# verl passes these to a custom compute_score when a reward model is enabled; they are not ours to parse.
VERL_CALL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
# `reward.reward_kwargs` keys that verl's DAPO manager (our manager's base class) reads and checks itself.
DAPO_KWARGS = frozenset({"overlong_buffer_cfg", "max_resp_len"})


@dataclass(frozen=True)
class RewardSettings:
    """How a grade becomes a reward; every field is a `reward_kwargs` key of the same name."""

    policy: str = DEFAULT_POLICY  # the grading policy (docs/verifier.md); `acc` and the score follow it
    correct_score: float = 1.0
    wrong_score: float = -1.0
    require_think: bool = True  # read by the `strict` policy; the reference policies have their own rule
    verifier_workers: int | None = 2  # per reward actor; verl starts reward.num_workers (8) actors
    verifier_timeout_s: float = DEFAULT_TIMEOUT_S
    difficulty_buckets: tuple[float, ...] = (5.0, 7.0, 9.0)

    def __post_init__(self) -> None:
        get_policy(self.policy)  # an unknown name fails here, listing the known ones

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> RewardSettings:
        """Build settings from plain grading keys (the caller has refused unknown ones)."""
        raw = dict(raw)
        if "difficulty_buckets" in raw:
            raw["difficulty_buckets"] = tuple(sorted(float(edge) for edge in raw["difficulty_buckets"]))
        return cls(**raw)


GRADING_KEYS = frozenset(f.name for f in dataclasses.fields(RewardSettings))


def our_kwargs(kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plain-dict `reward_kwargs` without the keys verl itself reads (DAPO's, the reward router's)."""
    raw = _to_plain(kwargs or {})
    return {key: value for key, value in raw.items() if key not in DAPO_KWARGS | VERL_CALL_KWARGS}


def _to_plain(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """OmegaConf DictConfig or dict -> plain dict (OmegaConf is only imported when given one)."""
    if type(mapping).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return dict(OmegaConf.to_container(mapping, resolve=True))
    return dict(mapping)


# The keys of the `accuracy` term's dict, `score` first (the plain `terms: {accuracy: 1.0}` result).
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
