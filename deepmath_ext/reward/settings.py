"""Reward settings parsed from verl's `reward_kwargs` mappings, with misspelt keys rejected."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deepmath_ext.verify.pool import DEFAULT_TIMEOUT_S

# verl passes these to a custom compute_score when a reward model is enabled; they are not ours to parse.
VERL_CALL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})


@dataclass(frozen=True)
class OverlongSettings:
    """verl `dapo` manager's overlong buffer: `overlong_buffer_cfg.{enable,len,penalty_factor,log}`."""

    enable: bool = False
    len: int = 0
    penalty_factor: float = 1.0
    log: bool = False


@dataclass(frozen=True)
class RewardSettings:
    """How a grade becomes a reward; every field is a `reward_kwargs` key of the same name."""

    correct_score: float = 1.0
    wrong_score: float = -1.0
    require_think: bool = True
    verifier_workers: int | None = 2  # per reward actor; verl starts reward.num_workers (8) actors
    verifier_timeout_s: float = DEFAULT_TIMEOUT_S
    difficulty_buckets: tuple[float, ...] = (5.0, 7.0, 9.0)
    max_resp_len: int | None = None
    overlong_buffer_cfg: OverlongSettings = field(default_factory=OverlongSettings)

    def __post_init__(self) -> None:
        cfg = self.overlong_buffer_cfg
        if not cfg.enable:
            return
        if self.max_resp_len is None:
            raise ValueError("reward_kwargs.max_resp_len is required when overlong_buffer_cfg.enable is true")
        if cfg.len <= 0 or self.max_resp_len < cfg.len:
            raise ValueError(
                f"reward_kwargs.overlong_buffer_cfg.len must be in (0, max_resp_len={self.max_resp_len}], "
                f"got {cfg.len}"
            )

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None, *, where: str = "reward_kwargs") -> RewardSettings:
        """Build settings from a (possibly OmegaConf) mapping; an unknown key is an error naming it."""
        raw = _to_plain(kwargs or {})
        _reject_unknown(raw, {f.name for f in dataclasses.fields(cls)}, where)
        overlong = raw.pop("overlong_buffer_cfg", None) or {}
        _reject_unknown(
            overlong, {f.name for f in dataclasses.fields(OverlongSettings)}, f"{where}.overlong_buffer_cfg"
        )
        if "difficulty_buckets" in raw:
            raw["difficulty_buckets"] = tuple(sorted(float(edge) for edge in raw["difficulty_buckets"]))
        return cls(overlong_buffer_cfg=OverlongSettings(**overlong), **raw)


def _to_plain(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """OmegaConf DictConfig or dict -> plain dict (OmegaConf is only imported when given one)."""
    if type(mapping).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return dict(OmegaConf.to_container(mapping, resolve=True))
    return {key: _to_plain(value) if isinstance(value, Mapping) else value for key, value in mapping.items()}


def _reject_unknown(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; known keys: {sorted(known)}")
