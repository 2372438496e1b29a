"""Stage 3: the LLM judge, against a local OpenAI-compatible HTTP stub standing in for the model server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from decontam_support import judge_stub, same_after_normalising
from http_stub import StubServer

from deepmath_ext.decontam import JudgeConfig, judge_pairs
from deepmath_ext.decontam.judge import judge_prompt, parse_answer
from deepmath_ext.errors import UserError


@pytest.fixture
def stub_factory() -> Iterator[Callable[[Callable[[str, str], str]], StubServer]]:
    servers: list[StubServer] = []

    def start(decide: Callable[[str, str], str]) -> StubServer:
        servers.append(judge_stub(decide))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_each_pair_is_asked_in_both_orders(stub_factory):
    stub = stub_factory(same_after_normalising)
    pairs = [("Find  x if 2x = 4.", "find x if 2x=4."), ("Find x if 2x = 4.", "Find y if 3y = 9.")]
    verdicts = judge_pairs(JudgeConfig(stub.base_url, "judge-model"), pairs)
    assert [v.same for v in verdicts] == [True, False]
    assert [v.answers for v in verdicts] == [("yes", "yes"), ("no", "no")]
    assert len(stub.requests) == 4
    assert {r["path"] for r in stub.requests} == {"/v1/chat/completions"}
    assert {r["model"] for r in stub.requests} == {"judge-model"}
    prompts = [r["messages"][0]["content"] for r in stub.requests]
    assert judge_prompt(*pairs[1]) in prompts and judge_prompt(pairs[1][1], pairs[1][0]) in prompts


def test_position_biased_judge_needs_both_orders_only_when_asked(stub_factory):
    # This judge says YES whenever the training problem comes first: asking both orders exposes it.
    stub = stub_factory(lambda first, second: "YES" if first.startswith("TRAIN") else "NO")
    pair = [("TRAIN: Find x if 2x = 4.", "Find y if 3y = 9.")]
    assert judge_pairs(JudgeConfig(stub.base_url, "m"), pair)[0].same is True
    assert judge_pairs(JudgeConfig(stub.base_url, "m", require_both=True), pair)[0].same is False


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("YES", "yes"),
        (" no.\n", "no"),
        ("**Yes**", "yes"),
        # The bug this pins: the first yes/no word ("no wait") was read, and six verbatim copies were kept.
        ("<think>They differ? no wait, they match.</think> YES", "yes"),
        ("<think>a</think>NO<think>b</think> yes", "yes"),  # the last </think> decides
        ("<think>Is it the same? no, ", "failed"),  # cut while thinking
        ("**Yes**, they match.", "failed"),
        ("Nope", "failed"),
        ("", "failed"),
    ],
)
def test_the_verdict_is_the_one_word_after_the_last_think(reply, answer):
    assert parse_answer(reply) == answer


def test_a_reply_that_is_no_verdict_stops_the_judge_stage(stub_factory):
    # Never counted as NO (which would keep the row): the pair is undecided.
    stub = stub_factory(lambda first, second: "I cannot tell." if "b" in first else "NO")
    with pytest.raises(UserError, match=r"no verdict in 1 of 2 replies.*'I cannot tell\.'"):
        judge_pairs(JudgeConfig(stub.base_url, "m"), [("a", "b")])


def test_unreachable_endpoint_is_a_clear_error():
    config = JudgeConfig("http://127.0.0.1:9/v1", "m", retries=0, timeout_s=2)
    with pytest.raises(
        UserError, match=r"POST http://127.0.0.1:9/v1/chat/completions: gave up after 1 attempts"
    ):
        judge_pairs(config, [("a", "b")])


def test_the_prompt_ships_with_the_package():
    prompt = judge_prompt("first problem", "second problem")
    assert "Problem 1:\nfirst problem" in prompt and "Problem 2:\nsecond problem" in prompt
    assert "YES or NO" in prompt


def test_reply_that_is_not_a_chat_completion_is_a_clear_error():
    with (
        StubServer(lambda method, path, body: (200, b'{"error": "overloaded"}')) as stub,
        pytest.raises(UserError, match="not a chat completion"),
    ):
        judge_pairs(JudgeConfig(stub.base_url, "m", retries=0), [("a", "b")])
