"""Reward terms: the built-ins' values, weighted combination, per-term settings, third-party terms."""

from __future__ import annotations

import asyncio
import math

import pytest

from deepmath_ext.reward import RewardConfig, compute_score, is_valid_reward_key, reward_term, sample_grade

THINK = "<think>\nWorking.\n</think>\n"
CORRECT = THINK + r"So $\boxed{4}$."
WRONG = THINK + r"So $\boxed{5}$."


def score(response: str, gold: str = "4", **kwargs) -> dict:
    return asyncio.run(compute_score("deepmath-103k", response, gold, {}, **kwargs))


@reward_term(keys=("short_bonus",))
async def short_correct(response, gold, extra_info, settings):
    """A third-party term for `pkg://`: 1 for a correct answer under 50 characters."""
    value = float((await sample_grade()).correct and len(response) < 50)
    return {"score": value, "short_bonus": value}


def plain_term(response, gold, extra_info, settings):
    """An undecorated function: a plain number, no keys, no settings."""
    return 0.5


def test_weighted_terms_sum_and_add_their_keys_after_accuracys():
    result = score(CORRECT, terms={"accuracy": 1.0, "format": 0.5, "repetition": 0.1})
    assert list(result)[-2:] == ["format_reward", "repetition_penalty"]
    assert result["format_reward"] == 1.0 and result["repetition_penalty"] == 0.0
    assert result["score"] == pytest.approx(1.0 + 0.5)
    assert score(THINK + "no box", terms={"format": 1.0})["score"] == 0.0
    assert score("no think " + r"\boxed{4}", terms={"format": 1.0})["score"] == 0.0


def test_length_term_is_cosine_scaled_by_correctness():
    short = score(CORRECT, terms={"length": 1.0}, length={"max_len": 10_000})["length_reward"]
    long = score(CORRECT + " pad" * 2500, terms={"length": 1.0}, length={"max_len": 10_000})["length_reward"]
    wrong = score(WRONG, terms={"length": 1.0}, length={"max_len": 10_000})["length_reward"]
    progress = len(CORRECT) / 10_000
    assert short == pytest.approx(0.5 + 0.5 * (1 + math.cos(math.pi * progress)) / 2)
    assert long == 0.5 and -1.0 < wrong < -0.99


def test_repetition_term_penalises_repeated_ngrams():
    looping = THINK + "we add one and " * 20 + r"\boxed{4}"
    penalty = score(looping, terms={"repetition": 1.0})["repetition_penalty"]
    assert -1.0 < penalty < -0.5
    halved = score(looping, terms={"repetition": 1.0}, repetition={"max_penalty": -0.5})
    assert halved["repetition_penalty"] == pytest.approx(penalty / 2)


def test_unknown_keys_are_refused_per_term():
    with pytest.raises(ValueError, match=r"'max_lenght'.*reward_kwargs.length.*known keys.*max_len"):
        RewardConfig.from_kwargs({"terms": {"length": 1.0}, "length": {"max_lenght": 3}})
    with pytest.raises(ValueError, match=r"'repetition'.*need them in reward_kwargs.terms"):
        RewardConfig.from_kwargs({"repetition": {"ngram_size": 2}})
    with pytest.raises(ValueError, match=r"unknown reward term 'lenght'.*length"):
        RewardConfig.from_kwargs({"terms": {"lenght": 1.0}})
    with pytest.raises(ValueError, match="top-level grading keys"):
        RewardConfig.from_kwargs({"accuracy": {"policy": "strict"}})
    with pytest.raises(ValueError, match="takes no settings"):
        RewardConfig.from_kwargs(
            {"terms": {f"pkg://{__name__}:plain_term": 1.0}, f"pkg://{__name__}:plain_term": {"a": 1}}
        )


def test_pkg_terms_load_by_module_path_and_share_the_one_grade():
    terms = {"accuracy": 1.0, f"pkg://{__name__}:short_correct": 2.0, f"pkg://{__name__}:plain_term": 1.0}
    result = score(CORRECT, terms=terms)
    assert result["score"] == pytest.approx(1.0 + 2.0 + 0.5) and result["short_bonus"] == 1.0
    assert score(WRONG, terms=terms)["score"] == pytest.approx(-1.0 + 0.0 + 0.5)
    with pytest.raises(ValueError, match="does not load"):
        RewardConfig.from_kwargs({"terms": {"pkg://no_such_module:fn": 1.0}})


def test_the_registry_says_which_keys_are_read():
    terms = {"accuracy": 1.0, "length": 0.1}
    assert is_valid_reward_key("policy") and is_valid_reward_key("overlong_buffer_cfg.len")
    assert is_valid_reward_key("length.max_len", terms) and is_valid_reward_key("terms.length", terms)
    assert not is_valid_reward_key("length.max_len")  # length is not among the default terms
    assert not is_valid_reward_key("length.max_lenght", terms) and not is_valid_reward_key("polcy")


def test_step_telemetry_reports_each_terms_numeric_keys():
    from deepmath_ext.reward.telemetry import summarize_reward_infos

    infos = [score(text, terms={"accuracy": 1.0, "repetition": 0.1}) for text in (CORRECT, WRONG)]
    metrics = summarize_reward_infos(infos)
    assert metrics["reward/mean/repetition_penalty"] == 0.0 and metrics["reward/mean/score"] == 0.0
    assert metrics["reward/mean/format_ok"] == 1.0 and "reward/mean/pred" not in metrics
