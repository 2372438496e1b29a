"""`compute_score` for verl's reward managers: the recipe's weighted reward terms over one sample.

`reward_kwargs` holds the grading keys (RewardSettings: policy, correct_score, ...; they are the `accuracy`
term's settings and what `sample_grade()` grades with), `terms: {name: weight}` (default
`{accuracy: 1.0}`, today's reward exactly) and each other term's settings under its own name. Misspelt keys
are refused, per term. The score is the weighted sum of the terms' scores; the extra keys are `accuracy`'s
(`acc`, `status`, ...) then each term's own, the same for every sample.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from deepmath_ext.reward.builtin_terms import GRADING_TERM
from deepmath_ext.reward.grading import (
    DAPO_KWARGS,
    GRADING_KEYS,
    SCORE_KEYS,
    RewardSettings,
    our_kwargs,
)
from deepmath_ext.reward.terms import _SAMPLE_GRADE, BUILTIN_TERMS, Term, get_term
from deepmath_ext.verify import Grade, get_pool

TERMS_KEY = "terms"
DEFAULT_TERMS = {GRADING_TERM: 1.0}


@dataclass(frozen=True)
class RewardConfig:
    """A recipe's reward: the grading settings and each term with its weight and parsed settings."""

    grading: RewardSettings
    terms: tuple[tuple[Term, float, Any], ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key of the result dict, `score` first."""
        return ("score", *(key for term, _, _ in self.terms for key in term.keys))

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None, *, where: str = "reward_kwargs") -> RewardConfig:
        """Parse `reward_kwargs` (dict or OmegaConf); an unknown key is an error naming it and where it goes."""
        raw = our_kwargs(kwargs)
        weights = raw.pop(TERMS_KEY, None) or dict(DEFAULT_TERMS)
        if not isinstance(weights, Mapping):
            raise ValueError(f"{where}.{TERMS_KEY} must map term names to weights, got {weights!r}")
        if GRADING_TERM in raw:
            raise ValueError(
                f"{where}.{GRADING_TERM}: the accuracy term's settings are the top-level grading keys "
                f"{sorted(GRADING_KEYS)} of {where}"
            )
        sections = {name: raw.pop(name) for name in list(raw) if name in weights}
        _refuse_unknown(raw, weights, where)
        grading = RewardSettings.from_mapping(raw)
        terms = tuple(_term_entry(name, weight, sections, grading, where) for name, weight in weights.items())
        keys = [key for term, _, _ in terms for key in term.keys]
        clashing = sorted({key for key in keys if keys.count(key) > 1 or key == "score"})
        if clashing:
            raise ValueError(f"{where}.{TERMS_KEY}: several terms add the key(s) {clashing}")
        return cls(grading, terms)


def _term_entry(
    name: str, weight: Any, sections: Mapping[str, Any], grading: RewardSettings, where: str
) -> tuple[Term, float, Any]:
    term = get_term(name)
    try:
        weight = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"{where}.{TERMS_KEY}.{name}: weight must be a number, got {weight!r}") from None
    settings = grading if name == GRADING_TERM else term.parse_settings(sections.get(name), f"{where}.{name}")
    return term, weight, settings


def _refuse_unknown(raw: Mapping[str, Any], weights: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(raw) - GRADING_KEYS)
    if not unknown:
        return
    unused = [key for key in unknown if key in BUILTIN_TERMS]
    hint = f"; settings of term(s) {unused} need them in {where}.{TERMS_KEY}" if unused else ""
    raise ValueError(
        f"unknown key(s) {unknown} in {where}{hint}; known keys: {sorted(GRADING_KEYS | DAPO_KWARGS)}, "
        f"{TERMS_KEY}, and the settings of each term of {TERMS_KEY} ({sorted(weights)}) under its name"
    )


@lru_cache(maxsize=64)
def _parse_cached(frozen: str) -> RewardConfig:
    return RewardConfig.from_kwargs(json.loads(frozen), where="reward kwargs")


def parse_reward_kwargs(kwargs: Mapping[str, Any]) -> RewardConfig:
    """`RewardConfig.from_kwargs`, parsed once per distinct kwargs (every sample of a run has the same)."""
    return _parse_cached(json.dumps(our_kwargs(kwargs), sort_keys=True, default=list))


def is_valid_reward_key(key: str, terms: Mapping[str, Any] | None = None) -> bool:
    """Whether a dotted key under `reward_kwargs` is read, given the recipe's `terms` (default: accuracy)."""
    head, _, rest = key.partition(".")
    terms = terms or DEFAULT_TERMS
    if head in GRADING_KEYS | DAPO_KWARGS:
        return True
    if head == TERMS_KEY:
        return True
    if head not in terms or head == GRADING_TERM:
        return False
    settings = get_term(head).settings
    fields = getattr(settings, "__dataclass_fields__", {})
    return not rest or rest.split(".")[0] in fields


class _GradeOnce:
    """The sample's grade under the grading settings, computed on first request (see `sample_grade`)."""

    def __init__(self, response: str, gold: str, settings: RewardSettings) -> None:
        self.response, self.gold, self.settings = response, gold, settings
        self._grade: Grade | None = None

    async def __call__(self) -> Grade:
        if self._grade is None:
            pool = get_pool(self.settings.verifier_workers, self.settings.verifier_timeout_s)
            # The cheap checks run in a thread and the symbolic one in a worker: the event loop never blocks.
            future = await asyncio.to_thread(
                pool.submit,
                self.response,
                self.gold,
                policy=self.settings.policy,
                require_think=self.settings.require_think,
            )
            self._grade = await asyncio.wrap_future(future)
        return self._grade


async def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one response for verl: the weighted sum of the recipe's terms; `kwargs` are the reward kwargs.

    Every `data_source` goes to the same verifier. See docs/reward.md for the keys.
    """
    config = parse_reward_kwargs(kwargs)
    gold, extra_info = str(ground_truth), extra_info or {}
    token = _SAMPLE_GRADE.set(_GradeOnce(solution_str, gold, config.grading))
    try:
        result: dict[str, Any] = {"score": 0.0}
        total = 0.0
        for term, weight, settings in config.terms:
            score, extras = await term.evaluate(solution_str, gold, extra_info, settings)
            total += weight * score
            result.update(extras)
    finally:
        _SAMPLE_GRADE.reset(token)
    result["score"] = total
    return result


__all__ = ["SCORE_KEYS", "RewardConfig", "RewardSettings", "compute_score", "parse_reward_kwargs"]
