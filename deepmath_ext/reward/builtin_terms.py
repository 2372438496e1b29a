"""The built-in reward terms: `accuracy` (the verifier), `format`, cosine-scaled `length`, `repetition`.

The cheap ones are coroutines that never await, so they run inline in the reward loop (a thread hop per
sample would cost more than they do; pure Python holds the GIL either way).
`length` and `repetition` follow open-r1's shaping rewards (its `get_cosine_scaled_reward` and
`get_repetition_penalty_reward`); verl's overlong shaping stays with verl's DAPO manager
(`reward_kwargs.overlong_buffer_cfg`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepmath_ext.reward.grading import SCORE_KEYS, RewardSettings, grade_to_result
from deepmath_ext.reward.terms import register_term, reward_term, sample_grade
from deepmath_ext.verify.extract import graded_part
from deepmath_ext.verify.reference import last_box

# The term whose settings are the top-level grading keys of `reward_kwargs` (policy, correct_score, ...).
GRADING_TERM = "accuracy"


@register_term
@reward_term(name=GRADING_TERM, keys=SCORE_KEYS[1:], settings=RewardSettings)
async def accuracy(
    response: str, gold: str, extra_info: Mapping[str, Any], settings: RewardSettings
) -> dict[str, Any]:
    """`correct_score` or `wrong_score` by the verifier under the grading policy; keeps `acc` and `status`."""
    return grade_to_result(await sample_grade(), settings, extra_info.get("difficulty"))


@dataclass(frozen=True)
class FormatSettings:
    """`format`: what a well-formed response has."""

    require_think: bool = True  # a `</think>` closes the reasoning
    require_box: bool = True  # a closed `\\boxed{}` after it


@register_term
@reward_term(name="format", keys=("format_reward",), settings=FormatSettings)
async def format_term(
    response: str, gold: str, extra_info: Mapping[str, Any], settings: FormatSettings
) -> dict:
    """1.0 when the response has the required `</think>` and a box after it, else 0.0."""
    text = graded_part(response, require_think=settings.require_think)
    ok = text is not None and (not settings.require_box or last_box(text) is not None)
    return {"score": float(ok), "format_reward": float(ok)}


@dataclass(frozen=True)
class LengthSettings:
    """`length`: open-r1's cosine schedule from the short end to the long end of each range (characters)."""

    max_len: int = 1000  # lengths at or beyond it get the long end
    correct_short: float = 1.0  # a short correct answer
    correct_long: float = 0.5
    wrong_short: float = -1.0  # a short wrong answer (the long wrong one is penalised less)
    wrong_long: float = -0.5

    def __post_init__(self) -> None:
        if self.max_len <= 0:
            raise ValueError(f"length.max_len must be positive, got {self.max_len}")


@register_term
@reward_term(keys=("length_reward",), settings=LengthSettings)
async def length(response: str, gold: str, extra_info: Mapping[str, Any], settings: LengthSettings) -> dict:
    """Cosine-scaled by length: short correct answers earn most, short wrong ones lose most."""
    correct = (await sample_grade()).correct
    short, long = (
        (settings.correct_short, settings.correct_long)
        if correct
        else (settings.wrong_short, settings.wrong_long)
    )
    progress = min(len(response) / settings.max_len, 1.0)
    value = long + (short - long) * (1.0 + math.cos(math.pi * progress)) / 2
    return {"score": value, "length_reward": value}


@dataclass(frozen=True)
class RepetitionSettings:
    """`repetition`: the share of repeated word n-grams, scaled to `max_penalty`."""

    ngram_size: int = 3
    max_penalty: float = -1.0  # every n-gram a repeat

    def __post_init__(self) -> None:
        if self.ngram_size < 1 or self.max_penalty > 0:
            raise ValueError("repetition needs ngram_size >= 1 and max_penalty <= 0")


@register_term
@reward_term(keys=("repetition_penalty",), settings=RepetitionSettings)
async def repetition(
    response: str, gold: str, extra_info: Mapping[str, Any], settings: RepetitionSettings
) -> dict:
    """`max_penalty` times the share of word n-grams that repeat an earlier one (0 for short responses)."""
    words = response.lower().split()
    count = len(words) - settings.ngram_size + 1
    if count <= 0:
        return {"score": 0.0, "repetition_penalty": 0.0}
    ngrams = zip(*(words[i:] for i in range(settings.ngram_size)), strict=False)
    value = (1.0 - len(set(ngrams)) / count) * settings.max_penalty
    return {"score": value, "repetition_penalty": value}
