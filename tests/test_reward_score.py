"""compute_score, settings, overlong shaping and telemetry, through verl's in-process managers."""

from __future__ import annotations

import asyncio

import pytest
from reward_support import Rollout, rollout_batch, verl_config

from deepmath_ext.reward import SCORE_KEYS, RewardConfig, compute_score
from deepmath_ext.reward.recipe import manager_overrides
from deepmath_ext.reward.telemetry import difficulty_bucket, summarize_reward_infos
from deepmath_ext.verify import VERIFIER_VERSION, GradeStatus, grade

THINK = "<think>\nLet me work it out carefully.\n</think>\n"
ROLLOUTS = [
    Rollout(
        "Compute 1/2 + 0.",
        THINK + r"The answer is $\boxed{\frac{1}{2}}$.",
        "0.5",
        extra_info={"difficulty": 4.5},
    ),
    Rollout("Compute 2 + 3.", THINK + r"So $\boxed{6}$.", "5", extra_info={"difficulty": 6.0}),
    Rollout("Compute 3 * 3.", r"<think>\boxed{9} maybe, out of time", "9", extra_info={"difficulty": 6.5}),
    Rollout("Compute 2 + 2.", THINK + r"$\boxed{4}$ or possibly $\boxed{5}$", "4", data_source="math500"),
    # Long enough to be cut at max_resp_len=160 tokens, after its answer.
    Rollout(
        "Compute 7 - 3.",
        THINK + r"So $\boxed{4}$. " + "Check: 7 - 3 = 4. " * 40,
        "4",
        extra_info={"difficulty": 9},
    ),
    Rollout("Solve x + 1 = 3.", THINK + "I am not sure.", "2", data_source="aime24"),
]
OVERLONG = ["+reward.reward_kwargs.max_resp_len=160", "+reward.reward_kwargs.overlong_buffer_cfg.enable=true"]
OVERLONG += [
    "+reward.reward_kwargs.overlong_buffer_cfg.len=64",
    "+reward.reward_kwargs.overlong_buffer_cfg.penalty_factor=1.0",
    "+reward.reward_kwargs.overlong_buffer_cfg.log=true",
]
OURS = "reward.custom_reward_function.path=pkg://deepmath_ext.reward"
pytest_plugins = ("reward_support",)  # the module-scoped `tokenizer` fixture


@pytest.fixture(scope="module")
def batch(tokenizer):
    return rollout_batch(tokenizer, ROLLOUTS, max_response_len=160)


def run_manager(overrides, tokenizer, batch) -> list[dict]:
    """Load a manager through verl's `load_reward_manager` and run its `run_single` over the batch."""
    from verl.trainer.ppo.reward import load_reward_manager

    manager = load_reward_manager(verl_config(overrides), tokenizer)

    async def score_all():
        return await asyncio.gather(*(manager.run_single(batch[i : i + 1]) for i in range(len(batch))))

    return manager.loop.run_until_complete(score_all())  # verl managers keep the loop they were built on


def expected_grades(tokenizer, batch):
    """Direct `grade` on exactly the text verl's managers decode."""
    texts = []
    for i in range(len(batch)):
        ids, mask = (
            batch.batch["responses"][i],
            batch.batch["attention_mask"][i, -batch.batch["responses"].shape[1] :],
        )
        texts.append(tokenizer.decode(ids[: int(mask.sum())], skip_special_tokens=True))
    return [grade(text, r.gold, require_think=True) for text, r in zip(texts, ROLLOUTS, strict=True)]


def score(*args, **kwargs) -> dict:
    """compute_score is a coroutine function (verl's managers await it): run one call to completion."""
    return asyncio.run(compute_score(*args, **kwargs))


def test_compute_score_has_fixed_keys_and_reference_scores():
    results = [score(r.data_source, r.response, r.gold, r.extra_info) for r in ROLLOUTS]
    assert all(tuple(result) == SCORE_KEYS for result in results)
    assert [result["score"] for result in results] == [1.0, -1.0, -1.0, -1.0, 1.0, -1.0]
    assert [result["status"] for result in results][2:4] == ["format_error", "hedged"]
    assert results[2]["format_ok"] is False and results[0]["pred"] != ""
    assert {result["verifier_version"] for result in results} == {VERIFIER_VERSION}


def test_plain_accuracy_term_is_the_default_reward_exactly():
    """`terms: {accuracy: 1.0}` is today's reward: same scores, same keys in the same order, same values."""
    for r in ROLLOUTS:
        default = score(r.data_source, r.response, r.gold, r.extra_info)
        explicit = score(r.data_source, r.response, r.gold, r.extra_info, terms={"accuracy": 1.0})
        assert list(explicit.items()) == list(default.items())


def test_compute_score_kwargs_change_scores_and_think_requirement():
    truncated = ROLLOUTS[2]
    lenient = score(truncated.data_source, truncated.response, truncated.gold, require_think=False)
    assert lenient["score"] == 1.0 and lenient["acc"] == 1.0
    wrong = score("math500", ROLLOUTS[1].response, "5", correct_score=1.0, wrong_score=0.0)
    assert wrong["score"] == 0.0 and wrong["acc"] == 0.0


# (response, gold) -> acc under each policy: the reward follows the grading policy of reward_kwargs.
POLICY_CASES = {
    (THINK + r"So $\boxed{100001}$.", "100000"): {
        "strict": 0.0,
        "reference": 1.0,
        "reference-single-box": 1.0,
    },
    (r"So $\boxed{4}$ or $\boxed{4}$", "4"): {"strict": 1.0, "reference": 0.0, "reference-single-box": 0.0},
}


@pytest.mark.parametrize("policy", ["strict", "reference", "reference-single-box"])
def test_score_and_acc_follow_the_policy(policy):
    for (response, gold), accs in POLICY_CASES.items():
        result = score("deepmath-103k", response, gold, policy=policy, require_think=False)
        assert (result["acc"], result["score"]) == (accs[policy], 1.0 if accs[policy] else -1.0)


def test_misspelt_reward_kwarg_is_an_error_naming_it():
    with pytest.raises(ValueError, match="requier_think"):
        score("math500", ROLLOUTS[0].response, "0.5", requier_think=False)
    with pytest.raises(ValueError, match=r"unknown grading policy 'referense'.*reference-single-box"):
        RewardConfig.from_kwargs({"policy": "referense"})
    with pytest.raises(ValueError, match=r"'overlong_buffer'.*known keys.*overlong_buffer_cfg"):
        RewardConfig.from_kwargs({"overlong_buffer": {"len": 4}})


def test_every_data_source_goes_to_the_one_verifier():
    """No routing table: a source `deepmath prepare` never writes is graded like any other."""
    for source in ("openai/gsm8k", "deepmath-103k"):
        assert (
            score(source, ROLLOUTS[0].response, "0.5")["status"] == grade(ROLLOUTS[0].response, "0.5").status
        )


def test_naive_manager_awaits_our_score(tokenizer, batch):
    """verl's core `naive` manager awaits our async compute_score: no crash, no silent zeros."""
    outputs = run_manager(["reward.reward_manager.name=naive", OURS], tokenizer, batch)
    grades = expected_grades(tokenizer, batch)
    assert [o["reward_score"] for o in outputs] == [1.0 if g.correct else -1.0 for g in grades]
    assert [o["reward_extra_info"]["status"] for o in outputs] == [g.status for g in grades]
    assert sum(o["reward_score"] == 1.0 for o in outputs) == 2


def test_deepmath_manager_is_verl_dapo_with_our_score(tokenizer, batch):
    """Same batch, same keys: verl's `dapo` manager (with our compute_score) and ours give equal rewards."""
    ours = run_manager([*manager_overrides(), *OVERLONG], tokenizer, batch)
    dapo = run_manager(["reward.reward_manager.name=dapo", OURS, *OVERLONG], tokenizer, batch)
    for mine, theirs in zip(ours, dapo, strict=True):
        assert mine["reward_score"] == pytest.approx(float(theirs["reward_score"]))
        assert mine["reward_extra_info"] == theirs["reward_extra_info"]
    lengths = batch.batch["attention_mask"][:, -batch.batch["responses"].shape[1] :].sum(dim=1).tolist()
    # Only the long response passes max_resp_len - len = 96 tokens; it is cut at 160, so the penalty is -1.
    assert (
        [o["reward_extra_info"]["overlong"] for o in ours] == [n > 96 for n in lengths] == [0, 0, 0, 0, 1, 0]
    )
    assert ours[4]["reward_extra_info"]["overlong_reward"] == -1.0 and ours[4]["reward_score"] == 0.0


def test_deepmath_manager_extra_info_is_fixed_and_feeds_telemetry(tokenizer, batch):
    outputs = run_manager([*manager_overrides(), *OVERLONG], tokenizer, batch)
    infos = [o["reward_extra_info"] for o in outputs]
    # compute_score's keys, then the two verl's DAPO manager adds with overlong_buffer_cfg.log=true
    assert all(tuple(info) == (*SCORE_KEYS, "overlong_reward", "overlong") for info in infos)
    assert [info["difficulty_bucket"] for info in infos] == ["lt5", "5to7", "5to7", "", "ge9", ""]
    metrics = summarize_reward_infos(infos)
    rates = {k.rsplit("/", 1)[1]: v for k, v in metrics.items() if k.startswith("reward/status_rate/")}
    assert set(rates) == {s.value for s in GradeStatus} and sum(rates.values()) == pytest.approx(1.0)
    assert rates["format_error"] == rates["hedged"] == pytest.approx(1 / 6)
    assert metrics["reward/acc_by_difficulty/5to7"] == 0.0 and metrics["reward/acc_by_difficulty/ge9"] == 1.0
    assert metrics["reward/count_by_difficulty/5to7"] == 2.0
    assert metrics["reward/overlong_rate"] == pytest.approx(1 / 6)


def test_difficulty_bucket_edges_and_bad_values():
    edges = (5.0, 7.0, 9.0)
    assert [difficulty_bucket(d, edges) for d in (3, 5, 6.5, 7, 9, 10, None, "")] == [
        "lt5", "5to7", "5to7", "7to9", "ge9", "ge9", "", "",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="difficulty"):
        difficulty_bucket("hard", edges)
